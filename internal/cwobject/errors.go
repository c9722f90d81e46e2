package cwobject

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"
)

// The client returns four error types, all carrying the operation name:
//
//	*StatusError            the API (or a proxy in front of it) answered with an error status
//	*ValidationError        the request was refused before anything was sent
//	*TransportError         no complete HTTP answer: dial, reset, EOF, timeout, cancellation
//	*MalformedResponseError a success status with a body that is not the expected JSON
//
// Use errors.As to pick one out, or the classifiers IsRetryable, IsUnrecoverable
// and CodeOf.

// maxMessageBytes caps a server message kept in a StatusError.
const maxMessageBytes = 512

// StatusError is an error answer: a google.rpc.Status body, or a body-less / non-JSON
// answer mapped to a code with CodeForHTTPStatus.
type StatusError struct {
	Op         string
	Code       Code
	HTTPStatus int
	// Message is the server's message, one line, at most maxMessageBytes, with any
	// credential this client sent, and anything shaped like one, replaced by
	// "[redacted]" (see redact.Text).
	Message string
	// RetryAfter is the server's Retry-After, zero when absent.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	var b strings.Builder
	b.WriteString("cwobject: ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(e.Code.String())
	b.WriteString(" (HTTP ")
	b.WriteString(strconv.Itoa(e.HTTPStatus))
	b.WriteString(")")
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if h := e.hint(); h != "" {
		b.WriteString("; ")
		b.WriteString(h)
	}
	if e.RetryAfter > 0 {
		b.WriteString(" (retry after ")
		b.WriteString(e.RetryAfter.String())
		b.WriteString(")")
	}
	return b.String()
}

// hint says what to do for the codes where the server's message rarely does.
func (e *StatusError) hint() string {
	switch e.Code {
	case CodeUnauthenticated:
		return "check that the credential (API token, JWT or SAML response) is valid and not expired"
	case CodePermissionDenied:
		if acts := RequiredActions[e.Op]; len(acts) > 0 {
			return "an organization access policy must allow " + strings.Join(acts, ", ") + " for this principal"
		}
		return "check the organization access policies"
	case CodeResourceExhausted:
		return "rate limited; retry later"
	case CodeUnimplemented:
		return "check the API base URL"
	}
	return ""
}

// retryable: the server said it may work later, and the status is not a 4xx
// other than 408/429 (a proxy's 405 page maps to Unknown but will not change).
func (e *StatusError) retryable() bool {
	switch e.Code {
	case CodeUnavailable, CodeResourceExhausted, CodeDeadlineExceeded, CodeInternal, CodeUnknown:
	default:
		return false
	}
	switch s := e.HTTPStatus; {
	case s == 408 || s == 429 || s >= 500:
		return true
	case s >= 300:
		return false
	}
	return true
}

// ValidationError is a request the client refused to send.
type ValidationError struct {
	Op     string
	Field  string // wire name of the offending field, e.g. "durationSeconds"
	Reason string // e.g. "must be between 0 and 43200"; never a secret value
}

func (e *ValidationError) Error() string {
	return "cwobject: " + e.Op + ": " + e.Field + " " + e.Reason
}

// TransportError is a call that got no complete HTTP answer.
type TransportError struct {
	Op string
	// Dial is true when the connection could not be made (refused, DNS): the server
	// never saw the request, so even a non-idempotent call may be repeated.
	Dial bool
	// Timeout is true when the per-attempt timeout (Config.RequestTimeout) expired.
	Timeout bool
	Err     error
	detail  string // Err's text, one line, credentials redacted
}

func (e *TransportError) Error() string {
	switch {
	case e.Timeout:
		return "cwobject: " + e.Op + ": no answer in time (" + e.detail + "); the API is slow or unreachable, retry later"
	case errors.Is(e.Err, context.Canceled):
		return "cwobject: " + e.Op + ": canceled: " + e.detail
	case errors.Is(e.Err, context.DeadlineExceeded):
		return "cwobject: " + e.Op + ": the caller's deadline passed: " + e.detail + "; allow more time"
	}
	return "cwobject: " + e.Op + ": cannot reach the API: " + e.detail + "; check the network and the API base URL"
}

func (e *TransportError) Unwrap() error { return e.Err }

// MalformedResponseError is a success status whose body is not what the operation
// returns: empty, truncated, HTML from a captive portal, missing required fields,
// or larger than MaxResponseBytes.
type MalformedResponseError struct {
	Op          string
	HTTPStatus  int
	ContentType string // media type only, e.g. "text/html"
	Reason      string // which field and what was wrong; never a value from the body
}

func (e *MalformedResponseError) Error() string {
	ct := e.ContentType
	if ct == "" {
		ct = "no content type"
	}
	return "cwobject: " + e.Op + ": malformed response (HTTP " + strconv.Itoa(e.HTTPStatus) + ", " + ct + "): " +
		e.Reason + "; check the API base URL, or retry"
}

// IsRetryable reports whether the same request may succeed later: Unavailable,
// ResourceExhausted, DeadlineExceeded, Internal, Unknown (on 5xx, 408, 429),
// connection failures and timeouts, and malformed success bodies. A caller's own
// cancellation is not retryable. The client's retry loop additionally refuses to
// repeat non-idempotent operations unless the server cannot have acted.
func IsRetryable(err error) bool {
	var se *StatusError
	var te *TransportError
	var me *MalformedResponseError
	var ve *ValidationError
	switch {
	case err == nil:
		return false
	case errors.As(err, &se):
		return se.retryable()
	case errors.As(err, &ve):
		return false
	case errors.As(err, &te):
		return !errors.Is(te.Err, context.Canceled)
	case errors.As(err, &me):
		return true
	}
	return false
}

// IsUnrecoverable reports whether repeating the call cannot help until someone
// changes something: a rejected credential or permission, a bad or unknown
// argument, a failed precondition, an endpoint that does not exist, or a request
// the client refused to send.
func IsUnrecoverable(err error) bool {
	var se *StatusError
	var ve *ValidationError
	switch {
	case errors.As(err, &ve):
		return true
	case errors.As(err, &se):
		switch se.Code {
		case CodeUnauthenticated, CodePermissionDenied, CodeInvalidArgument, CodeNotFound,
			CodeFailedPrecondition, CodeOutOfRange, CodeUnimplemented:
			return true
		}
	}
	return false
}

// CodeOf returns the gRPC code that best describes err: the server's code for a
// StatusError, InvalidArgument for a ValidationError, Internal for a malformed
// response, DeadlineExceeded/Canceled/Unavailable for transport failures, OK for nil.
func CodeOf(err error) Code {
	var se *StatusError
	var te *TransportError
	var me *MalformedResponseError
	var ve *ValidationError
	switch {
	case err == nil:
		return CodeOK
	case errors.As(err, &se):
		return se.Code
	case errors.As(err, &ve):
		return CodeInvalidArgument
	case errors.As(err, &me):
		return CodeInternal
	case errors.As(err, &te) && te.Timeout:
		return CodeDeadlineExceeded
	case errors.Is(err, context.Canceled):
		return CodeCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return CodeDeadlineExceeded
	case errors.As(err, &te):
		return CodeUnavailable
	}
	return CodeUnknown
}
