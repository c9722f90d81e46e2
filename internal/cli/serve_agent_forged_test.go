package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cwcreds/cwcreds/internal/cache"
	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/keypolicy"
	"github.com/cwcreds/cwcreds/internal/server"
)

// Tokens of the right shape that CoreWeave refuses cost anyone nothing to make,
// and the listener lets tokens of almost 12 KiB through: however many a pod
// sends, the ones that never got keys wait in at most a tenth of
// --max-identities, so they cannot take the agent past the chart's 128Mi.
func TestAgentForgedTokensMemoryBounded(t *testing.T) {
	const n = 1500 // more than the pending room at the default --max-identities
	clock := clockwork.NewRealClock()
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"code":"Unauthenticated","message":"token signature is invalid"}`)
	}))
	defer stub.Close()
	client, err := cwobject.New(cwobject.Config{BaseURL: stub.URL, HTTPClient: stub.Client(), Clock: clock, Retry: cwobject.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ac, err := cache.NewAgentCache(cache.AgentConfig{Identity: cache.Config{Profile: server.AgentProfile, Clock: clock, Policy: keypolicy.For(time.Hour)},
		MaxEntries: cache.DefaultAgentMaxEntries, UpstreamRate: cache.DefaultAgentUpstreamRate, UpstreamBurst: cache.DefaultAgentUpstreamBurst})
	if err != nil {
		t.Fatal(err)
	}
	p := &agentExchanges{cache: ac, client: client, orgID: "org-x", lifetime: time.Hour, clock: clock}
	srv, err := server.New(server.Config{Clock: clock, Agent: &server.AgentConfig{Provider: p, Audience: cwobject.RecommendedAudience}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := server.ListenConfig{Addr: "127.0.0.1:0"}
	ln, err := server.Listen(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = server.Serve(ctx, ln, srv.Handler(ln.Addr()), cfg) }()
	url := "http://" + ln.Addr().String() + server.CredentialsPath

	exp := time.Now().Add(time.Hour).Unix()
	pad := strings.Repeat("x", 8850) // base64 of the claims: ~12 KiB, just under the header limit
	token := func(k int) string {
		claims := fmt.Sprintf(`{"iss":"https://evil","sub":"s%d","aud":[%q],"exp":%d,"pad":"%s"}`, k, cwobject.RecommendedAudience, exp, pad)
		return unsignedToken(claims)
	}
	hc := &http.Client{}
	send := func(k int) int {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", token(k))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	if st := send(-1); st == http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("a %d-byte token was refused by the header limit", len(token(-1)))
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	statuses := map[int]int{}
	for k := range n {
		statuses[send(k)]++
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	grown := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / (1 << 20)
	t.Logf("token %d bytes; statuses %v; %d identities held; heap grew %.1f MiB for %d forged tokens",
		len(token(0)), statuses, ac.Len(), grown, n)
	if room := cache.DefaultAgentMaxEntries / 10; ac.Len() > room+1 {
		t.Errorf("%d forged identities held, want at most %d", ac.Len(), room+1)
	}
	if grown > 32 {
		t.Errorf("forged tokens grew the heap by %.1f MiB", grown)
	}
}
