package exchange

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// Error is what sources and exchanges return. Its text says what failed and what to
// do and never holds a secret. internal/cache classifies it through Unrecoverable
// and waits at least RetryAfter before trying again.
type Error struct {
	// Op says what failed, e.g. "could not exchange the token file's JWT for keys".
	Op string
	// Err is the cause.
	Err error

	unrecoverable bool
	retryAfter    time.Duration
}

func (e *Error) Error() string {
	if e.Err == nil {
		return e.Op
	}
	return e.Op + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Unrecoverable reports whether trying again cannot help until the identity input
// (token file, stored login, API token) or an upstream permission changes.
func (e *Error) Unrecoverable() bool { return e.unrecoverable }

// RetryAfter is the server's Retry-After hint, or 0.
func (e *Error) RetryAfter() time.Duration { return e.retryAfter }

// Sentinels for errors.Is.
var (
	// ErrNotJWT: a token is not a well-formed JWT.
	ErrNotJWT = errors.New("not a well-formed JWT")
	// ErrExpired: a token has expired (or expires too soon to be exchanged).
	ErrExpired = errors.New("expired")
	// ErrNoFingerprint: the source cannot tell cheaply whether its input changed
	// (a token command). It matches errors.ErrUnsupported, so a cache can treat the
	// exchange as one without a fingerprint.
	ErrNoFingerprint = fmt.Errorf("this identity source cannot tell whether its input changed: %w", errors.ErrUnsupported)
)

// identityErr is an unrecoverable problem with the identity input itself.
func identityErr(op string, err error) *Error {
	return &Error{Op: op, Err: err, unrecoverable: true}
}

// transientErr is a problem that may go away by itself.
func transientErr(op string, err error) *Error {
	return &Error{Op: op, Err: err}
}

// sourceErr is an identity source's failure as the source reported it: it names
// the input (the token file, the command, the stored login) and what is wrong
// with it. Nothing was sent to CoreWeave, so it is not worded as a failed or
// rejected exchange.
func sourceErr(err error) *Error {
	if e, ok := err.(*Error); ok {
		return e
	}
	return wrap("could not read the identity", err)
}

// wrap adds op to the error of an upstream call, keeping its classification: an
// error that says whether it is unrecoverable is believed, CoreWeave API errors
// are classified by cwobject.IsUnrecoverable (Unauthenticated, PermissionDenied,
// InvalidArgument…), and everything else — network, 5xx, 429, malformed
// answers, cancellation — is transient. An unrecoverable one says it was
// rejected upstream.
func wrap(op string, err error) *Error {
	e := &Error{Op: op, Err: err, unrecoverable: isUnrecoverable(err)}
	if e.unrecoverable {
		e.Op += " (rejected upstream)"
	}
	var se *cwobject.StatusError
	if errors.As(err, &se) && se.RetryAfter > 0 {
		e.retryAfter = se.RetryAfter
	}
	var ra interface{ RetryAfter() time.Duration }
	if e.retryAfter == 0 && errors.As(err, &ra) {
		e.retryAfter = ra.RetryAfter()
	}
	return e
}

func isUnrecoverable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var u interface{ Unrecoverable() bool }
	if errors.As(err, &u) {
		return u.Unrecoverable()
	}
	return cwobject.IsUnrecoverable(err)
}
