package cache

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"
	"github.com/jonboulle/clockwork"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cwcreds/cwcreds/internal/keypolicy"
)

func newTestStore(t *testing.T, clock clockwork.Clock) (*DiskStore, *observer.ObservedLogs) {
	t.Helper()
	log, logs := observed()
	s, err := NewDiskStore(DiskConfig{Dir: filepath.Join(t.TempDir(), "cwcreds"), Clock: clock, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return s, logs
}

func TestDefaultDir(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"XDG_CACHE_HOME": "/xdg", "HOME": "/home/u"}, "/xdg/cwcreds"},
		{map[string]string{"XDG_CACHE_HOME": "relative", "HOME": "/home/u"}, "/home/u/.cache/cwcreds"},
		{map[string]string{"HOME": "/home/u"}, "/home/u/.cache/cwcreds"},
	} {
		got, err := DefaultDir(env(tc.env))
		if err != nil || got != filepath.FromSlash(tc.want) {
			t.Errorf("%v: %q %v, want %q", tc.env, got, err, tc.want)
		}
	}
	if _, err := DefaultDir(env(nil)); err == nil || !strings.Contains(err.Error(), "set XDG_CACHE_HOME or HOME") {
		t.Errorf("no HOME: %v", err)
	}
}

func TestDiskColdThenWarm(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	s, logs := newTestStore(t, clock)
	ff := newFakeFetcher(clock, time.Hour)
	c1, err := s.GetOrFetch(t.Context(), Key{Profile: "default"}, ff, Policy{})
	if err != nil || c1.AccessKeyID != "CWTEST00000001" {
		t.Fatalf("cold: %v %v", c1, err)
	}
	clock.Advance(30 * time.Minute)
	c2, err := s.GetOrFetch(t.Context(), Key{Profile: "default"}, ff, Policy{})
	if err != nil || c2 != c1 || ff.count() != 1 {
		t.Fatalf("warm: %v %v, %d fetches", c2, err, ff.count())
	}
	path, _ := s.Path("default")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	di, _ := os.Stat(s.Dir())
	if runtime.GOOS != "windows" && (fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700) {
		t.Errorf("modes: file %o dir %o", fi.Mode().Perm(), di.Mode().Perm())
	}
	assertNoSecret(t, "logs", renderLogs(t, logs))
}

// Inside the refresh window one process refreshes; the old keys are returned until
// the new ones have propagated.
func TestDiskRefreshWindow(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	s, _ := newTestStore(t, clock)
	ff := newFakeFetcher(clock, time.Hour)
	if _, err := s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, Policy{}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(40 * time.Minute) // 20m left: lead is 20m35s without jitter
	c, err := s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, Policy{})
	if err != nil || ff.count() != 2 || c.AccessKeyID != "CWTEST00000001" {
		t.Fatalf("in window: %v %v, %d fetches (old keys expected while new propagate)", c, err, ff.count())
	}
	clock.Advance(5 * time.Second)
	c, err = s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, Policy{})
	if err != nil || ff.count() != 2 || c.AccessKeyID != "CWTEST00000002" {
		t.Fatalf("after propagation: %v %v, %d fetches", c, err, ff.count())
	}
}

// A clock set back before the fetch time makes the entry a miss.
func TestDiskClockSkewCannotExtendKeys(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	s, _ := newTestStore(t, clock)
	ff := newFakeFetcher(clock, time.Hour)
	if _, err := s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, Policy{}); err != nil {
		t.Fatal(err)
	}
	back := clockwork.NewFakeClockAt(epoch.Add(-30 * time.Minute))
	s.clock = back
	ff.clock = back
	c, err := s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, Policy{})
	if err != nil || ff.count() != 2 || c.AccessKeyID != "CWTEST00000002" {
		t.Fatalf("want a refetch after the clock went back: %v %v, %d", c, err, ff.count())
	}
}

