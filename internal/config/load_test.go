package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/keypolicy"
)

// plain drops the origins so profiles compare with reflect.DeepEqual.
func plain(p *Profile) Profile {
	c := *p
	c.origins = nil
	return c
}

func TestFullFile(t *testing.T) {
	c := load(t, "testdata/full.yaml", nil, Overrides{})
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != filepath.Join(dir, "full.yaml") {
		t.Errorf("Path = %q", c.Path)
	}
	if got := c.ProfileNames(); !reflect.DeepEqual(got, []string{"ci", "admin", "admin-file", "admin-keyring", "laptop", "sso", "kube"}) {
		t.Errorf("ProfileNames = %v (want file order)", got)
	}
	if c.DefaultProfile != "ci" || c.CacheDir != testHome+"/.cache/cwcreds-test" || c.CABundle != dir+"/certs/corp-ca.pem" {
		t.Errorf("globals: default %q, cache %q, ca %q", c.DefaultProfile, c.CacheDir, c.CABundle)
	}
	base := Profile{
		APIEndpoint: "https://api.coreweave.com", OrgID: "org-abc12345", S3Endpoint: "https://cwobject.com",
		Region: "US-EAST-04A", CABundle: dir + "/certs/corp-ca.pem", CacheDir: testHome + "/.cache/cwcreds-test",
		Lifetime: time.Hour, RefreshMargin: 15 * time.Minute, PropagationDelay: 5 * time.Second, MinTTL: time.Minute,
	}
	with := func(f func(p *Profile)) Profile { p := base; f(&p); return p }
	want := map[string]Profile{
		"ci": with(func(p *Profile) {
			p.Name = "ci"
			p.Source = Source{Type: SourceTokenFile, TokenFile: &TokenFileSource{Path: "/var/run/secrets/cwobject/token"}}
			p.Exchange = ExchangeOIDC
		}),
		"admin": with(func(p *Profile) {
			p.Name = "admin"
			p.Source = Source{Type: SourceAPIToken, APIToken: &APITokenSource{Env: "CW_API_TOKEN"}}
			p.Exchange = ExchangeAPIToken
			p.Lifetime = 2 * time.Hour
		}),
		"admin-file": with(func(p *Profile) {
			p.Name = "admin-file"
			p.Source = Source{Type: SourceAPIToken, APIToken: &APITokenSource{File: dir + "/secrets/api-token"}}
			p.Exchange = ExchangeAPITokenGet
			p.Lifetime, p.RefreshMargin = cwobject.ContainerCredsLifetime, 5*time.Minute
		}),
		"admin-keyring": with(func(p *Profile) {
			p.Name = "admin-keyring"
			p.Source = Source{Type: SourceAPIToken, APIToken: &APITokenSource{Keyring: &KeyringRef{Service: "cwcreds", User: "admin"}}}
			p.Exchange = ExchangeAPIToken
		}),
		"laptop": with(func(p *Profile) {
			p.Name = "laptop"
			p.Source = Source{Type: SourceOIDCRefresh, OIDCRefresh: &OIDCRefreshSource{
				Issuer: "https://login.example.com", ClientID: "cwcreds",
				ClientSecretFile: testHome + "/.config/cwcreds/client-secret",
				Scopes:           []string{"openid", "offline_access", "email"},
			}}
			p.Exchange = ExchangeOIDC
			p.Lifetime, p.RefreshMargin = 12*time.Hour, time.Hour
		}),
		"sso": with(func(p *Profile) {
			p.Name = "sso"
			p.Source = Source{Type: SourceSAMLFile, SAMLFile: &SAMLFileSource{Path: "-", ConfigID: "7d6c0e9a-3b1f-4c7e-9a55-2f0d8e1b6c42"}}
			p.Exchange = ExchangeSAML
		}),
		"kube": with(func(p *Profile) {
			p.Name = "kube"
			p.Source = Source{Type: SourceTokenCommand, TokenCommand: &TokenCommandSource{
				Command: []string{"kubectl", "create", "token", "builder", "--audience", "https://coreweave.com/iam"},
				Timeout: 45 * time.Second, Format: FormatJWT,
			}}
			p.Exchange = ExchangeContainerCreds
			p.OrgID, p.APIEndpoint, p.S3Endpoint, p.Region, p.CABundle = "org-other", "http://127.0.0.1:9900", "http://cwlota.com", "US-WEST-01A", "/etc/ssl/other-ca.pem"
			p.Lifetime, p.RefreshMargin = cwobject.ContainerCredsLifetime, 5*time.Minute
		}),
	}
	for name, w := range want {
		if got := plain(profile(t, c, name)); !reflect.DeepEqual(got, w) {
			t.Errorf("profile %s:\n got %+v\nwant %+v", name, got, w)
		}
	}
	if p := profile(t, c, ""); p.Name != "ci" {
		t.Errorf(`Profile("") = %s, want the default_profile ci`, p.Name)
	}
	if got := profile(t, c, "kube").Exchange; got != ExchangeContainerCreds {
		t.Errorf("kube exchange = %s", got)
	}
	if o := profile(t, c, "ci").Origin("lifetime"); o.Kind != OriginFile || o.Line != 14 || o.File != "testdata/full.yaml" {
		t.Errorf("ci lifetime origin = %+v", o)
	}
	if o := profile(t, c, "laptop").Origin("propagation_delay"); o.Kind != OriginDefault {
		t.Errorf("laptop propagation_delay origin = %+v", o)
	}
}

