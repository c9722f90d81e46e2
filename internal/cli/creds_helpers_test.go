package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/devissuer"
	"github.com/cwcreds/cwcreds/internal/emulator/emutest"
	"github.com/cwcreds/cwcreds/internal/fastpath"
)

// world is one emulator and the folders and environment that cwcreds and the AWS
// tools run with, like `cwcreds dev emulator`'s exports; nothing comes from the
// machine's own HOME.
type world struct {
	t         testing.TB
	emu       *emulator.Emulator
	dir       string
	env       map[string]string
	tokenFile string
	secrets   []string // values that must never appear outside their one place
}

func newWorld(t testing.TB) *world {
	t.Helper()
	return newWorldWithPropagation(t, 0)
}

// newWorldWithPropagation is a world whose S3 side refuses new keys for delay,
// and whose default profile waits as long (CWCREDS_PROPAGATION_DELAY).
func newWorldWithPropagation(t testing.TB, delay time.Duration) *world {
	t.Helper()
	emu := emutest.Start(t, emulator.Config{KeyPropagationDelay: delay})
	dir := t.TempDir()
	w := &world{t: t, emu: emu, dir: dir, tokenFile: filepath.Join(dir, "token")}
	tok, err := emu.DevIssuer().Mint(devissuer.MintOptions{Subject: "ci-job", Audience: []string{cwobject.RecommendedAudience}, Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.tokenFile, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"home", "aws"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	w.env = map[string]string{
		"PATH":                        os.Getenv("PATH"),
		"LANG":                        "C.UTF-8",
		"HOME":                        filepath.Join(dir, "home"),
		"XDG_CACHE_HOME":              filepath.Join(dir, "cache"),
		"XDG_CONFIG_HOME":             filepath.Join(dir, "config"),
		"XDG_STATE_HOME":              filepath.Join(dir, "state"),
		"CWCREDS_API_ENDPOINT":        emu.APIURL(),
		"CWCREDS_ORG_ID":              emu.OrgID(),
		"CWCREDS_TOKEN_FILE":          w.tokenFile,
		"CWCREDS_PROPAGATION_DELAY":   delay.String(),
		"AWS_ENDPOINT_URL_S3":         emu.S3URL(),
		"AWS_REGION":                  emu.Region(),
		"AWS_DEFAULT_REGION":          emu.Region(),
		"AWS_CONFIG_FILE":             filepath.Join(dir, "aws", "config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "aws", "credentials"),
		"AWS_EC2_METADATA_DISABLED":   "true",
	}
	w.secrets = []string{tok, emu.AdminToken()}
	return w
}

// cacheFile is the disk cache file of profile.
func (w *world) cacheFile(profile string) string {
	return filepath.Join(w.env["XDG_CACHE_HOME"], "cwcreds", profile+".json")
}

// environ is w.env as a process environment, sorted.
func (w *world) environ(extra ...string) []string {
	var out []string
	for k, v := range w.env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return append(out, extra...)
}

// run runs cwcreds in-process with w.env.
func (w *world) run(args ...string) (int, string, string) {
	w.t.Helper()
	return w.runIn(strings.NewReader(""), args...)
}

func (w *world) runIn(stdin io.Reader, args ...string) (int, string, string) {
	w.t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), Env{
		Args: args, Getenv: func(k string) string { return w.env[k] },
		Stdin: stdin, Stdout: &stdout, Stderr: &stderr, Version: "test",
	})
	w.checkLeaks("stderr of cwcreds "+strings.Join(args, " "), stderr.String())
	return code, stdout.String(), stderr.String()
}

// exchanges counts the key-minting calls the emulator answered.
func (w *world) exchanges() int {
	n := 0
	for op, c := range w.emu.Calls() {
		if strings.HasPrefix(op, "CreateAccessKeyFrom") || op == "CreateAccessKey" {
			n += c
		}
	}
	return n
}

// processOutput decodes credential-process output strictly, remembering the secret.
func (w *world) processOutput(out string) processJSON {
	w.t.Helper()
	var p processJSON
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		w.t.Fatalf("credential-process output is not the expected JSON (%v): %d bytes", err, len(out))
	}
	if dec.More() || !strings.HasSuffix(out, "}\n") || strings.Count(out, "\n") != 1 {
		w.t.Fatalf("credential-process printed more than one JSON object and a newline")
	}
	if p.Version != 1 || p.AccessKeyID == "" || p.SecretAccessKey == "" || !strings.HasSuffix(p.Expiration, "Z") {
		w.t.Fatalf("credential-process output: version %d, key %q, expiration %q", p.Version, p.AccessKeyID, p.Expiration)
	}
	exp, err := time.Parse(time.RFC3339, p.Expiration)
	if err != nil || time.Until(exp) < 30*time.Minute {
		w.t.Fatalf("expiration %q: %v", p.Expiration, err)
	}
	w.addSecret(p.SecretAccessKey)
	return p
}

