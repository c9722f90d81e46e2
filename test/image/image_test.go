package image_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/x509"
	"debug/elf"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

const (
	imageTag     = "cwcreds:test" // the contract's local test tag
	testVersion  = "v0.0.0-imagetest"
	testRevision = "0123456789abcdef0123456789abcdef01234567"
	// The target was 25 MB; the injector's client-go informer (REST client,
	// apimachinery) adds 5.8 MB to /cwcreds, which is most of the excess. This bound
	// catches growth beyond that (docs/benchmarks.md has the breakdown).
	maxImageBytes = 32_000_000
	nonrootID     = 65532
	testNetwork   = "cwcreds-image-test"
)

func TestImage(t *testing.T) {
	began := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	step := func(name string, since time.Time) { t.Logf("%s: %.1fs", name, time.Since(since).Seconds()) }

	at := time.Now()
	d := startDockerd(t, ctx)
	step("dockerd ready", at)

	// A CoreWeave API stand-in on https whose certificate the image's CA bundle
	// holds (added to the machine's bundle), and one whose certificate it does not.
	trusted, untrusted := newHTTPSAPI(t, true), newHTTPSAPI(t, false)
	buildImage(t, ctx, d, bundleWith(t, trusted.srv.Certificate()))

	at = time.Now()
	t.Run("serve-dev", func(t *testing.T) { checkServeDev(t, ctx, d) }) // alone: it sets the AWS SDK's environment
	step("serve --dev in the container, used from the host", at)

	at = time.Now()
	t.Run("image", func(t *testing.T) {
		// Each runs its own containers: in parallel, they take the time of the longest.
		for name, check := range map[string]func(t *testing.T){
			"config":                      func(t *testing.T) { checkImageConfig(t, ctx, d) },
			"files":                       func(t *testing.T) { checkImageFiles(t, ctx, d) },
			"version":                     func(t *testing.T) { checkVersion(t, ctx, d) },
			"credential-process":          func(t *testing.T) { checkCredentialProcess(t, ctx, d) },
			"https-through-the-ca-bundle": func(t *testing.T) { checkHTTPS(t, ctx, d, trusted, untrusted) },
			"read-only-root-needs-tmp":    func(t *testing.T) { checkReadOnlyRootNeedsTmp(t, ctx, d) },
			"sidecar":                     func(t *testing.T) { checkSidecar(t, ctx, d) },
		} {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				check(t)
			})
		}
	})
	step("the image's files and config, and the other runs", at)
	step("TestImage", began)
}

func checkVersion(t *testing.T, ctx context.Context, d *dockerd) {
	out := d.mustDocker(t, ctx, "run", "--rm", imageTag, "version")
	if want := fmt.Sprintf("cwcreds %s (%s, linux/%s)\n", testVersion, runtime.Version(), runtime.GOARCH); out != want {
		t.Errorf("version printed %q, want %q", out, want)
	}
}

// checkReadOnlyRootNeedsTmp runs serve --dev on a read-only root without the
// /tmp volume the README asks for: it must stop at once with a one-line reason.
func checkReadOnlyRootNeedsTmp(t *testing.T, ctx context.Context, d *dockerd) {
	out, err := d.docker(ctx, "run", "--rm", "--read-only", "--cap-drop", "ALL", imageTag, "serve", "--dev")
	if err == nil {
		t.Fatalf("serve --dev ran on a read-only root with no /tmp volume:\n%s", out)
	}
	if !strings.Contains(err.Error(), "cwcreds: could not create a state folder: mkdir /tmp/") || !strings.Contains(err.Error(), "read-only file system") {
		t.Errorf("want a one-line error naming /tmp and the read-only file system, got: %v", err)
	}
}

