package cache

import (
	"errors"
	"fmt"
	"time"

	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/keypolicy"
)

// Defaults of Backoff.
const (
	DefaultBackoffBase = time.Second
	DefaultBackoffMax  = 5 * time.Minute
	// DefaultBackoffMaxWithoutKeys caps the backoff while nothing valid is held,
	// so that callers stop getting 503 soon after the upstream recovers.
	DefaultBackoffMaxWithoutKeys = 10 * time.Second
)

// Policy is the refresh rule shared by the memory, disk and agent caches: see
// keypolicy.Policy for the rule itself. Where a cache takes one, the zero Policy
// (none given) means keypolicy.Default(); any other is used exactly as given.
type Policy = keypolicy.Policy

// resolvePolicy applies that rule and checks the result.
func resolvePolicy(p Policy) (Policy, error) {
	if p == (Policy{}) {
		p = keypolicy.Default()
	}
	return p, p.Validate()
}

// bound caps keys' measured lifetime at what keys can have under p (a server clock
// ahead of ours makes it look longer), bringing their stated expiration back to match.
func bound(p Policy, c creds.Credentials, now time.Time, lifetime time.Duration) (creds.Credentials, time.Duration) {
	if m := p.TrustedLifetime(); lifetime > m {
		lifetime = m
		c.Expiration = now.Add(m).Round(0)
	}
	return c, lifetime
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
		refreshAt:  p.RefreshAt(fetchedAt, lifetime, u),
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
