package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/keypolicy"
)

// emulatorExports are the variables `cwcreds dev emulator` prints.
func emulatorExports(t *testing.T) map[string]string {
	return map[string]string{
		"XDG_CONFIG_HOME":         t.TempDir(), // no config file there
		EnvAPIEndpoint:            "http://127.0.0.1:9900",
		EnvOrgID:                  "org-abcd1234",
		EnvAPIToken:               "CW-SECRET-emulatoradmintoken",
		"CWCREDS_DEV_OIDC_ISSUER": "http://127.0.0.1:9900/dev-issuer",
		EnvTokenFile:              "/tmp/cwcreds-dev-1/token",
		"CWCREDS_EMULATOR":        "http://127.0.0.1:9900/_emulator",
		EnvAWSEndpointS3:          "http://127.0.0.1:9901",
		EnvAWSRegion:              "US-EAST-04A",
	}
}

func TestEnvOnlyTokenFile(t *testing.T) {
	env := emulatorExports(t)
	c := load(t, "", env, Overrides{})
	if c.Path != "" || !reflect.DeepEqual(c.ProfileNames(), []string{"default"}) {
		t.Fatalf("Path %q, profiles %v", c.Path, c.ProfileNames())
	}
	want := Profile{
		Name: "default", APIEndpoint: "http://127.0.0.1:9900", OrgID: "org-abcd1234",
		S3Endpoint: "http://127.0.0.1:9901", Region: "US-EAST-04A", CacheDir: testHome + "/.cache/cwcreds",
		Source:   Source{Type: SourceTokenFile, TokenFile: &TokenFileSource{Path: "/tmp/cwcreds-dev-1/token"}},
		Exchange: ExchangeOIDC, Lifetime: keypolicy.DefaultLifetime, RefreshMargin: keypolicy.DefaultRefreshMargin,
		PropagationDelay: keypolicy.DefaultPropagationDelay, MinTTL: keypolicy.DefaultFloor,
	}
	if got := plain(profile(t, c, "")); !reflect.DeepEqual(got, want) {
		t.Errorf("\n got %+v\nwant %+v", got, want)
	}
	p := profile(t, c, "default")
	for k, o := range map[string]Origin{
		"source.path":  {Kind: OriginEnv, Name: EnvTokenFile},
		"s3_endpoint":  {Kind: OriginAWSEnv, Name: EnvAWSEndpointS3},
		"api_endpoint": {Kind: OriginEnv, Name: EnvAPIEndpoint},
	} {
		if p.Origin(k) != o {
			t.Errorf("origin of %s = %+v, want %+v", k, p.Origin(k), o)
		}
	}
}

func TestEnvOnlyAPIToken(t *testing.T) {
	env := emulatorExports(t)
	delete(env, EnvTokenFile)
	delete(env, EnvOrgID) // not needed by the api_token exchange
	p := profile(t, load(t, "", env, Overrides{}), "")
	if p.Source.Type != SourceAPIToken || *p.Source.APIToken != (APITokenSource{Env: EnvAPIToken}) ||
		p.Exchange != ExchangeAPIToken || p.Lifetime != keypolicy.DefaultLifetime {
		t.Errorf("%+v", plain(p))
	}
}

func TestEnvOnlyRelativeTokenFile(t *testing.T) {
	env := emulatorExports(t)
	env[EnvTokenFile] = "run/token"
	env["HOME"] = testHome
	c, err := Load(LoadOptions{Getenv: envOf(env), WorkDir: "/srv"})
	if err != nil {
		t.Fatal(err)
	}
	if got := profile(t, c, "").Source.TokenFile.Path; got != "/srv/run/token" {
		t.Errorf("path %q", got)
	}
}

