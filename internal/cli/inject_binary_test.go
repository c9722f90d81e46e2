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
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/cwcreds/cwcreds/internal/inject"
	"github.com/cwcreds/cwcreds/internal/inject/injecttest"
)

// TestInjectBinary runs the built `cwcreds inject` as a cluster would: over TLS
// with certificate files, service accounts read through its informer from an API
// server (a stand-in speaking the list/watch protocol), reviews POSTed to
// /mutate, then the certificate files replaced while it runs.
func TestInjectBinary(t *testing.T) {
	bin := buildCwcreds(t)
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
