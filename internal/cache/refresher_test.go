package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/time/rate"

	"github.com/cwcreds/cwcreds/internal/creds"

	"github.com/cwcreds/cwcreds/internal/keypolicy"
)

func newTestRefresher(t *testing.T, cfg Config) *Refresher {
	t.Helper()
	if cfg.Profile == "" {
		cfg.Profile = "test"
	}
	r, err := NewRefresher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestNewRefresherValidates(t *testing.T) {
	f := newFakeFetcher(clockwork.NewFakeClock(), time.Hour)
	for name, cfg := range map[string]Config{
		"no fetcher":     {Profile: "p"},
		"no profile":     {Fetcher: f},
		"floor":          {Profile: "p", Fetcher: f, Policy: policyWith(func(p *Policy) { p.Floor = time.Hour })},
		"backoff":        {Profile: "p", Fetcher: f, Backoff: Backoff{Base: time.Hour, Max: time.Second}},
		"rate":           {Profile: "p", Fetcher: f, MaxRate: -1},
		"cold wait":      {Profile: "p", Fetcher: f, ColdWait: -time.Second},
		"jitter too big": {Profile: "p", Fetcher: f, Policy: policyWith(func(p *Policy) { p.Jitter = 2 })},
	} {
		if _, err := NewRefresher(cfg); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

// 1,000 goroutines on a cold cache make exactly one fetch and all get its keys.
func TestColdStampedeSingleFetch(t *testing.T) {
	clock := clockwork.NewRealClock()
	ff := newFakeFetcher(clock, time.Hour)
	release := make(chan struct{})
	ff.block = release
	r := newTestRefresher(t, Config{Fetcher: ff, Clock: clock})

	const n = 1000
	var started, done sync.WaitGroup
	ids := make([]string, n)
	errs := make([]error, n)
	started.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			started.Done()
			c, err := r.Get(t.Context())
			ids[i], errs[i] = c.AccessKeyID, err
		}()
	}
	started.Wait()
	close(release)
	done.Wait()
	if got := ff.count(); got != 1 {
		t.Fatalf("%d fetches, want 1", got)
	}
	for i := range n {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("goroutine %d got %q, %v; want %q", i, ids[i], errs[i], ids[0])
		}
	}
}

// Without Run, Get inside the refresh window returns the still-valid keys at once
// and refreshes in the background.
func TestOnDemandRefreshReturnsOldKeysQuickly(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	ff := newFakeFetcher(clock, time.Hour)
	ev := &recEvents{}
	r := newTestRefresher(t, Config{Fetcher: ff, Clock: clock, Events: ev})
	c1, err := r.Get(t.Context())
	if err != nil || c1.AccessKeyID != "CWTEST00000001" {
		t.Fatalf("first Get: %v %v", c1, err)
	}
	clock.Advance(30 * time.Minute) // outside the window: no fetch
	if _, err := r.Get(t.Context()); err != nil || ff.count() != 1 {
		t.Fatalf("Get at 30m: err %v, %d fetches", err, ff.count())
	}
	clock.Advance(15 * time.Minute) // 15 minutes left: inside the window
	release := make(chan struct{})
	ff.mu.Lock()
	ff.block = release
	ff.mu.Unlock()
	c2, err := r.Get(t.Context())
	if err != nil || c2.AccessKeyID != c1.AccessKeyID {
		t.Fatalf("Get in window must return the old keys at once: %v %v", c2, err)
	}
	if !r.Status().Fetching {
		t.Fatal("a background refresh should be running")
	}
	close(release)
	waitFetch(t, r)
	if c, _ := r.Get(t.Context()); c.AccessKeyID != c1.AccessKeyID {
		t.Errorf("new keys served before they propagated: %s", c.AccessKeyID)
	}
	clock.Advance(5 * time.Second)
	if c, _ := r.Get(t.Context()); c.AccessKeyID != "CWTEST00000002" {
		t.Errorf("after the propagation delay served %s, want the new keys", c.AccessKeyID)
	}
	if ff.count() != 2 {
		t.Errorf("%d fetches, want 2", ff.count())
	}
	if ev.refreshed != 2 || ev.misses != 1 || ev.hits < 4 {
		t.Errorf("events: %+v", ev)
	}
}

