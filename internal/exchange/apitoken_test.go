package exchange

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/keypolicy"
)

// fakeKeyring is a map; err, when set, is returned by every call.
type fakeKeyring struct {
	m   map[string]string
	err error
}

func (k *fakeKeyring) Get(service, user string) (string, error) {
	if k.err != nil {
		return "", k.err
	}
	s, ok := k.m[service+"/"+user]
	if !ok {
		return "", ErrKeyringNotFound
	}
	return s, nil
}

func (k *fakeKeyring) Set(service, user, secret string) error {
	if k.err != nil {
		return k.err
	}
	if k.m == nil {
		k.m = map[string]string{}
	}
	k.m[service+"/"+user] = secret
	return nil
}

func (k *fakeKeyring) Delete(service, user string) error {
	if k.err != nil {
		return k.err
	}
	if _, ok := k.m[service+"/"+user]; !ok {
		return ErrKeyringNotFound
	}
	delete(k.m, service+"/"+user)
	return nil
}

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestAPITokenSources(t *testing.T) {
	tok := "CW-SECRET-abcdefghijklmnopqrstuvwxyz012345"
	path := tempPath(t, "api-token")
	writeFile(t, path, tok+"\n")
	ring := &fakeKeyring{m: map[string]string{"cwcreds/alice": tok}}
	for _, src := range []*APIToken{
		{Getenv: envOf(map[string]string{"CW_API_TOKEN": " " + tok + " "})},
		{EnvVar: "MY_TOKEN", Getenv: envOf(map[string]string{"MY_TOKEN": tok})},
		{File: path},
		{KeyringUser: "alice", Keyring: ring},
	} {
		got, err := src.Token(ctx(t))
		if err != nil || got != tok {
			t.Fatalf("%s: err %v", src.Describe(), err)
		}
		if fp, err := src.InputFingerprint(); err != nil || len(fp) != 64 {
			t.Fatalf("%s: fingerprint %q %v", src.Describe(), fp, err)
		}
	}
	cases := []struct {
		src   *APIToken
		parts []string
	}{
		{&APIToken{Getenv: envOf(nil)}, []string{"CW_API_TOKEN is not set"}},
		{&APIToken{Getenv: envOf(map[string]string{"CW_API_TOKEN": "   "})}, []string{"is empty"}},
		{&APIToken{Getenv: envOf(map[string]string{"CW_API_TOKEN": tok + " " + tok})}, []string{"contains spaces"}},
		{&APIToken{File: path + ".missing"}, []string{"does not exist"}},
		{&APIToken{KeyringUser: "bob", Keyring: ring}, []string{"OS keyring", "missing"}},
		{&APIToken{KeyringUser: "alice", Keyring: &fakeKeyring{err: errors.New("dbus: no session bus")}}, []string{"could not read the API token from the OS keyring", "no session bus"}},
		{&APIToken{File: path, KeyringUser: "alice"}, []string{"ambiguous"}},
	}
	for _, c := range cases {
		_, err := c.src.Token(ctx(t))
		wantErr(t, err, true, c.parts...)
		noSecrets(t, err, tok)
	}
	// A missing token and a stored one have different fingerprints, so storing
	// one counts as a change.
	missing := &APIToken{KeyringUser: "carol", Keyring: ring}
	fp1, _ := missing.InputFingerprint()
	ring.Set(DefaultKeyringService, "carol", tok)
	if fp2, _ := missing.InputFingerprint(); fp1 == fp2 {
		t.Fatal("fingerprint did not change when the token was stored")
	}
}

// On Linux with no Secret Service, the OS keyring gives a clear error instead of
// hanging or panicking.
func TestOSKeyringWithoutSecretService(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Log("only Linux has a D-Bus Secret Service to miss; nothing to check here")
		return
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+tempPath(t, "no-bus"))
	_, err := (&APIToken{KeyringUser: "alice"}).Token(ctx(t))
	wantErr(t, err, true, "OS keyring cannot be used here", "Secret Service", "environment variable")
}

