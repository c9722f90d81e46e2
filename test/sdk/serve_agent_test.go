package sdk_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator/devissuer"
	"github.com/cwcreds/cwcreds/internal/fileutil"
)

// agentProc is a running `cwcreds serve --mode agent` child: a serveProc (its
// output, exit and SIGTERM check) plus the endpoint of each listener.
type agentProc struct {
	*serveProc
	endpoints []string // one credentials URL per listener
}

// startAgentServe runs the node agent against e on IPv4 and IPv6 loopback, with
// no config file: only flags.
func startAgentServe(t *testing.T, e *emuEnv) *agentProc {
	t.Helper()
	a := &agentProc{serveProc: &serveProc{t: t, out: suite.newOutput(t.Name() + ": cwcreds serve --mode agent"), exited: make(chan struct{})}}
	dir := t.TempDir()
	a.cmd = exec.Command(suite.bin, "serve", "--mode", "agent", "--listen", "127.0.0.1:0", "--listen", "[::1]:0",
		"--ops-listen", "127.0.0.1:0", "--org-id", e.emu.OrgID(), "--api-endpoint", e.apiURL, "--propagation-delay", "0s",
		"--log-level", "debug")
	a.cmd.Env = cleanEnv("XDG_CONFIG_HOME="+filepath.Join(dir, "xdg-config"), "XDG_CACHE_HOME="+filepath.Join(dir, "xdg-cache"))
	a.cmd.Stdout, a.cmd.Stderr = a.out, a.out
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		a.waitErr = a.cmd.Wait()
		close(a.exited)
	}()
	t.Cleanup(a.stop)
	deadline := time.Now().Add(30 * time.Second)
	for a.opsAddr == "" {
		for _, line := range strings.Split(a.out.String(), "\n") {
			var l struct {
				Msg       string   `json:"msg"`
				Endpoints []string `json:"endpoints"`
				Ops       string   `json:"ops_listen"`
			}
			if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "serving credentials" {
				a.endpoints, a.opsAddr = l.Endpoints, l.Ops
			}
		}
		select {
		case <-a.exited:
			t.Fatalf("the agent exited: %v\n%s", a.waitErr, a.out)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not start listening\n%s", a.out)
		}
	}
	if err := a.waitReady(30 * time.Second); err != nil {
		t.Fatalf("the agent did not become ready: %v\n%s", err, a.out)
	}
	return a
}

// podIdentity is one pod's projected service-account token, in its own file.
type podIdentity struct {
	subject, tokenFile string
}

