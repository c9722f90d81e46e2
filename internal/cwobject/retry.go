package cwobject

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// MaxRetryAfter is the longest Retry-After the client waits out by itself. A longer
// one ends the call with a StatusError carrying RetryAfter, so the caller (a daemon
// with its own schedule) decides.
const MaxRetryAfter = 60 * time.Second

// RetryPolicy bounds the client's single retry loop. Zero fields take the defaults.
type RetryPolicy struct {
	// MaxAttempts counts the first try; 1 disables retries. Default 4.
	MaxAttempts int
	// BaseDelay is the backoff cap of the first retry; it doubles per retry. Default 200ms.
	BaseDelay time.Duration
	// MaxDelay caps the backoff. Default 5s.
	MaxDelay time.Duration
}

// DefaultRetryPolicy is what a zero RetryPolicy means.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 4, BaseDelay: 200 * time.Millisecond, MaxDelay: 5 * time.Second}
}

func (p RetryPolicy) withDefaults() (RetryPolicy, error) {
	if p.MaxAttempts < 0 || p.BaseDelay < 0 || p.MaxDelay < 0 {
		return p, &ValidationError{Op: "New", Field: "Retry", Reason: "must not have negative attempts or delays"}
	}
	d := DefaultRetryPolicy()
	if p.MaxAttempts == 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.BaseDelay == 0 {
		p.BaseDelay = d.BaseDelay
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = d.MaxDelay
	}
	if p.MaxDelay < p.BaseDelay {
		p.MaxDelay = p.BaseDelay
	}
	return p, nil
}

// backoff is "full jitter": a uniform delay in [0, min(MaxDelay, BaseDelay·2^retry)).
func (p RetryPolicy) backoff(retry int, rnd func() float64) time.Duration {
	ceiling := p.BaseDelay
	for i := 0; i < retry && ceiling < p.MaxDelay; i++ {
		if ceiling > p.MaxDelay/2 {
			ceiling = p.MaxDelay
			break
		}
		ceiling *= 2
	}
	ceiling = min(ceiling, p.MaxDelay)
	f := rnd()
	if !(f >= 0) { // also catches NaN
		f = 0
	}
	d := f * float64(ceiling)
	if d >= float64(ceiling) { // f >= 1, or float rounding near the int64 limit
		return ceiling
	}
	return time.Duration(d)
}

// mayRetry says whether op may be sent again after err. Idempotent operations
// retry any retryable failure; the others only when the server cannot have acted:
// 429 and 503 (refused before work), or a connection that was never made.
func mayRetry(op Operation, err error) bool {
	if op.Idempotent {
		return IsRetryable(err)
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.HTTPStatus == http.StatusTooManyRequests || se.HTTPStatus == http.StatusServiceUnavailable
	}
	var te *TransportError
	return errors.As(err, &te) && te.Dial
}

// retry runs attempt until it succeeds, fails for good, runs out of attempts, or
// waiting for the next one would outlive ctx. It is the client's only retry loop.
func (c *Client) retry(ctx context.Context, op Operation, attempt func(context.Context) error) error {
	for n := 1; ; n++ {
		err := attempt(ctx)
		if err == nil || n >= c.retryPolicy.MaxAttempts || ctx.Err() != nil || !mayRetry(op, err) {
			return err
		}
		delay := c.retryPolicy.backoff(n-1, c.rand)
		var se *StatusError
		if errors.As(err, &se) && se.RetryAfter > 0 {
			if se.RetryAfter > MaxRetryAfter {
				return err
			}
			delay = se.RetryAfter
		}
		if deadline, ok := ctx.Deadline(); ok && c.clock.Until(deadline) < delay {
			return err // the caller cannot wait that long; let it see RetryAfter
		}
		c.logger.Debug("cwobject: retrying",
			zap.String("op", op.Name), zap.Int("attempt", n+1),
			zap.Duration("delay", delay), zap.Stringer("code", CodeOf(err)))
		if werr := c.sleep(ctx, delay); werr != nil {
			return fmt.Errorf("%w; stopped waiting to retry: %w", err, werr)
		}
	}
}

// sleep waits on the injected clock so tests can advance time.
func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	t := c.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.Chan():
		return nil
	}
}

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP-date. Unparsable or
// past values are 0 (no hint).
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseUint(v, 10, 64); err == nil {
		const maxSecs = uint64(1<<63-1) / uint64(time.Second)
		return time.Duration(min(secs, maxSecs)) * time.Second
	} else if errors.Is(err, strconv.ErrRange) {
		return time.Duration(1<<63 - 1)
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	if d := t.Sub(now); d > 0 {
		return d
	}
	return 0
}
