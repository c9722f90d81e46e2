package login

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/jonboulle/clockwork"
	"golang.org/x/oauth2"

	"github.com/cwcreds/cwcreds/internal/emulator/devop"
	"github.com/cwcreds/cwcreds/internal/emulator/emutest"
	"github.com/cwcreds/cwcreds/internal/exchange"
)

func TestAuthCodeLoginThenRefreshThenRevoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p := emutest.StartDevOP(t, devop.Config{})
	o := newBrowserOpener(devPassword)
	o.watchRedirects(nil)
	out := newLines(t)

	tok, err := AuthCode(ctx, configFor(p), AuthCodeOptions{Out: out, Opener: o})
	if err != nil {
		t.Fatal(err)
	}
	page := o.lastPage(t)
	if page.Status != http.StatusOK || !strings.Contains(page.Body, "Login succeeded") || !strings.Contains(page.Body, "close this tab") {
		t.Errorf("the tab ended on %d %s", page.Status, page.Body)
	}
	if page.URL.Hostname() != "127.0.0.1" || page.URL.Path != DefaultRedirectPath {
		t.Errorf("redirect went to %s", page.URL)
	}
	if tok.IDToken == "" || tok.RefreshToken == "" || tok.Subject != devop.UserName || tok.Issuer != p.Issuer() {
		t.Fatalf("tokens %v", tok)
	}
	if d := time.Until(tok.Expiry); d < 50*time.Minute || d > time.Hour {
		t.Errorf("ID token expiry in %s", d)
	}
	if !strings.Contains(out.String(), p.Issuer()+"/authorize?") {
		t.Errorf("the URL was not written: %q", out.String())
	}
	for _, s := range []string{tok.String(), strings.ReplaceAll(tok.GoString(), "%", "")} {
		noSecrets(t, "Tokens.String", s, tok.IDToken, tok.RefreshToken)
	}
	noSecrets(t, "output", out.String(), tok.IDToken, tok.RefreshToken)

	// The refresh token works with the existing silent refresh, and rotates.
	store := &memStore{rt: tok.RefreshToken}
	r := &exchange.OIDCRefresh{Issuer: p.Issuer(), ClientID: p.ClientID(), Store: store, AuthStyle: oauth2.AuthStyleInParams}
	id2, err := r.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rotated, _ := store.Load()
	if id2 == "" || rotated == tok.RefreshToken {
		t.Fatal("refresh gave no ID token or did not rotate")
	}

	// Revoked at the IdP: the refresh fails in one clear line without the token.
	if !p.RevokeRefreshToken(rotated) {
		t.Fatal("the rotated token is unknown to the provider")
	}
	_, err = r.Token(ctx)
	if err == nil {
		t.Fatal("a revoked refresh token still refreshed")
	}
	msg := err.Error()
	if !strings.Contains(msg, "invalid_grant") || !strings.Contains(msg, "login") || strings.Contains(msg, "\n") {
		t.Errorf("revoked: %q", msg)
	}
	t.Logf("error: %v", err)
	noSecrets(t, "revoked error", msg, rotated, tok.RefreshToken, tok.IDToken, id2)
}

func TestAuthCodeWrongState(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p := emutest.StartDevOP(t, devop.Config{})
	o := newBrowserOpener(devPassword)
	o.watchRedirects(func(u *url.URL) *url.URL {
		if u.Hostname() != "127.0.0.1" || u.Path != DefaultRedirectPath {
			return nil
		}
		q := u.Query()
		q.Set("state", "another-login-state-value")
		v := *u
		v.RawQuery = q.Encode()
		return &v
	})
	_, err := AuthCode(ctx, configFor(p), AuthCodeOptions{Out: newLines(t), Opener: o})
	if !errors.Is(err, ErrStateMismatch) {
		t.Fatalf("err %v, want ErrStateMismatch", err)
	}
	page := o.lastPage(t)
	if page.Status != http.StatusBadRequest || !strings.Contains(page.Body, "Login failed") || !strings.Contains(page.Body, "state mismatch") {
		t.Errorf("tab: %d %s", page.Status, page.Body)
	}
	t.Logf("error: %v", err)
	noSecrets(t, "error", err.Error(), append(o.seen.list(), "another-login-state-value")...)
}

func TestAuthCodeWrongNonce(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p := emutest.StartDevOP(t, devop.Config{})
	o := newBrowserOpener(devPassword)
	o.watchRedirects(nil)
	o.rewriteAuth = func(u *url.URL) { // the IdP signs another nonce into the ID token
		q := u.Query()
		q.Set("nonce", "a-nonce-of-another-login")
		u.RawQuery = q.Encode()
	}
	_, err := AuthCode(ctx, configFor(p), AuthCodeOptions{Out: newLines(t), Opener: o})
	if !errors.Is(err, ErrNonceMismatch) {
		t.Fatalf("err %v, want ErrNonceMismatch", err)
	}
	if page := o.lastPage(t); page.Status != http.StatusBadRequest || !strings.Contains(page.Body, "nonce mismatch") {
		t.Errorf("tab: %d %s", page.Status, page.Body)
	}
	t.Logf("error: %v", err)
	noSecrets(t, "error", err.Error(), append(o.seen.list(), "a-nonce-of-another-login")...)
}

