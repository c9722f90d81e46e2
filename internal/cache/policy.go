package cache

import (
	"errors"
	"fmt"
	"time"

	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/keypolicy"
)

// Defaults of Policy and Backoff.
const (
	DefaultRefreshMargin    = 15 * time.Minute // botocore's advisory refresh window
	DefaultFloor            = time.Minute
	DefaultPropagationDelay = 5 * time.Second
	DefaultJitter           = keypolicy.DefaultJitter
	DefaultBackoffBase      = time.Second
	DefaultBackoffMax       = 5 * time.Minute
	// DefaultBackoffMaxWithoutKeys caps the backoff while nothing valid is held,
	// so that callers stop getting 503 soon after the upstream recovers.
	DefaultBackoffMaxWithoutKeys = 10 * time.Second
)

// Policy is the refresh rule shared by the memory, disk and agent caches.
//
// For keys of lifetime L (measured from the local fetch time), callers should always
// see at least Target(L) left:
//
//	Target(L) = max(RefreshMargin, L/3)                 when the lifetime allows it,
//	Target(L) = L/3                                      for short keys.
//
// A refresh starts when the time left falls to
//
//	lead = Target(L)·(1 + Jitter·u) + PropagationDelay + 30s,  u uniform in [0,1)
//
// (the jitter only makes refreshes earlier, and the extra terms cover the new keys'
// propagation and the fetch itself). "The lifetime allows it" means the largest lead
// is at most L/2, so keys are used for at least half their life: with the defaults
// that is L ≥ about 35 minutes. Shorter keys (e.g. the fixed 15-minute keys) use
// Target = L/3 and a lead capped at L/2, i.e. they are replaced after about 60% of
// their life and callers see at least 5 of 15 minutes. One-hour keys are refreshed
// with 20m35s–22m35s left, so callers see more than 20 minutes.
//
// Zero fields take the defaults. PropagationDelay and Jitter may be set negative to
// turn them off.
type Policy struct {
	// RefreshMargin is the least time left callers should see (default 15m).
	RefreshMargin time.Duration
	// Floor: keys with this little left are never served (default 1m).
	Floor time.Duration
	// PropagationDelay: previous keys are served until new ones are this old, unless
	// the previous ones are below the floor (default 5s).
	PropagationDelay time.Duration
	// Jitter is the fraction of Target by which refreshes may start early (default 0.1).
	Jitter float64
	// Lifetime is the lifetime keys are requested with; zero when unknown. No
	// keys are trusted to live longer than it, nor than the API's 12 h maximum.
	Lifetime time.Duration
}

// maxLifetime is the longest lifetime keys can have under p.
func (p Policy) maxLifetime() time.Duration {
	if p.Lifetime > 0 {
		return min(p.Lifetime, keypolicy.MaxKeyLifetime)
	}
	return keypolicy.MaxKeyLifetime
}

// bound caps keys' measured lifetime at what keys can have (a server clock ahead of
// ours makes it look longer), bringing their stated expiration back to match.
func (p Policy) bound(c creds.Credentials, now time.Time, lifetime time.Duration) (creds.Credentials, time.Duration) {
	if m := p.maxLifetime(); lifetime > m {
		lifetime = m
		c.Expiration = now.Add(m).Round(0)
	}
	return c, lifetime
}

func (p Policy) withDefaults() Policy {
	if p.RefreshMargin == 0 {
		p.RefreshMargin = DefaultRefreshMargin
	}
	if p.Floor == 0 {
		p.Floor = DefaultFloor
	}
	switch {
	case p.PropagationDelay == 0:
		p.PropagationDelay = DefaultPropagationDelay
	case p.PropagationDelay < 0:
		p.PropagationDelay = 0
	}
	switch {
	case p.Jitter == 0:
		p.Jitter = DefaultJitter
	case p.Jitter < 0:
		p.Jitter = 0
	}
	return p
}

func (p Policy) validate() error {
	switch {
	case p.RefreshMargin < 0:
		return fmt.Errorf("refresh margin %s is negative: use a positive duration such as 15m", p.RefreshMargin)
	case p.Floor < 0:
		return fmt.Errorf("floor %s is negative: use a positive duration such as 1m", p.Floor)
	case p.Floor >= p.RefreshMargin:
		return fmt.Errorf("floor %s must be shorter than the refresh margin %s", p.Floor, p.RefreshMargin)
	case p.Jitter >= 1:
		return fmt.Errorf("jitter %g must be a fraction below 1, such as 0.1", p.Jitter)
	case p.Lifetime < 0:
		return fmt.Errorf("lifetime %s is negative: give the lifetime keys are requested with, or zero", p.Lifetime)
	}
	return nil
}

// Target is the least time left callers see for keys of the given lifetime, when
// refreshes succeed on time.
func (p Policy) Target(lifetime time.Duration) time.Duration {
	return keypolicy.Target(p.RefreshMargin, lifetime, p.PropagationDelay, p.Jitter)
}

func (p Policy) leadFor(target time.Duration, u float64) time.Duration {
	return keypolicy.Lead(target, p.PropagationDelay, p.Jitter, u)
}

// lead is how long before expiry a refresh of keys with this lifetime starts.
func (p Policy) lead(lifetime time.Duration, u float64) time.Duration {
	l := p.leadFor(p.Target(lifetime), u)
	if l > lifetime/2 { // short keys only: normal ones are ≤ L/2 by construction
		l = lifetime / 2
	}
	return l
}

