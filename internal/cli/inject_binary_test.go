//go:build unix

package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/cwcreds/cwcreds/internal/inject"
	"github.com/cwcreds/cwcreds/internal/inject/injecttest"
)

// TestInjectBinary runs the built `cwcreds inject` as a cluster would: over TLS
// with certificate files, service accounts read through its informer from an API
// server (a stand-in speaking the list/watch protocol), reviews POSTed to
// /mutate, then the certificate files replaced while it runs.
func TestInjectBinary(t *testing.T) {
	bin := buildCwcreds(t)
	t.Run("Webhook", func(t *testing.T) { testInjectWebhook(t, bin) })
	t.Run("InjectedPodLocally", func(t *testing.T) { testInjectedPodLocally(t, bin) })
}

func testInjectWebhook(t *testing.T, bin string) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first := injecttest.WriteCert(t, certFile, keyFile, "cwcreds-inject-first")

	api := newFakeKubeAPI(map[string]map[string]string{"ml/builder": {inject.AnnotationInject: "true"}, "ml/default": nil})
	defer api.Close()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	writeKubeconfig(t, kubeconfig, fmt.Sprintf("apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster: {server: %q}\n"+
		"users:\n- name: u\n  user: {token: not-a-real-token}\ncontexts:\n- name: c\n  context: {cluster: fake, user: u}\ncurrent-context: c\n", api.URL))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "inject", "--listen", "127.0.0.1:0", "--tls-cert-file", certFile, "--tls-key-file", keyFile,
		"--image", "ghcr.io/cwcreds/cwcreds:v9.9.9", "--org-id", "org-abc12345", "--s3-endpoint", "http://cwlota.com", "--region", "US-EAST-04A",
		"--kubeconfig", kubeconfig, "--cert-reload-interval", "100ms")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addrs := make(chan string, 1)
	var logs bytes.Buffer
	var logsMu sync.Mutex
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logsMu.Lock()
			logs.Write(append(sc.Bytes(), '\n'))
			logsMu.Unlock()
			var line struct{ Msg, Listen string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "serving the admission webhook" {
				addrs <- line.Listen
			}
		}
	}()
	stopped := false
	defer func() {
		if !stopped {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	var addr string
	select {
	case addr = <-addrs:
	case <-time.After(time.Minute):
		logsMu.Lock()
		defer logsMu.Unlock()
		t.Fatalf("no listen address logged:\n%s", logs.String())
	}
	base := "https://" + addr

	// Trust only the first certificate: the handshake itself checks it is served.
	client := tlsClient(first)
	waitReady(t, client, base+inject.ReadyzPath)

	// Opted in by its service account only: the informer (or its direct read) answers.
	review := postReview(t, client, base, "../inject/testdata/reviews/opted-in-service-account.json")
	if !review.Response.Allowed || review.Response.PatchType == nil || *review.Response.PatchType != admissionv1.PatchTypeJSONPatch ||
		review.Response.UID != "7c1f2a58-51a5-4d32-9c0a-0d6c2f1b9e02" || !bytes.Contains(review.Response.Patch, []byte(`"name":"cwcreds"`)) {
		t.Fatalf("service-account opt-in not injected: %+v", review.Response)
	}
	if api.listed() == 0 {
		t.Fatal("the service accounts were never listed")
	}
	if review := postReview(t, client, base, "../inject/testdata/reviews/not-opted-in.json"); review.Response.Patch != nil || !review.Response.Allowed {
		t.Fatalf("not opted in: %+v", review.Response)
	}

	// New files: the next handshakes present the new certificate.
	second := injecttest.WriteCert(t, certFile, keyFile, "cwcreds-inject-second")
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err == nil {
			served := conn.ConnectionState().PeerCertificates[0]
			_ = conn.Close()
			if served.Equal(second) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the replaced certificate was not served within 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// And it works end to end with a client that trusts only the new one.
	client = tlsClient(second)
	if review := postReview(t, client, base, "../inject/testdata/reviews/opted-in-pod.json"); review.Response.Patch == nil {
		t.Fatal("no patch after the certificate change")
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-readDone
	err = cmd.Wait()
	stopped = true
	logsMu.Lock()
	defer logsMu.Unlock()
	if err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
	}
	if stdout.Len() != 0 {
		t.Fatalf("stdout: %q", stdout.String())
	}
	if strings.Contains(logs.String(), "not-a-real-token") {
		t.Fatal("the kubeconfig's token reached the logs")
	}
}

func tlsClient(trust *x509.Certificate) *http.Client {
	pool := x509.NewCertPool()
	pool.AddCert(trust)
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true,
	}}
}

