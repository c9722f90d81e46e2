// Package exchange turns an identity that a workload or a person already has into
// CoreWeave AI Object Storage keys.
//
// It has two halves:
//
//   - identity sources, small types with one method set (TokenSource): a token
//     file (a projected service-account or CI token, re-read on every call), a
//     CoreWeave API token (environment, file or OS keyring), an OIDC refresh token
//     turned into a fresh ID token, a SAML response (file or stdin) and a token
//     command (a JWT or a Kubernetes ExecCredential on its stdout);
//   - exchanges, each satisfying internal/cache's Fetcher (Fetch, InputFingerprint)
//     without importing it: OIDC POST, container-credentials GET, SAML POST, and the
//     two API-token exchanges (POST with a lifetime, GET with the fixed 15 minutes).
//
// Every error says what failed and what to do, never contains a token, refresh
// token, SAML response or key secret, and is classified for the cache: errors with
// Unrecoverable() == true (a bad or expired identity, access denied) stop retries
// until the identity input changes; all others are transient.
//
// NewHTTPClient builds the HTTP client every outbound call should use, with proxy
// settings from the environment and an optional custom CA bundle.
package exchange
