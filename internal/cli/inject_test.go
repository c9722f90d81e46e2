package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cwcreds/cwcreds/internal/inject"
	"github.com/cwcreds/cwcreds/internal/inject/injecttest"
)

// TestInjectFlags: every bad flag gets one line naming the flag and a fix, exit 1.
func TestInjectFlags(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	injecttest.WriteCert(t, cert, key, "flags")
	base := []string{"inject", "--listen", "127.0.0.1:0", "--tls-cert-file", cert, "--tls-key-file", key, "--watch-service-accounts=false"}
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"inject"}, "--tls-cert-file and --tls-key-file are required"},
		{nil, append(base, "--image", "i", "--org-id", "o", "--mode", "node"), "--mode: \"node\" is not a mode"},
		{nil, append(base, "--image", "i"), "--org-id is required in sidecar mode"},
		{nil, append(base, "--image", "i", "--org-id", "o", "--agent-url", "http://10.1.2.3:9911/v1/credentials"), "--agent-url: AWS SDKs refuse plain http"},
		{nil, append(base, "--image", "i", "--org-id", "o", "--sidecar-memory-limit", "lots"), "--sidecar-memory-limit \"lots\" is not a positive Kubernetes quantity"},
		{nil, append(base, "--image", "i", "--org-id", "o", "--cert-reload-interval", "0s"), "--cert-reload-interval 0s is not positive"},
		{nil, append(base, "--image", "i", "--org-id", "o", "--listen", "9443"), "choose another address with --listen"},
		{nil, []string{"inject", "--tls-cert-file", filepath.Join(dir, "none"), "--tls-key-file", key, "--image", "i", "--org-id", "o", "--watch-service-accounts=false"}, "--tls-cert-file: open"},
		{nil, append(base, "--image", "i", "--org-id", "o", "--watch-service-accounts=true"), "not running in a Kubernetes pod"},
		{nil, append(base, "--image", "i", "--org-id", "o", "--watch-service-accounts=true", "--kubeconfig", filepath.Join(dir, "none")), "--kubeconfig"},
		{map[string]string{"CWCREDS_ORG_ID": "org-env"}, append(base, "--image", "i", "--mode", "sidecar", "--listen", "nohost"), "--listen"}, // org id from the env passes
		{nil, []string{"inject", "write-aws-config"}, "--out is required"},
		{nil, []string{"inject", "write-aws-config", "--out", filepath.Join(dir, "no", "aws-config")}, "does not exist: mount the cwcreds-run volume"},
	} {
		code, out, errOut := runCLI(t, tc.env, tc.args...)
		if code != 1 || out != "" || !strings.Contains(errOut, tc.want) || !strings.HasSuffix(errOut, "\n") || strings.Count(strings.TrimSpace(lastLine(errOut)), "\n") != 0 {
			t.Errorf("%v: code %d, stderr %q, want %q", tc.args, code, errOut, tc.want)
		}
	}
	if got := defaultInjectImage("1.2.3-test"); got != inject.DefaultImageRepo+":1.2.3-test" {
		t.Errorf("default image %q", got)
	}
	if got := defaultInjectImage("dev"); got != "" {
		t.Errorf("dev build's default image %q", got)
	}
}

func TestWriteAWSConfigCommand(t *testing.T) {
	dir := t.TempDir()
	out, tok := filepath.Join(dir, "aws-config"), filepath.Join(dir, "auth-token")
	if code, stdout, errOut := runCLI(t, nil, "inject", "write-aws-config", "--out", out, "--auth-token-file", tok); code != 0 || stdout != "" || errOut != "" {
		t.Fatalf("code %d, %q %q", code, stdout, errOut)
	}
	if b, _ := os.ReadFile(out); string(b) != inject.AWSConfig {
		t.Fatalf("config %q", b)
	}
	if b, _ := os.ReadFile(tok); len(b) != 43 {
		t.Fatalf("token of %d bytes", len(b))
	}
}

// lastLine is the last line of s: the error line, after any log lines.
func lastLine(s string) string {
	s = strings.TrimSuffix(s, "\n")
	return s[strings.LastIndex(s, "\n")+1:]
}
