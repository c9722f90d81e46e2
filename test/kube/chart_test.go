package kube_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"
)

// chartDir is the chart in the checkout under test (tests run in test/kube).
const chartDir = "../../deploy/helm/cwcreds"

// releaseNamespace is where the tests install the chart.
const releaseNamespace = "cwcreds-system"

// helmBinary is the helm scripts/install-test-deps installs.
func helmBinary(t *testing.T) string {
	t.Helper()
	home, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(home, ".cache", "cwcreds-test", "bin", "helm")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("helm is missing at %s: run scripts/install-test-deps", bin)
	}
	return bin
}

// renderChart runs helm template on the chart with the given --set values and
// returns every object it renders.
func renderChart(t *testing.T, sets ...string) []*unstructured.Unstructured {
	t.Helper()
	dir := t.TempDir()
	args := []string{"template", "cwcreds", chartDir, "--namespace", releaseNamespace}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	cmd := exec.CommandContext(testContext(t), helmBinary(t), args...)
	cmd.Env = isolatedEnv(dir,
		"HELM_CACHE_HOME="+filepath.Join(dir, "helm-cache"),
		"HELM_CONFIG_HOME="+filepath.Join(dir, "helm-config"),
		"HELM_DATA_HOME="+filepath.Join(dir, "helm-data"),
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return splitManifests(t, out)
}

// splitManifests decodes a multi-document YAML stream into objects, skipping
// empty documents.
func splitManifests(t *testing.T, data []byte) []*unstructured.Unstructured {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatal(err)
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatalf("rendered YAML: %v\n%s", err, doc)
		}
		if len(bytes.TrimSpace(js)) == 0 || string(bytes.TrimSpace(js)) == "null" {
			continue
		}
		obj := &unstructured.Unstructured{}
		if err := obj.UnmarshalJSON(js); err != nil {
			t.Fatalf("rendered object: %v\n%s", err, doc)
		}
		objs = append(objs, obj)
	}
}

// testChartDryRunApply: every object the chart renders with the agent and the
// injector enabled passes the API server's own validation (server-side apply,
// dry run, unknown and duplicate fields refused); a broken object does not.
func testChartDryRunApply(t *testing.T, s *apiServer) {
	objs := renderChart(t, "agent.enabled=true", "injector.enabled=true", "orgId=org-test")
	createReleaseNamespace(t, s)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(s.client.Discovery()))

	var kinds []string
	for _, obj := range objs {
		if err := dryRunApply(t, s, mapper, obj); err != nil {
			t.Errorf("%s %s: the API server refuses the chart's object: %v", obj.GetKind(), obj.GetName(), err)
		}
		kinds = append(kinds, obj.GetKind())
	}
	for _, want := range []string{"DaemonSet", "Deployment", "Service", "ServiceAccount", "MutatingWebhookConfiguration", "PodDisruptionBudget"} {
		if !slices.Contains(kinds, want) {
			t.Errorf("the chart rendered no %s with agent and injector enabled; it rendered %v", want, kinds)
		}
	}

	deployment := findObject(t, objs, "Deployment")
	for _, c := range []struct {
		name   string
		break_ func(u *unstructured.Unstructured)
		want   string
	}{
		{"unknown field", func(u *unstructured.Unstructured) {
			containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
			containers[0].(map[string]any)["imagePullPolicyy"] = "Always"
			_ = unstructured.SetNestedSlice(u.Object, containers, "spec", "template", "spec", "containers")
		}, "imagePullPolicyy"}, // named whichever way the server words it
		{"selector not matching the template", func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedStringMap(u.Object, map[string]string{"app": "something-else"}, "spec", "selector", "matchLabels")
		}, "`selector` does not match template `labels`"},
		{"wrong type", func(u *unstructured.Unstructured) {
			_ = unstructured.SetNestedField(u.Object, "two", "spec", "replicas")
		}, "spec.replicas"},
	} {
		broken := deployment.DeepCopy()
		c.break_(broken)
		err := dryRunApply(t, s, mapper, broken)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: the API server answered %v, want an error naming %q", c.name, err, c.want)
		}
	}
}

func createReleaseNamespace(t *testing.T, s *apiServer) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: releaseNamespace}}
	if _, err := s.client.CoreV1().Namespaces().Create(testContext(t), ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// dryRunApply sends obj as a server-side apply with dryRun=All and
// fieldValidation=Strict: the server runs admission and validation and stores
// nothing.
func dryRunApply(t *testing.T, s *apiServer, mapper meta.RESTMapper, obj *unstructured.Unstructured) error {
	t.Helper()
	gvk := obj.GroupVersionKind()
	mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return err
	}
	data, err := json.Marshal(obj.Object)
	if err != nil {
		t.Fatal(err)
	}
	opts := metav1.PatchOptions{
		FieldManager:    "cwcreds-test",
		DryRun:          []string{metav1.DryRunAll},
		FieldValidation: metav1.FieldValidationStrict,
		Force:           new(true),
	}
	res := s.dyn.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := obj.GetNamespace()
		if ns == "" {
			ns = releaseNamespace
		}
		_, err = res.Namespace(ns).Patch(testContext(t), obj.GetName(), types.ApplyPatchType, data, opts)
		return err
	}
	_, err = res.Patch(testContext(t), obj.GetName(), types.ApplyPatchType, data, opts)
	return err
}

// findObject returns the one rendered object of kind.
func findObject(t *testing.T, objs []*unstructured.Unstructured, kind string) *unstructured.Unstructured {
	t.Helper()
	var found []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("the chart rendered %d objects of kind %s, want 1", len(found), kind)
	}
	return found[0]
}