func TestAuthCodeExpiredIDToken(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p := emutest.StartDevOP(t, devop.Config{IDTokenLifetime: time.Minute})
	o := newBrowserOpener(devPassword)
	o.watchRedirects(nil)
	cfg := configFor(p)
	cfg.Clock = clockwork.NewFakeClockAt(time.Now().Add(2 * time.Hour)) // this machine's clock is ahead
	_, err := AuthCode(ctx, cfg, AuthCodeOptions{Out: newLines(t), Opener: o})
	if !errors.Is(err, ErrInvalidIDToken) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("err %v, want an expired ErrInvalidIDToken", err)
	}
	o.lastPage(t)
	t.Logf("error: %v", err)
	noSecrets(t, "error", err.Error(), o.seen.list()...)
}

func TestAuthCodeDeniedAtTheProvider(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p := emutest.StartDevOP(t, devop.Config{})
	o := newBrowserOpener(devPassword)
	o.watchRedirects(func(u *url.URL) *url.URL {
		if u.Hostname() != "127.0.0.1" || u.Path != DefaultRedirectPath {
			return nil
		}
		q := u.Query()
		v := *u
		v.RawQuery = url.Values{"state": {q.Get("state")}, "error": {"access_denied"}, "error_description": {"the user said no"}}.Encode()
		return &v
	})
	_, err := AuthCode(ctx, configFor(p), AuthCodeOptions{Out: newLines(t), Opener: o})
	if !errors.Is(err, ErrDenied) || !strings.Contains(err.Error(), "the user said no") {
		t.Fatalf("err %v, want ErrDenied", err)
	}
	o.lastPage(t)
	t.Logf("error: %v", err)
	noSecrets(t, "error", err.Error(), o.seen.list()...)
}

func TestAuthCodeTimesOutWithNoBrowser(t *testing.T) {
	p := emutest.StartDevOP(t, devop.Config{})
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	out := newLines(t)
	_, err := AuthCode(ctx, configFor(p), AuthCodeOptions{Out: out}) // nil Opener: print only
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "browser") {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
	if !strings.Contains(out.String(), p.Issuer()+"/authorize?") {
		t.Errorf("no URL printed: %q", out.String())
	}
	if u := urlIn(out.String()); u != nil {
		t.Logf("error: %v", err)
		noSecrets(t, "error", err.Error(), u.Query().Get("state"), u.Query().Get("nonce"))
	}
}

func TestAuthCodeFixedPortAndOpenerFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p := emutest.StartDevOP(t, devop.Config{})
	o := newBrowserOpener(devPassword)
	o.watchRedirects(nil)
	out := newLines(t)
	failing := OpenerFunc(func(ctx context.Context, u string) error {
		_ = o.Open(ctx, u) // the user opens the printed URL by hand
		return errors.New("no display")
	})
	if _, err := AuthCode(ctx, configFor(p), AuthCodeOptions{Out: out, Opener: failing, RedirectPort: port}); err != nil {
		t.Fatal(err)
	}
	if got := o.lastPage(t).URL.Port(); got != strconv.Itoa(port) {
		t.Errorf("redirect port %s, want %d", got, port)
	}
	if !strings.Contains(out.String(), "Could not open a browser (no display)") {
		t.Errorf("no notice of the failed opener: %q", out.String())
	}

	// The port is busy: a clear error at once.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, err = AuthCode(ctx, configFor(p), AuthCodeOptions{Out: out, RedirectPort: busy.Addr().(*net.TCPAddr).Port})
	if err == nil || !strings.Contains(err.Error(), "could not listen") {
		t.Fatalf("busy port: %v", err)
	}
}

// An ID token from another issuer, or for another audience, does not verify.
func TestIDTokenFromAnotherIssuerOrForAnotherAudience(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	a := emutest.StartDevOP(t, devop.Config{})
	b := emutest.StartDevOP(t, devop.Config{}) // same client id, another issuer
	o := newBrowserOpener(devPassword)
	o.watchRedirects(nil)
	fromB, err := AuthCode(ctx, configFor(b), AuthCodeOptions{Out: newLines(t), Opener: o})
	if err != nil {
		t.Fatal(err)
	}
	o.lastPage(t)
	resp := (&oauth2.Token{}).WithExtra(map[string]any{"id_token": fromB.IDToken})

	pa, err := discover(ctx, configFor(a))
	if err != nil {
		t.Fatal(err)
	}
	_, err = pa.tokens(ctx, resp, "")
	if !errors.Is(err, ErrInvalidIDToken) || !strings.Contains(err.Error(), "issued by \""+b.Issuer()) {
		t.Fatalf("another issuer: %v", err)
	}
	t.Logf("error: %v", err)
	noSecrets(t, "error", err.Error(), fromB.IDToken)

	other := configFor(b)
	other.ClientID = "someone-else"
	pb, err := discover(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	_, err = pb.tokens(ctx, resp, "")
	if !errors.Is(err, ErrInvalidIDToken) || !strings.Contains(err.Error(), "audience") {
		t.Fatalf("another audience: %v", err)
	}
	t.Logf("error: %v", err)
	noSecrets(t, "error", err.Error(), fromB.IDToken)

	if _, err := pa.tokens(ctx, &oauth2.Token{}, ""); !errors.Is(err, ErrInvalidIDToken) {
		t.Fatalf("no ID token: %v", err)
	}
	_ = oidc.ScopeOpenID
}

func urlIn(s string) *url.URL {
	for _, f := range strings.Fields(s) {
		if strings.HasPrefix(f, "http") {
			if u, err := url.Parse(f); err == nil {
				return u
			}
		}
	}
	return nil
}
