package cache

import (
	"context"
	"errors"

	"github.com/cwcreds/cwcreds/internal/creds"
)

// Fetcher obtains a fresh set of keys for one identity (one exchange). Its errors
// must never contain secrets: they are logged, stored in the disk cache and shown to
// users. Classify decides whether an error is worth retrying.
type Fetcher interface {
	Fetch(ctx context.Context) (creds.Credentials, error)
}

// FetcherFunc adapts a function to Fetcher.
type FetcherFunc func(ctx context.Context) (creds.Credentials, error)

// Fetch calls f.
func (f FetcherFunc) Fetch(ctx context.Context) (creds.Credentials, error) { return f(ctx) }

// InputFingerprinter is implemented by fetchers that can cheaply say whether their
// identity input changed (a hash of the token file, a login generation). After an
// unrecoverable failure the cache stops calling Fetch until the fingerprint changes.
// The value must not be the input itself; the cache hashes it again before it keeps,
// stores or logs it.
type InputFingerprinter interface {
	InputFingerprint() (string, error)
}

// fingerprinterOf returns f's InputFingerprinter, or nil when f has none or says
// it cannot tell (errors.ErrUnsupported, e.g. a token command whose output cannot
// be known without running it): such a fetcher is retried on a timer instead.
func fingerprinterOf(f Fetcher) InputFingerprinter {
	fp, ok := f.(InputFingerprinter)
	if !ok {
		return nil
	}
	if _, err := fp.InputFingerprint(); errors.Is(err, errors.ErrUnsupported) {
		return nil
	}
	return fp
}
