package exchange

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cwcreds/cwcreds/internal/fileutil"
)

// Where a stored login lives.
const (
	LoginInKeyring = "keyring"
	LoginInFile    = "file"
)

// LoginStore keeps a profile's OIDC refresh token between runs: in the OS keyring
// when one works, else — CI machines and servers have none — in a 0600 file in the
// login folder, saying so once in a line (Notice). Beside it a small 0600 record,
// holding no secret, says where the token is and when the login was made, so
// that `cwcreds status` can tell without touching the token.
type LoginStore struct {
	Profile string
	Dir     string          // the login folder, e.g. DefaultLoginDir
	Keyring Keyring         // nil: OSKeyring{}
	Service string          // keyring service, default DefaultKeyringService
	Notice  func(string)    // nil: say nothing
	Clock   clockwork.Clock // nil: the real clock
}

// LoginRecord is what the record says: never the token.
type LoginRecord struct {
	Where   string    `json:"where"`          // LoginInKeyring or LoginInFile
	Path    string    `json:"path,omitempty"` // the token file, for LoginInFile
	SavedAt time.Time `json:"saved_at"`       // the last save: the login, or a rotation
}

const maxLoginRecordBytes = 4 << 10

var errKeptInFile = errors.New("the login is kept in its file")

func (s *LoginStore) stem() string { return filepath.Join(s.Dir, "oidc-"+safeFileName(s.Profile)) }

func (s *LoginStore) file() FileRefreshTokenStore {
	return FileRefreshTokenStore{Path: s.stem() + ".refresh"}
}

func (s *LoginStore) recordPath() string { return s.stem() + ".login.json" }

func (s *LoginStore) ring() (Keyring, string, string) {
	k, svc := s.Keyring, s.Service
	if k == nil {
		k = OSKeyring{}
	}
	if svc == "" {
		svc = DefaultKeyringService
	}
	return k, svc, "oidc-refresh/" + s.Profile
}

func (s *LoginStore) now() time.Time {
	if s.Clock == nil {
		return time.Now()
	}
	return s.Clock.Now()
}

// Load returns the stored refresh token, or an error wrapping ErrNoRefreshToken.
func (s *LoginStore) Load() (string, error) {
	if rec, ok := s.Info(); ok && rec.Where == LoginInKeyring {
		k, svc, user := s.ring()
		return KeyringRefreshTokenStore{Keyring: k, Service: svc, User: user}.Load()
	}
	return s.file().Load()
}

// Save stores tok: in the keyring when it takes it (removing any file copy), else
// in the file. A login kept in the file stays there when its token rotates (no
// keyring attempt, no notice on every refresh); a new login (after Forget) tries
// the keyring again.
func (s *LoginStore) Save(tok string) error {
	k, svc, user := s.ring()
	rec := LoginRecord{Where: LoginInKeyring, SavedAt: s.now().UTC().Round(0)}
	var kerr error
	if old, ok := s.Info(); ok && old.Where == LoginInFile {
		kerr = errKeptInFile
	} else {
		kerr = k.Set(svc, user, tok)
	}
	if kerr != nil {
		rec.Where, rec.Path = LoginInFile, s.file().Path
		if err := s.file().Save(tok); err != nil {
			return fmt.Errorf("could not store the login (keyring: %v; file: %w)", kerr, err)
		}
		if s.Notice != nil && kerr != errKeptInFile {
			s.Notice(fmt.Sprintf("the OS keyring cannot be used (%v); the login is stored in %s (0600)", kerr, rec.Path))
		}
	} else if err := os.Remove(s.file().Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("could not remove the old stored login %s: %w", s.file().Path, err)
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := fileutil.EnsurePrivateDir(s.Dir); err != nil {
		return err
	}
	return fileutil.WriteFileAtomic(s.recordPath(), data, 0o600)
}

// Info says where the login is stored and when, from the record alone (false: no
// login stored). A token file left by an older cwcreds without a record counts.
func (s *LoginStore) Info() (LoginRecord, bool) {
	if f, err := fileutil.OpenPrivate(s.recordPath()); err == nil {
		defer f.Close()
		data, err := io.ReadAll(io.LimitReader(f, maxLoginRecordBytes))
		var rec LoginRecord
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err == nil && dec.Decode(&rec) == nil && (rec.Where == LoginInKeyring || rec.Where == LoginInFile) {
			return rec, true
		}
	}
	if fi, err := os.Stat(s.file().Path); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
		return LoginRecord{Where: LoginInFile, Path: s.file().Path, SavedAt: fi.ModTime().UTC()}, true
	}
	return LoginRecord{}, false
}

// Forget removes the stored login wherever it is; false when there was none.
func (s *LoginStore) Forget() (bool, error) {
	removed := false
	k, svc, user := s.ring()
	if rec, ok := s.Info(); ok && rec.Where == LoginInKeyring {
		switch err := k.Delete(svc, user); {
		case err == nil:
			removed = true
		case !errors.Is(err, ErrKeyringNotFound):
			return false, fmt.Errorf("could not remove the stored login from the OS keyring: %w", err)
		}
	}
	for _, p := range []string{s.file().Path, s.recordPath()} {
		switch err := os.Remove(p); {
		case err == nil:
			removed = true
		case !errors.Is(err, fs.ErrNotExist):
			return removed, fmt.Errorf("could not remove the stored login %s: %w", p, errors.Unwrap(err))
		}
	}
	return removed, nil
}