// Anything not fully trustworthy is a miss, logged, and replaced.
func TestDiskUntrustedFilesAreReplaced(t *testing.T) {
	good := func(t *testing.T, s *DiskStore, clock clockwork.Clock) []byte {
		ff := newFakeFetcher(clock, time.Hour)
		if _, err := s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, Policy{}); err != nil {
			t.Fatal(err)
		}
		path, _ := s.Path("p")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	for name, spoil := range map[string]func(t *testing.T, s *DiskStore, path string, data []byte){
		"corrupt": func(t *testing.T, _ *DiskStore, path string, _ []byte) {
			writeRaw(t, path, []byte("{not json"), 0o600)
		},
		"truncated": func(t *testing.T, _ *DiskStore, path string, data []byte) {
			writeRaw(t, path, data[:len(data)/2], 0o600)
		},
		"foreign version": func(t *testing.T, _ *DiskStore, path string, data []byte) {
			writeRaw(t, path, []byte(strings.Replace(string(data), `"version": 2`, `"version": 7`, 1)), 0o600)
		},
		"other profile": func(t *testing.T, _ *DiskStore, path string, data []byte) {
			writeRaw(t, path, []byte(strings.Replace(string(data), `"profile": "p"`, `"profile": "q"`, 1)), 0o600)
		},
		"unknown field": func(t *testing.T, _ *DiskStore, path string, data []byte) {
			writeRaw(t, path, []byte(strings.Replace(string(data), `"version": 2`, `"version": 2, "extra": true`, 1)), 0o600)
		},
		"wrong mode": func(t *testing.T, _ *DiskStore, path string, _ []byte) {
			if err := os.Chmod(path, 0o644); err != nil {
				t.Fatal(err)
			}
		},
		"other user": func(t *testing.T, s *DiskStore, path string, _ []byte) {
			if os.Geteuid() == 0 { // really owned by someone else
				if err := os.Chown(path, 65534, 65534); err != nil {
					t.Fatal(err)
				}
				return
			}
			s.ownedByMe = func(fs.FileInfo) bool { return false }
		},
		"other identity": func(t *testing.T, _ *DiskStore, path string, data []byte) {
			writeRaw(t, path, []byte(strings.Replace(string(data), `"identity": ""`, `"identity": "org-2"`, 1)), 0o600)
		},
		"expiration beyond its lifetime": func(t *testing.T, _ *DiskStore, path string, data []byte) {
			writeRaw(t, path, regexp.MustCompile(`"expiration": "[^"]*"`).ReplaceAll(data, []byte(`"expiration": "2099-01-01T00:00:00Z"`)), 0o600)
		},
		"lifetime beyond 12h": func(t *testing.T, _ *DiskStore, path string, data []byte) {
			out := regexp.MustCompile(`"lifetime_ms": \d+`).ReplaceAll(data, []byte(`"lifetime_ms": 86400000`))
			out = regexp.MustCompile(`"expiration": "[^"]*"`).ReplaceAll(out, []byte(`"expiration": "2026-03-02T00:00:00Z"`))
			writeRaw(t, path, out, 0o600)
		},
		"symlink": func(t *testing.T, _ *DiskStore, path string, data []byte) {
			other := filepath.Join(t.TempDir(), "elsewhere.json")
			writeRaw(t, other, data, 0o600)
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(other, path); err != nil {
				t.Fatal(err)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			if runtime.GOOS == "windows" && (name == "wrong mode" || name == "symlink") {
				return
			}
			clock := clockwork.NewFakeClockAt(epoch)
			s, logs := newTestStore(t, clock)
			data := good(t, s, clock)
			path, _ := s.Path("p")
			spoil(t, s, path, data)
			ff := newFakeFetcher(clock, time.Hour)
			c, err := s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, Policy{})
			if err != nil || ff.count() != 1 || c.AccessKeyID != "CWTEST00000001" {
				t.Fatalf("want a miss and a fetch: %v %v, %d", c, err, ff.count())
			}
			if logs.FilterMessage("ignoring the cached credentials file; it will be replaced").Len() == 0 {
				t.Error("no warning logged")
			}
			assertNoSecret(t, "logs", renderLogs(t, logs))
			s.ownedByMe = func(fs.FileInfo) bool { return true }
			fi, err := os.Lstat(path)
			if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
				t.Fatalf("file not replaced: %v %v", fi, err)
			}
			if _, err := s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, Policy{}); err != nil || ff.count() != 1 {
				t.Fatalf("replacement not used: %v, %d", err, ff.count())
			}
		})
	}
}

