package helm_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// variant is one way to install the chart: a values file under testdata/values and
// extra helm flags.
type variant struct {
	name  string
	extra []string
	// lint replaces extra for helm lint and install, which have no --api-versions.
	lint []string
}

// withCertManager tells helm template the cluster serves cert-manager's API.
var withCertManager = []string{"--api-versions", "cert-manager.io/v1"}

var variants = []variant{
	{name: "agent"},
	{name: "agent-ipv4-only"},
	{name: "agent-ipv6-only"},
	{name: "injector-sidecar"},
	{name: "injector-agent"},
	{name: "all-metrics"},
	{name: "cert-manager", extra: withCertManager, lint: []string{"--set", "injector.certManager.enabled=true"}},
	{name: "webhook-url"},
	{name: "sidecar-example"},
}

func (v variant) valuesFile() string {
	name := v.name
	if name == "cert-manager" {
		name = "injector-sidecar" // the same values; only the cluster's APIs differ
	}
	return filepath.Join("testdata", "values", name+".yaml")
}

func (v variant) lintArgs() []string {
	if v.lint != nil {
		return v.lint
	}
	return v.extra
}

func (v variant) render(t *testing.T, h *helm) string {
	t.Helper()
	out, err := h.template(t, append([]string{"-f", v.valuesFile()}, v.extra...)...)
	if err != nil {
		t.Fatalf("%s: %v", v.name, err)
	}
	return out
}

// generatedPEM matches the certificate, key and CA the chart generates anew on each
// render when cert-manager is not used.
var generatedPEM = regexp.MustCompile(`(?m)^(\s*(?:tls\.crt|tls\.key|ca\.crt|caBundle):\s*)LS0t\S+$`)

// normalise replaces what differs between two renders of the same values.
func normalise(manifest string) string {
	return generatedPEM.ReplaceAllString(manifest, "${1}<generated>")
}

func TestTemplateGolden(t *testing.T) {
	h := newHelm(t)
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			got := normalise(v.render(t, h))
			if strings.Contains(got, "<no value>") {
				t.Error("a template printed a missing value as <no value>")
			}
			path := filepath.Join("testdata", "golden", v.name+".yaml")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./test/helm -update to write it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("helm template for %s differs from %s (-want +got); if the change is meant, run go test ./test/helm -update:\n%s", v.name, path, diff)
			}
		})
	}
}

// TestTemplateNormaliseOnlyHidesGeneratedCerts proves the golden comparison still
// sees everything else: two renders differ before normalising (fresh certificates)
// and are equal after, and only the four generated fields were replaced.
func TestTemplateNormaliseOnlyHidesGeneratedCerts(t *testing.T) {
	h := newHelm(t)
	v := variant{name: "injector-sidecar"}
	a, b := v.render(t, h), v.render(t, h)
	if a == b {
		t.Fatal("two renders with generated certificates are identical: the chart no longer generates them")
	}
	if normalise(a) != normalise(b) {
		t.Fatalf("renders differ after normalising:\n%s", cmp.Diff(normalise(a), normalise(b)))
	}
	if n := strings.Count(normalise(a), "<generated>"); n != 4 {
		t.Errorf("normalise replaced %d fields, want 4 (tls.crt, tls.key, ca.crt, caBundle)", n)
	}
}

func TestLintStrict(t *testing.T) {
	h := newHelm(t)
	if out, err := h.run(t, "lint", "--strict", chartDir); err != nil {
		t.Fatalf("defaults: %v\n%s", err, out)
	}
	for _, v := range variants {
		args := append([]string{"lint", "--strict", chartDir, "--namespace", namespace, "--kube-version", kubeVersion, "-f", v.valuesFile()}, v.lintArgs()...)
		if out, err := h.run(t, args...); err != nil {
			t.Errorf("%s: %v\n%s", v.name, err, out)
		}
	}
}

// TestInstallDryRun renders each variant as helm install would, NOTES.txt
// included, and packages the chart.
func TestInstallDryRun(t *testing.T) {
	h := newHelm(t)
	for _, v := range variants {
		// helm install has neither --kube-version nor --api-versions: the lint flags.
		args := append([]string{"install", releaseName, chartDir, "--namespace", namespace, "--dry-run=client", "-f", v.valuesFile()}, v.lintArgs()...)
		out, err := h.run(t, args...)
		if err != nil {
			t.Errorf("%s: %v", v.name, err)
			continue
		}
		_, notes, ok := strings.Cut(out, "NOTES:\n")
		if !ok || !strings.Contains(notes, "cwcreds 0.1.0 in namespace "+namespace) || strings.Contains(notes, "<no value>") {
			t.Errorf("%s: NOTES missing or incomplete:\n%s", v.name, notes)
		}
	}
	if _, err := h.run(t, "package", chartDir, "--destination", t.TempDir()); err != nil {
		t.Errorf("the chart does not package: %v", err)
	}
}
