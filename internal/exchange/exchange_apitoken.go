package exchange

import (
	"context"
	"maps"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// APITokenExchangeConfig configures an APITokenExchange.
type APITokenExchangeConfig struct {
	Client *cwobject.Client // required; its own token is replaced by the source's
	Source TokenSource      // required: yields a CoreWeave API token (APIToken)
	// Lifetime of the keys, default keypolicy.DefaultLifetime (1h), between keypolicy.MinRequestLifetime and
	// 12h. Never 0: the API would mint a permanent key.
	Lifetime   time.Duration
	Attributes map[string]string
	Clock      clockwork.Clock
}

// APITokenExchange mints keys for an API token's principal with
// CreateAccessKeyFromJWT (POST) and a bounded lifetime.
type APITokenExchange struct {
	client   *cwobject.Client
	src      TokenSource
	lifetime time.Duration
	attrs    map[string]string
	clock    clockwork.Clock
	op       string
}

// NewAPITokenExchange checks cfg and returns the exchange.
func NewAPITokenExchange(cfg APITokenExchangeConfig) (*APITokenExchange, error) {
	if err := need(cfg.Client != nil, "an API client"); err != nil {
		return nil, err
	}
	if err := need(cfg.Source != nil, "an API token source"); err != nil {
		return nil, err
	}
	lt, err := checkLifetime(cfg.Lifetime)
	if err != nil {
		return nil, err
	}
	return &APITokenExchange{
		client:   cfg.Client,
		src:      cfg.Source,
		lifetime: lt,
		attrs:    maps.Clone(cfg.Attributes),
		clock:    orReal(cfg.Clock),
		op:       "could not mint keys with " + describe(cfg.Source, "the API token"),
	}, nil
}

// Fetch reads the API token and mints keys with it.
func (x *APITokenExchange) Fetch(ctx context.Context) (creds.Credentials, error) {
	tok, err := x.src.Token(ctx)
	if err != nil {
		return creds.Credentials{}, sourceErr(err)
	}
	start := x.clock.Now()
	key, err := x.client.WithToken(tok).CreateAccessKeyFromJWT(ctx, cwobject.CreateAccessKeyFromJWTRequest{
		DurationSeconds: int64(x.lifetime / time.Second),
		Attributes:      x.attrs,
	})
	if err != nil {
		return creds.Credentials{}, wrap(x.op, err)
	}
	return fromAccessKey(key, start, x.lifetime), nil
}

// InputFingerprint is the source's fingerprint, or ErrNoFingerprint.
func (x *APITokenExchange) InputFingerprint() (string, error) { return sourceFingerprint(x.src) }

// APITokenCredsExchangeConfig configures an APITokenCredsExchange.
type APITokenCredsExchangeConfig struct {
	Client *cwobject.Client // required; its own token is replaced by the source's
	Source TokenSource      // required: yields a CoreWeave API token
	Clock  clockwork.Clock
}

// APITokenCredsExchange trades an API token for keys with the container-credentials
// style GET (CreateAccessKeyFromApiToken): fixed 15-minute keys, no principal in
// the answer (Principal is left empty).
type APITokenCredsExchange struct {
	client *cwobject.Client
	src    TokenSource
	clock  clockwork.Clock
	op     string
}

// NewAPITokenCredsExchange checks cfg and returns the exchange.
func NewAPITokenCredsExchange(cfg APITokenCredsExchangeConfig) (*APITokenCredsExchange, error) {
	if err := need(cfg.Client != nil, "an API client"); err != nil {
		return nil, err
	}
	if err := need(cfg.Source != nil, "an API token source"); err != nil {
		return nil, err
	}
	return &APITokenCredsExchange{
		client: cfg.Client,
		src:    cfg.Source,
		clock:  orReal(cfg.Clock),
		op:     "could not exchange " + describe(cfg.Source, "the API token") + " for container credentials",
	}, nil
}

// Fetch reads the API token and exchanges it.
func (x *APITokenCredsExchange) Fetch(ctx context.Context) (creds.Credentials, error) {
	tok, err := x.src.Token(ctx)
	if err != nil {
		return creds.Credentials{}, sourceErr(err)
	}
	start := x.clock.Now()
	cc, err := x.client.WithToken(tok).CreateAccessKeyFromApiToken(ctx)
	if err != nil {
		return creds.Credentials{}, wrap(x.op, err)
	}
	return fromContainerCreds(cc, start, ""), nil
}

// InputFingerprint is the source's fingerprint, or ErrNoFingerprint.
func (x *APITokenCredsExchange) InputFingerprint() (string, error) {
	return sourceFingerprint(x.src)
}
