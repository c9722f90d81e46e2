package server

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/exchange"
)

// FuzzAgentAuthorization feeds arbitrary Authorization values to the agent: it
// never panics, answers 200 only for a token that is a JWT with iss, sub, an
// unexpired exp and the audience — the only kind the provider is ever given —
// and never echoes the value in an error.
func FuzzAgentAuthorization(f *testing.F) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, s := range []string{
		podJWT(podClaims("system:serviceaccount:a:b", epoch.Add(time.Hour))),
		podJWT(podClaims("system:serviceaccount:a:b", epoch.Add(-time.Hour))),
		enc(`{"alg":"RS256"}`) + "." + enc(`{"iss":"i","sub":"s","aud":"`+testAudience+`","exp":1e10}`) + ".c2ln",
		enc(`{"alg":"RS256"}`) + "." + enc(`{"iss":"i","sub":"s","aud":["x","`+testAudience+`"],"exp":1e10}`) + ".c2ln",
		enc(`{"alg":"none"}`) + "." + enc(`{"exp":1e10}`) + ".",
		"", "Bearer x", "a.b.c", "..", "eyJ.eyJ.eyJ", strings.Repeat(".", 100),
	} {
		f.Add(s)
	}
	fx := newAgentFixture(f, nil)
	f.Fuzz(func(t *testing.T, token string) {
		if strings.ContainsAny(token, "\r\n\x00") {
			return // net/http refuses such header values before any handler
		}
		fx.t = t // the checks of serve report to this input's test
		before := fx.p.calls()
		r := fx.request(http.MethodGet, CredentialsPath)
		r.Header.Set("Authorization", token)
		w := fx.serve(r)
		asked := fx.p.calls() - before
		c, err := exchange.CheckJWT(token, epoch)
		valid := err == nil && c.Issuer != "" && c.Subject != "" && slices.Contains(c.Audience, testAudience)
		switch {
		case w.Code == http.StatusOK && !valid:
			t.Fatalf("200 for a token that is not a valid identity token")
		case valid && (w.Code != http.StatusOK || asked != 1):
			t.Fatalf("a valid token got %d and %d provider calls", w.Code, asked)
		case !valid && asked != 0:
			t.Fatalf("the provider was asked for a refused token")
		case w.Code != http.StatusOK && len(token) >= 8 && strings.Contains(w.Body.String(), token):
			t.Fatalf("the error body echoes the token")
		}
	})
}