// buildImage lays out the root filesystem with scripts/image-rootfs, as the
// Dockerfile's build stage does, and builds the Dockerfile's final stage on it.
func buildImage(t *testing.T, ctx context.Context, d *dockerd, caBundle string) {
	t.Helper()
	dockerfile, err := finalStageOnStandIn(readRepoDockerfile(t))
	if err != nil {
		t.Fatal(err)
	}
	contextDir := filepath.Join(d.dir, "context")
	if err := os.MkdirAll(contextDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(contextDir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	at := time.Now()
	cmd := exec.CommandContext(ctx, filepath.Join(repoRoot(t), "scripts", "image-rootfs"), filepath.Join(contextDir, "rootfs"))
	cmd.Env = append(os.Environ(), "VERSION="+testVersion, "CA_BUNDLE="+caBundle)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/image-rootfs: %v\n%s", err, out)
	}
	t.Logf("scripts/image-rootfs (go build of both binaries): %.1fs", time.Since(at).Seconds())
	at = time.Now()
	d.mustDocker(t, ctx, "build", "--tag", imageTag, "--build-arg", "VERSION="+testVersion, "--build-arg", "REVISION="+testRevision, contextDir)
	t.Logf("docker build of the final stage: %.1fs", time.Since(at).Seconds())
}

// imageInspect is the part of `docker image inspect` the test reads.
type imageInspect struct {
	Size         int64
	Os           string
	Architecture string
	Config       struct {
		User         string
		Entrypoint   []string
		Cmd          []string
		Env          []string
		Labels       map[string]string
		ExposedPorts map[string]struct{}
	}
}

func checkImageConfig(t *testing.T, ctx context.Context, d *dockerd) {
	var got []imageInspect
	if err := json.Unmarshal([]byte(d.mustDocker(t, ctx, "image", "inspect", imageTag)), &got); err != nil || len(got) != 1 {
		t.Fatalf("docker image inspect: %v (%d images)", err, len(got))
	}
	img := got[0]
	t.Logf("image size: %d bytes (%.1f MB)", img.Size, float64(img.Size)/1e6)
	if img.Size >= maxImageBytes {
		t.Errorf("the image is %d bytes, want < %d", img.Size, maxImageBytes)
	}
	if img.Os != "linux" || img.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s, want linux/%s", img.Os, img.Architecture, runtime.GOARCH)
	}
	c := img.Config
	if want := fmt.Sprintf("%d:%d", nonrootID, nonrootID); c.User != want {
		t.Errorf("USER %q, want %q (numeric, so runAsNonRoot can check it)", c.User, want)
	}
	if !slices.Equal(c.Entrypoint, []string{"/cwcreds"}) || len(c.Cmd) != 0 {
		t.Errorf("ENTRYPOINT %q CMD %q, want [/cwcreds] and no CMD", c.Entrypoint, c.Cmd)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.title":    "cwcreds",
		"org.opencontainers.image.version":  testVersion,
		"org.opencontainers.image.revision": testRevision,
		"org.opencontainers.image.source":   "https://github.com/cwcreds/cwcreds",
	} {
		if c.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], want)
		}
	}
	if c.Labels["org.opencontainers.image.description"] == "" {
		t.Error("no org.opencontainers.image.description label")
	}
	for _, port := range []string{"9911/tcp", "9912/tcp"} {
		if _, ok := c.ExposedPorts[port]; !ok {
			t.Errorf("port %s not exposed (got %v)", port, c.ExposedPorts)
		}
	}
	// Every place cwcreds writes by default is under /tmp, so a read-only root
	// filesystem needs one volume.
	env := map[string]string{}
	for _, kv := range c.Env {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for _, k := range []string{"TMPDIR", "XDG_CACHE_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR"} {
		if v := env[k]; v != "/tmp" && !strings.HasPrefix(v, "/tmp/") {
			t.Errorf("%s=%q, want a path under /tmp", k, v)
		}
	}
	if env["HOME"] != "/home/nonroot" {
		t.Errorf("HOME=%q, want /home/nonroot", env["HOME"])
	}
}

