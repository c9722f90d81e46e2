package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator/devissuer"
)

func devMint(sub string) devissuer.MintOptions {
	return devissuer.MintOptions{Subject: sub, Lifetime: time.Hour}
}

func newJSONRequest(ctx context.Context, method, url string, body any) (*http.Request, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

func (v *env) mintDev(o devissuer.MintOptions) string {
	v.t.Helper()
	tok, err := v.e.DevIssuer().Mint(o)
	if err != nil {
		v.t.Fatal(err)
	}
	return tok
}

func (v *env) oidcExchange(token string, seconds any) result {
	v.t.Helper()
	return v.call(cwobject.OpCreateAccessKeyFromOIDC, "", "", map[string]any{
		"orgId": v.e.OrgID(), "oidcToken": token, "durationSeconds": seconds,
	})
}

func decodeKey(t *testing.T, r result) cwobject.AccessKey {
	t.Helper()
	r.expectOK(t)
	var k cwobject.AccessKey
	if err := json.Unmarshal(r.body, &k); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	if !keyIDRe.MatchString(k.AccessKeyID) || !secretRe.MatchString(k.SecretKey) {
		t.Fatalf("key shape: id %q, secret of %d chars", k.AccessKeyID, len(k.SecretKey))
	}
	return k
}

func TestOIDCExchangeValidToken(t *testing.T) {
	v := newEnv(t)
	tok := v.mintDev(devMint("system:serviceaccount:ml:trainer"))
	k := decodeKey(t, v.oidcExchange(tok, "3600"))
	if want := "role/" + v.e.DevIssuer().URL() + ":system:serviceaccount:ml:trainer"; k.PrincipalName != want {
		t.Fatalf("principal %q, want %q", k.PrincipalName, want)
	}
	if want := v.clock.Now().Add(time.Hour); !k.Expiry.Equal(want) {
		t.Fatalf("expiry %v, want %v", k.Expiry, want)
	}
	if _, state := v.e.ResolveKey(k.AccessKeyID); state.String() != "valid" {
		t.Fatalf("new key state %v", state)
	}

	// durationSeconds 0 is the server default; a number works as well as a string.
	k = decodeKey(t, v.oidcExchange(tok, 0))
	if want := v.clock.Now().Add(cwobject.DefaultExchangeLifetime); !k.Expiry.Equal(want) {
		t.Fatalf("default expiry %v, want %v", k.Expiry, want)
	}
	v.oidcExchange(tok, cwobject.MaxDurationSeconds+1).expectError(t, cwobject.CodeInvalidArgument, "durationSeconds")
	v.oidcExchange(tok, -1).expectError(t, cwobject.CodeInvalidArgument, "durationSeconds")

	// snake_case field names are accepted too.
	r := v.call(cwobject.OpCreateAccessKeyFromOIDC, "", "", map[string]any{
		"org_id": v.e.OrgID(), "oidc_token": tok, "duration_seconds": 60, "somethingNew": true,
	})
	decodeKey(t, r)
	v.noSecretsLogged(tok, k.SecretKey)
}

func TestOIDCExchangeRefusals(t *testing.T) {
	v := newEnv(t)
	other, err := devissuer.New(devissuer.Config{IssuerURL: "http://127.0.0.1:1/other", Clock: v.clock})
	if err != nil {
		t.Fatal(err)
	}
	otherTok, err := other.Mint(devMint("x"))
	if err != nil {
		t.Fatal(err)
	}
	forged, err := v.e.DevIssuer().MintForged(devMint("x"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, token, reason string
	}{
		{"forged", forged, "bad signature"},
		{"wrong audience", v.mintDev(devissuer.MintOptions{Subject: "x", Audience: []string{"https://example.test/other"}}), "wrong audience"},
		{"untrusted issuer", otherTok, "untrusted issuer"},
		{"iat in the future", v.mintDev(devissuer.MintOptions{Subject: "x", IssuedAt: v.clock.Now().Add(5 * time.Minute)}), "future"},
		{"not a jwt", "not-a-jwt", "malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := v.oidcExchange(tc.token, 60).expectError(t, cwobject.CodeUnauthenticated, tc.reason)
			if strings.Contains(s.Message, tc.token) {
				t.Fatal("the error message contains the token")
			}
		})
	}

	t.Run("expired", func(t *testing.T) {
		tok := v.mintDev(devissuer.MintOptions{Subject: "x", Lifetime: time.Minute})
		v.clock.Advance(2 * time.Minute)
		v.oidcExchange(tok, 60).expectError(t, cwobject.CodeUnauthenticated, "expired")
	})
	t.Run("wrong org", func(t *testing.T) {
		r := v.call(cwobject.OpCreateAccessKeyFromOIDC, "", "", map[string]any{
			"orgId": "org-someoneelse", "oidcToken": v.mintDev(devMint("x")),
		})
		r.expectError(t, cwobject.CodeUnauthenticated, "orgId")
	})
	t.Run("missing token", func(t *testing.T) {
		v.oidcExchange("", 60).expectError(t, cwobject.CodeInvalidArgument, "oidcToken")
	})
	v.noSecretsLogged(forged, otherTok)
}

// An external issuer is discovered over real HTTP with Config.HTTPClient, and
// only its configured audiences are accepted.
func TestOIDCExternalIssuerDiscovery(t *testing.T) {
	v := newEnv(t)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ext, err := devissuer.New(devissuer.Config{IssuerURL: srv.URL + "/idp", Clock: v.clock})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/idp/", ext.Handler())
	tok, err := ext.Mint(devissuer.MintOptions{Subject: "runner-7", Audience: []string{"sts.example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	v.oidcExchange(tok, 60).expectError(t, cwobject.CodeUnauthenticated, "untrusted issuer")

	v.e.TrustOIDCIssuer(ext.URL(), "sts.example.test")
	k := decodeKey(t, v.oidcExchange(tok, 60))
	if want := "role/" + ext.URL() + ":runner-7"; k.PrincipalName != want {
		t.Fatalf("principal %q, want %q", k.PrincipalName, want)
	}
	recommended, err := ext.Mint(devissuer.MintOptions{Subject: "runner-7"})
	if err != nil {
		t.Fatal(err)
	}
	v.oidcExchange(recommended, 60).expectError(t, cwobject.CodeUnauthenticated, "wrong audience")

	// A key rotation at the issuer: the JWKS is fetched again for the new kid.
	if err := ext.RotateKey(); err != nil {
		t.Fatal(err)
	}
	rotated, err := ext.Mint(devissuer.MintOptions{Subject: "runner-8", Audience: []string{"sts.example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	decodeKey(t, v.oidcExchange(rotated, 60))
}

func containerCreds(t *testing.T, r result) cwobject.ContainerCredentials {
	t.Helper()
	r.expectOK(t)
	m := r.json(t)
	for _, f := range []string{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"} {
		if _, ok := m[f]; !ok {
			t.Fatalf("container credentials lack %q: %v", f, m)
		}
	}
	if m["Token"] != "" {
		t.Fatalf("Token = %v, want \"\"", m["Token"])
	}
	exp, _ := m["Expiration"].(string)
	if _, err := time.Parse(time.RFC3339, exp); err != nil || !strings.HasSuffix(exp, "Z") {
		t.Fatalf("Expiration %q is not RFC 3339 UTC", exp)
	}
	var c cwobject.ContainerCredentials
	if err := json.Unmarshal(r.body, &c); err != nil {
		t.Fatal(err)
	}
	if !keyIDRe.MatchString(c.AccessKeyID) || !secretRe.MatchString(c.SecretAccessKey) {
		t.Fatal("container credentials key shape")
	}
	return c
}

func TestContainerCredsExchange(t *testing.T) {
	v := newEnv(t)
	tok := v.mintDev(devMint("pod-1"))
	path := pathWith(cwobject.OpCreateAccessKeyFromContainerCreds.Path, "orgId", v.e.OrgID())

	c := containerCreds(t, v.raw("GET", path, map[string]string{"Authorization": tok}, nil))
	if want := v.clock.Now().Add(cwobject.ContainerCredsLifetime); !c.Expiration.Equal(want) {
		t.Fatalf("expiration %v, want %v", c.Expiration, want)
	}
	v.raw("GET", path, map[string]string{"Authorization": "Bearer " + tok}, nil).
		expectError(t, cwobject.CodeUnauthenticated, "without the Bearer scheme")
	v.raw("GET", path, nil, nil).expectError(t, cwobject.CodeUnauthenticated, "Authorization")
	forged, err := v.e.DevIssuer().MintForged(devMint("pod-1"))
	if err != nil {
		t.Fatal(err)
	}
	v.raw("GET", path, map[string]string{"Authorization": forged}, nil).expectError(t, cwobject.CodeUnauthenticated, "bad signature")
	other := pathWith(cwobject.OpCreateAccessKeyFromContainerCreds.Path, "orgId", "org-other123")
	v.raw("GET", other, map[string]string{"Authorization": tok}, nil).expectError(t, cwobject.CodeUnauthenticated, "orgId")
	v.noSecretsLogged(tok, c.SecretAccessKey)
}

func TestApiTokenExchange(t *testing.T) {
	v := newEnv(t)
	c := containerCreds(t, v.admin(cwobject.OpCreateAccessKeyFromApiToken, "", nil))
	if want := v.clock.Now().Add(cwobject.ContainerCredsLifetime); !c.Expiration.Equal(want) {
		t.Fatalf("expiration %v, want %v", c.Expiration, want)
	}
	info, ok := v.e.keys.get(c.AccessKeyID)
	if !ok || info.principal != v.e.AdminPrincipal() {
		t.Fatalf("key principal %q", info.principal)
	}
	v.call(cwobject.OpCreateAccessKeyFromApiToken, "", "", nil).expectError(t, cwobject.CodeUnauthenticated, "Bearer")
}
