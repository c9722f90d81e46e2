package exchange

// The fault matrix: internal/cache's Refresher over the OIDC exchange and a token
// file, against the emulator's fault injection, on one fake clock shared by the
// emulator, the exchange and the refresher. Readers call Get every step, as SDKs
// polling a credentials endpoint do; the refresher runs on demand (no Run), so
// every fetch starts inside a Get and the test waits for it to finish before
// moving the clock again.
//
// For every fault class it checks:
//   - readers get keys that the emulator still accepts, until the last good keys
//     truly expire (less than the floor left); only then a clear error that names
//     the fault and holds no token;
//   - upstream calls (the emulator's own count) never exceed the configured rate
//     in any window;
//   - transient faults longer than one key lifetime: the first attempt after the
//     fault ends succeeds (recovery within one backoff step);
//   - unrecoverable faults: no call at all until the token file changes, then
//     recovery within one fingerprint check.

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/cwcreds/cwcreds/internal/cache"
	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/s3emu"
	"github.com/cwcreds/cwcreds/internal/keypolicy"
)

// The exchange satisfies the cache's interfaces without importing it.
var (
	_ cache.Fetcher            = (*OIDCExchange)(nil)
	_ cache.InputFingerprinter = (*OIDCExchange)(nil)
	_ cache.Fetcher            = (*ContainerCredsExchange)(nil)
	_ cache.Fetcher            = (*SAMLExchange)(nil)
	_ cache.Fetcher            = (*APITokenExchange)(nil)
	_ cache.Fetcher            = (*APITokenCredsExchange)(nil)
)

const (
	mxStep        = 10 * time.Second // between reader calls
	mxLifetime    = time.Hour        // key lifetime asked for
	mxFaultStart  = 30 * time.Minute // after the first keys
	mxFaultLength = 75 * time.Minute // longer than one key lifetime
	mxRetryAfter  = time.Minute      // sent with 429
	mxReqTimeout  = 5 * time.Second
	// mxShortTimeout is the request timeout of the latency case, where every
	// faulty call costs this much wall time.
	mxShortTimeout = 500 * time.Millisecond
	mxFPInterval   = 5 * time.Second
	mxBurst        = 2
	mxRateInterval = 30 * time.Second
)

var (
	mxBackoff = cache.Backoff{Base: time.Second, Max: 5 * time.Minute}
	mxPolicy  = cache.Policy{} // the defaults: 15m margin, 1m floor, 5s propagation
	mxFloor   = keypolicy.DefaultFloor
)

// countingSource counts identity reads: one per fetch the refresher starts.
type countingSource struct {
	*TokenFile
	mu sync.Mutex
	n  int
}

func (s *countingSource) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	s.n++
	s.mu.Unlock()
	return s.TokenFile.Token(ctx)
}

func (s *countingSource) reads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// recorder keeps the refresher's events.
type recorder struct {
	mu       sync.Mutex
	events   int
	minted   []creds.Credentials
	mintedAt []time.Time
	classes  []cache.Class
	signal   chan struct{}
	clockNow func() time.Time
}

func (r *recorder) note() {
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

func (r *recorder) Refreshed(_ string, c creds.Credentials, _ time.Duration) {
	r.mu.Lock()
	r.events++
	r.minted = append(r.minted, c)
	r.mintedAt = append(r.mintedAt, r.clockNow())
	r.mu.Unlock()
	r.note()
}

func (r *recorder) Failed(_ string, class cache.Class, _ error, _ time.Time) {
	r.mu.Lock()
	r.events++
	r.classes = append(r.classes, class)
	r.mu.Unlock()
	r.note()
}

func (r *recorder) Served(string, bool)   {}
func (r *recorder) ExpiredRefused(string) {}

func (r *recorder) snapshot() (events int, minted []creds.Credentials, mintedAt []time.Time, classes []cache.Class) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.events, append([]creds.Credentials(nil), r.minted...), append([]time.Time(nil), r.mintedAt...),
		append([]cache.Class(nil), r.classes...)
}

// matrix is one run of the refresher against the emulator.
type matrix struct {
	t     *testing.T
	v     *testEnv
	path  string
	src   *countingSource
	r     *cache.Refresher
	ev    *recorder
	start time.Time

	callTimes []time.Time // one entry per upstream call, at the fake time it happened
	lastCalls int
	readErrs  []error
	served    int
}

