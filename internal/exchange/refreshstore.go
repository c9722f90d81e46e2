package exchange

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/cwcreds/cwcreds/internal/fileutil"
)

// ErrNoRefreshToken: no refresh token is stored; the user must log in.
var ErrNoRefreshToken = errors.New("no refresh token is stored")

// RefreshTokenStore keeps an OIDC refresh token between runs. Load returns
// ErrNoRefreshToken (wrapped) when there is none. The interactive login saves the
// first one; OIDCRefresh saves the rotated ones.
type RefreshTokenStore interface {
	Load() (string, error)
	Save(string) error
}

// maxRefreshTokenBytes bounds a stored refresh token.
const maxRefreshTokenBytes = 16 << 10

// FileRefreshTokenStore keeps the refresh token in a 0600 file inside a 0700
// folder, replaced atomically.
type FileRefreshTokenStore struct {
	Path string
}

// Load reads the token.
func (s FileRefreshTokenStore) Load() (string, error) {
	data, err := readCapped(s.Path, "refresh token file", maxRefreshTokenBytes)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%w in %s", ErrNoRefreshToken, s.Path)
		}
		return "", err
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		return "", fmt.Errorf("%w: %s is empty", ErrNoRefreshToken, s.Path)
	}
	return tok, nil
}

// Save replaces the stored token.
func (s FileRefreshTokenStore) Save(tok string) error {
	if err := fileutil.EnsurePrivateDir(filepath.Dir(s.Path)); err != nil {
		return err
	}
	return fileutil.WriteFileAtomic(s.Path, []byte(tok), 0o600)
}

// KeyringRefreshTokenStore keeps the refresh token in the OS keyring.
type KeyringRefreshTokenStore struct {
	Keyring Keyring // default OSKeyring{}
	Service string  // default DefaultKeyringService
	User    string  // required: e.g. "oidc-refresh/<profile>"
}

func (s KeyringRefreshTokenStore) ring() (Keyring, string) {
	k, svc := s.Keyring, s.Service
	if k == nil {
		k = OSKeyring{}
	}
	if svc == "" {
		svc = DefaultKeyringService
	}
	return k, svc
}

// Load reads the token.
func (s KeyringRefreshTokenStore) Load() (string, error) {
	k, svc := s.ring()
	tok, err := k.Get(svc, s.User)
	if errors.Is(err, ErrKeyringNotFound) {
		return "", fmt.Errorf("%w in the OS keyring (service %s, user %s)", ErrNoRefreshToken, svc, s.User)
	}
	if err != nil {
		return "", err
	}
	if tok = strings.TrimSpace(tok); tok == "" {
		return "", fmt.Errorf("%w: the OS keyring entry is empty", ErrNoRefreshToken)
	}
	return tok, nil
}

// Save replaces the stored token.
func (s KeyringRefreshTokenStore) Save(tok string) error {
	k, svc := s.ring()
	return k.Set(svc, s.User, tok)
}
