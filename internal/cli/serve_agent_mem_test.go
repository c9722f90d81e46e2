package cli

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"golang.org/x/time/rate"

	"github.com/cwcreds/cwcreds/internal/cache"
	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/keypolicy"
)

// unsignedToken is a JWT of the given claims JSON with an RS256 header and a
// stand-in signature: the shape the agent checks, which only CoreWeave verifies.
func unsignedToken(claims string) string {
	return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".c2lnbmF0dXJl"
}

// agentHeapPerIdentity fills the agent's real provider (AgentCache, an
// OIDCExchange per token, the cwobject client) with n identities whose tokens are
// the size of a projected service-account token (~1 KiB), and returns the heap
// they hold, per identity, after a GC. The upstream is a stub answering the
// exchange, so only the agent's own memory is measured.
func agentHeapPerIdentity(tb testing.TB, n int) (perIdentity float64, tokenLen int) {
	tb.Helper()
	clock := clockwork.NewRealClock()
	exp := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	var i int
	stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i++
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"accessKeyId":"CW%014d","secretKey":"cwo%040d","principalName":"role/https://kubernetes.default.svc:system:serviceaccount:bench:pod-%d","expiry":%q}`, i, i, i, exp)
	}))
	defer stub.Close()
	client, err := cwobject.New(cwobject.Config{BaseURL: stub.URL, HTTPClient: stub.Client(), Clock: clock, Retry: cwobject.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		tb.Fatal(err)
	}
	pol := keypolicy.For(time.Hour)
	pol.PropagationDelay = 0
	tokens := make([]string, n)
	pad := strings.Repeat("x", 700) // a kubelet token's claims are ~1 KiB with its signature
	for k := range tokens {
		claims := fmt.Sprintf(`{"iss":"https://kubernetes.default.svc","sub":"system:serviceaccount:bench:pod-%d","aud":["https://coreweave.com/iam"],"exp":%d,"pad":"%s"}`, k, time.Now().Add(time.Hour).Unix(), pad)
		tokens[k] = unsignedToken(claims)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ac, err := cache.NewAgentCache(cache.AgentConfig{Identity: cache.Config{Profile: "agent", Clock: clock, Policy: pol},
		MaxEntries: n, UpstreamRate: rate.Inf, UpstreamBurst: n})
	if err != nil {
		tb.Fatal(err)
	}
	p := &agentExchanges{cache: ac, client: client, orgID: "org-bench", lifetime: time.Hour, clock: clock}
	for _, tok := range tokens {
		admit := func() (time.Time, error) { return time.Now().Add(time.Hour), nil }
		if _, err := p.Get(context.Background(), strings.Clone(tok), admit); err != nil { // the request's own copy
			tb.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(p)
	if ac.Len() != n {
		tb.Fatalf("%d identities cached, want %d", ac.Len(), n)
	}
	return float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n), len(tokens[0])
}

// Bytes per identity, reported and bounded: at the default --max-identities
// (10,000) the agent's cache stays within tens of MB.
func TestAgentBytesPerIdentity(t *testing.T) {
	per, tokenLen := agentHeapPerIdentity(t, 2000)
	t.Logf("%.0f bytes of heap per cached identity (tokens of %d bytes)", per, tokenLen)
	if per > 6<<10 {
		t.Errorf("%.0f bytes per identity, want at most %d", per, 6<<10)
	}
}

func BenchmarkAgentBytesPerIdentity(b *testing.B) {
	var per float64
	for b.Loop() {
		per, _ = agentHeapPerIdentity(b, 1000)
	}
	b.ReportMetric(per, "bytes/identity")
}
