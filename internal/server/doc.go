// Package server is the container-credentials endpoint of cwcreds and its
// operations listener.
//
// The endpoint answers GET (and HEAD) /v1/credentials for the default profile and
// /v1/credentials/<profile> for the others, in the exact shape every AWS SDK accepts
// (aws-compat.md §1). It does not know where keys come from: each profile is a
// Provider (cache.Refresher is one), and the set of profiles can be replaced at any
// time with SetProfiles, so a config reload adds and removes profiles without
// disturbing the others.
//
// Every request goes through, in this order:
//
//  1. proxy headers (X-Forwarded-For, Forwarded, X-Real-Ip, X-Forwarded-Host):
//     403 — no SDK sends them; proxies and SSRF relays do;
//  2. the Host header must name the address served (or a loopback literal or
//     "localhost" with the same port): 421 Misdirected Request otherwise, which
//     defeats DNS rebinding (a rebinding browser sends the attacker's host name);
//  3. the path: anything but /v1/credentials[/<profile>] is 404;
//  4. the method: anything but GET and HEAD is 405 with Allow;
//  5. the token: none is 401, a wrong one 403 (constant time, on SHA-256 digests so
//     the token's length does not leak either). The token is an AuthToken, read or
//     generated from its file and re-read by Reload; its value never leaves it;
//  6. the profile: an unknown or malformed name is 404, never echoed;
//  7. the keys: 200 with the cached JSON body, or 503 with Retry-After when no
//     valid keys are held (cold cache, identity not usable), 500 otherwise.
//
// The success path does no logging, no reflection and one allocation (the bounded
// wait's context): the body is encoded once per set of keys and reused.
//
// Operations (health, readiness, Prometheus metrics) are served by a separate
// handler (NewOpsHandler) on a separate listener. Metrics go to an injected
// registry, never the global one; Observer turns cache events into metrics and logs.
package server
