package cache

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/time/rate"

	"github.com/cwcreds/cwcreds/internal/creds"

	"github.com/cwcreds/cwcreds/internal/keypolicy"
)

// simReader checks every read against the promises the cache makes.
type simReader struct {
	t       *testing.T
	p       Policy
	minLeft time.Duration     // callers must see more than this left
	last    creds.Credentials // the keys of the previous successful read
	reads   int
	minSeen time.Duration
}

func newSimReader(t *testing.T, p Policy, minLeft time.Duration) *simReader {
	p, err := resolvePolicy(p)
	if err != nil {
		t.Fatal(err)
	}
	return &simReader{t: t, p: p, minLeft: minLeft}
}

// check validates one successful read at now.
func (s *simReader) check(now time.Time, c creds.Credentials, lifetime time.Duration) {
	s.t.Helper()
	s.reads++
	left := c.Expiration.Sub(now)
	if s.minSeen == 0 || left < s.minSeen {
		s.minSeen = left
	}
	switch {
	case left <= 0:
		s.t.Fatalf("at %s read expired keys %s", now.Sub(epoch), c.AccessKeyID)
	case left <= s.p.Floor:
		s.t.Fatalf("at %s read keys %s with %s left, under the floor", now.Sub(epoch), c.AccessKeyID, left)
	case left <= s.minLeft:
		s.t.Fatalf("at %s read keys %s with %s left, want > %s", now.Sub(epoch), c.AccessKeyID, left, s.minLeft)
	}
	// New keys may be served before they are PropagationDelay old only when the
	// previous ones are gone or under the floor.
	minted := c.Expiration.Add(-lifetime)
	prevUsable := s.last.AccessKeyID != "" && s.last.Expiration.Sub(now) > s.p.Floor
	if c.AccessKeyID != s.last.AccessKeyID && prevUsable && now.Sub(minted) < s.p.PropagationDelay {
		s.t.Fatalf("at %s read keys %s only %s old while %s were still valid", now.Sub(epoch), c.AccessKeyID, now.Sub(minted), s.last.AccessKeyID)
	}
	s.last = c
}

// 48 simulated hours, a reader every 5 s, Run refreshing ahead.
func TestSimulation48h(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lifetime time.Duration
		minLeft  time.Duration
	}{
		{"1h keys", time.Hour, 15 * time.Minute},
		{"15m keys", 15 * time.Minute, 5 * time.Minute}, // L/3 rule for short keys
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := clockwork.NewFakeClockAt(epoch)
			ff := newFakeFetcher(clock, tc.lifetime)
			r := newTestRefresher(t, Config{Fetcher: ff, Clock: clock})
			idle := startRun(t, r, clock)
			idle()
			reader := newSimReader(t, Policy{}, tc.minLeft)
			const step, total = 5 * time.Second, 48 * time.Hour
			for elapsed := time.Duration(0); elapsed < total; elapsed += step {
				clock.Advance(step)
				idle()
				c, err := r.Get(t.Context())
				if err != nil {
					t.Fatalf("at %s: %v", elapsed, err)
				}
				reader.check(clock.Now(), c, tc.lifetime)
			}
			p := keypolicy.Default()
			shortest := tc.lifetime - p.Lead(tc.lifetime, 1)       // earliest refresh age
			longest := tc.lifetime - p.Lead(tc.lifetime, 0) + step // latest, plus the step granularity
			lo, hi := int(total/longest), int(total/shortest)+2
			if n := ff.count(); n < lo || n > hi {
				t.Errorf("%d fetches in 48h, want %d..%d", n, lo, hi)
			}
			t.Logf("%s: %d fetches, %d reads, least time left seen %s", tc.name, ff.count(), reader.reads, reader.minSeen)
		})
	}
}

// The same promises hold without Run: Get refreshes on demand.
func TestSimulationOnDemand(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	ff := newFakeFetcher(clock, 15*time.Minute)
	r := newTestRefresher(t, Config{Fetcher: ff, Clock: clock})
	reader := newSimReader(t, Policy{}, 5*time.Minute)
	for elapsed := time.Duration(0); elapsed < 12*time.Hour; elapsed += 3 * time.Second {
		c, err := r.Get(t.Context())
		if err != nil {
			t.Fatalf("at %s: %v", elapsed, err)
		}
		reader.check(clock.Now(), c, 15*time.Minute)
		waitFetch(t, r)
		clock.Advance(3 * time.Second)
	}
	if n := ff.count(); n < 72 || n > 85 {
		t.Errorf("%d fetches in 12h of 15m keys, want about 78", n)
	}
}

// checkRate asserts that no window of the fetch history exceeds burst + rate·window.
func checkRate(t *testing.T, calls []time.Time, limit rate.Limit, burst int) {
	t.Helper()
	for i := range calls {
		for j := i; j < len(calls); j++ {
			window := calls[j].Sub(calls[i]).Seconds()
			if n := j - i + 1; float64(n) > float64(burst)+float64(limit)*window+1e-9 {
				t.Fatalf("%d fetches within %.1fs: over the rate limit", n, window)
			}
		}
	}
}

