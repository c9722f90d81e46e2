package cli

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/creds"
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

// revoker revokes this process's keys, with the token exchange.Revoker documents
// (the profile's own api_token source, else $CW_API_TOKEN), read anew each time.
func (d *daemon) revoker() *exchange.Revoker {
	return &exchange.Revoker{Getenv: d.getenv, UserAgent: "cwcreds/" + d.env.Version, Clock: d.clock, Logger: d.log}
}

// warnIfCannotRevoke says at once when --revoke-on-exit will not work.
func (d *daemon) warnIfCannotRevoke(ctx context.Context, profiles []*config.Profile) {
	r := d.revoker()
	for _, p := range profiles {
		if _, err := r.Token(ctx, p); err != nil {
			d.log.Warn("--revoke-on-exit cannot work for this profile: no API token to revoke its keys with",
				zap.String("profile", p.Name), zap.Error(err))
		}
	}
}

// revokeMinted revokes the live keys this process minted, within ctx, each
// through the profile it was minted for. Keys that are already gone count as
// revoked.
func (d *daemon) revokeMinted(ctx context.Context) error {
	keys := d.minted.live()
	if len(keys) == 0 {
		d.log.Info("revoke-on-exit: no live keys to revoke")
		return nil
	}
	var profiles []*config.Profile
	ids := map[*config.Profile][]string{}
	for _, k := range keys {
		if _, ok := ids[k.prof]; !ok {
			profiles = append(profiles, k.prof)
		}
		ids[k.prof] = append(ids[k.prof], k.id)
	}
	r := d.revoker()
	failed := 0
	for _, p := range profiles {
		results, err := r.Revoke(ctx, p, ids[p])
		if err != nil {
			for _, id := range ids[p] {
				d.log.Warn("could not revoke the access key", zap.String("profile", p.Name), zap.String("access_key_id", id), zap.Error(err))
			}
			failed += len(ids[p])
			continue
		}
		for _, k := range results {
			log := d.log.With(zap.String("profile", p.Name), zap.String("access_key_id", k.ID))
			switch {
			case k.Err != nil:
				log.Warn("could not revoke the access key", zap.Error(k.Err))
				failed++
			case k.Gone:
				log.Info("the access key was already gone")
			default:
				log.Info("revoked the access key")
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("revoke-on-exit: %d of %d keys could not be revoked (see the log); they stay valid until they expire", failed, len(keys))
	}
	return nil
}
