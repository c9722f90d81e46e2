package config

import (
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestShow(t *testing.T) {
	p := writeConfig(t, `org_id: org-1
region: US-EAST-04A
profiles:
  ci:
    source: {type: token_file, path: /var/run/token}
    lifetime: 2h
  kube:
    source:
      type: token_command
      command: [get-token, --client-secret, hunter2, "--token=abc", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", --audience, aud]
`)
	c := load(t, p, map[string]string{EnvOrgID: "org-env"}, Overrides{S3Endpoint: "https://s3.example"})
	out, err := c.Show("")
	if err != nil {
		t.Fatal(err)
	}
	want := `# effective cwcreds configuration from ` + p + `
api_endpoint: https://api.coreweave.com # default
org_id: org-env # env CWCREDS_ORG_ID
s3_endpoint: https://s3.example # flag --s3-endpoint
region: US-EAST-04A # ` + p + `:2
cache_dir: /home/tester/.cache/cwcreds # default
default_profile: default # default
profiles:
  ci:
    api_endpoint: https://api.coreweave.com # default
    org_id: org-env # env CWCREDS_ORG_ID
    s3_endpoint: https://s3.example # flag --s3-endpoint
    region: US-EAST-04A # ` + p + `:2
    source:
      type: token_file # ` + p + `:5
      path: /var/run/token # ` + p + `:5
    exchange: oidc # default (token_file source)
    lifetime: 2h # ` + p + `:6
    refresh_margin: 15m # default
    propagation_delay: 5s # default
    min_ttl: 1m # default
  kube:
    api_endpoint: https://api.coreweave.com # default
    org_id: org-env # env CWCREDS_ORG_ID
    s3_endpoint: https://s3.example # flag --s3-endpoint
    region: US-EAST-04A # ` + p + `:2
    source:
      type: token_command # ` + p + `:9
      command: [get-token, --client-secret, <redacted>, --token=<redacted>, <redacted>, --audience, aud] # ` + p + `:10
      timeout: 30s # default
      format: jwt # default
    exchange: oidc # default (token_command source)
    lifetime: 1h # default
    refresh_margin: 15m # default
    propagation_delay: 5s # default
    min_ttl: 1m # default
`
	if string(out) != want {
		t.Errorf("Show:\n%s\nwant:\n%s", out, want)
	}
	for _, secret := range []string{"hunter2", "abc", "eyJ"} {
		if strings.Contains(string(out), secret) {
			t.Errorf("Show printed %q", secret)
		}
	}

	// The output is YAML that reads back as the same shape.
	var back map[string]any
	if err := yaml.Unmarshal(out, &back); err != nil {
		t.Fatalf("Show output is not YAML: %v", err)
	}

	one, err := c.Show("kube")
	if err != nil || strings.Contains(string(one), "  ci:") || !strings.Contains(string(one), "  kube:") {
		t.Errorf("Show(kube): %v\n%s", err, one)
	}
	if _, err := c.Show("nope"); err == nil || !strings.HasPrefix(err.Error(), `unknown profile "nope"`) {
		t.Errorf("Show(nope): %v", err)
	}
}

// TestShowNeverPrintsTheAPIToken: with only the environment, show names the
// variable holding the token, never its value.
func TestShowNeverPrintsTheAPIToken(t *testing.T) {
	const token = "CW-SECRET-0123456789abcdefghij"
	env := emulatorExports(t)
	env[EnvAPIToken] = token
	delete(env, EnvTokenFile)
	out, err := load(t, "", env, Overrides{}).Show("")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), token) || strings.Contains(string(out), "CW-SECRET") {
		t.Fatalf("show printed the API token:\n%s", out)
	}
	for _, want := range []string{"env: CW_API_TOKEN # env CW_API_TOKEN", "no config file", "exchange: api_token"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
}

func TestRedactArgs(t *testing.T) {
	for _, c := range []struct{ in, want []string }{
		{[]string{"kubectl", "create", "token", "sa"}, []string{"kubectl", "create", "token", "sa"}},
		{[]string{"t", "--password", "x", "--user", "u"}, []string{"t", "--password", Redacted, "--user", "u"}},
		{[]string{"t", "--api-key=x", "-secret", "y"}, []string{"t", "--api-key=" + Redacted, "-secret", Redacted}},
		{[]string{"t", "--token", "--verbose"}, []string{"t", "--token", "--verbose"}},
		{[]string{"t", "CW-SECRET-abc"}, []string{"t", Redacted}},
		{[]string{"t", "x=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"}, []string{"t", Redacted}},
	} {
		if got := RedactArgs(c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("RedactArgs(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
