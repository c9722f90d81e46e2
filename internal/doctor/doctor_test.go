package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/devissuer"
	"github.com/cwcreds/cwcreds/internal/emulator/emutest"
	"github.com/cwcreds/cwcreds/internal/exchange"
)

// env is an emulator on a fake clock and the environment of a shell that
// uses it through the `default` profile (no config file).
type env struct {
	t     *testing.T
	clock *clockwork.FakeClock
	emu   *emulator.Emulator
	dir   string
	vars  map[string]string
}

func newEnv(t *testing.T, propagation time.Duration) *env {
	t.Helper()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
	emu := emutest.Start(t, emulator.Config{Clock: clock, KeyPropagationDelay: propagation})
	dir := t.TempDir()
	e := &env{t: t, clock: clock, emu: emu, dir: dir}
	tok, err := emu.DevIssuer().Mint(devissuer.MintOptions{Subject: "job", Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "token"), tok)
	e.vars = map[string]string{
		"HOME":                               dir,
		"XDG_CONFIG_HOME":                    filepath.Join(dir, "config"),
		"XDG_CACHE_HOME":                     filepath.Join(dir, "cache"),
		"CWCREDS_API_ENDPOINT":               emu.APIURL(),
		"CWCREDS_ORG_ID":                     emu.OrgID(),
		"CWCREDS_TOKEN_FILE":                 filepath.Join(dir, "token"),
		"CWCREDS_PROPAGATION_DELAY":          propagation.String(),
		"AWS_ENDPOINT_URL_S3":                emu.S3URL(),
		"AWS_REGION":                         emu.Region(),
		"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9911/v1/credentials/default",
	}
	return e
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (e *env) getenv(k string) string { return e.vars[k] }

func (e *env) deps() Deps {
	return Deps{
		Load: func() (*config.Config, error) {
			return config.Load(config.LoadOptions{Getenv: e.getenv, HomeDir: e.dir, WorkDir: e.dir})
		},
		Getenv: e.getenv,
		Clock:  e.clock,
		NewFetcher: func(p *config.Profile, src exchange.TokenSource) (exchange.Fetcher, error) {
			return exchange.NewFetcher(p, exchange.Deps{Getenv: e.getenv, Clock: e.clock, Source: src})
		},
		Revoker: &exchange.Revoker{Getenv: e.getenv, Clock: e.clock},
		Version: "test",
		WorkDir: e.dir,
	}
}

// run runs doctor, advancing the fake clock whenever doctor waits on it.
func (e *env) run(d Deps) Report {
	e.t.Helper()
	done := make(chan Report, 1)
	go func() { done <- Run(context.Background(), d) }()
	for {
		select {
		case r := <-done:
			return r
		default:
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			if e.clock.BlockUntilContext(ctx, 1) == nil {
				e.clock.Advance(time.Second)
			}
			cancel()
		}
	}
}

func step(t *testing.T, r Report, id string) Step {
	t.Helper()
	for _, s := range r.Steps {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no step %s in %+v", id, r)
	return Step{}
}

func TestWaitsOutThePropagationDelay(t *testing.T) {
	e := newEnv(t, 5*time.Second)
	start := e.clock.Now()
	r := e.run(e.deps())
	for _, id := range []string{StepConfig, StepIdentity, StepClock, StepExchange, StepS3, StepAWSEnvironment, StepAWSProfile} {
		if s := step(t, r, id); s.Status != StatusOK {
			t.Errorf("%s: %s %s / %s", id, s.Status, s.Problem, s.Fix)
		}
	}
	if s := step(t, r, StepS3); !strings.Contains(s.Detail, "after the 5s propagation delay") {
		t.Errorf("s3: %s", s.Detail)
	}
	if waited := e.clock.Since(start); waited < 5*time.Second {
		t.Errorf("the signed call came %s after the exchange, before the 5s propagation delay", waited)
	}
	// No API token: the keys are left to expire, and doctor says how to change that.
	if s := step(t, r, StepExchange); !strings.Contains(s.Detail, "left to expire") || !strings.Contains(s.Detail, "export CW_API_TOKEN") {
		t.Errorf("exchange: %s", s.Detail)
	}
	if n := e.emu.Calls()[cwobject.OpRevokeAccessKeyByAccessKey.Name]; n != 0 {
		t.Errorf("%d revocations without an API token", n)
	}
	// serve's endpoint for this profile is what AWS SDKs use when no profile has credentials.
	if s := step(t, r, StepAWSProfile); !strings.Contains(s.Detail, "cwcreds serve") {
		t.Errorf("aws-profile: %s", s.Detail)
	}
}

func TestAPITokenProfileRevokesWithItsOwnToken(t *testing.T) {
	e := newEnv(t, 0)
	delete(e.vars, "CWCREDS_TOKEN_FILE")
	e.vars["CW_API_TOKEN"] = e.emu.AdminToken()
	r := e.run(e.deps())
	if s := step(t, r, StepIdentity); s.Status != StatusOK || !strings.Contains(s.Detail, "$CW_API_TOKEN") {
		t.Fatalf("identity: %+v", s)
	}
	if s := step(t, r, StepExchange); s.Status != StatusOK || !strings.Contains(s.Detail, "doctor revoked them") {
		t.Fatalf("exchange: %+v", s)
	}
	if n := e.emu.Calls()[cwobject.OpRevokeAccessKeyByAccessKey.Name]; n != 1 {
		t.Errorf("%d revocations, want 1", n)
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), e.emu.AdminToken()) {
		t.Fatal("the report holds the API token")
	}
}

func TestSAMLLoginUsesTheCachedKeys(t *testing.T) {
	e := newEnv(t, 0)
	write(t, filepath.Join(e.dir, "config", "cwcreds", "config.yaml"),
		"org_id: "+e.emu.OrgID()+"\napi_endpoint: "+e.emu.APIURL()+"\nprofiles:\n  default:\n    source: {type: saml_login, idp_metadata_file: "+e.dir+"/idp.xml, config_id: 7d6c0e9a-1b2c-4d5e-8f90-123456789abc}\n")
	// Keys the exchange mints for another source stand for what a login cached.
	tokenProfile := &config.Profile{Name: "mint", APIEndpoint: e.emu.APIURL(), OrgID: e.emu.OrgID(), Exchange: config.ExchangeOIDC, Lifetime: time.Hour,
		Source: config.Source{Type: config.SourceTokenFile, TokenFile: &config.TokenFileSource{Path: filepath.Join(e.dir, "token")}}}
	f, err := exchange.NewFetcher(tokenProfile, exchange.Deps{Getenv: e.getenv, Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := f.Fetch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	d := e.deps()
	for _, tc := range []struct {
		name   string
		cached func(*config.Profile) (creds.Credentials, bool)
		want   map[string]Status
		says   string
	}{
		{"cached", func(*config.Profile) (creds.Credentials, bool) { return keys, true },
			map[string]Status{StepIdentity: StatusOK, StepExchange: StatusSkipped, StepS3: StatusOK}, "with the cached keys"},
		{"none", func(*config.Profile) (creds.Credentials, bool) { return creds.Credentials{}, false },
			map[string]Status{StepIdentity: StatusProblem, StepExchange: StatusSkipped, StepS3: StatusSkipped}, "cwcreds login --profile default"},
		{"stale", func(*config.Profile) (creds.Credentials, bool) {
			return creds.Credentials{AccessKeyID: "CW0000000000NONE", SecretAccessKey: "cwo" + strings.Repeat("x", 40), Expiration: e.clock.Now().Add(time.Hour)}, true
		}, map[string]Status{StepIdentity: StatusOK, StepExchange: StatusSkipped, StepS3: StatusProblem}, "cached keys are no longer valid"},
	} {
		d.Cached = tc.cached
		r := e.run(d)
		text := ""
		for id, want := range tc.want {
			s := step(t, r, id)
			text += s.Detail + " " + s.Problem + " " + s.Fix + " "
			if s.Status != want {
				t.Errorf("%s: %s: %s, want %s (%s)", tc.name, id, s.Status, want, s.Problem)
			}
		}
		if !strings.Contains(text, tc.says) {
			t.Errorf("%s: does not say %q: %s", tc.name, tc.says, text)
		}
		if strings.Contains(text, keys.SecretAccessKey) || strings.Contains(text, keys.AccessKeyID) {
			t.Errorf("%s: the report holds the keys", tc.name)
		}
	}
	if n := e.emu.Calls()[cwobject.OpCreateAccessKeyFromSAML.Name]; n != 0 {
		t.Errorf("%d SAML exchanges", n)
	}
}

func TestConfigProblemSkipsTheProfileSteps(t *testing.T) {
	e := newEnv(t, 0)
	e.vars["CWCREDS_CONFIG"] = filepath.Join(e.dir, "missing.yaml")
	r := e.run(e.deps())
	if s := step(t, r, StepConfig); s.Status != StatusProblem || !strings.Contains(s.Problem, "does not exist") || s.Fix == "" {
		t.Fatalf("config: %+v", s)
	}
	for _, id := range []string{StepIdentity, StepClock, StepExchange, StepS3} {
		if s := step(t, r, id); s.Status != StatusSkipped {
			t.Errorf("%s: %s", id, s.Status)
		}
	}
	if r.OK || r.Problems() != 1 {
		t.Errorf("ok %v, %d problems", r.OK, r.Problems())
	}
}

// awsRun checks only what AWS SDKs would use, for cwcreds profile ci.
func awsRun(t *testing.T, vars map[string]string, configFile, credsFile string) []Step {
	t.Helper()
	dir := t.TempDir()
	if configFile != "" {
		write(t, filepath.Join(dir, ".aws", "config"), configFile)
	}
	if credsFile != "" {
		write(t, filepath.Join(dir, ".aws", "credentials"), credsFile)
	}
	all := map[string]string{"HOME": dir, "PATH": "/nonexistent"}
	for k, v := range vars {
		all[k] = v
	}
	r := &run{d: Deps{Getenv: func(k string) string { return all[k] }, Version: "test", WorkDir: dir,
		RunVersion: func(context.Context, string) (string, error) { return "cwcreds test (go, linux/amd64)", nil }},
		profile: &config.Profile{Name: "ci"}}
	r.checkAWS(context.Background())
	return r.steps
}

func TestWhatAWSSDKsUse(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "cwcreds")
	write(t, exe, "#!/bin/sh\n")
	if err := os.Chmod(exe, 0o755); err != nil {
		t.Fatal(err)
	}
	cwLine := "credential_process = " + exe + " credential-process --profile ci\n"
	for _, tc := range []struct {
		name          string
		vars          map[string]string
		config, creds string
		env, profile  Status
		says          string
	}{
		{name: "ok", config: "[default]\n" + cwLine, env: StatusOK, profile: StatusOK, says: "cwcreds profile ci"},
		{name: "web identity", vars: map[string]string{"AWS_ROLE_ARN": "arn:aws:iam::1:role/x", "AWS_WEB_IDENTITY_TOKEN_FILE": "/t"}, config: "[default]\n" + cwLine,
			env: StatusProblem, profile: StatusOK, says: "unset AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE"},
		{name: "role_arn", config: "[default]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = base\n" + cwLine, env: StatusOK, profile: StatusProblem, says: "role_arn, source_profile"},
		{name: "sso", config: "[default]\nsso_session = corp\n" + cwLine, env: StatusOK, profile: StatusProblem, says: "sso_session"},
		{name: "login session", config: "[default]\nlogin_session = arn:aws:iam::1:user/x\n" + cwLine, env: StatusOK, profile: StatusProblem, says: "login_session"},
		{name: "static in config", config: "[default]\naws_access_key_id = A\naws_secret_access_key = B\n" + cwLine, env: StatusOK, profile: StatusProblem, says: "static keys"},
		{name: "other cwcreds profile", config: "[default]\ncredential_process = " + exe + " credential-process --profile prod\n", env: StatusOK, profile: StatusProblem, says: "runs cwcreds profile prod"},
		{name: "default profile of cwcreds", config: "[default]\ncredential_process = " + exe + " credential-process\n", vars: map[string]string{"CWCREDS_PROFILE": "ci"}, env: StatusOK, profile: StatusOK, says: "cwcreds profile ci"},
		{name: "other --config", config: "[default]\ncredential_process = " + exe + " credential-process --profile=ci --config=/etc/cw.yaml\n", env: StatusOK, profile: StatusOK, says: "cwcreds profile ci"},
		{name: "not credential-process", config: "[default]\ncredential_process = " + exe + " env --profile ci\n", env: StatusOK, profile: StatusProblem, says: "not cwcreds"},
		{name: "unsplittable", config: "[default]\ncredential_process = \"" + exe + "\n", env: StatusOK, profile: StatusProblem, says: "cannot be split"},
		{name: "no credentials", config: "[profile cw]\n" + cwLine, env: StatusOK, profile: StatusProblem, says: "export AWS_PROFILE=cw"},
		{name: "serve of another profile", vars: map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9911/v1/credentials/prod"}, env: StatusOK, profile: StatusProblem, says: "serves profile prod, not ci"},
		{name: "serve's default", vars: map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://localhost:9911/v1/credentials"}, env: StatusOK, profile: StatusOK, says: "its default profile"},
		{name: "AWS_DEFAULT_PROFILE", vars: map[string]string{"AWS_DEFAULT_PROFILE": "cw"}, config: "[profile cw]\n" + cwLine, env: StatusOK, profile: StatusOK, says: "AWS profile cw (AWS_DEFAULT_PROFILE)"},
		{name: "credential_process in the credentials file", config: "[default]\nregion = x\n", creds: "[default]\n" + cwLine, env: StatusOK, profile: StatusOK, says: "credentials line 1"},
		{name: "role in the credentials file", config: "[default]\n" + cwLine, creds: "[default]\nrole_arn = arn:aws:iam::1:role/x\n", env: StatusOK, profile: StatusProblem, says: "sets role_arn"},
		{name: "bad config file", config: "[default]\nk = 1\n[default]\n", env: StatusOK, profile: StatusProblem, says: "fix the line named"},
		{name: "session token only", vars: map[string]string{"AWS_SESSION_TOKEN": "t"}, config: "[default]\n" + cwLine, env: StatusOK, profile: StatusOK},
	} {
		steps := awsRun(t, tc.vars, tc.config, tc.creds)
		if len(steps) != 3 {
			t.Fatalf("%s: %d steps", tc.name, len(steps))
		}
		text := ""
		for _, s := range steps {
			text += s.Detail + " " + s.Problem + " " + s.Fix + " "
		}
		if steps[0].Status != tc.env || steps[1].Status != tc.profile {
			t.Errorf("%s: environment %s, profile %s, want %s %s:\n%s", tc.name, steps[0].Status, steps[1].Status, tc.env, tc.profile, text)
		}
		if !strings.Contains(text, tc.says) {
			t.Errorf("%s: does not say %q:\n%s", tc.name, tc.says, text)
		}
	}
}

func TestCredentialProcessBinary(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "cwcreds")
	write(t, exe, "#!/bin/sh\n")
	if err := os.Chmod(exe, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "not-exec", "cwcreds"), "")
	for _, tc := range []struct {
		name, line, version string
		status              Status
		says                string
	}{
		{"same version", exe + " credential-process --profile ci", "cwcreds test (go1.26)", StatusOK, "cwcreds test, like this one"},
		{"other version", exe + " credential-process --profile ci", "cwcreds 9.9.9 (go1.26)", StatusProblem, "which is cwcreds 9.9.9; this is cwcreds test"},
		{"not cwcreds", exe + " credential-process --profile ci", "something else", StatusProblem, "does not say it is cwcreds"},
		{"not executable", dir + "/not-exec/cwcreds credential-process --profile ci", "", StatusProblem, "is not executable"},
		{"not on PATH", "cwcreds credential-process --profile ci", "", StatusProblem, "is not on PATH"},
		{"relative", "./cwcreds credential-process --profile ci", "cwcreds test", StatusOK, "like this one"},
	} {
		r := &run{d: Deps{Getenv: func(k string) string { return map[string]string{"HOME": dir, "PATH": "/nonexistent"}[k] }, Version: "test", WorkDir: dir,
			RunVersion: func(context.Context, string) (string, error) { return tc.version, nil }},
			profile: &config.Profile{Name: "ci"}}
		c, isCwcreds, err := parseCredentialProcess(tc.line)
		if err != nil || !isCwcreds || c.profile != "ci" {
			t.Fatalf("%s: %+v %v %v", tc.name, c, isCwcreds, err)
		}
		c.awsProfile, c.file, c.line = "default", "config", 1
		r.checkBinary(context.Background(), &c)
		s := r.steps[0]
		if s.Status != tc.status || !strings.Contains(s.Detail+s.Problem, tc.says) {
			t.Errorf("%s: %s %q %q, want %s saying %q", tc.name, s.Status, s.Detail, s.Problem, tc.status, tc.says)
		}
	}
}

func TestCwcredsEndpoint(t *testing.T) {
	for raw, want := range map[string]struct {
		profile string
		ok      bool
	}{
		"http://127.0.0.1:9911/v1/credentials":      {"", true},
		"http://127.0.0.1:9911/v1/credentials/":     {"", true},
		"http://[::1]:9911/v1/credentials/ci":       {"ci", true},
		"http://localhost/v1/credentials/ci?x=1":    {"ci", true},
		"http://169.254.170.23/v1/credentials":      {"", false},
		"http://127.0.0.1:9911/v1/credentials/a/b":  {"", false},
		"http://127.0.0.1:9911/v2/credentials":      {"", false},
		"ftp://127.0.0.1/v1/credentials":            {"", false},
		"http://127.0.0.1:9911/v1/credentialsextra": {"", false},
	} {
		p, ok := cwcredsEndpoint(raw)
		if p != want.profile || ok != want.ok {
			t.Errorf("%s: %q %v, want %q %v", raw, p, ok, want.profile, want.ok)
		}
	}
	if got := showURL("http://user:pw@127.0.0.1/v1/credentials?token=x"); got != "http://127.0.0.1/v1/credentials" {
		t.Errorf("showURL: %s", got)
	}
}

func TestWriteText(t *testing.T) {
	r := Report{Profile: "ci", Steps: []Step{
		okStep(StepConfig, titleConfig, "fine"),
		problemStep(StepClock, titleClock, "", "off", "sync it"),
		skippedStep(StepS3, titleS3, "later"),
	}}
	var b bytes.Buffer
	if err := WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	want := "cwcreds doctor: profile ci\n\n" +
		"ok       config file and profile\n         fine\n" +
		"PROBLEM  clock against the API\n         problem: off\n         fix: sync it\n" +
		"skipped  S3 with the keys\n         later\n\n1 problem found\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if err := WriteYAML(&b, r); err != nil || !strings.Contains(b.String(), "status: problem") {
		t.Errorf("yaml: %v\n%s", err, b.String())
	}
	var back Report
	b.Reset()
	if err := WriteJSON(&b, r); err != nil || json.Unmarshal(b.Bytes(), &back) != nil || len(back.Steps) != 3 {
		t.Errorf("json: %v\n%s", err, b.String())
	}
}

func FuzzParseCredentialProcess(f *testing.F) {
	f.Add("/usr/local/bin/cwcreds credential-process --profile ci --config=/etc/c.yaml")
	f.Add(`"/opt/x y/cwcreds-credential-process" --profile`)
	f.Add("aws-vault export --format=json")
	f.Fuzz(func(t *testing.T, line string) {
		c, isCwcreds, err := parseCredentialProcess(line)
		if err == nil && isCwcreds && len(c.argv) == 0 {
			t.Fatal("cwcreds without argv")
		}
		_, _ = cwcredsEndpoint(line)
		_ = showURL(line)
	})
}
