package inject

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Bounds of WarmAgent's waits between attempts.
const (
	warmRetryDefault = time.Second
	warmRetryMax     = 5 * time.Second
	maxTokenFileLen  = 16 << 10
)

// ErrAgentRefused: the agent answered the pod's token with a refusal that waiting
// does not change (malformed, expired, wrong audience). The app would get the same.
var ErrAgentRefused = errors.New("the node agent refused this pod's token")

// Warmer asks the node agent for a pod's keys before the app starts, so that the
// app's first S3 call does not race the agent's first exchange and the new keys'
// propagation delay (the agent answers 503 with Retry-After until S3 accepts them,
// which outlasts the SDKs' own few retries).
type Warmer struct {
	// Client makes the requests; it needs a per-request timeout.
	Client *http.Client
	// Sleep waits d or until ctx is done (tests stand in for the clock).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Warm asks url with the token in tokenFile until the agent hands out keys
// (200), ctx ends (the caller's overall timeout), or the agent refuses the token.
// The keys in the answer are read and dropped, never kept or shown; errors name
// the URL and the status, never the token.
func (w Warmer) Warm(ctx context.Context, url, tokenFile string) (attempts int, err error) {
	var last string
	for {
		attempts++
		wait, done, err := w.try(ctx, url, tokenFile)
		switch {
		case done:
			return attempts, nil
		case errors.Is(err, ErrAgentRefused):
			return attempts, err
		case err != nil:
			last = err.Error()
		}
		if err := w.Sleep(ctx, wait); err != nil {
			if last == "" {
				last = "no answer yet"
			}
			return attempts, fmt.Errorf("no keys from the node agent at %s after %d attempts (last: %s)", url, attempts, last)
		}
	}
}

// try makes one request: done when the agent served keys; else how long to wait.
func (w Warmer) try(ctx context.Context, url, tokenFile string) (wait time.Duration, done bool, err error) {
	tok, err := readToken(tokenFile)
	if err != nil {
		return warmRetryDefault, false, err // kubelet may not have written it yet
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, false, fmt.Errorf("%w: %s is not a URL", ErrAgentRefused, url)
	}
	req.Header.Set("Authorization", tok)
	req.Header.Set("Accept", "application/json")
	resp, err := w.Client.Do(req)
	if err != nil {
		return warmRetryDefault, false, errors.New("the agent did not answer")
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keys: read and dropped
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		return 0, true, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return retryAfter(resp.Header.Get("Retry-After")), false, fmt.Errorf("HTTP %d", resp.StatusCode)
	default:
		return 0, false, fmt.Errorf("%w (HTTP %d)", ErrAgentRefused, resp.StatusCode)
	}
}

func readToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read the pod's token file %s", path)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFileLen+1))
	tok := strings.TrimSpace(string(b))
	if err != nil || tok == "" || len(b) > maxTokenFileLen {
		return "", fmt.Errorf("the pod's token file %s holds no usable token yet", path)
	}
	return tok, nil
}

// retryAfter is the agent's Retry-After in seconds, kept within (0, warmRetryMax].
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return warmRetryDefault
	}
	return min(time.Duration(n)*time.Second, warmRetryMax)
}

// SleepContext waits d, or until ctx is done (then it returns ctx's error).
func SleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
