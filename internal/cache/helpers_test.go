package cache

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cwcreds/cwcreds/internal/creds"

	"github.com/cwcreds/cwcreds/internal/keypolicy"
)

var epoch = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

const secretMarker = "TOPSECRET"

// upstreamErr imitates the exchange layer's typed errors.
type upstreamErr struct {
	msg           string
	unrecoverable bool
	retryAfter    time.Duration
}

func (e *upstreamErr) Error() string                  { return e.msg }
func (e *upstreamErr) Unrecoverable() bool            { return e.unrecoverable }
func (e *upstreamErr) RetryAfter() time.Duration      { return e.retryAfter }
func transientErr(msg string) error                   { return &upstreamErr{msg: msg} }
func rejectedErr(msg string) error                    { return &upstreamErr{msg: msg, unrecoverable: true} }
func retryAfterErr(msg string, d time.Duration) error { return &upstreamErr{msg: msg, retryAfter: d} }

// fakeFetcher mints keys with Expiration = clock.Now()+lifetime and records calls.
type fakeFetcher struct {
	clock    clockwork.Clock
	lifetime time.Duration

	mu    sync.Mutex
	calls []time.Time
	fail  func(call int, now time.Time) error // nil or returning nil: succeed
	block chan struct{}                       // when set, Fetch waits for it
}

func newFakeFetcher(clock clockwork.Clock, lifetime time.Duration) *fakeFetcher {
	return &fakeFetcher{clock: clock, lifetime: lifetime}
}

func (f *fakeFetcher) Fetch(ctx context.Context) (creds.Credentials, error) {
	f.mu.Lock()
	block := f.block
	f.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return creds.Credentials{}, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock.Now()
	f.calls = append(f.calls, now)
	n := len(f.calls)
	if f.fail != nil {
		if err := f.fail(n, now); err != nil {
			return creds.Credentials{}, err
		}
	}
	return creds.Credentials{
		AccessKeyID:     fmt.Sprintf("CWTEST%08d", n),
		SecretAccessKey: fmt.Sprintf("%s-secret-%d", secretMarker, n),
		SessionToken:    fmt.Sprintf("%s-session-%d", secretMarker, n),
		Expiration:      now.Add(f.lifetime),
		Principal:       "role/https://issuer.test:system:serviceaccount:ns:sa",
	}, nil
}

func (f *fakeFetcher) setFail(fn func(int, time.Time) error) {
	f.mu.Lock()
	f.fail = fn
	f.mu.Unlock()
}

func (f *fakeFetcher) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *fakeFetcher) callTimes() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.calls...)
}

// fpFetcher adds an input fingerprint to a fakeFetcher.
type fpFetcher struct {
	*fakeFetcher
	fp atomic.Value // string
}

func newFPFetcher(f *fakeFetcher, fp string) *fpFetcher {
	x := &fpFetcher{fakeFetcher: f}
	x.fp.Store(fp)
	return x
}

func (f *fpFetcher) InputFingerprint() (string, error) { return f.fp.Load().(string), nil }

// observed returns a logger whose entries can be searched for leaked secrets.
func observed() (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.DebugLevel)
	return zap.New(core), logs
}

// renderLogs encodes every entry with every field as JSON text.
func renderLogs(t *testing.T, logs *observer.ObservedLogs) string {
	t.Helper()
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	var b bytes.Buffer
	for _, e := range logs.All() {
		buf, err := enc.EncodeEntry(e.Entry, e.Context)
		if err != nil {
			t.Fatalf("encode log entry: %v", err)
		}
		b.Write(buf.Bytes())
		buf.Free()
	}
	return b.String()
}

func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(s, secretMarker) {
		t.Errorf("%s contains a secret: %s", what, s)
	}
}

// recEvents records events; safe for concurrent use.
type recEvents struct {
	mu                                       sync.Mutex
	refreshed, failed, hits, misses, refused int
	classes                                  []Class
}

func (e *recEvents) Refreshed(string, creds.Credentials, time.Duration) {
	e.mu.Lock()
	e.refreshed++
	e.mu.Unlock()
}

func (e *recEvents) Failed(_ string, c Class, _ error, _ time.Time) {
	e.mu.Lock()
	e.failed++
	e.classes = append(e.classes, c)
	e.mu.Unlock()
}

func (e *recEvents) Served(_ string, hit bool) {
	e.mu.Lock()
	if hit {
		e.hits++
	} else {
		e.misses++
	}
	e.mu.Unlock()
}

func (e *recEvents) ExpiredRefused(string) {
	e.mu.Lock()
	e.refused++
	e.mu.Unlock()
}

// waitFetch waits until no fetch is in flight (for on-demand tests without Run).
func waitFetch(t *testing.T, r *Refresher) {
	t.Helper()
	r.mu.Lock()
	c := r.inflight
	r.mu.Unlock()
	if c == nil {
		return
	}
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatal("fetch did not finish")
	}
}

// startRun runs r.Run until the test ends and returns a function that waits until
// Run is parked on its timer (so the fake clock can be advanced deterministically).
func startRun(t *testing.T, r *Refresher, clock *clockwork.FakeClock) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v", err)
		}
	})
	return func() {
		t.Helper()
		bctx, bcancel := context.WithTimeout(ctx, 10*time.Second)
		defer bcancel()
		if err := clock.BlockUntilContext(bctx, 1); err != nil {
			t.Fatalf("Run did not park on its timer: %v", err)
		}
	}
}

func mkCreds(id string, exp time.Time) creds.Credentials {
	return creds.Credentials{AccessKeyID: id, SecretAccessKey: secretMarker + "-" + id, Expiration: exp}
}

// policyWith is the default policy with change applied.
func policyWith(change func(*Policy)) Policy {
	p := keypolicy.Default()
	change(&p)
	return p
}
