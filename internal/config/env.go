package config

import (
	"fmt"
	"time"
)

// fromEnvironment builds a Config holding one profile, `default`, when there is
// no config file: CWCREDS_TOKEN_FILE gives a token_file source with the oidc
// exchange, else CW_API_TOKEN an api_token source with the api_token exchange.
// The exports of `cwcreds dev emulator` are enough for it. defaultPath is the
// file that was looked for ("" when there is no default location).
func (l *loader) fromEnvironment(defaultPath string) (*Config, error) {
	g, err := l.resolveGlobals(nil, "")
	if err != nil {
		return nil, err
	}
	c := l.newConfig("", g)
	p := &Profile{Name: DefaultProfileName, origins: map[string]Origin{}}
	inherit(p, g)

	switch tf, tok := l.getenv(EnvTokenFile), l.getenv(EnvAPIToken); {
	case tf != "":
		o := Origin{Kind: OriginEnv, Name: EnvTokenFile}
		abs, problem, fix := l.absFromWorkDir(EnvTokenFile, tf)
		if problem != "" {
			return nil, errAt(o, "", problem, fix)
		}
		p.Source = Source{Type: SourceTokenFile, TokenFile: &TokenFileSource{Path: abs}}
		p.origins["source.type"], p.origins["source.path"] = o, o
		p.Exchange = ExchangeOIDC
		if p.OrgID == "" {
			return nil, &Error{Where: "environment", Field: "org_id",
				Problem: fmt.Sprintf("%s is set but %s is not, and the oidc exchange needs the organisation id", EnvTokenFile, EnvOrgID),
				Fix:     "export " + EnvOrgID + " (or pass --org-id)"}
		}
	case tok != "":
		o := Origin{Kind: OriginEnv, Name: EnvAPIToken}
		p.Source = Source{Type: SourceAPIToken, APIToken: &APITokenSource{Env: EnvAPIToken}}
		p.origins["source.type"], p.origins["source.env"] = o, o
		p.Exchange = ExchangeAPIToken
	default:
		where := "no config file"
		if defaultPath != "" {
			where = "no config file at " + defaultPath
		}
		return nil, &Error{Where: "config",
			Problem: fmt.Sprintf("%s, and neither %s nor %s is set", where, EnvTokenFile, EnvAPIToken),
			Fix: fmt.Sprintf("create the file (or name one with --config or %s), or export %s and %s, or %s",
				EnvConfig, EnvTokenFile, EnvOrgID, EnvAPIToken)}
	}
	p.origins["exchange"] = defaultOrigin(string(p.Source.Type) + " source")
	var t timing
	if v := l.getenv(EnvPropagationDelay); v != "" {
		o := Origin{Kind: OriginEnv, Name: EnvPropagationDelay}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return nil, errAt(o, "propagation_delay", fmt.Sprintf("%s %s is not a duration", EnvPropagationDelay, show(v)), "write a duration such as 5s, or 0s for none")
		}
		t.propagationDelay = durSetting{v: d, o: o, set: true}
	}
	if err := applyTiming(p, "profiles."+DefaultProfileName, t, l.minLifetime); err != nil {
		return nil, err
	}
	c.profiles[p.Name] = p
	c.order = []string{p.Name}
	return c, nil
}
