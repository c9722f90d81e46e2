// Package kube_test runs cwcreds against a real Kubernetes API server: etcd and
// kube-apiserver built from their Go modules by scripts/install-kube-apiserver
// (no kubelet or controllers: objects are admitted and stored, pods never run).
// It checks that the Helm chart's objects pass the server's strict validation,
// that the chart's MutatingWebhookConfiguration makes the API server call
// `cwcreds inject` and store the pods it patched, and that `cwcreds serve --mode
// agent` exchanges the API server's own service-account tokens (TokenRequest)
// for keys from the CoreWeave emulator, which trusts the server's issuer the way
// Workload Federation trusts a cluster's.
package kube_test