func newMatrix(t *testing.T, reqTimeout time.Duration) *matrix {
	t.Helper()
	v := newTestEnv(t)
	client, err := cwobject.New(cwobject.Config{
		BaseURL:    v.api.URL,
		HTTPClient: v.api.Client(),
		Clock:      v.clock,
		// One attempt per fetch: the refresher's backoff is the only retry loop,
		// so its rate limit bounds the upstream calls.
		Retry:          cwobject.RetryPolicy{MaxAttempts: 1},
		RequestTimeout: reqTimeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	m := &matrix{t: t, v: v, path: tempPath(t, "token"), start: v.clock.Now()}
	writeFile(t, m.path, v.mint("workload", 24*time.Hour))
	m.src = &countingSource{TokenFile: &TokenFile{Path: m.path, Clock: v.clock}}
	x, err := NewOIDCExchange(OIDCExchangeConfig{Client: client, Source: m.src, OrgID: v.emu.OrgID(), Lifetime: mxLifetime, Clock: v.clock})
	if err != nil {
		t.Fatal(err)
	}
	m.ev = &recorder{signal: make(chan struct{}, 1), clockNow: v.clock.Now}
	var rmu sync.Mutex
	rnd := rand.New(rand.NewPCG(1, 2))
	m.r, err = cache.NewRefresher(cache.Config{
		Profile:             "matrix",
		Fetcher:             x,
		Clock:               v.clock,
		Events:              m.ev,
		Policy:              mxPolicy,
		Backoff:             mxBackoff,
		MaxRate:             rate.Every(mxRateInterval),
		Burst:               mxBurst,
		FingerprintInterval: mxFPInterval,
		UnrecoverableRetry:  -1, // only a changed token file ends a stop
		Rand: func() float64 {
			rmu.Lock()
			defer rmu.Unlock()
			return rnd.Float64()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (m *matrix) now() time.Time { return m.v.clock.Now() }

// read is one reader's Get, then waits until every fetch it caused has ended.
func (m *matrix) read() (creds.Credentials, error) {
	m.t.Helper()
	c, cancel := context.WithTimeout(ctx(m.t), 30*time.Second)
	defer cancel()
	got, err := m.r.Get(c)
	m.waitIdle()
	m.recordCalls()
	m.check(got, err)
	return got, err
}

// waitIdle waits for one event per identity read (every fetch ends in exactly
// one Refreshed or Failed) and for no fetch to be in flight.
func (m *matrix) waitIdle() {
	m.t.Helper()
	timeout := time.NewTimer(30 * time.Second) // a safety net on wall time, not a wait for time to pass
	defer timeout.Stop()
	for {
		events, _, _, _ := m.ev.snapshot()
		if events == m.src.reads() && !m.r.Status().Fetching {
			return
		}
		select {
		case <-m.ev.signal:
		case <-timeout.C:
			m.t.Fatalf("a fetch did not finish: %d reads, %d events", m.src.reads(), events)
		}
	}
}

func (m *matrix) recordCalls() {
	n := m.v.emu.Calls()[cwobject.OpCreateAccessKeyFromOIDC.Name]
	for ; m.lastCalls < n; m.lastCalls++ {
		m.callTimes = append(m.callTimes, m.now())
	}
}

// check: served keys are accepted by the emulator and have more than the floor
// left; an error only when every key ever minted has the floor or less left.
func (m *matrix) check(c creds.Credentials, err error) {
	m.t.Helper()
	now := m.now()
	_, minted, _, _ := m.ev.snapshot()
	if err == nil {
		m.served++
		if left := c.Expiration.Sub(now); left <= mxFloor {
			m.t.Fatalf("at +%s served keys with %s left", now.Sub(m.start), left)
		}
		if _, state := m.v.emu.ResolveKey(c.AccessKeyID); state != s3emu.KeyValid {
			m.t.Fatalf("at +%s served keys the emulator finds %v", now.Sub(m.start), state)
		}
		return
	}
	var nc *cache.NoCredentialsError
	if !errors.As(err, &nc) {
		m.t.Fatalf("at +%s: unexpected error type %T: %v", now.Sub(m.start), err, err)
	}
	for _, k := range minted {
		if k.Expiration.Sub(now) > mxFloor {
			m.t.Fatalf("at +%s readers got an error while keys valid until %s existed: %v", now.Sub(m.start), k.Expiration.Sub(m.start), err)
		}
	}
	tok, _ := m.src.TokenFile.read()
	noSecrets(m.t, err, string(tok))
	m.readErrs = append(m.readErrs, err)
}

// runUntil reads every step until the fake clock reaches at.
func (m *matrix) runUntil(at time.Time) {
	m.t.Helper()
	for m.now().Before(at) {
		m.v.clock.Advance(mxStep)
		m.read()
	}
}

// checkRate: in every window between two calls, at most burst + window·rate calls.
func (m *matrix) checkRate() {
	m.t.Helper()
	for i := range m.callTimes {
		for j := i; j < len(m.callTimes); j++ {
			window := m.callTimes[j].Sub(m.callTimes[i])
			allowed := mxBurst + int(window/mxRateInterval)
			if n := j - i + 1; n > allowed {
				m.t.Fatalf("%d upstream calls within %s (from +%s): over the configured rate of one per %s, burst %d",
					n, window, m.callTimes[i].Sub(m.start), mxRateInterval, mxBurst)
			}
		}
	}
}

func (m *matrix) callsBetween(from, to time.Time) []time.Time {
	var out []time.Time
	for _, c := range m.callTimes {
		if !c.Before(from) && c.Before(to) {
			out = append(out, c)
		}
	}
	return out
}

// firstMintAfter is when the first keys fetched after t were minted.
func (m *matrix) firstMintAfter(t time.Time) (time.Time, bool) {
	_, _, at, _ := m.ev.snapshot()
	for _, a := range at {
		if a.After(t) {
			return a, true
		}
	}
	return time.Time{}, false
}

type transientCase struct {
	name    string
	fault   emulator.Fault
	part    string        // what the readers' error must say
	timeout time.Duration // request timeout, default mxReqTimeout
}

func TestFaultMatrixTransient(t *testing.T) {
	cases := []transientCase{
		{"503 Unavailable", emulator.Fault{HTTPStatus: 503, Code: cwobject.CodeUnavailable}, "Unavailable (HTTP 503)", 0},
		{"429 ResourceExhausted with Retry-After", emulator.Fault{HTTPStatus: 429, Code: cwobject.CodeResourceExhausted, RetryAfter: mxRetryAfter}, "ResourceExhausted (HTTP 429)", 0},
		{"500 Internal", emulator.Fault{HTTPStatus: 500, Code: cwobject.CodeInternal}, "Internal (HTTP 500)", 0},
		// An hour on the emulator's clock: the client gives up after mxShortTimeout
		// of wall time. (The emulator notices the client leaving only when its fake
		// clock passes the latency, which the rest of the run does.)
		{"latency beyond the request timeout", emulator.Fault{Latency: time.Hour}, "no answer in time", mxShortTimeout},
		{"connection reset", emulator.Fault{Reset: true}, "cannot reach the API", 0},
		{"malformed body", emulator.Fault{Malformed: true}, "malformed response", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel() // each run has its own emulator and fake clock
			timeout := c.timeout
			if timeout == 0 {
				timeout = mxReqTimeout
			}
			m := newMatrix(t, timeout)
			first, err := m.read()
			if err != nil {
				t.Fatal(err)
			}
			m.runUntil(m.start.Add(mxFaultStart))

			f := c.fault
			f.Count = 1 << 30
			m.v.emu.InjectFault(cwobject.OpCreateAccessKeyFromOIDC.Name, f)
			faultStart := m.now()
			m.runUntil(faultStart.Add(mxFaultLength))

			// The keys truly expired during the fault, and readers were told why.
			if !first.Expiration.Before(m.now()) {
				t.Fatalf("the fault did not outlast the keys")
			}
			if len(m.readErrs) == 0 {
				t.Fatal("readers never saw an error although every key expired")
			}
			for _, e := range m.readErrs {
				if !strings.Contains(e.Error(), c.part) || !strings.Contains(e.Error(), "could not exchange the token file's JWT for keys") {
					t.Fatalf("reader error does not explain the fault (%q): %v", c.part, e)
				}
			}
			_, _, _, classes := m.ev.snapshot()
			for _, cl := range classes {
				if cl != cache.Transient {
					t.Fatalf("a %s was classified %v", c.name, cl)
				}
			}
			during := m.callsBetween(faultStart, m.now())
			if len(during) < 3 {
				t.Fatalf("only %d attempts during a %s fault", len(during), mxFaultLength)
			}
			if f.RetryAfter > 0 {
				for i := 1; i < len(during); i++ {
					if gap := during[i].Sub(during[i-1]); gap < f.RetryAfter {
						t.Fatalf("calls %s apart, under the server's Retry-After %s", gap, f.RetryAfter)
					}
				}
			}

			// The fault ends: the very next attempt succeeds.
			st := m.r.Status()
			faultEnd := m.now()
			m.v.emu.ClearFaults()
			m.runUntil(faultEnd.Add(90 * time.Minute))
			recovered, ok := m.firstMintAfter(faultEnd)
			if !ok {
				t.Fatal("never recovered")
			}
			nextAttempt := faultEnd
			if st.NextRetry.After(nextAttempt) {
				nextAttempt = st.NextRetry
			}
			// With no keys left the backoff stays short and the rate cap decides:
			// the limiter's next token comes at most one interval after the last call.
			if n := len(m.callTimes); n > 0 {
				if byRate := m.callTimes[n-1].Add(mxRateInterval); byRate.After(nextAttempt) {
					nextAttempt = byRate
				}
			}
			if recovered.After(nextAttempt.Add(mxStep)) || recovered.Sub(faultEnd) > mxBackoff.Max+mxStep {
				t.Fatalf("recovered %s after the fault ended; the next attempt was due after %s (backoff max %s)",
					recovered.Sub(faultEnd), nextAttempt.Sub(faultEnd), mxBackoff.Max)
			}
			errsBefore := len(m.readErrs)
			m.runUntil(m.now().Add(2 * time.Hour))
			if len(m.readErrs) != errsBefore {
				t.Fatalf("readers saw errors after recovery: %v", m.readErrs[errsBefore:])
			}
			m.checkRate()
			t.Logf("%d upstream calls, %d during the fault; %d reads served, %d refused; recovered %s after the fault",
				len(m.callTimes), len(during), m.served, len(m.readErrs), recovered.Sub(faultEnd))
		})
	}
}

type unrecoverableCase struct {
	name  string
	start func(m *matrix)
	part  string
	calls int // upstream calls the fault may cost before the stop
}

func TestFaultMatrixUnrecoverable(t *testing.T) {
	inject := func(status int, code cwobject.Code) func(m *matrix) {
		return func(m *matrix) {
			m.v.emu.InjectFault(cwobject.OpCreateAccessKeyFromOIDC.Name, emulator.Fault{Count: 1 << 30, HTTPStatus: status, Code: code})
		}
	}
	cases := []unrecoverableCase{
		{"expired token in the file", func(m *matrix) { writeFile(m.t, m.path, m.v.mintExpired("workload")) }, "holds an expired token", 0},
		{"401 Unauthenticated", inject(401, cwobject.CodeUnauthenticated), "Unauthenticated (HTTP 401)", 1},
		{"403 PermissionDenied", inject(403, cwobject.CodePermissionDenied), "PermissionDenied (HTTP 403)", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			m := newMatrix(t, mxReqTimeout)
			first, err := m.read()
			if err != nil {
				t.Fatal(err)
			}
			m.runUntil(m.start.Add(mxFaultStart))
			readsBefore := m.src.reads()
			c.start(m)
			faultStart := m.now()
			m.runUntil(faultStart.Add(2 * time.Hour))

			if !first.Expiration.Before(m.now()) {
				t.Fatal("the stop did not outlast the keys")
			}
			if len(m.readErrs) == 0 {
				t.Fatal("readers never saw an error although every key expired")
			}
			for _, e := range m.readErrs {
				msg := e.Error()
				// Upstream said no only where an upstream call was made.
				upstream := c.calls > 0
				if !strings.Contains(msg, c.part) || !strings.Contains(msg, "identity not usable") || strings.Contains(msg, "rejected upstream") != upstream {
					t.Fatalf("reader error does not explain the fault (%q, rejected upstream: %v): %v", c.part, upstream, e)
				}
			}
			// One attempt, then nothing: no retries until the token file changes.
			if got := m.src.reads() - readsBefore; got != 1 {
				t.Fatalf("%d fetch attempts after an unrecoverable failure, want 1", got)
			}
			if got := len(m.callsBetween(faultStart, m.now())); got != c.calls {
				t.Fatalf("%d upstream calls during the stop, want %d", got, c.calls)
			}
			_, _, _, classes := m.ev.snapshot()
			if len(classes) != 1 || classes[0] != cache.Unrecoverable {
				t.Fatalf("failure classes %v", classes)
			}
			// Fixing the upstream side alone does not restart fetching (the cache
			// waits for the identity input to change)…
			m.v.emu.ClearFaults()
			m.runUntil(m.now().Add(30 * time.Minute))
			if got := m.src.reads() - readsBefore; got != 1 {
				t.Fatalf("fetched again without an input change (%d attempts)", got)
			}
			// …a new token in the file does, at the next fingerprint check.
			writeFile(t, m.path, m.v.mint("workload", 24*time.Hour))
			fixed := m.now()
			m.runUntil(fixed.Add(time.Hour))
			recovered, ok := m.firstMintAfter(fixed)
			if !ok {
				t.Fatal("never recovered after the token file changed")
			}
			if d := recovered.Sub(fixed); d > mxFPInterval+mxStep {
				t.Fatalf("recovered %s after the token file changed", d)
			}
			m.checkRate()
			t.Logf("%d upstream calls; %d reads served, %d refused; recovered %s after the fix",
				len(m.callTimes), m.served, len(m.readErrs), recovered.Sub(fixed))
		})
	}
}
