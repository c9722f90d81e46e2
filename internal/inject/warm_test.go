package inject

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const warmToken = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwb2QifQ.c2lnbmF0dXJl"

// fakeAgent answers 503 (Retry-After: 2) until it has been asked ready times,
// then status; it records the Authorization values it saw.
func fakeAgent(t *testing.T, ready int, status int) (*httptest.Server, *atomic.Int64, *atomic.Value) {
	t.Helper()
	var calls atomic.Int64
	var auth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		if calls.Add(1) < int64(ready) {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"AccessKeyId":"CWKEY","SecretAccessKey":"cwosecretvalue","Token":"","Expiration":"2030-01-01T00:00:00Z"}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls, &auth
}

func tokenFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// recordSleeps is a Sleep that returns at once and remembers what was asked.
func recordSleeps(waits *[]time.Duration) func(context.Context, time.Duration) error {
	return func(ctx context.Context, d time.Duration) error {
		*waits = append(*waits, d)
		return ctx.Err()
	}
}

func TestWarmWaitsForKeysHonouringRetryAfter(t *testing.T) {
	srv, calls, auth := fakeAgent(t, 3, http.StatusOK)
	var waits []time.Duration
	w := Warmer{Client: srv.Client(), Sleep: recordSleeps(&waits)}
	n, err := w.Warm(context.Background(), srv.URL+"/v1/credentials", tokenFile(t, warmToken+"\n"))
	if err != nil || n != 3 || calls.Load() != 3 {
		t.Fatalf("Warm: %d attempts, %d calls, %v; want 3, 3, nil", n, calls.Load(), err)
	}
	if len(waits) != 2 || waits[0] != 2*time.Second || waits[1] != 2*time.Second {
		t.Fatalf("waits %v, want the agent's Retry-After (2s) twice", waits)
	}
	if got := auth.Load(); got != warmToken {
		t.Fatalf("sent Authorization %q, want the token file's content without its newline", got)
	}
}

func TestWarmStopsAtARefusal(t *testing.T) {
	srv, calls, _ := fakeAgent(t, 0, http.StatusForbidden)
	var waits []time.Duration
	w := Warmer{Client: srv.Client(), Sleep: recordSleeps(&waits)}
	_, err := w.Warm(context.Background(), srv.URL, tokenFile(t, warmToken))
	if !errors.Is(err, ErrAgentRefused) || calls.Load() != 1 || len(waits) != 0 {
		t.Fatalf("err %v after %d calls and %d waits; want ErrAgentRefused at once", err, calls.Load(), len(waits))
	}
	if strings.Contains(err.Error(), warmToken) || strings.Contains(err.Error(), "cwosecretvalue") {
		t.Fatalf("error %q holds a secret", err)
	}
}

func TestWarmGivesUpWhenTheContextEnds(t *testing.T) {
	srv, _, _ := fakeAgent(t, 1<<30, http.StatusOK) // never ready
	ctx, cancel := context.WithCancel(context.Background())
	var waits []time.Duration
	sleep := func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		if len(waits) == 4 {
			cancel() // the overall timeout
		}
		return ctx.Err()
	}
	n, err := Warmer{Client: srv.Client(), Sleep: sleep}.Warm(ctx, srv.URL, tokenFile(t, warmToken))
	if err == nil || n != 4 || !strings.Contains(err.Error(), "after 4 attempts (last: HTTP 503)") {
		t.Fatalf("Warm: %d attempts, %v", n, err)
	}
	if strings.Contains(err.Error(), warmToken) {
		t.Fatalf("error %q holds the token", err)
	}
}

func TestWarmWaitsForTheTokenFileAndTheAgent(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "token")
	ctx, cancel := context.WithCancel(context.Background())
	var waits []time.Duration
	sleep := func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		switch len(waits) {
		case 1: // kubelet writes the token
			if err := os.WriteFile(missing, []byte(warmToken), 0o600); err != nil {
				t.Fatal(err)
			}
		case 2:
			cancel()
		}
		return ctx.Err()
	}
	// Nothing listens on this port: the agent is not up yet.
	_, err := Warmer{Client: &http.Client{Timeout: time.Second}, Sleep: sleep}.Warm(ctx, "http://127.0.0.1:1/v1/credentials", missing)
	if err == nil || !strings.Contains(err.Error(), "the agent did not answer") || waits[0] != warmRetryDefault {
		t.Fatalf("waits %v, err %v", waits, err)
	}
}

func TestRetryAfterBounds(t *testing.T) {
	for in, want := range map[string]time.Duration{"": time.Second, "x": time.Second, "0": time.Second, "-3": time.Second, "3": 3 * time.Second, "3600": warmRetryMax} {
		if got := retryAfter(in); got != want {
			t.Errorf("retryAfter(%q) = %s, want %s", in, got, want)
		}
	}
}
