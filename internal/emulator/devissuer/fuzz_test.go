package devissuer

import (
	"crypto"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/jonboulle/clockwork"
)

// FuzzMintRoute feeds arbitrary bodies to POST /mint: the answer must be a token
// that verifies (200) or a JSON error (400), never a panic or a 5xx.
func FuzzMintRoute(f *testing.F) {
	for _, seed := range []string{
		`{"sub":"a","aud":["x"],"lifetimeSeconds":60}`,
		`{"sub":"a"}`,
		`{"sub":"","lifetimeSeconds":-1}`,
		`{"sub":"a","lifetimeSeconds":86401}`,
		`{"sub":"a","aud":[""]}`,
		`{"sub":"a","lifetimeSeconds":9223372036854775807}`,
		`{"sub":"a","extra":1}`,
		`[]`, `null`, `{}`, `{"sub":"a"} x`, "\xff",
	} {
		f.Add([]byte(seed))
	}
	key := mustP256(f)
	clock := clockwork.NewFakeClockAt(testStart)
	iss, err := New(Config{IssuerURL: "http://127.0.0.1:9900/dev-oidc", Key: key, Clock: clock})
	if err != nil {
		f.Fatal(err)
	}
	verifier := oidc.NewVerifier(iss.URL(), &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{key.Public()}},
		&oidc.Config{SkipClientIDCheck: true, SupportedSigningAlgs: []string{oidc.ES256}, Now: clock.Now})
	h := iss.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/dev-oidc/mint", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/json")
		r.RemoteAddr = "127.0.0.1:40000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK:
			var resp mintResponse
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
				t.Fatalf("200 body %q: %v", w.Body, err)
			}
			if _, err := verifier.Verify(t.Context(), resp.Token); err != nil {
				t.Fatalf("minted token does not verify: %v", err)
			}
		case http.StatusBadRequest:
			var e errorBody
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error != "invalid_request" || e.Description == "" {
				t.Fatalf("400 body %q (%v)", w.Body, err)
			}
		default:
			t.Fatalf("status %d for body %q: %s", w.Code, body, w.Body)
		}
	})
}