func TestMinimalFileDefaults(t *testing.T) {
	c := load(t, "testdata/minimal.yaml", nil, Overrides{})
	p := profile(t, c, "")
	want := Profile{
		Name: "default", APIEndpoint: cwobject.DefaultBaseURL, OrgID: "org-abc12345", S3Endpoint: DefaultS3Endpoint,
		CacheDir: testHome + "/.cache/cwcreds",
		Source:   Source{Type: SourceTokenFile, TokenFile: &TokenFileSource{Path: "/var/run/secrets/cwobject/token"}},
		Exchange: ExchangeOIDC, Lifetime: keypolicy.DefaultLifetime, RefreshMargin: keypolicy.DefaultRefreshMargin,
		PropagationDelay: keypolicy.DefaultPropagationDelay, MinTTL: keypolicy.DefaultFloor,
	}
	if got := plain(p); !reflect.DeepEqual(got, want) {
		t.Errorf("\n got %+v\nwant %+v", got, want)
	}
	for _, k := range []string{"api_endpoint", "s3_endpoint", "cache_dir", "default_profile"} {
		if o := c.Origin(k); o.Kind != OriginDefault {
			t.Errorf("origin of %s = %v, want default", k, o)
		}
	}
	// XDG_CACHE_HOME moves the default cache folder.
	c = load(t, "testdata/minimal.yaml", map[string]string{"XDG_CACHE_HOME": "/xdg/cache"}, Overrides{})
	if c.CacheDir != "/xdg/cache/cwcreds" || profile(t, c, "").CacheDir != "/xdg/cache/cwcreds" {
		t.Errorf("CacheDir = %q", c.CacheDir)
	}
}

func TestUnknownProfile(t *testing.T) {
	c := load(t, "testdata/full.yaml", nil, Overrides{})
	_, err := c.Profile("prod")
	if err == nil || err.Error() != `unknown profile "prod": known profiles are admin, admin-file, admin-keyring, ci, kube, laptop, sso` {
		t.Fatalf("got %v", err)
	}
	c = load(t, "testdata/minimal.yaml", map[string]string{EnvProfile: "ci"}, Overrides{})
	if _, err := c.Profile(""); err == nil || err.Error() != `unknown profile "ci": known profiles are default` {
		t.Fatalf("got %v", err)
	}
}

