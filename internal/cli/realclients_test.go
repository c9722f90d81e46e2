//go:build unix

package cli

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// testRealClients writes an AWS profile with `cwcreds configure` (the built
// binaries, copied into a folder whose name needs quoting, so that the line names
// cwcreds-credential-process: cold calls go through to cwcreds, warm ones do not)
// and has botocore, the
// AWS CLI, the AWS SDK for Go v2 and the AWS SDK for JavaScript v3 read it and
// make signed S3 calls with the keys credential_process prints. The clients get
// neither CWCREDS_* nor AWS_ENDPOINT_URL_S3/AWS_REGION: everything comes from the
// two config files.
func testRealClients(t *testing.T, bin string) {
	w := newWorld(t)
	spaced := filepath.Join(w.dir, "Program Files", "cwcreds")
	copyExecutable(t, bin, spaced)
	spacedFast := fastBinary(spaced)
	copyExecutable(t, fastBinary(bin), spacedFast)
	cfgPath := filepath.Join(w.dir, "cwcreds.yaml")
	if err := os.WriteFile(cfgPath, []byte("api_endpoint: "+w.emu.APIURL()+"\norg_id: "+w.emu.OrgID()+
		"\ns3_endpoint: "+w.emu.S3URL()+"\nregion: "+w.emu.Region()+
		"\nprofiles:\n  ci:\n    source: {type: token_file, path: "+w.tokenFile+"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.mustRun(nil, spaced, "configure", "--config", cfgPath, "--profile", "ci", "--aws-profile", "cw")
	awsCfg := w.env["AWS_CONFIG_FILE"]
	written, err := os.ReadFile(awsCfg)
	if err != nil {
		t.Fatal(err)
	}
	// cwcreds-credential-process, installed beside cwcreds, is what configure writes.
	wantProcess := `"` + spacedFast + `" --profile ci --config ` + cfgPath
	if !strings.Contains(string(written), "credential_process = "+wantProcess+"\n") {
		t.Fatalf("AWS config:\n%s", written)
	}

	clientEnv := w.environWithout([]string{"CWCREDS_API_ENDPOINT", "CWCREDS_ORG_ID", "CWCREDS_TOKEN_FILE",
		"AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION"})
	wantArgv := []string{spacedFast, "--profile", "ci", "--config", cfgPath}

	t.Run("botocore", func(t *testing.T) {
		r := w.mustRun(clientEnv, "python3", "-c", botoFromProcess, "cw", "boto-bucket")
		var got struct {
			Method, Body string
			Argv         []string
			Keys         []string
			Config       map[string]any
		}
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatalf("%v: %s", err, r.stdout)
		}
		if got.Method != "custom-process" || got.Body != "hello from botocore" || !slices.Equal(got.Keys, []string{"hello.txt"}) {
			t.Fatalf("botocore: %+v", got)
		}
		// configure's profile, read back the way the AWS CLI reads it.
		if !slices.Equal(got.Argv, wantArgv) || got.Config["endpoint_url"] != w.emu.S3URL() || got.Config["region"] != w.emu.Region() {
			t.Fatalf("botocore reads the profile as %v, argv %q", got.Config, got.Argv)
		}
		if s3cfg, _ := got.Config["s3"].(map[string]any); s3cfg["addressing_style"] != "virtual" {
			t.Fatalf("s3 settings: %v", got.Config["s3"])
		}
	})

	t.Run("aws-cli", func(t *testing.T) {
		r := w.mustRun(clientEnv, "aws", "configure", "list", "--profile", "cw")
		if !strings.Contains(r.stdout, "custom-process") || !strings.Contains(r.stdout, w.emu.Region()) {
			t.Fatalf("aws configure list:\n%s", r.stdout)
		}
		body := filepath.Join(w.dir, "body.txt")
		if err := os.WriteFile(body, []byte("hello from the aws cli"), 0o600); err != nil {
			t.Fatal(err)
		}
		w.mustRun(clientEnv, "aws", "--profile", "cw", "s3api", "create-bucket", "--bucket", "cli-bucket")
		w.mustRun(clientEnv, "aws", "--profile", "cw", "s3", "cp", body, "s3://cli-bucket/dir/body.txt")
		r = w.mustRun(clientEnv, "aws", "--profile", "cw", "s3", "ls", "--recursive", "s3://cli-bucket/")
		if !strings.Contains(r.stdout, "dir/body.txt") {
			t.Fatalf("aws s3 ls:\n%s", r.stdout)
		}
	})

	t.Run("aws-sdk-go-v2", func(t *testing.T) {
		// The SDK runs credential_process with this process's environment.
		for _, kv := range clientEnv {
			k, v, _ := strings.Cut(kv, "=")
			t.Setenv(k, v)
		}
		for _, k := range []string{"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
			"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION", "CWCREDS_TOKEN_FILE",
			"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
			t.Setenv(k, "")
			_ = os.Unsetenv(k)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		shared, err := awsconfig.LoadSharedConfigProfile(ctx, "cw", func(o *awsconfig.LoadSharedConfigOptions) {
			o.ConfigFiles = []string{awsCfg}
			o.CredentialsFiles = []string{w.env["AWS_SHARED_CREDENTIALS_FILE"]}
		})
		if err != nil {
			t.Fatal(err)
		}
		if shared.CredentialProcess != wantProcess || shared.Region != w.emu.Region() || shared.BaseEndpoint != w.emu.S3URL() {
			t.Fatalf("the Go SDK reads the profile as process %q, region %q, endpoint %q", shared.CredentialProcess, shared.Region, shared.BaseEndpoint)
		}
		cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithSharedConfigProfile("cw"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := cfg.Credentials.Retrieve(ctx)
		if err != nil || c.Source != "ProcessProvider" || !c.CanExpire || time.Until(c.Expires) < 30*time.Minute {
			t.Fatalf("credentials from %q, expire %v, %v", c.Source, c.Expires, err)
		}
		w.addSecret(c.SecretAccessKey)
		client := s3.NewFromConfig(cfg)
		bucket := aws.String("go-bucket")
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("hello.txt"), Body: strings.NewReader("hello from go")}); err != nil {
			t.Fatal(err)
		}
		out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("hello.txt")})
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if string(data) != "hello from go" {
			t.Fatalf("got %q", data)
		}
	})

	t.Run("aws-sdk-js-v3", func(t *testing.T) {
		dir := jsTestDir(t)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "node", "s3-from-process.mjs", "js-bucket")
		cmd.Dir = dir
		cmd.Env = append(clientEnv, "AWS_PROFILE=cw")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		w.checkLeaks("node stderr", stderr.String())
		if err != nil {
			t.Fatalf("node: %v\n%s", err, stderr.String())
		}
		var got struct {
			AccessKeyID, Expiration, Body, Region string
			Keys                                  []string
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if !strings.HasPrefix(got.AccessKeyID, "CW") || got.Body != "hello from js" || got.Region != w.emu.Region() ||
			!slices.Equal(got.Keys, []string{"hello.txt"}) || got.Expiration == "" {
			t.Fatalf("js: %+v", got)
		}
	})

	// Every client ran credential_process; the cache made that one exchange.
	if got := w.exchanges(); got != 1 {
		t.Errorf("%d exchanges for all clients, want 1", got)
	}
	w.cachedSecret("ci")
	w.checkLeaks("AWS config file", string(written))
}

