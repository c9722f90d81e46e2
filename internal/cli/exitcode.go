package cli

import (
	"errors"
	"fmt"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// Exit codes of the admin commands (keys, policies, buckets, org, can-i), and of
// any command that maps its error with exitCodeFor. The README's "Exit codes"
// table lists them; scripts rely on them, so they never change meaning.
const (
	exitOK               = 0
	exitFailure          = 1 // anything not below; can-i: not every pair is allowed
	exitInvalidInput     = 2 // a bad flag, argument or file; no API token; the API refused the request as invalid
	exitNotFound         = 3 // the key, policy or bucket does not exist
	exitPermissionDenied = 4 // the API token was refused, or its principal may not do this
	exitUnavailable      = 5 // the API could not be reached, timed out, was overloaded or answered garbage: retry later
)

// inputError marks a mistake in what the user gave: exit code 2.
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }

// invalidInput is an inputError with a formatted message.
func invalidInput(format string, args ...any) error {
	return &inputError{fmt.Errorf(format, args...)}
}

// exitCodeFor maps an error to its exit code; nil is 0.
func exitCodeFor(err error) int {
	var ee *exitError
	var ie *inputError
	var ce *config.Error
	var se *cwobject.StatusError
	var ve *cwobject.ValidationError
	var te *cwobject.TransportError
	var me *cwobject.MalformedResponseError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ie), errors.As(err, &ce), errors.As(err, &ve):
		return exitInvalidInput
	case errors.As(err, &se):
		return exitCodeForStatus(se.Code)
	case errors.As(err, &te), errors.As(err, &me):
		if cwobject.CodeOf(err) == cwobject.CodeCanceled {
			return exitFailure
		}
		return exitUnavailable
	}
	return exitFailure
}

func exitCodeForStatus(c cwobject.Code) int {
	switch c {
	case cwobject.CodeInvalidArgument, cwobject.CodeFailedPrecondition, cwobject.CodeOutOfRange, cwobject.CodeAlreadyExists:
		return exitInvalidInput
	case cwobject.CodeNotFound:
		return exitNotFound
	case cwobject.CodePermissionDenied, cwobject.CodeUnauthenticated:
		return exitPermissionDenied
	case cwobject.CodeUnavailable, cwobject.CodeDeadlineExceeded, cwobject.CodeResourceExhausted,
		cwobject.CodeInternal, cwobject.CodeUnknown, cwobject.CodeAborted, cwobject.CodeDataLoss:
		return exitUnavailable
	}
	return exitFailure
}

// withExitCode carries err's exit code through cobra to Run.
func withExitCode(err error) error {
	if err == nil {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	return &exitError{code: exitCodeFor(err), err: err}
}
