package sdk_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOlderSDKs checks the README's "Which SDKs work" rows for SDKs that predate
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, with a real one: Debian's rclone, built
// on aws-sdk-go v1 (1.44, before 1.47.11). It reads only
// AWS_CONTAINER_AUTHORIZATION_TOKEN, so the token file alone must fail (the row's
// claim), the token value must work, and so must credential_process through a
// profile with AWS_SDK_LOAD_CONFIG=1.
func TestOlderSDKs(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("rclone"); err != nil {
		t.Fatal("rclone is missing: run scripts/install-test-deps (it installs Debian's rclone)")
	}
	e := startEmulator(t, 0)
	s := startServe(t, e, serveOptions{})
	served, _ := s.fetch(t, "")

	cases := []struct {
		name     string
		env      []string
		wantFail bool
		wantKey  string // "" means any key the emulator minted
	}{
		{
			name:     "token-file-only",
			env:      []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + s.url("", ""), "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=" + s.tokenFile},
			wantFail: true,
		},
		{
			name:    "token-value",
			env:     []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + s.url("", ""), "AWS_CONTAINER_AUTHORIZATION_TOKEN=" + s.token},
			wantKey: served.AccessKeyID,
		},
		{
			name: "credential-process",
			env:  credentialProcessEnv(t, e),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bucket := "rclone-" + tc.name
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			env := rcloneEnv(t, e, tc.env...)
			stdout, stderr, err := runTool(ctx, env, "", "sh", "-c",
				fmt.Sprintf("set -e; echo hi | rclone rcat cw:%[1]s/hi.txt; rclone lsf cw:%[1]s", bucket))
			if tc.wantFail {
				if err == nil {
					t.Fatalf("rclone worked with only the token file; the README says it cannot:\n%s", stdout)
				}
				if !strings.Contains(stderr, "NoCredentialProviders") {
					t.Fatalf("rclone failed for another reason than finding no credentials:\n%s", stderr)
				}
				return
			}
			if err != nil || !strings.Contains(stdout, "hi.txt") {
				t.Fatalf("rclone: %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
			}
			checkS3Calls(t, e, bucket, tc.wantKey, 3)
		})
	}
}

// rcloneEnv configures an rclone remote "cw" for the emulator's S3 through
// environment variables, with credentials from the environment chain (env_auth).
func rcloneEnv(t *testing.T, e *emuEnv, extra ...string) []string {
	env := cleanEnv(append([]string{
		"RCLONE_CONFIG_DIR=" + t.TempDir(),
		"RCLONE_CONFIG_CW_TYPE=s3", "RCLONE_CONFIG_CW_PROVIDER=Other", "RCLONE_CONFIG_CW_ENV_AUTH=true",
		"RCLONE_CONFIG_CW_ENDPOINT=" + e.s3URL, "RCLONE_CONFIG_CW_REGION=" + e.emu.Region(),
		"AWS_EC2_METADATA_DISABLED=true",
	}, extra...)...)
	// cleanEnv dropped AWS_CA_BUNDLE (set on these machines), with which rclone
	// fails with LoadCustomCABundleError.
	return env
}

// credentialProcessEnv is an AWS config whose default profile runs cwcreds
// credential-process against e, and the variables that make aws-sdk-go v1 read it.
func credentialProcessEnv(t *testing.T, e *emuEnv) []string {
	dir := t.TempDir()
	cfg := writeConfig(t, e, []profileSpec{{name: "default"}})
	awsConfig := filepath.Join(dir, "aws-config")
	line := fmt.Sprintf("[default]\ncredential_process = %s credential-process --config %s --profile default\n", suite.bin, cfg)
	if err := os.WriteFile(awsConfig, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{
		"AWS_CONFIG_FILE=" + awsConfig, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull, "AWS_SDK_LOAD_CONFIG=1",
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"),
	}
}
