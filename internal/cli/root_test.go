package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// runCLI runs cwcreds in-process and returns its exit code, stdout and stderr.
func runCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), Env{
		Args:    args,
		Getenv:  func(k string) string { return env[k] },
		Stdin:   strings.NewReader(""),
		Stdout:  &stdout,
		Stderr:  &stderr,
		Version: "1.2.3-test",
	})
	return code, stdout.String(), stderr.String()
}

func TestVersion(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "cwcreds 1.2.3-test (") || errOut != "" {
		t.Fatalf("version: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, nil, "--version")
	if code != 0 || out != "cwcreds 1.2.3-test\n" {
		t.Fatalf("--version: code %d, stdout %q", code, out)
	}
}

func TestCompletion(t *testing.T) {
	for shell, marker := range map[string]string{
		"bash": "__start_cwcreds", "zsh": "#compdef cwcreds", "fish": "complete -c cwcreds", "powershell": "Register-ArgumentCompleter",
	} {
		code, out, errOut := runCLI(t, nil, "completion", shell)
		if code != 0 || !strings.Contains(out, marker) {
			t.Errorf("completion %s: code %d, stderr %q, output lacks %q", shell, code, errOut, marker)
		}
	}
	code, _, errOut := runCLI(t, nil, "completion", "tcsh")
	if code == 0 || !strings.Contains(errOut, "bash, zsh, fish or powershell") {
		t.Errorf("completion tcsh: code %d, stderr %q", code, errOut)
	}
}

func TestUnknownCommandAndFlag(t *testing.T) {
	code, out, errOut := runCLI(t, nil, "frobnicate")
	if code == 0 || out != "" || !strings.HasPrefix(errOut, "cwcreds: unknown command") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("unknown command: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, nil, "version", "--nope")
	if code == 0 || !strings.Contains(errOut, "unknown flag: --nope") || !strings.Contains(errOut, "--help") {
		t.Errorf("unknown flag: code %d, stderr %q", code, errOut)
	}
}