// Backoff is the capped exponential delay between failed fetches, with "equal
// jitter": the n-th consecutive failure waits between d/2 and d, d = min(Max, Base·2^(n-1)).
//
// While the cache holds nothing it may serve, the cap is MaxWithoutKeys instead
// (when smaller): callers are getting 503 meanwhile, so the cache must notice a
// recovered upstream soon. An upstream Retry-After longer than the delay is
// honoured either way, up to Max; the rate limit applies on top.
type Backoff struct {
	Base           time.Duration // default 1s
	Max            time.Duration // default 5m
	MaxWithoutKeys time.Duration // default 10s
}

func (b Backoff) withDefaults() Backoff {
	if b.Base == 0 {
		b.Base = DefaultBackoffBase
	}
	if b.Max == 0 {
		b.Max = DefaultBackoffMax
	}
	if b.MaxWithoutKeys == 0 {
		b.MaxWithoutKeys = DefaultBackoffMaxWithoutKeys
	}
	return b
}

func (b Backoff) validate() error {
	if b.Base <= 0 || b.Max < b.Base {
		return fmt.Errorf("backoff base %s and max %s must be positive with base ≤ max", b.Base, b.Max)
	}
	if b.MaxWithoutKeys < 0 {
		return fmt.Errorf("backoff max without keys %s is negative: use a positive duration such as %s", b.MaxWithoutKeys, DefaultBackoffMaxWithoutKeys)
	}
	return nil
}

// retryDelays returns the wait after the n-th consecutive failure while keys are
// held, and the (never longer) wait while none are; ra is the upstream's
// Retry-After (0 for none), honoured up to Max by both.
func (b Backoff) retryDelays(failures int, u float64, ra time.Duration) (warm, cold time.Duration) {
	warm = b.delay(failures, u)
	cold = warm
	if b.MaxWithoutKeys < b.Max {
		cold = Backoff{Base: b.Base, Max: b.MaxWithoutKeys}.delay(failures, u)
	}
	ra = min(ra, b.Max)
	return max(warm, ra), max(cold, ra)
}

func (b Backoff) delay(failures int, u float64) time.Duration {
	d := b.Base
	for i := 1; i < failures && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	return d/2 + time.Duration(float64(d/2)*u)
}

// held is one set of keys with the local times that govern it.
type held struct {
	c          creds.Credentials
	fetchedAt  time.Time
	expiry     time.Time // fetchedAt + lifetime; keeps the monotonic reading in memory
	servableAt time.Time // fetchedAt + PropagationDelay
	refreshAt  time.Time // expiry - lead
}

func newHeld(c creds.Credentials, fetchedAt time.Time, lifetime time.Duration, p Policy, u float64) held {
	return held{
		c:          c,
		fetchedAt:  fetchedAt,
		expiry:     fetchedAt.Add(lifetime),
		servableAt: fetchedAt.Add(p.PropagationDelay),
		refreshAt:  fetchedAt.Add(lifetime - p.lead(lifetime, u)),
	}
}

// remaining is the time left at now by both the local lifetime and the stated
// expiration, whichever is less; 0 when there are no keys or the clock went back
// before the fetch (then nothing about the keys can be trusted).
func (h *held) remaining(now time.Time) time.Duration {
	if h.c.AccessKeyID == "" || now.Before(h.fetchedAt) {
		return 0
	}
	d := h.expiry.Sub(now)
	if w := h.c.Expiration.Sub(now); w < d {
		d = w
	}
	return d
}

// checkFetched rejects what a fetch returned when it cannot be served at all.
func checkFetched(c creds.Credentials, now time.Time, floor time.Duration) (time.Duration, error) {
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return 0, errors.New("the exchange returned incomplete keys (no access key id or secret)")
	}
	lifetime := c.Expiration.Sub(now)
	if lifetime <= floor {
		return 0, fmt.Errorf("the exchange returned keys that expire at %s, %s from now: check the system clock and the key lifetime (must exceed %s)",
			c.Expiration.UTC().Format(time.RFC3339), lifetime.Round(time.Second), floor)
	}
	return lifetime, nil
}

// servableUntil is the instant from which remaining(now) ≤ floor; zero without keys.
func (h *held) servableUntil(floor time.Duration) time.Time {
	if h.c.AccessKeyID == "" {
		return time.Time{}
	}
	end := h.expiry
	if h.c.Expiration.Before(end) {
		end = h.c.Expiration
	}
	return end.Add(-floor)
}

// pair is what a cache can serve from: the newest keys and the ones they replace.
type pair struct {
	cur, prev held
}

// servableUntil is the instant from which the pair has nothing to serve (either
// keys may be the last); zero without keys.
func (s *pair) servableUntil(floor time.Duration) time.Time {
	return later(s.cur.servableUntil(floor), s.prev.servableUntil(floor))
}

// pick chooses the keys to serve at now: the previous ones while the new ones are
// still propagating (unless the previous ones are below the floor), else the new.
func (s *pair) pick(now time.Time, floor time.Duration) (creds.Credentials, bool) {
	if h := s.served(now, floor); h != nil {
		return h.c, true
	}
	return creds.Credentials{}, false
}

// served returns the keys pick chooses, with their times, or nil.
func (s *pair) served(now time.Time, floor time.Duration) *held {
	curOK := s.cur.remaining(now) > floor
	switch {
	case curOK && !now.Before(s.cur.servableAt):
		return &s.cur
	case s.prev.remaining(now) > floor:
		return &s.prev
	case curOK:
		return &s.cur
	}
	return nil
}
