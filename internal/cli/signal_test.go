//go:build unix

package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/cwcreds/cwcreds/internal/emulator"
)

// Every wait of a cold credential-process — for another process's lock, for the
// exchange, for new keys to reach S3 — ends on SIGTERM or SIGINT within 2 s with
// one line on stderr and a non-zero exit; a FIFO, socket or link where the lock
// belongs is refused at once instead of hanging.
func TestSignalsEndEveryWait(t *testing.T) {
	bin := buildCwcreds(t)
	lockOf := func(w *world) string { return filepath.Join(w.env["XDG_CACHE_HOME"], "cwcreds", "default.lock") }
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, w *world)
		delay time.Duration // the S3 propagation delay of the world
		want  string
	}{
		{"lock", func(t *testing.T, w *world) {
			if err := os.MkdirAll(filepath.Dir(lockOf(w)), 0o700); err != nil {
				t.Fatal(err)
			}
			l := flock.New(lockOf(w))
			if ok, err := l.TryLock(); !ok || err != nil {
				t.Fatalf("lock: %v", err)
			}
			t.Cleanup(func() { _ = l.Unlock() })
		}, 0, "waiting for the cache lock"},
		{"exchange", func(t *testing.T, w *world) {
			w.emu.InjectFault("CreateAccessKeyFromOIDC", emulator.Fault{Count: 100, Latency: time.Minute})
		}, 0, "exchange"},
		{"propagation", func(*testing.T, *world) {}, time.Minute, "reach S3"},
	} {
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
			t.Run(tc.name+"/"+sig.String(), func(t *testing.T) {
				w := newWorldWithPropagation(t, tc.delay)
				tc.setup(t, w)
				for _, argv := range [][]string{{bin, "credential-process"}, {fastBinary(bin)}} {
					code, stderr, took := runAndSignal(t, w, argv, sig)
					name := filepath.Base(argv[0])
					if took > 2*time.Second {
						t.Errorf("%s took %s to stop after %s", name, took, sig)
					}
					if code == 0 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "interrupted") || !strings.Contains(stderr, tc.want) {
						t.Errorf("%s after %s: exit %d, stderr %q; want a non-zero exit and one line saying it was interrupted while %q", name, sig, code, stderr, tc.want)
					}
					w.checkLeaks("stderr", stderr)
				}
			})
		}
	}

	for name, mk := range map[string]func(*testing.T, string){"fifo": mkfifoAt, "socket": mksocketAt, "symlink": mksymlinkAt} {
		t.Run("special lock file/"+name, func(t *testing.T) {
			w := newWorld(t)
			if err := os.MkdirAll(filepath.Dir(lockOf(w)), 0o700); err != nil {
				t.Fatal(err)
			}
			mk(t, lockOf(w))
			for _, argv := range [][]string{{bin, "credential-process"}, {fastBinary(bin)}} {
				code, stderr, took := runAndSignal(t, w, argv, 0)
				if code == 0 || took > 5*time.Second || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "remove it") {
					t.Errorf("%s with a %s lock file: exit %d after %s, stderr %q", filepath.Base(argv[0]), name, code, took, stderr)
				}
			}
			if w.exchanges() != 0 {
				t.Errorf("%d exchanges without the lock", w.exchanges())
			}
		})
	}
}

// runAndSignal starts argv, sends sig (unless 0) once it has had a second to reach
// its wait, and returns its exit code, stderr and how long it took to exit after
// the signal (or after starting, for sig 0).
func runAndSignal(t *testing.T, w *world, argv []string, sig syscall.Signal) (int, string, time.Duration) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = w.environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	start := time.Now()
	if sig != 0 {
		select {
		case <-done:
			t.Fatalf("%s exited before the signal: %s", filepath.Base(argv[0]), stderr.String())
		case <-time.After(time.Second):
		}
		start = time.Now()
		if err := cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%s still running 30 s later", filepath.Base(argv[0]))
	}
	if stdout.Len() != 0 {
		t.Errorf("%s wrote to stdout: %q", filepath.Base(argv[0]), stdout.String())
	}
	return cmd.ProcessState.ExitCode(), stderr.String(), time.Since(start)
}

func mkfifoAt(t *testing.T, path string) {
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
}

func mksocketAt(t *testing.T, path string) {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
}

func mksymlinkAt(t *testing.T, path string) {
	target := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}
