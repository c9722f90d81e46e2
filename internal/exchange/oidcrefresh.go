package exchange

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
	"golang.org/x/oauth2"

	"github.com/cwcreds/cwcreds/internal/redact"
)

// OIDCRefresh turns a stored OIDC refresh token into a fresh ID token: a
// refresh_token grant with golang.org/x/oauth2 at the issuer's token endpoint
// (found by discovery), then verification of the ID token with
// github.com/coreos/go-oidc (signature by the issuer's JWKS, iss, aud = ClientID,
// exp by Clock). A rotated refresh token returned by the issuer is saved back to
// Store. This is what makes silent refresh work after an interactive login.
//
// Use it through a pointer; calls are serialized, so one refresh token is never
// sent twice at once (issuers that detect reuse would revoke it).
type OIDCRefresh struct {
	Issuer       string
	ClientID     string
	ClientSecret string // empty for public clients
	// Scopes sent with the refresh; "openid" is always included.
	Scopes []string
	// AuthStyle says how the client authenticates at the token endpoint; the zero
	// value auto-detects.
	AuthStyle oauth2.AuthStyle
	// Store holds the refresh token; required.
	Store RefreshTokenStore
	// HTTPClient makes the discovery, token and JWKS requests (see NewHTTPClient
	// for proxies and CA bundles); default http.DefaultClient.
	HTTPClient *http.Client
	// Clock checks the ID token's expiry, default the real clock.
	Clock  clockwork.Clock
	Logger *zap.Logger

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
	conf     *oauth2.Config
	unsaved  string // a rotated refresh token that Store refused to save
}

// Describe names what the source yields.
func (s *OIDCRefresh) Describe() string { return "the ID token refreshed from " + s.Issuer }

// Token refreshes and returns a verified ID token.
func (s *OIDCRefresh) Token(ctx context.Context) (string, error) {
	if s.Issuer == "" || s.ClientID == "" || s.Store == nil {
		return "", identityErr("the OIDC refresh is not configured", errors.New("set the issuer, the client id and where the login is stored"))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, err := s.refreshToken()
	if err != nil {
		return "", err
	}
	ctx = oidc.ClientContext(ctx, s.httpClient())
	ctx = context.WithValue(ctx, oauth2.HTTPClient, s.httpClient())
	if err := s.discover(ctx, rt); err != nil {
		return "", err
	}
	// An oauth2.Token with only a refresh token is never valid, so TokenSource
	// refreshes at once.
	t, err := s.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rt, Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		return "", s.refreshErr(err, rt)
	}
	raw, _ := t.Extra("id_token").(string)
	if raw == "" {
		return "", identityErr("the identity provider "+s.Issuer+" returned no ID token on refresh",
			errors.New("make sure the client is allowed the openid scope"))
	}
	if _, err := s.verifier.Verify(ctx, raw); err != nil {
		return "", s.verifyErr(err, raw)
	}
	if _, err := CheckJWT(raw, s.clock().Now()); err != nil {
		return "", identityErr("the ID token from "+s.Issuer+" is not usable", fmt.Errorf("%w; check this machine's clock", err))
	}
	if t.RefreshToken != "" && t.RefreshToken != rt {
		s.save(t.RefreshToken)
	}
	return raw, nil
}

// InputFingerprint is the sha256 of the stored refresh token, so a new login counts
// as a change.
func (s *OIDCRefresh) InputFingerprint() (string, error) {
	if s.Store == nil {
		return "unconfigured", nil
	}
	rt, err := s.Store.Load()
	if err != nil {
		if errors.Is(err, ErrNoRefreshToken) {
			return "missing", nil
		}
		return "unreadable", nil
	}
	return fingerprint([]byte(rt)), nil
}

func (s *OIDCRefresh) refreshToken() (string, error) {
	if s.unsaved != "" {
		return s.unsaved, nil
	}
	rt, err := s.Store.Load()
	switch {
	case errors.Is(err, ErrNoRefreshToken):
		return "", identityErr("no OIDC login is stored", fmt.Errorf("%w; run `cwcreds login` for this profile", err))
	case err != nil:
		return "", identityErr("could not read the stored OIDC login", err)
	}
	return rt, nil
}

func (s *OIDCRefresh) save(rt string) {
	if err := s.Store.Save(rt); err != nil {
		s.unsaved = rt
		s.logger().Warn("could not save the rotated refresh token; keeping it in memory only, so the next run may need a new login",
			zap.String("issuer", s.Issuer), zap.Error(err))
		return
	}
	s.unsaved = ""
}