// A transient fault that outlasts a key: readers keep valid keys until they truly
// run out, then get a clear error; upstream calls stay under the rate limit;
// recovery comes within one backoff step after the fault ends.
func TestSimulationTransientFaultLongerThanLifetime(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	ff := newFakeFetcher(clock, time.Hour)
	faultStart, faultEnd := epoch.Add(30*time.Minute), epoch.Add(30*time.Minute+2*time.Hour)
	ff.setFail(func(_ int, now time.Time) error {
		if !now.Before(faultStart) && now.Before(faultEnd) {
			return transientErr("upstream answered 503 Service Unavailable")
		}
		return nil
	})
	cfg := Config{Fetcher: ff, Clock: clock}
	r := newTestRefresher(t, cfg)
	idle := startRun(t, r, clock)
	idle()
	reader := newSimReader(t, Policy{}, 0)
	const step = 5 * time.Second
	var firstErr, recovered time.Time
	for elapsed := time.Duration(0); elapsed < 4*time.Hour; elapsed += step {
		clock.Advance(step)
		idle()
		now := clock.Now()
		c, err := r.Get(t.Context())
		if err == nil {
			reader.check(now, c, time.Hour)
			if !firstErr.IsZero() && recovered.IsZero() {
				recovered = now
			}
			continue
		}
		if firstErr.IsZero() {
			firstErr = now
		}
		var nc *NoCredentialsError
		if !errors.As(err, &nc) || nc.Class != Transient || !strings.Contains(err.Error(), "no valid keys yet: upstream answered 503") {
			t.Fatalf("at %s: unclear error %v", now.Sub(epoch), err)
		}
	}
	// The first keys expire at 1h; the floor is 1m: errors start at 59m, not earlier.
	if want := epoch.Add(59 * time.Minute); firstErr.Before(want) || firstErr.After(want.Add(step)) {
		t.Errorf("errors started at %s, want at %s", firstErr.Sub(epoch), want.Sub(epoch))
	}
	if recovered.IsZero() || recovered.After(faultEnd.Add(DefaultBackoffMax+step)) {
		t.Errorf("recovered at %s; the fault ended at %s", recovered.Sub(epoch), faultEnd.Sub(epoch))
	}
	checkRate(t, ff.callTimes(), DefaultMaxRate, DefaultBurst)
	// While the old keys are served (30m–59m), 1s doubling to 5m: about 8 fast
	// fetches, then one per 2.5–5m. Once none are left, at least one per
	// Backoff.MaxWithoutKeys (10s), which the rate cap (one per 5s) bounds.
	var warm int
	var cold []time.Time
	for _, c := range ff.callTimes() {
		switch {
		case c.Before(faultStart) || !c.Before(faultEnd):
		case c.Before(firstErr):
			warm++
		default:
			cold = append(cold, c)
		}
	}
	if warm > 20 {
		t.Errorf("%d fetches during the fault while keys were still served: hammering", warm)
	}
	for i := 1; i < len(cold); i++ {
		if gap := cold[i].Sub(cold[i-1]); gap > DefaultBackoffMaxWithoutKeys+step {
			t.Errorf("fetches %s apart at %s with no keys to serve, want at most %s", gap, cold[i].Sub(epoch), DefaultBackoffMaxWithoutKeys)
			break
		}
	}
	if !recovered.IsZero() && recovered.After(faultEnd.Add(DefaultBackoffMaxWithoutKeys+step)) {
		t.Errorf("recovered at %s, more than %s after the fault ended at %s", recovered.Sub(epoch), DefaultBackoffMaxWithoutKeys, faultEnd.Sub(epoch))
	}
	t.Logf("%d fetches during the fault while keys were served, %d after; errors from %s; recovered at %s", warm, len(cold), firstErr.Sub(epoch), recovered.Sub(epoch))
}

// Unrecoverable: after the failure, no fetch at all until the input changes, then
// exactly one.
func TestSimulationUnrecoverable(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	base := newFakeFetcher(clock, time.Hour)
	ff := newFPFetcher(base, "token-v1")
	base.setFail(func(int, time.Time) error {
		if ff.fp.Load() == "token-v1" && clock.Now().After(epoch.Add(10*time.Minute)) {
			return rejectedErr("identity token is expired")
		}
		return nil
	})
	r := newTestRefresher(t, Config{Fetcher: ff, Clock: clock, UnrecoverableRetry: -1})
	idle := startRun(t, r, clock)
	idle()
	reader := newSimReader(t, Policy{}, 0)
	const step = 5 * time.Second
	for elapsed := time.Duration(0); elapsed < 6*time.Hour; elapsed += step {
		clock.Advance(step)
		idle()
		c, err := r.Get(t.Context())
		if err == nil {
			reader.check(clock.Now(), c, time.Hour)
			continue
		}
		var nc *NoCredentialsError
		if !errors.As(err, &nc) || nc.Class != Unrecoverable || !strings.Contains(err.Error(), "identity not usable") {
			t.Fatalf("at %s: %v", elapsed, err)
		}
	}
	if n := base.count(); n != 2 {
		t.Fatalf("%d fetches, want 2 (the first, and the one that was rejected)", n)
	}
	ff.fp.Store("token-v2")
	for range 2 {
		clock.Advance(step)
		idle()
	}
	if n := base.count(); n != 3 {
		t.Fatalf("%d fetches after the input changed, want 3", n)
	}
	c, err := r.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	reader.check(clock.Now(), c, time.Hour)
}