func newPod(t *testing.T, e *emuEnv, name string) podIdentity {
	t.Helper()
	p := podIdentity{subject: "system:serviceaccount:ml:" + name, tokenFile: filepath.Join(t.TempDir(), "token")}
	jwt, err := e.emu.DevIssuer().Mint(devissuer.MintOptions{Subject: p.subject, Audience: []string{cwobject.RecommendedAudience}, Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	suite.addSecret("pod JWT", jwt)
	if err := fileutil.WriteFileAtomic(p.tokenFile, []byte(jwt), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAgentRealSDKs runs the real SDKs of TestRealSDKs against the node agent,
// each as its own pod: its own service-account token in
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE is its identity. Each must sign its S3
// calls with keys minted for its own principal, and each pod costs exactly one
// exchange however many times its SDK (or the CLI's several processes) ask.
func TestAgentRealSDKs(t *testing.T) {
	t.Parallel()
	requireBoto3(t)
	requireAWSCLI(t)
	jsDir := requireNodeSDK(t)
	e := startEmulator(t, 0)
	a := startAgentServe(t, e)
	if len(a.endpoints) != 2 || !strings.Contains(a.endpoints[0], "127.0.0.1") || !strings.Contains(a.endpoints[1], "[::1]") {
		t.Fatalf("the agent serves %v, want 127.0.0.1 and [::1]", a.endpoints)
	}
	before := e.exchanges()

	type sdkCase struct {
		name, bucket, url, wantProvider string
		tokenInEnv                      bool // fromContainerMetadata reads only the variable
		run                             func(ctx context.Context, t *testing.T, env []string, bucket string) (string, string, error)
	}
	v4, v6 := a.endpoints[0], a.endpoints[1]
	cases := []sdkCase{
		{name: "aws-sdk-go-v2", bucket: "agent-go", url: strings.Replace(v4, "127.0.0.1", "localhost", 1), wantProvider: "CredentialsEndpointProvider",
			run: func(ctx context.Context, _ *testing.T, env []string, bucket string) (string, string, error) {
				return runGoSDK(ctx, env, bucket, 0, 0)
			}},
		{name: "aws-sdk-go-v2-ipv6", bucket: "agent-go6", url: v6, wantProvider: "CredentialsEndpointProvider",
			run: func(ctx context.Context, _ *testing.T, env []string, bucket string) (string, string, error) {
				return runGoSDK(ctx, env, bucket, 0, 0)
			}},
		{name: "boto3", bucket: "agent-boto3", url: v4, wantProvider: "container-role",
			run: func(ctx context.Context, t *testing.T, env []string, bucket string) (string, string, error) {
				return runBoto3(ctx, t, env, bucket, 0, 0)
			}},
		{name: "aws-cli-v1", bucket: "agent-cli", url: v4, wantProvider: "container-role",
			run: func(ctx context.Context, t *testing.T, env []string, bucket string) (string, string, error) {
				return runAWSCLI(ctx, t, e, env, bucket)
			}},
		{name: "js-fromHttp", bucket: "agent-js-http", url: v6, wantProvider: "fromHttp",
			run: func(ctx context.Context, _ *testing.T, env []string, bucket string) (string, string, error) {
				return runNodeSDK(ctx, jsDir, env, "fromHttp", bucket, 0, 0)
			}},
		{name: "js-fromContainerMetadata", bucket: "agent-js-cmds", url: strings.Replace(v4, "127.0.0.1", "localhost", 1), wantProvider: "fromContainerMetadata", tokenInEnv: true,
			run: func(ctx context.Context, _ *testing.T, env []string, bucket string) (string, string, error) {
				return runNodeSDK(ctx, jsDir, env, "fromContainerMetadata", bucket, 0, 0)
			}},
	}
	var mu sync.Mutex
	keysOf := map[string][]string{} // pod subject → keys its SDK signed with
	t.Run("sdk", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				pod := newPod(t, e, tc.bucket)
				env := cleanEnv(
					"AWS_CONTAINER_CREDENTIALS_FULL_URI="+tc.url,
					"AWS_ENDPOINT_URL_S3="+e.s3URL,
					"AWS_REGION="+e.emu.Region(),
					"AWS_DEFAULT_REGION="+e.emu.Region(),
					"AWS_CONFIG_FILE="+os.DevNull,
					"AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
					"AWS_EC2_METADATA_DISABLED=true",
				)
				if tc.tokenInEnv {
					jwt, err := os.ReadFile(pod.tokenFile)
					if err != nil {
						t.Fatal(err)
					}
					env = append(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN="+string(jwt))
				} else {
					env = append(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="+pod.tokenFile)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				stdout, stderr, err := tc.run(ctx, t, env, tc.bucket)
				if err != nil {
					t.Fatalf("%s failed: %v\nstdout: %s\nstderr: %s\n--- the agent:\n%s", tc.name, err, stdout, stderr, a.out)
				}
				rep := decodeReport(t, stdout)
				if rep.Provider != tc.wantProvider {
					t.Errorf("%s used credential provider %q, want %q", tc.name, rep.Provider, tc.wantProvider)
				}
				if len(rep.KeyIDs) != 1 {
					t.Fatalf("%s signed with keys %v, want one", tc.name, rep.KeyIDs)
				}
				if p := e.emu.PrincipalOf(rep.KeyIDs[0]); !strings.HasSuffix(p, ":"+pod.subject) {
					t.Errorf("%s signed with keys of %q, not of its own pod %s", tc.name, p, pod.subject)
				}
				checkS3Calls(t, e, tc.bucket, rep.KeyIDs[0], 3)
				mu.Lock()
				keysOf[pod.subject] = rep.KeyIDs
				mu.Unlock()
			})
		}
	})
	if n := e.exchanges() - before; n != len(cases) {
		t.Errorf("%d pods made %d calls to the CoreWeave API, want one exchange each", len(cases), n)
	}
	var all []string
	for _, ks := range keysOf {
		all = append(all, ks...)
	}
	slices.Sort(all)
	if len(slices.Compact(all)) != len(cases) {
		t.Errorf("pods shared keys: %v", keysOf)
	}
	resp, err := http.Get("http://" + a.opsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}
