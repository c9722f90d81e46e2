package cache

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cwcreds/cwcreds/internal/creds"
)

func warmRefresher(b *testing.B) *Refresher {
	b.Helper()
	clock := clockwork.NewRealClock()
	r, err := NewRefresher(Config{Profile: "bench", Fetcher: newFakeFetcher(clock, time.Hour), Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := r.Get(context.Background()); err != nil {
		b.Fatal(err)
	}
	return r
}

// The hot path: a valid cached value. Target: < 1 µs, 0 allocs/op.
func BenchmarkRefresherGetHit(b *testing.B) {
	r := warmRefresher(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Get(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRefresherGetHitParallel(b *testing.B) {
	r := warmRefresher(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := r.Get(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// credential_process on a warm cache: stat, open, read and decode one file.
func BenchmarkDiskGetOrFetchWarm(b *testing.B) {
	clock := clockwork.NewRealClock()
	s, err := NewDiskStore(DiskConfig{Dir: filepath.Join(b.TempDir(), "c"), Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	ff := newFakeFetcher(clock, time.Hour)
	ctx := context.Background()
	if _, err := s.GetOrFetch(ctx, Key{Profile: "default"}, ff, Policy{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.GetOrFetch(ctx, Key{Profile: "default"}, ff, Policy{}); err != nil {
			b.Fatal(err)
		}
	}
	if ff.count() != 1 {
		b.Fatalf("%d fetches", ff.count())
	}
}

// jwtSized is a token of a realistic projected service-account token size (~1 KiB).
func jwtSized(i int) string {
	return fmt.Sprintf("eyJ%06d.", i) + strings.Repeat("x", 1000)
}

// The agent's hot path: hash the token, LRU lookup, Refresher hit.
func BenchmarkAgentCacheGetHit(b *testing.B) {
	clock := clockwork.NewRealClock()
	a, err := NewAgentCache(AgentConfig{Identity: Config{Clock: clock}})
	if err != nil {
		b.Fatal(err)
	}
	tok := jwtSized(1)
	nf := func() Fetcher { return newFakeFetcher(clock, time.Hour) }
	ctx := context.Background()
	if _, err := a.Get(ctx, tok, nf); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Get(ctx, tok, nf); err != nil {
			b.Fatal(err)
		}
	}
}

// mintFetcher holds only its token and mints keys of realistic sizes, so the
// measurement is the cache's cost per identity plus what a real fetcher keeps.
type mintFetcher struct {
	token string
	clock clockwork.Clock
}

func (m *mintFetcher) Fetch(context.Context) (creds.Credentials, error) {
	id := fmt.Sprintf("CW%014d", len(m.token))
	return creds.Credentials{
		AccessKeyID:     id,
		SecretAccessKey: "cwo" + strings.Repeat("k", 40),
		Expiration:      m.clock.Now().Add(time.Hour),
		Principal:       "role/https://oidc.example.com:system:serviceaccount:team:app",
	}, nil
}

// Memory per cached identity with 10,000 identities (keys fetched, LRU full).
func BenchmarkAgentCacheMemory10k(b *testing.B) {
	for _, tc := range []struct {
		name      string
		withToken bool
	}{{"engine", false}, {"with-1KiB-token", true}} {
		b.Run(tc.name, func(b *testing.B) {
			const n = 10000
			clock := clockwork.NewRealClock()
			ctx := context.Background()
			tokens := make([]string, n)
			for i := range tokens {
				tokens[i] = jwtSized(i)
			}
			var perIdentity float64
			for b.Loop() {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				a, err := NewAgentCache(AgentConfig{Identity: Config{Clock: clock}, MaxEntries: n, UpstreamRate: 1e9, UpstreamBurst: n})
				if err != nil {
					b.Fatal(err)
				}
				for i, tok := range tokens {
					kept := ""
					if tc.withToken {
						kept = strings.Clone(tok) // what a fetcher closure keeps
					}
					if _, err := a.Get(ctx, tok, func() Fetcher { return &mintFetcher{token: kept, clock: clock} }); err != nil {
						b.Fatalf("identity %d: %v", i, err)
					}
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				perIdentity = float64(after.HeapAlloc-before.HeapAlloc) / n
				runtime.KeepAlive(a)
			}
			b.ReportMetric(perIdentity, "bytes/identity")
		})
	}
}
