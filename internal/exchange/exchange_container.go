package exchange

import (
	"context"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// ContainerCredsExchangeConfig configures a ContainerCredsExchange.
type ContainerCredsExchangeConfig struct {
	Client *cwobject.Client // required
	Source TokenSource      // required: yields an OIDC JWT
	OrgID  string           // required
	Clock  clockwork.Clock  // default the real clock
}

// ContainerCredsExchange trades an OIDC JWT for keys with the container-credentials
// GET (CreateAccessKeyFromContainerCreds). Its keys have a fixed 15-minute
// lifetime, which makes AWS SDKs refetch often: prefer OIDCExchange where the
// lifetime matters. The answer does not name the principal; it is derived from the
// token's iss and sub as role/<iss>:<sub>.
type ContainerCredsExchange struct {
	client *cwobject.Client
	src    TokenSource
	orgID  string
	clock  clockwork.Clock
	op     string
}

// NewContainerCredsExchange checks cfg and returns the exchange.
func NewContainerCredsExchange(cfg ContainerCredsExchangeConfig) (*ContainerCredsExchange, error) {
	if err := need(cfg.Client != nil, "an API client"); err != nil {
		return nil, err
	}
	if err := need(cfg.Source != nil, "an identity source"); err != nil {
		return nil, err
	}
	if err := need(cfg.OrgID != "", "the organization id (org_id)"); err != nil {
		return nil, err
	}
	return &ContainerCredsExchange{
		client: cfg.Client,
		src:    cfg.Source,
		orgID:  cfg.OrgID,
		clock:  orReal(cfg.Clock),
		op:     "could not exchange " + describe(cfg.Source, "the identity token") + " for container credentials",
	}, nil
}

// Fetch reads the token from the source and exchanges it.
func (x *ContainerCredsExchange) Fetch(ctx context.Context) (creds.Credentials, error) {
	tok, err := x.src.Token(ctx)
	if err != nil {
		return creds.Credentials{}, sourceErr(err)
	}
	start := x.clock.Now()
	cc, err := x.client.CreateAccessKeyFromContainerCreds(ctx, x.orgID, tok)
	if err != nil {
		return creds.Credentials{}, wrap(x.op, err)
	}
	return fromContainerCreds(cc, start, oidcPrincipal(tok, start)), nil
}

// InputFingerprint is the source's fingerprint, or ErrNoFingerprint.
func (x *ContainerCredsExchange) InputFingerprint() (string, error) {
	return sourceFingerprint(x.src)
}

func fromContainerCreds(cc *cwobject.ContainerCredentials, start time.Time, principal string) creds.Credentials {
	return creds.Credentials{
		AccessKeyID:     cc.AccessKeyID,
		SecretAccessKey: cc.SecretAccessKey,
		SessionToken:    cc.Token,
		Expiration:      expiration(cc.Expiration, start, cwobject.ContainerCredsLifetime),
		Principal:       principal,
	}
}
