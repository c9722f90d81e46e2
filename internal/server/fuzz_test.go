package server

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func FuzzParseCredentialsPath(f *testing.F) {
	for _, s := range []string{
		"/v1/credentials", "/v1/credentials/prod", "/v1/credentials/..", "/v1/credentials/%2e%2e",
		"/v1/credentials/a%2Fb", "/v1/credentials//", "/v1/credentials/a/b", "/v1/credentialsX",
		"/v1/credentials/" + strings.Repeat("a", 64), "/v1/credentials/" + strings.Repeat("a", 65),
		"/v1/credentials/a?b=c", "*", "/v1/credentials/%00", "/v1/credentials/é",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return // net/http answers 400 before any handler runs
		}
		kind, name := parseCredentialsPath(u.Path, u.RawPath)
		switch kind {
		case pathNamed:
			if !validProfileName(name) || strings.ContainsAny(name, "/%\\") || name == "." || name == ".." ||
				len(name) > maxProfileNameLen || u.Path != CredentialsPath+"/"+name || u.RawPath != "" {
				t.Fatalf("%q gave profile %q", target, name)
			}
			// What was asked for is what the raw request said, byte for byte.
			if p, _, _ := strings.Cut(target, "?"); p != CredentialsPath+"/"+name {
				t.Fatalf("%q: raw path differs from the profile %q it names", target, name)
			}
		case pathDefault:
			if u.Path != CredentialsPath || name != "" {
				t.Fatalf("%q taken as the default profile", target)
			}
		default:
			if name != "" {
				t.Fatalf("%q: refused but named %q", target, name)
			}
		}
	})
}

// FuzzHandlerNeverEchoes sends arbitrary paths through the whole handler: it never
// panics, answers only 200 or 404, and never repeats what the caller sent.
func FuzzHandlerNeverEchoes(f *testing.F) {
	f.Add("/v1/credentials/<script>")
	f.Add("/v1/credentials/a")
	f.Add("/v1/credentials/%2e%2e/x")
	fx := newFixture(f, 0, map[string]Provider{"a": &staticProvider{c: sampleCreds(epoch.Add(1 << 40))}})
	f.Fuzz(func(t *testing.T, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL, r.RequestURI, r.Host = u, target, "127.0.0.1:9911"
		r.Header.Set("Authorization", testToken)
		w := httptest.NewRecorder()
		fx.handler.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK:
			return
		case http.StatusNotFound:
			if w.Body.String() != string(fx.s.static.notFound.body) {
				t.Fatalf("%q: 404 body %s", target, w.Body)
			}
		default:
			t.Fatalf("%q: status %d", target, w.Code)
		}
	})
}
