//go:build unix

package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tokenCommandSecret is what the failing token command prints on stderr: any
// text, which cwcreds must pass through and never keep or repeat.
const tokenCommandSecret = "password=hunter2-SECRETVALUE"

// A failing token command's stderr reaches cwcreds's stderr as it was written —
// through cwcreds-credential-process's hand-over too — and nowhere else: not
// in the error line, not in the cache file's stored failure, not in status.
func testTokenCommandStderr(t *testing.T, bin string) {
	w := newWorld(t)
	script := filepath.Join(w.dir, "get-token")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho '"+tokenCommandSecret+"' >&2\nexit 3\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	src := "    source: {type: token_command, command: [" + script + "]}\n"
	w.writeProfiles("  cmd:\n" + src + "  fast:\n" + src + "  env:\n" + src)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	for _, tc := range []struct {
		profile string
		argv    []string
	}{
		{"cmd", []string{bin, "credential-process", "--profile", "cmd"}},
		{"fast", []string{fastBinary(bin), "--profile", "fast"}}, // cold: handed to cwcreds
		{"env", []string{bin, "env", "--profile", "env"}},
	} {
		r := w.runProc(ctx, nil, nil, tc.argv...)
		if r.code == 0 || r.stdout != "" {
			t.Fatalf("%s: code %d, stdout %q", tc.profile, r.code, r.stdout)
		}
		// The command's line, passed through once, first; cwcreds's error line
		// last (env logs the failed exchange between them).
		lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
		if len(lines) < 2 || lines[0] != tokenCommandSecret || strings.Count(r.stderr, "hunter2") != 1 {
			t.Fatalf("%s: stderr is not the command's line once, then cwcreds's:\n%s", tc.profile, r.stderr)
		}
		errLine := lines[len(lines)-1]
		for _, want := range []string{"cwcreds: ", "token command get-token failed: exit status 3", "its stderr was passed through to cwcreds's stderr"} {
			if !strings.Contains(errLine, want) {
				t.Fatalf("%s: error line %q does not say %q", tc.profile, errLine, want)
			}
		}
		data, err := os.ReadFile(w.cacheFile(tc.profile))
		if err != nil {
			t.Fatalf("%s: %v", tc.profile, err)
		}
		if strings.Contains(string(data), "hunter2") || !strings.Contains(string(data), "exit status 3") {
			t.Fatalf("%s: the cache file's failure record:\n%s", tc.profile, data)
		}
	}

	r := w.mustRun(nil, bin, "status", "-o", "json")
	if strings.Contains(r.stdout+r.stderr, "hunter2") {
		t.Fatalf("status repeats the command's stderr:\n%s", r.stdout)
	}
	var rows []profileStatus
	if err := json.Unmarshal([]byte(r.stdout), &rows); err != nil || len(rows) != 3 {
		t.Fatalf("status -o json: %v, %d rows", err, len(rows))
	}
	for _, row := range rows {
		if row.LastError == nil || !strings.Contains(row.LastError.Message, "exit status 3") {
			t.Fatalf("%s: last error %+v", row.Profile, row.LastError)
		}
	}
	if w.exchanges() != 0 {
		t.Fatalf("%d exchanges", w.exchanges())
	}
}

// A token command that times out, or exits leaving children behind, leaves no
// process of its group running once cwcreds returns, and cwcreds's own stderr
// (which the AWS tools read to the end) is not held open by them.
func testTokenCommandChildren(t *testing.T, bin string) {
	w := newWorld(t)
	var profiles strings.Builder
	scripts := map[string]string{
		"hangs": `sleep 300 & echo $! > "$0.pid"; sleep 300`,
		"exits": `sleep 300 & echo $! > "$0.pid"; exit 3`,
	}
	for name, script := range scripts {
		profiles.WriteString("  " + name + ":\n    source: {type: token_command, timeout: 1s, command: [/bin/sh, -c, '" +
			script + "', " + filepath.Join(w.dir, name) + "]}\n")
	}
	w.writeProfiles(profiles.String())
	for name := range scripts {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, bin, "credential-process", "--profile", name)
		cmd.Env = w.environ()
		var stderr strings.Builder
		cmd.Stdout, cmd.Stderr = io.Discard, &stderr
		// A child left running holds stderr: fail, rather than wait for it.
		cmd.WaitDelay = 5 * time.Second
		err := cmd.Run()
		late := ctx.Err()
		cancel()
		if errors.Is(err, exec.ErrWaitDelay) || late != nil {
			t.Errorf("%s: cwcreds's stderr stayed open after it exited (%v): a child of the token command holds it", name, err)
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) || !strings.Contains(stderr.String(), "token command sh") {
			t.Errorf("%s: %v, stderr %q", name, err, stderr.String())
		}
		data, rerr := os.ReadFile(filepath.Join(w.dir, name+".pid"))
		pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
		if rerr != nil || pid <= 0 {
			t.Fatalf("%s: pid file: %v %q", name, rerr, data)
		}
		deadline := time.Now().Add(10 * time.Second)
		for !processGone(pid) {
			if time.Now().After(deadline) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				t.Fatalf("%s: the token command's child %d outlived cwcreds", name, pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// processGone reports whether pid is gone or a zombie.
func processGone(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return true
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// A token file found unusable locally is reported as what is wrong with it,
// not as an identity rejected upstream (no call was made), on the run that
// read it and on the next, answered from the remembered failure.
func testBadTokenFile(t *testing.T, bin string) {
	w := newWorld(t)
	if err := os.WriteFile(w.tokenFile, []byte("not-a-jwt\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, argv := range [][]string{{bin, "credential-process"}, {bin, "credential-process"}, {fastBinary(bin)}} {
		r := w.runProc(ctx, nil, nil, argv...)
		want := "token file " + w.tokenFile + " does not hold a JWT"
		if r.code == 0 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, want) ||
			strings.Contains(r.stderr, "upstream") || strings.Contains(r.stderr, "could not exchange") {
			t.Fatalf("%s: code %d, stderr %q, want it to say %q and nothing of an exchange", argv[0], r.code, r.stderr, want)
		}
	}
	if w.exchanges() != 0 {
		t.Fatalf("%d exchanges", w.exchanges())
	}
}
