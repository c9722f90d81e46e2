package s3emu

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"encoding/xml"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

const (
	testRegion  = "US-EAST-04A"
	testDomain  = "s3.localhost"
	testKeyID   = "CWAAAAAAAAAAAAAA"
	testSecret  = "cwosecretsecretsecretsecretsecretsecretsecre"
	testOwner   = "coreweave/user-1"
	emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// fakeKeys is a hand-written KeyResolver and PrincipalResolver.
type fakeKeys struct {
	mu   sync.Mutex
	keys map[string]fakeKey
}

type fakeKey struct {
	secret    string
	state     KeyState
	principal string
}

func newFakeKeys() *fakeKeys {
	return &fakeKeys{keys: map[string]fakeKey{testKeyID: {testSecret, KeyValid, testOwner}}}
}

func (f *fakeKeys) set(id, secret string, st KeyState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[id] = fakeKey{secret: secret, state: st, principal: "coreweave/" + strings.ToLower(id)}
}

func (f *fakeKeys) ResolveKey(id string) (string, KeyState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, ok := f.keys[id]
	if !ok {
		return "", KeyUnknown
	}
	return k.secret, k.state
}

func (f *fakeKeys) PrincipalOf(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.keys[id].principal
}

// harness is a Server behind an httptest server, with everything it logged.
type harness struct {
	srv   *Server
	http  *httptest.Server
	keys  *fakeKeys
	clock *clockwork.FakeClock
	logs  *observer.ObservedLogs
	// caPEM is the certificate a TLS harness serves (nil for plain HTTP).
	caPEM []byte

	seenMu sync.Mutex
	seen   []seenRequest
}

// seenRequest is what the harness noted about a request on its way in.
type seenRequest struct {
	method, host, path, payloadHash, contentEncoding, checksumMode string
}

// sawAny reports whether some request matched.
func (h *harness) sawAny(match func(seenRequest) bool) bool {
	h.seenMu.Lock()
	defer h.seenMu.Unlock()
	return slices.ContainsFunc(h.seen, match)
}

type harnessOpt func(*Config)

func newHarness(t *testing.T, useTLS bool, opts ...harnessOpt) *harness {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	h := &harness{keys: newFakeKeys(), clock: clockwork.NewFakeClockAt(time.Now()), logs: logs}
	cfg := Config{Keys: h.keys, Clock: h.clock, Region: testRegion, Domains: []string{"localhost", testDomain},
		Logger: zap.New(core)}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.http = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.seenMu.Lock()
		h.seen = append(h.seen, seenRequest{method: r.Method, host: r.Host, path: r.URL.Path,
			payloadHash: r.Header.Get("X-Amz-Content-Sha256"), contentEncoding: r.Header.Get("Content-Encoding"),
			checksumMode: r.Header.Get("X-Amz-Checksum-Mode")})
		h.seenMu.Unlock()
		srv.ServeHTTP(w, r)
	}))
	h.http.Listener.Close()
	h.http.Listener = ln
	if useTLS {
		cert, caPEM := selfSignedCert(t)
		h.http.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		h.caPEM = caPEM
		h.http.StartTLS()
	} else {
		h.http.Start()
	}
	t.Cleanup(h.http.Close)
	t.Cleanup(func() { h.assertNoSecretsLogged(t) })
	return h
}

// addr is the server's 127.0.0.1:port.
func (h *harness) addr() string { return h.http.Listener.Addr().String() }

func (h *harness) scheme() string {
	if h.caPEM != nil {
		return "https"
	}
	return "http"
}

// pathURL is the endpoint for path-style clients; virtualURL the one for
// virtual-host clients (its host name resolves only through httpClient).
func (h *harness) pathURL() string { return h.scheme() + "://" + h.addr() }
func (h *harness) virtualURL() string {
	_, port, _ := net.SplitHostPort(h.addr())
	return h.scheme() + "://" + testDomain + ":" + port
}

// httpClient dials the test server whatever host a request names, so virtual-host
// names need no DNS, and trusts the harness certificate.
func (h *harness) httpClient() *http.Client {
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, h.addr())
		},
	}
	if h.caPEM != nil {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(h.caPEM)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// s3Client is an aws-sdk-go-v2 S3 client for the harness.
func (h *harness) s3Client(keyID, secret string, pathStyle bool) *s3.Client {
	endpoint := h.virtualURL()
	if pathStyle {
		endpoint = h.pathURL()
	}
	cfg := aws.Config{
		Region:      testRegion,
		Credentials: credentials.NewStaticCredentialsProvider(keyID, secret, ""),
		HTTPClient:  h.httpClient(),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
		// config.LoadDefaultConfig's defaults; a bare aws.Config leaves them unset,
		// which turns the SDK's checksums off.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	}
	return s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = pathStyle
	})
}

// assertNoSecretsLogged fails if any log entry mentions a secret.
func (h *harness) assertNoSecretsLogged(t *testing.T) {
	t.Helper()
	h.keys.mu.Lock()
	var secrets []string
	for _, k := range h.keys.keys {
		secrets = append(secrets, k.secret)
	}
	h.keys.mu.Unlock()
	for _, e := range h.logs.All() {
		line := e.Message
		for k, v := range e.ContextMap() {
			line += " " + k + "=" + toString(v)
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(line, s) {
				t.Errorf("a log entry contains a secret key: %q", e.Message)
			}
		}
		if strings.Contains(line, "Signature=") {
			t.Errorf("a log entry contains a signature: %q", e.Message)
		}
	}
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}

// rawRequest builds a request for the harness, signed at `at` with the given key
// unless secret is empty. mutate runs before signing, after it runs afterSign.
func (h *harness) rawRequest(t *testing.T, method, path string, body []byte, keyID, secret string, at time.Time,
	mutate, afterSign func(*http.Request)) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, h.pathURL()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	if mutate != nil {
		mutate(req)
	}
	if secret != "" {
		signer := v4.NewSigner()
		creds := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}
		if err := signer.SignHTTP(context.Background(), creds, req, req.Header.Get("X-Amz-Content-Sha256"), "s3", testRegion, at,
			func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
			t.Fatal(err)
		}
	}
	if afterSign != nil {
		afterSign(req)
	}
	return req
}

// s3Reply is a response with its S3 error body, if any.
type s3Reply struct {
	status int
	header http.Header
	body   string
	err    xmlError
}

func (h *harness) do(t *testing.T, req *http.Request) s3Reply {
	t.Helper()
	resp, err := h.httpClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	rep := s3Reply{status: resp.StatusCode, header: resp.Header, body: string(b)}
	if resp.StatusCode >= 300 && len(b) > 0 {
		if ct := resp.Header.Get("Content-Type"); ct != "application/xml" {
			t.Errorf("error Content-Type = %q, want application/xml", ct)
		}
		if err := xml.Unmarshal(b, &rep.err); err != nil {
			t.Fatalf("error body is not S3 XML: %v\n%s", err, b)
		}
	}
	return rep
}

// selfSignedCert makes a certificate for 127.0.0.1, s3.localhost and its
// subdomains, so TLS works both path and virtual-host style.
func selfSignedCert(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "s3emu test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{testDomain, "*." + testDomain},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return cert, certPEM
}
