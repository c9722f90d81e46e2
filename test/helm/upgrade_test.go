package helm_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// fakeCluster answers what helm template --dry-run=server asks of an API server:
// discovery of the kinds the injector renders, and GETs of single objects, of which
// it holds only the injector's TLS Secret when one is set. It stands in for a
// cluster on upgrade, where the chart's lookup must find and reuse the Secret.
type fakeCluster struct {
	mu     sync.Mutex
	secret *corev1.Secret
	gets   []string
}

// fakeResources lists, per group version, the kinds the injector renders.
func fakeResources() map[string][]metav1.APIResource {
	all := map[string][]metav1.APIResource{
		"v1": {{Name: "secrets", Kind: "Secret", Namespaced: true}, {Name: "serviceaccounts", Kind: "ServiceAccount", Namespaced: true},
			{Name: "services", Kind: "Service", Namespaced: true}, {Name: "configmaps", Kind: "ConfigMap", Namespaced: true}},
		"apps/v1":                         {{Name: "deployments", Kind: "Deployment", Namespaced: true}, {Name: "daemonsets", Kind: "DaemonSet", Namespaced: true}},
		"policy/v1":                       {{Name: "poddisruptionbudgets", Kind: "PodDisruptionBudget", Namespaced: true}},
		"rbac.authorization.k8s.io/v1":    {{Name: "clusterroles", Kind: "ClusterRole"}, {Name: "clusterrolebindings", Kind: "ClusterRoleBinding"}},
		"admissionregistration.k8s.io/v1": {{Name: "mutatingwebhookconfigurations", Kind: "MutatingWebhookConfiguration"}},
	}
	for _, resources := range all {
		for i := range resources {
			resources[i].Verbs = metav1.Verbs{"get", "list", "create", "patch"}
		}
	}
	return all
}

func (f *fakeCluster) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reply := func(code int, body any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body)
	}
	if r.Method != http.MethodGet {
		reply(http.StatusMethodNotAllowed, metav1.Status{Status: "Failure", Code: http.StatusMethodNotAllowed, Message: "a dry run only reads"})
		return
	}
	switch r.URL.Path {
	case "/version":
		reply(http.StatusOK, map[string]string{"major": "1", "minor": "37", "gitVersion": kubeVersion})
		return
	case "/api":
		reply(http.StatusOK, metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"},
			ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: "127.0.0.1"}}})
		return
	case "/apis":
		list := metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}}
		for gv := range fakeResources() {
			group, version, ok := strings.Cut(gv, "/")
			if !ok {
				continue
			}
			v := metav1.GroupVersionForDiscovery{GroupVersion: gv, Version: version}
			list.Groups = append(list.Groups, metav1.APIGroup{Name: group, Versions: []metav1.GroupVersionForDiscovery{v}, PreferredVersion: v})
		}
		reply(http.StatusOK, list)
		return
	}
	for gv, resources := range fakeResources() {
		base := "/apis/" + gv
		if gv == "v1" {
			base = "/api/v1"
		}
		if r.URL.Path == base {
			reply(http.StatusOK, metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList"}, GroupVersion: gv, APIResources: resources})
			return
		}
	}
	f.mu.Lock()
	f.gets = append(f.gets, r.URL.Path)
	secret := f.secret
	f.mu.Unlock()
	if secret != nil && r.URL.Path == "/api/v1/namespaces/"+namespace+"/secrets/"+secret.Name {
		reply(http.StatusOK, secret)
		return
	}
	reply(http.StatusNotFound, metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: "Failure", Reason: metav1.StatusReasonNotFound, Code: http.StatusNotFound})
}

func (f *fakeCluster) lookedUp(path string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, g := range f.gets {
		if g == path {
			return true
		}
	}
	return false
}

// renderAgainst renders the injector as helm upgrade would, with lookup reading
// the fake cluster.
func renderAgainst(t *testing.T, h *helm, server string) (*corev1.Secret, []byte) {
	t.Helper()
	out, err := h.template(t, "--set", "orgId=cw-test-org", "--set", "injector.enabled=true", "--dry-run=server", "--disable-openapi-validation", "--kube-apiserver", server)
	if err != nil {
		t.Fatal(err)
	}
	r, err := decodeManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	mwc := one[*admissionregistrationv1.MutatingWebhookConfiguration](t, r)
	return one[*corev1.Secret](t, r), mwc.Webhooks[0].ClientConfig.CABundle
}

// TestGeneratedCertificateKeptOnUpgrade: without cert-manager the chart makes a CA
// and certificate once; an upgrade finds them with lookup and keeps them, so the
// webhook's caBundle never changes under running injector pods. A Secret missing a
// part is replaced.
func TestGeneratedCertificateKeptOnUpgrade(t *testing.T) {
	h := newHelm(t)
	cluster := &fakeCluster{}
	srv := httptest.NewServer(cluster)
	defer srv.Close()

	first, firstCA := renderAgainst(t, h, srv.URL)
	secretPath := "/api/v1/namespaces/" + namespace + "/secrets/" + first.Name
	if !cluster.lookedUp(secretPath) {
		t.Fatalf("helm never looked the Secret up at %s (saw %v)", secretPath, cluster.gets)
	}

	// What helm install stored, as the API server hands it back.
	stored := first.DeepCopy()
	stored.TypeMeta = metav1.TypeMeta{Kind: "Secret", APIVersion: "v1"}
	stored.Namespace = namespace
	stored.Labels["app.kubernetes.io/managed-by"] = "Helm"
	stored.Annotations = map[string]string{"meta.helm.sh/release-name": releaseName, "meta.helm.sh/release-namespace": namespace}
	cluster.mu.Lock()
	cluster.secret = stored
	cluster.mu.Unlock()

	again, againCA := renderAgainst(t, h, srv.URL)
	for _, k := range []string{"tls.crt", "tls.key", "ca.crt"} {
		if string(again.Data[k]) != string(first.Data[k]) {
			t.Errorf("upgrade replaced %s of the stored Secret", k)
		}
	}
	if string(againCA) != string(firstCA) {
		t.Error("upgrade changed the webhook's caBundle")
	}

	broken := stored.DeepCopy()
	delete(broken.Data, "tls.key")
	cluster.mu.Lock()
	cluster.secret = broken
	cluster.mu.Unlock()
	fresh, freshCA := renderAgainst(t, h, srv.URL)
	if string(fresh.Data["tls.crt"]) == string(first.Data["tls.crt"]) || string(freshCA) == string(firstCA) {
		t.Error("a Secret without tls.key was kept instead of replaced")
	}
	checkGeneratedTLS(t, &rendered{typed: []runtime.Object{fresh}}, fresh.Name, freshCA)
}