// botoFromProcess uses a profile through boto3 and prints what it saw as JSON.
// argv: profile, bucket.
const botoFromProcess = `
import json, shlex, sys
import boto3
profile, bucket = sys.argv[1], sys.argv[2]
s = boto3.Session(profile_name=profile)
cfg = s._session.get_scoped_config()
creds = s.get_credentials()
s3 = s.client("s3")
s3.create_bucket(Bucket=bucket)
s3.put_object(Bucket=bucket, Key="hello.txt", Body=b"hello from botocore")
body = s3.get_object(Bucket=bucket, Key="hello.txt")["Body"].read().decode()
keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
print(json.dumps({"method": creds.method, "body": body, "keys": keys,
                  "argv": shlex.split(cfg["credential_process"]),
                  "config": {k: cfg.get(k) for k in ("endpoint_url", "region", "s3")}}))
`

// jsTestDir is test/js with the SDK installed, or a failure saying how to install it.
func jsTestDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "test", "js"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"@aws-sdk/credential-providers", "@aws-sdk/client-s3"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", m, "package.json")); err != nil {
			t.Fatalf("the AWS SDK for JavaScript is not installed in %s (%s missing): run scripts/install-test-deps", dir, m)
		}
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not installed: run scripts/install-test-deps")
	}
	return dir
}

func copyExecutable(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o755); err != nil {
		t.Fatal(err)
	}
}
