package kube_test

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestAgainstAPIServer starts one API server for all its parts: starting it is
// most of a part's cost.
func TestAgainstAPIServer(t *testing.T) {
	bin := buildCwcreds(t)
	s := startAPIServer(t)

	t.Run("ChartDryRunApply", func(t *testing.T) {
		t.Parallel()
		testChartDryRunApply(t, s)
	})
	t.Run("Webhook", func(t *testing.T) {
		t.Parallel()
		testWebhook(t, s, bin)
	})
	t.Run("AgentWithTokenRequest", func(t *testing.T) {
		t.Parallel()
		testAgentWithTokenRequest(t, s, bin)
	})
}

// buildCwcreds builds the checkout's cwcreds binary (with -race when the tests
// run with it).
func buildCwcreds(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cwcreds")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "github.com/cwcreds/cwcreds/cmd/cwcreds")
	if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
		t.Fatalf("go build cwcreds: %v\n%s", err, out)
	}
	return bin
}
