//go:build unix

package cli

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/fastpath"
)

// TestBuiltBinary runs the real cwcreds binary the way AWS tools do: many at
// once, without a terminal, from credential_process lines and around commands.
// It is built once for all of its subtests.
func TestBuiltBinary(t *testing.T) {
	bin := buildCwcreds(t)
	t.Run("ParallelColdCredentialProcess", func(t *testing.T) { testParallelCold(t, bin) })
	t.Run("NoTerminalLoginHint", func(t *testing.T) { testNoTerminal(t, bin) })
	t.Run("RealClients", func(t *testing.T) { testRealClients(t, bin) })
	t.Run("Exec", func(t *testing.T) { testExec(t, bin) })
	t.Run("TokenCommandStderr", func(t *testing.T) { testTokenCommandStderr(t, bin) })
	t.Run("TokenCommandChildren", func(t *testing.T) { testTokenCommandChildren(t, bin) })
	t.Run("BadTokenFile", func(t *testing.T) { testBadTokenFile(t, bin) })
}

// 100 processes starting on a cold cache make one exchange and print the same
// keys: half of them cwcreds-credential-process (which hands a cold call to
// cwcreds), half cwcreds credential-process.
func testParallelCold(t *testing.T, bin string) {
	w := newWorld(t)
	const n = 100
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		argv := []string{bin, "credential-process"}
		if i%2 == 1 {
			argv = []string{fastBinary(bin)}
		}
		wg.Go(func() { results[i] = w.runProc(ctx, nil, nil, argv...) })
	}
	wg.Wait()
	for i, r := range results {
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("process %d: code %d, stderr %q", i, r.code, r.stderr)
		}
		if r.stdout != results[0].stdout {
			t.Fatalf("process %d printed other keys than process 0", i)
		}
	}
	w.processOutput(results[0].stdout)
	if got := w.exchanges(); got != 1 {
		t.Fatalf("%d exchanges for %d cold processes, want 1", got, n)
	}
	// Warm, the fast binary answers alone with the same keys and no exchange:
	// a copy with no cwcreds beside it or on PATH could not hand the call over.
	lone := filepath.Join(w.dir, "lone", fastpath.Name)
	copyExecutable(t, fastBinary(bin), lone)
	for range 3 {
		if r := w.mustRun(nil, lone); r.stdout != results[0].stdout || r.stderr != "" {
			t.Fatalf("warm cwcreds-credential-process: stdout differs: %v, stderr %q", r.stdout != results[0].stdout, r.stderr)
		}
	}
	if got := w.exchanges(); got != 1 {
		t.Fatalf("%d exchanges after warm calls, want 1", got)
	}
}

// With no controlling terminal (a new session, stdin from /dev/null) a profile
// that needs an interactive login fails at once with one line naming the command.
func testNoTerminal(t *testing.T, bin string) {
	w := newWorld(t)
	w.writeProfiles("  laptop:\n    source: {type: oidc_refresh, issuer: " + w.emu.DevIssuer().URL() + ", client_id: cwcreds}\n" +
		"  sso:\n    source: {type: saml_file, path: \"-\", config_id: 7d6c0e9a-1b2c-4d5e-8f90-123456789abc}\n" +
		"  ci:\n    source: {type: token_file, path: " + w.dir + "/missing-token}\n")
	fast := false
	run := func(profile string) (result, error) {
		// A deadline of a few seconds: the point is "at once", not waiting for input.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "credential-process", "--profile", profile)
		if fast { // the small binary hands the call to cwcreds, terminal and all
			cmd = exec.CommandContext(ctx, fastBinary(bin), "--profile", profile)
		}
		cmd.Env = w.environ()
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no controlling terminal: /dev/tty fails
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr // stdin: /dev/null
		err := cmd.Run()
		r := result{stdout: stdout.String(), stderr: stderr.String()}
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = exitCodeOf(ee.ProcessState)
		}
		w.checkLeaks("stderr", r.stderr)
		return r, ctx.Err()
	}
	for _, fast = range []bool{false, true} {
		for _, tc := range []struct{ profile, reason string }{
			{"laptop", "no login is stored"},
			{"laptop", "no login is stored"}, // again, from the remembered failure
			{"sso", "no SAML response on standard input"},
		} {
			r, err := run(tc.profile)
			want := "cwcreds: profile " + tc.profile + " needs an interactive login (" + tc.reason + "): run `cwcreds login --profile " + tc.profile + "`\n"
			if err != nil || r.code == 0 || r.stdout != "" || r.stderr != want {
				t.Fatalf("%s (fast binary %v): deadline %v, code %d, stdout %q, stderr %q, want %q", tc.profile, fast, err, r.code, r.stdout, r.stderr, want)
			}
		}
		// Other failures are not dressed up as a login problem.
		r, err := run("ci")
		if err != nil || r.code == 0 || strings.Count(r.stderr, "\n") != 1 || strings.Contains(r.stderr, "cwcreds login") || !strings.Contains(r.stderr, "missing-token") {
			t.Fatalf("ci (fast binary %v): deadline %v, code %d, stderr %q", fast, err, r.code, r.stderr)
		}
	}
	if w.exchanges() != 0 {
		t.Fatalf("%d exchanges", w.exchanges())
	}
}