func TestDefaultLocation(t *testing.T) {
	xdg := t.TempDir()
	if err := os.MkdirAll(filepath.Join(xdg, "cwcreds"), 0o700); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("testdata/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(xdg, "cwcreds", "config.yaml")
	if err := os.WriteFile(want, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// The file wins over the environment-only default profile.
	c := load(t, "", map[string]string{"XDG_CONFIG_HOME": xdg, EnvAPIToken: "CW-SECRET-x"}, Overrides{})
	if c.Path != want || profile(t, c, "").Source.Type != SourceTokenFile {
		t.Errorf("Path = %q, source %s", c.Path, profile(t, c, "").Source.Type)
	}
	// Without XDG_CONFIG_HOME: ~/.config/cwcreds/config.yaml.
	if got := DefaultPath(envOf(nil), "/h"); got != "/h/.config/cwcreds/config.yaml" {
		t.Errorf("DefaultPath = %q", got)
	}
	if got := DefaultPath(envOf(map[string]string{"XDG_CONFIG_HOME": "relative"}), "/h"); got != "/h/.config/cwcreds/config.yaml" {
		t.Errorf("a relative XDG_CONFIG_HOME must be ignored, got %q", got)
	}
	// CWCREDS_CONFIG, relative to the working directory.
	l, err := Load(LoadOptions{Getenv: envOf(map[string]string{EnvConfig: "cwcreds/config.yaml", "HOME": testHome}), WorkDir: xdg})
	if err != nil || l.Path != want {
		t.Fatalf("CWCREDS_CONFIG: %v, %v", l, err)
	}
}

func TestRelativePaths(t *testing.T) {
	p := writeConfig(t, `org_id: o
ca_bundle: certs/ca.pem
cache_dir: ./cache
profiles:
  a:
    source: {type: token_file, path: tokens/../tokens/t}
  b:
    source: {type: api_token, file: ../secret}
    ca_bundle: ~/ca.pem
  c:
    source: {type: oidc_refresh, issuer: "https://i.example/", client_id: c, client_secret_file: ./cs}
  d:
    source: {type: token_command, command: [./bin/get-token, ./not-a-path-arg]}
  e:
    source: {type: token_command, command: [get-token]}
  f:
    source: {type: token_command, command: ["~/bin/t"]}
  g:
    source: {type: saml_file, path: resp.b64, config_id: x}
`)
	dir := filepath.Dir(p)
	c := load(t, p, nil, Overrides{})
	checks := map[string]string{
		"ca_bundle":        c.CABundle,
		"cache_dir":        c.CacheDir,
		"a path":           profile(t, c, "a").Source.TokenFile.Path,
		"a ca_bundle":      profile(t, c, "a").CABundle,
		"b file":           profile(t, c, "b").Source.APIToken.File,
		"b ca_bundle":      profile(t, c, "b").CABundle,
		"c secret":         profile(t, c, "c").Source.OIDCRefresh.ClientSecretFile,
		"c issuer":         profile(t, c, "c").Source.OIDCRefresh.Issuer,
		"d program":        profile(t, c, "d").Source.TokenCommand.Command[0],
		"d argument":       profile(t, c, "d").Source.TokenCommand.Command[1],
		"e program":        profile(t, c, "e").Source.TokenCommand.Command[0],
		"f program":        profile(t, c, "f").Source.TokenCommand.Command[0],
		"g path":           profile(t, c, "g").Source.SAMLFile.Path,
		"cache in profile": profile(t, c, "g").CacheDir,
	}
	want := map[string]string{
		"ca_bundle":        dir + "/certs/ca.pem",
		"cache_dir":        dir + "/cache",
		"a path":           dir + "/tokens/t",
		"a ca_bundle":      dir + "/certs/ca.pem",
		"b file":           filepath.Dir(dir) + "/secret",
		"b ca_bundle":      testHome + "/ca.pem",
		"c secret":         dir + "/cs",
		"c issuer":         "https://i.example",
		"d program":        dir + "/bin/get-token",
		"d argument":       "./not-a-path-arg", // arguments are the program's business
		"e program":        "get-token",        // looked up in PATH when run
		"f program":        testHome + "/bin/t",
		"g path":           dir + "/resp.b64",
		"cache in profile": dir + "/cache",
	}
	for k, w := range want {
		if checks[k] != w {
			t.Errorf("%s = %q, want %q", k, checks[k], w)
		}
	}

	// Paths from the environment and flags are relative to the working directory.
	c, err := Load(LoadOptions{Path: p, WorkDir: "/work", Getenv: envOf(map[string]string{"HOME": testHome, EnvCABundle: "ca/env.pem"}),
		Flags: Overrides{CacheDir: "flagcache"}})
	if err != nil {
		t.Fatal(err)
	}
	if c.CABundle != "/work/ca/env.pem" || profile(t, c, "b").CABundle != "/work/ca/env.pem" || c.CacheDir != "/work/flagcache" {
		t.Errorf("ca %q, b ca %q, cache %q", c.CABundle, profile(t, c, "b").CABundle, c.CacheDir)
	}

	// `~` with no known home folder is refused rather than guessed.
	l, err := newLoader(LoadOptions{HomeDir: "", Getenv: envOf(nil)})
	if err != nil {
		t.Fatal(err)
	}
	l.paths.home = ""
	_, err = l.fromFile("c.yaml", "/x/c.yaml", []byte("org_id: o\nprofiles:\n  a:\n    source: {type: token_file, path: ~/t}\n"))
	wantError(t, err, `c.yaml:4: profiles.a.source.path "~/t" starts with ~ but the home folder is unknown: set HOME or write the full path`)
}

func TestAliasesAndScalars(t *testing.T) {
	p := writeConfig(t, `org_id: &org 12345
region: &r US-EAST-04A
profiles:
  a:
    source: &src {type: token_file, path: /t}
    org_id: *org
    lifetime: &lt 2h
  b:
    source: *src
    lifetime: *lt
    region: *r
`)
	c := load(t, p, nil, Overrides{})
	a, b := profile(t, c, "a"), profile(t, c, "b")
	if a.OrgID != "12345" || b.Lifetime != 2*time.Hour || b.Source.TokenFile.Path != "/t" || b.Region != "US-EAST-04A" {
		t.Errorf("a %+v, b %+v", plain(a), plain(b))
	}
}

func TestLoweredMinLifetime(t *testing.T) {
	p := writeConfig(t, "org_id: o\nprofiles:\n  fast:\n    source: {type: token_file, path: /t}\n    lifetime: 2m\n")
	if _, err := loadErr(p, nil, Overrides{}); err == nil || !strings.Contains(err.Error(), "under the 15m minimum") {
		t.Fatalf("default minimum: %v", err)
	}
	c, err := Load(LoadOptions{Path: p, Getenv: envOf(nil), HomeDir: testHome, MinLifetime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	f := profile(t, c, "fast")
	// The defaults shrink with a short lifetime and still satisfy the rules.
	if f.Lifetime != 2*time.Minute || f.RefreshMargin != 40*time.Second || f.PropagationDelay != 5*time.Second ||
		f.MinTTL != 40*time.Second/3 || f.MinTTL+f.PropagationDelay >= f.RefreshMargin {
		t.Errorf("%+v", plain(f))
	}
	if _, err := Load(LoadOptions{Path: p, MinLifetime: 13 * time.Hour}); err == nil {
		t.Error("a minimum over the maximum must be refused")
	}
}

// TestEveryExchangeAndSource checks the compatibility table both ways.
func TestEveryExchangeAndSource(t *testing.T) {
	sources := map[SourceType]string{
		SourceTokenFile:    "{type: token_file, path: /t}",
		SourceAPIToken:     "{type: api_token}",
		SourceOIDCRefresh:  "{type: oidc_refresh, issuer: https://i, client_id: c}",
		SourceSAMLFile:     "{type: saml_file, path: /r, config_id: x}",
		SourceTokenCommand: "{type: token_command, command: [t]}",
	}
	for st, src := range sources {
		for _, ex := range exchanges {
			p := writeConfig(t, "org_id: o\nprofiles:\n  p:\n    source: "+src+"\n    exchange: "+string(ex)+"\n")
			c, err := loadErr(p, nil, Overrides{})
			ok := contains(compatibleExchanges(st), ex)
			if ok != (err == nil) {
				t.Errorf("%s with %s: err %v, want ok=%v", st, ex, err, ok)
			}
			if ok && profile(t, c, "p").Exchange != ex {
				t.Errorf("%s with %s: exchange %s", st, ex, profile(t, c, "p").Exchange)
			}
		}
		p := writeConfig(t, "org_id: o\nprofiles:\n  p:\n    source: "+src+"\n")
		if got := profile(t, load(t, p, nil, Overrides{}), "p").Exchange; got != defaultExchange(st) {
			t.Errorf("%s: default exchange %s", st, got)
		}
	}
	// API-token exchanges need no org id.
	p := writeConfig(t, "profiles:\n  p:\n    source: {type: api_token}\n    exchange: api_token_get\n")
	if prof := profile(t, load(t, p, nil, Overrides{}), "p"); prof.OrgID != "" || prof.Lifetime != cwobject.ContainerCredsLifetime {
		t.Errorf("%+v", plain(prof))
	}
}

func TestTokenCommandDefaultsAndFormats(t *testing.T) {
	p := writeConfig(t, `org_id: o
profiles:
  a:
    source: {type: token_command, command: [t]}
  b:
    source: {type: token_command, command: [kubectl, oidc-login, get-token], format: exec_credential, timeout: 1s}
  c:
    source: {type: api_token, keyring: {}}
  d:
    source: {type: api_token, keyring: {user: me}}
`)
	c := load(t, p, nil, Overrides{})
	a, b := profile(t, c, "a").Source.TokenCommand, profile(t, c, "b").Source.TokenCommand
	if a.Timeout != DefaultCommandTimeout || a.Format != FormatJWT || b.Timeout != time.Second || b.Format != FormatExecCredential {
		t.Errorf("a %+v, b %+v", a, b)
	}
	if k := profile(t, c, "c").Source.APIToken.Keyring; k == nil || *k != (KeyringRef{Service: "cwcreds", User: "c"}) {
		t.Errorf("keyring defaults %+v", k)
	}
	if k := profile(t, c, "d").Source.APIToken; k.Env != "" || *k.Keyring != (KeyringRef{Service: "cwcreds", User: "me"}) {
		t.Errorf("keyring %+v", k)
	}
}

func TestProfileEqual(t *testing.T) {
	a := writeConfig(t, "org_id: o\nprofiles:\n  p:\n    source: {type: token_file, path: /t}\n")
	b := writeConfig(t, "# moved down\n\norg_id: o\nprofiles:\n  p:\n    source:\n      type: token_file\n      path: /t\n    lifetime: 1h\n")
	c := writeConfig(t, "org_id: o\nprofiles:\n  p:\n    source: {type: token_file, path: /t}\n    lifetime: 2h\n")
	pa, pb, pc := profile(t, load(t, a, nil, Overrides{}), "p"), profile(t, load(t, b, nil, Overrides{}), "p"), profile(t, load(t, c, nil, Overrides{}), "p")
	if !pa.Equal(pb) || pa.Equal(pc) || pa.Equal(nil) || !(*Profile)(nil).Equal(nil) {
		t.Errorf("Equal: a=b %v, a=c %v", pa.Equal(pb), pa.Equal(pc))
	}
	long := strings.Repeat("x", 500)
	if _, err := load(t, a, nil, Overrides{}).Profile(long); err == nil || len(err.Error()) > 200 {
		t.Errorf("unknown long profile name: %v", err)
	}
}
