package devop_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/devop"
	"github.com/cwcreds/cwcreds/internal/emulator/devop/devoptest"
	"github.com/cwcreds/cwcreds/internal/emulator/emutest"
)

const password = emutest.Password

// redirectCatcher is the client's loopback redirect target: it records the query.
type redirectCatcher struct {
	url string
	got chan url.Values
}

func catchRedirect(t *testing.T) *redirectCatcher {
	t.Helper()
	c := &redirectCatcher{got: make(chan url.Values, 4)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.got <- r.URL.Query()
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	c.url = srv.URL + "/callback"
	return c
}

func oauthConfig(t *testing.T, ctx context.Context, p *devop.Provider, redirect string) (*oauth2.Config, *oidc.IDTokenVerifier) {
	t.Helper()
	op, err := oidc.NewProvider(ctx, p.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	ep := op.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInParams
	return &oauth2.Config{ClientID: p.ClientID(), Endpoint: ep, RedirectURL: redirect,
			Scopes: []string{oidc.ScopeOpenID, oidc.ScopeOfflineAccess}},
		op.Verifier(&oidc.Config{ClientID: p.ClientID()})
}

// login runs the authorization-code flow with PKCE through the login form and
// returns the token response.
func login(t *testing.T, ctx context.Context, p *devop.Provider, conf *oauth2.Config, c *redirectCatcher, nonce string) *oauth2.Token {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	u := conf.AuthCodeURL("st4te-value", oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))
	page, err := devoptest.New(devop.UserName, password).Login(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if page.Status != http.StatusOK {
		t.Fatalf("redirect target answered %d: %s", page.Status, page.Body)
	}
	q := <-c.got
	if q.Get("state") != "st4te-value" || q.Get("code") == "" {
		t.Fatalf("redirect query %v", q)
	}
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestLoginPageIsAPlainForm(t *testing.T) {
	p := emutest.StartDevOP(t, devop.Config{})
	c := catchRedirect(t)
	conf, _ := oauthConfig(t, t.Context(), p, c.url)
	u := conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	page, err := devoptest.New("", "").Get(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	if page.Status != http.StatusOK || page.URL.Path != "/login" {
		t.Fatalf("authorize led to %s (%d)", page.URL, page.Status)
	}
	f, err := devoptest.ParseForm(page.Body)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, in := range f.Inputs {
		count[in.Type]++
	}
	if count["text"] != 1 || count["password"] != 1 || len(f.Inputs) != 3 || count["hidden"] != 1 {
		t.Errorf("inputs %+v: want one text, one password (and the hidden request id)", f.Inputs)
	}
	if len(f.Buttons) != 1 || f.Buttons[0].Type != "submit" || count["submit"] != 0 {
		t.Errorf("buttons %+v: want exactly one submit button", f.Buttons)
	}
	if !strings.EqualFold(f.Method, "post") {
		t.Errorf("method %q", f.Method)
	}

	// A wrong password shows the form again with an error, and no redirect.
	b := devoptest.New(devop.UserName, "wrong")
	page, err = b.Login(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	if page.Status != http.StatusUnauthorized || !strings.Contains(page.Body, "wrong user name or password") {
		t.Fatalf("wrong password: %d %s", page.Status, page.Body)
	}
	select {
	case q := <-c.got:
		t.Fatalf("redirected after a wrong password: %v", q)
	default:
	}
}

func TestAuthCodePKCERefreshRotationAndRevoke(t *testing.T) {
	ctx := t.Context()
	p := emutest.StartDevOP(t, devop.Config{IDTokenLifetime: 2 * time.Minute, AccessTokenLifetime: 90 * time.Second})
	c := catchRedirect(t)
	conf, verifier := oauthConfig(t, ctx, p, c.url)
	tok := login(t, ctx, p, conf, c, "n0nce-value")

	raw, _ := tok.Extra("id_token").(string)
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	if idt.Subject != devop.UserName || idt.Nonce != "n0nce-value" || idt.Issuer != p.Issuer() {
		t.Fatalf("ID token sub %q nonce %q iss %q", idt.Subject, idt.Nonce, idt.Issuer)
	}
	if life := idt.Expiry.Sub(idt.IssuedAt); life != 2*time.Minute {
		t.Errorf("ID token lifetime %s, want the configured 2m", life)
	}
	if left := time.Until(tok.Expiry); left > 91*time.Second || left < 60*time.Second {
		t.Errorf("access token expires in %s, want about 90s", left)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token for offline_access")
	}

	// Refresh rotates: a new refresh token and ID token; the old one is dead.
	refresh := func(rt string) (*oauth2.Token, error) {
		return conf.TokenSource(ctx, &oauth2.Token{RefreshToken: rt, Expiry: time.Unix(1, 0)}).Token()
	}
	tok2, err := refresh(tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if tok2.RefreshToken == "" || tok2.RefreshToken == tok.RefreshToken {
		t.Fatal("the refresh token was not rotated")
	}
	if raw2, _ := tok2.Extra("id_token").(string); raw2 == "" {
		t.Fatal("no ID token on refresh")
	} else if _, err := verifier.Verify(ctx, raw2); err != nil {
		t.Fatal(err)
	}
	if _, err := refresh(tok.RefreshToken); !isInvalidGrant(err) {
		t.Fatalf("reusing the rotated refresh token: %v, want invalid_grant", err)
	}

	// An admin revocation kills the current one.
	if !p.RevokeRefreshToken(tok2.RefreshToken) {
		t.Fatal("the current refresh token was unknown")
	}
	if _, err := refresh(tok2.RefreshToken); !isInvalidGrant(err) {
		t.Fatalf("revoked refresh token: %v, want invalid_grant", err)
	}
}

func isInvalidGrant(err error) bool {
	re, ok := err.(*oauth2.RetrieveError)
	return ok && re.ErrorCode == "invalid_grant"
}

func TestPKCES256Required(t *testing.T) {
	p := emutest.StartDevOP(t, devop.Config{})
	c := catchRedirect(t)
	conf, _ := oauthConfig(t, t.Context(), p, c.url)
	for name, opts := range map[string][]oauth2.AuthCodeOption{
		"none":  nil,
		"plain": {oauth2.SetAuthURLParam("code_challenge", "abcdefghijabcdefghijabcdefghijabcdefghij123"), oauth2.SetAuthURLParam("code_challenge_method", "plain")},
	} {
		page, err := devoptest.New("", "").Get(t.Context(), conf.AuthCodeURL("s", opts...))
		if err != nil {
			t.Fatal(err)
		}
		if page.Status != http.StatusBadRequest || !strings.Contains(page.Body, "S256") {
			t.Errorf("%s: %d %s", name, page.Status, page.Body)
		}
	}
}

func TestPKCEByPOSTAuthorize(t *testing.T) {
	p := emutest.StartDevOP(t, devop.Config{})
	c := catchRedirect(t)
	conf, _ := oauthConfig(t, t.Context(), p, c.url)
	u, err := url.Parse(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if err != nil {
		t.Fatal(err)
	}
	for name, form := range map[string]url.Values{"S256": u.Query(), "none": {"client_id": {p.ClientID()}, "response_type": {"code"},
		"scope": {"openid"}, "redirect_uri": {c.url}, "state": {"s"}}} {
		b := devoptest.New("", "")
		resp, err := b.Client.PostForm(p.Issuer()+"/authorize", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got, want := resp.Request.URL.Path == "/login", name == "S256"; got != want {
			t.Errorf("POST /authorize with %s: reached the login page %v (status %d)", name, got, resp.StatusCode)
		}
	}
}

func TestRedirectOnAnyLoopbackPortOnly(t *testing.T) {
	p := emutest.StartDevOP(t, devop.Config{})
	conf, _ := oauthConfig(t, t.Context(), p, "")
	for redirect, ok := range map[string]bool{
		"http://127.0.0.1:1/callback":     true,
		"http://127.0.0.1:65000/callback": true,
		"http://localhost:4242/callback":  true,
		"http://127.0.0.1:4242/other":     false,
		"http://example.com/callback":     false,
	} {
		c := *conf
		c.RedirectURL = redirect
		page, err := devoptest.New("", "").Get(t.Context(), c.AuthCodeURL("s", oauth2.S256ChallengeOption("v")))
		if err != nil {
			t.Fatal(err)
		}
		if got := page.URL.Path == "/login"; got != ok {
			t.Errorf("%s: reached the login page %v, want %v (%d %.200s)", redirect, got, ok, page.Status, page.Body)
		}
	}
}

func deviceConf(t *testing.T, p *devop.Provider) *oauth2.Config {
	conf, _ := oauthConfig(t, t.Context(), p, "")
	return conf
}

func TestDeviceFlowApproveSlowDownAndDeny(t *testing.T) {
	ctx := t.Context()
	p := emutest.StartDevOP(t, devop.Config{DevicePollInterval: 2 * time.Second})
	conf := deviceConf(t, p)
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if da.Interval != 2 || da.UserCode == "" || !strings.HasPrefix(da.VerificationURIComplete, p.Issuer()+"/device?user_code=") {
		t.Fatalf("device response %+v", da)
	}
	poll := func() string {
		resp, err := http.PostForm(conf.Endpoint.TokenURL, url.Values{
			"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {da.DeviceCode}, "client_id": {p.ClientID()},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e struct {
			Error   string `json:"error"`
			IDToken string `json:"id_token"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		if e.IDToken != "" {
			return "tokens"
		}
		return e.Error
	}
	if got := poll(); got != "authorization_pending" {
		t.Fatalf("first poll: %q", got)
	}
	if got := poll(); got != "slow_down" {
		t.Fatalf("immediate second poll: %q, want slow_down", got)
	}
	page, err := devoptest.New(devop.UserName, password).ApproveDevice(ctx, da.VerificationURIComplete, true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.Body, "Device allowed") {
		t.Fatalf("approval page: %s", page.Body)
	}
	tok, err := conf.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || tok.Extra("id_token") == nil {
		t.Fatal("device flow gave no refresh or ID token")
	}
	// The device flow's refresh token refreshes (it belongs to the client).
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Unix(1, 0)}).Token(); err != nil {
		t.Fatalf("refreshing the device login: %v", err)
	}

	// Deny.
	da2, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := devoptest.New(devop.UserName, password).ApproveDevice(ctx, da2.VerificationURIComplete, false); err != nil {
		t.Fatal(err)
	}
	_, err = conf.DeviceAccessToken(ctx, da2)
	if re, ok := err.(*oauth2.RetrieveError); !ok || re.ErrorCode != "access_denied" {
		t.Fatalf("denied device: %v", err)
	}
}

func TestConfigChecks(t *testing.T) {
	if _, err := devop.New("http://127.0.0.1:1", devop.Config{}); err == nil {
		t.Error("no password accepted")
	}
	for _, iss := range []string{"127.0.0.1:1", "http://127.0.0.1:1/path", "ftp://x"} {
		if _, err := devop.New(iss, devop.Config{Password: "p"}); err == nil {
			t.Errorf("issuer %q accepted", iss)
		}
	}
}

func TestEmulatorTrustsTheProvider(t *testing.T) {
	ctx := t.Context()
	p := emutest.StartDevOP(t, devop.Config{})
	c := catchRedirect(t)
	conf, _ := oauthConfig(t, ctx, p, c.url)
	raw, _ := login(t, ctx, p, conf, c, "n").Extra("id_token").(string)

	emu, err := emulator.New(emulator.Config{})
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(emu.APIHandler())
	t.Cleanup(api.Close)
	cw, err := cwobject.New(cwobject.Config{BaseURL: api.URL})
	if err != nil {
		t.Fatal(err)
	}
	req := cwobject.CreateAccessKeyFromOIDCRequest{OrgID: emu.OrgID(), OIDCToken: raw, DurationSeconds: 900}
	if _, err := cw.CreateAccessKeyFromOIDC(ctx, req); err == nil {
		t.Fatal("an untrusted provider's token was accepted")
	}
	p.TrustedBy(emu)
	k, err := cw.CreateAccessKeyFromOIDC(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(k.PrincipalName, p.Issuer()) || !strings.HasSuffix(k.PrincipalName, ":"+devop.UserName) {
		t.Errorf("principal %q", k.PrincipalName)
	}
}
