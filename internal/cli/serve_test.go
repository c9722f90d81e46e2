package cli

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/s3emu"
)

// serveArgs are the flags every in-process run uses: free ports, a private
// token file.
func serveArgs(e *srvEmu, extra ...string) []string {
	return append([]string{"--config", e.config, "--listen", "127.0.0.1:0", "--ops-listen", "127.0.0.1:0",
		"--auth-token-file", filepath.Join(e.dir, "run", "auth-token"), "--log-level", "debug"}, extra...)
}

// An aws-sdk-go-v2 client configured only by the two container variables gets
// keys from serve and makes signed S3 calls the emulator verifies; the endpoint's
// answers, the ops listener and the logs are as promised.
func TestServeSDK(t *testing.T) {
	e := newSrvEmu(t)
	e.writeConfig("alpha", []string{"alpha", "beta"}, nil)
	r := startServe(t, nil, nil, serveArgs(e)...)
	r.started()

	info, err := os.Stat(r.tokenFile)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("auth token file: %v, mode %v", err, info.Mode())
	}
	token := r.token()
	if len(token) != 43 || strings.ContainsAny(token, "\r\n") {
		t.Fatalf("generated token has %d characters or a line break", len(token))
	}
	if got := srvGet(t, r.url+"/v1/credentials", ""); got.status != http.StatusUnauthorized {
		t.Fatalf("no token: %d %s", got.status, got.body)
	}
	if got := srvGet(t, r.url+"/v1/credentials", token+"x"); got.status != http.StatusForbidden {
		t.Fatalf("wrong token: %d %s", got.status, got.body)
	}
	if got := srvGet(t, r.url+"/v1/credentials/gamma", token); got.status != http.StatusNotFound {
		t.Fatalf("unknown profile: %d %s", got.status, got.body)
	}
	alpha := r.getCreds("")
	if again := r.getCreds("alpha"); again.AccessKeyID != alpha.AccessKeyID {
		t.Fatalf("/v1/credentials and /v1/credentials/alpha differ: %s, %s", alpha.AccessKeyID, again.AccessKeyID)
	}
	beta := r.getCreds("beta")
	if beta.AccessKeyID == alpha.AccessKeyID {
		t.Fatal("beta got alpha's keys")
	}

	// The SDK reads exactly what a workload would be given.
	for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
		t.Setenv(v, "")
	}
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", r.url+"/v1/credentials")
	t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", r.tokenFile)
	t.Setenv("AWS_ENDPOINT_URL_S3", e.emu.S3URL())
	ctx := t.Context()
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(e.emu.Region()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessKeyID != alpha.AccessKeyID || !got.CanExpire {
		t.Fatalf("the SDK got key %s (expiring: %v), want %s", got.AccessKeyID, got.CanExpire, alpha.AccessKeyID)
	}
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("serve-sdk")}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("serve-sdk"), Key: aws.String("k"), Body: strings.NewReader("hello")}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	lb, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil || len(lb.Buckets) != 1 || aws.ToString(lb.Buckets[0].Name) != "serve-sdk" {
		t.Fatalf("ListBuckets: %v %+v", err, lb)
	}

	// Operations.
	if got := srvGet(t, r.opsURL+"/healthz", ""); got.status != http.StatusOK {
		t.Fatalf("/healthz: %d", got.status)
	}
	if got := waitReadyz(t, r.opsURL+"/readyz"); got.status != http.StatusOK || !strings.Contains(got.body, `"ready":true`) {
		t.Fatalf("/readyz: %d %s", got.status, got.body)
	}
	metrics := srvGet(t, r.opsURL+"/metrics", "").body
	for _, want := range []string{`cwcreds_requests_total{profile="alpha",status="200"}`, `cwcreds_refreshes_total{profile="beta"} 1`, "go_goroutines"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	r.stop()
	if code := r.wait(); code != 0 {
		t.Fatalf("exit code %d; logs:\n%s", code, r.logs)
	}
	if r.stdout.String() != "" {
		t.Errorf("serve wrote on stdout: %q", r.stdout)
	}
	logs := r.logs.String()
	// One line per refresh: the observer does not repeat the refresher's line.
	if n := strings.Count(logs, `"msg":"refreshed credentials"`); n != 2 {
		t.Errorf("%d refresh lines for 2 refreshes:\n%s", n, logs)
	}
	r.logs.waitMsg(t, "stopped", 1)
	checkNoSecrets(t, "serve's logs", logs, alpha.SecretAccessKey, beta.SecretAccessKey, e.jwt, e.emu.AdminToken(), token)
}

