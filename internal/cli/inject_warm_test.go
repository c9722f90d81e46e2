package cli

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/devissuer"
	"github.com/cwcreds/cwcreds/internal/emulator/emutest"
)

// An agent-mode pod's init container (`inject write-aws-config
// --wait-for-credentials`) returns once the agent serves the pod's keys past
// their propagation delay, so the app's first request gets keys at once instead
// of the 503 a brand-new identity gets. A token the agent refuses is a warning,
// never a failed pod start, and never shown.
func TestInjectWarmsTheAgentForThePod(t *testing.T) {
	const delay = 1500 * time.Millisecond
	emu := emutest.Start(t, emulator.Config{KeyPropagationDelay: delay})
	a := startAgent(t, emu, "--listen", "127.0.0.1:0", "--propagation-delay", delay.String())
	dir := t.TempDir()
	podToken := func(name, aud string) string {
		tok := mintPodToken(t, emu, devissuer.MintOptions{Subject: "system:serviceaccount:ml:" + name, Audience: []string{aud}, Lifetime: time.Hour})
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	// Without the wait, a new pod's first request is turned away.
	cold := podToken("cold", "https://coreweave.com/iam")
	coldTok, _ := os.ReadFile(cold)
	if r := srvGet(t, a.urls[0], string(coldTok)); r.status != http.StatusServiceUnavailable {
		t.Fatalf("a new identity's first request got %d, want 503 while its keys propagate", r.status)
	}

	warm := podToken("warm", "https://coreweave.com/iam")
	out := filepath.Join(dir, "aws-config")
	code, stdout, stderr := runCLI(t, nil, "inject", "write-aws-config", "--out", out,
		"--wait-for-credentials", a.urls[0], "--token-file", warm, "--wait-timeout", "30s")
	if code != 0 || stdout != "" || stderr != "" {
		t.Fatalf("write-aws-config --wait-for-credentials: code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	warmTok, _ := os.ReadFile(warm)
	if r := srvGet(t, a.urls[0], string(warmTok)); r.status != http.StatusOK {
		t.Fatalf("the app's first request after the wait got %d %s, want 200", r.status, r.body)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("the AWS config file was not written: %v", err)
	}

	refused := podToken("refused", "sts.amazonaws.com")
	code, _, stderr = runCLI(t, nil, "inject", "write-aws-config", "--out", out,
		"--wait-for-credentials", a.urls[0], "--token-file", refused, "--wait-timeout", "30s")
	refusedTok, _ := os.ReadFile(refused)
	if code != 0 || !strings.Contains(stderr, "warning: the node agent refused this pod's token (HTTP 403)") ||
		strings.Count(stderr, "\n") != 1 || strings.Contains(stderr, string(refusedTok)) {
		t.Fatalf("a refused token: code %d, stderr %q", code, stderr)
	}

	// Nothing answers: give up after --wait-timeout, with a warning, and let the app start.
	code, _, stderr = runCLI(t, nil, "inject", "write-aws-config", "--out", out,
		"--wait-for-credentials", "http://127.0.0.1:1/v1/credentials", "--token-file", warm, "--wait-timeout", "1500ms")
	if code != 0 || !strings.Contains(stderr, "no keys from the node agent at http://127.0.0.1:1/v1/credentials after") {
		t.Fatalf("no agent: code %d, stderr %q", code, stderr)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--wait-for-credentials", a.urls[0]}, "--wait-for-credentials needs --token-file"},
		{[]string{"--token-file", warm}, "--token-file works only with --wait-for-credentials"},
		{[]string{"--wait-for-credentials", a.urls[0], "--token-file", warm, "--wait-timeout", "0s"}, "--wait-timeout 0s is not positive"},
	} {
		code, _, stderr := runCLI(t, nil, append([]string{"inject", "write-aws-config", "--out", out}, tc.args...)...)
		if code == 0 || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: code %d, stderr %q, want one line with %q", tc.args, code, stderr, tc.want)
		}
	}
}