type processJSON struct {
	Version         int
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string
	SessionToken    string
	Expiration      string
}

func (w *world) addSecret(s string) {
	if s != "" {
		w.secrets = append(w.secrets, s)
	}
}

// cachedSecret reads the secret of the profile's cached keys, to look for it
// where it must not be.
func (w *world) cachedSecret(profile string) string {
	w.t.Helper()
	data, err := os.ReadFile(w.cacheFile(profile))
	if err != nil {
		w.t.Fatalf("no cache file: %v", err)
	}
	var e struct {
		Current struct {
			Secret string `json:"secret_access_key"`
		} `json:"current"`
	}
	if err := json.Unmarshal(data, &e); err != nil || e.Current.Secret == "" {
		w.t.Fatalf("cache file: %v", err)
	}
	w.addSecret(e.Current.Secret)
	return e.Current.Secret
}

var jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.`)

// checkLeaks fails the test when text holds a known secret, a JWT or an API token.
func (w *world) checkLeaks(what, text string) {
	w.t.Helper()
	for _, s := range w.secrets {
		if s != "" && strings.Contains(text, s) {
			w.t.Errorf("%s holds a secret", what)
		}
	}
	if jwtLike.MatchString(text) || strings.Contains(text, cwobject.APITokenPrefix) {
		w.t.Errorf("%s holds a token:\n%s", what, text)
	}
}

// writeConfig writes the default cwcreds config file.
func (w *world) writeConfig(body string) string {
	w.t.Helper()
	p := filepath.Join(w.env["XDG_CONFIG_HOME"], "cwcreds", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		w.t.Fatal(err)
	}
	return p
}

// writeProfiles writes a config whose org and API endpoint are the emulator's,
// with profiles (YAML indented by two) under "profiles:", and returns its path.
func (w *world) writeProfiles(profiles string) string {
	w.t.Helper()
	return w.writeConfig("org_id: " + w.emu.OrgID() + "\napi_endpoint: " + w.emu.APIURL() + "\nprofiles:\n" + profiles)
}

// buildCwcreds builds the real binaries into one test folder, as an install
// puts them, and returns the path of cwcreds; fastBinary(bin) is the other.
func buildCwcreds(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
		"github.com/cwcreds/cwcreds/cmd/cwcreds", "github.com/cwcreds/cwcreds/cmd/"+fastpath.Name)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return filepath.Join(dir, "cwcreds")
}

// fastBinary is the cwcreds-credential-process built beside bin.
func fastBinary(bin string) string { return filepath.Join(filepath.Dir(bin), fastpath.Name) }

// result is what a child process did.
type result struct {
	code           int
	stdout, stderr string
}

// runProc runs argv with w's environment (plus extra, minus drop) and stdin,
// within ctx. It may be called from several goroutines.
func (w *world) runProc(ctx context.Context, stdin io.Reader, env []string, argv ...string) result {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	if env == nil {
		cmd.Env = w.environ()
	}
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = exitCodeOf(ee.ProcessState)
	case err != nil:
		r.code, r.stderr = -1, err.Error()
	}
	w.checkLeaks("stderr of "+strings.Join(argv, " "), r.stderr)
	return r
}

// environWithout is w's environment without the named variables, plus extra.
func (w *world) environWithout(drop []string, extra ...string) []string {
	var out []string
	for _, kv := range w.environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(drop, name) {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

// mustRun runs argv with env (nil: w's) and fails the test unless it exits 0.
func (w *world) mustRun(env []string, argv ...string) result {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := w.runProc(ctx, nil, env, argv...)
	if r.code != 0 {
		w.t.Fatalf("%s exited %d\nstdout:\n%s\nstderr:\n%s", strings.Join(argv, " "), r.code, r.stdout, r.stderr)
	}
	return r
}