// discover fetches the issuer's metadata once; a failure is retried next time.
func (s *OIDCRefresh) discover(ctx context.Context, rt string) error {
	if s.verifier != nil {
		return nil
	}
	p, err := oidc.NewProvider(ctx, s.Issuer)
	if err != nil {
		return transientErr("could not discover the OIDC issuer "+s.Issuer,
			fmt.Errorf("%s; check the issuer URL and the network (proxy, CA bundle)", redact.Text(err.Error(), []string{rt, s.ClientSecret}, 300)))
	}
	scopes := slices.Clone(s.Scopes)
	if !slices.Contains(scopes, oidc.ScopeOpenID) {
		scopes = append([]string{oidc.ScopeOpenID}, scopes...)
	}
	ep := p.Endpoint()
	if s.AuthStyle != oauth2.AuthStyleAutoDetect {
		ep.AuthStyle = s.AuthStyle
	}
	s.conf = &oauth2.Config{ClientID: s.ClientID, ClientSecret: s.ClientSecret, Endpoint: ep, Scopes: scopes}
	s.verifier = p.Verifier(&oidc.Config{ClientID: s.ClientID, Now: s.clock().Now})
	return nil
}

// refreshErr classifies a failed refresh: the issuer refusing the grant or the
// client is unrecoverable (log in again); network trouble, 429 and 5xx are not.
// The message holds the issuer's error code and description, never the tokens.
func (s *OIDCRefresh) refreshErr(err error, rt string) error {
	op := "could not refresh the OIDC login at " + s.Issuer
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return transientErr(op, errors.New(redact.Text(err.Error(), []string{rt, s.ClientSecret}, 300)))
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	what := fmt.Sprintf("HTTP %d", status)
	if re.ErrorCode != "" {
		what += " " + redact.Text(re.ErrorCode, nil, 64)
	}
	if re.ErrorDescription != "" {
		what += ": " + redact.Text(re.ErrorDescription, []string{rt, s.ClientSecret}, 200)
	}
	switch re.ErrorCode {
	case "invalid_grant":
		return identityErr(op, fmt.Errorf("the identity provider refused the stored refresh token (%s): it expired or was revoked; run `cwcreds login` again", what))
	case "invalid_client", "unauthorized_client":
		return identityErr(op, fmt.Errorf("the identity provider refused the client (%s): check the client id and secret", what))
	case "invalid_scope":
		return identityErr(op, fmt.Errorf("the identity provider refused the scopes (%s): check the configured scopes", what))
	case "invalid_request", "unsupported_grant_type":
		return identityErr(op, fmt.Errorf("the identity provider refused the refresh (%s); check the client settings, or run `cwcreds login` again", what))
	}
	if status == http.StatusTooManyRequests || status >= 500 || status == 0 {
		return transientErr(op, fmt.Errorf("the identity provider failed (%s); retrying later", what))
	}
	return identityErr(op, fmt.Errorf("the identity provider refused the refresh (%s); run `cwcreds login` again", what))
}

// verifyErr classifies a failed ID-token verification: a JWKS that could not be
// fetched is transient; a token that does not verify is not.
func (s *OIDCRefresh) verifyErr(err error, raw string) error {
	op := "the ID token from " + s.Issuer + " does not verify"
	var ue *url.Error
	var ne net.Error
	var expired *oidc.TokenExpiredError
	msg := redact.Text(err.Error(), []string{raw}, 300)
	switch {
	// go-oidc reports a failed JWKS fetch as "fetching keys …", not always wrapped.
	case errors.As(err, &ue), errors.As(err, &ne), strings.Contains(msg, "fetching keys"):
		return transientErr("could not fetch the signing keys of "+s.Issuer, errors.New(msg))
	case errors.As(err, &expired):
		return identityErr(op, fmt.Errorf("it expired at %s by this machine's clock (%s): check the clock", stamp(expired.Expiry), stamp(s.clock().Now())))
	}
	return identityErr(op, fmt.Errorf("%s; check the issuer and client id", msg))
}

func (s *OIDCRefresh) httpClient() *http.Client {
	if s.HTTPClient == nil {
		return http.DefaultClient
	}
	return s.HTTPClient
}

func (s *OIDCRefresh) clock() clockwork.Clock { return orReal(s.Clock) }

func (s *OIDCRefresh) logger() *zap.Logger {
	if s.Logger == nil {
		return zap.NewNop()
	}
	return s.Logger
}
