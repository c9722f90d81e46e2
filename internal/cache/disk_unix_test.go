//go:build unix

package cache

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// A FIFO, socket or symbolic link where the lock or cache file belongs is refused
// at once with a message saying what to remove: it never blocks the caller.
func TestDiskSpecialFilesNeverBlock(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		make       func(t *testing.T, path string)
		want       string // in the error; "" when the call must succeed
	}{
		{"fifo lock", ".lock", mkfifo, "is a FIFO (named pipe), not a regular file; remove it"},
		{"socket lock", ".lock", mksocket, "is a socket, not a regular file; remove it"},
		{"symlink lock", ".lock", mksymlink, "is a symbolic link, not a regular file; remove it"},
		{"fifo cache file", ".json", mkfifo, ""},
		{"socket cache file", ".json", mksocket, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := clockwork.NewFakeClockAt(epoch)
			s, _ := newTestStore(t, clock)
			if err := os.MkdirAll(s.Dir(), 0o700); err != nil {
				t.Fatal(err)
			}
			tc.make(t, filepath.Join(s.Dir(), "p"+tc.file))
			ff := newFakeFetcher(clock, time.Hour)
			done := make(chan error, 1)
			go func() {
				_, err := s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, Policy{})
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("GetOrFetch blocked on the special file")
			}
			if tc.want == "" {
				if err != nil || ff.count() != 1 {
					t.Fatalf("want a miss and a fetch: %v, %d", err, ff.count())
				}
				clock.Advance(time.Minute) // past the propagation delay
				if _, ok := s.Fresh(Key{Profile: "p"}, Policy{}); !ok {
					t.Fatal("the special file was not replaced by a cache entry")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || ff.count() != 0 {
				t.Fatalf("error %v (%d fetches), want one containing %q", err, ff.count(), tc.want)
			}
		})
	}
}

func mkfifo(t *testing.T, path string) {
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
}

func mksocket(t *testing.T, path string) {
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	t.Cleanup(func() { l.Close() })
}

func mksymlink(t *testing.T, path string) {
	target := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

// A filesystem that cannot take the cache still gets keys, with a warning.
func TestDiskNoRoomStillAnswers(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	var warnings []string
	s, err := NewDiskStore(DiskConfig{Dir: filepath.Join(t.TempDir(), "cwcreds"), Clock: clock, Warn: func(m string) { warnings = append(warnings, m) }})
	if err != nil {
		t.Fatal(err)
	}
	s.writeFile = func(string, []byte, os.FileMode) error {
		return &os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}
	}
	ff := newFakeFetcher(clock, time.Hour)
	if _, err := s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, Policy{}); err != nil {
		t.Fatal(err)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "no space left on device") || !strings.Contains(warnings[0], "every call exchanges again") {
		t.Fatalf("warnings %q", warnings)
	}
}