// checkImageFiles reads the image's file system (docker export of a created
// container): the two static binaries, the CA bundle, the nonroot user, /tmp and
// the home folder — and nothing else with content.
func checkImageFiles(t *testing.T, ctx context.Context, d *dockerd) {
	id := strings.TrimSpace(d.mustDocker(t, ctx, "create", imageTag))
	defer func() { _, _ = d.docker(context.WithoutCancel(ctx), "rm", id) }()
	files := map[string]*tar.Header{}
	contents := map[string][]byte{}
	err := d.read(ctx, func(r io.Reader) error {
		tr := tar.NewReader(r)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			name := strings.TrimSuffix(h.Name, "/")
			files[name] = h
			if h.Typeflag == tar.TypeReg && h.Size > 0 {
				b := make([]byte, h.Size)
				if _, err := io.ReadFull(tr, b); err != nil {
					return err
				}
				contents[name] = b
			}
		}
	}, "export", id)
	if err != nil {
		t.Fatalf("docker export: %v", err)
	}
	var withContent []string
	for name := range contents {
		withContent = append(withContent, name)
	}
	slices.Sort(withContent)
	for _, name := range withContent {
		t.Logf("/%s: %d bytes", name, len(contents[name]))
	}
	want := []string{"cwcreds", "cwcreds-credential-process", "etc/group", "etc/passwd", "etc/ssl/certs/ca-certificates.crt"}
	if !slices.Equal(withContent, want) {
		t.Errorf("files with content: %q, want %q", withContent, want)
	}
	for _, bin := range []string{"cwcreds", "cwcreds-credential-process"} {
		h := files[bin]
		if h == nil {
			continue
		}
		if h.Mode&0o777 != 0o755 || h.Uid != 0 {
			t.Errorf("/%s: mode %o owner %d, want 0755 root (not writable by the user running it)", bin, h.Mode&0o777, h.Uid)
		}
		if err := checkStaticELF(contents[bin]); err != nil {
			t.Errorf("/%s: %v", bin, err)
		}
	}
	if n := countCerts(contents["etc/ssl/certs/ca-certificates.crt"]); n < 50 {
		t.Errorf("/etc/ssl/certs/ca-certificates.crt holds %d CA certificates, want a full bundle", n)
	}
	if p := string(contents["etc/passwd"]); !strings.Contains(p, "\nnonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd names no nonroot user 65532:\n%s", p)
	}
	if h := files["tmp"]; h == nil || h.Typeflag != tar.TypeDir || h.Mode&0o1777 != 0o1777 {
		t.Errorf("/tmp: %+v, want a folder with mode 1777", h)
	}
	if h := files["home/nonroot"]; h == nil || h.Typeflag != tar.TypeDir || h.Uid != nonrootID || h.Gid != nonrootID || h.Mode&0o777 != 0o700 {
		t.Errorf("/home/nonroot: %+v, want a folder of 65532:65532, mode 0700", h)
	}
}

func checkStaticELF(b []byte) error {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("not an ELF binary: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			return errors.New("dynamically linked: it needs a libc the image does not have (build with CGO_ENABLED=0)")
		}
	}
	if s := f.Section(".symtab"); s != nil {
		return errors.New("not stripped (build with -ldflags -s -w)")
	}
	return nil
}

func countCerts(bundle []byte) int {
	n := 0
	for {
		var block *pem.Block
		block, bundle = pem.Decode(bundle)
		if block == nil {
			return n
		}
		if _, err := x509.ParseCertificate(block.Bytes); err == nil {
			n++
		}
	}
}

// checkCredentialProcess runs the small binary, which hands a call it cannot
// answer from the cache to /cwcreds beside it.
func checkCredentialProcess(t *testing.T, ctx context.Context, d *dockerd) {
	out := d.mustDocker(t, ctx, "run", "--rm", "--entrypoint", "/cwcreds-credential-process", imageTag, "--help")
	if !strings.Contains(out, "credential_process") {
		t.Errorf("/cwcreds-credential-process --help did not print cwcreds credential-process's help:\n%s", out)
	}
	_, err := d.docker(ctx, "run", "--rm", "--read-only", "--entrypoint", "/cwcreds-credential-process", imageTag)
	if err == nil || !strings.Contains(err.Error(), "no config file at /home/nonroot/.config/cwcreds/config.yaml") {
		t.Errorf("with no config, want the error naming the default config path, got: %v", err)
	}
}

var exportLine = regexp.MustCompile(`(?m)^export ([A-Z0-9_]+)='([^']*)'$`)

