package devissuer

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

const testAud = "https://coreweave.com/iam"

func TestMintVerifiesWithGoOIDC(t *testing.T) {
	e := startIssuer(t, nil)
	tok := e.mint(t, MintOptions{
		Subject:  "system:serviceaccount:default:trainer",
		Audience: []string{testAud, "other"},
		Lifetime: 10 * time.Minute,
		Extra:    map[string]any{"kubernetes.io": map[string]any{"namespace": "default"}},
	})
	idt, err := e.verifier(t, testAud).Verify(t.Context(), tok)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if idt.Issuer != e.iss.URL() || idt.Subject != "system:serviceaccount:default:trainer" {
		t.Errorf("iss, sub = %q, %q", idt.Issuer, idt.Subject)
	}
	if !idt.IssuedAt.Equal(testStart) || !idt.Expiry.Equal(testStart.Add(10*time.Minute)) {
		t.Errorf("iat, exp = %v, %v", idt.IssuedAt, idt.Expiry)
	}
	var claims struct {
		NBF  int64          `json:"nbf"`
		JTI  string         `json:"jti"`
		Aud  []string       `json:"aud"`
		Kube map[string]any `json:"kubernetes.io"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.NBF != testStart.Unix() || claims.JTI == "" || len(claims.Aud) != 2 || claims.Kube["namespace"] != "default" {
		t.Errorf("claims = %+v", claims)
	}
	// The header names the current key and the algorithm discovery advertised.
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	if h := jws.Signatures[0].Header; h.KeyID != e.iss.KeyID() || h.Algorithm != "RS256" {
		t.Errorf("header kid, alg = %q, %q; want %q, RS256", h.KeyID, h.Algorithm, e.iss.KeyID())
	}
	if typ := jws.Signatures[0].Protected.ExtraHeaders["typ"]; typ != "JWT" {
		t.Errorf("typ = %v, want JWT", typ)
	}
	// Each token gets its own jti.
	other := e.mint(t, MintOptions{Subject: "s", Audience: []string{testAud}})
	idt2, err := e.verifier(t, testAud).Verify(t.Context(), other)
	if err != nil {
		t.Fatal(err)
	}
	var c2 struct {
		JTI string `json:"jti"`
	}
	if err := idt2.Claims(&c2); err != nil || c2.JTI == claims.JTI {
		t.Errorf("second jti %q repeats %q (err %v)", c2.JTI, claims.JTI, err)
	}
}

func TestVerifyRejects(t *testing.T) {
	e := startIssuer(t, nil)
	v := e.verifier(t, testAud)
	opts := MintOptions{Subject: "alice", Audience: []string{testAud}, Lifetime: 10 * time.Minute}

	t.Run("wrong audience", func(t *testing.T) {
		tok := e.mint(t, MintOptions{Subject: "alice", Audience: []string{"https://example.invalid/other"}})
		if _, err := v.Verify(t.Context(), tok); err == nil || !strings.Contains(err.Error(), "audience") {
			t.Fatalf("Verify err = %v, want an audience error", err)
		}
	})
	t.Run("forged", func(t *testing.T) {
		tok, err := e.iss.MintForged(opts)
		if err != nil {
			t.Fatal(err)
		}
		jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			t.Fatal(err)
		}
		if kid := jws.Signatures[0].Header.KeyID; kid != e.iss.KeyID() {
			t.Errorf("forged kid = %q, want the current kid %q", kid, e.iss.KeyID())
		}
		if _, err := v.Verify(t.Context(), tok); err == nil || !strings.Contains(err.Error(), "signature") {
			t.Fatalf("Verify err = %v, want a signature error", err)
		}
	})
	t.Run("expired", func(t *testing.T) {
		tok := e.mint(t, opts)
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatalf("fresh token: %v", err)
		}
		e.clock.Advance(10*time.Minute + time.Second)
		var expired *oidc.TokenExpiredError
		if _, err := v.Verify(t.Context(), tok); !errors.As(err, &expired) {
			t.Fatalf("Verify err = %v, want *oidc.TokenExpiredError", err)
		}
	})
	t.Run("issued in the past", func(t *testing.T) {
		o := opts
		o.IssuedAt = e.clock.Now().Add(-time.Hour)
		var expired *oidc.TokenExpiredError
		if _, err := v.Verify(t.Context(), e.mint(t, o)); !errors.As(err, &expired) {
			t.Fatalf("Verify err = %v, want *oidc.TokenExpiredError", err)
		}
	})
	t.Run("other issuer", func(t *testing.T) {
		other := startIssuer(t, nil)
		if _, err := v.Verify(t.Context(), other.mint(t, opts)); err == nil {
			t.Fatal("a token of another issuer verified")
		}
	})
}

func TestRotateKeyKeepsOldTokensValid(t *testing.T) {
	e := startIssuer(t, nil)
	// Created before the rotation, first used after it. (go-oidc's RemoteKeySet can
	// serve keys from a refresh that completed just before a rotation, so the test
	// does not verify with it before rotating; see coreos/go-oidc jwks.go inflight.)
	v := e.verifier(t, testAud)
	opts := MintOptions{Subject: "alice", Audience: []string{testAud}}
	before := e.mint(t, opts)
	oldKid := e.iss.KeyID()
	if err := e.iss.RotateKey(); err != nil {
		t.Fatalf("RotateKey: %v", err)
	}
	if e.iss.KeyID() == oldKid {
		t.Fatal("RotateKey kept the kid")
	}
	after := e.mint(t, opts)
	for name, tok := range map[string]string{"before": before, "after": after} {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Errorf("cached verifier, token minted %s rotation: %v", name, err)
		}
		if _, err := e.verifier(t, testAud).Verify(t.Context(), tok); err != nil {
			t.Errorf("fresh verifier, token minted %s rotation: %v", name, err)
		}
	}
	if keys := e.iss.publicKeys(); len(keys) != 2 || keys[0].KeyID != e.iss.KeyID() || keys[1].KeyID != oldKid {
		t.Errorf("jwks kids = %v, want [new old]", keys)
	}
	// A token forged after rotation still fails.
	forged, err := e.iss.MintForged(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(t.Context(), forged); err == nil {
		t.Fatal("forged token verified after rotation")
	}
}

// opaqueSigner hides the concrete key type, as an HSM or KMS signer would.
type opaqueSigner struct{ crypto.Signer }

func TestKeyKinds(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name string
		key  crypto.Signer
		alg  string
	}{
		{"rsa", rsaKey, "RS256"},
		{"p256", p256, "ES256"},
		{"p384", p384, "ES384"},
		{"ed25519", edKey, "EdDSA"},
		{"opaque rsa", opaqueSigner{rsaKey}, "RS256"},
		{"opaque p256", opaqueSigner{p256}, "ES256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := startIssuer(t, tc.key)
			if algs := e.iss.algorithms(); len(algs) != 1 || algs[0] != tc.alg {
				t.Errorf("algorithms = %v, want [%s]", algs, tc.alg)
			}
			v := e.verifier(t, testAud)
			opts := MintOptions{Subject: "alice", Audience: []string{testAud}}
			if _, err := v.Verify(t.Context(), e.mint(t, opts)); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			forged, err := e.iss.MintForged(opts)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Verify(t.Context(), forged); err == nil {
				t.Fatal("forged token verified")
			}
			if err := e.iss.RotateKey(); err != nil {
				t.Fatal(err)
			}
			// A fresh verifier: v's key refresh for the forged token may still be
			// in flight and would hand back the pre-rotation keys.
			if _, err := e.verifier(t, testAud).Verify(t.Context(), e.mint(t, opts)); err != nil {
				t.Fatalf("Verify after rotation: %v", err)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"empty url", Config{}, "empty"},
		{"relative url", Config{IssuerURL: "/dev-oidc"}, "http or https"},
		{"ftp url", Config{IssuerURL: "ftp://127.0.0.1/x"}, "http or https"},
		{"no host", Config{IssuerURL: "http:///x"}, "no host"},
		{"trailing slash", Config{IssuerURL: "http://127.0.0.1:1/x/"}, "end with '/'"},
		{"query", Config{IssuerURL: "http://127.0.0.1:1/x?a=b"}, "query"},
		{"fragment", Config{IssuerURL: "http://127.0.0.1:1/x#f"}, "fragment"},
		{"unclean path", Config{IssuerURL: "http://127.0.0.1:1/a//b"}, "unclean"},
		{"braces", Config{IssuerURL: "http://127.0.0.1:1/{x}"}, "'{'"},
		{"small rsa key", Config{IssuerURL: "http://127.0.0.1:1/x", Key: small}, "at least 2048"},
		{"p224 key", Config{IssuerURL: "http://127.0.0.1:1/x", Key: p224}, "curve"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestMintOptions(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	e := startIssuer(t, key)

	t.Run("defaults", func(t *testing.T) {
		idt, err := e.verifier(t, cwobject.RecommendedAudience).Verify(t.Context(), e.mint(t, MintOptions{Subject: "alice"}))
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if got := idt.Expiry.Sub(idt.IssuedAt); got != DefaultLifetime {
			t.Errorf("lifetime = %v, want %v", got, DefaultLifetime)
		}
		if len(idt.Audience) != 1 || idt.Audience[0] != cwobject.RecommendedAudience {
			t.Errorf("aud = %v", idt.Audience)
		}
	})
	for _, tc := range []struct {
		name string
		o    MintOptions
		want string
	}{
		{"no subject", MintOptions{}, "subject"},
		{"negative lifetime", MintOptions{Subject: "a", Lifetime: -time.Second}, "negative"},
		{"long lifetime", MintOptions{Subject: "a", Lifetime: MaxLifetime + time.Second}, "maximum"},
		{"empty audience", MintOptions{Subject: "a", Audience: []string{""}}, "empty"},
		{"reserved extra", MintOptions{Subject: "a", Extra: map[string]any{"iss": "x"}}, "reserved"},
		{"unencodable extra", MintOptions{Subject: "a", Extra: map[string]any{"f": func() {}}}, "extra claims"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for name, mint := range map[string]func(MintOptions) (string, error){"Mint": e.iss.Mint, "MintForged": e.iss.MintForged} {
				tok, err := mint(tc.o)
				if err == nil || !strings.Contains(err.Error(), tc.want) || tok != "" {
					t.Errorf("%s = %q, %v; want an error containing %q", name, tok, err, tc.want)
				}
			}
		})
	}
	t.Run("max lifetime", func(t *testing.T) {
		if _, err := e.iss.Mint(MintOptions{Subject: "a", Lifetime: MaxLifetime}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestLogsNeverHoldTokens(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	iss, err := New(Config{IssuerURL: "http://127.0.0.1:1/dev-oidc", Logger: zap.New(core), Key: mustP256(t)})
	if err != nil {
		t.Fatal(err)
	}
	var tokens []string
	for range 2 {
		tok, err := iss.Mint(MintOptions{Subject: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, tok)
		if err := iss.RotateKey(); err != nil {
			t.Fatal(err)
		}
	}
	if logs.Len() == 0 {
		t.Fatal("nothing was logged")
	}
	for _, entry := range logs.All() {
		line := entry.Message
		for k, v := range entry.ContextMap() {
			line += fmt.Sprintf(" %s=%v", k, v)
		}
		for _, tok := range tokens {
			// A JWT's signature part is unique to it; the header and claims parts
			// are not secret on their own but the whole token is.
			sig := tok[strings.LastIndexByte(tok, '.')+1:]
			if strings.Contains(line, sig) {
				t.Errorf("log line holds a token: %s", line)
			}
		}
	}
}

func TestConcurrentMintAndRotate(t *testing.T) {
	e := startIssuer(t, mustP256(t))
	var wg sync.WaitGroup
	tokens := make(chan string, 20)
	errs := make(chan error, 20)
	for n := range 20 {
		wg.Go(func() {
			if n%5 == 0 {
				errs <- e.iss.RotateKey()
				return
			}
			tok, err := e.iss.Mint(MintOptions{Subject: "alice", Audience: []string{testAud}})
			errs <- err
			tokens <- tok
		})
	}
	wg.Wait()
	close(errs)
	close(tokens)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// Every token, whichever key signed it, verifies against the final JWKS.
	// (Verification happens after the rotations because go-oidc's RemoteKeySet can
	// hand out keys from a refresh that raced a rotation.)
	v := e.verifier(t, testAud)
	for tok := range tokens {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Error(err)
		}
	}
	if n := len(e.iss.publicKeys()); n != 5 {
		t.Errorf("jwks has %d keys after 4 rotations, want 5", n)
	}
}

func mustP256(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