func writeRaw(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// Profile names cannot escape the folder and distinct names get distinct files.
func TestDiskProfileNamesStayInside(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	s, _ := newTestStore(t, clock)
	names := []string{"../../etc/passwd", "a/b", "..", ".", "a.b", "a%2Eb", "%h00", "Ünïcode", strings.Repeat("x", 300), strings.Repeat("x", 301), "\x00nul"}
	seen := map[string]string{}
	for _, n := range names {
		path, err := s.Path(n)
		if err != nil {
			t.Fatalf("%q: %v", n, err)
		}
		if filepath.Dir(path) != s.Dir() || strings.HasPrefix(filepath.Base(path), ".") {
			t.Errorf("%q maps to %s, outside %s or hidden", n, path, s.Dir())
		}
		if prev, ok := seen[path]; ok {
			t.Errorf("%q and %q share %s", n, prev, path)
		}
		seen[path] = n
		ff := newFakeFetcher(clock, time.Hour)
		if _, err := s.GetOrFetch(t.Context(), Key{Profile: n}, ff, Policy{}); err != nil {
			t.Fatalf("%q: %v", n, err)
		}
	}
	entries, _ := os.ReadDir(s.Dir())
	if len(entries) != 2*len(names) { // a .json and a .lock each
		t.Errorf("%d files for %d profiles", len(entries), len(names))
	}
	if _, err := s.Path(""); err == nil {
		t.Error("an empty profile name must be refused")
	}
}

// A failure is remembered: another process does not repeat it before the backoff.
func TestDiskRemembersTransientFailure(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	s, _ := newTestStore(t, clock)
	ff := newFakeFetcher(clock, time.Hour)
	ff.setFail(func(n int, _ time.Time) error {
		if n == 1 {
			return retryAfterErr("upstream answered 503", 30*time.Second)
		}
		return nil
	})
	_, err := s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, Policy{})
	var nc *NoCredentialsError
	if !errors.As(err, &nc) || nc.Class != Transient || !strings.Contains(err.Error(), "upstream answered 503") {
		t.Fatalf("got %v", err)
	}
	s2, _ := NewDiskStore(DiskConfig{Dir: s.Dir(), Clock: clock}) // "another process"
	_, err = s2.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, Policy{})
	if !errors.As(err, &nc) || ff.count() != 1 {
		t.Fatalf("second process: %v, %d fetches", err, ff.count())
	}
	clock.Advance(30 * time.Second)
	if _, err := s2.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, Policy{}); err != nil || ff.count() != 2 {
		t.Fatalf("after the backoff: %v, %d fetches", err, ff.count())
	}
}

// A rejected identity is not tried again until its input changes.
func TestDiskUnrecoverableWaitsForInputChange(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	s, _ := newTestStore(t, clock)
	base := newFakeFetcher(clock, time.Hour)
	ff := newFPFetcher(base, "v1")
	base.setFail(func(int, time.Time) error {
		if ff.fp.Load() == "v1" {
			return rejectedErr("access denied")
		}
		return nil
	})
	for range 5 {
		_, err := s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, Policy{})
		if !strings.Contains(err.Error(), "identity not usable: access denied") {
			t.Fatalf("got %v", err)
		}
		clock.Advance(10 * time.Minute)
	}
	if base.count() != 1 {
		t.Fatalf("%d fetches, want 1", base.count())
	}
	ff.fp.Store("v2")
	if _, err := s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, Policy{}); err != nil || base.count() != 2 {
		t.Fatalf("after the input changed: %v, %d", err, base.count())
	}
}

