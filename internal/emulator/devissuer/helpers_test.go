package devissuer

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/jonboulle/clockwork"
)

// testPrefix is where the tests mount the issuer on a larger mux, as the emulator does.
const testPrefix = "/dev-oidc"

var testStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type testEnv struct {
	iss   *Issuer
	srv   *httptest.Server
	clock *clockwork.FakeClock
}

// startIssuer serves a new Issuer at <127.0.0.1 server>/dev-oidc next to an
// unrelated route, with a fake clock. key may be nil.
func startIssuer(t *testing.T, key crypto.Signer) *testEnv {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	clock := clockwork.NewFakeClockAt(testStart)
	iss, err := New(Config{IssuerURL: "http://" + ln.Addr().String() + testPrefix, Clock: clock, Key: key})
	if err != nil {
		ln.Close()
		t.Fatalf("New: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle(testPrefix+"/", iss.Handler())
	mux.HandleFunc("/v1/other", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return &testEnv{iss: iss, srv: srv, clock: clock}
}

// verifier discovers the issuer with go-oidc and returns a verifier for audience
// that reads time from the fake clock.
func (e *testEnv) verifier(t *testing.T, audience string) *oidc.IDTokenVerifier {
	t.Helper()
	ctx := oidc.ClientContext(context.Background(), e.srv.Client())
	p, err := oidc.NewProvider(ctx, e.iss.URL())
	if err != nil {
		t.Fatalf("oidc.NewProvider: %v", err)
	}
	return p.VerifierContext(ctx, &oidc.Config{ClientID: audience, Now: e.clock.Now})
}

func (e *testEnv) mint(t *testing.T, o MintOptions) string {
	t.Helper()
	tok, err := e.iss.Mint(o)
	if err != nil {
		t.Fatalf("Mint: %v", err)
	}
	return tok
}

// do sends a request to the test server and returns status, headers and body.
func (e *testEnv) do(t *testing.T, method, path, contentType string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp.StatusCode, resp.Header, b
}

// decodeError checks that body is an OAuth-style JSON error and returns it.
func decodeError(t *testing.T, hdr http.Header, body []byte) errorBody {
	t.Helper()
	if ct := hdr.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %q is not json: %v", body, err)
	}
	if e.Error == "" || e.Description == "" {
		t.Errorf("error body %q lacks error or error_description", body)
	}
	return e
}
