package kube_test

import (
	"encoding/json"

	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// createNamespace makes the namespace cwcreds-test-<part>; nothing deletes it,
// the API server is thrown away with the test.
func createNamespace(t *testing.T, s *apiServer, part string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "cwcreds-test-" + part}}
	if _, err := s.client.CoreV1().Namespaces().Create(testContext(t), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// createServiceAccount makes a service account; no controller runs, so even
// "default" exists only when a test makes it.
func createServiceAccount(t *testing.T, s *apiServer, ns, name string, annotations map[string]string) string {
	t.Helper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations}}
	if _, err := s.client.CoreV1().ServiceAccounts(ns).Create(testContext(t), sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

// createPod creates pod in ns and returns what the API server stored.
func createPod(t *testing.T, s *apiServer, ns string, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	got, err := s.client.CoreV1().Pods(ns).Create(testContext(t), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s/%s: %v", ns, pod.Name, err)
	}
	return got
}

// appContainer is a user's container; the image is never pulled.
func appContainer(name string) corev1.Container {
	return corev1.Container{Name: name, Image: "registry.invalid/app:1", Command: []string{"/app"}}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	return mustJSON(t, a) == mustJSON(t, b)
}
