package exchange

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestRefreshTokenStores(t *testing.T) {
	file := FileRefreshTokenStore{Path: filepath.Join(t.TempDir(), "cwcreds", "login", "refresh-token")}
	ring := KeyringRefreshTokenStore{Keyring: &fakeKeyring{}, User: "oidc-refresh/default"}
	for _, s := range []RefreshTokenStore{file, ring} {
		if _, err := s.Load(); !errors.Is(err, ErrNoRefreshToken) {
			t.Fatalf("%T: empty store: %v", s, err)
		}
		if err := s.Save("rt-one"); err != nil {
			t.Fatal(err)
		}
		if err := s.Save("rt-two"); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Load(); err != nil || got != "rt-two" {
			t.Fatalf("%T: loaded %q, %v", s, got, err)
		}
	}
	fi, _ := os.Stat(file.Path)
	di, _ := os.Stat(filepath.Dir(file.Path))
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Fatalf("file %v, folder %v", fi.Mode(), di.Mode())
	}
	broken := KeyringRefreshTokenStore{Keyring: &fakeKeyring{err: errors.New("locked")}, User: "u"}
	if _, err := broken.Load(); err == nil || errors.Is(err, ErrNoRefreshToken) {
		t.Fatalf("a locked keyring: %v", err)
	}
}
