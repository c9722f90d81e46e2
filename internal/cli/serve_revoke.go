package cli

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/exchange"
)

// mintedKeys remembers the keys this process minted, for --revoke-on-exit. Keys
// are forgotten once expired, so a long-running daemon keeps only a few.
type mintedKeys struct {
	clock clockwork.Clock
	mu    sync.Mutex
	keys  []mintedKey
}

type mintedKey struct {
	id      string
	expires time.Time
	prof    *config.Profile // the config the key was minted with: where to revoke it
}

func (m *mintedKeys) add(p *config.Profile, c creds.Credentials) {
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys = append(liveKeys(m.keys, now), mintedKey{id: c.AccessKeyID, expires: c.Expiration, prof: p})
}

// live returns the keys not yet expired.
func (m *mintedKeys) live() []mintedKey {
	now := m.clock.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys = liveKeys(m.keys, now)
	return append([]mintedKey(nil), m.keys...)
}

func liveKeys(keys []mintedKey, now time.Time) []mintedKey {
	kept := keys[:0]
	for _, k := range keys {
		if k.expires.After(now) {
			kept = append(kept, k)
		}
	}
	return kept
}

// revokeToken is the API token that revokes a profile's keys: the profile's own
// when its source is an API token, else $CW_API_TOKEN. It is read anew each time.
func (d *daemon) revokeToken(ctx context.Context, p *config.Profile) (string, error) {
	if s := p.Source; s.Type == config.SourceAPIToken && s.APIToken != nil {
		t := &exchange.APIToken{EnvVar: s.APIToken.Env, Getenv: d.getenv, File: s.APIToken.File}
		if k := s.APIToken.Keyring; k != nil {
			t.EnvVar, t.KeyringService, t.KeyringUser = "", k.Service, k.User
		}
		return t.Token(ctx)
	}
	if tok := strings.TrimSpace(d.getenv(exchange.DefaultAPITokenEnv)); tok != "" {
		return tok, nil
	}
	return "", fmt.Errorf("$%s is not set: export the API token of a user allowed to revoke the profile's keys", exchange.DefaultAPITokenEnv)
}

// warnIfCannotRevoke says at once when --revoke-on-exit will not work.
func (d *daemon) warnIfCannotRevoke(ctx context.Context, profiles []*config.Profile) {
	for _, p := range profiles {
		if _, err := d.revokeToken(ctx, p); err != nil {
			d.log.Warn("--revoke-on-exit cannot work for this profile: no API token to revoke its keys with",
				zap.String("profile", p.Name), zap.Error(err))
		}
	}
}

// revokeMinted revokes the live keys this process minted, within ctx. Keys that
// are already gone count as revoked.
func (d *daemon) revokeMinted(ctx context.Context) error {
	keys := d.minted.live()
	if len(keys) == 0 {
		d.log.Info("revoke-on-exit: no live keys to revoke")
		return nil
	}
	failed := 0
	clients := map[*config.Profile]*cwobject.Client{}
	for _, k := range keys {
		log := d.log.With(zap.String("profile", k.prof.Name), zap.String("access_key_id", k.id))
		client, ok := clients[k.prof]
		if !ok {
			var err error
			if client, err = d.revokeClient(ctx, k.prof); err != nil {
				log.Warn("could not revoke the access key", zap.Error(err))
				failed++
				continue
			}
			clients[k.prof] = client
		}
		switch err := client.RevokeAccessKeyByAccessKey(ctx, k.id); {
		case err == nil:
			log.Info("revoked the access key")
		case cwobject.CodeOf(err) == cwobject.CodeNotFound:
			log.Info("the access key was already gone")
		default:
			log.Warn("could not revoke the access key", zap.Error(err))
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("revoke-on-exit: %d of %d keys could not be revoked (see the log); they stay valid until they expire", failed, len(keys))
	}
	return nil
}

// revokeClient is an API client for p's endpoint holding the token that revokes.
func (d *daemon) revokeClient(ctx context.Context, p *config.Profile) (*cwobject.Client, error) {
	token, err := d.revokeToken(ctx, p)
	if err != nil {
		return nil, err
	}
	hc, err := exchange.NewHTTPClient(exchange.HTTPOptions{CABundle: p.CABundle, Getenv: d.getenv})
	if err != nil {
		return nil, err
	}
	return cwobject.New(cwobject.Config{BaseURL: p.APIEndpoint, HTTPClient: hc, UserAgent: "cwcreds/" + d.env.Version,
		Token: token, Clock: d.clock, Logger: d.log})
}
