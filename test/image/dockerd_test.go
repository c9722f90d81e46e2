package image_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const installHint = "run scripts/install-test-deps (it installs Debian's docker.io)"

// dockerd is a Docker daemon of the test's own, and the docker CLI pointed at it.
type dockerd struct {
	dir  string // data root, exec root, socket, CLI config, log
	sock string
	env  []string // the CLI's environment
	cmd  *exec.Cmd
	done chan struct{} // closed when the daemon has exited
	log  string
}

// startDockerd starts dockerd and waits until it answers; t.Cleanup stops it and
// removes everything it made.
func startDockerd(t *testing.T, ctx context.Context) *dockerd {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("starting dockerd needs root: run the tests as root, as CI does")
	}
	for _, tool := range []string{"dockerd", "docker", "containerd", "runc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: %s", tool, installHint)
		}
	}
	removeStaleDirs()
	// Not t.TempDir: its path is long (unix socket paths are capped at 108 bytes)
	// and it must be removed only after the daemon's mounts are gone.
	dir, err := os.MkdirTemp("", "cwimg-")
	if err != nil {
		t.Fatal(err)
	}
	d := &dockerd{dir: dir, sock: filepath.Join(dir, "docker.sock"), log: filepath.Join(dir, "dockerd.log"), done: make(chan struct{})}
	t.Cleanup(d.remove)
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(d.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	d.cmd = exec.Command("dockerd",
		"--config-file", filepath.Join(dir, "daemon.json"), // not /etc/docker/daemon.json
		"--data-root", filepath.Join(dir, "data"),
		"--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, "docker.pid"),
		"--host", "unix://"+d.sock,
		// Leave the machine's firewall, sysctls and links alone: ports published on
		// 127.0.0.1 go through docker-proxy, which needs none of them.
		"--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false", "--bridge=none",
	)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	// Its own process group (with its containerd), for the last-resort kill; and
	// SIGTERM if the test binary dies first (a go test timeout), so no daemon stays.
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start dockerd: %v", err)
	}
	go func() {
		_ = d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(d.stop)
	d.env = append(os.Environ(),
		"DOCKER_HOST=unix://"+d.sock,
		"DOCKER_CONFIG="+filepath.Join(dir, "cli"), // not ~/.docker
		"DOCKER_BUILDKIT=0",                        // the legacy builder: BuildKit does not work here
		"DOCKER_CLI_HINTS=false",
	)
	if err := d.waitReady(ctx); err != nil {
		t.Fatalf("dockerd did not start: %v\n%s", err, d.logTail())
	}
	return d
}

// waitReady polls /_ping on the socket.
func (d *dockerd) waitReady(ctx context.Context) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", d.sock)
		},
	}}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/_ping", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-d.done:
			return errors.New("dockerd exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// run runs the CLI and returns its stdout and stderr.
func (d *dockerd) run(ctx context.Context, args ...string) (stdout, stderr string, err error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = d.env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// docker runs the CLI and returns its stdout; the error holds its stderr.
func (d *dockerd) docker(ctx context.Context, args ...string) (string, error) {
	stdout, stderr, err := d.run(ctx, args...)
	if err != nil {
		return stdout, fmt.Errorf("docker %s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(stderr))
	}
	return stdout, nil
}

// read runs the CLI and hands its stdout to consume as it comes (an image's
// export is tens of MB: not worth holding, nor copying under -race).
func (d *dockerd) read(ctx context.Context, consume func(io.Reader) error, args ...string) error {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = d.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	consumed := consume(stdout)
	_, _ = io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("docker %s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return consumed
}

// mustDocker is docker for steps whose failure ends the test.
func (d *dockerd) mustDocker(t *testing.T, ctx context.Context, args ...string) string {
	t.Helper()
	out, err := d.docker(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// stop removes every container (so no shim outlives the daemon), then stops the
// daemon with SIGTERM, and kills its process group if it does not exit in time.
func (d *dockerd) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if ids, err := d.docker(ctx, "ps", "-aq"); err == nil && strings.TrimSpace(ids) != "" {
		_, _ = d.docker(ctx, append([]string{"rm", "-f"}, strings.Fields(ids)...)...)
	}
	if nets, err := d.docker(ctx, "network", "ls", "-q", "--filter", "type=custom"); err == nil && strings.TrimSpace(nets) != "" {
		_, _ = d.docker(ctx, append([]string{"network", "rm"}, strings.Fields(nets)...)...)
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.done
	}
}

// removeStaleDirs removes the folders of earlier runs whose daemon is gone (a
// test binary killed by its timeout leaves its folder behind).
func removeStaleDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "cwimg-*"))
	for _, dir := range dirs {
		fi, err := os.Stat(dir)
		if err != nil || time.Since(fi.ModTime()) < 10*time.Minute {
			continue // possibly a run starting right now, before its pid file
		}
		if b, err := os.ReadFile(filepath.Join(dir, "docker.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && syscall.Kill(pid, 0) == nil {
				continue // its daemon still runs: another test's
			}
		}
		(&dockerd{dir: dir}).remove()
	}
}

// remove unmounts whatever the daemon left mounted under its folder, then removes it.
func (d *dockerd) remove() {
	for _, m := range mountsUnder(d.dir) {
		_ = syscall.Unmount(m, syscall.MNT_DETACH)
	}
	_ = os.RemoveAll(d.dir)
}

// mountsUnder lists the mount points below dir, deepest first.
func mountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			out = append(out, fields[4])
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// logTail is the end of the daemon's log, for failure messages.
func (d *dockerd) logTail() string {
	b, _ := os.ReadFile(d.log)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
