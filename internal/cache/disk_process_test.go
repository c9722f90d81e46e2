package cache

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cwcreds/cwcreds/internal/creds"
)

// The test binary doubles as the child process of the multi-process tests.
const (
	envChild   = "CWCREDS_CACHE_TEST_CHILD" // "fetch" or "hang-in-write"
	envDir     = "CWCREDS_CACHE_TEST_DIR"
	envCounter = "CWCREDS_CACHE_TEST_COUNTER"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(envChild); mode != "" {
		os.Exit(childMain(mode))
	}
	os.Exit(m.Run())
}

// childMain is one credential_process-like invocation: GetOrFetch, print the keys.
func childMain(mode string) int {
	s, err := NewDiskStore(DiskConfig{Dir: os.Getenv(envDir), LockTimeout: 30 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if mode == "hang-in-write" {
		s.writeFile = hangInWrite
	}
	clock := clockwork.NewRealClock()
	f := FetcherFunc(func(context.Context) (creds.Credentials, error) {
		if err := appendLine(os.Getenv(envCounter), fmt.Sprint(os.Getpid())); err != nil {
			return creds.Credentials{}, err
		}
		return creds.Credentials{
			AccessKeyID:     fmt.Sprintf("CWPID%d", os.Getpid()),
			SecretAccessKey: fmt.Sprintf("secret-of-%d", os.Getpid()),
			Expiration:      clock.Now().Add(time.Hour).Truncate(time.Second),
		}, nil
	})
	c, err := s.GetOrFetch(context.Background(), Key{Profile: "shared/profile"}, f, Policy{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out, _ := json.Marshal(map[string]string{"id": c.AccessKeyID, "secret": c.SecretAccessKey, "exp": c.Expiration.UTC().Format(time.RFC3339)})
	fmt.Println(string(out))
	return 0
}

// appendLine counts fetches across processes: O_APPEND writes of one short line
// are atomic on local file systems.
func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(line + "\n")
	return err
}

// hangInWrite does what fileutil.WriteFileAtomic does up to the rename, leaving a
// half-written temporary file, says so on stdout, and blocks until killed.
func hangInWrite(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	_ = tmp.Chmod(perm)
	_, _ = tmp.Write(data[:len(data)/2])
	_ = tmp.Sync()
	fmt.Println("WRITING")
	_, _ = io.Copy(io.Discard, os.Stdin) // the parent never closes it: wait for SIGKILL
	return fmt.Errorf("stdin closed")
}

func childCmd(t *testing.T, mode, dir, counter string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+mode, envDir+"="+dir, envCounter+"="+counter)
	return cmd
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(data), "\n")
}

// 50 separate processes on a cold disk cache: exactly one exchange, 50 identical outputs.
func TestDiskFiftyProcessesOneFetch(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	counter := filepath.Join(t.TempDir(), "fetches")
	const n = 50
	outs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			cmd := childCmd(t, "fetch", dir, counter)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			outs[i] = string(out)
			if err != nil {
				errs[i] = fmt.Errorf("%v: %s", err, stderr.String())
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("process %d: %v", i, errs[i])
		}
		if outs[i] != outs[0] || !strings.Contains(outs[0], `"id":"CWPID`) {
			t.Fatalf("process %d printed %q, process 0 %q", i, outs[i], outs[0])
		}
	}
	if got := countLines(t, counter); got != 1 {
		t.Fatalf("%d exchanges for %d cold processes, want 1", got, n)
	}
}

// A process killed (SIGKILL) in the middle of writing leaves a cache the next
// process can use: no stale lock, no half file read, the temporary file cleaned up.
func TestDiskKilledWriterLeavesUsableCache(t *testing.T) {
	for _, warm := range []bool{false, true} {
		t.Run(fmt.Sprintf("warm=%v", warm), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "cache")
			counter := filepath.Join(t.TempDir(), "fetches")
			s, err := NewDiskStore(DiskConfig{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			var oldID string
			if warm { // keys inside the refresh window, so the child refreshes
				clock := clockwork.NewFakeClockAt(time.Now().Add(-50 * time.Minute))
				ff := newFakeFetcher(clock, time.Hour)
				s.clock = clock
				c, err := s.GetOrFetch(t.Context(), Key{Profile: "shared/profile"}, ff, Policy{})
				if err != nil {
					t.Fatal(err)
				}
				oldID = c.AccessKeyID
				s.clock = clockwork.NewRealClock()
			}

			child := childCmd(t, "hang-in-write", dir, counter)
			stdin, err := child.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			defer stdin.Close()
			stdout, err := child.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := child.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil || line != "WRITING\n" {
				_ = child.Process.Kill()
				t.Fatalf("child did not reach the write: %q %v", line, err)
			}
			if err := child.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			_ = child.Wait()
			temps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
			if len(temps) != 1 {
				t.Fatalf("want the killed child's temporary file, found %v", temps)
			}

			next := childCmd(t, "fetch", dir, counter)
			var stderr strings.Builder
			next.Stderr = &stderr
			out, err := next.Output()
			if err != nil {
				t.Fatalf("next process failed: %v: %s", err, stderr.String())
			}
			if warm && !strings.Contains(string(out), oldID) {
				t.Errorf("next process printed %s; the old keys %s are still valid and the new ones propagating", out, oldID)
			}
			if got := countLines(t, counter); got != 2 {
				t.Errorf("%d exchanges, want 2 (the killed child's and the next one's)", got)
			}
			if temps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*")); len(temps) != 0 {
				t.Errorf("temporary files left: %v", temps)
			}
			ff := FetcherFunc(func(context.Context) (creds.Credentials, error) {
				return creds.Credentials{}, fmt.Errorf("must not fetch")
			})
			if _, err := s.GetOrFetch(t.Context(), Key{Profile: "shared/profile"}, ff, Policy{}); err != nil {
				t.Fatalf("the cache the next process wrote is not usable: %v", err)
			}
		})
	}
}
