package sdk_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sdkEnv is the environment of a workload using serve: the container-credentials
// variables for profile (at host, "" for 127.0.0.1), the emulator's S3 endpoint
// and region, and no shared config files.
func sdkEnv(e *emuEnv, s *serveProc, profile, host string, extra ...string) []string {
	return cleanEnv(append([]string{
		"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + s.url(profile, host),
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=" + s.tokenFile,
		"AWS_ENDPOINT_URL_S3=" + e.s3URL,
		"AWS_REGION=" + e.emu.Region(),
		"AWS_DEFAULT_REGION=" + e.emu.Region(), // the aws CLI v1 reads only this one
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
	}, extra...)...)
}

// runGoSDK runs the aws-sdk-go-v2 driver (this test binary as a child).
func runGoSDK(ctx context.Context, env []string, bucket string, seconds int, interval time.Duration) (string, string, error) {
	env = append(env, childModeEnv+"=go-s3", childBucketEnv+"="+bucket,
		childSecondsEnv+"="+itoa(seconds), childIntervalEnv+"="+interval.String())
	return runTool(ctx, env, "", os.Args[0])
}

func runBoto3(ctx context.Context, t *testing.T, env []string, bucket string, seconds int, interval time.Duration) (string, string, error) {
	script := filepath.Join(repoRoot(t), "test", "py", "serve_s3.py")
	return runTool(ctx, env, "", "python3", script, bucket, itoa(seconds), ftoa(interval.Seconds()))
}

func runNodeSDK(ctx context.Context, jsDir string, env []string, provider, bucket string, seconds int, interval time.Duration) (string, string, error) {
	return runTool(ctx, env, jsDir, "node", "serve-s3.mjs", provider, bucket, itoa(seconds), itoa(int(interval/time.Millisecond)))
}

