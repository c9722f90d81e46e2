package server

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/cwcreds/cwcreds/internal/fileutil"
)

// MaxTokenLen is the longest auth token accepted, from a file or in Config.
const MaxTokenLen = 4096

// tokenBytes is the entropy of a generated token: 32 bytes, 43 base64url characters.
const tokenBytes = 32

// AuthTokenOptions configure LoadAuthToken.
type AuthTokenOptions struct {
	// Generate writes a new random token when the file does not exist, at load and
	// at every Reload. Without it a missing file is an error.
	Generate bool
}

// AuthToken is the token callers of the credentials endpoint must send, kept in a
// file that Reload re-reads. Only its SHA-256 digest is held: the value never
// leaves the file, and no error or method returns it. Check and Reload are safe
// for concurrent use.
type AuthToken struct {
	path     string // absolute; "" for a fixed token (Config.Token)
	generate bool

	want atomic.Pointer[tokenChecker] // read on every request, without a lock

	mu        sync.Mutex // serialises Reload
	generated bool       // the last successful read found no file and wrote one
}

// LoadAuthToken reads the auth token kept in path (made absolute), or, with
// opts.Generate and no file there, writes a new one: see loadOrCreateToken for the
// file's format. Errors name the file, never its content.
func LoadAuthToken(path string, opts AuthTokenOptions) (*AuthToken, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("auth token file %s: %w", path, err)
	}
	a := &AuthToken{path: abs, generate: opts.Generate}
	tc, created, err := a.read()
	if err != nil {
		return nil, err
	}
	a.want.Store(&tc)
	a.generated = created
	return a, nil
}

// fixedToken is an AuthToken with no file, for Config.Token.
func fixedToken(tok string) (*AuthToken, error) {
	if err := checkToken(tok); err != nil {
		return nil, err
	}
	a := &AuthToken{}
	tc := newTokenChecker(tok)
	a.want.Store(&tc)
	return a, nil
}

// Path is the absolute path of the token file ("" for a token given in Config).
func (a *AuthToken) Path() string { return a.path }

// Generated reports whether the last successful load or Reload found no file and
// wrote the token now in force.
func (a *AuthToken) Generated() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.generated
}

// Reload re-reads the file and, if it holds another token (or was missing and
// opts.Generate wrote a new one), requires that one from now on; requests already
// checked are not affected. SDKs re-read the token file on every fetch, so callers
// pick the new token up by themselves. On error the previous token stays in force.
func (a *AuthToken) Reload() (changed bool, err error) {
	if a.path == "" {
		return false, errors.New("the auth token was not read from a file: there is nothing to reload")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	tc, created, err := a.read()
	if err != nil {
		return false, err
	}
	a.generated = created
	if subtle.ConstantTimeCompare(tc.want[:], a.want.Load().want[:]) == 1 {
		return false, nil
	}
	a.want.Store(&tc)
	return true, nil
}

// Check reports whether presented is the token, in constant time: the SHA-256
// digests are compared, so neither the token's content nor its length leaks.
func (a *AuthToken) Check(presented string) bool {
	return a.want.Load().matches(presented)
}

// read loads (or generates) the file's token and returns its digest.
func (a *AuthToken) read() (tc tokenChecker, created bool, err error) {
	var tok string
	if a.generate {
		tok, created, err = loadOrCreateToken(a.path)
	} else {
		tok, err = loadToken(a.path)
	}
	if err != nil {
		return tokenChecker{}, false, err
	}
	return newTokenChecker(tok), created, nil
}

// loadToken returns the token kept in path, which must exist.
func loadToken(path string) (string, error) {
	data, err := readTokenFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("auth token file %s does not exist: write a token into it", path)
	}
	if err != nil {
		return "", err
	}
	return tokenFromFile(path, data)
}

