package server

import (
	"context"
	"crypto/subtle"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/cache"
	"github.com/cwcreds/cwcreds/internal/creds"
)

// benchServer serves one warm cache.Refresher with metrics and events wired, as
// `cwcreds serve` does.
func benchServer(b *testing.B) (*Server, *http.Request, []byte) {
	b.Helper()
	clock := clockwork.NewRealClock()
	m, err := NewMetrics(NewRegistry(), clock)
	if err != nil {
		b.Fatal(err)
	}
	r, err := cache.NewRefresher(cache.Config{
		Profile: "default", Clock: clock, Events: NewObserver(m, nil),
		Fetcher: cache.FetcherFunc(func(context.Context) (creds.Credentials, error) {
			return sampleCreds(time.Now().Add(time.Hour)), nil
		}),
	})
	if err != nil {
		b.Fatal(err)
	}
	c, err := r.Get(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(Config{Token: testToken, Metrics: m, Logger: zap.NewNop(), Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.SetProfiles("default", map[string]Provider{"default": r}); err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, CredentialsPath, nil)
	req.Host = "127.0.0.1:9911"
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", testToken)
	return s, req, c.ContainerJSON()
}

// bareHandler is the yardstick of issue 4: a minimal handler doing the same token
// check and writing the same bytes, with nothing else.
func bareHandler(body []byte) http.Handler {
	want := []byte(testToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(body)
	})
}

// sinkWriter is a reusable ResponseWriter, to measure a handler's own allocations.
type sinkWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *sinkWriter) Header() http.Header         { return w.h }
func (w *sinkWriter) WriteHeader(code int)        { w.code = code }
func (w *sinkWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }

func BenchmarkServeCredentials(b *testing.B) {
	s, req, body := benchServer(b)
	h := s.Handler(testAddr)
	run := func(b *testing.B, h http.Handler) {
		b.ReportAllocs()
		for b.Loop() {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d", w.Code)
			}
		}
	}
	b.Run("cwcreds", func(b *testing.B) { run(b, h) })
	b.Run("bare", func(b *testing.B) { run(b, bareHandler(body)) })
}

// BenchmarkServeCredentialsHandlerOnly leaves out the recorder: what remains is
// the handler's own cost (target: 1 alloc/op, the bounded wait's context).
func BenchmarkServeCredentialsHandlerOnly(b *testing.B) {
	s, req, _ := benchServer(b)
	h := s.Handler(testAddr)
	w := &sinkWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
		if w.code != http.StatusOK {
			b.Fatalf("status %d", w.code)
		}
	}
}

func BenchmarkServeCredentialsParallel(b *testing.B) {
	s, req, _ := benchServer(b)
	h := s.Handler(testAddr)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &sinkWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			h.ServeHTTP(w, req)
			if w.code != http.StatusOK {
				b.Errorf("status %d", w.code)
				return
			}
		}
	})
}

// BenchmarkLoopback compares the endpoint with the bare handler over real loopback
// connections, both behind NewHTTPServer's settings (keep-alive clients, in the same
// process). Compare the two figures of one run; wrk gives the real numbers.
func BenchmarkLoopback(b *testing.B) {
	s, _, body := benchServer(b)
	for _, tc := range []struct {
		name string
		h    func(net.Addr) http.Handler
	}{
		{"cwcreds", s.Handler},
		{"bare", func(net.Addr) http.Handler { return bareHandler(body) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ln, err := Listen(ctx, ListenConfig{Addr: "127.0.0.1:0"})
			if err != nil {
				b.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- Serve(ctx, ln, tc.h(ln.Addr()), ListenConfig{}) }()
			client := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64}}
			url := "http://" + ln.Addr().String() + CredentialsPath
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				req.Header.Set("Authorization", testToken)
				for pb.Next() {
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.StopTimer()
			cancel()
			<-done
		})
	}
}