// When the exchange fails, keys still above the floor are returned.
func TestDiskServesValidKeysWhenRefreshFails(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	s, _ := newTestStore(t, clock)
	ff := newFakeFetcher(clock, time.Hour)
	if _, err := s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, Policy{}); err != nil {
		t.Fatal(err)
	}
	ff.setFail(func(int, time.Time) error { return transientErr("timeout") })
	clock.Advance(50 * time.Minute)
	c, err := s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, Policy{})
	if err != nil || c.AccessKeyID != "CWTEST00000001" || ff.count() != 2 {
		t.Fatalf("got %v %v, %d", c, err, ff.count())
	}
	clock.Advance(9*time.Minute + time.Second) // under the floor
	if _, err := s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, Policy{}); !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("want no credentials, got %v", err)
	}
}

// A lock held elsewhere: a cold caller waits up to LockTimeout, then says why; a
// caller holding valid keys does not wait at all.
func TestDiskLockTimeout(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	log, _ := observed()
	dir := filepath.Join(t.TempDir(), "c")
	s, err := NewDiskStore(DiskConfig{Dir: dir, Clock: clock, Logger: log, LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ff := newFakeFetcher(clock, time.Hour)
	if _, err := s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, Policy{}); err != nil {
		t.Fatal(err)
	}
	held := flock.New(filepath.Join(dir, "p.lock"))
	if err := held.Lock(); err != nil {
		t.Fatal(err)
	}
	defer held.Unlock()

	clock.Advance(45 * time.Minute) // in the window, keys valid: no wait
	if c, err := s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, Policy{}); err != nil || c.AccessKeyID != "CWTEST00000001" || ff.count() != 1 {
		t.Fatalf("with valid keys: %v %v, %d", c, err, ff.count())
	}
	clock.Advance(time.Hour) // nothing valid: must wait, then give up clearly
	_, err = s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, Policy{})
	if err == nil || !strings.Contains(err.Error(), "another cwcreds process has been refreshing profile \"p\"") {
		t.Fatalf("got %v", err)
	}
}

