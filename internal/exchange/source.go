package exchange

import "context"

// TokenSource is what every identity source provides: the credential to present
// (a JWT, a CoreWeave API token, or a base64 SAML response). Implementations check
// the credential's shape before returning it, and their errors are *Error values
// that never contain it.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// Fingerprinter is implemented by sources that can cheaply tell whether their input
// changed. The value is a sha256 of the input, never the input.
type Fingerprinter interface {
	InputFingerprint() (string, error)
}

// describer names what a source yields, for error messages ("the token file's JWT").
type describer interface {
	Describe() string
}

func describe(s TokenSource, fallback string) string {
	if d, ok := s.(describer); ok {
		return d.Describe()
	}
	return fallback
}

// sourceFingerprint passes a source's fingerprint through, or ErrNoFingerprint.
func sourceFingerprint(s TokenSource) (string, error) {
	if f, ok := s.(Fingerprinter); ok {
		return f.InputFingerprint()
	}
	return "", ErrNoFingerprint
}
