//go:build unix

package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/emulator/s3emu"
)

// TestServeBinary runs the built binary where real signals and a real shell
// matter. It is built once for all subtests.
func TestServeBinary(t *testing.T) {
	bin := buildServeBinary(t)
	t.Run("SignalsReloadRevoke", func(t *testing.T) { testServeSignals(t, bin) })
	t.Run("DevEvalAWSCLI", func(t *testing.T) { testServeDevEval(t, bin) })
	t.Run("DevEmulatorEval", func(t *testing.T) { testDevEmulatorEval(t, bin) })
}

// SIGHUP adds a profile while the other keeps its key; SIGTERM stops serve with
// exit 0 after revoking every key it minted. The auth token goes to its default
// place under XDG_RUNTIME_DIR.
func testServeSignals(t *testing.T, bin string) {
	t.Parallel()
	e := newSrvEmu(t)
	e.writeConfig("", []string{"alpha"}, nil)
	runtimeDir := filepath.Join(e.dir, "xdg-run")
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.dir, "XDG_RUNTIME_DIR=" + runtimeDir, "CW_API_TOKEN=" + e.emu.AdminToken()}
	r, cmd := startServeBinary(t, bin, env, "--config", e.config, "--listen", "127.0.0.1:0", "--ops-listen", "127.0.0.1:0", "--revoke-on-exit")
	r.started()
	if want := filepath.Join(runtimeDir, "cwcreds", "auth-token"); r.tokenFile != want {
		t.Fatalf("auth token file %s, want %s", r.tokenFile, want)
	}
	if info, err := os.Stat(filepath.Dir(r.tokenFile)); err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("auth token folder: %v %v", err, info.Mode())
	}
	alpha := r.getCreds("")

	e.writeConfig("", []string{"alpha", "beta"}, nil)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if m := r.logs.waitMsg(t, "config reloaded", 1); !sameStrings(m["added"], "beta") {
		t.Fatalf("reload: %v", m)
	}
	beta := r.getCreds("beta")
	if got := r.getCreds("alpha"); got.AccessKeyID != alpha.AccessKeyID {
		t.Fatalf("alpha's key changed on SIGHUP: %s, was %s", got.AccessKeyID, alpha.AccessKeyID)
	}
	if got := waitReadyz(t, r.opsURL+"/readyz"); got.status != 200 {
		t.Fatalf("/readyz: %d %s", got.status, got.body)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := r.wait(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM; logs:\n%s", code, r.logs)
	}
	for _, k := range []containerCreds{alpha, beta} {
		if _, st := e.emu.ResolveKey(k.AccessKeyID); st != s3emu.KeyRevoked {
			t.Errorf("key %s is %s after SIGTERM, want revoked", k.AccessKeyID, st)
		}
	}
	if r.stdout.String() != "" {
		t.Errorf("serve wrote on stdout: %q", r.stdout)
	}
	checkNoSecrets(t, "serve's logs", r.logs.String(), alpha.SecretAccessKey, beta.SecretAccessKey, e.jwt, e.emu.AdminToken(), r.token())
}

// requireTools fails (never skips) when a tool the test drives is missing; the
// project's test script installs them.
func requireTools(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Fatalf("%s is not installed: run scripts/install-test-deps (scripts/test runs it)", n)
		}
	}
}

// runBash runs script with bash in a process group of its own (so that
// `kill -INT 0` plays the terminal's Ctrl-C on it), env as its whole
// environment, and its output in files: a process it leaves running may keep
// them open. It returns stdout and stderr.
func runBash(t *testing.T, dir, script string, env []string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	outPath, errPath := filepath.Join(dir, "bash.out"), filepath.Join(dir, "bash.err")
	out, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	errFile, err := os.Create(errPath)
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdout, cmd.Stderr = out, errFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	runErr := cmd.Run()
	stdout, _ := os.ReadFile(outPath)
	stderr, _ := os.ReadFile(errPath)
	if runErr != nil {
		t.Fatalf("bash: %v\nstdout:\n%s\nstderr:\n%s", runErr, stdout, stderr)
	}
	return string(stdout), string(stderr)
}

