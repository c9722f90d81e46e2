package exchange

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauth2-proxy/mockoidc"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/oauth2"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// idp is a real OIDC provider (oauth2-proxy/mockoidc) whose token endpoint rotates
// refresh tokens: each refresh answers with a new one and the old one stops working,
// as issuers with rotation do.
type idp struct {
	m *mockoidc.MockOIDC

	mu       sync.Mutex
	aliases  map[string]string // rotated refresh token → mockoidc's own
	last     string            // the refresh token handed out last
	refreshs int
}

// startIdP serves mockoidc on ln (with TLS when tlsConf is set).
func startIdP(t *testing.T, ln net.Listener, tlsConf *tlsConfig) *idp {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &idp{m: m, aliases: map[string]string{}}
	if err := m.AddMiddleware(p.rotate); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, tlsConf.server()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return p
}

func (p *idp) rotate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != mockoidc.TokenEndpoint {
			next.ServeHTTP(w, r)
			return
		}
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		if r.PostForm.Get("grant_type") == "refresh_token" {
			p.refreshs++
			alias := r.PostForm.Get("refresh_token")
			orig, ok := p.aliases[alias]
			delete(p.aliases, alias) // used once
			if !ok {
				p.mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"refresh token reused or unknown"}`))
				return
			}
			r.PostForm.Set("refresh_token", orig)
			r.Form.Set("refresh_token", orig)
		}
		p.mu.Unlock()
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		var m map[string]any
		if rec.Code == http.StatusOK && json.Unmarshal(body, &m) == nil {
			if orig, ok := m["refresh_token"].(string); ok && orig != "" {
				b := make([]byte, 16)
				_, _ = rand.Read(b)
				alias := "rt-" + hex.EncodeToString(b)
				p.mu.Lock()
				p.aliases[alias] = orig
				p.last = alias
				p.mu.Unlock()
				m["refresh_token"] = alias
				body, _ = json.Marshal(m)
			}
		}
		for k, vs := range rec.Header() {
			if k != "Content-Length" {
				w.Header()[k] = vs
			}
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	})
}

// login runs the authorization-code flow with PKCE over plain HTTP (no browser:
// mockoidc logs the queued user in at once) and returns the refresh token.
func (p *idp) login(t *testing.T, hc *http.Client, subject string) string {
	t.Helper()
	p.m.QueueUser(&mockoidc.MockUser{Subject: subject, Email: subject + "@example.test"})
	conf := p.oauth2Config()
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier))
	noFollow := *hc
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("state") != "state-1" || loc.Query().Get("code") == "" {
		t.Fatalf("authorize answered %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	tok, err := conf.Exchange(context.WithValue(ctx(t), oauth2.HTTPClient, hc), loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token from the login")
	}
	return tok.RefreshToken
}

func (p *idp) oauth2Config() *oauth2.Config {
	c := p.m.Config()
	return &oauth2.Config{
		ClientID: c.ClientID, ClientSecret: c.ClientSecret, RedirectURL: "http://127.0.0.1:1/callback",
		Scopes:   []string{"openid", "email"},
		Endpoint: oauth2.Endpoint{AuthURL: p.m.AuthorizationEndpoint(), TokenURL: p.m.TokenEndpoint(), AuthStyle: oauth2.AuthStyleInParams},
	}
}

func (p *idp) source(v *testEnv, store RefreshTokenStore, hc *http.Client) *OIDCRefresh {
	c := p.m.Config()
	return &OIDCRefresh{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: c.ClientSecret, Scopes: []string{"email"},
		AuthStyle: oauth2.AuthStyleInParams, Store: store, HTTPClient: hc, Clock: v.clock}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func TestOIDCRefreshAgainstARealIdP(t *testing.T) {
	v := newTestEnv(t)
	p := startIdP(t, listen(t), nil)
	hc := &http.Client{Timeout: 10 * time.Second}
	rt := p.login(t, hc, "alice")

	store := FileRefreshTokenStore{Path: tempPath(t, "login/refresh-token")}
	if err := store.Save(rt); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(store.Path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("stored with mode %v (%v)", fi.Mode(), err)
	}
	src := p.source(v, store, hc)
	fp0, _ := src.InputFingerprint()

	// The ID token is exchanged at the emulator, which trusts the IdP for its client id.
	v.emu.TrustOIDCIssuer(p.m.Issuer(), p.m.ClientID)
	x := newOIDC(t, v, src, 0)
	c, err := x.Fetch(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := cwobject.PrincipalPrefixOIDC + p.m.Issuer() + ":alice"; c.Principal != want {
		t.Fatalf("principal %q, want %q", c.Principal, want)
	}
	// The rotated refresh token was written back; the old one is dead.
	rt2, err := store.Load()
	if err != nil || rt2 == rt {
		t.Fatalf("rotated token not saved (%v)", err)
	}
	if fp1, _ := x.InputFingerprint(); fp1 == fp0 {
		t.Fatal("fingerprint did not follow the stored refresh token")
	}
	// Refresh again: it works with the rotated token.
	if _, err := x.Fetch(ctx(t)); err != nil {
		t.Fatal(err)
	}
	rt3, _ := store.Load()

	// The old token, put back, is refused: unrecoverable, with a clear message.
	if err := store.Save(rt); err != nil {
		t.Fatal(err)
	}
	_, err = x.Fetch(ctx(t))
	wantErr(t, err, true, "could not refresh the OIDC login at "+p.m.Issuer(), "refused the stored refresh token", "run `cwcreds login` again")
	noSecrets(t, err, rt, rt2, rt3, p.m.ClientSecret)

	// No login stored at all.
	os.Remove(store.Path)
	_, err = x.Fetch(ctx(t))
	wantErr(t, err, true, "no OIDC login is stored", "cwcreds login")
	if fp, _ := x.InputFingerprint(); fp != "missing" {
		t.Fatalf("fingerprint %q", fp)
	}
}

// failingStore refuses to save.
type failingStore struct{ tok string }

func (s *failingStore) Load() (string, error) { return s.tok, nil }
func (s *failingStore) Save(string) error     { return errors.New("disk full") }

func TestOIDCRefreshKeepsAnUnsavedRotation(t *testing.T) {
	v := newTestEnv(t)
	p := startIdP(t, listen(t), nil)
	hc := &http.Client{Timeout: 10 * time.Second}
	store := &failingStore{tok: p.login(t, hc, "bob")}
	src := p.source(v, store, hc)
	core, logs := observer.New(zapcore.DebugLevel)
	src.Logger = zap.New(core)
	var seen []string
	for i := 0; i < 3; i++ {
		idTok, err := src.Token(ctx(t))
		if err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
		p.mu.Lock()
		seen = append(seen, idTok, p.last)
		p.mu.Unlock()
	}
	warned := logs.FilterMessageSnippet("could not save the rotated refresh token").All()
	if len(warned) != 3 {
		t.Fatalf("%d warnings about the unsaved token", len(warned))
	}
	for _, e := range logs.All() {
		line := e.Message
		for _, f := range e.Context {
			line += " " + f.String
			if f.Interface != nil {
				if err, ok := f.Interface.(error); ok {
					line += " " + err.Error()
				}
			}
		}
		noSecrets(t, errors.New(line), append(seen, store.tok, p.m.ClientSecret)...)
	}
}

func TestOIDCRefreshErrors(t *testing.T) {
	v := newTestEnv(t)
	p := startIdP(t, listen(t), nil)
	hc := &http.Client{Timeout: 10 * time.Second}
	rt := p.login(t, hc, "carol")
	store := &failingStore{tok: rt}

	// Discover first, so the queued error hits the token endpoint.
	src := p.source(v, store, hc)
	if _, err := src.Token(ctx(t)); err != nil {
		t.Fatal(err)
	}
	// The IdP fails, echoing the refresh token it got: transient, and redacted.
	p.mu.Lock()
	current := p.last
	p.mu.Unlock()
	p.m.QueueError(&mockoidc.ServerError{Code: http.StatusServiceUnavailable, Error: mockoidc.InternalServerError, Description: "down " + current})
	_, err := src.Token(ctx(t))
	wantErr(t, err, false, "could not refresh the OIDC login", "HTTP 503", "[redacted]")
	noSecrets(t, err, rt, current, p.m.ClientSecret)

	fresh := func() RefreshTokenStore { return &failingStore{tok: p.login(t, hc, "carol")} }
	// The IdP quotes credentials of every shape, none of them sent by this
	// source: each is hidden all the same (one redactor for every package).
	echoed := []string{"cwo" + strings.Repeat("s3cr3tkey0", 4), "CW-SECRET-echoedapitoken",
		"eyJhbGciOiJub25lIn0.eyJzdWIiOiJlY2hvIn0.c2ln"}
	echo := p.source(v, fresh(), hc)
	if _, err := echo.Token(ctx(t)); err != nil {
		t.Fatal(err)
	}
	p.m.QueueError(&mockoidc.ServerError{Code: http.StatusServiceUnavailable, Error: mockoidc.InternalServerError,
		Description: "down: " + strings.Join(echoed, " ")})
	_, err = echo.Token(ctx(t))
	wantErr(t, err, false, "could not refresh the OIDC login", "HTTP 503", "[redacted]")
	noSecrets(t, err, echoed...)

	// A wrong client secret: unrecoverable.
	bad := p.source(v, fresh(), hc)
	bad.ClientSecret = "wrong-secret-value"
	_, err = bad.Token(ctx(t))
	wantErr(t, err, true, "invalid_client", "check the client id and secret")
	noSecrets(t, err, rt, "wrong-secret-value")

	// A client id the IdP does not know: unrecoverable.
	other := p.source(v, fresh(), hc)
	other.ClientID = "someone-else"
	other.AuthStyle = oauth2.AuthStyleInParams
	_, err = other.Token(ctx(t))
	wantErr(t, err, true)
	noSecrets(t, err, rt, p.m.ClientSecret)

	// This machine's clock is far ahead: the fresh ID token looks expired.
	ahead := p.source(v, fresh(), hc)
	v.clock.Advance(3 * time.Hour)
	_, err = ahead.Token(ctx(t))
	wantErr(t, err, true, "check the clock")
	noSecrets(t, err, rt, p.m.ClientSecret)

	// An issuer that cannot be reached: transient.
	ln := listen(t)
	addr := ln.Addr().String()
	ln.Close()
	unreachable := &OIDCRefresh{Issuer: "http://" + addr + "/oidc", ClientID: "c", Store: store, HTTPClient: hc, Clock: v.clock}
	_, err = unreachable.Token(ctx(t))
	wantErr(t, err, false, "could not discover the OIDC issuer")
	noSecrets(t, err, rt, p.m.ClientSecret)
	if !bytes.Contains([]byte(err.Error()), []byte("network")) {
		t.Fatalf("error does not point at the network: %v", err)
	}
	_, err = (&OIDCRefresh{}).Token(ctx(t))
	wantErr(t, err, true, "not configured")
}
