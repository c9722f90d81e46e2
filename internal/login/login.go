// Package login holds laptop SSO as use cases: the OIDC authorization-code login
// with PKCE on a loopback redirect (AuthCode), the OIDC device-code login
// (Device), and the browser opener they use. It returns the tokens to the caller
// and knows nothing of the CLI, of where the tokens are stored or of access keys.
//
// Secrets — the ID token, the refresh token, the authorization code, the PKCE
// verifier, state and nonce — are never logged, and no error this package
// returns contains one.
package login

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/oauth2"

	"github.com/cwcreds/cwcreds/internal/redact"
)

// DefaultTimeout is the login timeout the issue asks for (`--timeout`, default
// 5 min). This package does not apply it: callers pass a ctx with a deadline.
const DefaultTimeout = 5 * time.Minute

// Errors a login can end with; test with errors.Is. Each returned error is one
// line that says what happened and what to do.
var (
	// ErrTimeout: the caller's deadline passed before the login finished.
	ErrTimeout = errors.New("the login timed out")
	// ErrCanceled: the caller canceled the login.
	ErrCanceled = errors.New("the login was canceled")
	// ErrStateMismatch: the redirect carried another login's state (a stale tab,
	// or a forged request); nothing was exchanged.
	ErrStateMismatch = errors.New("the login answer does not belong to this login (state mismatch)")
	// ErrNonceMismatch: the ID token was not issued for this login.
	ErrNonceMismatch = errors.New("the ID token was not issued for this login (nonce mismatch)")
	// ErrInvalidIDToken: the ID token does not verify (issuer, audience, expiry,
	// signature) or is missing.
	ErrInvalidIDToken = errors.New("the identity provider's ID token is not valid")
	// ErrDenied: the user or the identity provider refused the login.
	ErrDenied = errors.New("the login was denied")
	// ErrExpired: the device code expired before the user approved it.
	ErrExpired = errors.New("the device code expired")
	// ErrProvider: the identity provider failed or refused a request.
	ErrProvider = errors.New("the identity provider refused the login")
)

// Config names the identity provider and the client. Issuer and ClientID are
// required.
type Config struct {
	Issuer       string
	ClientID     string
	ClientSecret string // empty for a public client (the usual case for a CLI)
	// Scopes to ask for; default openid and offline_access (for a refresh token).
	// openid is always included.
	Scopes []string
	// HTTPClient makes every request to the identity provider; default
	// http.DefaultClient. Use it for proxies and CA bundles.
	HTTPClient *http.Client
	// Clock checks the ID token's expiry; default the real clock.
	Clock clockwork.Clock
	// Logger gets progress at debug level, never a secret; default none.
	Logger *zap.Logger
}

// Tokens is the result of a login. Its String, GoString and zap rendering hide
// the tokens, so printing or logging one by mistake leaks nothing.
type Tokens struct {
	// IDToken is the raw, verified ID token: the input of CreateAccessKeyFromOIDC.
	IDToken string
	// RefreshToken is empty when the provider issued none (no offline_access).
	RefreshToken string
	// Expiry is the ID token's exp.
	Expiry time.Time
	// Subject and Issuer of the ID token.
	Subject string
	Issuer  string
}

// String describes t without its tokens.
func (t Tokens) String() string {
	return fmt.Sprintf("login.Tokens{issuer: %q, subject: %q, expiry: %s, id token: [redacted], refresh token: %s}",
		t.Issuer, t.Subject, t.Expiry.UTC().Format(time.RFC3339), present(t.RefreshToken))
}

// GoString is String, for %#v.
func (t Tokens) GoString() string { return t.String() }

// MarshalLogObject renders t for zap without its tokens.
func (t Tokens) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	enc.AddString("issuer", t.Issuer)
	enc.AddString("subject", t.Subject)
	enc.AddTime("expiry", t.Expiry)
	enc.AddString("refreshToken", present(t.RefreshToken))
	return nil
}

func present(s string) string {
	if s == "" {
		return "none"
	}
	return "[redacted]"
}

func (c Config) clock() clockwork.Clock {
	if c.Clock == nil {
		return clockwork.NewRealClock()
	}
	return c.Clock
}

func (c Config) logger() *zap.Logger {
	if c.Logger == nil {
		return zap.NewNop()
	}
	return c.Logger
}

func (c Config) httpClient() *http.Client {
	if c.HTTPClient == nil {
		return http.DefaultClient
	}
	return c.HTTPClient
}

func (c Config) scopes() []string {
	sc := slices.Clone(c.Scopes)
	if len(sc) == 0 {
		sc = []string{oidc.ScopeOpenID, oidc.ScopeOfflineAccess}
	}
	if !slices.Contains(sc, oidc.ScopeOpenID) {
		sc = append([]string{oidc.ScopeOpenID}, sc...)
	}
	return sc
}