// checkServeDev runs serve --dev in the container as a Kubernetes pod with a
// read-only root would (a tmpfs at /tmp, every capability dropped, no new
// privileges), with its ports published on 127.0.0.1 under the same numbers, and
// uses it from the host: /readyz, the export lines, the endpoint's refusals, and
// aws-sdk-go-v2 getting keys from it and using them on the emulated S3.
func checkServeDev(t *testing.T, ctx context.Context, d *dockerd) {
	runDir := filepath.Join(d.dir, "run") // the volume shared with the app, as /var/run/cwcreds in a pod
	if err := os.Mkdir(runDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(runDir, nonrootID, nonrootID); err != nil {
		t.Fatal(err)
	}
	d.mustDocker(t, ctx, "network", "create", testNetwork)
	var api, ops, s3Port, renumbered int
	for attempt := 1; ; attempt++ {
		ports := freePorts(t, 4)
		api, ops, s3Port, renumbered = ports[0], ports[1], ports[2], ports[3]
		args := []string{"run", "--detach", "--name", "cwcreds-dev",
			"--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
			"--network", testNetwork, "--volume", runDir + ":/var/run/cwcreds"}
		for _, p := range ports[:3] {
			// The same number on both sides: the endpoint's Host check wants the port it listens on.
			args = append(args, "--publish", fmt.Sprintf("127.0.0.1:%d:%d", p, p))
		}
		// And the endpoint once more under another number, which it refuses.
		args = append(args, "--publish", fmt.Sprintf("127.0.0.1:%d:%d", renumbered, api))
		args = append(args, imageTag, "serve", "--dev",
			"--listen", fmt.Sprintf("0.0.0.0:%d", api), "--ops-listen", fmt.Sprintf("0.0.0.0:%d", ops),
			"--emulator-s3-listen", fmt.Sprintf("0.0.0.0:%d", s3Port),
			"--auth-token-file", "/var/run/cwcreds/auth-token")
		_, err := d.docker(ctx, args...)
		if err == nil {
			break
		}
		// Another test may take a port between freePorts and docker-proxy's bind.
		if attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			t.Fatal(err)
		}
		_, _ = d.docker(ctx, "rm", "--force", "cwcreds-dev")
	}
	logs := func() (string, string) {
		stdout, stderr, _ := d.run(context.WithoutCancel(ctx), "logs", "cwcreds-dev")
		return stdout, stderr
	}

	exports := waitForExports(t, ctx, d, ops, logs)
	wantURI := fmt.Sprintf("http://127.0.0.1:%d/v1/credentials", api)
	for k, want := range map[string]string{
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     wantURI,
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/var/run/cwcreds/auth-token",
		"AWS_ENDPOINT_URL_S3":                    fmt.Sprintf("http://127.0.0.1:%d", s3Port),
	} {
		if exports[k] != want {
			t.Errorf("serve --dev printed %s=%q, want %q", k, exports[k], want)
		}
	}
	if exports["AWS_REGION"] == "" {
		t.Fatal("serve --dev printed no AWS_REGION")
	}

	// The token file in the shared volume is the container user's, 0600.
	tokenFile := filepath.Join(runDir, "auth-token")
	fi, err := os.Stat(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != nonrootID || fi.Mode().Perm() != 0o600 {
		t.Errorf("auth token file: owner %d mode %o, want %d and 0600", st.Uid, fi.Mode().Perm(), nonrootID)
	}
	token, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}

	// The endpoint's protections hold through the published port.
	for _, c := range []struct {
		name, host, auth string
		want             int
	}{
		{"no token", "", "", http.StatusUnauthorized},
		{"wrong token", "", "wrong-token", http.StatusForbidden},
		{"a rebinding name", fmt.Sprintf("rebind.example:%d", api), string(token), http.StatusMisdirectedRequest},
	} {
		if got, _ := get(t, ctx, wantURI, c.host, c.auth); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	renumberedURI := fmt.Sprintf("http://127.0.0.1:%d/v1/credentials", renumbered)
	if got, body := get(t, ctx, renumberedURI, "", string(token)); got != http.StatusMisdirectedRequest || !strings.Contains(body, "a forwarded port keeps its number") {
		t.Errorf("through a port published under another number: %d %s, want 421 saying the port must keep its number", got, body)
	}

	// A real SDK on the host, configured by the exports (the token file by its
	// host path), gets the keys and uses them.
	home := t.TempDir()
	for k, v := range map[string]string{
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     exports["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile,
		"AWS_ENDPOINT_URL_S3":                    exports["AWS_ENDPOINT_URL_S3"],
		"AWS_REGION":                             exports["AWS_REGION"],
		"AWS_CONFIG_FILE":                        filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":            filepath.Join(home, "credentials"),
		"AWS_ACCESS_KEY_ID":                      "",
		"AWS_SECRET_ACCESS_KEY":                  "",
		"AWS_PROFILE":                            "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
	} {
		t.Setenv(k, v)
	}
	secret := useKeysFromTheHost(t, ctx)

	// docker stop sends SIGTERM to /cwcreds, PID 1: a graceful stop exits 0.
	d.mustDocker(t, ctx, "stop", "--time", "20", "cwcreds-dev")
	if code := strings.TrimSpace(d.mustDocker(t, ctx, "inspect", "--format", "{{.State.ExitCode}}", "cwcreds-dev")); code != "0" {
		_, stderr := logs()
		t.Errorf("serve --dev exited %s after SIGTERM, want 0:\n%s", code, stderr)
	}
	_, stderr := logs()
	for what, v := range map[string]string{"auth token": string(token), "secret access key": secret,
		"API token": exports["CW_API_TOKEN"], "dev password": exports["CWCREDS_DEV_PASSWORD"]} {
		if v != "" && strings.Contains(stderr, v) {
			t.Errorf("the container's log holds the %s", what)
		}
	}
}

// waitForExports waits for /readyz and for the export lines serve --dev prints
// once the first AWS call can succeed.
func waitForExports(t *testing.T, ctx context.Context, d *dockerd, ops int, logs func() (string, string)) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	readyz := fmt.Sprintf("http://127.0.0.1:%d/readyz", ops)
	ready := false
	for {
		if !ready {
			status, _ := get(t, ctx, readyz, "", "")
			ready = status == http.StatusOK
		}
		stdout, stderr := logs()
		if ready && strings.Contains(stdout, "AWS_CONTAINER_CREDENTIALS_FULL_URI") {
			exports := map[string]string{}
			for _, m := range exportLine.FindAllStringSubmatch(stdout, -1) {
				exports[m[1]] = m[2]
			}
			return exports
		}
		state, _ := d.docker(ctx, "inspect", "--format", "{{.State.Status}}", "cwcreds-dev")
		if strings.TrimSpace(state) == "exited" {
			t.Fatalf("serve --dev exited:\n%s", stderr)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no ready /readyz (%v) and export lines within 60s; stdout:\n%s\nstderr:\n%s", ready, stdout, stderr)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// useKeysFromTheHost loads aws-sdk-go-v2's default config from the environment
// and makes a bucket, puts and gets an object; it returns the secret key it used.
func useKeysFromTheHost(t *testing.T, ctx context.Context) string {
	t.Helper()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatalf("the SDK got no keys from the container: %v", err)
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" || !c.CanExpire || c.Expires.Before(time.Now().Add(30*time.Minute)) {
		t.Fatalf("the SDK got key %q (expiring %v at %s), want fresh expiring keys", c.AccessKeyID, c.CanExpire, c.Expires)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	bucket, key, body := "image-test", "from-the-host.txt", "keys from the cwcreds container"
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	got, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil || string(got) != body {
		t.Fatalf("GetObject read %q (%v), want %q", got, err, body)
	}
	return c.SecretAccessKey
}

// get GETs url with an optional Host and Authorization, and returns the status
// (0 if the request failed) and the body.
func get(t *testing.T, ctx context.Context, url, host, auth string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, string(body)
}

// freePorts returns n distinct ports free on 127.0.0.1 just now.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		_, p, _ := net.SplitHostPort(ln.Addr().String())
		port, _ := strconv.Atoi(p)
		ports = append(ports, port)
	}
	for _, ln := range lns {
		_ = ln.Close()
	}
	return ports
}
