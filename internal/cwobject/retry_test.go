package cwobject

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"testing"
	"time"
)

// failThen answers status for the first n attempts, then 200 with ok.
func failThen(n, status int, header map[string]string, ok string) func(int, http.ResponseWriter, *http.Request) {
	return func(attempt int, w http.ResponseWriter, _ *http.Request) {
		if attempt < n {
			for k, v := range header {
				w.Header().Set(k, v)
			}
			jsonReply(w, status, `{"code":14,"message":"try again"}`)
			return
		}
		jsonReply(w, 200, ok)
	}
}

const okBucket = `{"info":{"name":"b"}}`

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	env := newEnv(t, failThen(7, 503, nil, okBucket), func(c *Config) { c.Retry.MaxAttempts = 8 })
	done := runAsync(func() error { _, err := env.client.GetBucketInfo(context.Background(), "b"); return err })
	env.advanceThrough(t, 7)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond,
		1600 * time.Millisecond, 3200 * time.Millisecond, 5 * time.Second, 5 * time.Second}
	if got := env.clock.waits(); !reflect.DeepEqual(got, want) {
		t.Fatalf("waits = %v, want %v", got, want)
	}
	if env.api.count() != 8 {
		t.Fatalf("%d attempts", env.api.count())
	}
}

func TestBackoffIsFullJitter(t *testing.T) {
	p := DefaultRetryPolicy()
	for retry, want := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond} {
		if got := p.backoff(retry, func() float64 { return 0.5 }); got != want {
			t.Errorf("backoff(%d) at 0.5 = %v, want %v", retry, got, want)
		}
	}
	if got := p.backoff(3, func() float64 { return 0 }); got != 0 {
		t.Errorf("jitter 0 gives %v", got)
	}
	for _, r := range []float64{-1, 2, 0 / zero()} {
		if got := p.backoff(100, func() float64 { return r }); got < 0 || got > p.MaxDelay {
			t.Errorf("jitter %v gives %v", r, got)
		}
	}
	huge := RetryPolicy{MaxAttempts: 2, BaseDelay: time.Second, MaxDelay: time.Duration(1<<63 - 1)}
	if got := huge.backoff(200, func() float64 { return 1 }); got <= 0 {
		t.Errorf("overflow: %v", got)
	}
}

func zero() float64 { return 0 }