// provider is what discovery yields: the oauth2 config and the ID-token verifier.
type provider struct {
	cfg      Config
	conf     *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// withClient makes go-oidc and x/oauth2 use the configured HTTP client.
func (c Config) withClient(ctx context.Context) context.Context {
	ctx = oidc.ClientContext(ctx, c.httpClient())
	return context.WithValue(ctx, oauth2.HTTPClient, c.httpClient())
}

func discover(ctx context.Context, c Config) (*provider, error) {
	if c.Issuer == "" || c.ClientID == "" {
		return nil, errors.New("the OIDC login is not configured: set the issuer and the client id")
	}
	p, err := oidc.NewProvider(c.withClient(ctx), c.Issuer)
	if err != nil {
		if e := ctxErr(ctx, "discovering the identity provider"); e != nil {
			return nil, e
		}
		return nil, fmt.Errorf("could not discover the identity provider %s: %s; check the issuer URL and the network (proxy, CA bundle)",
			c.Issuer, redact.Text(err.Error(), nil, 300))
	}
	ep := p.Endpoint()
	// A public client authenticates with client_id in the body; a confidential one
	// with HTTP Basic. Never auto-detect: x/oauth2 would switch styles on the first
	// authorization_pending of a device flow and fail.
	ep.AuthStyle = oauth2.AuthStyleInParams
	if c.ClientSecret != "" {
		ep.AuthStyle = oauth2.AuthStyleInHeader
	}
	return &provider{
		cfg:      c,
		conf:     &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: ep, Scopes: c.scopes()},
		verifier: p.Verifier(&oidc.Config{ClientID: c.ClientID, Now: c.clock().Now}),
	}, nil
}

// tokens verifies the ID token of a token response (nonce checked when not
// empty) and builds the result.
func (p *provider) tokens(ctx context.Context, t *oauth2.Token, nonce string) (*Tokens, error) {
	raw, _ := t.Extra("id_token").(string)
	if raw == "" {
		return nil, fmt.Errorf("%w: the identity provider %s returned no ID token; make sure the client may use the openid scope", ErrInvalidIDToken, p.cfg.Issuer)
	}
	// go-oidc checks the signature before the issuer; name a foreign issuer first,
	// which says more than "bad signature". (iss is not a secret.)
	if iss, ok := unverifiedIssuer(raw); ok && iss != p.cfg.Issuer {
		return nil, fmt.Errorf("%w: it was issued by %q, not by the configured issuer %q; check the profile's issuer",
			ErrInvalidIDToken, redact.Text(iss, []string{raw}, 200), p.cfg.Issuer)
	}
	idt, err := p.verifier.Verify(p.cfg.withClient(ctx), raw)
	if err != nil {
		return nil, p.verifyErr(err, raw)
	}
	if nonce != "" && !equal(idt.Nonce, nonce) {
		return nil, fmt.Errorf("%w; nothing was saved, run the login again", ErrNonceMismatch)
	}
	return &Tokens{IDToken: raw, RefreshToken: t.RefreshToken, Expiry: idt.Expiry, Subject: idt.Subject, Issuer: idt.Issuer}, nil
}

func (p *provider) verifyErr(err error, raw string) error {
	var expired *oidc.TokenExpiredError
	if errors.As(err, &expired) {
		return fmt.Errorf("%w: it expired at %s by this machine's clock (now %s); check the clock",
			ErrInvalidIDToken, expired.Expiry.UTC().Format(time.RFC3339), p.cfg.clock().Now().UTC().Format(time.RFC3339))
	}
	return fmt.Errorf("%w: %s; check the issuer (%s) and the client id (%s)",
		ErrInvalidIDToken, redact.Text(err.Error(), []string{raw}, 300), p.cfg.Issuer, p.cfg.ClientID)
}

// providerErr turns a failed token or device request into one line without
// secrets: the provider's error code and description, or the transport error.
func providerErr(ctx context.Context, what string, err error, secrets ...string) error {
	if e := ctxErr(ctx, what); e != nil {
		return e
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return fmt.Errorf("%w: %s failed: %s", ErrProvider, what, redact.Text(err.Error(), secrets, 300))
	}
	msg := re.ErrorCode
	if msg == "" && re.Response != nil {
		msg = re.Response.Status
	}
	if re.ErrorDescription != "" {
		msg += ": " + re.ErrorDescription
	}
	return fmt.Errorf("%w: %s failed: %s", ErrProvider, what, redact.Text(msg, secrets, 300))
}

// ctxErr reports the caller's deadline or cancellation, or nil.
func ctxErr(ctx context.Context, what string) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%w while %s; try again, or give the login more time", ErrTimeout, what)
	case ctx.Err() != nil:
		return fmt.Errorf("%w while %s", ErrCanceled, what)
	}
	return nil
}

// unverifiedIssuer reads iss from a JWT without checking it.
func unverifiedIssuer(raw string) (string, bool) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(payload, &c) != nil || c.Iss == "" {
		return "", false
	}
	return c.Iss, true
}

func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}
