package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/time/rate"

	"github.com/cwcreds/cwcreds/internal/cache"
	"github.com/cwcreds/cwcreds/internal/creds"
)

// cacheProvider is the agent's provider shape over a real AgentCache, with a
// fetcher that mints keys locally.
type cacheProvider struct {
	c     *cache.AgentCache
	clock clockwork.Clock
}

func (p *cacheProvider) Get(ctx context.Context, token string, admit func() (time.Time, error)) (creds.Credentials, error) {
	return p.c.GetAdmitted(ctx, token, func() (cache.Fetcher, time.Time, error) {
		na, err := admit()
		return cache.FetcherFunc(func(context.Context) (creds.Credentials, error) {
			return sampleCreds(p.clock.Now().Add(time.Hour)), nil
		}), na, err
	})
}

// BenchmarkAgentHandlerOnly: the agent's handler with 1,000 cached identities,
// each request another one (token check, hash, LRU, refresher, encoding).
func BenchmarkAgentHandlerOnly(b *testing.B) {
	clock := clockwork.NewRealClock()
	ac, err := cache.NewAgentCache(cache.AgentConfig{Identity: cache.Config{Profile: AgentProfile, Clock: clock}, UpstreamRate: rate.Inf})
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(Config{Clock: clock, Agent: &AgentConfig{Provider: &cacheProvider{c: ac, clock: clock}, Audience: testAudience}})
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler(testAddr)
	const n = 1000
	reqs := make([]*http.Request, n)
	pad := strings.Repeat("x", 500)
	for i := range reqs {
		c := podClaims(fmt.Sprintf("system:serviceaccount:bench:pod-%d", i), time.Now().Add(time.Hour))
		c["pad"] = pad
		r := httptest.NewRequest(http.MethodGet, CredentialsPath, nil)
		r.Host = "127.0.0.1:9911"
		r.Header.Set("Authorization", podJWT(c))
		reqs[i] = r
	}
	w := &sinkWriter{h: http.Header{}}
	for _, r := range reqs { // warm every identity
		clear(w.h)
		h.ServeHTTP(w, r)
		if w.code != http.StatusOK {
			b.Fatalf("status %d", w.code)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, reqs[i%n])
		i++
		if w.code != http.StatusOK {
			b.Fatalf("status %d", w.code)
		}
	}
}
