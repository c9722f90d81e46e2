package cache

import (
	"errors"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap/zapcore"
	"golang.org/x/time/rate"
)

// A hostile pod presents forged, JWT-shaped tokens (anyone can make them; only
// CoreWeave checks signatures). Once the shared upstream limit is spent they
// cost it nothing, but they must not evict an identity holding valid keys:
// that one would have to exchange again, which the spent limiter refuses (503).
func TestAgentForgedTokensDoNotEvictValidKeys(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	log, logs := observed()
	const max = 100
	a := newTestAgent(t, AgentConfig{Identity: Config{Clock: clock, Logger: log}, MaxEntries: max,
		UpstreamRate: rate.Limit(1), UpstreamBurst: 5})
	legit := newFakeFetcher(clock, time.Hour)
	admitLegit := func() (Fetcher, time.Time, error) { return legit, clock.Now().Add(time.Hour), nil }
	if _, err := a.GetAdmitted(t.Context(), fakeToken(0), admitLegit); err != nil {
		t.Fatal(err)
	}
	forged := newFakeFetcher(clock, time.Hour)
	forged.setFail(func(int, time.Time) error { return rejectedErr("invalid signature") })
	for i := 1; i <= 10*max; i++ { // all within the same instant
		_, _ = a.GetAdmitted(t.Context(), fakeToken(i), func() (Fetcher, time.Time, error) {
			return forged, clock.Now().Add(time.Hour), nil
		})
	}
	t.Logf("upstream calls for %d forged tokens: %d; identities held: %d; warn lines: %d",
		10*max, forged.count(), a.Len(), logs.FilterLevelExact(zapcore.WarnLevel).Len())
	_, err := a.GetAdmitted(t.Context(), fakeToken(0), admitLegit)
	if err != nil {
		t.Errorf("the legitimate pod, whose keys are valid for another hour, lost them to forged tokens that cost %d upstream calls: %v (rate limited: %v)",
			forged.count(), err, errors.Is(err, ErrRateLimited))
	}
}

// Each new token is its own Refresher: while the shared limit is spent, one
// Warn line per refusal would let a pod sending junk tokens write the node's
// logs at its request rate. The lines are spaced instead, and count.
func TestAgentRateLimitWarningsAreBounded(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	log, logs := observed()
	a := newTestAgent(t, AgentConfig{Identity: Config{Clock: clock, Logger: log}, MaxEntries: 10000,
		UpstreamRate: rate.Limit(1), UpstreamBurst: 1})
	forged := newFakeFetcher(clock, time.Hour)
	forged.setFail(func(int, time.Time) error { return rejectedErr("invalid signature") })
	const n = 5000
	for i := range n {
		_, _ = a.GetAdmitted(t.Context(), fakeToken(i), func() (Fetcher, time.Time, error) {
			return forged, clock.Now().Add(time.Hour), nil
		})
	}
	warns := logs.FilterLevelExact(zapcore.WarnLevel).All()
	if len(warns) != 1 {
		t.Fatalf("%d requests within one instant wrote %d Warn lines (upstream calls: %d)", n, len(warns), forged.count())
	}
	clock.Advance(sharedWarnEvery)
	for i := n; i < n+2; i++ { // the first spends the limit again, the second is refused
		_, _ = a.GetAdmitted(t.Context(), fakeToken(i), func() (Fetcher, time.Time, error) { return forged, clock.Now().Add(time.Hour), nil })
	}
	warns = logs.FilterLevelExact(zapcore.WarnLevel).All()
	if len(warns) != 2 || warns[1].ContextMap()["refused"] != int64(n-1) {
		t.Errorf("after %s: %d Warn lines, the last %v; want a second counting the %d refusals since the first", sharedWarnEvery, len(warns), warns[len(warns)-1].ContextMap(), n-1)
	}
}

// A held token past its limit can never be served again: it is dropped when
// next presented, and by Sweep when not, though its keys are good for hours
// (kubelet renews projected tokens at 80 % of their life: one dead entry per
// pod per renewal otherwise).
func TestAgentSweepDropsExpiredTokens(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	a := newTestAgent(t, AgentConfig{Identity: Config{Clock: clock}, IdleTimeout: 5 * time.Minute})
	f := newFakeFetcher(clock, 12*time.Hour)
	admit := func() (Fetcher, time.Time, error) { return f, clock.Now().Add(10 * time.Minute), nil }
	for _, tok := range []string{fakeToken(1), fakeToken(2)} {
		if _, err := a.GetAdmitted(t.Context(), tok, admit); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(30 * time.Minute)
	if _, err := a.GetAdmitted(t.Context(), fakeToken(1), admit); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("got %v, want ErrTokenExpired", err)
	}
	if a.Len() != 1 {
		t.Errorf("%d identities held after an expired token was presented, want 1", a.Len())
	}
	if n := a.Sweep(); n != 1 || a.Len() != 0 {
		t.Errorf("Sweep dropped %d, %d identities held: an expired token whose keys are valid is kept", n, a.Len())
	}
}
