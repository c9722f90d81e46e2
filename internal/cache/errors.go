package cache

import (
	"errors"
	"fmt"
	"time"
)

// Class says what the cache does after a failed fetch.
type Class int

const (
	// Transient failures (5xx, 429, timeouts, resets, malformed answers) are retried
	// with capped exponential backoff while still-valid keys keep being served.
	Transient Class = iota
	// Unrecoverable failures (bad or expired identity token, access denied) stop
	// fetching until the identity input changes.
	Unrecoverable
)

func (c Class) String() string {
	switch c {
	case Transient:
		return "transient"
	case Unrecoverable:
		return "unrecoverable"
	default:
		return fmt.Sprintf("class(%d)", int(c))
	}
}

func parseClass(s string) (Class, bool) {
	switch s {
	case "transient":
		return Transient, true
	case "unrecoverable":
		return Unrecoverable, true
	}
	return 0, false
}

// DefaultClassify treats an error as Unrecoverable when an error in its chain has an
// `Unrecoverable() bool` method that returns true; everything else is Transient.
// A `Temporary() bool` method is deliberately not read as "unrecoverable" when it
// returns false: net errors say false for a refused connection, which is transient.
func DefaultClassify(err error) Class {
	var u interface{ Unrecoverable() bool }
	if errors.As(err, &u) && u.Unrecoverable() {
		return Unrecoverable
	}
	return Transient
}

// retryAfter is the server's Retry-After hint carried by an error, or 0.
func retryAfter(err error) time.Duration {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		if d := ra.RetryAfter(); d > 0 {
			return d
		}
	}
	return 0
}

// ErrNoCredentials matches every *NoCredentialsError with errors.Is.
var ErrNoCredentials = errors.New("no valid credentials")

// ErrRateLimited matches, with errors.Is, the reason of a *NoCredentialsError
// given because an upstream rate limit (the identity's own, or an AgentCache's
// shared one) holds the next exchange back.
var ErrRateLimited = errors.New("upstream rate limit reached")

// Reasons a cache holds no keys that are not themselves a fetch failure.
var (
	errFetchPending     = errors.New("the exchange is still running; try again in a moment")
	errRateLimited      = fmt.Errorf("%w: the exchanges of this identity are spaced out", ErrRateLimited)
	errAgentRateLimited = fmt.Errorf("%w: the agent's exchanges for all identities are at their limit (--upstream-rate)", ErrRateLimited)
	errPropagating      = errors.New("the new keys are not accepted by S3 yet (they propagate for propagation_delay)")
)

// NoCredentialsError is returned when the cache has no keys it may serve. Its
// message names the reason and what to do, and is safe to show to users: it holds
// only fetch errors, which never contain secrets.
type NoCredentialsError struct {
	Profile string
	// Class is Unrecoverable when the identity is not usable — found wrong
	// locally, or rejected upstream — and the cache waits for its input to
	// change; Transient otherwise.
	Class Class
	// Err is the last fetch failure, or why no fetch has finished yet.
	Err error
	// NextRetry is when the cache will try again; zero when it waits only for the
	// identity input to change.
	NextRetry time.Time
}

func (e *NoCredentialsError) Error() string {
	if e.Class == Unrecoverable {
		msg := fmt.Sprintf("profile %q: identity not usable: %v; fix the identity (token, login or permissions): cwcreds tries again when it changes", e.Profile, e.Err)
		if !e.NextRetry.IsZero() {
			msg += " or at " + e.NextRetry.UTC().Format(time.RFC3339)
		}
		return msg
	}
	msg := fmt.Sprintf("profile %q: no valid keys yet: %v", e.Profile, e.Err)
	switch {
	case e.NextRetry.IsZero():
	case errors.Is(e.Err, errPropagating):
		msg += "; they are served from " + e.NextRetry.UTC().Format(time.RFC3339)
	default:
		msg += "; next attempt at " + e.NextRetry.UTC().Format(time.RFC3339)
	}
	return msg
}

// Unwrap returns the underlying fetch failure.
func (e *NoCredentialsError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNoCredentials) true.
func (e *NoCredentialsError) Is(target error) bool { return target == ErrNoCredentials }

// Unrecoverable lets a cache that wraps another cache classify this error correctly.
func (e *NoCredentialsError) Unrecoverable() bool { return e.Class == Unrecoverable }