func waitReady(t *testing.T, c *http.Client, url string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := c.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within a minute: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func postReview(t *testing.T, c *http.Client, base, file string) *admissionv1.AdmissionReview {
	t.Helper()
	body, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Post(base+inject.MutatePath, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d %s", file, resp.StatusCode, out)
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(out, &review); err != nil || review.Response == nil || review.APIVersion != "admission.k8s.io/v1" || review.Kind != "AdmissionReview" {
		t.Fatalf("%s: not an AdmissionReview v1 response (%v): %s", file, err, out)
	}
	return &review
}

// fakeKubeAPI answers the requests a metadata informer on service accounts
// makes: list, watch (plain, or the watch-list stream with its initial events
// and bookmark), and get.
type fakeKubeAPI struct {
	*httptest.Server
	accounts map[string]map[string]string // "ns/name" → annotations
	mu       sync.Mutex
	lists    int
}

func newFakeKubeAPI(accounts map[string]map[string]string) *fakeKubeAPI {
	f := &fakeKubeAPI{accounts: accounts}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

func (f *fakeKubeAPI) listed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists
}

func (f *fakeKubeAPI) object(key string) map[string]any {
	ns, name, _ := strings.Cut(key, "/")
	meta := map[string]any{"namespace": ns, "name": name, "uid": "uid-" + name, "resourceVersion": "10"}
	if a := f.accounts[key]; a != nil {
		meta["annotations"] = a
	}
	return map[string]any{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta}
}

func (f *fakeKubeAPI) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	q := r.URL.Query()
	switch {
	case r.URL.Path == "/api/v1/serviceaccounts" && q.Get("watch") == "true":
		flusher := w.(http.Flusher)
		enc := json.NewEncoder(w)
		if q.Get("sendInitialEvents") == "true" {
			for key := range f.accounts {
				_ = enc.Encode(map[string]any{"type": "ADDED", "object": f.object(key)})
			}
			_ = enc.Encode(map[string]any{"type": "BOOKMARK", "object": map[string]any{"apiVersion": "v1", "kind": "ServiceAccount",
				"metadata": map[string]any{"resourceVersion": "10", "annotations": map[string]string{"k8s.io/initial-events-end": "true"}}}})
			f.mu.Lock()
			f.lists++
			f.mu.Unlock()
		}
		flusher.Flush()
		<-r.Context().Done() // nothing changes; the client ends the watch
	case r.URL.Path == "/api/v1/serviceaccounts":
		f.mu.Lock()
		f.lists++
		f.mu.Unlock()
		var items []any
		for key := range f.accounts {
			items = append(items, f.object(key))
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadataList",
			"metadata": map[string]any{"resourceVersion": "10"}, "items": items})
	case strings.HasPrefix(r.URL.Path, "/api/v1/namespaces/"):
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/api/v1/namespaces/"), "/")
		if len(parts) == 3 && parts[1] == "serviceaccounts" {
			if _, ok := f.accounts[parts[0]+"/"+parts[2]]; ok {
				_ = json.NewEncoder(w).Encode(f.object(parts[0] + "/" + parts[2]))
				return
			}
		}
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"apiVersion":"v1","kind":"Status","status":"Failure","reason":"NotFound","code":404,"message":"not found"}`)
	default:
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"apiVersion":"v1","kind":"Status","status":"Failure","reason":"NotFound","code":404,"message":"not found"}`)
	}
}