// A cold Get gives up after ColdWait with a clear error, and the fetch still lands.
func TestColdWait(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	ff := newFakeFetcher(clock, time.Hour)
	release := make(chan struct{})
	ff.block = release
	r := newTestRefresher(t, Config{Fetcher: ff, Clock: clock, ColdWait: 800 * time.Millisecond})
	errc := make(chan error, 1)
	go func() {
		_, err := r.Get(t.Context())
		errc <- err
	}()
	if err := clock.BlockUntilContext(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	clock.Advance(800 * time.Millisecond)
	err := <-errc
	var nc *NoCredentialsError
	if !errors.As(err, &nc) || nc.Class != Transient || !errors.Is(err, ErrNoCredentials) || !strings.Contains(err.Error(), "still running") {
		t.Fatalf("want a pending NoCredentialsError, got %v", err)
	}
	close(release)
	waitFetch(t, r)
	if c, err := r.Get(t.Context()); err != nil || c.AccessKeyID == "" {
		t.Fatalf("after the fetch: %v %v", c, err)
	}
	if ff.count() != 1 {
		t.Errorf("%d fetches, want 1", ff.count())
	}
}

func TestContextCancelWhileCold(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	ff := newFakeFetcher(clock, time.Hour)
	ff.block = make(chan struct{})
	r := newTestRefresher(t, Config{Fetcher: ff, Clock: clock})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := r.Get(ctx)
	if !errors.Is(err, ErrNoCredentials) || !errors.Is(err, errFetchPending) {
		t.Fatalf("got %v", err)
	}
	close(ff.block)
	waitFetch(t, r)
}

// During backoff a caller with nothing to serve gets the typed error at once.
func TestTransientFailureBacksOffWithoutHammering(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	ff := newFakeFetcher(clock, time.Hour)
	ff.setFail(func(int, time.Time) error { return transientErr("upstream said 503 Service Unavailable") })
	ev := &recEvents{}
	r := newTestRefresher(t, Config{Fetcher: ff, Clock: clock, Events: ev, Rand: func() float64 { return 0 }})
	_, err := r.Get(t.Context())
	var nc *NoCredentialsError
	if !errors.As(err, &nc) || nc.Class != Transient || nc.NextRetry.IsZero() {
		t.Fatalf("got %v", err)
	}
	if !strings.Contains(err.Error(), "no valid keys yet: upstream said 503") || !strings.Contains(err.Error(), "next attempt at") {
		t.Errorf("message: %s", err)
	}
	for range 100 {
		if _, err := r.Get(t.Context()); !errors.Is(err, ErrNoCredentials) {
			t.Fatalf("got %v", err)
		}
	}
	if ff.count() != 1 {
		t.Fatalf("%d fetches during backoff, want 1", ff.count())
	}
	clock.Advance(500 * time.Millisecond) // first backoff step with u=0
	_, _ = r.Get(t.Context())
	if ff.count() != 2 {
		t.Fatalf("%d fetches after the backoff step, want 2", ff.count())
	}
	st := r.Status()
	if st.ConsecutiveFailures != 2 || st.LastErrorClass != Transient || st.LastError == "" || st.NextRetry.IsZero() {
		t.Errorf("status: %+v", st)
	}
	if ev.failed != 2 {
		t.Errorf("events: %+v", ev)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	ff := newFakeFetcher(clock, time.Hour)
	ff.setFail(func(n int, _ time.Time) error {
		if n == 1 {
			return retryAfterErr("429 Too Many Requests", 40*time.Second)
		}
		return nil
	})
	r := newTestRefresher(t, Config{Fetcher: ff, Clock: clock})
	_, _ = r.Get(t.Context())
	clock.Advance(39 * time.Second)
	if _, err := r.Get(t.Context()); err == nil || ff.count() != 1 {
		t.Fatalf("retried before Retry-After: %d fetches", ff.count())
	}
	clock.Advance(time.Second)
	if _, err := r.Get(t.Context()); err != nil || ff.count() != 2 {
		t.Fatalf("after Retry-After: %v, %d fetches", err, ff.count())
	}
}

// However callers and backoff push, fetches never exceed MaxRate.
func TestMaxRateCapsFetches(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	ff := newFakeFetcher(clock, time.Hour)
	ff.setFail(func(int, time.Time) error { return transientErr("connection reset") })
	r := newTestRefresher(t, Config{
		Fetcher: ff, Clock: clock,
		Backoff: Backoff{Base: time.Millisecond, Max: 2 * time.Millisecond},
		MaxRate: rate.Every(5 * time.Second), Burst: 2,
	})
	for range 600 { // 60 s in 100 ms steps, a caller every step
		_, _ = r.Get(t.Context())
		waitFetch(t, r)
		clock.Advance(100 * time.Millisecond)
	}
	if n := ff.count(); n > 2+12 || n < 10 {
		t.Fatalf("%d fetches in 60 s, want at most burst 2 + 12", n)
	}
	st := r.Status()
	if !strings.Contains(st.LastError, "connection reset") {
		t.Errorf("status: %+v", st)
	}
}

// Unrecoverable: no fetch until the fingerprint changes; old valid keys keep being
// served; then the typed error; then one fetch after the input changes.
func TestUnrecoverableStopsUntilInputChanges(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	base := newFakeFetcher(clock, time.Hour)
	ff := newFPFetcher(base, "token-v1")
	ev := &recEvents{}
	r := newTestRefresher(t, Config{Fetcher: ff, Clock: clock, Events: ev, UnrecoverableRetry: -1})
	if _, err := r.Get(t.Context()); err != nil {
		t.Fatal(err)
	}
	base.setFail(func(int, time.Time) error { return rejectedErr("token is expired (401 Unauthenticated)") })
	clock.Advance(46 * time.Minute) // inside the window
	if c, err := r.Get(t.Context()); err != nil || c.AccessKeyID != "CWTEST00000001" {
		t.Fatalf("old keys must be served: %v %v", c, err)
	}
	waitFetch(t, r)
	if base.count() != 2 {
		t.Fatalf("%d fetches", base.count())
	}
	for range 100 { // still valid: served, no fetch
		clock.Advance(6 * time.Second)
		if _, err := r.Get(t.Context()); err != nil {
			t.Fatalf("old keys must be served until they expire: %v", err)
		}
	}
	clock.Advance(10 * time.Minute) // old keys now under the floor
	for range 50 {
		_, err := r.Get(t.Context())
		var nc *NoCredentialsError
		if !errors.As(err, &nc) || nc.Class != Unrecoverable || !nc.Unrecoverable() {
			t.Fatalf("want an unrecoverable NoCredentialsError, got %v", err)
		}
		if !strings.Contains(err.Error(), "identity not usable: token is expired") {
			t.Fatalf("message: %s", err)
		}
		clock.Advance(time.Minute)
	}
	if base.count() != 2 {
		t.Fatalf("%d fetches while stopped, want 2", base.count())
	}
	if st := r.Status(); !st.WaitingForInput || st.LastErrorClass != Unrecoverable || st.AccessKeyID != "" {
		t.Errorf("status: %+v", st)
	}
	if ev.refused != 50 || ev.failed != 1 || len(ev.classes) != 1 || ev.classes[0] != Unrecoverable {
		t.Errorf("events: %+v", ev)
	}
	base.setFail(nil)
	ff.fp.Store("token-v2")
	clock.Advance(DefaultFingerprintInterval)
	if c, err := r.Get(t.Context()); err != nil || c.AccessKeyID != "CWTEST00000003" {
		t.Fatalf("after the input changed: %v %v", c, err)
	}
	if base.count() != 3 {
		t.Fatalf("%d fetches, want 3", base.count())
	}
}

func TestUnrecoverableTimeBasedRetry(t *testing.T) {
	for name, tc := range map[string]struct {
		f    Fetcher
		wait time.Duration
	}{
		"with fingerprint":    {wait: DefaultUnrecoverableRetry},
		"without fingerprint": {wait: DefaultBackoffMax},
	} {
		t.Run(name, func(t *testing.T) {
			clock := clockwork.NewFakeClockAt(epoch)
			base := newFakeFetcher(clock, time.Hour)
			base.setFail(func(int, time.Time) error { return rejectedErr("access denied") })
			var f Fetcher = base
			if name == "with fingerprint" {
				f = newFPFetcher(base, "same")
			}
			r := newTestRefresher(t, Config{Fetcher: f, Clock: clock})
			_, _ = r.Get(t.Context())
			clock.Advance(tc.wait - time.Second)
			_, _ = r.Get(t.Context())
			if base.count() != 1 {
				t.Fatalf("%d fetches before the retry time", base.count())
			}
			clock.Advance(time.Second)
			_, _ = r.Get(t.Context())
			if base.count() != 2 {
				t.Fatalf("%d fetches at the retry time, want 2", base.count())
			}
		})
	}
}

// Keys that are already expired (a clock problem) are a transient failure.
func TestRejectsKeysThatAreAlreadyExpired(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	ff := newFakeFetcher(clock, 30*time.Second) // under the 1m floor
	r := newTestRefresher(t, Config{Fetcher: ff, Clock: clock})
	_, err := r.Get(t.Context())
	if !errors.Is(err, ErrNoCredentials) || !strings.Contains(err.Error(), "check the system clock") {
		t.Fatalf("got %v", err)
	}
}

func TestRunRefreshesAheadAndOnlyOnce(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	ff := newFakeFetcher(clock, time.Hour)
	r := newTestRefresher(t, Config{Fetcher: ff, Clock: clock})
	idle := startRun(t, r, clock)
	idle()
	if ff.count() != 1 {
		t.Fatalf("Run must fetch at start: %d", ff.count())
	}
	if err := r.Run(t.Context()); err == nil {
		t.Error("a second Run must be refused")
	}
	st := r.Status()
	if st.NextRefresh.Before(epoch.Add(time.Hour-22*time.Minute-35*time.Second)) || st.NextRefresh.After(epoch.Add(time.Hour-20*time.Minute-35*time.Second)) {
		t.Errorf("next refresh at %s", st.NextRefresh)
	}
	clock.Advance(st.NextRefresh.Sub(clock.Now()))
	idle()
	if ff.count() != 2 {
		t.Fatalf("%d fetches, want 2", ff.count())
	}
}

// Logs, errors and Status never contain a secret.
func TestNoSecretsInLogsErrorsOrStatus(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	ff := newFakeFetcher(clock, time.Hour)
	log, logs := observed()
	r := newTestRefresher(t, Config{Fetcher: ff, Clock: clock, Logger: log})
	c, err := r.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.SecretAccessKey, secretMarker) {
		t.Fatal("test fetcher must mint marked secrets")
	}
	ff.setFail(func(int, time.Time) error { return transientErr("503") })
	clock.Advance(59*time.Minute + 30*time.Second)
	_, err = r.Get(t.Context())
	if err == nil {
		t.Fatal("want an error")
	}
	assertNoSecret(t, "error", err.Error())
	assertNoSecret(t, "status", fmt.Sprintf("%+v", r.Status()))
	out := renderLogs(t, logs)
	assertNoSecret(t, "logs", out)
	if !strings.Contains(out, "CWTEST00000001") {
		t.Errorf("logs should name the key id: %s", out)
	}
}

func TestStatusDescribesServedKeys(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	ff := newFakeFetcher(clock, time.Hour)
	r := newTestRefresher(t, Config{Profile: "prod", Fetcher: ff, Clock: clock})
	if st := r.Status(); st.AccessKeyID != "" || !st.NextRefresh.Equal(time.Time{}) && st.NextRefresh.After(epoch) {
		t.Errorf("cold status: %+v", st)
	}
	_, _ = r.Get(t.Context())
	st := r.Status()
	want := creds.Credentials{AccessKeyID: "CWTEST00000001", Expiration: epoch.Add(time.Hour)}
	if st.Profile != "prod" || st.AccessKeyID != want.AccessKeyID || !st.Expiration.Equal(want.Expiration) ||
		st.Remaining != time.Hour || !st.LastRefresh.Equal(epoch) || st.Principal == "" || st.ConsecutiveFailures != 0 {
		t.Errorf("status: %+v", st)
	}
}

// AwaitPropagated holds the very first keys back until they are PropagationDelay
// old, returns at once for propagated keys, and gives up with the context.
func TestAwaitPropagated(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	ff := newFakeFetcher(clock, time.Hour)
	r := newTestRefresher(t, Config{Fetcher: ff, Clock: clock, Policy: policyWith(func(p *Policy) { p.PropagationDelay = 3 * time.Second })})
	if err := r.AwaitPropagated(t.Context()); err != nil {
		t.Fatalf("no keys yet: %v", err)
	}
	if _, err := r.Get(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := r.AwaitPropagated(ctx); err == nil || !strings.Contains(err.Error(), "reach S3") {
		t.Fatalf("cancelled: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- r.AwaitPropagated(t.Context()) }()
	if err := clock.BlockUntilContext(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		t.Fatalf("returned before the keys propagated: %v", err)
	default:
	}
	clock.Advance(3 * time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := r.AwaitPropagated(t.Context()); err != nil {
		t.Fatalf("propagated keys: %v", err)
	}
}

// advanceToNextAttempt advances the fake clock to the next fetch Run has planned
// (a retry, the rate limit's next token or a refresh) and waits until Run is
// parked again.
func advanceToNextAttempt(t *testing.T, r *Refresher, clock *clockwork.FakeClock, idle func()) {
	t.Helper()
	idle()
	next := r.Status().NextRefresh
	if !next.After(clock.Now()) {
		t.Fatalf("nothing planned (next %s, now %s)", next, clock.Now())
	}
	clock.Advance(next.Sub(clock.Now()))
	idle()
}

// fetchGaps drives Run until the fetcher has been called want times and returns
// the gaps between the calls.
func fetchGaps(t *testing.T, r *Refresher, ff *fakeFetcher, clock *clockwork.FakeClock, idle func(), want int) []time.Duration {
	t.Helper()
	for i := 0; ff.count() < want; i++ {
		if i > 10*want {
			t.Fatalf("only %d fetches", ff.count())
		}
		advanceToNextAttempt(t, r, clock, idle)
	}
	calls := ff.callTimes()
	gaps := make([]time.Duration, 0, len(calls)-1)
	for i := 1; i < len(calls); i++ {
		gaps = append(gaps, calls[i].Sub(calls[i-1]))
	}
	return gaps
}

// Holding nothing valid, a refresher retries at least every
// Backoff.MaxWithoutKeys (10 s), however many failures came before, so that it
// answers soon after the upstream recovers.
func TestColdBackoffIsCapped(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	ff := newFakeFetcher(clock, time.Hour)
	ff.setFail(func(n int, _ time.Time) error {
		if n <= 10 {
			return transientErr("upstream said 503")
		}
		return nil
	})
	r := newTestRefresher(t, Config{Fetcher: ff, Clock: clock, Rand: func() float64 { return 0.999 }})
	idle := startRun(t, r, clock)
	idle()
	gaps := fetchGaps(t, r, ff, clock, idle, 11)
	for i, g := range gaps {
		if g > DefaultBackoffMaxWithoutKeys {
			t.Errorf("gap %d between fetches is %s with no keys held, want at most %s (gaps %v)", i+1, g, DefaultBackoffMaxWithoutKeys, gaps)
		}
	}
	if gaps[len(gaps)-1] < DefaultBackoffMaxWithoutKeys/2 {
		t.Errorf("gaps %v: the capped backoff must still back off", gaps)
	}
	if _, err := r.Get(t.Context()); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

// An upstream Retry-After longer than the cap is still honoured when no keys
// are held.
func TestColdBackoffHonoursLongerRetryAfter(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	ff := newFakeFetcher(clock, time.Hour)
	ff.setFail(func(n int, _ time.Time) error {
		if n <= 3 {
			return retryAfterErr("429 Too Many Requests", 45*time.Second)
		}
		return nil
	})
	r := newTestRefresher(t, Config{Fetcher: ff, Clock: clock})
	idle := startRun(t, r, clock)
	idle()
	gaps := fetchGaps(t, r, ff, clock, idle, 4)
	for i, g := range gaps {
		if g < 45*time.Second {
			t.Errorf("gap %d is %s, shorter than the upstream's Retry-After of 45s (gaps %v)", i+1, g, gaps)
		}
	}
}

// Keys that run out while a long backoff is under way (refreshes failing while
// the old keys were still served) bring the next attempt forward: once nothing
// valid is left, the cold cap applies.
func TestBackoffShortensWhenKeysRunOut(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	ff := newFakeFetcher(clock, 30*time.Minute)
	r := newTestRefresher(t, Config{Fetcher: ff, Clock: clock, Rand: func() float64 { return 0.999 }})
	idle := startRun(t, r, clock)
	idle()
	ff.setFail(func(int, time.Time) error { return transientErr("upstream said 503") })
	keysEnd := epoch.Add(30*time.Minute - keypolicy.DefaultFloor) // below the floor from here
	for clock.Now().Before(keysEnd) {
		advanceToNextAttempt(t, r, clock, idle)
	}
	calls := ff.callTimes()
	if len(calls) < 5 {
		t.Fatalf("%d fetches; the test wants a long backoff under way", len(calls))
	}
	for _, at := range calls {
		if !at.Before(keysEnd) {
			if late := at.Sub(keysEnd); late > DefaultBackoffMaxWithoutKeys {
				t.Errorf("the first fetch after the keys ran out came %s later, want within %s", late, DefaultBackoffMaxWithoutKeys)
			}
			return
		}
	}
	t.Fatal("no fetch after the keys ran out")
}

// With AwaitPropagation, Get never returns keys younger than PropagationDelay:
// it waits for them when ColdWait covers the rest of the delay, and otherwise
// says at once when they will be served. Keys that stand in for propagating ones
// are served without a wait.
func TestAwaitPropagationInGet(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	ff := newFakeFetcher(clock, time.Hour)
	ev := &recEvents{}
	r := newTestRefresher(t, Config{
		Fetcher: ff, Clock: clock, Events: ev, AwaitPropagation: true,
		ColdWait: 800 * time.Millisecond, Policy: policyWith(func(p *Policy) { p.PropagationDelay = 3 * time.Second }),
	})

	// Cold: the fetch is quick, the 3 s delay is beyond the 800 ms budget.
	_, err := r.Get(t.Context())
	var nc *NoCredentialsError
	if !errors.As(err, &nc) || nc.Class != Transient || !nc.NextRetry.Equal(epoch.Add(3*time.Second)) {
		t.Fatalf("cold Get: want a transient NoCredentialsError due at +3s, got %#v", err)
	}
	if !strings.Contains(err.Error(), "not accepted by S3 yet") || !strings.Contains(err.Error(), "served from") {
		t.Errorf("message: %s", err)
	}
	if st := r.Status(); ff.count() != 1 || st.AccessKeyID != "CWTEST00000001" || st.Propagated {
		t.Fatalf("%d fetches; status %+v", ff.count(), st)
	}

	// 2.5 s later the remaining 500 ms fit the budget: Get waits for them.
	clock.Advance(2500 * time.Millisecond)
	got := make(chan error, 1)
	var c creds.Credentials
	go func() {
		var err error
		c, err = r.Get(t.Context())
		got <- err
	}()
	if err := clock.BlockUntilContext(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		t.Fatalf("Get returned before the keys propagated: %v", err)
	default:
	}
	clock.Advance(500 * time.Millisecond)
	if err := <-got; err != nil || c.AccessKeyID != "CWTEST00000001" {
		t.Fatalf("after the delay: %v %v", c, err)
	}
	if ff.count() != 1 {
		t.Errorf("%d fetches, want 1", ff.count())
	}

	// Refresh ahead: the old keys are served at once while the new ones propagate.
	clock.Advance(45 * time.Minute)
	if c, err := r.Get(t.Context()); err != nil || c.AccessKeyID != "CWTEST00000001" {
		t.Fatalf("in the refresh window: %v %v", c, err)
	}
	waitFetch(t, r)
	if c, err := r.Get(t.Context()); err != nil || c.AccessKeyID != "CWTEST00000001" {
		t.Fatalf("while the new keys propagate: %v %v", c, err)
	}
	clock.Advance(3 * time.Second)
	if c, err := r.Get(t.Context()); err != nil || c.AccessKeyID != "CWTEST00000002" {
		t.Fatalf("after the new keys propagated: %v %v", c, err)
	}
}

// The caller's context ends a wait for propagation with the same answer.
func TestAwaitPropagationGivesUpWithContext(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	ff := newFakeFetcher(clock, time.Hour)
	r := newTestRefresher(t, Config{Fetcher: ff, Clock: clock, AwaitPropagation: true, Policy: policyWith(func(p *Policy) { p.PropagationDelay = 3 * time.Second })})
	ctx, cancel := context.WithCancel(t.Context())
	got := make(chan error, 1)
	go func() {
		_, err := r.Get(ctx) // no ColdWait: bounded by ctx alone
		got <- err
	}()
	if err := clock.BlockUntilContext(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	err := <-got
	var nc *NoCredentialsError
	if !errors.As(err, &nc) || !nc.NextRetry.Equal(epoch.Add(3*time.Second)) || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("got %v", err)
	}
	// Without AwaitPropagation the same keys are served at once.
	plain := newTestRefresher(t, Config{Fetcher: ff, Clock: clock, Policy: policyWith(func(p *Policy) { p.PropagationDelay = 3 * time.Second })})
	if _, err := plain.Get(t.Context()); err != nil {
		t.Fatal(err)
	}
}
