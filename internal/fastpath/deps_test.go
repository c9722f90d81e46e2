package fastpath

import (
	"os/exec"
	"strings"
	"testing"
)

// The small binary is worth having only while it starts in about the time of a
// Go hello world: every AWS SDK call on a warm cache runs it. Each of these
// packages costs milliseconds of package initialisation per call (net/http's
// alone is a large part of that), so none may reach it through cache, config,
// creds, fileutil or keypolicy.
func TestSmallBinaryStaysSmall(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/cwcreds/cwcreds/cmd/"+Name).Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	is := func(p string) func(string) bool { return func(s string) bool { return s == p } }
	under := func(p string) func(string) bool {
		return func(s string) bool { return s == p || strings.HasPrefix(s, p+"/") }
	}
	prefix := func(p string) func(string) bool { return func(s string) bool { return strings.HasPrefix(s, p) } }
	forbidden := []struct {
		match func(string) bool
		why   string
	}{
		{under("net/http"), "an HTTP client or server"},
		{is("go.uber.org/zap"), "zap itself, which links net/http (go.uber.org/zap/zapcore is light and allowed)"},
		{under("go.yaml.in"), "a YAML parser (the memo exists so that the config is never parsed here)"},
		{prefix("gopkg.in/yaml."), "a YAML parser"},
		{under("sigs.k8s.io/yaml"), "a YAML parser"},
		{under("github.com/prometheus"), "the Prometheus client"},
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if f.match(pkg) {
				t.Errorf("%s now links %s, %s: every AWS SDK call on a warm cache would start slower. "+
					"Keep the import out of the packages the small binary uses (see `go list -deps ./cmd/%s`).", Name, pkg, f.why, Name)
			}
		}
	}
}