func TestNewAPITokenFromConfig(t *testing.T) {
	tok := "CW-SECRET-abcdefghijklmnopqrstuvwxyz012345"
	path := tempPath(t, "api-token")
	writeFile(t, path, tok+"\n")
	ring := &fakeKeyring{m: map[string]string{"svc/alice": tok}}
	getenv := envOf(map[string]string{"CW_API_TOKEN": tok, "MY_TOKEN": tok})
	for _, tc := range []struct {
		src  config.APITokenSource
		want string
	}{
		{config.APITokenSource{Env: "CW_API_TOKEN"}, "the API token in $CW_API_TOKEN"},
		{config.APITokenSource{Env: "MY_TOKEN"}, "the API token in $MY_TOKEN"},
		{config.APITokenSource{}, "the API token in $CW_API_TOKEN"},
		{config.APITokenSource{File: path}, "the API token in file " + path},
		// The config leaves Env at its default beside a keyring; the keyring wins.
		{config.APITokenSource{Env: "CW_API_TOKEN", Keyring: &config.KeyringRef{Service: "svc", User: "alice"}},
			"the API token in the OS keyring (service svc, user alice)"},
	} {
		src := NewAPIToken(&tc.src, getenv, ring)
		if d := src.Describe(); d != tc.want {
			t.Errorf("%+v: Describe() = %q, want %q", tc.src, d, tc.want)
		}
		if got, err := src.Token(ctx(t)); err != nil || got != tok {
			t.Errorf("%+v: Token() = %q, %v", tc.src, got, err)
		}
	}
}

func TestAPITokenExchanges(t *testing.T) {
	v := newTestEnv(t)
	admin := v.emu.AdminToken()
	user := v.emu.AddUserToken("no-rights")
	env := map[string]string{"CW_API_TOKEN": admin}
	src := &APIToken{Getenv: envOf(env)}

	post, err := NewAPITokenExchange(APITokenExchangeConfig{Client: v.client, Source: src, Lifetime: 90 * time.Minute, Clock: v.clock})
	if err != nil {
		t.Fatal(err)
	}
	c, err := post.Fetch(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Principal != v.emu.AdminPrincipal() || !c.Expiration.Equal(v.clock.Now().Add(90*time.Minute)) {
		t.Fatalf("principal %q expiration %v", c.Principal, c.Expiration)
	}
	get, err := NewAPITokenCredsExchange(APITokenCredsExchangeConfig{Client: v.client, Source: src, Clock: v.clock})
	if err != nil {
		t.Fatal(err)
	}
	c, err = get.Fetch(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Principal != "" || !c.Expiration.Equal(v.clock.Now().Add(15*time.Minute)) {
		t.Fatalf("principal %q expiration %v", c.Principal, c.Expiration)
	}
	calls := v.emu.Calls()
	if calls[cwobject.OpCreateAccessKeyFromJWT.Name] != 1 || calls[cwobject.OpCreateAccessKeyFromApiToken.Name] != 1 {
		t.Fatalf("calls %v", calls)
	}

	// A token without the right: PermissionDenied, unrecoverable.
	env["CW_API_TOKEN"] = user
	for _, x := range []interface {
		Fetch(ctx context.Context) (creds.Credentials, error)
	}{post, get} {
		_, err = x.Fetch(ctx(t))
		wantErr(t, err, true, "PermissionDenied", "$CW_API_TOKEN")
		noSecrets(t, err, user, admin)
	}
	// An unknown token: Unauthenticated.
	env["CW_API_TOKEN"] = "CW-SECRET-unknownunknownunknown"
	_, err = post.Fetch(ctx(t))
	wantErr(t, err, true, "Unauthenticated")
	noSecrets(t, err, "CW-SECRET-unknownunknownunknown")
	// 503 is transient.
	env["CW_API_TOKEN"] = admin
	v.emu.InjectFault(cwobject.OpCreateAccessKeyFromApiToken.Name, emulator.Fault{HTTPStatus: 503})
	_, err = get.Fetch(ctx(t))
	wantErr(t, err, false, "Unavailable")

	// Lifetime 0 means the default, never a permanent key.
	z, _ := NewAPITokenExchange(APITokenExchangeConfig{Client: v.client, Source: src, Clock: v.clock})
	if c, err = z.Fetch(ctx(t)); err != nil || !c.Expiration.Equal(v.clock.Now().Add(keypolicy.DefaultLifetime)) {
		t.Fatalf("default lifetime: %v %v", c.Expiration, err)
	}
	if _, err := NewAPITokenExchange(APITokenExchangeConfig{Client: v.client, Source: src, Lifetime: 24 * time.Hour}); err == nil ||
		!strings.Contains(err.Error(), "12h") {
		t.Fatalf("a 24h lifetime: %v", err)
	}
}
