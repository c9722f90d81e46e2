package exchange

import (
	"strings"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/s3emu"
	"github.com/cwcreds/cwcreds/internal/keypolicy"
)

func newOIDC(t *testing.T, v *testEnv, src TokenSource, lifetime time.Duration) *OIDCExchange {
	t.Helper()
	x, err := NewOIDCExchange(OIDCExchangeConfig{Client: v.client, Source: src, OrgID: v.emu.OrgID(), Lifetime: lifetime, Clock: v.clock,
		Attributes: map[string]string{"via": "cwcreds"}})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestOIDCExchangeTokenFileRotation(t *testing.T) {
	v := newTestEnv(t)
	path := tempPath(t, "token")
	alice := v.mint("alice", 2*time.Hour)
	writeFile(t, path, alice)
	x := newOIDC(t, v, &TokenFile{Path: path, Clock: v.clock}, 0)

	c, err := x.Fetch(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Principal != v.principal("alice") {
		t.Fatalf("principal %q", c.Principal)
	}
	if want := v.clock.Now().Add(keypolicy.DefaultLifetime); !c.Expiration.Equal(want) {
		t.Fatalf("expiration %v, want %v (default 1h)", c.Expiration, want)
	}
	if _, state := v.emu.ResolveKey(c.AccessKeyID); state != s3emu.KeyValid {
		t.Fatalf("minted key is %v", state)
	}
	fp1, _ := x.InputFingerprint()

	// The kubelet writes a new token (here for another subject): the next exchange uses it.
	v.clock.Advance(30 * time.Minute)
	bob := v.mint("bob", 2*time.Hour)
	writeFile(t, path, bob)
	c2, err := x.Fetch(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if c2.Principal != v.principal("bob") || c2.AccessKeyID == c.AccessKeyID {
		t.Fatalf("after rotation: principal %q, same key %v", c2.Principal, c2.AccessKeyID == c.AccessKeyID)
	}
	if fp2, _ := x.InputFingerprint(); fp2 == fp1 {
		t.Fatal("the exchange's fingerprint did not follow the token file")
	}
	if n := v.emu.Calls()[cwobject.OpCreateAccessKeyFromOIDC.Name]; n != 2 {
		t.Fatalf("%d calls", n)
	}
}

func TestOIDCExchangeLifetimeAndSkew(t *testing.T) {
	v := newTestEnv(t)
	tok := v.mint("alice", time.Hour)
	x := newOIDC(t, v, staticSource(tok), 2*time.Hour)
	c, err := x.Fetch(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := v.clock.Now().Add(2 * time.Hour); !c.Expiration.Equal(want) {
		t.Fatalf("expiration %v, want %v", c.Expiration, want)
	}
	for _, bad := range []time.Duration{time.Second, 13 * time.Hour, -time.Hour} {
		if _, err := NewOIDCExchange(OIDCExchangeConfig{Client: v.client, Source: staticSource(tok), OrgID: "o", Lifetime: bad}); err == nil {
			t.Fatalf("lifetime %s accepted", bad)
		}
	}
}

func TestExpirationUsesTheLocalClock(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name   string
		server time.Time
		want   time.Time
	}{
		{"agree", start.Add(time.Hour), start.Add(time.Hour)},
		{"server clock ahead", start.Add(3 * time.Hour), start.Add(time.Hour)},
		{"server clock behind", start.Add(50 * time.Minute), start.Add(50 * time.Minute)},
		{"no server expiry", time.Time{}, start.Add(time.Hour)},
		{"permanent", cwobject.PermanentExpiry, start.Add(time.Hour)},
	}
	for _, c := range cases {
		if got := expiration(c.server, start, time.Hour); !got.Equal(c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestOIDCExchangeErrorsClassify(t *testing.T) {
	v := newTestEnv(t)
	tok := v.mint("alice", time.Hour)
	x := newOIDC(t, v, staticSource(tok), 0)
	cases := []struct {
		name  string
		fault emulator.Fault
		unrec bool
		parts []string
	}{
		{"unauthenticated", emulator.Fault{HTTPStatus: 401, Code: cwobject.CodeUnauthenticated}, true, []string{"Unauthenticated"}},
		{"permission denied", emulator.Fault{HTTPStatus: 403, Code: cwobject.CodePermissionDenied}, true, []string{"PermissionDenied"}},
		{"invalid argument", emulator.Fault{HTTPStatus: 400, Code: cwobject.CodeInvalidArgument}, true, []string{"InvalidArgument"}},
		{"unavailable", emulator.Fault{HTTPStatus: 503, Code: cwobject.CodeUnavailable}, false, []string{"Unavailable"}},
		{"internal", emulator.Fault{HTTPStatus: 500, Code: cwobject.CodeInternal}, false, []string{"Internal"}},
		{"rate limited", emulator.Fault{HTTPStatus: 429, Code: cwobject.CodeResourceExhausted, RetryAfter: 7 * time.Second}, false, []string{"ResourceExhausted"}},
		{"reset", emulator.Fault{Reset: true}, false, []string{"cannot reach the API"}},
		{"malformed", emulator.Fault{Malformed: true}, false, []string{"malformed response"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v.emu.InjectFault(cwobject.OpCreateAccessKeyFromOIDC.Name, c.fault)
			_, err := x.Fetch(ctx(t))
			wantErr(t, err, c.unrec, append([]string{"could not exchange the identity token for keys"}, c.parts...)...)
			noSecrets(t, err, tok)
			if c.fault.RetryAfter > 0 {
				if ra := err.(*Error).RetryAfter(); ra != c.fault.RetryAfter {
					t.Fatalf("RetryAfter %v", ra)
				}
			}
		})
	}
	// A token the emulator does not trust (forged signature): Unauthenticated.
	forged, err := v.emu.DevIssuer().MintForged(devMint("mallory"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = newOIDC(t, v, staticSource(forged), 0).Fetch(ctx(t))
	wantErr(t, err, true, "Unauthenticated", "signature")
	noSecrets(t, err, forged)
	// Another organisation.
	y, _ := NewOIDCExchange(OIDCExchangeConfig{Client: v.client, Source: staticSource(tok), OrgID: "org-other", Clock: v.clock})
	_, err = y.Fetch(ctx(t))
	wantErr(t, err, true, "Unauthenticated", "org-other")
}

func TestContainerCredsExchange(t *testing.T) {
	v := newTestEnv(t)
	path := tempPath(t, "token")
	tok := v.mint("svc", time.Hour)
	writeFile(t, path, tok)
	x, err := NewContainerCredsExchange(ContainerCredsExchangeConfig{Client: v.client, Source: &TokenFile{Path: path, Clock: v.clock}, OrgID: v.emu.OrgID(), Clock: v.clock})
	if err != nil {
		t.Fatal(err)
	}
	c, err := x.Fetch(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if want := v.clock.Now().Add(15 * time.Minute); !c.Expiration.Equal(want) || c.Principal != v.principal("svc") {
		t.Fatalf("expiration %v (want %v), principal %q", c.Expiration, want, c.Principal)
	}
	if n := v.emu.Calls()[cwobject.OpCreateAccessKeyFromContainerCreds.Name]; n != 1 {
		t.Fatalf("%d calls", n)
	}
	// An expired token in the file is refused before anything is sent, and the
	// error says what is wrong with the file, not that an exchange failed.
	writeFile(t, path, v.mintExpired("svc"))
	_, err = x.Fetch(ctx(t))
	wantErr(t, err, true, "token file "+path+" holds an expired token", "expired at")
	if strings.Contains(err.Error(), "exchange") || strings.Contains(err.Error(), "upstream") {
		t.Fatalf("a local problem worded as an exchange's: %v", err)
	}
	if n := v.emu.Calls()[cwobject.OpCreateAccessKeyFromContainerCreds.Name]; n != 1 {
		t.Fatalf("an expired token was sent (%d calls)", n)
	}
	v.emu.InjectFault(cwobject.OpCreateAccessKeyFromContainerCreds.Name, emulator.Fault{HTTPStatus: 403, Code: cwobject.CodePermissionDenied})
	writeFile(t, path, tok)
	_, err = x.Fetch(ctx(t))
	wantErr(t, err, true, "PermissionDenied")
	noSecrets(t, err, tok)
}
