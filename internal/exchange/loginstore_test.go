package exchange

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

var errNoSecretService = errors.New(`the OS keyring cannot be used here (exec: "dbus-launch": executable file not found in $PATH)`)

// With a working keyring the token lives there and no file holds it.
func TestLoginStoreKeyring(t *testing.T) {
	ring := &fakeKeyring{}
	clock := clockwork.NewFakeClockAt(time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC))
	s := &LoginStore{Profile: "laptop", Dir: filepath.Join(t.TempDir(), "state"), Keyring: ring, Clock: clock,
		Notice: func(m string) { t.Errorf("notice with a working keyring: %s", m) }}
	if _, ok := s.Info(); ok {
		t.Fatal("a login before any was stored")
	}
	if _, err := s.Load(); !errors.Is(err, ErrNoRefreshToken) {
		t.Fatalf("Load before Save: %v", err)
	}
	if err := s.Save("rt-secret-1"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Load(); err != nil || got != "rt-secret-1" {
		t.Fatalf("Load = %q, %v", got, err)
	}
	rec, ok := s.Info()
	if !ok || rec.Where != LoginInKeyring || !rec.SavedAt.Equal(clock.Now()) {
		t.Fatalf("Info = %+v, %v", rec, ok)
	}
	assertNoSecretInDir(t, s.Dir, "rt-secret-1")
	if removed, err := s.Forget(); !removed || err != nil {
		t.Fatalf("Forget = %v, %v", removed, err)
	}
	if len(ring.m) != 0 {
		t.Fatal("the keyring entry survived Forget")
	}
	if _, ok := s.Info(); ok {
		t.Fatal("a login after Forget")
	}
}

// Without a Secret Service (every CI machine) the token goes to a 0600 file, with
// one notice; rotations stay in the file without another.
func TestLoginStoreFallsBackToFile(t *testing.T) {
	ring := &fakeKeyring{err: errNoSecretService}
	var notices []string
	s := &LoginStore{Profile: "laptop", Dir: filepath.Join(t.TempDir(), "state"), Keyring: ring,
		Notice: func(m string) { notices = append(notices, m) }}
	for _, tok := range []string{"rt-secret-1", "rt-secret-2"} {
		if err := s.Save(tok); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Load(); err != nil || got != tok {
			t.Fatalf("Load = %q, %v", got, err)
		}
	}
	if len(notices) != 1 || !strings.Contains(notices[0], "stored in "+s.file().Path) || strings.Contains(notices[0], "rt-secret") {
		t.Fatalf("notices %q, want one naming the file", notices)
	}
	fi, err := os.Stat(s.file().Path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file %v %v", fi, err)
	}
	rec, ok := s.Info()
	if !ok || rec.Where != LoginInFile || rec.Path != s.file().Path {
		t.Fatalf("Info = %+v, %v", rec, ok)
	}
	data, _ := os.ReadFile(s.recordPath())
	if strings.Contains(string(data), "rt-secret") {
		t.Fatal("the login record holds the token")
	}
	if removed, err := s.Forget(); !removed || err != nil {
		t.Fatalf("Forget = %v, %v", removed, err)
	}
	for _, p := range []string{s.file().Path, s.recordPath()} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s survived Forget", p)
		}
	}
	// A new login tries the keyring again.
	ring.err = nil
	if err := s.Save("rt-secret-3"); err != nil {
		t.Fatal(err)
	}
	if rec, _ := s.Info(); rec.Where != LoginInKeyring {
		t.Fatalf("after Forget with a working keyring: %+v", rec)
	}
}

// A token file left by an older cwcreds, without a record, is still the login.
func TestLoginStoreReadsAnOldFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	old := FileRefreshTokenStore{Path: filepath.Join(dir, "oidc-laptop.refresh")}
	if err := old.Save("rt-old"); err != nil {
		t.Fatal(err)
	}
	s := RefreshStoreFor("laptop", dir, &fakeKeyring{})
	if got, err := s.Load(); err != nil || got != "rt-old" {
		t.Fatalf("Load = %q, %v", got, err)
	}
	if rec, ok := s.Info(); !ok || rec.Where != LoginInFile {
		t.Fatalf("Info = %+v, %v", rec, ok)
	}
}

func assertNoSecretInDir(t *testing.T, dir, secret string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		data, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		if strings.Contains(string(data), secret) {
			t.Errorf("%s holds the token", e.Name())
		}
	}
}
