//go:build unix

package exchange

import (
	"context"
	"errors"
	"os"
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

func TestTokenCommandFailureShowsStderrNeverStdout(t *testing.T) {
	v := newTestEnv(t)
	tok := v.mint("x", time.Hour)
	cmd := sh(`printf '%s\n' "$TOK"; echo "error: login required for https://idp.example" >&2; echo "echoing $TOK" >&2; exit 3`, "TOK="+tok)
	_, err := cmd.Token(ctx(t))
	wantErr(t, err, false, "token command sh failed", "exit status 3", "login required for https://idp.example", "[redacted]")
	noSecrets(t, err, tok)

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
	// Huge stderr is cut to its end.
	_, err = sh(`head -c 100000 /dev/zero | tr '\0' b >&2; echo THE-END >&2; exit 1`).Token(ctx(t))
	wantErr(t, err, false, "THE-END")
	if len(err.Error()) > 3000 {
		t.Fatalf("error of %d bytes", len(err.Error()))
	}
}

// A hanging command is killed with its whole process group when the timeout
// passes, and the error includes what it said on stderr.
func TestTokenCommandTimeoutKillsTheGroup(t *testing.T) {
	pidFile := tempPath(t, "pid")
	cmd := sh(`sleep 300 & echo $! > "$PIDFILE"; echo "waiting for the browser" >&2; wait`, "PIDFILE="+pidFile)
	cmd.Timeout = time.Second // long enough for sh to start and write its pid under load
	start := time.Now()
	_, err := cmd.Token(ctx(t))
	wantErr(t, err, false, "timed out", "within 1s", "killed", "waiting for the browser")
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("took %v", took)
	}
	data, rerr := os.ReadFile(pidFile)
	if rerr != nil {
		t.Fatal(rerr)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	// The grandchild got SIGKILL with the group: it is gone or a zombie. Wait for
	// the kernel to deliver it (an event, not the passing of time).
	deadline := time.Now().Add(10 * time.Second)
	for !gone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("grandchild %d still running after the timeout", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The caller's own cancellation is reported as such.
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	_, err = sh(`sleep 5`).Token(c)
	wantErr(t, err, false, "was stopped")
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
