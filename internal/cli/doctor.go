package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/doctor"
	"github.com/cwcreds/cwcreds/internal/exchange"
)

// Exit codes of `cwcreds doctor`, from the mapping every command shares.
const (
	doctorExitProblems = exitFailure      // at least one step found a problem
	doctorExitUsage    = exitInvalidInput // bad flags or arguments
)

type doctorOptions struct {
	profileFlags
	output string
}

func newDoctorCommand(env Env) *cobra.Command {
	o := &doctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check a profile end to end and say what is wrong and how to fix it",
		Long: "Walk one profile end to end and say, for each step, ok or the problem and its fix:\n" +
			"the config file and profile; the identity source (the token file, its JWT's exp, aud\n" +
			"and iss — claims only, never the token); this machine's clock against the API's Date\n" +
			"header; the exchange; a signed S3 call with the new keys (after the propagation delay);\n" +
			"and what an AWS SDK in this shell would really use — AWS_* variables, AWS_PROFILE, the\n" +
			"AWS config and credentials files, container variables, and the cwcreds binary a\n" +
			"credential_process line runs.\n\n" +
			"Doctor writes nothing: not the credentials cache, not the config, not the AWS files.\n" +
			"It mints one set of keys and revokes them when an API token allows it (the profile's\n" +
			"own api_token source, else $CW_API_TOKEN); otherwise they expire by themselves.\n\n" +
			"Exit status: 0 when no step has a problem, 1 when one does, 2 for bad flags or arguments.",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &exitError{code: doctorExitUsage, err: fmt.Errorf("doctor takes no arguments (got %q): name the profile with --profile", args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDoctor(cmd.Context(), env, o)
		},
	}
	o.addProfileFlags(cmd)
	cmd.Flags().StringVarP(&o.output, "output", "o", "text", "output format: text (also table), json or yaml")
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: doctorExitUsage, err: fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	return cmd
}

func runDoctor(ctx context.Context, env Env, o *doctorOptions) error {
	// table is what the admin commands call their human output.
	write := map[string]func(io.Writer, doctor.Report) error{
		"text": doctor.WriteText, "table": doctor.WriteText, "json": doctor.WriteJSON, "yaml": doctor.WriteYAML,
	}[o.output]
	if write == nil {
		return &exitError{code: doctorExitUsage, err: fmt.Errorf("unknown output format %q: use text, table, json or yaml", o.output)}
	}
	rep := doctor.Run(ctx, doctorDeps(env, o))
	if err := write(env.Stdout, rep); err != nil {
		return err
	}
	if !rep.OK {
		return &exitError{code: doctorExitProblems, err: errSilent}
	}
	return nil
}

// doctorDeps wires doctor to the same loading, exchange and cache as the other
// commands, read only.
func doctorDeps(env Env, o *doctorOptions) doctor.Deps {
	exe := ""
	if p, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			exe = real
		}
	}
	logger := zap.NewNop()
	return doctor.Deps{
		Load:    func() (*config.Config, error) { return o.load(env) },
		Profile: o.overrides.Profile,
		Getenv:  env.Getenv,
		NewFetcher: func(p *config.Profile, src exchange.TokenSource) (exchange.Fetcher, error) {
			pv := oneShot(env, env.Stdin, logger)
			pv.source = src
			return pv.fetcher(p)
		},
		Cached: func(p *config.Profile) (creds.Credentials, bool) {
			store, err := diskStore(p, logger, nil)
			if err != nil {
				return creds.Credentials{}, false
			}
			return store.Fresh(processCacheKey(env, p), policyOf(p))
		},
		Revoker:       &exchange.Revoker{Getenv: env.Getenv, UserAgent: "cwcreds/" + env.Version, Logger: logger},
		CommandStderr: env.Stderr,
		Version:       env.Version,
		Executable:    exe,
		ConfigFlag:    o.configPath,
	}
}