func writeKubeconfig(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// testInjectedPodLocally plays an injected pod on this machine, as the kubelet
// would run it: the patch of a real review against the emulator's settings, the
// init container's args, then the sidecar's args and env (paths moved under a
// temporary folder, ports chosen free), its startup probe, and botocore with
// the app container's env gets keys from the sidecar, reads the virtual
// addressing from the AWS config file and makes S3 calls.
func testInjectedPodLocally(t *testing.T, bin string) {
	w := newWorld(t)
	cfg := inject.Config{Image: "ghcr.io/cwcreds/cwcreds:v9.9.9", OrgID: w.emu.OrgID(), APIEndpoint: w.emu.APIURL(),
		S3Endpoint: w.emu.S3URL(), Region: w.emu.Region()}.WithDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile("../inject/testdata/reviews/opted-in-pod.json")
	if err != nil {
		t.Fatal(err)
	}
	review, err := inject.DecodeReview(body)
	if err != nil {
		t.Fatal(err)
	}
	res, err := inject.Mutate(context.Background(), cfg, review.Request, nil)
	if err != nil || res.Response.Patch == nil {
		t.Fatalf("%v %v", res.Outcome, err)
	}
	patch, err := jsonpatch.DecodePatch(res.Response.Patch)
	if err != nil {
		t.Fatal(err)
	}
	patched, err := patch.Apply(review.Request.Object.Raw)
	if err != nil {
		t.Fatal(err)
	}
	var pod corev1.Pod
	if err := json.Unmarshal(patched, &pod); err != nil {
		t.Fatal(err)
	}
	initC, sidecar, app := pod.Spec.InitContainers[0], pod.Spec.InitContainers[1], pod.Spec.Containers[0]

	// The pod's volumes, as folders.
	runDir, saDir := filepath.Join(w.dir, "run"), filepath.Join(w.dir, "sa")
	for _, d := range []string{runDir, saDir} {
		if err := os.Mkdir(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := os.ReadFile(w.tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	writeKubeconfig(t, filepath.Join(saDir, inject.TokenFileName), string(tok))
	moved := strings.NewReplacer(inject.RunMountPath, runDir, inject.TokenMountPath, saDir)
	move := func(args []string) []string {
		out := make([]string, len(args))
		for i, a := range args {
			out[i] = moved.Replace(a)
		}
		return out
	}
	envOf := func(c corev1.Container) []string {
		env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + w.dir}
		for _, e := range c.Env {
			env = append(env, e.Name+"="+moved.Replace(e.Value))
		}
		return env
	}

	w.mustRun(envOf(initC), append([]string{bin}, move(initC.Args)...)...)

	// The sidecar, on free ports instead of 9911/9912 (this machine is shared).
	args := move(sidecar.Args)
	args[slices.Index(args, "--listen")+1] = "127.0.0.1:0"
	args[slices.Index(args, "--ops-listen")+1] = "127.0.0.1:0"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = envOf(sidecar)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	type listening struct {
		OpsListen string `json:"ops_listen"`
		URI       string `json:"AWS_CONTAINER_CREDENTIALS_FULL_URI"`
	}
	found := make(chan listening, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var l listening
			if json.Unmarshal(sc.Bytes(), &l) == nil && l.URI != "" {
				found <- l
			}
		}
	}()
	var l listening
	select {
	case l = <-found:
	case <-time.After(time.Minute):
		t.Fatal("the sidecar did not say where it listens")
	}
	// Its startup probe, as the kubelet runs it.
	waitReady(t, http.DefaultClient, "http://"+l.OpsListen+sidecar.StartupProbe.HTTPGet.Path)

	// The app: botocore with nothing but the injected env (the endpoint moved to
	// the sidecar's port).
	appEnv := envOf(app)
	for i, kv := range appEnv {
		if strings.HasPrefix(kv, inject.EnvCredentialsFullURI+"=") {
			appEnv[i] = inject.EnvCredentialsFullURI + "=" + l.URI
		}
	}
	r := w.mustRun(appEnv, "python3", "-c", botoInjected)
	var got struct {
		Method, Region, Body string
		S3                   map[string]any
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("%v: %s %s", err, r.stdout, r.stderr)
	}
	if got.Method != "container-role" || got.Region != w.emu.Region() || got.S3["addressing_style"] != "virtual" || got.Body != "hello from an injected pod" {
		t.Fatalf("botocore in the injected pod: %+v", got)
	}
}

// botoInjected is an app that knows nothing of cwcreds: default session, S3
// round trip; it prints how it got its keys and what it read from the config.
const botoInjected = `
import json, botocore.session
s = botocore.session.get_session()
creds = s.get_credentials()
c = s.create_client("s3")
c.create_bucket(Bucket="injected")
c.put_object(Bucket="injected", Key="k", Body=b"hello from an injected pod")
body = c.get_object(Bucket="injected", Key="k")["Body"].read().decode()
print(json.dumps({"method": creds.method, "region": s.get_config_variable("region"),
                  "s3": s.get_scoped_config().get("s3", {}), "body": body}))
`
