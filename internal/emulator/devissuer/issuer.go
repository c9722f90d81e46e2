// Package devissuer is the CoreWeave emulator's built-in development OIDC issuer.
//
// It publishes OIDC discovery and a JWKS so that the emulator (and any relying party
// such as github.com/coreos/go-oidc) can verify the tokens it mints, and it mints
// projected-service-account-like JWTs for `cwcreds dev emulator` and for tests. It
// has no login: the authorization and token endpoints answer 501.
//
// It is for development and tests only. Its POST <issuer>/mint route is
// unauthenticated, which is acceptable only because the emulator binds a loopback
// address; the route also refuses non-loopback peers unless
// Config.InsecureAllowRemoteMint is set.
package devissuer

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
)

// Config configures an Issuer.
type Config struct {
	// IssuerURL is the absolute http(s) URL where Handler is served, without a
	// trailing slash, e.g. "http://127.0.0.1:9900/dev-oidc". It is the `iss` of every
	// token and the prefix of every route.
	IssuerURL string
	// Clock stamps iat/nbf/exp. Nil means the real clock.
	Clock clockwork.Clock
	// Key is the signing key: RSA (2048+ bits, RS256), ECDSA P-256/384/521
	// (ES256/384/512) or Ed25519 (EdDSA). Nil means a fresh RSA-2048 key.
	Key crypto.Signer
	// Logger records mints and rotations (never tokens). Nil means no logging.
	Logger *zap.Logger
	// InsecureAllowRemoteMint lets POST <issuer>/mint answer peers that are not on a
	// loopback address. Anyone who can reach the route can then mint tokens the
	// emulator trusts: never set it on a listener reachable from other machines.
	InsecureAllowRemoteMint bool
}

// Issuer mints and publishes keys for development OIDC tokens. It is safe for
// concurrent use.
type Issuer struct {
	url         string
	routePrefix string // the URL path of the issuer, "" for a host-root issuer
	clock       clockwork.Clock
	log         *zap.Logger
	allowRemote bool

	mu      sync.RWMutex
	current *signingKey
	retired []*signingKey // newest first; still published so earlier tokens verify
	forged  crypto.Signer // made on first MintForged; never published
}

// New checks cfg and returns an Issuer.
func New(cfg Config) (*Issuer, error) {
	prefix, err := parseIssuerURL(cfg.IssuerURL)
	if err != nil {
		return nil, err
	}
	priv := cfg.Key
	if priv == nil {
		k, err := rsa.GenerateKey(rand.Reader, minRSABits)
		if err != nil {
			return nil, fmt.Errorf("could not generate the issuer key: %w", err)
		}
		priv = k
	}
	key, err := newSigningKey(priv)
	if err != nil {
		return nil, fmt.Errorf("invalid issuer key: %w", err)
	}
	i := &Issuer{
		url:         cfg.IssuerURL,
		routePrefix: prefix,
		clock:       cfg.Clock,
		log:         cfg.Logger,
		allowRemote: cfg.InsecureAllowRemoteMint,
		current:     key,
	}
	if i.clock == nil {
		i.clock = clockwork.NewRealClock()
	}
	if i.log == nil {
		i.log = zap.NewNop()
	}
	return i, nil
}

// parseIssuerURL validates the issuer URL and returns its path, the route prefix.
func parseIssuerURL(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("issuer url is empty; set it to where the handler is served, e.g. http://127.0.0.1:9900/dev-oidc")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("issuer url %q does not parse: %w", raw, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("issuer url %q must use http or https", raw)
	case u.Host == "":
		return "", fmt.Errorf("issuer url %q has no host", raw)
	case u.User != nil, u.RawQuery != "", u.ForceQuery, u.Fragment != "", u.Opaque != "":
		return "", fmt.Errorf("issuer url %q must not have user info, a query or a fragment", raw)
	case strings.HasSuffix(u.Path, "/"):
		return "", fmt.Errorf("issuer url %q must not end with '/'; remove it", raw)
	case u.Path != "" && path.Clean(u.Path) != u.Path:
		return "", fmt.Errorf("issuer url %q has an unclean path; use %q", raw, path.Clean(u.Path))
	case strings.ContainsAny(u.Path, "{}"):
		return "", fmt.Errorf("issuer url %q must not contain '{' or '}' in its path", raw)
	}
	return u.Path, nil
}

// URL returns the issuer URL, the `iss` of every token.
func (i *Issuer) URL() string { return i.url }

// KeyID returns the kid of the current signing key.
func (i *Issuer) KeyID() string {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return i.current.kid
}

// RotateKey replaces the signing key with a fresh one of the same kind. The old
// public key stays in the JWKS so tokens it signed keep verifying until they expire.
func (i *Issuer) RotateKey() error {
	i.mu.RLock()
	pub := i.current.priv.Public()
	i.mu.RUnlock()
	// Key generation is slow (RSA); do it outside the lock.
	priv, err := generateLike(pub)
	if err != nil {
		return fmt.Errorf("could not generate a new issuer key: %w", err)
	}
	key, err := newSigningKey(priv)
	if err != nil {
		return fmt.Errorf("could not use the new issuer key: %w", err)
	}
	i.mu.Lock()
	old := i.current
	i.retired = append([]*signingKey{old}, i.retired...)
	i.current = key
	i.mu.Unlock()
	i.log.Info("dev issuer rotated its signing key", zap.String("old_kid", old.kid), zap.String("new_kid", key.kid))
	return nil
}

// publicKeys returns the published keys, current first.
func (i *Issuer) publicKeys() []jose.JSONWebKey {
	i.mu.RLock()
	defer i.mu.RUnlock()
	keys := make([]jose.JSONWebKey, 0, 1+len(i.retired))
	keys = append(keys, i.current.public)
	for _, k := range i.retired {
		keys = append(keys, k.public)
	}
	return keys
}

// algorithms lists the distinct algorithms of the published keys, for discovery.
func (i *Issuer) algorithms() []string {
	var algs []string
	for _, k := range i.publicKeys() {
		if !slices.Contains(algs, k.Algorithm) {
			algs = append(algs, k.Algorithm)
		}
	}
	return algs
}