func TestAttemptsAreBounded(t *testing.T) {
	env := newEnv(t, always(503, `{"code":14}`), func(c *Config) { c.Retry.MaxAttempts = 3 })
	done := runAsync(func() error { _, err := env.client.GetBucketInfo(context.Background(), "b"); return err })
	env.advanceThrough(t, 2)
	err := <-done
	var se *StatusError
	if !errors.As(err, &se) || se.Code != CodeUnavailable {
		t.Fatalf("err = %v", err)
	}
	if env.api.count() != 3 || len(env.clock.waits()) != 2 {
		t.Fatalf("%d attempts, %d waits", env.api.count(), len(env.clock.waits()))
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	t.Run("seconds", func(t *testing.T) {
		env := newEnv(t, failThen(1, 429, map[string]string{"Retry-After": "7"}, okBucket))
		done := runAsync(func() error { _, err := env.client.GetBucketInfo(context.Background(), "b"); return err })
		env.advanceThrough(t, 1)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if w := env.clock.waits(); len(w) != 1 || w[0] != 7*time.Second {
			t.Fatalf("waits = %v", w)
		}
	})
	t.Run("http date", func(t *testing.T) {
		var env *testEnv
		env = newEnv(t, func(attempt int, w http.ResponseWriter, r *http.Request) {
			if attempt == 0 {
				w.Header().Set("Retry-After", env.clock.Now().Add(9*time.Second).Format(http.TimeFormat))
				jsonReply(w, 503, `{"code":14}`)
				return
			}
			jsonReply(w, 200, okBucket)
		})
		done := runAsync(func() error { _, err := env.client.GetBucketInfo(context.Background(), "b"); return err })
		env.advanceThrough(t, 1)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if w := env.clock.waits(); len(w) != 1 || w[0] != 9*time.Second {
			t.Fatalf("waits = %v", w)
		}
	})
	t.Run("beyond the cap", func(t *testing.T) {
		env := newEnv(t, failThen(1, 429, map[string]string{"Retry-After": "120"}, okBucket))
		_, err := env.client.GetBucketInfo(context.Background(), "b")
		var se *StatusError
		if !errors.As(err, &se) || se.RetryAfter != 120*time.Second || env.api.count() != 1 {
			t.Fatalf("err = %v after %d attempts", err, env.api.count())
		}
	})
	t.Run("beyond the caller's deadline", func(t *testing.T) {
		env := newEnv(t, failThen(1, 503, map[string]string{"Retry-After": "30"}, okBucket))
		// The client compares the deadline with the injected clock's now.
		ctx, cancel := context.WithDeadline(context.Background(), env.clock.Now().Add(5*time.Second))
		defer cancel()
		_, err := env.client.GetBucketInfo(ctx, "b")
		var se *StatusError
		if !errors.As(err, &se) || se.RetryAfter != 30*time.Second || env.api.count() != 1 {
			t.Fatalf("err = %v after %d attempts", err, env.api.count())
		}
		if len(env.clock.waits()) != 0 {
			t.Fatal("waited although the deadline was too close")
		}
	})
}

func TestNonIdempotentRetries(t *testing.T) {
	key := `{"accessKeyId":"CW1","secretKey":"` + testSecretKey + `"}`
	create := func(c *Client) error {
		_, err := c.CreateAccessKeyFromJWT(context.Background(), CreateAccessKeyFromJWTRequest{DurationSeconds: 60})
		return err
	}
	for _, tc := range []struct {
		status   int
		attempts int
	}{{500, 1}, {502, 1}, {504, 1}, {503, 2}, {429, 2}} {
		env := newEnv(t, failThen(1, tc.status, nil, key))
		done := runAsync(func() error { return create(env.client) })
		if tc.attempts > 1 {
			env.advanceThrough(t, tc.attempts-1)
		}
		err := <-done
		if env.api.count() != tc.attempts {
			t.Errorf("HTTP %d: %d attempts, want %d (err %v)", tc.status, env.api.count(), tc.attempts, err)
		}
	}
	// A malformed 200 means the key was minted and lost: never repeat the mint.
	env := newEnv(t, always(200, `{"accessKeyId":`))
	if err := create(env.client); err == nil || env.api.count() != 1 {
		t.Fatalf("err %v after %d attempts", err, env.api.count())
	}
}

func TestNonIdempotentRetriesAfterConnectionRefused(t *testing.T) {
	clk := newRecordingClock()
	c, err := New(Config{BaseURL: "http://" + refusedAddr(t), Clock: clk, Rand: func() float64 { return 1 },
		Retry: RetryPolicy{MaxAttempts: 3}})
	if err != nil {
		t.Fatal(err)
	}
	env := &testEnv{client: c, clock: clk}
	done := runAsync(func() error {
		_, err := c.CreateAccessKeyFromOIDC(context.Background(), CreateAccessKeyFromOIDCRequest{OrgID: "o", OIDCToken: testOIDCToken})
		return err
	})
	env.advanceThrough(t, 2)
	err = <-done
	var te *TransportError
	if !errors.As(err, &te) || !te.Dial || len(clk.waits()) != 2 {
		t.Fatalf("err = %v after %d waits", err, len(clk.waits()))
	}
}

func TestIdempotentRetriesMalformedAndReset(t *testing.T) {
	env := newEnv(t, func(attempt int, w http.ResponseWriter, _ *http.Request) {
		switch attempt {
		case 0:
			jsonReply(w, 200, `{"info":{"name":`)
		case 1:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(502)
		default:
			jsonReply(w, 200, okBucket)
		}
	})
	done := runAsync(func() error { _, err := env.client.GetBucketInfo(context.Background(), "b"); return err })
	env.advanceThrough(t, 2)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if env.api.count() != 3 {
		t.Fatalf("%d attempts", env.api.count())
	}
}

func TestUnrecoverableIsNotRetried(t *testing.T) {
	env := newEnv(t, always(401, `{"code":16,"message":"Invalid token"}`))
	_, err := env.client.GetBucketInfo(context.Background(), "b")
	if !IsUnrecoverable(err) || env.api.count() != 1 {
		t.Fatalf("err %v after %d attempts", err, env.api.count())
	}
}

func TestCancellationStopsWaiting(t *testing.T) {
	env := newEnv(t, always(503, `{"code":14,"message":"down"}`))
	ctx, cancel := context.WithCancel(context.Background())
	done := runAsync(func() error { _, err := env.client.GetBucketInfo(ctx, "b"); return err })
	bctx, bcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer bcancel()
	if err := env.clock.BlockUntilContext(bctx, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	err := <-done
	var se *StatusError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &se) || se.Code != CodeUnavailable {
		t.Fatalf("err = %v; want the last answer and the cancellation", err)
	}
	if env.api.count() != 1 {
		t.Fatalf("%d attempts", env.api.count())
	}
}

func TestMaxAttemptsOneDisablesRetries(t *testing.T) {
	env := newEnv(t, always(503, `{"code":14}`), noRetry)
	if _, err := env.client.GetBucketInfo(context.Background(), "b"); err == nil || env.api.count() != 1 {
		t.Fatalf("err %v after %d attempts", err, env.api.count())
	}
}
