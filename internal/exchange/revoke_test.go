package exchange

import (
	"strings"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/s3emu"
)

// revokeEnv is an emulator, keys minted on it, and a profile pointing at it.
type revokeEnv struct{ *testEnv }

func newRevokeEnv(t *testing.T) *revokeEnv { return &revokeEnv{newTestEnv(t)} }

func (e *revokeEnv) mintKey(t *testing.T) string {
	t.Helper()
	src := &APIToken{Getenv: envOf(map[string]string{"CW_API_TOKEN": e.emu.AdminToken()})}
	x, err := NewAPITokenExchange(APITokenExchangeConfig{Client: e.client, Source: src, Lifetime: time.Hour, Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	c, err := x.Fetch(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return c.AccessKeyID
}

func (e *revokeEnv) profile(src config.Source) *config.Profile {
	return &config.Profile{Name: "p", APIEndpoint: e.api.URL, Source: src}
}

func (e *revokeEnv) revoker(env map[string]string) *Revoker {
	return &Revoker{Getenv: envOf(env), Keyring: &fakeKeyring{}, HTTPClient: e.api.Client(), UserAgent: "cwcreds/test"}
}

func TestRevokerTokenPrecedence(t *testing.T) {
	e := newRevokeEnv(t)
	admin, user := e.emu.AdminToken(), e.emu.AddUserToken("someone")
	own := config.Source{Type: config.SourceAPIToken, APIToken: &config.APITokenSource{Env: "OWN_TOKEN"}}
	other := config.Source{Type: config.SourceTokenFile, TokenFile: &config.TokenFileSource{Path: "/nonexistent"}}
	for _, tc := range []struct {
		name    string
		src     config.Source
		env     map[string]string
		want    string
		wantErr []string
	}{
		{"the profile's own source comes first", own, map[string]string{"OWN_TOKEN": admin, "CW_API_TOKEN": user}, admin, nil},
		{"CW_API_TOKEN when the profile has no api_token source", other, map[string]string{"OWN_TOKEN": user, "CW_API_TOKEN": " " + admin + "\n"}, admin, nil},
		{"no fallback when the own source fails", own, map[string]string{"CW_API_TOKEN": admin},
			"", []string{"no API token to revoke with: profile p", "OWN_TOKEN is not set"}},
		{"nothing at all", other, nil, "", []string{"no API token to revoke with: export CW_API_TOKEN"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.revoker(tc.env).Token(ctx(t), e.profile(tc.src))
			if tc.wantErr != nil {
				wantErr(t, err, true, tc.wantErr...)
				noSecrets(t, err, admin, user)
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Token() = %q, %v; want the %s token", got, err, map[bool]string{true: "admin", false: "user"}[tc.want == admin])
			}
		})
	}
}

func TestRevokerRevokes(t *testing.T) {
	e := newRevokeEnv(t)
	admin := e.emu.AdminToken()
	k1, k2, k3 := e.mintKey(t), e.mintKey(t), e.mintKey(t)
	ring := config.Source{Type: config.SourceAPIToken, APIToken: &config.APITokenSource{Keyring: &config.KeyringRef{Service: "svc", User: "ops"}}}
	r := e.revoker(nil)
	r.Keyring = &fakeKeyring{m: map[string]string{"svc/ops": admin}}

	res, err := r.Revoke(ctx(t), e.profile(ring), []string{k1, k2})
	if err != nil || len(res) != 2 || res[0] != (Revoked{ID: k1}) || res[1] != (Revoked{ID: k2}) {
		t.Fatalf("Revoke = %+v, %v", res, err)
	}
	for _, k := range []string{k1, k2} {
		if _, st := e.emu.ResolveKey(k); st == s3emu.KeyValid {
			t.Fatalf("%s still valid", k)
		}
	}
	if _, st := e.emu.ResolveKey(k3); st != s3emu.KeyValid {
		t.Fatalf("%s, not asked for, is %s", k3, st)
	}

	// Already gone, refused, and revoked: one outcome per key, in order.
	e.emu.InjectFault(cwobject.OpRevokeAccessKeyByAccessKey.Name, emulator.Fault{Code: cwobject.CodePermissionDenied})
	res, err = r.Revoke(ctx(t), e.profile(ring), []string{k3, k1, k3})
	if err != nil || len(res) != 3 {
		t.Fatalf("Revoke = %+v, %v", res, err)
	}
	if res[0].ID != k3 || cwobject.CodeOf(res[0].Err) != cwobject.CodePermissionDenied || res[0].Gone {
		t.Errorf("refused: %+v", res[0])
	}
	if res[1] != (Revoked{ID: k1, Gone: true}) || res[2] != (Revoked{ID: k3}) {
		t.Errorf("gone, revoked: %+v", res[1:])
	}
	noSecrets(t, res[0].Err, admin)

	// No token: nothing is sent.
	e.emu.ResetCalls()
	other := config.Source{Type: config.SourceTokenFile, TokenFile: &config.TokenFileSource{Path: "/nonexistent"}}
	if res, err = e.revoker(nil).Revoke(ctx(t), e.profile(other), []string{k3}); err == nil || res != nil ||
		!strings.Contains(err.Error(), "no API token to revoke with") {
		t.Fatalf("Revoke without a token = %+v, %v", res, err)
	}
	if n := e.emu.Calls()[cwobject.OpRevokeAccessKeyByAccessKey.Name]; n != 0 {
		t.Fatalf("%d revoke calls without a token", n)
	}
}
