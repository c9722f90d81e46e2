package exchange

import (
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
	"os"
	"sync"
	"testing"
	"time"
)

// tlsConfig is a CA made for the test and a server certificate it signed for the
// given host names.
type tlsConfig struct {
	caPEM []byte
	cert  tls.Certificate
}

func newTLSConfig(t *testing.T, hosts ...string) *tlsConfig {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cwcreds test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: hosts[0]}, DNSNames: hosts,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return &tlsConfig{
		caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		cert:  tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
	}
}

// server is the TLS config for a server; nil (plain HTTP) on a nil receiver.
func (c *tlsConfig) server() *tls.Config {
	if c == nil {
		return nil
	}
	return &tls.Config{Certificates: []tls.Certificate{c.cert}, MinVersion: tls.VersionTLS12}
}

// bundle writes the CA as a PEM file and returns its path.
func (c *tlsConfig) bundle(t *testing.T) string {
	path := tempPath(t, "ca.pem")
	if err := os.WriteFile(path, c.caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// serveTLS serves h with TLS on 127.0.0.1:0 and returns the real address.
func serveTLS(t *testing.T, h http.Handler, c *tlsConfig) string {
	t.Helper()
	ln := tls.NewListener(listen(t), c.server())
	// Handshake failures are expected in tests of untrusted CAs: do not log them.
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// namedListener reports a made-up address, so that a server which builds its URLs
// from its listener (mockoidc) names itself with a host that only the proxy knows.
type namedListener struct {
	net.Listener
	name string
}

func (l namedListener) Addr() net.Addr { return namedAddr(l.name) }

type namedAddr string

func (a namedAddr) Network() string { return "tcp" }
func (a namedAddr) String() string  { return string(a) }

// connectProxy is an HTTP CONNECT proxy on 127.0.0.1 that sends each tunnel to the
// address its table gives for the requested host:port, and records the requests.
type connectProxy struct {
	url    string
	routes map[string]string

	mu       sync.Mutex
	connects []string
}

func newConnectProxy(t *testing.T) *connectProxy {
	t.Helper()
	p := &connectProxy{routes: map[string]string{}}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	ln := listen(t)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	p.url = "http://" + ln.Addr().String()
	return p
}

func (p *connectProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.connects = append(p.connects, r.Method+" "+r.Host)
	target, ok := p.routes[r.Host]
	p.mu.Unlock()
	if r.Method != http.MethodConnect || !ok {
		http.Error(w, "this test proxy only tunnels known hosts", http.StatusForbidden)
		return
	}
	upstream, err := net.Dial("tcp", target)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	go pipe(upstream, buf.Reader, conn)
	go pipe(conn, upstream, upstream)
}

func pipe(dst io.WriteCloser, src io.Reader, other io.Closer) {
	_, _ = io.Copy(dst, src)
	dst.Close()
	other.Close()
}

// route sends tunnels for hostport to addr.
func (p *connectProxy) route(hostport, addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.routes[hostport] = addr
}

func (p *connectProxy) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.connects...)
}
