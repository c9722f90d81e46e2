package devissuer

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/jonboulle/clockwork"
)

func TestDiscovery(t *testing.T) {
	e := startIssuer(t, nil)
	status, hdr, body := e.do(t, http.MethodGet, testPrefix+discoveryPath, "", nil)
	if status != http.StatusOK || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("discovery: %d %s %s", status, hdr.Get("Content-Type"), body)
	}
	var d map[string]any
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	u := e.iss.URL()
	for k, want := range map[string]string{
		"issuer":                 u,
		"jwks_uri":               u + "/jwks",
		"authorization_endpoint": u + "/authorize",
		"token_endpoint":         u + "/token",
	} {
		if d[k] != want {
			t.Errorf("%s = %v, want %s", k, d[k], want)
		}
	}
	for _, k := range []string{"response_types_supported", "subject_types_supported", "id_token_signing_alg_values_supported"} {
		if l, ok := d[k].([]any); !ok || len(l) == 0 {
			t.Errorf("%s = %v, want a non-empty list", k, d[k])
		}
	}
	// go-oidc takes the advertised algorithms and endpoints.
	p, err := oidc.NewProvider(oidc.ClientContext(t.Context(), e.srv.Client()), u)
	if err != nil {
		t.Fatal(err)
	}
	if ep := p.Endpoint(); ep.AuthURL != u+"/authorize" || ep.TokenURL != u+"/token" {
		t.Errorf("endpoints = %+v", ep)
	}
	// The mux's other routes are untouched.
	if status, _, _ := e.do(t, http.MethodGet, "/v1/other", "", nil); status != http.StatusTeapot {
		t.Errorf("other route: %d", status)
	}
}

func TestJWKSHasOnlyPublicKeys(t *testing.T) {
	e := startIssuer(t, nil)
	if err := e.iss.RotateKey(); err != nil {
		t.Fatal(err)
	}
	status, hdr, body := e.do(t, http.MethodGet, testPrefix+jwksPath, "", nil)
	if status != http.StatusOK || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("jwks: %d %s", status, body)
	}
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Keys) != 2 {
		t.Fatalf("jwks has %d keys, want 2", len(raw.Keys))
	}
	for _, k := range raw.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if _, ok := k[private]; ok {
				t.Errorf("jwks key %v has private member %q", k["kid"], private)
			}
		}
		if k["kid"] == "" || k["alg"] != "RS256" || k["use"] != "sig" {
			t.Errorf("jwks key = kid %v alg %v use %v", k["kid"], k["alg"], k["use"])
		}
	}
}

func TestMintRoute(t *testing.T) {
	e := startIssuer(t, nil)
	status, hdr, body := e.do(t, http.MethodPost, testPrefix+mintPath, "application/json; charset=utf-8",
		[]byte(`{"sub":"system:serviceaccount:ml:trainer","aud":["`+testAud+`"],"lifetimeSeconds":600}`))
	if status != http.StatusOK {
		t.Fatalf("mint: %d %s", status, body)
	}
	if hdr.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", hdr.Get("Cache-Control"))
	}
	var resp struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatal(err)
	}
	idt, err := e.verifier(t, testAud).Verify(t.Context(), resp.Token)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if idt.Subject != "system:serviceaccount:ml:trainer" || idt.Expiry.Sub(idt.IssuedAt) != 10*time.Minute {
		t.Errorf("sub %q, lifetime %v", idt.Subject, idt.Expiry.Sub(idt.IssuedAt))
	}
}

