package cache

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
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