func TestDiskRemove(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	s, _ := newTestStore(t, clock)
	ff := newFakeFetcher(clock, time.Hour)
	if _, err := s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, Policy{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("p"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("p"); err != nil {
		t.Fatalf("second remove: %v", err)
	}
	if _, err := s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, Policy{}); err != nil || ff.count() != 2 {
		t.Fatalf("after remove: %v, %d", err, ff.count())
	}
}

func TestDiskEntryRoundTrip(t *testing.T) {
	p := keypolicy.Default()
	h := newHeld(mkCreds("AK", epoch.Add(time.Hour)), epoch, time.Hour, p, 0)
	e := &diskEntry{Profile: "p", Current: toDiskKeys(h)}
	data, err := encodeEntry(e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeEntry(data, Key{Profile: "p"}, keypolicy.Default())
	if err != nil {
		t.Fatal(err)
	}
	g := got.pair(p)
	if g.cur.c != h.c || !g.cur.expiry.Equal(h.expiry) || !g.cur.refreshAt.Equal(h.refreshAt) {
		t.Errorf("round trip: %+v vs %+v", g.cur, h)
	}
}

// With AwaitPropagation, keys minted on a cold cache are returned once they are
// PropagationDelay old, to this process and to any other that reads them before;
// Fresh never returns them earlier. A refresh with old keys in hand never waits.
func TestDiskAwaitPropagation(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	s, err := NewDiskStore(DiskConfig{Dir: filepath.Join(t.TempDir(), "cwcreds"), Clock: clock, AwaitPropagation: true})
	if err != nil {
		t.Fatal(err)
	}
	ff := newFakeFetcher(clock, time.Hour)
	p := policyWith(func(p *Policy) { p.PropagationDelay = 3 * time.Second })
	got := make(chan error, 1)
	go func() {
		_, err := s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, p)
		got <- err
	}()
	if err := clock.BlockUntilContext(t.Context(), 1); err != nil { // waiting on the propagation timer
		t.Fatal(err)
	}
	if _, ok := s.Fresh(Key{Profile: "p"}, p); ok {
		t.Fatal("Fresh returned keys that are still propagating")
	}
	select {
	case err := <-got:
		t.Fatalf("returned before the keys propagated (%v)", err)
	default:
	}
	clock.Advance(3 * time.Second)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if c, ok := s.Fresh(Key{Profile: "p"}, p); !ok || c.AccessKeyID != "CWTEST00000001" {
		t.Fatalf("Fresh after propagation: %v %v", c, ok)
	}

	// Refresh: the previous keys are returned at once.
	clock.Advance(45 * time.Minute)
	c, err := s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, p)
	if err != nil || ff.count() != 2 || c.AccessKeyID != "CWTEST00000001" {
		t.Fatalf("refresh: %v %v, %d fetches", c, err, ff.count())
	}

	// A caller that gives up while waiting gets an error naming the wait.
	s2, err := NewDiskStore(DiskConfig{Dir: filepath.Join(t.TempDir(), "cwcreds"), Clock: clock, AwaitPropagation: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		_ = clock.BlockUntilContext(t.Context(), 1)
		cancel()
	}()
	if _, err := s2.GetOrFetch(ctx, Key{Profile: "q"}, ff, p); err == nil || !strings.Contains(err.Error(), "reach S3") {
		t.Fatalf("cancelled wait: %v", err)
	}
}

// An entry claiming a longer life than its keys were requested with is a miss.
func TestDiskEntryLongerThanRequested(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	s, logs := newTestStore(t, clock)
	ff := newFakeFetcher(clock, time.Hour)
	if _, err := s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, keypolicy.For(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, keypolicy.For(30*time.Minute)); err != nil || ff.count() != 2 {
		t.Fatalf("1h keys trusted by a profile asking for 30m: %v, %d fetches", err, ff.count())
	}
	if logs.FilterMessage("ignoring the cached credentials file; it will be replaced").Len() == 0 {
		t.Error("no warning logged")
	}
	// Keys the server says live longer than asked are kept only as long as asked.
	long := newFakeFetcher(clock, 2*time.Hour)
	c, err := s.GetOrFetch(t.Context(), Key{Profile: "q"}, long, keypolicy.For(time.Hour))
	if err != nil || !c.Expiration.Equal(epoch.Add(time.Hour)) {
		t.Fatalf("expiration %s (%v), want capped at the 1h asked for", c.Expiration, err)
	}
}

// Each Identity has its own entry: a profile whose settings changed misses.
func TestDiskIdentityChangeIsAMiss(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	s, _ := newTestStore(t, clock)
	ff := newFakeFetcher(clock, time.Hour)
	a, err := s.GetOrFetch(t.Context(), Key{Profile: "p", Identity: "org-1"}, ff, Policy{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Fresh(Key{Profile: "p", Identity: "org-2"}, Policy{}); ok {
		t.Fatal("Fresh answered for another identity")
	}
	b, err := s.GetOrFetch(t.Context(), Key{Profile: "p", Identity: "org-2"}, ff, Policy{})
	if err != nil || b.AccessKeyID == a.AccessKeyID || ff.count() != 2 {
		t.Fatalf("another identity got the cached keys: %v, %d fetches", err, ff.count())
	}
	clock.Advance(time.Minute) // past the propagation delay
	if c, ok := s.Fresh(Key{Profile: "p", Identity: "org-2"}, Policy{}); !ok || c.AccessKeyID != b.AccessKeyID {
		t.Fatal("the new identity's keys are not cached")
	}
}
