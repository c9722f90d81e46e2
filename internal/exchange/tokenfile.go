package exchange

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/jonboulle/clockwork"
)

// DefaultMaxTokenBytes caps a token file or a token command's output.
const DefaultMaxTokenBytes = 64 << 10

// TokenFile reads a JWT from a file that something else keeps fresh: a Kubernetes
// projected service-account token, a CI system's OIDC token. The file is re-read on
// every call because it rotates (botocore once cached it and failed a day later).
// Before the token is returned it is checked to be a well-formed JWT that has not
// expired by Clock, so nothing unusable is ever sent.
type TokenFile struct {
	Path string
	// MaxBytes caps the file size (default DefaultMaxTokenBytes).
	MaxBytes int64
	// Clock decides whether the token has expired (default the real clock).
	Clock clockwork.Clock
}

// Describe names what the source yields.
func (f *TokenFile) Describe() string { return "the token file's JWT" }

// Token returns the file's JWT, whitespace trimmed. Every error is unrecoverable
// (the file must change before trying again helps) and names the file, not the token.
func (f *TokenFile) Token(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", transientErr("could not read token file "+f.Path, err)
	}
	data, err := f.read()
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		return "", identityErr(fmt.Sprintf("token file %s is empty", f.Path),
			errors.New("wait for whatever writes it (kubelet, the CI runner) or check the path"))
	}
	if _, err := CheckJWT(tok, f.clock().Now()); err != nil {
		if errors.Is(err, ErrExpired) {
			return "", identityErr(fmt.Sprintf("token file %s holds an expired token", f.Path),
				fmt.Errorf("%w; whatever writes the file should have replaced it: check that it is still running", err))
		}
		return "", identityErr(fmt.Sprintf("token file %s does not hold a JWT", f.Path), err)
	}
	return tok, nil
}

// InputFingerprint is the sha256 of the file's contents. An unreadable file has a
// fixed fingerprint per reason (missing, not allowed, too big…) so that its
// appearance or repair counts as a change.
func (f *TokenFile) InputFingerprint() (string, error) {
	data, err := f.read()
	if err != nil {
		return "unreadable:" + readFailureKind(err), nil
	}
	return fingerprint(data), nil
}

func (f *TokenFile) clock() clockwork.Clock {
	if f.Clock == nil {
		return clockwork.NewRealClock()
	}
	return f.Clock
}

func (f *TokenFile) read() ([]byte, error) {
	if f.Path == "" {
		return nil, identityErr("no token file configured", errors.New("set the token file path"))
	}
	limit := f.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxTokenBytes
	}
	return readCapped(f.Path, "token file", limit)
}

// tooBigError marks a file over its cap.
type tooBigError struct{ max int64 }

func (e *tooBigError) Error() string {
	return fmt.Sprintf("it is larger than %d bytes", e.max)
}

// readCapped reads at most max bytes of path; errors are unrecoverable and say
// which file and why, in the words a user can act on.
func readCapped(path, what string, limit int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, openErr(path, what, err)
	}
	defer fh.Close()
	if fi, err := fh.Stat(); err == nil && fi.IsDir() {
		return nil, identityErr(fmt.Sprintf("%s %s is a folder", what, path), errors.New("give the path of the file inside it"))
	}
	data, err := io.ReadAll(io.LimitReader(fh, limit+1))
	if err != nil {
		return nil, identityErr(fmt.Sprintf("could not read %s %s", what, path), err)
	}
	if int64(len(data)) > limit {
		return nil, identityErr(fmt.Sprintf("%s %s is too big", what, path),
			fmt.Errorf("%w: check that the path names the right file", &tooBigError{max: limit}))
	}
	return data, nil
}

func openErr(path, what string, err error) *Error {
	cause := err
	var pe *fs.PathError
	if errors.As(err, &pe) {
		cause = pe.Err
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return identityErr(fmt.Sprintf("%s %s does not exist", what, path),
			fmt.Errorf("%w; check the path (for a Kubernetes projected token, the volume mount)", cause))
	case errors.Is(err, fs.ErrPermission):
		return identityErr(fmt.Sprintf("%s %s cannot be read", what, path),
			fmt.Errorf("%w; run as a user allowed to read it", cause))
	}
	return identityErr(fmt.Sprintf("could not open %s %s", what, path), cause)
}

func readFailureKind(err error) string {
	var tb *tooBigError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "missing"
	case errors.Is(err, fs.ErrPermission):
		return "forbidden"
	case errors.As(err, &tb):
		return "too-big"
	}
	return "other"
}
