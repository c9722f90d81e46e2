package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

func TestRealListenerServesExactBytes(t *testing.T) {
	c := sampleCreds(time.Date(2026, 3, 1, 13, 0, 0, 0, time.UTC))
	f := newFixture(t, 0, map[string]Provider{"default": &staticProvider{c: c}})
	addr, _ := serveReal(t, ListenConfig{}, f.s.Handler)
	out := rawRequest(t, addr.String(), "GET /v1/credentials HTTP/1.1\r\nHost: "+addr.String()+"\r\nAccept: application/json\r\nAuthorization: "+testToken+"\r\nConnection: close\r\n\r\n", 5*time.Second)
	head, body, ok := strings.Cut(out, "\r\n\r\n")
	if !ok || !strings.HasPrefix(head, "HTTP/1.1 200 OK\r\n") {
		t.Fatalf("response %q", out)
	}
	want := `{"AccessKeyId":"CWKEYID0001","SecretAccessKey":"` + secretMarker + `-1","Token":"` + sessionMarker + `-1","Expiration":"2026-03-01T13:00:00Z"}`
	for _, h := range []string{"\r\nContent-Type: application/json\r\n", "\r\nCache-Control: no-store\r\n", "\r\nContent-Length: " + strconv.Itoa(len(want)) + "\r\n"} {
		if !strings.Contains(head+"\r\n", h) {
			t.Errorf("headers lack %q:\n%s", h, head)
		}
	}
	if body != want {
		t.Errorf("body\n got %s\nwant %s", body, want)
	}
}

func TestOversizedHeadersGet431(t *testing.T) {
	f := newFixture(t, 0, map[string]Provider{"default": &staticProvider{c: sampleCreds(epoch.Add(time.Hour))}})
	addr, _ := serveReal(t, ListenConfig{MaxHeaderBytes: 1024, Logger: f.log}, f.s.Handler)
	big := strings.Repeat("a", 16<<10)
	out := rawRequest(t, addr.String(), "GET /v1/credentials HTTP/1.1\r\nHost: "+addr.String()+"\r\nX-Big: "+big+"\r\nAuthorization: "+testToken+"\r\n\r\n", 5*time.Second)
	if !strings.HasPrefix(out, "HTTP/1.1 431 ") {
		t.Errorf("oversized headers: %.80q", out)
	}
}

func TestSlowClientIsCut(t *testing.T) {
	f := newFixture(t, 0, map[string]Provider{"default": &staticProvider{c: sampleCreds(epoch.Add(time.Hour))}})
	addr, _ := serveReal(t, ListenConfig{ReadHeaderTimeout: 50 * time.Millisecond, Logger: f.log}, f.s.Handler)
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Half a request, then nothing: the server must hang up on its own. The 10 s
	// deadline only keeps a broken server from hanging the test.
	if _, err := io.WriteString(c, "GET /v1/credentials HTTP/1.1\r\nHost: "+addr.String()+"\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept a connection that never finished its headers")
	}
	if strings.Contains(string(out), "200 OK") {
		t.Errorf("a half request was answered: %q", out)
	}
}

func TestListenRefusesHostlessAddress(t *testing.T) {
	for _, addr := range []string{":9911", "9911", "unix:", "nohost"} {
		if ln, err := Listen(context.Background(), ListenConfig{Addr: addr}); err == nil {
			ln.Close()
			t.Errorf("Listen(%q) accepted", addr)
		}
	}
}

func TestIPv6Loopback(t *testing.T) {
	ln, err := Listen(context.Background(), ListenConfig{Addr: "[::1]:0"})
	if err != nil {
		t.Logf("no IPv6 loopback here: %v", err)
		return
	}
	ln.Close()
	f := newFixture(t, 0, map[string]Provider{"default": &staticProvider{c: sampleCreds(epoch.Add(time.Hour))}})
	addr, _ := serveReal(t, ListenConfig{Addr: "[::1]:0"}, f.s.Handler)
	req, _ := http.NewRequest(http.MethodGet, EndpointURL(addr, ""), nil)
	req.Header.Set("Authorization", testToken)
	resp, err := testClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %d", EndpointURL(addr, ""), resp.StatusCode)
	}
}

