package exchange

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func seg(v any) string {
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	default:
		b, _ = json.Marshal(x)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// fakeJWT has the shape of a signed JWT; the signature is random bytes.
func fakeJWT(header, claims any) string {
	return seg(header) + "." + seg(claims) + "." + seg("signature-bytes-not-checked-here")
}

var jwtNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestCheckJWTGood(t *testing.T) {
	exp := jwtNow.Add(time.Hour)
	tok := fakeJWT(map[string]any{"alg": "RS256", "kid": "k1"}, map[string]any{
		"iss": "https://issuer.test", "sub": "system:serviceaccount:ns:sa", "aud": "https://coreweave.com/iam",
		"exp": exp.Unix(), "iat": jwtNow.Unix()})
	c, err := CheckJWT(tok, jwtNow)
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != "https://issuer.test" || c.Subject != "system:serviceaccount:ns:sa" ||
		len(c.Audience) != 1 || c.Audience[0] != "https://coreweave.com/iam" || !c.Expiry.Equal(exp) || !c.IssuedAt.Equal(jwtNow) {
		t.Fatalf("claims %+v", c)
	}
	// aud as a list, fractional exp, padded segments.
	tok = fakeJWT(map[string]any{"alg": "ES256"}, map[string]any{"aud": []string{"a", "b"}, "exp": float64(exp.Unix()) + 0.5})
	parts := strings.Split(tok, ".")
	tok = parts[0] + "==." + parts[1] + "." + parts[2]
	if c, err = CheckJWT(tok, jwtNow); err != nil || len(c.Audience) != 2 || c.Expiry.Nanosecond() != 5e8 {
		t.Fatalf("claims %+v, err %v", c, err)
	}
}

func TestCheckJWTBad(t *testing.T) {
	exp := jwtNow.Add(time.Hour).Unix()
	good := map[string]any{"alg": "RS256"}
	cases := []struct {
		name, tok string
		want      error
		msg       string
	}{
		{"empty", "", ErrNotJWT, "empty"},
		{"opaque", "gho_abcdefghijklmnopqrstuvwxyz0123456789", ErrNotJWT, "1 part"},
		{"jwe", "a.b.c.d.e", ErrNotJWT, "5 part"},
		{"space", fakeJWT(good, map[string]any{"exp": exp}) + " x", ErrNotJWT, "character"},
		{"newline inside", strings.Replace(fakeJWT(good, map[string]any{"exp": exp}), ".", ".\n", 1), ErrNotJWT, "character"},
		{"header not base64", "!!!." + seg(map[string]any{"exp": exp}) + ".c2ln", ErrNotJWT, "character"},
		{"header not json", seg("nope") + "." + seg(map[string]any{"exp": exp}) + ".c2ln", ErrNotJWT, "header is not a JSON object"},
		{"no alg", fakeJWT(map[string]any{"typ": "JWT"}, map[string]any{"exp": exp}), ErrNotJWT, "no alg"},
		{"alg none", fakeJWT(map[string]any{"alg": "none"}, map[string]any{"exp": exp}), ErrNotJWT, "unsigned"},
		{"empty signature", seg(good) + "." + seg(map[string]any{"exp": exp}) + ".", ErrNotJWT, "signature is empty"},
		{"claims array", fakeJWT(good, []int{1}), ErrNotJWT, "claims are not a JSON object"},
		{"no exp", fakeJWT(good, map[string]any{"sub": "x"}), ErrNotJWT, "no exp"},
		{"exp string", fakeJWT(good, map[string]any{"exp": "tomorrow"}), ErrNotJWT, "exp claim is not a number"},
		{"exp negative", fakeJWT(good, map[string]any{"exp": -5}), ErrNotJWT, "exp claim is not a number"},
		{"sub number", fakeJWT(good, map[string]any{"exp": exp, "sub": 5}), ErrNotJWT, "sub claim"},
		{"aud object", fakeJWT(good, map[string]any{"exp": exp, "aud": map[string]int{}}), ErrNotJWT, "aud claim"},
		{"iat string", fakeJWT(good, map[string]any{"exp": exp, "iat": "now"}), ErrNotJWT, "iat claim"},
		{"expired", fakeJWT(good, map[string]any{"exp": jwtNow.Add(-time.Second).Unix()}), ErrExpired, "expired at 2026-03-01T11:59:59Z"},
		{"expires now", fakeJWT(good, map[string]any{"exp": jwtNow.Unix()}), ErrExpired, "expired at"},
		{"expires too soon", fakeJWT(good, map[string]any{"exp": jwtNow.Add(5 * time.Second).Unix()}), ErrExpired, "too soon"},
		{"too big", strings.Repeat("a", MaxJWTBytes+1), ErrNotJWT, "more than"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := CheckJWT(c.tok, jwtNow)
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("err %q does not mention %q", err, c.msg)
			}
			noSecrets(t, err, c.tok)
		})
	}
}

func FuzzCheckJWT(f *testing.F) {
	exp := jwtNow.Add(time.Hour).Unix()
	f.Add(fakeJWT(map[string]any{"alg": "RS256"}, map[string]any{"iss": "i", "sub": "s", "aud": "a", "exp": exp, "iat": 1}))
	f.Add(fakeJWT(map[string]any{"alg": "RS256"}, map[string]any{"exp": 1e300}))
	f.Add(fakeJWT(map[string]any{"alg": "RS256"}, map[string]any{"exp": 1.5, "aud": []any{1}}))
	f.Add(fakeJWT(map[string]any{"alg": 5}, "{}"))
	f.Add("a.b.c")
	f.Add("..")
	f.Add("eyJ.eyJ.")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := CheckJWT(tok, jwtNow)
		if err == nil {
			if !c.Expiry.After(jwtNow) {
				t.Fatalf("accepted a token expiring at %v", c.Expiry)
			}
			return
		}
		if !errors.Is(err, ErrNotJWT) && !errors.Is(err, ErrExpired) {
			t.Fatalf("error %v matches no sentinel", err)
		}
		if len(tok) >= 16 {
			noSecrets(t, err, tok)
		}
	})
}
