package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cwcreds/cwcreds/internal/cache"
	"github.com/cwcreds/cwcreds/internal/creds"
)

// Markers that must never appear in logs, metrics or error bodies.
const (
	secretMarker  = "SECRETKEYMARKER"
	sessionMarker = "SESSIONTOKENMARKER"
	testToken     = "AUTHTOKENMARKER-0123456789abcdefghijklmnopqrstuv"
)

var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// testAddr is the address the recorder-based tests pretend to listen on.
var testAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9911}

func sampleCreds(exp time.Time) creds.Credentials {
	return creds.Credentials{
		AccessKeyID:     "CWKEYID0001",
		SecretAccessKey: secretMarker + "-1",
		SessionToken:    sessionMarker + "-1",
		Expiration:      exp,
		Principal:       "role/https://issuer.test:sa",
	}
}

// staticProvider returns fixed keys or a fixed error and counts calls.
type staticProvider struct {
	mu    sync.Mutex
	c     creds.Credentials
	err   error
	calls atomic.Int64
}

func (p *staticProvider) Get(context.Context) (creds.Credentials, error) {
	p.calls.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.c, p.err
}

func (p *staticProvider) set(c creds.Credentials, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.c, p.err = c, err
}

// blockingProvider waits for its context (or release) and records what it saw.
type blockingProvider struct {
	entered  chan struct{} // receives once per call, when the call starts waiting
	release  chan struct{}
	c        creds.Credentials
	deadline atomic.Pointer[time.Time]
	ctxErr   atomic.Value // error the context ended with
}

func newBlockingProvider(c creds.Credentials) *blockingProvider {
	return &blockingProvider{entered: make(chan struct{}, 16), release: make(chan struct{}), c: c}
}

func (p *blockingProvider) Get(ctx context.Context) (creds.Credentials, error) {
	if d, ok := ctx.Deadline(); ok {
		p.deadline.Store(&d)
	}
	p.entered <- struct{}{}
	select {
	case <-p.release:
		return p.c, nil
	case <-ctx.Done():
		p.ctxErr.Store(ctx.Err())
		return creds.Credentials{}, ctx.Err()
	}
}

type fixture struct {
	t       testing.TB
	s       *Server
	reg     *prometheus.Registry
	m       *Metrics
	logs    *observer.ObservedLogs
	log     *zap.Logger
	clock   *clockwork.FakeClock
	handler http.Handler
}

// newFixture returns a Server with metrics, a debug-level observed logger and a
// fake clock at epoch, serving profiles (the first one named "default" is the
// default, if any).
func newFixture(t testing.TB, coldWait time.Duration, profiles map[string]Provider) *fixture {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(core)
	clock := clockwork.NewFakeClockAt(epoch)
	reg := NewRegistry()
	m, err := NewMetrics(reg, clock)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Token: testToken, ColdWait: coldWait, Metrics: m, Logger: log, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	def := ""
	if _, ok := profiles["default"]; ok {
		def = "default"
	}
	if err := s.SetProfiles(def, profiles); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, s: s, reg: reg, m: m, logs: logs, log: log, clock: clock, handler: s.Handler(testAddr)}
	t.Cleanup(func() { f.assertNoSecretsLogged() })
	return f
}

// request builds a request as a well-behaved SDK sends it.
func (f *fixture) request(method, target string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	r.Host = "127.0.0.1:9911"
	r.Header.Set("Accept", "application/json")
	r.Header.Set("Authorization", testToken)
	return r
}

func (f *fixture) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, r)
	if w.Code != http.StatusOK { // a success carries the keys by design
		assertNoLeak(f.t, "response body", w.Body.String())
	}
	for k, v := range w.Header() {
		assertNoLeak(f.t, "header "+k, strings.Join(v, ","))
	}
	return w
}

func (f *fixture) get(target string) *httptest.ResponseRecorder {
	return f.serve(f.request(http.MethodGet, target))
}

// assertNoSecretsLogged scans every field of every log line.
func (f *fixture) assertNoSecretsLogged() {
	f.t.Helper()
	for _, e := range f.logs.All() {
		assertNoLeak(f.t, "log message", e.Message)
		for k, v := range e.ContextMap() {
			assertNoLeak(f.t, "log field "+k, fmt.Sprint(v))
		}
	}
}

// assertNoLeak fails when s contains a secret key, session token or auth token.
// Error bodies may legitimately carry neither.
func assertNoLeak(t testing.TB, where, s string) {
	t.Helper()
	for _, m := range []string{secretMarker, sessionMarker, testToken, "AUTHTOKENMARKER"} {
		if strings.Contains(s, m) {
			t.Errorf("%s leaks %q: %s", where, m, s)
		}
	}
}

type recorder = httptest.ResponseRecorder

// wantStatus checks the status and, when code is set, the error body's shape.
func wantStatus(t *testing.T, w *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d; body %s", w.Code, status, w.Body)
	}
	if code == "" {
		return
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type %q, want application/json", ct)
	}
	body := w.Body.String()
	for _, k := range []string{`"code":"` + code + `"`, `"Code":"` + code + `"`, `"message":"`, `"Message":"`} {
		if !strings.Contains(body, k) {
			t.Errorf("error body lacks %s: %s", k, body)
		}
	}
}

// rawRequest sends raw bytes on a new connection to addr and returns what came back
// before the server closed the connection or timeout passed.
func rawRequest(t *testing.T, addr, raw string, timeout time.Duration) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(c)
	return string(b)
}

// serveReal serves h on a real 127.0.0.1:0 listener with cfg until the test ends.
func serveReal(t *testing.T, cfg ListenConfig, h func(net.Addr) http.Handler) (net.Addr, func() error) {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := Listen(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, h(ln.Addr()), cfg) }()
	var once sync.Once
	var serveErr error
	stop := func() error {
		once.Do(func() { cancel(); serveErr = <-done })
		return serveErr
	}
	t.Cleanup(func() { _ = stop() })
	return ln.Addr(), stop
}

// newRefresher builds a cache.Refresher on the fixture's clock and observer.
func (f *fixture) newRefresher(profile string, fetch cache.FetcherFunc) *cache.Refresher {
	f.t.Helper()
	r, err := cache.NewRefresher(cache.Config{
		Profile: profile, Fetcher: fetch, Clock: f.clock, Logger: f.log,
		Events: NewObserver(f.m, f.log),
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// unrecoverableErr imitates the exchange layer's rejected-identity error.
type unrecoverableErr struct{ msg string }

func (e *unrecoverableErr) Error() string       { return e.msg }
func (e *unrecoverableErr) Unrecoverable() bool { return true }

// testClient never uses a proxy from the environment.
func testClient() *http.Client {
	return &http.Client{Transport: &http.Transport{Proxy: nil}, Timeout: 10 * time.Second}
}

// waitFor repeats a GET until its body contains want: a Refresher fetches on its own
// goroutine, so the answer that follows a fetch may take a few requests to show.
// Each request waits up to ColdWait for the fetch, so this never spins idly.
func (f *fixture) waitFor(target, want string) *recorder {
	f.t.Helper()
	var w *recorder
	for range 100 {
		if w = f.get(target); strings.Contains(w.Body.String(), want) {
			return w
		}
	}
	f.t.Fatalf("GET %s never answered with %q; last: %d %s", target, want, w.Code, w.Body)
	return w
}