func TestEndpointURL(t *testing.T) {
	for addr, want := range map[net.Addr]string{
		&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9911}: "http://127.0.0.1:9911/v1/credentials/p",
		&net.TCPAddr{IP: net.IPv6loopback, Port: 9911}:       "http://[::1]:9911/v1/credentials/p",
		&net.TCPAddr{IP: net.IPv4zero, Port: 1}:              "http://127.0.0.1:1/v1/credentials/p",
		&net.TCPAddr{IP: net.IPv6unspecified, Port: 1}:       "http://127.0.0.1:1/v1/credentials/p",
		&net.UnixAddr{Name: "/x", Net: "unix"}:               "",
	} {
		if got := EndpointURL(addr, "p"); got != want {
			t.Errorf("EndpointURL(%s) = %q, want %q", addr, got, want)
		}
	}
	if got := EndpointURL(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}, ""); got != "http://127.0.0.1:1/v1/credentials" {
		t.Errorf("default profile URL %q", got)
	}
}

// A "0.0.0.0" bind is reported as [::] by Go; the URL must still be the IPv4
// loopback one, the only one a port published on 127.0.0.1 forwards.
func TestEndpointURLOfWildcardListener(t *testing.T) {
	ln, err := Listen(t.Context(), ListenConfig{Addr: "0.0.0.0:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	if got, want := EndpointURL(ln.Addr(), ""), "http://127.0.0.1:"+port+CredentialsPath; got != want {
		t.Errorf("listening on 0.0.0.0:0 (reported %s): EndpointURL = %q, want %q", ln.Addr(), got, want)
	}
}

func unixClient(path string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
}

func TestUnixSocket(t *testing.T) {
	// Unix socket paths are limited to ~100 bytes; t.TempDir can be longer.
	dir, err := os.MkdirTemp("", "cws")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "creds.sock")

	// A stale socket from a dead process is replaced.
	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()

	f := newFixture(t, 0, map[string]Provider{"default": &staticProvider{c: sampleCreds(epoch.Add(time.Hour))}})
	_, stop := serveReal(t, ListenConfig{Addr: UnixPrefix + path}, f.s.Handler)
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %v mode %v", err, fi.Mode())
	}
	req, _ := http.NewRequest(http.MethodGet, "http://localhost"+CredentialsPath, nil)
	req.Header.Set("Authorization", testToken)
	resp, err := unixClient(path).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "CWKEYID0001") {
		t.Fatalf("over the socket: %d %s", resp.StatusCode, body)
	}

	// A live socket is not taken over.
	if ln, err := Listen(context.Background(), ListenConfig{Addr: UnixPrefix + path}); err == nil {
		ln.Close()
		t.Error("a second listener took over a live socket")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the socket file outlived the server: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".cw*")); len(left) != 0 {
		t.Errorf("temporary sockets left: %v", left)
	}

	// Any other file at the path is left alone.
	if err := os.WriteFile(path, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ln, err := Listen(context.Background(), ListenConfig{Addr: UnixPrefix + path}); err == nil {
		ln.Close()
		t.Error("a regular file was replaced by a socket")
	}
}

func TestGracefulShutdownWaitsForInFlight(t *testing.T) {
	p := newBlockingProvider(sampleCreds(epoch.Add(time.Hour)))
	f := newFixture(t, time.Minute, map[string]Provider{"default": p})
	addr, stop := serveReal(t, ListenConfig{ShutdownTimeout: time.Minute}, f.s.Handler)

	type result struct {
		status int
		err    error
	}
	got := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr.String()+CredentialsPath, nil)
		req.Header.Set("Authorization", testToken)
		resp, err := testClient().Do(req)
		if err != nil {
			got <- result{err: err}
			return
		}
		resp.Body.Close()
		got <- result{status: resp.StatusCode}
	}()
	<-p.entered // the request is in the handler

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	// Wait until the listener is closed: shutdown has begun.
	for {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			break
		}
		c.Close()
		select {
		case err := <-stopped:
			t.Fatalf("Serve returned with a request in flight: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	select {
	case err := <-stopped:
		t.Fatalf("Serve returned with a request in flight: %v", err)
	default:
	}
	close(p.release)
	if r := <-got; r.err != nil || r.status != http.StatusOK {
		t.Fatalf("in-flight request: %d %v", r.status, r.err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("graceful shutdown: %v", err)
	}
}

func TestShutdownDeadlineClosesStuckRequests(t *testing.T) {
	p := newBlockingProvider(sampleCreds(epoch.Add(time.Hour)))
	t.Cleanup(func() { close(p.release) })
	f := newFixture(t, time.Minute, map[string]Provider{"default": p})
	addr, stop := serveReal(t, ListenConfig{ShutdownTimeout: 20 * time.Millisecond}, f.s.Handler)
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr.String()+CredentialsPath, nil)
		req.Header.Set("Authorization", testToken)
		resp, err := testClient().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-p.entered
	if err := stop(); err == nil || !strings.Contains(err.Error(), "shutdown deadline") {
		t.Errorf("stop with a stuck request: %v", err)
	}
	if err := <-errc; err == nil {
		t.Error("the stuck request got an answer")
	}
}

