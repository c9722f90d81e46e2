package cache

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/time/rate"

	"github.com/cwcreds/cwcreds/internal/creds"
)

func newTestAgent(t *testing.T, cfg AgentConfig) *AgentCache {
	t.Helper()
	a, err := NewAgentCache(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// fakeToken looks like a projected service-account token and is marked secret.
func fakeToken(i int) string {
	return fmt.Sprintf("eyJhbGciOiJSUzI1NiJ9.%s-pod-%d.signature", secretMarker, i)
}

func TestAgentCacheOneFetchPerToken(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	log, logs := observed()
	a := newTestAgent(t, AgentConfig{Identity: Config{Clock: clock, Logger: log}})
	fetchers := map[int]*fakeFetcher{}
	var mu sync.Mutex
	newFetcher := func(i int) func() Fetcher {
		return func() Fetcher {
			mu.Lock()
			defer mu.Unlock()
			if fetchers[i] == nil {
				fetchers[i] = newFakeFetcher(clock, time.Hour)
			}
			return fetchers[i]
		}
	}
	var wg sync.WaitGroup
	for range 200 { // 200 concurrent requests over 4 identities
		for i := range 4 {
			wg.Go(func() {
				if _, err := a.Get(t.Context(), fakeToken(i), newFetcher(i)); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	if a.Len() != 4 {
		t.Fatalf("%d identities, want 4", a.Len())
	}
	for i, f := range fetchers {
		if f.count() != 1 {
			t.Errorf("identity %d: %d fetches, want 1", i, f.count())
		}
	}
	out := renderLogs(t, logs)
	assertNoSecret(t, "agent logs", out)
	if !strings.Contains(out, `"identity":"`) {
		t.Errorf("logs should name identities by token hash: %s", out)
	}
}

func TestAgentCacheIsBounded(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	a := newTestAgent(t, AgentConfig{Identity: Config{Clock: clock}, MaxEntries: 3})
	for i := range 10 {
		if _, err := a.Get(t.Context(), fakeToken(i), func() Fetcher { return newFakeFetcher(clock, time.Hour) }); err != nil {
			t.Fatal(err)
		}
	}
	if a.Len() != 3 {
		t.Fatalf("%d identities, want 3", a.Len())
	}
}

// Identities whose tokens are no longer presented are not refreshed, and are
// dropped once their keys expire.
func TestAgentCacheDropsAbandonedIdentities(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	a := newTestAgent(t, AgentConfig{Identity: Config{Clock: clock}})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	gone := newFakeFetcher(clock, time.Hour)
	alive := newFakeFetcher(clock, time.Hour)
	if _, err := a.Get(t.Context(), fakeToken(1), func() Fetcher { return gone }); err != nil {
		t.Fatal(err)
	}
	for step := 0; step < 150; step++ { // 2.5 hours, the live pod asks every minute
		if _, err := a.Get(t.Context(), fakeToken(2), func() Fetcher { return alive }); err != nil {
			t.Fatal(err)
		}
		if err := clock.BlockUntilContext(t.Context(), 1); err != nil { // Run's ticker
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
		if step == 30 && a.Len() != 2 {
			t.Fatalf("at 30m the idle identity still holds valid keys and must be kept; %d left", a.Len())
		}
	}
	// Wait for a sweep after the last advance by running one directly.
	a.Sweep()
	if a.Len() != 1 {
		t.Fatalf("%d identities, want only the live one", a.Len())
	}
	if gone.count() != 1 {
		t.Errorf("the abandoned identity was fetched %d times, want 1", gone.count())
	}
	if n := alive.count(); n < 3 || n > 5 {
		t.Errorf("the live identity was fetched %d times in 2.5h of 1h keys", n)
	}
}

func TestAgentCacheRejectsBadInput(t *testing.T) {
	if _, err := NewAgentCache(AgentConfig{Identity: Config{Fetcher: newFakeFetcher(nil, 0)}}); err == nil {
		t.Error("a template Fetcher must be refused")
	}
	a := newTestAgent(t, AgentConfig{})
	if _, err := a.Get(t.Context(), "", func() Fetcher { return nil }); err == nil {
		t.Error("an empty token must be refused")
	}
	if _, err := a.Get(t.Context(), "x", func() Fetcher { return nil }); err == nil {
		t.Error("a nil fetcher must be refused")
	}
}

// Thousands of pods, each with its own token: one exchange per identity, and
// none again while the keys are cached, however often each pod asks.
func TestAgentCacheThousandsOfIdentities(t *testing.T) {
	const n = 3000
	clock := clockwork.NewFakeClockAt(epoch)
	a := newTestAgent(t, AgentConfig{Identity: Config{Clock: clock}, MaxEntries: n, UpstreamRate: rate.Inf})
	fetchers := make([]*fakeFetcher, n)
	for i := range fetchers {
		fetchers[i] = newFakeFetcher(clock, time.Hour)
	}
	newFetcherCalls := 0
	for round := range 3 {
		for i := range n {
			if _, err := a.Get(t.Context(), fakeToken(i), func() Fetcher { newFetcherCalls++; return fetchers[i] }); err != nil {
				t.Fatalf("round %d identity %d: %v", round, i, err)
			}
		}
		clock.Advance(10 * time.Minute) // still well before the refresh window of 1h keys
	}
	if a.Len() != n {
		t.Fatalf("%d identities cached, want %d", a.Len(), n)
	}
	if newFetcherCalls != n {
		t.Errorf("built %d fetchers for %d identities", newFetcherCalls, n)
	}
	for i, f := range fetchers {
		if f.count() != 1 {
			t.Fatalf("identity %d was exchanged %d times, want 1", i, f.count())
		}
	}
}

// The shared limiter caps the exchanges of the whole agent: in any window of
// the fake clock, at most burst + rate × window of them start, however many new
// identities ask; the others are told they are rate limited.
func TestAgentCacheUpstreamRateNeverAboveLimit(t *testing.T) {
	const (
		limit = rate.Limit(5)
		burst = 10
	)
	clock := clockwork.NewFakeClockAt(epoch)
	a := newTestAgent(t, AgentConfig{Identity: Config{Clock: clock}, MaxEntries: 100000, UpstreamRate: limit, UpstreamBurst: burst})
	var mu sync.Mutex
	var starts []time.Time
	newFetcher := func() Fetcher {
		return fetcherFunc(func(context.Context) (creds.Credentials, error) {
			mu.Lock()
			starts = append(starts, clock.Now())
			mu.Unlock()
			return creds.Credentials{AccessKeyID: "CWTEST", SecretAccessKey: secretMarker, Expiration: clock.Now().Add(time.Hour)}, nil
		})
	}
	limited, served, next := 0, 0, 0
	for step := range 200 { // 20 s in steps of 100 ms, 30 new pods and every earlier one asking each step
		for range 30 {
			_, err := a.Get(t.Context(), fakeToken(next), newFetcher)
			next++
			switch {
			case err == nil:
				served++
			case errors.Is(err, ErrRateLimited):
				limited++
				var nc *NoCredentialsError
				if !errors.As(err, &nc) || nc.NextRetry.IsZero() || !strings.Contains(err.Error(), "agent") {
					t.Fatalf("a rate-limited caller must learn when to retry and why: %v", err)
				}
			default:
				t.Fatalf("step %d: %v", step, err)
			}
		}
		clock.Advance(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if limited == 0 || served == 0 {
		t.Fatalf("served %d, limited %d: the test must drive the agent past its limit", served, limited)
	}
	for i := range starts {
		for j := i; j < len(starts); j++ {
			window := starts[j].Sub(starts[i])
			if allowed := float64(burst) + float64(limit)*window.Seconds(); float64(j-i+1) > allowed+1e-9 {
				t.Fatalf("%d exchanges within %s, more than the %.1f the limit allows", j-i+1, window, allowed)
			}
		}
	}
	if max := float64(burst) + float64(limit)*20; float64(len(starts)) > max {
		t.Errorf("%d exchanges in 20 s, limit allows %.0f", len(starts), max)
	}
}

// Memory per cached identity, with a fetcher that keeps a 1 KiB token as the
// agent's does: reported, and bounded so that the default --max-identities
// (10,000) stays within tens of MB.
func TestAgentCacheBytesPerIdentity(t *testing.T) {
	const n = 5000
	clock := clockwork.NewFakeClockAt(epoch)
	tokens := make([]string, n)
	for i := range tokens {
		tokens[i] = jwtSized(i)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	a := newTestAgent(t, AgentConfig{Identity: Config{Clock: clock}, MaxEntries: n, UpstreamRate: rate.Inf})
	for _, tok := range tokens {
		kept := strings.Clone(tok)
		if _, err := a.Get(t.Context(), tok, func() Fetcher { return &mintFetcher{token: kept, clock: clock} }); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(a)
	runtime.KeepAlive(tokens) // in both readings, so they cancel out
	per := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	t.Logf("%d bytes of heap per cached identity (1 KiB token kept)", per)
	if per > 4096 {
		t.Errorf("%d bytes per identity, want at most 4096", per)
	}
}

type fetcherFunc func(context.Context) (creds.Credentials, error)

func (f fetcherFunc) Fetch(ctx context.Context) (creds.Credentials, error) { return f(ctx) }

// A token is admitted once; an admission failure caches nothing; a held token
// past its limit is refused without a fetch.
func TestAgentCacheGetAdmitted(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	a := newTestAgent(t, AgentConfig{Identity: Config{Clock: clock}})
	f := newFakeFetcher(clock, 2*time.Hour)
	admissions := 0
	admit := func() (Fetcher, time.Time, error) { admissions++; return f, epoch.Add(time.Hour), nil }
	for range 3 {
		if _, err := a.GetAdmitted(t.Context(), fakeToken(1), admit); err != nil {
			t.Fatal(err)
		}
	}
	if admissions != 1 || f.count() != 1 {
		t.Fatalf("%d admissions and %d fetches, want 1 and 1", admissions, f.count())
	}
	refused := errors.New("refused")
	if _, err := a.GetAdmitted(t.Context(), fakeToken(2), func() (Fetcher, time.Time, error) { return nil, time.Time{}, refused }); err != refused {
		t.Fatalf("admission error %v, want it unchanged", err)
	}
	if a.Len() != 1 {
		t.Fatalf("a refused token was cached")
	}
	clock.Advance(time.Hour)
	if _, err := a.GetAdmitted(t.Context(), fakeToken(1), admit); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("a token past its limit: %v", err)
	}
	if admissions != 1 || f.count() != 1 {
		t.Errorf("an expired token was admitted or fetched again")
	}
}
