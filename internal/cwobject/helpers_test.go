package cwobject

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// Credentials the tests pass in; no error or log line may ever contain them.
var (
	testToken     = "CW-SECRET-" + strings.Repeat("t0k3n", 8)
	testJWT       = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ3b3JrbG9hZCJ9." + strings.Repeat("c2lnbmF0dXJl", 4)
	testOIDCToken = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL2lkcCJ9." + strings.Repeat("b2lkYy1zaWc", 4)
	testSAML      = base64.StdEncoding.EncodeToString([]byte(`<samlp:Response ID="_x"><saml:Assertion>secret assertion</saml:Assertion></samlp:Response>`))
	testSecretKey = "cwo" + strings.Repeat("s3cr3tk3y0", 4)
	testKeyID     = "CWABCDEFGHIJ0123"
)

func allTestSecrets() []string {
	return []string{testToken, testJWT, testOIDCToken, testSAML, testSecretKey}
}

// seenRequest is what the fake API received.
type seenRequest struct {
	Method  string
	Path    string // escaped path as sent
	Query   string
	Header  http.Header
	Body    []byte
	Attempt int
}

// fakeAPI is an httptest server on 127.0.0.1 that records requests and answers
// with respond(attempt, w, r).
type fakeAPI struct {
	srv     *httptest.Server
	mu      sync.Mutex
	seen    []seenRequest
	respond func(attempt int, w http.ResponseWriter, r *http.Request)
}

func newFakeAPI(t *testing.T, respond func(attempt int, w http.ResponseWriter, r *http.Request)) *fakeAPI {
	t.Helper()
	f := &fakeAPI{respond: respond}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body)) // respond may read it again
		f.mu.Lock()
		n := len(f.seen)
		f.seen = append(f.seen, seenRequest{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery,
			Header: r.Header.Clone(), Body: body, Attempt: n})
		f.mu.Unlock()
		f.respond(n, w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAPI) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.seen...)
}

func (f *fakeAPI) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.seen)
}

// jsonReply answers with status and a JSON body.
func jsonReply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func always(status int, body string) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) { jsonReply(w, status, body) }
}

// recordingClock is a fake clock that remembers every wait the client asked for.
type recordingClock struct {
	*clockwork.FakeClock
	mu     sync.Mutex
	delays []time.Duration
}

func newRecordingClock() *recordingClock {
	// Start at wall time (whole seconds, for HTTP-dates) so that a real context
	// deadline and the fake clock agree on "now".
	return &recordingClock{FakeClock: clockwork.NewFakeClockAt(time.Now().Truncate(time.Second))}
}

func (c *recordingClock) NewTimer(d time.Duration) clockwork.Timer {
	c.mu.Lock()
	c.delays = append(c.delays, d)
	c.mu.Unlock()
	return c.FakeClock.NewTimer(d)
}

func (c *recordingClock) After(d time.Duration) <-chan time.Time { return c.NewTimer(d).Chan() }

func (c *recordingClock) waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.delays...)
}

type testEnv struct {
	api    *fakeAPI
	client *Client
	clock  *recordingClock
	logs   *observer.ObservedLogs
}

// newEnv starts a fake API and a client for it with a recording fake clock,
// jitter fixed at its maximum, and an observed logger.
func newEnv(t *testing.T, respond func(int, http.ResponseWriter, *http.Request), tweak ...func(*Config)) *testEnv {
	t.Helper()
	api := newFakeAPI(t, respond)
	clk := newRecordingClock()
	core, logs := observer.New(zapcore.DebugLevel)
	cfg := Config{
		BaseURL:   api.srv.URL,
		UserAgent: "cwcreds/test",
		Token:     testToken,
		Clock:     clk,
		Logger:    zap.New(core),
		Rand:      func() float64 { return 1 },
	}
	for _, f := range tweak {
		f(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &testEnv{api: api, client: c, clock: clk, logs: logs}
}

// runAsync calls f in a goroutine; the result arrives on the returned channel.
func runAsync(f func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- f() }()
	return ch
}

// advanceThrough waits for the client to start each of n waits and advances the
// fake clock by exactly the delay it asked for.
func (e *testEnv) advanceThrough(t *testing.T, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < n; i++ {
		if err := e.clock.BlockUntilContext(ctx, 1); err != nil {
			t.Fatalf("wait %d never started: %v", i+1, err)
		}
		w := e.clock.waits()
		e.clock.Advance(w[len(w)-1])
	}
}

// assertNoSecrets fails if s contains any test credential.
func assertNoSecrets(t *testing.T, what, s string) {
	t.Helper()
	for _, sec := range allTestSecrets() {
		if strings.Contains(s, sec) {
			t.Fatalf("%s contains a secret: %q", what, s)
		}
	}
}
