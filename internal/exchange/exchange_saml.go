package exchange

import (
	"context"
	"maps"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// SAMLExchangeConfig configures a SAMLExchange.
type SAMLExchangeConfig struct {
	Client *cwobject.Client // required; no API token needed
	Source TokenSource      // required: yields a base64 SAML <Response> (SAMLFile)
	OrgID  string           // required
	// ConfigID is the organisation's SAML configuration id (Workload Federation); required.
	ConfigID   string
	Lifetime   time.Duration // default keypolicy.DefaultLifetime (1h), between keypolicy.MinRequestLifetime and 12h
	Attributes map[string]string
	Clock      clockwork.Clock
}

// SAMLExchange trades a SAML response for keys with CreateAccessKeyFromSAML (POST).
// A response can be used once: the server refuses a replayed assertion
// (Unauthenticated, so the cache waits for a new response).
type SAMLExchange struct {
	client   *cwobject.Client
	src      TokenSource
	orgID    string
	configID string
	lifetime time.Duration
	attrs    map[string]string
	clock    clockwork.Clock
	op       string
}

// NewSAMLExchange checks cfg and returns the exchange.
func NewSAMLExchange(cfg SAMLExchangeConfig) (*SAMLExchange, error) {
	if err := need(cfg.Client != nil, "an API client"); err != nil {
		return nil, err
	}
	if err := need(cfg.Source != nil, "a SAML response source"); err != nil {
		return nil, err
	}
	if err := need(cfg.OrgID != "", "the organization id (org_id)"); err != nil {
		return nil, err
	}
	if err := need(cfg.ConfigID != "", "the SAML config id (shown in Workload Federation)"); err != nil {
		return nil, err
	}
	lt, err := checkLifetime(cfg.Lifetime)
	if err != nil {
		return nil, err
	}
	return &SAMLExchange{
		client:   cfg.Client,
		src:      cfg.Source,
		orgID:    cfg.OrgID,
		configID: cfg.ConfigID,
		lifetime: lt,
		attrs:    maps.Clone(cfg.Attributes),
		clock:    orReal(cfg.Clock),
		op:       "could not exchange " + describe(cfg.Source, "the SAML response") + " for keys",
	}, nil
}

// Fetch reads the response from the source and exchanges it.
func (x *SAMLExchange) Fetch(ctx context.Context) (creds.Credentials, error) {
	resp, err := x.src.Token(ctx)
	if err != nil {
		return creds.Credentials{}, sourceErr(err)
	}
	start := x.clock.Now()
	key, err := x.client.CreateAccessKeyFromSAML(ctx, cwobject.CreateAccessKeyFromSAMLRequest{
		DurationSeconds: int64(x.lifetime / time.Second),
		OrgID:           x.orgID,
		SAMLResponse:    resp,
		Attributes:      x.attrs,
		ConfigID:        x.configID,
	})
	if err != nil {
		return creds.Credentials{}, wrap(x.op, err)
	}
	return fromAccessKey(key, start, x.lifetime), nil
}

// InputFingerprint is the source's fingerprint, or ErrNoFingerprint.
func (x *SAMLExchange) InputFingerprint() (string, error) { return sourceFingerprint(x.src) }

func fromAccessKey(key *cwobject.AccessKey, start time.Time, lifetime time.Duration) creds.Credentials {
	return creds.Credentials{
		AccessKeyID:     key.AccessKeyID,
		SecretAccessKey: key.SecretKey,
		Expiration:      expiration(key.Expiry, start, lifetime),
		Principal:       key.PrincipalName,
	}
}