// gatedListener hands out TCP connections whose Reads wait until open is
// closed, so the server has not read what a client sent when a test begins the
// shutdown. Embedding *net.TCPConn keeps SyscallConn, which pendingInput uses.
type gatedListener struct {
	net.Listener
	accepted chan struct{}
	open     chan struct{}
	openOnce *sync.Once
}

// release lets the server read its connections.
func (l gatedListener) release() { l.openOnce.Do(func() { close(l.open) }) }

type gatedConn struct {
	*net.TCPConn
	open chan struct{}
}

func (l gatedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.accepted <- struct{}{}
	return &gatedConn{TCPConn: c.(*net.TCPConn), open: l.open}, nil
}

func (c *gatedConn) Read(b []byte) (int, error) {
	<-c.open
	return c.TCPConn.Read(b)
}

// serveGated serves the fixture on a gated 127.0.0.1:0 listener behind a
// connLimiter on cfg.Clock (which must be set); stop begins the shutdown and returns Serve's result.
func serveGated(t *testing.T, f *fixture, cfg ListenConfig) (gatedListener, func() <-chan error) {
	t.Helper()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gl := gatedListener{Listener: tcp, accepted: make(chan struct{}, 4), open: make(chan struct{}), openOnce: new(sync.Once)}
	ln := newConnLimiter(gl, DefaultMaxConns, cfg.Clock, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, f.s.Handler(ln.Addr()), cfg) }()
	t.Cleanup(func() {
		gl.release()
		cancel()
	})
	return gl, func() <-chan error { cancel(); return done }
}

// net/http's Shutdown alone drops a connection whose request it has not read
// yet, even one the client sent before the shutdown began. Serve answers it.
func TestShutdownAnswersRequestsSentBeforeIt(t *testing.T) {
	f := newFixture(t, 0, map[string]Provider{"default": &staticProvider{c: sampleCreds(epoch.Add(time.Hour))}})
	gl, stop := serveGated(t, f, ListenConfig{ShutdownTimeout: 3 * time.Second, Clock: clockwork.NewRealClock()})
	c, err := net.Dial("tcp", gl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET "+CredentialsPath+" HTTP/1.1\r\nHost: "+gl.Addr().String()+"\r\nAuthorization: "+testToken+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	<-gl.accepted
	stopped := stop()
	// The listener refuses connections: the shutdown has begun, with the request
	// unread.
	for {
		probe, err := net.Dial("tcp", gl.Addr().String())
		if err != nil {
			break
		}
		probe.Close()
		time.Sleep(time.Millisecond)
	}
	gl.release()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("the request sent before the shutdown got no answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d, want 200", resp.StatusCode)
	}
	if err := <-stopped; err != nil {
		t.Errorf("graceful shutdown: %v", err)
	}
}

// A connection that has sent nothing does not hold the shutdown up: net/http
// alone would wait for it until its header timeout (here past the 3 s shutdown
// deadline), and a wait for it on a clock that never moves would last until
// that deadline.
func TestShutdownDoesNotWaitForSilentConnections(t *testing.T) {
	f := newFixture(t, 0, map[string]Provider{"default": &staticProvider{c: sampleCreds(epoch.Add(time.Hour))}})
	gl, stop := serveGated(t, f, ListenConfig{ReadHeaderTimeout: time.Minute, ShutdownTimeout: 3 * time.Second, Clock: clockwork.NewFakeClock()})
	c, err := net.Dial("tcp", gl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-gl.accepted
	gl.release() // the server blocks in the connection's real Read
	select {
	case err := <-stop():
		if err != nil {
			t.Errorf("graceful shutdown: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the shutdown waited for a connection that sent nothing")
	}
}
