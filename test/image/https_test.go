package image_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// httpsAPI stands in for the CoreWeave API on https: it counts the requests that
// got through the TLS handshake and refuses each with 401.
type httpsAPI struct {
	srv      *httptest.Server
	requests atomic.Int64
}

// newHTTPSAPI serves with httptest's certificate (trusted: the test adds it to
// the image's bundle) or with a self-signed one nobody trusts.
func newHTTPSAPI(t *testing.T, trusted bool) *httpsAPI {
	t.Helper()
	a := &httpsAPI{}
	a.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		a.requests.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"code":16,"message":"the test's stand-in refuses every token"}`))
	}))
	a.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	if !trusted {
		a.srv.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	}
	a.srv.StartTLS()
	t.Cleanup(a.srv.Close)
	return a
}

// selfSigned is a certificate for 127.0.0.1 signed by nobody the image trusts.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "untrusted.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// bundleWith writes the machine's CA bundle plus cert to a file for
// scripts/image-rootfs's CA_BUNDLE.
func bundleWith(t *testing.T, cert *x509.Certificate) string {
	t.Helper()
	system, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Fatalf("the machine's CA bundle: %v (install ca-certificates)", err)
	}
	path := filepath.Join(t.TempDir(), "ca-certificates.crt")
	b := append(system, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})...)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkHTTPS has cwcreds in the container call each stand-in (credential-process
// with an API token: one POST to the API): the one the bundle trusts gets the
// request, the other only a refused handshake. So the binary's TLS reads the
// image's /etc/ssl/certs/ca-certificates.crt, as it will for api.coreweave.com.
func checkHTTPS(t *testing.T, ctx context.Context, d *dockerd, trusted, untrusted *httpsAPI) {
	const apiToken = "CW-SECRET-imagetest0123456789"
	envFile := filepath.Join(t.TempDir(), "env") // keeps the token off the command line the errors quote
	if err := os.WriteFile(envFile, []byte("CW_API_TOKEN="+apiToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	call := func(api *httpsAPI) error {
		// Host network: the stand-ins listen on the host's 127.0.0.1.
		_, err := d.docker(ctx, "run", "--rm", "--network", "host", "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
			"--env-file", envFile, "--env", "CWCREDS_API_ENDPOINT="+api.srv.URL, imageTag, "credential-process")
		if err != nil && strings.Contains(err.Error(), apiToken) {
			t.Errorf("cwcreds printed the API token")
		}
		return err
	}
	err := call(trusted)
	if trusted.requests.Load() == 0 {
		t.Fatalf("the API whose certificate the image's bundle holds got no request: %v", err)
	}
	if err == nil || !strings.Contains(err.Error(), "HTTP 401") || strings.Contains(err.Error(), "x509") {
		t.Errorf("want the API's 401 in the error, not a TLS failure: %v", err)
	}
	err = call(untrusted)
	if n := untrusted.requests.Load(); n != 0 {
		t.Errorf("the API with an untrusted certificate got %d requests", n)
	}
	if err == nil || !strings.Contains(err.Error(), "x509: certificate signed by unknown authority") {
		t.Errorf("want a certificate error from the untrusted API, got: %v", err)
	}
}