func TestEnvOnlyErrors(t *testing.T) {
	env := emulatorExports(t)
	delete(env, EnvOrgID)
	_, err := loadErr("", env, Overrides{})
	wantError(t, err, "environment: CWCREDS_TOKEN_FILE is set but CWCREDS_ORG_ID is not, and the oidc exchange needs the organisation id: export CWCREDS_ORG_ID (or pass --org-id)")

	// --org-id fills the gap.
	if p := profile(t, load(t, "", env, Overrides{OrgID: "org-flag"}), ""); p.OrgID != "org-flag" {
		t.Errorf("org id %q", p.OrgID)
	}

	xdg := t.TempDir()
	_, err = loadErr("", map[string]string{"XDG_CONFIG_HOME": xdg, EnvOrgID: "o"}, Overrides{})
	wantError(t, err, "config: no config file at "+xdg+"/cwcreds/config.yaml, and neither CWCREDS_TOKEN_FILE nor CW_API_TOKEN is set: "+
		"create the file (or name one with --config or CWCREDS_CONFIG), or export CWCREDS_TOKEN_FILE and CWCREDS_ORG_ID, or CW_API_TOKEN")

	// An explicitly named file must exist even when the environment would do.
	if _, err := loadErr(xdg+"/missing.yaml", emulatorExports(t), Overrides{}); err == nil {
		t.Error("a missing --config file must be an error")
	}
	// CWCREDS_PROFILE naming another profile fails when the profile is used.
	env = emulatorExports(t)
	env[EnvProfile] = "ci"
	c := load(t, "", env, Overrides{})
	if _, err := c.Profile(""); err == nil || err.Error() != `unknown profile "ci": known profiles are default` {
		t.Errorf("got %v", err)
	}
}

// CWCREDS_PROPAGATION_DELAY sets the environment profile's propagation_delay
// (`cwcreds dev emulator` exports its own); a bad value is a clear error.
func TestEnvOnlyPropagationDelay(t *testing.T) {
	env := emulatorExports(t)
	env[EnvPropagationDelay] = "2s"
	p := profile(t, load(t, "", env, Overrides{}), "")
	if p.PropagationDelay != 2*time.Second || p.Origin("propagation_delay") != (Origin{Kind: OriginEnv, Name: EnvPropagationDelay}) {
		t.Errorf("propagation delay %s from %+v", p.PropagationDelay, p.Origin("propagation_delay"))
	}
	env[EnvPropagationDelay] = "0s"
	if p := profile(t, load(t, "", env, Overrides{}), ""); p.PropagationDelay != 0 {
		t.Errorf("0s gave %s", p.PropagationDelay)
	}
	for _, bad := range []string{"soon", "-1s", "5"} {
		env[EnvPropagationDelay] = bad
		_, err := Load(LoadOptions{Getenv: func(k string) string { return env[k] }, HomeDir: testHome})
		if err == nil || !strings.Contains(err.Error(), EnvPropagationDelay) || !strings.Contains(err.Error(), "5s") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	env[EnvPropagationDelay] = "15m" // not under refresh_margin minus min_ttl
	if _, err := Load(LoadOptions{Getenv: func(k string) string { return env[k] }, HomeDir: testHome}); err == nil {
		t.Error("a propagation delay as long as the refresh margin was accepted")
	}
}

// Paths from flags or the environment that are relative make the result depend
// on the working folder; absolute ones do not.
func TestDependsOnWorkDir(t *testing.T) {
	env := emulatorExports(t)
	if c := load(t, "", env, Overrides{}); c.DependsOnWorkDir() {
		t.Error("absolute paths only, but DependsOnWorkDir")
	}
	env[EnvCacheDir] = "rel/cache"
	if c := load(t, "", env, Overrides{}); !c.DependsOnWorkDir() {
		t.Error("relative CWCREDS_CACHE_DIR, but not DependsOnWorkDir")
	}
	env[EnvCacheDir] = "~/cache"
	if c := load(t, "", env, Overrides{}); c.DependsOnWorkDir() {
		t.Error("~ under an absolute home, but DependsOnWorkDir")
	}
	delete(env, EnvCacheDir)
	env[EnvTokenFile] = "token"
	if c := load(t, "", env, Overrides{}); !c.DependsOnWorkDir() {
		t.Error("relative CWCREDS_TOKEN_FILE, but not DependsOnWorkDir")
	}
}