func itoa(n int) string { return strconv.Itoa(n) }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// TestServeResponseShape checks the bytes of a 200 against aws-compat.md §1.
func TestServeResponseShape(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, 0)
	s := startServe(t, e, serveOptions{profiles: []profileSpec{{name: "default"}, {name: "other"}}})
	for _, profile := range []string{"", "other"} {
		c, resp := s.fetch(t, profile)
		if ct := resp.Header["Content-Type"]; len(ct) != 1 || ct[0] != "application/json" {
			t.Errorf("Content-Type %q, want exactly application/json (Go v2 ignores the body otherwise)", ct)
		}
		if c.Token == nil || *c.Token != "" {
			t.Errorf("Token must be present and empty for CoreWeave keys (botocore and JS require it), got %v", c.Token)
		}
		exp, err := time.Parse(time.RFC3339, c.Expiration)
		if err != nil || !strings.HasSuffix(c.Expiration, "Z") {
			t.Errorf("Expiration %q must be RFC 3339 in UTC with Z (JS requires Z): %v", c.Expiration, err)
		}
		if left := time.Until(exp); left < 15*time.Minute {
			t.Errorf("keys served with %s left: botocore would refetch on every call (want > 15 min when the lifetime allows)", left)
		}
		if !strings.HasPrefix(c.AccessKeyID, "CW") || c.SecretAccessKey == "" {
			t.Errorf("unexpected key shape %q", c.AccessKeyID)
		}
		if secret := e.secretOf(c.AccessKeyID); secret != c.SecretAccessKey {
			t.Errorf("served secret is not the emulator's secret for %s", c.AccessKeyID)
		}
	}
	// No "Code" other than Success in a 200 (the Rust SDK treats it as an error).
	req, _ := http.NewRequest(http.MethodGet, s.url("", ""), nil)
	req.Header.Set("Authorization", s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var fields map[string]any
	if err := json.Unmarshal(body, &fields); err != nil {
		t.Fatal(err)
	}
	if code, ok := fields["Code"]; ok && code != "Success" {
		t.Errorf("200 body has Code %v", code)
	}
	// HEAD answers like GET without a body.
	req.Method = http.MethodHead
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// TestRealSDKs points every SDK at serve; each creates a bucket, puts and lists an
// object on the emulator, which verifies every signature. Each SDK must have used
// the container provider: its S3 requests are signed with exactly the key serve
// handed out for its profile.
func TestRealSDKs(t *testing.T) {
	t.Parallel()
	requireBoto3(t)
	requireAWSCLI(t)
	jsDir := requireNodeSDK(t)

	e := startEmulator(t, 0)
	s := startServe(t, e, serveOptions{profiles: []profileSpec{{name: "default"}, {name: "team-b"}}})
	served := map[string]string{}
	for _, p := range []string{"", "team-b"} {
		c, _ := s.fetch(t, p)
		served[p] = c.AccessKeyID
	}
	exchangesBefore := e.exchanges()

	type sdkCase struct {
		name, bucket, profile, host string
		wantProvider                string
		run                         func(ctx context.Context, t *testing.T, env []string, bucket string) (string, string, error)
		env                         func() []string // extra environment
	}
	cases := []sdkCase{
		{
			name: "aws-sdk-go-v2", bucket: "sdk-go", host: "localhost", wantProvider: "CredentialsEndpointProvider",
			run: func(ctx context.Context, _ *testing.T, env []string, bucket string) (string, string, error) {
				return runGoSDK(ctx, env, bucket, 0, 0)
			},
		},
		{
			name: "boto3", bucket: "sdk-boto3", wantProvider: "container-role",
			run: func(ctx context.Context, t *testing.T, env []string, bucket string) (string, string, error) {
				return runBoto3(ctx, t, env, bucket, 0, 0)
			},
		},
		{
			name: "aws-cli-v1", bucket: "sdk-cli", profile: "team-b", wantProvider: "container-role",
			run: func(ctx context.Context, t *testing.T, env []string, bucket string) (string, string, error) {
				return runAWSCLI(ctx, t, e, env, bucket)
			},
		},
		{
			name: "js-fromHttp", bucket: "sdk-js-http", profile: "team-b", wantProvider: "fromHttp",
			run: func(ctx context.Context, _ *testing.T, env []string, bucket string) (string, string, error) {
				return runNodeSDK(ctx, jsDir, env, "fromHttp", bucket, 0, 0)
			},
		},
		{
			// The legacy provider reads only the token variable, and only allows
			// localhost or 127.0.0.1.
			name: "js-fromContainerMetadata", bucket: "sdk-js-cmds", host: "localhost", wantProvider: "fromContainerMetadata",
			env: func() []string { return []string{"AWS_CONTAINER_AUTHORIZATION_TOKEN=" + s.token} },
			run: func(ctx context.Context, _ *testing.T, env []string, bucket string) (string, string, error) {
				return runNodeSDK(ctx, jsDir, env, "fromContainerMetadata", bucket, 0, 0)
			},
		},
	}
	t.Run("sdk", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				var extra []string
				if tc.env != nil {
					extra = tc.env()
				}
				env := sdkEnv(e, s, tc.profile, tc.host, extra...)
				if tc.name == "js-fromContainerMetadata" {
					env = slices.DeleteFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=") })
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				stdout, stderr, err := tc.run(ctx, t, env, tc.bucket)
				if err != nil {
					t.Fatalf("%s failed: %v\nstdout: %s\nstderr: %s", tc.name, err, stdout, stderr)
				}
				rep := decodeReport(t, stdout)
				if rep.Provider != tc.wantProvider {
					t.Errorf("%s used credential provider %q, want %q", tc.name, rep.Provider, tc.wantProvider)
				}
				if want := served[tc.profile]; !slices.Equal(rep.KeyIDs, []string{want}) {
					t.Errorf("%s signed with keys %v, want the one served for its profile, %s", tc.name, rep.KeyIDs, want)
				}
				if !rep.EmptyToken {
					t.Errorf("%s holds a non-empty session token", tc.name)
				}
				checkS3Calls(t, e, tc.bucket, served[tc.profile], 3)
			})
		}
	})
	if n := e.exchanges() - exchangesBefore; n != 0 {
		t.Errorf("serving %d SDKs from warm keys made %d calls to the CoreWeave API, want 0", len(cases), n)
	}
}

// checkS3Calls checks what the emulator saw for bucket: at least min requests,
// every one signed with keyID, answered 2xx, and none with an
// X-Amz-Security-Token header (the emulator refuses even an empty one, so the
// successes already prove it; this says why when it fails).
func checkS3Calls(t *testing.T, e *emuEnv, bucket, keyID string, min int) {
	t.Helper()
	var calls []s3Call
	for _, c := range e.rec.Calls("") {
		if c.Path == "/"+bucket || strings.HasPrefix(c.Path, "/"+bucket+"/") {
			calls = append(calls, c)
		}
	}
	if len(calls) < min {
		t.Errorf("the emulator saw %d S3 requests for bucket %s, want at least %d", len(calls), bucket, min)
	}
	for _, c := range calls {
		if keyID != "" && c.KeyID != keyID {
			t.Errorf("%s %s was signed with %q, want the served key %s", c.Method, c.Path, c.KeyID, keyID)
		}
		if c.Status/100 != 2 {
			t.Errorf("%s %s was answered %d", c.Method, c.Path, c.Status)
		}
		if c.TokenHeader {
			t.Errorf("%s %s carried an X-Amz-Security-Token header for a key without session token", c.Method, c.Path)
		}
	}
}

