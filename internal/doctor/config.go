package doctor

import (
	"errors"
	"fmt"

	"github.com/cwcreds/cwcreds/internal/config"
)

const titleConfig = "config file and profile"

func (r *run) checkConfig() {
	if r.d.Load == nil {
		r.add(problemStep(StepConfig, titleConfig, "", "no configuration loader", "this is a bug in cwcreds"))
		return
	}
	cfg, err := r.d.Load()
	if err != nil {
		prob, fix := err.Error(), "fix the value named, or run `cwcreds config show` to see every setting and where it comes from"
		var ce *config.Error
		if errors.As(err, &ce) && ce.Fix != "" {
			prob, fix = splitConfigError(ce)
		}
		r.add(problemStep(StepConfig, titleConfig, "", prob, fix))
		return
	}
	r.cfg = cfg
	p, err := cfg.Profile(r.d.Profile)
	if err != nil {
		r.add(problemStep(StepConfig, titleConfig, where(cfg), err.Error(),
			"pass --profile with one of them, or add the profile to the config file"))
		return
	}
	r.profile = p
	detail := fmt.Sprintf("profile %s from %s: %s source, %s exchange, api %s, s3 %s", p.Name, where(cfg), p.Source.Type, p.Exchange, p.APIEndpoint, p.S3Endpoint)
	r.add(okStep(StepConfig, titleConfig, detail))
}

// splitConfigError is the located problem and its fix, apart.
func splitConfigError(e *config.Error) (string, string) {
	fix := e.Fix
	e2 := *e
	e2.Fix = ""
	return e2.Error(), fix
}

func where(cfg *config.Config) string {
	if cfg.Path == "" {
		return "the environment (no config file)"
	}
	return cfg.Path
}
