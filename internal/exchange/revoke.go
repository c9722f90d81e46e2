package exchange

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// Revoker revokes access keys through the CoreWeave API of the profile they were
// minted for. It is the one revoker: `cwcreds logout --revoke` and
// `cwcreds serve --revoke-on-exit` both use it.
//
// The API token that revokes a profile's keys is, in this one order:
//
//  1. the profile's own api_token source (its environment variable, file or OS
//     keyring entry), when the profile's identity source is an API token: that
//     token minted the keys, for that profile's endpoint. When it cannot be read,
//     revoking fails; $CW_API_TOKEN is not tried instead.
//  2. else $CW_API_TOKEN.
//
// No other profile's token is ever used: it may belong to another endpoint. The
// token is read anew at every call, so a replaced token is used at once.
type Revoker struct {
	// Getenv reads the environment, default os.Getenv.
	Getenv func(string) string
	// Keyring is the OS keyring an api_token source may name, default OSKeyring{}.
	Keyring Keyring
	// UserAgent is sent with each call, e.g. "cwcreds/<version>".
	UserAgent string
	// Clock and Logger are passed to the API client; nil means its defaults.
	Clock  clockwork.Clock
	Logger *zap.Logger
	// HTTPClient replaces the client built from the profile's proxy and CA
	// settings (tests).
	HTTPClient *http.Client
}

// Revoked is what became of one key.
type Revoked struct {
	ID string
	// Gone means the API no longer knew the key: already revoked, or expired.
	Gone bool
	// Err is why the key could not be revoked; nil when it was (or was Gone).
	Err error
}

// Token is the API token that revokes p's keys, in the order the type documents.
// Its errors never hold a token; a missing token is Unrecoverable.
func (r *Revoker) Token(ctx context.Context, p *config.Profile) (string, error) {
	if s := p.Source; s.Type == config.SourceAPIToken && s.APIToken != nil {
		tok, err := NewAPIToken(s.APIToken, r.getenv(), r.Keyring).Token(ctx)
		if err != nil {
			return "", fmt.Errorf("no API token to revoke with: profile %s: %w", p.Name, err)
		}
		return tok, nil
	}
	if tok := strings.TrimSpace(r.getenv()(DefaultAPITokenEnv)); tok != "" {
		return tok, nil
	}
	return "", identityErr("no API token to revoke with", fmt.Errorf("export %s, the API token of a user allowed to revoke profile %s's keys",
		DefaultAPITokenEnv, p.Name))
}

// Revoke revokes ids, keys minted for p, one call each. The error is for what
// stopped every call (no token, a bad endpoint); otherwise each key's outcome is
// in the result, in the order of ids.
func (r *Revoker) Revoke(ctx context.Context, p *config.Profile, ids []string) ([]Revoked, error) {
	client, err := r.client(ctx, p)
	if err != nil {
		return nil, err
	}
	out := make([]Revoked, 0, len(ids))
	for _, id := range ids {
		err := client.RevokeAccessKeyByAccessKey(ctx, id)
		switch {
		case err == nil:
			out = append(out, Revoked{ID: id})
		case cwobject.CodeOf(err) == cwobject.CodeNotFound:
			out = append(out, Revoked{ID: id, Gone: true})
		default:
			out = append(out, Revoked{ID: id, Err: err})
		}
	}
	return out, nil
}

// client is an API client for p's endpoint holding the token that revokes.
func (r *Revoker) client(ctx context.Context, p *config.Profile) (*cwobject.Client, error) {
	token, err := r.Token(ctx, p)
	if err != nil {
		return nil, err
	}
	hc := r.HTTPClient
	if hc == nil {
		if hc, err = NewHTTPClient(HTTPOptions{CABundle: p.CABundle, Getenv: r.getenv()}); err != nil {
			return nil, err
		}
	}
	return cwobject.New(cwobject.Config{BaseURL: p.APIEndpoint, HTTPClient: hc, UserAgent: r.UserAgent,
		Token: token, Clock: r.Clock, Logger: r.Logger})
}

func (r *Revoker) getenv() func(string) string {
	if r.Getenv == nil {
		return os.Getenv
	}
	return r.Getenv
}
