package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/devissuer"
	"github.com/cwcreds/cwcreds/internal/emulator/emutest"
)

// srvWait bounds every wait of the serve tests for something to happen.
const srvWait = 30 * time.Second

// srvLogs collects what a serve run writes to stderr and lets a test wait for a
// line. It is safe for concurrent use.
type srvLogs struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func newSrvLogs() *srvLogs { return &srvLogs{changed: make(chan struct{})} }

func (l *srvLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

func (l *srvLogs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// lines returns the JSON log lines written so far (other lines are skipped).
func (l *srvLogs) lines() []map[string]any {
	var out []map[string]any
	for _, s := range strings.Split(l.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(s), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// waitMsg waits for the n-th (from 1) log line whose msg is msg, and returns it.
func (l *srvLogs) waitMsg(t *testing.T, msg string, n int) map[string]any {
	t.Helper()
	deadline := time.NewTimer(srvWait)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		changed := l.changed
		l.mu.Unlock()
		seen := 0
		for _, m := range l.lines() {
			if m["msg"] == msg {
				if seen++; seen == n {
					return m
				}
			}
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("no log line %q (#%d) within %s; logs:\n%s", msg, n, srvWait, l.String())
		}
	}
}

var srvJWTLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.`)

// checkNoSecrets fails when text holds any of secrets, a JWT or an API token.
func checkNoSecrets(t *testing.T, what, text string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s == "" {
			t.Fatalf("checkNoSecrets: an empty secret proves nothing")
		}
		if strings.Contains(text, s) {
			t.Errorf("%s holds a secret (%d characters)", what, len(s))
		}
	}
	if srvJWTLike.MatchString(text) || strings.Contains(text, cwobject.APITokenPrefix) {
		t.Errorf("%s holds a token:\n%s", what, text)
	}
}

// srvEmu is an emulator on loopback with a dev-issuer token in a file, and a
// config file whose profiles exchange it.
type srvEmu struct {
	t         *testing.T
	emu       *emulator.Emulator
	dir       string
	tokenFile string
	jwt       string
	config    string
}

func newSrvEmu(t *testing.T) *srvEmu {
	t.Helper()
	emu := emutest.Start(t, emulator.Config{})
	e := &srvEmu{t: t, emu: emu, dir: t.TempDir()}
	e.tokenFile = filepath.Join(e.dir, "token")
	e.config = filepath.Join(e.dir, "config.yaml")
	var err error
	e.jwt, err = emu.DevIssuer().Mint(devissuer.MintOptions{Subject: "serve-test", Audience: []string{cwobject.RecommendedAudience}, Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.tokenFile, []byte(e.jwt), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// writeConfig writes a config serving the given profiles (all token_file/oidc);
// extra is appended to every profile's block, e.g. "    lifetime: 2h\n". This
// emulator's S3 accepts new keys at once, so the profiles' propagation_delay is
// 0s unless extra sets one.
func (e *srvEmu) writeConfig(defaultProfile string, profiles []string, extra map[string]string) {
	e.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "api_endpoint: %s\norg_id: %s\ns3_endpoint: %s\nregion: %s\ncache_dir: %s\n",
		e.emu.APIURL(), e.emu.OrgID(), e.emu.S3URL(), e.emu.Region(), filepath.Join(e.dir, "cache"))
	if defaultProfile != "" {
		fmt.Fprintf(&b, "default_profile: %s\n", defaultProfile)
	}
	b.WriteString("profiles:\n")
	for _, p := range profiles {
		fmt.Fprintf(&b, "  %s:\n    source: {type: token_file, path: %s}\n%s", p, e.tokenFile, extra[p])
		if !strings.Contains(extra[p], "propagation_delay:") {
			b.WriteString("    propagation_delay: 0s\n")
		}
	}
	e.writeRawConfig(b.String())
}

func (e *srvEmu) writeRawConfig(body string) {
	e.t.Helper()
	tmp := e.config + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Rename(tmp, e.config); err != nil {
		e.t.Fatal(err)
	}
}

// srvRun is one `cwcreds serve` run, in process or as a child process.
type srvRun struct {
	t         *testing.T
	logs      *srvLogs
	stdout    *srvLogs
	url       string // http://host:port of the credentials endpoint
	opsURL    string // http://host:port of the operations endpoint, or ""
	tokenFile string
	exited    chan struct{} // closed when the run has exited, after code is set
	code      int
	stop      func() // SIGINT or ctx cancel
}

// exit records the exit code; it is called once.
func (r *srvRun) exit(code int) {
	r.code = code
	close(r.exited)
}

// stopped waits up to srvWait for the run to exit.
func (r *srvRun) stopped() bool {
	select {
	case <-r.exited:
		return true
	case <-time.After(srvWait):
		return false
	}
}

// started reads where the run listens from its "serving credentials" line.
func (r *srvRun) started() {
	r.t.Helper()
	m := r.logs.waitMsg(r.t, "serving credentials", 1)
	r.url = "http://" + m["listen"].(string)
	if ops, ok := m["ops_listen"].(string); ok {
		r.opsURL = "http://" + ops
	}
	r.tokenFile = m["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"].(string)
}

// token is the auth token in the run's token file.
func (r *srvRun) token() string {
	r.t.Helper()
	b, err := os.ReadFile(r.tokenFile)
	if err != nil {
		r.t.Fatal(err)
	}
	return string(b)
}

// wait waits for the run to exit and returns its exit code.
func (r *srvRun) wait() int {
	r.t.Helper()
	if !r.stopped() {
		r.t.Fatalf("serve did not exit within %s; logs:\n%s", srvWait, r.logs.String())
	}
	return r.code
}

// startServe runs `cwcreds serve args…` in process with env; reload, when not
// nil, stands in for SIGHUP.
func startServe(t *testing.T, env map[string]string, reload chan os.Signal, args ...string) *srvRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &srvRun{t: t, logs: newSrvLogs(), stdout: newSrvLogs(), exited: make(chan struct{}), stop: cancel}
	e := Env{
		Args:    append([]string{"serve"}, args...),
		Getenv:  func(k string) string { return env[k] },
		Stdin:   strings.NewReader(""),
		Stdout:  r.stdout,
		Stderr:  r.logs,
		Version: "1.2.3-test",
	}
	go func() {
		if reload == nil {
			r.exit(Run(ctx, e))
			return
		}
		cmd := newServeCommandWith(e, serveHooks{reload: reload})
		cmd.SetArgs(args)
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		if err := cmd.ExecuteContext(ctx); err != nil {
			fmt.Fprintf(r.logs, "cwcreds: %s\n", oneLine(err.Error()))
			r.exit(1)
			return
		}
		r.exit(0)
	}()
	t.Cleanup(func() {
		cancel()
		if !r.stopped() {
			t.Errorf("serve did not stop within %s", srvWait)
		}
	})
	return r
}

// startServeBinary runs the built binary with env (a full environment).
func startServeBinary(t *testing.T, bin string, env []string, args ...string) (*srvRun, *exec.Cmd) {
	t.Helper()
	r := &srvRun{t: t, logs: newSrvLogs(), stdout: newSrvLogs(), exited: make(chan struct{})}
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = r.stdout, r.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.stop = func() { _ = cmd.Process.Signal(os.Interrupt) }
	go func() {
		_ = cmd.Wait()
		r.exit(cmd.ProcessState.ExitCode())
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-r.exited
	})
	return r, cmd
}

// buildServeBinary builds cwcreds into a test folder.
func buildServeBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cwcreds")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/cwcreds/cwcreds/cmd/cwcreds").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// srvResp is one answer of the endpoint.
type srvResp struct {
	status int
	header http.Header
	body   string
}

// get sends GET url with the token (none when "") within the test's wait bound.
func srvGet(t *testing.T, url, token string) srvResp {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), srvWait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return srvResp{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

// containerCreds is the endpoint's success body.
type containerCreds struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string
	Token           *string
	Expiration      string
}

// getCreds fetches a profile's keys ("" for the default) and checks the answer.
func (r *srvRun) getCreds(profile string) containerCreds {
	r.t.Helper()
	u := r.url + "/v1/credentials"
	if profile != "" {
		u += "/" + profile
	}
	resp := srvGet(r.t, u, r.token())
	if resp.status != http.StatusOK || resp.header.Get("Content-Type") != "application/json" {
		r.t.Fatalf("GET %s: %d %q %s", u, resp.status, resp.header.Get("Content-Type"), resp.body)
	}
	var c containerCreds
	if err := json.Unmarshal([]byte(resp.body), &c); err != nil {
		r.t.Fatal(err)
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" || c.Token == nil || !strings.HasSuffix(c.Expiration, "Z") {
		r.t.Fatalf("GET %s: incomplete keys %s", u, resp.body)
	}
	return c
}

// waitReadyz polls /readyz until it answers 200: new keys are only reported
// ready once they are old enough to have reached S3 (the propagation delay).
func waitReadyz(t *testing.T, url string) srvResp {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := srvGet(t, url, "")
		if got.status == http.StatusOK || time.Now().After(deadline) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}