// loadOrCreateToken returns the auth token kept in path. If the file exists its
// content is used, minus one trailing line break (editors add one; SDKs reject a
// token containing \r or \n), and the file is left as it is. Otherwise a token of 32
// random bytes, base64url without padding, is written there (mode 0600, no trailing
// newline, parent folder created 0700 if missing) and created is true.
//
// An existing parent folder is not touched: it may be a volume shared with the
// workload that reads the token. Two processes creating the same file at once each
// write a token and the last rename wins; give each daemon its own file.
func loadOrCreateToken(path string) (token string, created bool, err error) {
	data, err := readTokenFile(path)
	switch {
	case err == nil:
		tok, err := tokenFromFile(path, data)
		return tok, false, err
	case !errors.Is(err, fs.ErrNotExist):
		return "", false, err
	}
	var raw [tokenBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", false, fmt.Errorf("could not generate an auth token: %w", err)
	}
	tok := base64.RawURLEncoding.EncodeToString(raw[:])
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := fileutil.EnsurePrivateDir(dir); err != nil {
			return "", false, fmt.Errorf("could not create the auth token folder: %w", err)
		}
	}
	if err := fileutil.WriteFileAtomic(path, []byte(tok), 0o600); err != nil {
		return "", false, fmt.Errorf("could not save the auth token: %w", err)
	}
	return tok, true, nil
}

func readTokenFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("could not read the auth token file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("could not read the auth token file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("auth token file %s is not a regular file: point the token file option at a file", path)
	}
	if fi.Size() > MaxTokenLen+2 { // room for a trailing \r\n
		return nil, fmt.Errorf("auth token file %s is larger than %d bytes, so it holds no token: point the token file option at the token, or delete the file so cwcreds generates one", path, MaxTokenLen)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxTokenLen+3))
	if err != nil {
		return nil, fmt.Errorf("could not read the auth token file: %w", err)
	}
	return data, nil
}

// tokenFromFile strips one trailing "\n" or "\r\n" and checks what remains.
func tokenFromFile(path string, data []byte) (string, error) {
	if len(data) == 0 {
		return "", fmt.Errorf("auth token file %s is empty: write a token into it, or delete it so cwcreds generates one", path)
	}
	if n := len(data); data[n-1] == '\n' {
		data = data[:n-1]
		if n := len(data); n > 0 && data[n-1] == '\r' {
			data = data[:n-1]
		}
	}
	if err := checkToken(string(data)); err != nil {
		return "", fmt.Errorf("auth token file %s: %w", path, err)
	}
	return string(data), nil
}

// checkToken accepts what every SDK can send unchanged as an Authorization value:
// 1 to MaxTokenLen printable ASCII characters without spaces. Go and botocore refuse
// \r and \n; HTTP strips leading and trailing spaces, which would never match.
func checkToken(tok string) error {
	switch {
	case tok == "":
		return errors.New("the auth token is empty: use a non-empty token")
	case len(tok) > MaxTokenLen:
		return fmt.Errorf("the auth token is longer than %d bytes: use a shorter token", MaxTokenLen)
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c <= ' ' || c >= 0x7f {
			return errors.New("the auth token holds a space, line break, control or non-ASCII character: SDKs cannot send it; use printable ASCII on one line")
		}
	}
	return nil
}

// tokenChecker compares SHA-256 digests of the expected and the presented token in
// constant time, so neither the content nor the length of the token leaks.
type tokenChecker struct{ want [sha256.Size]byte }

func newTokenChecker(tok string) tokenChecker {
	return tokenChecker{want: sha256.Sum256([]byte(tok))}
}

func (t *tokenChecker) matches(got string) bool {
	if len(got) > MaxTokenLen { // no valid token is this long; the length is public
		return false
	}
	// A stack buffer keeps the common case free of allocations.
	var buf [128]byte
	var sum [sha256.Size]byte
	if len(got) <= len(buf) {
		n := copy(buf[:], got)
		sum = sha256.Sum256(buf[:n])
	} else {
		sum = sha256.Sum256([]byte(got))
	}
	return subtle.ConstantTimeCompare(sum[:], t.want[:]) == 1
}
