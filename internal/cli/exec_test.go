//go:build unix

package cli

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/creds"
)

// testExec runs the AWS CLI and shell commands inside `cwcreds exec`, with static
// keys and with --server. The emulator's S3 side refuses new keys for a moment,
// as CoreWeave's does: both forms must wait that out before starting the command.
func testExec(t *testing.T, bin string) {
	w := newWorldWithPropagation(t, 1500*time.Millisecond)
	// The command gets endpoint and region from exec alone (the profile's, set
	// through cwcreds's own variables here), and a caller's stray AWS_PROFILE and
	// keys must not reach it.
	env := w.environWithout([]string{"AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION"},
		"CWCREDS_S3_ENDPOINT="+w.emu.S3URL(), "CWCREDS_REGION="+w.emu.Region(), "AWS_PROFILE=elsewhere", "AWS_ACCESS_KEY_ID=AKIASTALEKEY", "AWS_SECRET_ACCESS_KEY=stale-secret-value")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	t.Run("aws-cli", func(t *testing.T) {
		r := w.runProc(ctx, nil, env, bin, "exec", "--", "aws", "s3api", "create-bucket", "--bucket", "exec-bucket")
		if r.code != 0 {
			t.Fatalf("code %d\n%s", r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, "warning: not passing AWS_ACCESS_KEY_ID, AWS_PROFILE, AWS_SECRET_ACCESS_KEY from this environment") ||
			strings.Contains(r.stderr, "stale-secret-value") {
			t.Fatalf("warning: %q", r.stderr)
		}
		r = w.runProc(ctx, nil, env, bin, "exec", "--profile", "default", "aws", "s3", "ls")
		if r.code != 0 || !strings.Contains(r.stdout, "exec-bucket") {
			t.Fatalf("aws s3 ls: code %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		r = w.runProc(ctx, nil, env, bin, "exec", "--", "aws", "configure", "list")
		if r.code != 0 || !strings.Contains(r.stdout, "env") || strings.Contains(r.stdout, "*EKEY") /* the stale key's tail */ {
			t.Fatalf("aws configure list:\n%s", r.stdout)
		}
		w.cachedSecret("default")
	})

	t.Run("aws-cli-server", func(t *testing.T) {
		before := w.exchanges()
		script := `set -e
test -z "${AWS_ACCESS_KEY_ID:-}" && test -z "${AWS_SECRET_ACCESS_KEY:-}" && test -z "${AWS_PROFILE:-}"
case "$AWS_CONTAINER_CREDENTIALS_FULL_URI" in http://127.0.0.1:*/v1/credentials) ;; *) exit 10 ;; esac
test "$(stat -c %a "$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")" = 600
test "$AWS_CONTAINER_AUTHORIZATION_TOKEN" = "$(cat "$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")"
echo "$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
aws s3api create-bucket --bucket server-bucket >/dev/null
aws configure list | grep -q container-role
aws s3 ls`
		r := w.runProc(ctx, nil, env, bin, "exec", "--server", "--", "sh", "-c", script)
		if r.code != 0 || !strings.Contains(r.stdout, "server-bucket") {
			t.Fatalf("code %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		tokenFile := strings.SplitN(r.stdout, "\n", 2)[0]
		if _, err := os.Stat(tokenFile); !os.IsNotExist(err) {
			t.Fatalf("the token file %s outlived the command: %v", tokenFile, err)
		}
		// The private endpoint's own, in-memory refresher made one exchange.
		if got := w.exchanges() - before; got != 1 {
			t.Fatalf("%d exchanges for --server", got)
		}
	})

	// rclone is built on aws-sdk-go v1 (1.44), which predates the token-file
	// variable: it reads AWS_CONTAINER_AUTHORIZATION_TOKEN alone. exec --server
	// sets both, so older SDKs get refreshed keys too.
	t.Run("rclone-server", func(t *testing.T) {
		if _, err := exec.LookPath("rclone"); err != nil {
			t.Fatal("rclone is missing: run scripts/install-test-deps (it installs Debian's rclone)")
		}
		rcloneEnv := append(slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
			return strings.HasPrefix(kv, "AWS_CA_BUNDLE=") // rclone fails with LoadCustomCABundleError when set
		}), "RCLONE_CONFIG_CW_TYPE=s3", "RCLONE_CONFIG_CW_PROVIDER=Other", "RCLONE_CONFIG_CW_ENV_AUTH=true",
			"RCLONE_CONFIG_CW_ENDPOINT="+w.emu.S3URL(), "RCLONE_CONFIG_CW_REGION="+w.emu.Region(),
			"RCLONE_CONFIG_DIR="+t.TempDir(), "AWS_EC2_METADATA_DISABLED=true")
		r := w.runProc(ctx, nil, rcloneEnv, bin, "exec", "--server", "--", "sh", "-c",
			`set -e; rclone mkdir cw:rclone-bucket; echo hi | rclone rcat cw:rclone-bucket/hi.txt; rclone lsf cw:rclone-bucket`)
		if r.code != 0 || !strings.Contains(r.stdout, "hi.txt") {
			t.Fatalf("rclone through exec --server: code %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
	})

	t.Run("exit-codes", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			code int
		}{
			{[]string{"sh", "-c", "exit 7"}, 7},
			{[]string{"sh", "-c", "kill -TERM $$"}, 128 + int(syscall.SIGTERM)},
			{[]string{"true"}, 0},
			{[]string{"no-such-command-anywhere"}, 127},
		} {
			r := w.runProc(ctx, nil, env, append([]string{bin, "exec", "--"}, tc.args...)...)
			if r.code != tc.code {
				t.Errorf("%v: exit %d, want %d (stderr %q)", tc.args, r.code, tc.code, r.stderr)
			}
			if tc.code != 127 && strings.Contains(r.stderr, "cwcreds: cannot") {
				t.Errorf("%v: stderr %q", tc.args, r.stderr)
			}
		}
	})

	t.Run("signals", func(t *testing.T) {
		for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
			cmd := exec.CommandContext(ctx, bin, "exec", "--", "sh", "-c",
				`trap 'exit 42' TERM INT HUP; echo ready; while :; do sleep 0.05; done`)
			cmd.Env = env
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil || line != "ready\n" {
				t.Fatalf("child said %q, %v", line, err)
			}
			// Sent to cwcreds alone (not its process group): only forwarding reaches the child.
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			if code := exitCodeOf(cmd.ProcessState); code != 42 {
				t.Fatalf("%v: cwcreds exited %d (%v), want the child's 42", sig, code, err)
			}
		}
	})
}

func TestChildEnv(t *testing.T) {
	base := []string{
		"PATH=/bin", "AWS_PROFILE=x", "AWS_ACCESS_KEY_ID=AKIA", "AWS_REGION=old", "HOME=/h",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/creds", "AWS_ACCESS_KEY_ID=dup", "NOEQUALS",
	}
	set := []creds.EnvVar{{Name: "AWS_ACCESS_KEY_ID", Value: "CWNEW"}, {Name: "AWS_REGION", Value: "US-EAST-04A"}}
	env, found := childEnv(base, set)
	want := []string{"PATH=/bin", "HOME=/h", "AWS_ACCESS_KEY_ID=CWNEW", "AWS_REGION=US-EAST-04A"}
	if strings.Join(env, " ") != strings.Join(want, " ") {
		t.Fatalf("env %q, want %q", env, want)
	}
	if strings.Join(found, ",") != "AWS_ACCESS_KEY_ID,AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,AWS_PROFILE" {
		t.Fatalf("found %q", found)
	}
}
