package emulator

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// oidcTrust verifies OIDC tokens from the issuers the org trusts, the way the
// federation exchange does: discovery, JWKS signature, iss, aud, exp, iat.
type oidcTrust struct {
	clock  clockwork.Clock
	log    *zap.Logger
	client func(issuer string) *http.Client

	mu        sync.Mutex
	audiences map[string][]string // issuer → accepted audiences
	verifiers map[string]*oidc.IDTokenVerifier
}

func newOIDCTrust(clock clockwork.Clock, log *zap.Logger, client func(issuer string) *http.Client) *oidcTrust {
	return &oidcTrust{
		clock:     clock,
		log:       log,
		client:    client,
		audiences: map[string][]string{},
		verifiers: map[string]*oidc.IDTokenVerifier{},
	}
}

func (t *oidcTrust) audiencesOf(issuer string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.audiences[issuer])
}

func (t *oidcTrust) trust(issuer string, audiences []string) {
	if len(audiences) == 0 {
		audiences = []string{cwobject.RecommendedAudience}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.audiences[issuer] = slices.Clone(audiences)
}

func (t *oidcTrust) untrust(issuer string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.audiences, issuer)
	delete(t.verifiers, issuer)
}

// unverifiedIssuer reads `iss` from a JWT without checking it, only to choose the
// issuer whose keys will check it.
func unverifiedIssuer(raw string) (string, bool) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", false
	}
	var claims struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Iss == "" {
		return "", false
	}
	return claims.Iss, true
}

// clip shortens an untrusted value before it is echoed in an error.
func clip(s string) string {
	const limit = 200
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "…"
}

func (t *oidcTrust) verifier(ctx context.Context, issuer string) (*oidc.IDTokenVerifier, error) {
	t.mu.Lock()
	v := t.verifiers[issuer]
	t.mu.Unlock()
	if v != nil {
		return v, nil
	}
	// Discovery runs outside the lock; two concurrent first calls both discover.
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, t.client(issuer)), issuer)
	if err != nil {
		return nil, err
	}
	v = provider.Verifier(&oidc.Config{
		SkipClientIDCheck: true, // the org may accept several audiences: checked below
		Now:               t.clock.Now,
	})
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, still := t.audiences[issuer]; still {
		t.verifiers[issuer] = v
	}
	return v, nil
}

// verify checks raw and returns the principal role/<iss>:<sub>. Its errors name
// the reason and never the token.
func (t *oidcTrust) verify(ctx context.Context, raw string) (string, *apiError) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", unauthenticated("no OIDC token: send the identity provider's JWT")
	}
	iss, ok := unverifiedIssuer(raw)
	if !ok {
		return "", unauthenticated("malformed OIDC token: not a JWT with an iss claim")
	}
	t.mu.Lock()
	auds, trusted := t.audiences[iss]
	t.mu.Unlock()
	if !trusted {
		return "", unauthenticated("untrusted issuer %q: register it in Workload Federation", clip(iss))
	}
	v, err := t.verifier(ctx, iss)
	if err != nil {
		t.log.Warn("oidc discovery failed", zap.String("issuer", iss), zap.Error(err))
		return "", unauthenticated("cannot verify OIDC token: discovery for issuer %q failed", iss)
	}
	tok, err := v.Verify(ctx, raw)
	if err != nil {
		return "", classifyOIDCError(err)
	}
	if !slices.ContainsFunc(tok.Audience, func(a string) bool { return slices.Contains(auds, a) }) {
		return "", unauthenticated("wrong audience %q: the organisation accepts %q", tok.Audience, auds)
	}
	if tok.IssuedAt.IsZero() {
		return "", unauthenticated("OIDC token has no iat claim")
	}
	if tok.IssuedAt.After(t.clock.Now().Add(cwobject.OIDCIssuedAtSkew)) {
		return "", unauthenticated("OIDC token issued in the future (iat %s): check the issuer's clock", tok.IssuedAt.UTC().Format("2006-01-02T15:04:05Z"))
	}
	if tok.Subject == "" {
		return "", unauthenticated("OIDC token has no sub claim")
	}
	return cwobject.PrincipalPrefixOIDC + tok.Issuer + ":" + tok.Subject, nil
}

func classifyOIDCError(err error) *apiError {
	var expired *oidc.TokenExpiredError
	msg := err.Error()
	switch {
	case errors.As(err, &expired):
		return unauthenticated("OIDC token expired at %s: get a fresh token", expired.Expiry.UTC().Format("2006-01-02T15:04:05Z"))
	case strings.Contains(msg, "failed to verify signature"):
		return unauthenticated("bad signature: the OIDC token is not signed by a key of its issuer")
	case strings.Contains(msg, "malformed jwt"), strings.Contains(msg, "unmarshal claims"):
		return unauthenticated("malformed OIDC token")
	case strings.Contains(msg, "not signed"), strings.Contains(msg, "multiple signatures"):
		return unauthenticated("bad signature: the OIDC token must carry exactly one signature")
	case strings.Contains(msg, "different provider"):
		return unauthenticated("untrusted issuer: the token's iss does not match its issuer")
	case strings.Contains(msg, "nbf"):
		return unauthenticated("OIDC token not valid yet (nbf)")
	}
	return unauthenticated("invalid OIDC token")
}

// handlerTransport serves HTTP requests in process, so that the emulator can
// discover its own dev issuer whatever address (if any) it listens on.
type handlerTransport struct {
	handler func() http.Handler
}

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		defer r.Body.Close()
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	t.handler().ServeHTTP(rec, r)
	return &http.Response{
		Status:        http.StatusText(rec.status),
		StatusCode:    rec.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rec.header,
		Body:          io.NopCloser(bytes.NewReader(rec.body.Bytes())),
		ContentLength: int64(rec.body.Len()),
		Request:       r,
	}, nil
}

// recorder is a minimal in-memory http.ResponseWriter.
type recorder struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = status, true
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}