// SIGTERM (here: the context) with a request in flight: the request still gets
// its keys, then serve exits 0.
func TestServeGracefulShutdown(t *testing.T) {
	t.Parallel()
	e := newSrvEmu(t)
	e.writeConfig("", []string{"default"}, nil)
	// The first exchange takes a second, so the first request is in flight.
	e.emu.InjectFault(cwobject.OpCreateAccessKeyFromOIDC.Name, emulator.Fault{Latency: time.Second})
	r := startServe(t, nil, nil, serveArgs(e, "--cold-wait", "10s", "--shutdown-timeout", "20s")...)
	r.started()
	token := r.token()

	sent := make(chan struct{})
	answered := make(chan srvResp, 1)
	go func() {
		trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { close(sent) }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, r.url+"/v1/credentials", nil)
		req.Header.Set("Authorization", token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- srvResp{body: err.Error()}
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		answered <- srvResp{status: resp.StatusCode, body: string(body)}
	}()
	<-sent
	// Connections are accepted in order: once a later connection is answered, the
	// server has accepted the one in flight.
	later := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := later.Get(r.url + "/v1/credentials"); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("second connection: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	r.stop()
	select {
	case got := <-answered:
		if got.status != http.StatusOK || !strings.Contains(got.body, `"AccessKeyId":"CW`) {
			t.Fatalf("request in flight at shutdown: %d %s", got.status, got.body)
		}
	case <-time.After(srvWait):
		t.Fatal("the request in flight got no answer")
	}
	if code := r.wait(); code != 0 {
		t.Fatalf("exit code %d; logs:\n%s", code, r.logs)
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(r.url, "http://"), time.Second); err == nil {
		t.Error("the endpoint still accepts connections after shutdown")
	}
}

// A reload adds and removes a profile while the other keeps serving the same
// key; a broken config is ignored; a new auth token is picked up; a changed
// profile gets new keys.
func TestServeReload(t *testing.T) {
	t.Parallel()
	e := newSrvEmu(t)
	e.writeConfig("", []string{"alpha"}, nil)
	reload := make(chan os.Signal, 1)
	r := startServe(t, nil, reload, serveArgs(e)...)
	r.started()
	first := r.getCreds("alpha")
	if got := r.getCreds(""); got.AccessKeyID != first.AccessKeyID {
		t.Fatal("the only profile is not the default one")
	}

	e.writeConfig("", []string{"alpha", "beta"}, nil)
	reload <- syscall.SIGHUP
	m := r.logs.waitMsg(t, "config reloaded", 1)
	if !sameStrings(m["added"], "beta") || !sameStrings(m["unchanged"], "alpha") {
		t.Fatalf("reload 1: %v", m)
	}
	r.getCreds("beta")
	if got := r.getCreds("alpha"); got.AccessKeyID != first.AccessKeyID {
		t.Fatalf("alpha changed keys on reload: %s, was %s", got.AccessKeyID, first.AccessKeyID)
	}

	e.writeConfig("", []string{"alpha"}, nil)
	reload <- syscall.SIGHUP
	if m := r.logs.waitMsg(t, "config reloaded", 2); !sameStrings(m["removed"], "beta") {
		t.Fatalf("reload 2: %v", m)
	}
	if got := srvGet(t, r.url+"/v1/credentials/beta", r.token()); got.status != http.StatusNotFound {
		t.Fatalf("removed profile: %d %s", got.status, got.body)
	}
	if got := r.getCreds("alpha"); got.AccessKeyID != first.AccessKeyID {
		t.Fatal("alpha changed keys on reload")
	}

	e.writeRawConfig("profiles: [\n")
	reload <- syscall.SIGHUP
	r.logs.waitMsg(t, "config reload failed; still serving the previous config", 1)
	if got := r.getCreds("alpha"); got.AccessKeyID != first.AccessKeyID {
		t.Fatal("alpha changed keys after a broken reload")
	}

	oldToken := r.token()
	if err := os.WriteFile(r.tokenFile, []byte("a-new-token-for-serve"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.writeConfig("", []string{"alpha"}, map[string]string{"alpha": "    lifetime: 2h\n"})
	reload <- syscall.SIGHUP
	r.logs.waitMsg(t, "the auth token changed: requiring the new one", 1)
	if m := r.logs.waitMsg(t, "config reloaded", 3); !sameStrings(m["changed"], "alpha") {
		t.Fatalf("reload 4: %v", m)
	}
	if got := srvGet(t, r.url+"/v1/credentials", oldToken); got.status != http.StatusForbidden {
		t.Fatalf("old token after the change: %d", got.status)
	}
	if got := r.getCreds("alpha"); got.AccessKeyID == first.AccessKeyID {
		t.Fatal("alpha kept its keys although its config changed")
	}
	if n := e.emu.Calls()["CreateAccessKeyFromOIDC"]; n != 3 {
		t.Errorf("%d exchanges, want 3 (alpha, beta, changed alpha)", n)
	}
	checkNoSecrets(t, "serve's logs", r.logs.String(), first.SecretAccessKey, e.jwt, oldToken, "a-new-token-for-serve")
}

// A reload that cannot use the auth token file keeps requiring the previous token
// and says so, without the file's content; one that finds no file generates a
// new token.
func TestServeReloadAuthTokenFile(t *testing.T) {
	t.Parallel()
	e := newSrvEmu(t)
	e.writeConfig("", []string{"alpha"}, nil)
	reload := make(chan os.Signal, 1)
	r := startServe(t, nil, reload, serveArgs(e)...)
	r.started()
	first := r.getCreds("alpha")
	oldToken := r.token()

	if err := os.WriteFile(r.tokenFile, []byte("spoilt-token\nsecond-line"), 0o600); err != nil {
		t.Fatal(err)
	}
	reload <- syscall.SIGHUP
	m := r.logs.waitMsg(t, "could not re-read the auth token file; still requiring the previous token", 1)
	if msg, _ := m["error"].(string); !strings.Contains(msg, r.tokenFile) {
		t.Errorf("the warning does not name the file: %v", m)
	}
	r.logs.waitMsg(t, "config reloaded", 1)
	if got := srvGet(t, r.url+"/v1/credentials", oldToken); got.status != http.StatusOK {
		t.Fatalf("the previous token after a failed reload: %d %s", got.status, got.body)
	}

	if err := os.Remove(r.tokenFile); err != nil {
		t.Fatal(err)
	}
	reload <- syscall.SIGHUP
	r.logs.waitMsg(t, "the auth token file was missing: generated a new token", 1)
	if got := srvGet(t, r.url+"/v1/credentials", oldToken); got.status != http.StatusForbidden {
		t.Fatalf("the previous token after a new one was generated: %d", got.status)
	}
	if got := r.getCreds("alpha"); got.AccessKeyID != first.AccessKeyID {
		t.Fatal("alpha changed keys when only the token changed")
	}
	newToken := r.token()
	if len(newToken) != 43 || newToken == oldToken {
		t.Fatalf("generated token has %d characters, or is the previous one", len(newToken))
	}
	checkNoSecrets(t, "serve's logs", r.logs.String(), first.SecretAccessKey, e.jwt, oldToken, newToken, "spoilt-token", "second-line")
}

func sameStrings(v any, want ...string) bool {
	got, _ := v.([]any)
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// With --revoke-on-exit and an API token, the keys served are revoked on
// shutdown: the API forgets them and S3 refuses them.
func TestServeRevokeOnExit(t *testing.T) {
	t.Parallel()
	e := newSrvEmu(t)
	e.writeConfig("", []string{"alpha", "beta"}, nil)
	r := startServe(t, map[string]string{"CW_API_TOKEN": e.emu.AdminToken()}, nil, serveArgs(e, "--revoke-on-exit")...)
	r.started()
	keys := []containerCreds{r.getCreds("alpha"), r.getCreds("beta")}
	r.logs.waitMsg(t, "refreshed credentials", 2)
	for _, k := range keys {
		if _, st := e.emu.ResolveKey(k.AccessKeyID); st != s3emu.KeyValid {
			t.Fatalf("key %s is %s before shutdown", k.AccessKeyID, st)
		}
	}
	r.stop()
	if code := r.wait(); code != 0 {
		t.Fatalf("exit code %d; logs:\n%s", code, r.logs)
	}
	client, err := cwobject.New(cwobject.Config{BaseURL: e.emu.APIURL(), Token: e.emu.AdminToken()})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if _, err := client.GetAccessKeyInfo(t.Context(), k.AccessKeyID); cwobject.CodeOf(err) != cwobject.CodeNotFound {
			t.Errorf("GetAccessKeyInfo(%s) after shutdown: %v, want NotFound", k.AccessKeyID, err)
		}
		s3c := s3.New(s3.Options{Region: e.emu.Region(), BaseEndpoint: aws.String(e.emu.S3URL()), UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider(k.AccessKeyID, k.SecretAccessKey, "")})
		_, err := s3c.ListBuckets(t.Context(), &s3.ListBucketsInput{})
		var ae smithy.APIError
		if !errors.As(err, &ae) || ae.ErrorCode() != "InvalidAccessKeyId" {
			t.Errorf("S3 with revoked key %s: %v, want InvalidAccessKeyId", k.AccessKeyID, err)
		}
	}
	if n := strings.Count(r.logs.String(), `"msg":"revoked the access key"`); n != 2 {
		t.Errorf("%d revocations logged, want 2", n)
	}
	checkNoSecrets(t, "serve's logs", r.logs.String(), keys[0].SecretAccessKey, keys[1].SecretAccessKey, e.jwt, e.emu.AdminToken())
}

// Without an API token, --revoke-on-exit says at once that it cannot work.
func TestServeRevokeOnExitWithoutToken(t *testing.T) {
	t.Parallel()
	e := newSrvEmu(t)
	e.writeConfig("", []string{"alpha"}, nil)
	r := startServe(t, nil, nil, serveArgs(e, "--revoke-on-exit")...)
	r.started()
	m := r.logs.waitMsg(t, "--revoke-on-exit cannot work for this profile: no API token to revoke its keys with", 1)
	if m["profile"] != "alpha" || m["level"] != "warn" {
		t.Fatalf("warning: %v", m)
	}
	k := r.getCreds("")
	r.stop()
	if code := r.wait(); code != 1 {
		t.Fatalf("exit code %d, want 1 when minted keys could not be revoked", code)
	}
	if !strings.Contains(r.logs.String(), "cwcreds: revoke-on-exit: 1 of 1 keys could not be revoked") {
		t.Errorf("no final error line:\n%s", r.logs)
	}
	if _, st := e.emu.ResolveKey(k.AccessKeyID); st != s3emu.KeyValid {
		t.Errorf("key is %s", st)
	}
}

// Bad invocations fail at once with one clear line and exit 1.
func TestServeErrors(t *testing.T) {
	t.Parallel()
	e := newSrvEmu(t)
	e.writeConfig("", []string{"alpha", "beta"}, nil)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	// Unknown profiles fail before the token file is written.
	tokenFile := filepath.Join(e.dir, "errors-token")
	if code, _, _ := runCLI(t, nil, "serve", "--config", e.config, "--profile", "nope", "--auth-token-file", tokenFile); code != 1 {
		t.Fatalf("unknown profile: code %d", code)
	}
	if _, err := os.Stat(tokenFile); err == nil {
		t.Fatal("an unknown profile still wrote the token file")
	}
	base := []string{"serve", "--config", e.config, "--auth-token-file", tokenFile}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown profile", []string{"--profile", "nope"}, `cwcreds: unknown profile "nope": known profiles are alpha, beta`},
		{"empty profile", []string{"--profile", ""}, "cwcreds: --profile needs a profile name"},
		{"port in use", []string{"--listen", busy.Addr().String(), "--ops-listen", "off"},
			"cwcreds: credentials endpoint: could not listen on " + busy.Addr().String() + ": listen tcp " + busy.Addr().String() + ": bind: address already in use (choose another address with --listen)"},
		{"ops port in use", []string{"--listen", "127.0.0.1:0", "--ops-listen", busy.Addr().String()}, "bind: address already in use (choose another address with --ops-listen, or turn it off with --ops-listen off)"},
		{"no host", []string{"--listen", ":9911"}, `cwcreds: credentials endpoint: listen address ":9911" has no host`},
		{"cold wait", []string{"--cold-wait", "0s"}, "cwcreds: --cold-wait 0s is not positive"},
		{"shutdown timeout", []string{"--shutdown-timeout", "-1s"}, "cwcreds: --shutdown-timeout -1s is not positive"},
		{"emulator flag without dev", []string{"--emulator-listen", "127.0.0.1:0"}, "cwcreds: --emulator-listen works only with --dev"},
		{"dev with config", []string{"--dev"}, "cwcreds: --config cannot be used with --dev"},
		{"log level", []string{"--log-level", "loud"}, `cwcreds: unknown log level "loud"`},
		{"argument", []string{"extra"}, `cwcreds: unknown command "extra" for "cwcreds serve"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, nil, append(base, tc.args...)...)
			lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
			last := lines[len(lines)-1]
			if code != 1 || out != "" || !strings.Contains(last, tc.want) {
				t.Fatalf("code %d, stdout %q, stderr:\n%s\nwant a last line with %q", code, out, errOut, tc.want)
			}
		})
	}
}

// The default profile: the config's if served, else the first named, else the
// first of the file; CWCREDS_PROFILE must name a profile.
func TestSelectProfiles(t *testing.T) {
	t.Parallel()
	e := newSrvEmu(t)
	e.writeConfig("", []string{"zeta", "alpha", "beta"}, nil)
	for _, tc := range []struct {
		env        map[string]string
		names      []string
		want, def  string
		wantErrSub string
	}{
		{names: nil, want: "zeta alpha beta", def: "zeta"},
		{names: []string{"beta", "alpha", "beta"}, want: "beta alpha", def: "beta"},
		{env: map[string]string{"CWCREDS_PROFILE": "alpha"}, want: "zeta alpha beta", def: "alpha"},
		{env: map[string]string{"CWCREDS_PROFILE": "alpha"}, names: []string{"beta"}, want: "beta", def: "beta"},
		{env: map[string]string{"CWCREDS_PROFILE": "nope"}, wantErrSub: `unknown profile "nope"`},
	} {
		o := &serveOptions{profiles: tc.names}
		o.configPath = e.config
		cfg, err := o.load(Env{Getenv: func(k string) string { return tc.env[k] }})
		if err != nil {
			t.Fatal(err)
		}
		sel, def, err := selectProfiles(cfg, tc.names)
		if tc.wantErrSub != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErrSub) {
				t.Errorf("%v %v: error %v, want %q", tc.env, tc.names, err, tc.wantErrSub)
			}
			continue
		}
		var names []string
		for _, p := range sel {
			names = append(names, p.Name)
		}
		if err != nil || strings.Join(names, " ") != tc.want || def != tc.def {
			t.Errorf("%v %v: %v, default %q, %v; want %s, default %s", tc.env, tc.names, names, def, err, tc.want, tc.def)
		}
	}
}

// A task failing stops the others, and its error is the one returned; tasks
// stopping because the context ended return nil.
func TestRunTasks(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	waitCtx := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	if err := runTasks(context.Background(), task{"a", waitCtx}, task{"b", func(context.Context) error { return boom }}); !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
	if err := runTasks(context.Background(), task{"a", waitCtx}, task{"early", func(context.Context) error { return nil }}); err == nil || err.Error() != "early stopped unexpectedly" {
		t.Fatalf("got %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := runTasks(ctx, task{"a", waitCtx}, task{"b", waitCtx}); err != nil {
		t.Fatalf("got %v after cancel", err)
	}
}

// The dev config is valid and isolated from the caller's environment.
func TestDevConfig(t *testing.T) {
	t.Parallel()
	o := &serveOptions{emulatorListen: "127.0.0.1:0", emulatorS3Listen: "127.0.0.1:0", emulatorPropagation: 0}
	s, err := startDev(t.Context(), o, zap.NewNop(), clockwork.NewRealClock(), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	cfg, err := s.load()
	if err != nil {
		t.Fatal(err)
	}
	p, err := cfg.Profile("")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "default" || p.APIEndpoint != s.emu.APIURL() || p.OrgID != s.emu.OrgID() || p.Source.TokenFile.Path != s.tokenFile || p.PropagationDelay != 0 {
		t.Fatalf("dev profile %+v", p)
	}
	if got := policyOf(p).PropagationDelay; got != 0 {
		t.Fatalf("a zero propagation delay is none in the cache too, got %s", got)
	}
	if got := s.getenv(func(string) string { return "from-env" })("CW_API_TOKEN"); got != s.emu.AdminToken() {
		t.Fatal("the dev environment does not hold the emulator's admin token")
	}
}

// --dev prints only export lines, once the endpoint serves keys the emulated S3
// already accepts (with its default propagation delay), and stops cleanly.
func TestServeDev(t *testing.T) {
	t.Parallel()
	r := startServe(t, map[string]string{"AWS_PROFILE": "elsewhere"}, nil, "--dev", "--log-level", "debug")
	r.logs.waitMsg(t, "dev server ready", 1)
	exports := map[string]string{}
	for _, line := range strings.Split(strings.TrimSuffix(r.stdout.String(), "\n"), "\n") {
		name, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !strings.HasPrefix(line, "export ") || !ok || len(value) < 2 || value[0] != '\'' || value[len(value)-1] != '\'' {
			t.Fatalf("stdout line %q is not an export line", line)
		}
		exports[name] = value[1 : len(value)-1]
	}
	for _, name := range []string{"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_ENDPOINT_URL_S3",
		"AWS_REGION", "AWS_DEFAULT_REGION", "CWCREDS_API_ENDPOINT", "CWCREDS_ORG_ID", "CW_API_TOKEN", "CWCREDS_DEV_OIDC_ISSUER",
		"CWCREDS_TOKEN_FILE", "CWCREDS_EMULATOR", "CWCREDS_PROPAGATION_DELAY", "CWCREDS_SERVE_PID", "CWCREDS_CONFIG", devPasswordVar} {
		if exports[name] == "" {
			t.Errorf("%s is not exported", name)
		}
	}
	if len(exports) != 15 {
		t.Errorf("%d variables exported, want 15: %v", len(exports), exports)
	}
	uri := exports["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
	if !strings.HasPrefix(uri, "http://127.0.0.1:") || !strings.HasSuffix(uri, "/v1/credentials") || strings.HasSuffix(uri, ":9911/v1/credentials") {
		t.Errorf("endpoint %s: want 127.0.0.1 on a free port", uri)
	}
	token, err := os.ReadFile(exports["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"])
	if err != nil {
		t.Fatal(err)
	}
	r.tokenFile = exports["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]
	r.url = strings.TrimSuffix(uri, "/v1/credentials")
	k := r.getCreds("")
	s3c := s3.New(s3.Options{Region: exports["AWS_REGION"], BaseEndpoint: aws.String(exports["AWS_ENDPOINT_URL_S3"]), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(k.AccessKeyID, k.SecretAccessKey, "")})
	if _, err := s3c.ListBuckets(t.Context(), &s3.ListBucketsInput{}); err != nil {
		t.Fatalf("the first S3 call with the served keys failed: %v", err)
	}
	if m := r.logs.waitMsg(t, "set in this environment, it takes precedence over the container endpoint in AWS SDKs: unset it in the shell that evals the exports", 1); m["variable"] != "AWS_PROFILE" {
		t.Errorf("warning: %v", m)
	}
	stateDir := filepath.Dir(exports["CWCREDS_TOKEN_FILE"])
	r.stop()
	if code := r.wait(); code != 0 {
		t.Fatalf("exit code %d; logs:\n%s", code, r.logs)
	}
	if _, err := os.Stat(stateDir); err == nil {
		t.Errorf("the dev state folder %s is left behind", stateDir)
	}
	checkNoSecrets(t, "serve --dev's logs", r.logs.String(), k.SecretAccessKey, exports["CW_API_TOKEN"], string(token))
}

// --listen unix:/path serves on a 0600 socket, logged under its own path.
func TestServeUnixSocket(t *testing.T) {
	t.Parallel()
	e := newSrvEmu(t)
	e.writeConfig("", []string{"alpha"}, nil)
	sock := filepath.Join(e.dir, "creds.sock")
	r := startServe(t, nil, nil, "--config", e.config, "--listen", "unix:"+sock, "--ops-listen", "off",
		"--auth-token-file", filepath.Join(e.dir, "auth-token"))
	m := r.logs.waitMsg(t, "serving credentials", 1)
	if m["listen"] != "unix:"+sock || m["ops_listen"] != nil {
		t.Fatalf("start line: %v", m)
	}
	if info, err := os.Stat(sock); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("socket: %v %v", err, info.Mode())
	}
	token, err := os.ReadFile(filepath.Join(e.dir, "auth-token"))
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	req, _ := http.NewRequest(http.MethodGet, "http://localhost/v1/credentials", nil)
	req.Header.Set("Authorization", string(token))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"AccessKeyId":"CW`) {
		t.Fatalf("over the socket: %d %s", resp.StatusCode, body)
	}
	r.stop()
	if code := r.wait(); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if _, err := os.Stat(sock); err == nil {
		t.Error("the socket is left behind")
	}
}

// A request for keys younger than the profile's propagation_delay gets 503 with
// a Retry-After when --cold-wait cannot cover the rest of the delay;
// --no-propagation-wait hands the keys out at once.
func TestServePropagationWait(t *testing.T) {
	t.Parallel()
	e := newSrvEmu(t)
	// Far beyond --cold-wait, so the answer cannot depend on how fast this runs.
	e.writeConfig("", []string{"alpha"}, map[string]string{"alpha": "    propagation_delay: 10m\n"})

	r := startServe(t, nil, nil, serveArgs(e)...)
	r.started()
	got := srvGet(t, r.url+"/v1/credentials", r.token())
	for got.status == http.StatusServiceUnavailable && strings.Contains(got.body, "still running") {
		got = srvGet(t, r.url+"/v1/credentials", r.token()) // the first exchange; each waits --cold-wait
	}
	if got.status != http.StatusServiceUnavailable || !strings.Contains(got.body, `"code":"CredentialsUnavailable"`) ||
		!strings.Contains(got.body, "not accepted by S3 yet") {
		t.Fatalf("keys minted just now: %d %s", got.status, got.body)
	}
	if secs, err := strconv.Atoi(got.header.Get("Retry-After")); err != nil || secs < 1 || secs > 600 {
		t.Errorf("Retry-After %q, want the seconds until the keys are 10m old", got.header.Get("Retry-After"))
	}

	e2 := newSrvEmu(t)
	e2.writeConfig("", []string{"alpha"}, map[string]string{"alpha": "    propagation_delay: 10m\n"})
	r2 := startServe(t, nil, nil, serveArgs(e2, "--no-propagation-wait", "--cold-wait", "10s")...)
	r2.started()
	if c := r2.getCreds(""); !strings.HasPrefix(c.AccessKeyID, "CW") {
		t.Errorf("--no-propagation-wait served %q", c.AccessKeyID)
	}
}