// The README's first command, for real: eval "$(cwcreds serve --dev &)" returns
// while the server keeps serving, Ctrl-C at the prompt does not stop it, and the
// installed aws CLI works with only the exported variables.
func testServeDevEval(t *testing.T, bin string) {
	t.Parallel()
	requireTools(t, "bash", "aws")
	dir := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "CWCREDS=" + bin,
		"AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull}
	script := `set -eu
trap '' INT # the shell survives Ctrl-C, as an interactive one does
eval "$("$CWCREDS" serve --dev &)"
kill -INT 0 # Ctrl-C at the prompt: SIGINT to the shell's process group
echo "pid=$CWCREDS_SERVE_PID"
echo "pgid=$(ps -o pgid= -p $$ | tr -d ' ') daemon_pgid=$(ps -o pgid= -p "$CWCREDS_SERVE_PID" | tr -d ' ')"
echo "access_key_id=${AWS_ACCESS_KEY_ID:-none}"
printf hello > hello.txt
aws s3 mb s3://demo
aws s3 cp hello.txt s3://demo/dir/hello.txt
aws s3 ls s3://demo/dir/
aws s3 cp s3://demo/dir/hello.txt back.txt
cmp hello.txt back.txt
kill "$CWCREDS_SERVE_PID"
while kill -0 "$CWCREDS_SERVE_PID" 2>/dev/null; do sleep 0.05; done
`
	stdout, stderr := runBash(t, dir, script, env)
	for _, want := range []string{"access_key_id=none", "make_bucket: demo", "upload: ./hello.txt to s3://demo/dir/hello.txt", " 5 hello.txt"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s\nstderr:\n%s", want, stdout, stderr)
		}
	}
	var pgid, daemonPgid string
	for _, f := range strings.Fields(stdout) {
		if v, ok := strings.CutPrefix(f, "pgid="); ok {
			pgid = v
		}
		if v, ok := strings.CutPrefix(f, "daemon_pgid="); ok {
			daemonPgid = v
		}
	}
	if pgid == "" || daemonPgid == "" || pgid == daemonPgid {
		t.Errorf("the dev server stayed in the shell's process group (%q, %q): Ctrl-C at the prompt would stop it", pgid, daemonPgid)
	}
	for _, want := range []string{`"msg":"dev server ready"`, `"msg":"serving in the background; stop with kill"`, `"msg":"stopped"`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the dev server's log lacks %s:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, `"level":"error"`) || strings.Contains(stderr, `"level":"warn"`) {
		t.Errorf("the dev server logged a warning or an error:\n%s", stderr)
	}
	checkNoSecrets(t, "the dev server's log", stderr)
}

// `cwcreds dev emulator` works with the same idiom and stops on kill.
func testDevEmulatorEval(t *testing.T, bin string) {
	t.Parallel()
	requireTools(t, "bash")
	dir := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "CWCREDS=" + bin}
	script := `set -eu
eval "$("$CWCREDS" dev emulator --listen 127.0.0.1:0 --s3-listen 127.0.0.1:0 &)"
kill -0 "$CWCREDS_EMULATOR_PID"
echo "api=$CWCREDS_API_ENDPOINT"
test -s "$CWCREDS_TOKEN_FILE"
kill "$CWCREDS_EMULATOR_PID"
while kill -0 "$CWCREDS_EMULATOR_PID" 2>/dev/null; do sleep 0.05; done
`
	stdout, stderr := runBash(t, dir, script, env)
	api, ok := strings.CutPrefix(strings.TrimSpace(stdout), "api=")
	if !ok || !strings.HasPrefix(api, "http://127.0.0.1:") {
		t.Fatalf("stdout %q, stderr:\n%s", stdout, stderr)
	}
	if _, err := strconv.Atoi(api[strings.LastIndex(api, ":")+1:]); err != nil {
		t.Errorf("api endpoint %q has no port", api)
	}
	if !strings.Contains(stderr, `"msg":"emulator stopped"`) {
		t.Errorf("the emulator did not stop cleanly:\n%s", stderr)
	}
}
