//go:build unix

package exchange

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sh runs a shell script as the token command (the command itself runs no shell;
// the test chooses one as its program). The token reaches it through the
// environment, as a real tool would read it from its own cache.
func sh(script string, env ...string) *TokenCommand {
	return &TokenCommand{Argv: []string{"/bin/sh", "-c", script}, Env: env}
}

func TestTokenCommandJWT(t *testing.T) {
	v := newTestEnv(t)
	tok := v.mint("ci-job", time.Hour)
	cmd := sh(`printf '%s\n' "$TOK"`, "TOK="+tok)
	cmd.Clock = v.clock
	got, err := cmd.Token(ctx(t))
	if err != nil || got != tok {
		t.Fatalf("token %v err %v", got == tok, err)
	}
	// Through the OIDC exchange, against the emulator.
	x := newOIDC(t, v, cmd, 0)
	c, err := x.Fetch(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Principal != v.principal("ci-job") {
		t.Fatalf("principal %q", c.Principal)
	}
	if _, err := x.InputFingerprint(); !errors.Is(err, ErrNoFingerprint) {
		t.Fatalf("fingerprint err %v", err)
	}
}

func TestTokenCommandExecCredential(t *testing.T) {
	v := newTestEnv(t)
	tok := v.mint("kubelogin-user", time.Hour)
	for _, version := range []string{"client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"} {
		cred := `{"kind":"ExecCredential","apiVersion":"` + version + `","spec":{},"status":{"expirationTimestamp":"2030-01-01T00:00:00Z","token":"'"$TOK"'"}}`
		cmd := sh(`echo '`+cred+`'`, "TOK="+tok)
		cmd.Format = FormatExecCredential
		cmd.Clock = v.clock
		c, err := newOIDC(t, v, cmd, 0).Fetch(ctx(t))
		if err != nil {
			t.Fatalf("%s: %v", version, err)
		}
		if c.Principal != v.principal("kubelogin-user") {
			t.Fatalf("principal %q", c.Principal)
		}
	}
	bad := []struct{ out, part string }{
		{`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v2","status":{"token":"x"}}`, "apiVersion"},
		{`{"kind":"Pod","apiVersion":"v1"}`, "kind is not ExecCredential"},
		{`{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"clientCertificateData":"x"}}`, "no status.token"},
		{`not json ` + tok, "not an ExecCredential"},
	}
	for _, b := range bad {
		cmd := sh(`cat <<'EOF'
` + b.out + `
EOF`)
		cmd.Format = FormatExecCredential
		_, err := cmd.Token(ctx(t))
		wantErr(t, err, false, "did not print a usable token", b.part)
		noSecrets(t, err, tok)
	}
	if _, err := ParseExecCredential([]byte(`{"apiVersion":"client.authentication.k8s.io/v1","status":{"token":"abc"}}`)); err != nil {
		t.Fatalf("kind may be absent: %v", err)
	}
}

// A failing command's stderr is passed on as it is written and never quoted:
// it is arbitrary text, secrets included; the error says only that the command
// failed, how, and where its stderr went. Its stdout is never quoted either.
func TestTokenCommandFailurePassesStderrOnNeverQuotesIt(t *testing.T) {
	v := newTestEnv(t)
	tok := v.mint("x", time.Hour)
	cmd := sh(`printf '%s\n' "$TOK"; echo "error: login required for https://idp.example" >&2; echo "password=hunter2-SECRETVALUE" >&2; exit 3`, "TOK="+tok)
	var stderr strings.Builder
	cmd.Stderr, cmd.StderrName = &stderr, "the test's buffer"
	_, err := cmd.Token(ctx(t))
	wantErr(t, err, false, "token command sh failed", "exit status 3", "its stderr was passed through to the test's buffer")
	noSecrets(t, err, tok, "hunter2-SECRETVALUE", "login required")
	if want := "error: login required for https://idp.example\npassword=hunter2-SECRETVALUE\n"; stderr.String() != want {
		t.Fatalf("stderr passed on %q, want %q", stderr.String(), want)
	}
	// With nowhere to pass it, stderr is discarded, and the error says so.
	cmd.Stderr = nil
	_, err = cmd.Token(ctx(t))
	wantErr(t, err, false, "exit status 3", "its stderr was discarded")
	noSecrets(t, err, tok, "hunter2-SECRETVALUE", "login required")
	// An *os.File gets it too.
	f, ferr := os.Create(tempPath(t, "stderr"))
	if ferr != nil {
		t.Fatal(ferr)
	}
	defer f.Close()
	cmd.Stderr, cmd.StderrName = f, "a file"
	_, err = cmd.Token(ctx(t))
	wantErr(t, err, false, "exit status 3", "passed through to a file")
	noSecrets(t, err, "hunter2-SECRETVALUE")
	if got, _ := os.ReadFile(f.Name()); !strings.Contains(string(got), "password=hunter2-SECRETVALUE") {
		t.Fatalf("file holds %q", got)
	}

	// Printing garbage, or an expired JWT.
	_, err = sh(`echo not-a-jwt`).Token(ctx(t))
	wantErr(t, err, false, "did not print a usable JWT", "1 part")
	expired := v.mintExpired("x")
	cmd = sh(`echo "$TOK"`, "TOK="+expired)
	cmd.Clock = v.clock
	_, err = cmd.Token(ctx(t))
	wantErr(t, err, false, "expired at")
	noSecrets(t, err, expired)

	_, err = sh(`true`).Token(ctx(t))
	wantErr(t, err, false, "stdout was empty")
	_, err = (&TokenCommand{Argv: []string{"/nonexistent/token-helper"}}).Token(ctx(t))
	wantErr(t, err, true, "token-helper cannot be run", "not found")
	_, err = (&TokenCommand{}).Token(ctx(t))
	wantErr(t, err, true, "no token command")
	_, err = (&TokenCommand{Argv: []string{"true"}, Format: "yaml"}).Token(ctx(t))
	wantErr(t, err, true, "format \"yaml\" is unknown")
}

func TestTokenCommandHugeOutput(t *testing.T) {
	_, err := sh(`head -c 1000000 /dev/zero | tr '\0' a`).Token(ctx(t))
	wantErr(t, err, false, "printed too much", "more than 65536 bytes")
	// Huge stderr is passed on whole and kept nowhere.
	var stderr strings.Builder
	cmd := sh(`head -c 100000 /dev/zero | tr '\0' b >&2; echo THE-END >&2; exit 1`)
	cmd.Stderr = &stderr
	_, err = cmd.Token(ctx(t))
	wantErr(t, err, false, "exit status 1")
	if len(err.Error()) > 300 || stderr.Len() != 100008 || !strings.HasSuffix(stderr.String(), "THE-END\n") {
		t.Fatalf("error of %d bytes, %d bytes of stderr passed on", len(err.Error()), stderr.Len())
	}
}

// A hanging command is killed with its whole process group when the timeout
// passes; what it said on stderr has been passed on.
func TestTokenCommandTimeoutKillsTheGroup(t *testing.T) {
	for _, script := range []string{
		`sleep 300 & echo $! > "$PIDFILE"; echo "waiting for the browser" >&2; wait`,
		`sleep 300 & echo $! > "$PIDFILE"; echo "waiting for the browser" >&2; sleep 300`,
	} {
		pidFile := tempPath(t, "pid")
		cmd := sh(script, "PIDFILE="+pidFile)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		cmd.Timeout = time.Second // long enough for sh to start and write its pid under load
		start := time.Now()
		_, err := cmd.Token(ctx(t))
		wantErr(t, err, false, "timed out", "within 1s", "killed with its process group", "its stderr was passed through")
		noSecrets(t, err, "waiting for the browser")
		if took := time.Since(start); took > 10*time.Second {
			t.Fatalf("took %v", took)
		}
		if stderr.String() != "waiting for the browser\n" {
			t.Fatalf("stderr passed on %q", stderr.String())
		}
		waitGone(t, readPID(t, pidFile))
	}
	// The caller's own cancellation is reported as such.
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	_, err := sh(`sleep 5`).Token(c)
	wantErr(t, err, false, "was stopped")
}

// A command that exits but leaves children behind — holding its stdout and
// stderr open, or not — does not make the call wait for them, and they do not
// outlive it: its process group is killed once it exits.
func TestTokenCommandExitKillsWhatItLeftBehind(t *testing.T) {
	v := newTestEnv(t)
	tok := v.mint("x", time.Hour)
	for _, tc := range []struct {
		script string
		ok     bool
	}{
		{`sleep 300 & echo $! > "$PIDFILE"; printf '%s\n' "$TOK"`, true},
		{`sleep 300 >/dev/null 2>&1 & echo $! > "$PIDFILE"; printf '%s\n' "$TOK"`, true},
		{`sleep 300 & echo $! > "$PIDFILE"; echo "no login" >&2; exit 3`, false},
	} {
		pidFile := tempPath(t, "pid")
		cmd := sh(tc.script, "PIDFILE="+pidFile, "TOK="+tok)
		cmd.Clock = v.clock
		var stderr strings.Builder
		cmd.Stderr = &stderr // a pipe, which the child holds too
		cmd.Timeout = time.Minute
		start := time.Now()
		got, err := cmd.Token(ctx(t))
		if took := time.Since(start); took >= commandWaitDelay {
			t.Fatalf("%s: took %v: waited for the children's pipes", tc.script, took)
		}
		if tc.ok && (err != nil || got != tok) {
			t.Fatalf("%s: token %v, err %v", tc.script, got == tok, err)
		}
		if !tc.ok {
			wantErr(t, err, false, "exit status 3")
		}
		waitGone(t, readPID(t, pidFile))
	}
}

func readPID(t *testing.T, pidFile string) int {
	t.Helper()
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		t.Fatalf("pid file holds %q", data)
	}
	return pid
}

// waitGone waits for pid to be gone or a zombie. The group got SIGKILL before
// the call returned: this waits for the kernel to deliver it (an event, not
// the passing of time).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !gone(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("child %d still running after the call returned", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// state is the field after the ")" that ends the command name.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// A child that leaves the command's process group (setsid) cannot be killed
// with it; if it holds stdout or stderr open, the call still returns, after
// commandWaitDelay, with what the command printed.
func TestTokenCommandEscapedChildDoesNotHang(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid")
	}
	v := newTestEnv(t)
	tok := v.mint("x", time.Hour)
	pidFile := tempPath(t, "pid")
	cmd := sh(`setsid sh -c 'echo $$ > "$PIDFILE"; exec sleep 300' & while [ ! -s "$PIDFILE" ]; do sleep 0.01; done; printf '%s\n' "$TOK"`,
		"PIDFILE="+pidFile, "TOK="+tok)
	cmd.Clock = v.clock
	var stderr strings.Builder
	cmd.Stderr = &stderr
	cmd.Timeout = time.Minute
	got, err := cmd.Token(ctx(t))
	pid := readPID(t, pidFile)
	_ = syscall.Kill(pid, syscall.SIGKILL)
	if err != nil || got != tok {
		t.Fatalf("token %v, err %v", got == tok, err)
	}
}
