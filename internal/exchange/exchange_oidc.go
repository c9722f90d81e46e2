package exchange

import (
	"context"
	"errors"
	"maps"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// OIDCExchangeConfig configures an OIDCExchange.
type OIDCExchangeConfig struct {
	Client *cwobject.Client // required; no API token needed
	Source TokenSource      // required: yields an OIDC JWT (token file, refresh, command)
	OrgID  string           // required
	// Lifetime of the keys, default keypolicy.DefaultLifetime (1h), between keypolicy.MinRequestLifetime and 12h.
	Lifetime   time.Duration
	Attributes map[string]string
	Clock      clockwork.Clock // default the real clock
}

// OIDCExchange trades an OIDC JWT for keys with CreateAccessKeyFromOIDC (POST). It
// satisfies internal/cache's Fetcher and InputFingerprinter.
type OIDCExchange struct {
	client   *cwobject.Client
	src      TokenSource
	orgID    string
	lifetime time.Duration
	attrs    map[string]string
	clock    clockwork.Clock
	op       string
}

// NewOIDCExchange checks cfg and returns the exchange.
func NewOIDCExchange(cfg OIDCExchangeConfig) (*OIDCExchange, error) {
	if err := need(cfg.Client != nil, "an API client"); err != nil {
		return nil, err
	}
	if err := need(cfg.Source != nil, "an identity source"); err != nil {
		return nil, err
	}
	if err := need(cfg.OrgID != "", "the organization id (org_id)"); err != nil {
		return nil, err
	}
	lt, err := checkLifetime(cfg.Lifetime)
	if err != nil {
		return nil, err
	}
	return &OIDCExchange{
		client:   cfg.Client,
		src:      cfg.Source,
		orgID:    cfg.OrgID,
		lifetime: lt,
		attrs:    maps.Clone(cfg.Attributes),
		clock:    orReal(cfg.Clock),
		op:       "could not exchange " + describe(cfg.Source, "the identity token") + " for keys",
	}, nil
}

// Fetch reads the token from the source and exchanges it.
func (x *OIDCExchange) Fetch(ctx context.Context) (creds.Credentials, error) {
	tok, err := x.src.Token(ctx)
	if err != nil {
		return creds.Credentials{}, sourceErr(err)
	}
	start := x.clock.Now()
	key, err := x.client.CreateAccessKeyFromOIDC(ctx, cwobject.CreateAccessKeyFromOIDCRequest{
		DurationSeconds: int64(x.lifetime / time.Second),
		OrgID:           x.orgID,
		OIDCToken:       tok,
		Attributes:      x.attrs,
	})
	if err != nil {
		return creds.Credentials{}, wrap(x.op, err)
	}
	principal := key.PrincipalName
	if principal == "" {
		principal = oidcPrincipal(tok, start)
	}
	return creds.Credentials{
		AccessKeyID:     key.AccessKeyID,
		SecretAccessKey: key.SecretKey,
		Expiration:      expiration(key.Expiry, start, x.lifetime),
		Principal:       principal,
	}, nil
}

// InputFingerprint is the source's fingerprint, or ErrNoFingerprint.
func (x *OIDCExchange) InputFingerprint() (string, error) { return sourceFingerprint(x.src) }

// oidcPrincipal derives role/<iss>:<sub> from the token's (unverified) claims, for
// answers that do not name the principal; "" when the claims are missing.
func oidcPrincipal(tok string, now time.Time) string {
	c, err := CheckJWT(tok, now)
	if (err != nil && !errors.Is(err, ErrExpired)) || c.Issuer == "" || c.Subject == "" {
		return ""
	}
	return cwobject.PrincipalPrefixOIDC + c.Issuer + ":" + c.Subject
}

func orReal(c clockwork.Clock) clockwork.Clock {
	if c == nil {
		return clockwork.NewRealClock()
	}
	return c
}

func need(ok bool, what string) error {
	if ok {
		return nil
	}
	return errors.New("exchange: " + what + " is required")
}
