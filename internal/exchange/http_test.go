package exchange

import (
	"crypto/tls"
	"encoding/pem"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator"
)

// The CoreWeave API and the IdP live behind made-up host names, reachable only
// through a CONNECT proxy (Go never proxies loopback addresses), and serve
// certificates from a CA that only the profile's CA bundle trusts. A whole
// OIDC login refresh and exchange goes through them.
func TestProxyAndCABundle(t *testing.T) {
	tc := newTLSConfig(t, "api.coreweave.test", "idp.coreweave.test")
	proxy := newConnectProxy(t)
	env := map[string]string{"HTTPS_PROXY": proxy.url, "NO_PROXY": "internal.example"}
	hc, err := NewHTTPClient(HTTPOptions{CABundle: tc.bundle(t), Getenv: envOf(env), Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// The emulator discovers the IdP through the same proxy and CA.
	v := newTestEnv(t, func(c *emulator.Config) { c.HTTPClient = hc })
	proxy.route("api.coreweave.test:443", serveTLS(t, v.emu.APIHandler(), tc))

	idpLn := listen(t)
	proxy.route("idp.coreweave.test:443", idpLn.Addr().String())
	p := startIdP(t, namedListener{Listener: tls.NewListener(idpLn, tc.server()), name: "idp.coreweave.test:443"}, tc)
	issuer := p.m.Issuer()
	if issuer != "https://idp.coreweave.test:443/oidc" {
		t.Fatalf("issuer %q", issuer)
	}
	v.emu.TrustOIDCIssuer(issuer, p.m.ClientID)

	client, err := cwobject.New(cwobject.Config{BaseURL: "https://api.coreweave.test", HTTPClient: hc, Clock: v.clock,
		Retry: cwobject.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	store := FileRefreshTokenStore{Path: tempPath(t, "rt")}
	if err := store.Save(p.login(t, hc, "dave")); err != nil {
		t.Fatal(err)
	}
	x, err := NewOIDCExchange(OIDCExchangeConfig{Client: client, Source: p.source(v, store, hc), OrgID: v.emu.OrgID(), Clock: v.clock})
	if err != nil {
		t.Fatal(err)
	}
	c, err := x.Fetch(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := cwobject.PrincipalPrefixOIDC + issuer + ":dave"; c.Principal != want {
		t.Fatalf("principal %q", c.Principal)
	}
	seen := proxy.seen()
	for _, want := range []string{"CONNECT api.coreweave.test:443", "CONNECT idp.coreweave.test:443"} {
		if !slices.Contains(seen, want) {
			t.Fatalf("proxy saw %v, not %q", seen, want)
		}
	}

	// Without the bundle the API's certificate is not trusted.
	plain, err := NewHTTPClient(HTTPOptions{Getenv: envOf(env)})
	if err != nil {
		t.Fatal(err)
	}
	untrusting, _ := cwobject.New(cwobject.Config{BaseURL: "https://api.coreweave.test", HTTPClient: plain, Retry: cwobject.RetryPolicy{MaxAttempts: 1}})
	_, err = untrusting.CreateAccessKeyFromOIDC(ctx(t), cwobject.CreateAccessKeyFromOIDCRequest{OrgID: v.emu.OrgID(), OIDCToken: v.mint("x", time.Hour)})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted CA: %v", err)
	}
}

func TestProxyRules(t *testing.T) {
	env := map[string]string{"https_proxy": "http://proxy.corp.test:3128", "HTTP_PROXY": "http://plain-proxy.corp.test:8080",
		"no_proxy": ".internal.test,10.0.0.0/8"}
	hc, err := NewHTTPClient(HTTPOptions{Getenv: envOf(env)})
	if err != nil {
		t.Fatal(err)
	}
	proxyFor := func(raw string) string {
		u, _ := url.Parse(raw)
		p, err := hc.Transport.(*http.Transport).Proxy(&http.Request{URL: u})
		if err != nil {
			t.Fatal(err)
		}
		if p == nil {
			return ""
		}
		return p.Host
	}
	cases := map[string]string{
		"https://api.coreweave.com/v1":    "proxy.corp.test:3128",
		"http://cwlota.com/":              "plain-proxy.corp.test:8080",
		"https://idp.internal.test/oidc":  "",
		"https://10.1.2.3/":               "",
		"https://127.0.0.1:9911/":         "", // loopback is never proxied
		"https://localhost/":              "",
		"https://login.example.test/oidc": "proxy.corp.test:3128",
	}
	for u, want := range cases {
		if got := proxyFor(u); got != want {
			t.Errorf("%s: proxy %q, want %q", u, got, want)
		}
	}
	if hc.Timeout != DefaultHTTPTimeout {
		t.Fatalf("timeout %v", hc.Timeout)
	}
	// A bad proxy URL is reported by name, without its value (it may hold a password).
	for _, bad := range []string{"http://user:hunter2secret@[::1", "ftp://user:hunter2secret@proxy:21", "http://user:hunter2secret@:3128"} {
		_, err = NewHTTPClient(HTTPOptions{Getenv: envOf(map[string]string{"HTTPS_PROXY": bad})})
		if err == nil || !strings.Contains(err.Error(), "HTTPS_PROXY is not a usable proxy URL") || strings.Contains(err.Error(), "hunter2secret") {
			t.Fatalf("bad proxy %q: %v", bad, err)
		}
	}
	// A bare host:port is http, as Go reads it.
	if _, err = NewHTTPClient(HTTPOptions{Getenv: envOf(map[string]string{"HTTPS_PROXY": "proxy.corp.test:3128"})}); err != nil {
		t.Fatal(err)
	}
}

func TestCABundleErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := dir + "/garbage.pem"
	os.WriteFile(garbage, []byte("not a certificate"), 0o600)
	broken := dir + "/broken.pem"
	os.WriteFile(broken, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("nope")}), 0o600)
	cases := map[string]string{
		garbage:              "holds no PEM certificate",
		broken:               "certificate 1 does not parse",
		dir + "/missing.pem": "does not exist",
		dir:                  "is a folder",
	}
	for path, want := range cases {
		_, err := NewHTTPClient(HTTPOptions{CABundle: path, Getenv: envOf(nil)})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v, want %q", path, err, want)
		}
	}
}
