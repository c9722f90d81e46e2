package config

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Redacted stands in for any value that looks like a secret.
const Redacted = "<redacted>"

// Show renders the effective configuration as YAML, each value commented with
// where it came from (a file line, env VAR, flag --x or default). name selects
// one profile; "" shows them all. A Config holds no secrets — only references to
// them (file paths, variable names, keyring entries) — and any value that still
// looks like one (a token pasted into a command line, say) is printed as
// <redacted>.
func (c *Config) Show(name string) ([]byte, error) {
	names := c.order
	if name != "" {
		p, err := c.Profile(name)
		if err != nil {
			return nil, err
		}
		names = []string{p.Name}
	}
	root := &yaml.Node{Kind: yaml.MappingNode}
	if c.Path != "" {
		root.HeadComment = "effective cwcreds configuration from " + c.Path
	} else {
		root.HeadComment = "effective cwcreds configuration: no config file, the default profile comes from the environment"
	}
	for _, k := range globalKeys {
		addScalar(root, k.key, c.globalValue(k.key), c.origins[k.key])
	}
	profiles := &yaml.Node{Kind: yaml.MappingNode}
	for _, n := range names {
		profiles.Content = append(profiles.Content, keyNode(n), c.profiles[n].node())
	}
	root.Content = append(root.Content, keyNode("profiles"), profiles)

	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("could not render the configuration: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("could not render the configuration: %w", err)
	}
	return b.Bytes(), nil
}

func (c *Config) globalValue(key string) string {
	switch key {
	case "api_endpoint":
		return c.APIEndpoint
	case "org_id":
		return c.OrgID
	case "s3_endpoint":
		return c.S3Endpoint
	case "region":
		return c.Region
	case "ca_bundle":
		return c.CABundle
	case "cache_dir":
		return c.CacheDir
	case "default_profile":
		return c.DefaultProfile
	}
	return ""
}

func (p *Profile) node() *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	for _, kv := range [][2]string{
		{"api_endpoint", p.APIEndpoint}, {"org_id", p.OrgID}, {"s3_endpoint", p.S3Endpoint},
		{"region", p.Region}, {"ca_bundle", p.CABundle},
	} {
		addScalar(m, kv[0], kv[1], p.origins[kv[0]])
	}
	m.Content = append(m.Content, keyNode("source"), p.sourceNode())
	addScalar(m, "exchange", string(p.Exchange), p.origins["exchange"])
	for _, kd := range []struct {
		k string
		d time.Duration
	}{
		{"lifetime", p.Lifetime}, {"refresh_margin", p.RefreshMargin},
		{"propagation_delay", p.PropagationDelay}, {"min_ttl", p.MinTTL},
	} {
		addScalar(m, kd.k, fmtDur(kd.d), p.origins[kd.k])
	}
	return m
}

func (p *Profile) sourceNode() *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	o := func(k string) Origin { return p.origins["source."+k] }
	s := p.Source
	addScalar(m, "type", string(s.Type), o("type"))
	switch {
	case s.TokenFile != nil:
		addScalar(m, "path", s.TokenFile.Path, o("path"))
	case s.APIToken != nil:
		addScalar(m, "env", s.APIToken.Env, o("env"))
		addScalar(m, "file", s.APIToken.File, o("file"))
		if k := s.APIToken.Keyring; k != nil {
			km := &yaml.Node{Kind: yaml.MappingNode}
			addScalar(km, "service", k.Service, o("keyring.service"))
			addScalar(km, "user", k.User, o("keyring.user"))
			m.Content = append(m.Content, keyNode("keyring"), km)
		}
	case s.OIDCRefresh != nil:
		addScalar(m, "issuer", s.OIDCRefresh.Issuer, o("issuer"))
		addScalar(m, "client_id", s.OIDCRefresh.ClientID, o("client_id"))
		addScalar(m, "client_secret_file", s.OIDCRefresh.ClientSecretFile, o("client_secret_file"))
		addList(m, "scopes", s.OIDCRefresh.Scopes, o("scopes"))
	case s.SAMLFile != nil:
		addScalar(m, "path", s.SAMLFile.Path, o("path"))
		addScalar(m, "config_id", s.SAMLFile.ConfigID, o("config_id"))
	case s.TokenCommand != nil:
		addList(m, "command", RedactArgs(s.TokenCommand.Command), o("command"))
		addScalar(m, "timeout", fmtDur(s.TokenCommand.Timeout), o("timeout"))
		addScalar(m, "format", string(s.TokenCommand.Format), o("format"))
	}
	return m
}

func keyNode(k string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}
}

// addScalar appends key: value # origin, skipping unset values.
func addScalar(m *yaml.Node, key, value string, o Origin) {
	if value == "" {
		return
	}
	v := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: redact(value), LineComment: "# " + o.String()}
	m.Content = append(m.Content, keyNode(key), v)
}

func addList(m *yaml.Node, key string, items []string, o Origin) {
	if len(items) == 0 {
		return
	}
	seq := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle, LineComment: "# " + o.String()}
	for _, it := range items {
		seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: redact(it)})
	}
	m.Content = append(m.Content, keyNode(key), seq)
}

func redact(v string) string {
	if looksSecret(v) {
		return Redacted
	}
	return v
}

// RedactArgs returns a copy of argv safe to print: values of flags whose names
// suggest a secret (--token=x, --client-secret x, -password x) and anything
// shaped like a token become <redacted>.
func RedactArgs(argv []string) []string {
	out := make([]string, len(argv))
	hideNext := false
	for i, a := range argv {
		switch {
		case hideNext && !strings.HasPrefix(a, "-"):
			out[i] = Redacted
			hideNext = false
			continue
		case looksSecret(a):
			out[i] = Redacted
		case strings.HasPrefix(a, "-"):
			name, _, hasValue := strings.Cut(a, "=")
			if secretFlag(name) {
				if hasValue {
					out[i] = name + "=" + Redacted
				} else {
					out[i] = a
					hideNext = true
					continue
				}
			} else {
				out[i] = a
			}
		default:
			out[i] = a
		}
		hideNext = false
	}
	return out
}

func secretFlag(name string) bool {
	n := strings.ToLower(strings.TrimLeft(name, "-"))
	for _, w := range []string{"secret", "password", "passwd", "token", "credential", "apikey", "api-key", "api_key", "private"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}