// runAWSCLI uses the installed aws CLI v1: it must report container-role as the
// credential source, then create a bucket, upload and list.
func runAWSCLI(ctx context.Context, t *testing.T, e *emuEnv, env []string, bucket string) (string, string, error) {
	rep := sdkReport{SDK: "aws-cli"}
	list, stderr, err := runTool(ctx, env, "", "aws", "configure", "list")
	if err != nil {
		return list, stderr, err
	}
	for _, line := range strings.Split(list, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "access_key" {
			rep.Provider = f[2] // "****************ABCD container-role"
			if len(f) >= 4 {
				rep.Provider = f[3]
			}
		}
	}
	file := filepath.Join(t.TempDir(), "hello.txt")
	if err := os.WriteFile(file, []byte("hello from the aws cli"), 0o600); err != nil {
		t.Fatal(err)
	}
	steps := [][]string{
		{"s3", "mb", "s3://" + bucket},
		{"s3", "cp", file, "s3://" + bucket + "/cli/hello.txt"},
		{"s3", "ls", "s3://" + bucket + "/cli/"},
	}
	var out string
	for _, args := range steps {
		rep.Calls++
		if out, stderr, err = runTool(ctx, env, "", "aws", args...); err != nil {
			return out, stderr, err
		}
	}
	if !strings.Contains(out, "hello.txt") {
		rep.Failures = append(rep.Failures, "aws s3 ls does not list hello.txt")
	}
	// The CLI does not say which key it used; the emulator's recorder does.
	for _, c := range e.rec.Calls("aws-cli/") {
		if strings.HasPrefix(c.Path, "/"+bucket) && !slices.Contains(rep.KeyIDs, c.KeyID) {
			rep.KeyIDs = append(rep.KeyIDs, c.KeyID)
		}
	}
	rep.EmptyToken = true // checked on the wire by checkS3Calls
	b, _ := json.Marshal(rep)
	return string(b), stderr, nil
}

// TestServeFirstCallAfterReady: once /readyz says ready, a workload's first S3
// call must succeed. The emulator's S3, like the real service, refuses a new key
// for a moment (1 s here, under the profile's default 5 s propagation_delay);
// the Go SDK does not retry an InvalidAccessKeyId, so serving or announcing
// readiness with keys younger than that fails the call.
func TestServeFirstCallAfterReady(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, time.Second)
	s := startServe(t, e, serveOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stdout, stderr, err := runGoSDK(ctx, sdkEnv(e, s, "", ""), "first-call", 0, 0)
	if err != nil {
		t.Fatalf("the first S3 call after /readyz answered 200 failed: %v\nstdout: %s\nstderr: %s", err, stdout, stderr)
	}
}

// TestServeFirstCallCold: a workload that starts together with serve asks for
// keys the moment the endpoint listens, before /readyz says ready, and its first
// S3 call must still succeed. The emulator's S3 refuses a new key for a moment,
// as the real service does, and no SDK retries that InvalidAccessKeyId: serve
// must not hand out keys younger than the profile's propagation_delay. It waits
// for them within --cold-wait (the Go SDK case), or answers 503 with Retry-After
// when --cold-wait cannot cover the rest, which botocore retries a second later
// (the boto3 case: its container provider times out after 2 s, so --cold-wait is
// kept under that).
func TestServeFirstCallCold(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name                 string
		emuDelay, profDelay  time.Duration
		coldWait             string
		run                  func(ctx context.Context, t *testing.T, env []string, bucket string) (string, string, error)
		bucket, wantProvider string
	}{
		{
			name: "aws-sdk-go-v2", emuDelay: time.Second, profDelay: 1500 * time.Millisecond, coldWait: "3s",
			bucket: "cold-go", wantProvider: "CredentialsEndpointProvider",
			run: func(ctx context.Context, _ *testing.T, env []string, bucket string) (string, string, error) {
				return runGoSDK(ctx, env, bucket, 0, 0)
			},
		},
		{
			name: "boto3", emuDelay: 2 * time.Second, profDelay: 2500 * time.Millisecond, coldWait: "1500ms",
			bucket: "cold-boto3", wantProvider: "container-role",
			run: func(ctx context.Context, t *testing.T, env []string, bucket string) (string, string, error) {
				return runBoto3(ctx, t, env, bucket, 0, 0)
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.name == "boto3" {
				requireBoto3(t)
			}
			e := startEmulator(t, tc.emuDelay)
			s := startServe(t, e, serveOptions{
				profiles: []profileSpec{{name: "default", propagation: tc.profDelay}},
				cold:     true,
				args:     []string{"--cold-wait", tc.coldWait},
			})
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			stdout, stderr, err := tc.run(ctx, t, sdkEnv(e, s, "", ""), tc.bucket)
			if err != nil {
				t.Fatalf("the first S3 call of a workload started with serve failed: %v\nstdout: %s\nstderr: %s\n--- serve's output:\n%s", err, stdout, stderr, s.out)
			}
			rep := decodeReport(t, stdout)
			if rep.Provider != tc.wantProvider || len(rep.KeyIDs) != 1 {
				t.Fatalf("%s used provider %q and keys %v, want %q and one key", tc.name, rep.Provider, rep.KeyIDs, tc.wantProvider)
			}
			checkS3Calls(t, e, tc.bucket, rep.KeyIDs[0], 3)
		})
	}
}
