// Package helm_test checks the chart in deploy/helm/cwcreds with a real helm
// (installed by scripts/install-test-deps): helm lint --strict, helm template per
// values variant against golden files (go test ./test/helm -update rewrites them),
// every rendered object decoded strictly with client-go, the chart's own promises
// (security contexts, selectors, webhook scope, TLS) checked on the decoded objects,
// and values.schema.json refusing bad values.
package helm_test