func TestMintRouteRejectsBadRequests(t *testing.T) {
	e := startIssuer(t, mustP256(t))
	for _, tc := range []struct {
		name, method, contentType, body string
		status                          int
		want                            string
	}{
		{"negative lifetime", "POST", "application/json", `{"sub":"a","lifetimeSeconds":-1}`, 400, "negative"},
		{"missing sub", "POST", "application/json", `{"aud":["x"],"lifetimeSeconds":60}`, 400, "sub is missing"},
		{"empty sub", "POST", "application/json", `{"sub":"","lifetimeSeconds":60}`, 400, "sub is missing"},
		{"lifetime over 24h", "POST", "application/json", `{"sub":"a","lifetimeSeconds":86401}`, 400, "over 86400"},
		{"fractional lifetime", "POST", "application/json", `{"sub":"a","lifetimeSeconds":1.5}`, 400, "not valid json"},
		{"huge lifetime", "POST", "application/json", `{"sub":"a","lifetimeSeconds":1e30}`, 400, "not valid json"},
		{"aud not a list", "POST", "application/json", `{"sub":"a","aud":"x"}`, 400, "not valid json"},
		{"empty aud", "POST", "application/json", `{"sub":"a","aud":[""]}`, 400, "aud contains an empty"},
		{"unknown field", "POST", "application/json", `{"sub":"a","iss":"x"}`, 400, "unknown field"},
		{"not json", "POST", "application/json", `sub=a`, 400, "not valid json"},
		{"empty body", "POST", "application/json", ``, 400, "not valid json"},
		{"two objects", "POST", "application/json", `{"sub":"a"}{"sub":"b"}`, 400, "after the json"},
		{"too large", "POST", "application/json", `{"sub":"` + strings.Repeat("a", maxMintRequestBytes) + `"}`, 400, "too large"},
		{"form content type", "POST", "application/x-www-form-urlencoded", `{"sub":"a"}`, 415, "application/json"},
		{"no content type", "POST", "", `{"sub":"a"}`, 415, "application/json"},
		{"get", "GET", "", ``, 405, "POST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, body := e.do(t, tc.method, testPrefix+mintPath, tc.contentType, []byte(tc.body))
			if status != tc.status {
				t.Fatalf("status = %d, want %d (%s)", status, tc.status, body)
			}
			if got := decodeError(t, hdr, body); !strings.Contains(got.Description, tc.want) {
				t.Errorf("error_description = %q, want it to contain %q", got.Description, tc.want)
			}
		})
	}
}

func TestUnsupportedRoutes(t *testing.T) {
	e := startIssuer(t, mustP256(t))
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", testPrefix + authorizePath + "?response_type=code", 501, "unsupported_response_type"},
		{"POST", testPrefix + tokenPath, 501, "unsupported_grant_type"},
		{"GET", testPrefix + "/userinfo", 404, "not_found"},
		{"GET", testPrefix + "/", 404, "not_found"},
		{"GET", testPrefix + "/jwks/x", 404, "not_found"},
		{"POST", testPrefix + jwksPath, 405, "invalid_request"},
		{"DELETE", testPrefix + discoveryPath, 405, "invalid_request"},
	} {
		status, hdr, body := e.do(t, tc.method, tc.path, "", nil)
		if status != tc.status {
			t.Errorf("%s %s: status %d, want %d (%s)", tc.method, tc.path, status, tc.status, body)
			continue
		}
		if got := decodeError(t, hdr, body); got.Error != tc.code {
			t.Errorf("%s %s: error %q, want %q", tc.method, tc.path, got.Error, tc.code)
		}
		if tc.status == 501 && !strings.Contains(string(body), e.iss.URL()+mintPath) {
			t.Errorf("%s %s: 501 does not point to the mint route: %s", tc.method, tc.path, body)
		}
	}
}

func TestMintRouteRefusesRemotePeers(t *testing.T) {
	for _, tc := range []struct {
		remote      string
		allowRemote bool
		status      int
	}{
		{"192.0.2.10:4000", false, http.StatusForbidden},
		{"[2001:db8::1]:4000", false, http.StatusForbidden},
		{"127.0.0.1:4000", false, http.StatusOK},
		{"[::1]:4000", false, http.StatusOK},
		{"192.0.2.10:4000", true, http.StatusOK},
	} {
		iss, err := New(Config{IssuerURL: "http://127.0.0.1:9900/dev-oidc", Key: mustP256(t),
			Clock: clockwork.NewFakeClockAt(testStart), InsecureAllowRemoteMint: tc.allowRemote})
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodPost, "/dev-oidc/mint", strings.NewReader(`{"sub":"a"}`))
		r.Header.Set("Content-Type", "application/json")
		r.RemoteAddr = tc.remote
		w := httptest.NewRecorder()
		iss.Handler().ServeHTTP(w, r)
		if w.Code != tc.status {
			t.Errorf("peer %s allowRemote=%v: status %d, want %d (%s)", tc.remote, tc.allowRemote, w.Code, tc.status, w.Body)
		}
		if w.Code == http.StatusForbidden {
			decodeError(t, w.Header(), w.Body.Bytes())
		}
	}
}

func TestIssuerAtHostRoot(t *testing.T) {
	iss, err := New(Config{IssuerURL: "http://127.0.0.1:9900", Key: mustP256(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{discoveryPath, jwksPath} {
		w := httptest.NewRecorder()
		iss.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, p, nil))
		if w.Code != http.StatusOK {
			t.Errorf("GET %s: %d %s", p, w.Code, w.Body)
		}
	}
	var d discovery
	w := httptest.NewRecorder()
	iss.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, discoveryPath, nil))
	if err := json.Unmarshal(w.Body.Bytes(), &d); err != nil || d.JWKSURI != "http://127.0.0.1:9900/jwks" {
		t.Errorf("jwks_uri = %q (%v)", d.JWKSURI, err)
	}
}
