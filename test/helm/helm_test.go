package helm_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

const (
	chartDir    = "../../deploy/helm/cwcreds"
	releaseName = "cw"
	namespace   = "cwcreds-system"
	kubeVersion = "v1.37.2"
	helmTimeout = 2 * time.Minute
)

// helmBinary is where scripts/install-test-deps puts helm, or CWCREDS_HELM.
func helmBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CWCREDS_HELM"); p != "" {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatalf("no home folder to find helm in: %v (set CWCREDS_HELM)", err)
	}
	p := filepath.Join(home, ".cache", "cwcreds-test", "bin", "helm")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("helm is not installed at %s: run scripts/install-test-deps (or set CWCREDS_HELM)", p)
	}
	return p
}

// helm runs helm with its cache, config and data folders in a temp folder, so no
// repository list or plugin of the machine's user changes what it does.
type helm struct {
	bin string
	env []string
}

func newHelm(t *testing.T) *helm {
	t.Helper()
	dir := t.TempDir()
	env := append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(dir, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(dir, "config"),
		"HELM_DATA_HOME="+filepath.Join(dir, "data"),
		"KUBECONFIG="+filepath.Join(dir, "no-kubeconfig"),
	)
	return &helm{bin: helmBinary(t), env: env}
}

// run returns helm's stdout, and an error holding its stderr when it fails.
func (h *helm) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), helmTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, h.bin, args...)
	cmd.Env = h.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), &helmError{args: args, err: err, stderr: stderr.String()}
	}
	return stdout.String(), nil
}

type helmError struct {
	args   []string
	err    error
	stderr string
}

func (e *helmError) Error() string {
	return "helm " + e.args[0] + ": " + e.err.Error() + ": " + e.stderr
}

func stderrOf(err error) string {
	if he, ok := errors.AsType[*helmError](err); ok {
		return he.stderr
	}
	return err.Error()
}

// template renders the chart as release cw in cwcreds-system for Kubernetes 1.37.
func (h *helm) template(t *testing.T, extra ...string) (string, error) {
	t.Helper()
	args := append([]string{"template", releaseName, chartDir, "--namespace", namespace, "--kube-version", kubeVersion}, extra...)
	return h.run(t, args...)
}
