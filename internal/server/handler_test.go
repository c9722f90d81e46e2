package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/cache"
	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/keypolicy"
)

func TestSuccessIsExactlyWhatSDKsAccept(t *testing.T) {
	exp := time.Date(2026, 3, 1, 13, 0, 0, 500_000_000, time.FixedZone("X", -5*3600))
	c := sampleCreds(exp)
	c.SessionToken = "" // CoreWeave keys often have none: "Token" must still be sent
	p := &staticProvider{c: c}
	f := newFixture(t, 0, map[string]Provider{"default": p})
	w := f.get(CredentialsPath)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", w.Code, w.Body)
	}
	want := `{"AccessKeyId":"CWKEYID0001","SecretAccessKey":"` + secretMarker + `-1","Token":"","Expiration":"2026-03-01T18:00:00Z"}`
	if got := w.Body.String(); got != want {
		t.Fatalf("body\n got %s\nwant %s", got, want)
	}
	wantHeaders := map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store", "Content-Length": strconv.Itoa(len(want))}
	if len(w.Header()) != len(wantHeaders) {
		t.Errorf("headers %v, want exactly %v", w.Header(), wantHeaders)
	}
	for k, v := range wantHeaders {
		if got := w.Header()[k]; len(got) != 1 || got[0] != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
}

func TestNamedAndDefaultProfiles(t *testing.T) {
	a := &staticProvider{c: sampleCreds(epoch.Add(time.Hour))}
	b := &staticProvider{c: sampleCreds(epoch.Add(2 * time.Hour))}
	b.c.AccessKeyID = "CWKEYIDPROD"
	f := newFixture(t, 0, map[string]Provider{"default": a, "prod.eu-1_x": b})
	if w := f.get(CredentialsPath + "/prod.eu-1_x"); !strings.Contains(w.Body.String(), "CWKEYIDPROD") {
		t.Errorf("named profile served %d %s", w.Code, w.Body)
	}
	if w := f.get(CredentialsPath + "/default"); !strings.Contains(w.Body.String(), "CWKEYID0001") {
		t.Errorf("default profile by name served %d %s", w.Code, w.Body)
	}
	wantStatus(t, f.get(CredentialsPath+"/PROD.EU-1_X"), http.StatusNotFound, "NotFound")
	wantStatus(t, f.get(CredentialsPath+"/other"), http.StatusNotFound, "NotFound")

	// Without a default profile, /v1/credentials is 404.
	if err := f.s.SetProfiles("", map[string]Provider{"prod.eu-1_x": b}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, f.get(CredentialsPath), http.StatusNotFound, "NotFound")
}

func TestHeadHasHeadersButNoBody(t *testing.T) {
	f := newFixture(t, 0, map[string]Provider{"default": &staticProvider{c: sampleCreds(epoch.Add(time.Hour))}})
	w := f.serve(f.request(http.MethodHead, CredentialsPath))
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("HEAD: %d with %d body bytes", w.Code, w.Body.Len())
	}
	if w.Header().Get("Content-Type") != "application/json" || w.Header().Get("Content-Length") == "" {
		t.Errorf("HEAD headers %v", w.Header())
	}
}

func TestAuthToken(t *testing.T) {
	p := &staticProvider{c: sampleCreds(epoch.Add(time.Hour))}
	f := newFixture(t, 0, map[string]Provider{"default": p})
	cases := []struct {
		name   string
		values []string
		status int
		code   string
	}{
		{"none", nil, http.StatusUnauthorized, "MissingAuthorizationToken"},
		{"empty", []string{""}, http.StatusUnauthorized, "MissingAuthorizationToken"},
		{"wrong", []string{"nope"}, http.StatusForbidden, "InvalidAuthorizationToken"},
		{"prefix", []string{testToken[:len(testToken)-1]}, http.StatusForbidden, "InvalidAuthorizationToken"},
		{"longer", []string{testToken + "x"}, http.StatusForbidden, "InvalidAuthorizationToken"},
		{"bearer", []string{"Bearer " + testToken}, http.StatusForbidden, "InvalidAuthorizationToken"},
		{"very long", []string{strings.Repeat("a", 5000)}, http.StatusForbidden, "InvalidAuthorizationToken"},
		{"twice", []string{testToken, testToken}, http.StatusForbidden, "InvalidAuthorizationToken"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := f.request(http.MethodGet, CredentialsPath)
			r.Header.Del("Authorization")
			for _, v := range tc.values {
				r.Header.Add("Authorization", v)
			}
			wantStatus(t, f.serve(r), tc.status, tc.code)
		})
	}
	if n := p.calls.Load(); n != 0 {
		t.Errorf("the provider was asked %d times by unauthenticated requests", n)
	}
	// Unknown and malformed profiles are refused as unauthenticated first, so a
	// caller without the token learns nothing about which profiles exist.
	r := f.request(http.MethodGet, CredentialsPath+"/nosuch")
	r.Header.Del("Authorization")
	wantStatus(t, f.serve(r), http.StatusUnauthorized, "MissingAuthorizationToken")
}

func TestProxyHeadersRefused(t *testing.T) {
	p := &staticProvider{c: sampleCreds(epoch.Add(time.Hour))}
	f := newFixture(t, 0, map[string]Provider{"default": p})
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-IP", "X-Forwarded-Host"} {
		r := f.request(http.MethodGet, CredentialsPath)
		r.Header.Set(h, "203.0.113.7")
		wantStatus(t, f.serve(r), http.StatusForbidden, "ForwardedRequestRefused")
	}
	if p.calls.Load() != 0 {
		t.Error("a proxied request reached the provider")
	}
}

func TestBadPathsAre404AndNotEchoed(t *testing.T) {
	p := &staticProvider{c: sampleCreds(epoch.Add(time.Hour))}
	f := newFixture(t, 0, map[string]Provider{"default": p, "a": p, "a.b": p})
	long := strings.Repeat("x", 65)
	for _, target := range []string{
		"/v1/credentials/..", "/v1/credentials/.", "/v1/credentials/", "/v1/credentials//a",
		"/v1/credentials/a/b", "/v1/credentials/a%2Fb", "/v1/credentials%2Fa", "/v1/credentials/%2e%2e",
		"/v1/credentials/%61", "/v1/credentials/../credentials", "/v1/credentials/a..b", "/v1/credentials/" + long,
		"/v1/credentials/_a", "/v1/credentials/a%00", "/v1/credentials/a%20b", "/v1/credentialsa", "/v1/credential",
		"/", "/latest/meta-data/", "/v1/credentials/a?x=/etc/passwd", "*",
	} {
		t.Run(target, func(t *testing.T) {
			r := f.request(http.MethodGet, "/")
			u, err := url.ParseRequestURI(target) // as net/http parses a request line
			if err != nil {
				t.Fatal(err)
			}
			r.RequestURI, r.URL = target, u
			w := f.serve(r)
			if target == "/v1/credentials/a?x=/etc/passwd" { // the query is ignored
				if w.Code != http.StatusOK {
					t.Fatalf("status %d", w.Code)
				}
				return
			}
			wantStatus(t, w, http.StatusNotFound, "NotFound")
			for _, s := range []string{long, "passwd", "..", "%2", "a b", "meta-data"} {
				if strings.Contains(w.Body.String(), s) {
					t.Errorf("body echoes %q: %s", s, w.Body)
				}
			}
		})
	}
}

func TestWrongMethods(t *testing.T) {
	f := newFixture(t, 0, map[string]Provider{"default": &staticProvider{c: sampleCreds(epoch.Add(time.Hour))}})
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions, "PROPFIND"} {
		w := f.serve(f.request(m, CredentialsPath))
		wantStatus(t, w, http.StatusMethodNotAllowed, "MethodNotAllowed")
		if got := w.Header().Get("Allow"); got != "GET, HEAD" {
			t.Errorf("%s: Allow %q", m, got)
		}
	}
}

func TestColdRequestGives503WithinColdWait(t *testing.T) {
	p := newBlockingProvider(sampleCreds(epoch.Add(time.Hour)))
	f := newFixture(t, 30*time.Millisecond, map[string]Provider{"default": p})
	before := time.Now()
	w := f.get(CredentialsPath)
	wantStatus(t, w, http.StatusServiceUnavailable, "CredentialsUnavailable")
	if got := w.Header().Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1", got)
	}
	d := p.deadline.Load()
	if d == nil || d.Before(before) || d.After(before.Add(30*time.Millisecond+time.Second/10)) {
		t.Errorf("provider's context deadline %v, want about %v", d, before.Add(30*time.Millisecond))
	}
	if err, _ := p.ctxErr.Load().(error); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("provider's context ended with %v, want deadline exceeded", err)
	}
	if !strings.Contains(w.Body.String(), "try again") {
		t.Errorf("503 body does not say what to do: %s", w.Body)
	}
}

func TestColdRefresherGives503ThenServes(t *testing.T) {
	f := newFixture(t, 30*time.Millisecond, nil)
	block := make(chan struct{})
	r := f.newRefresher("default", func(ctx context.Context) (creds.Credentials, error) {
		select {
		case <-block:
		case <-ctx.Done():
			return creds.Credentials{}, ctx.Err()
		}
		return sampleCreds(f.clock.Now().Add(time.Hour)), nil
	})
	if err := f.s.SetProfiles("default", map[string]Provider{"default": r}); err != nil {
		t.Fatal(err)
	}
	w := f.get(CredentialsPath)
	wantStatus(t, w, http.StatusServiceUnavailable, "CredentialsUnavailable")
	if !strings.Contains(w.Body.String(), "still running") {
		t.Errorf("503 body: %s", w.Body)
	}
	close(block)
	if w = f.waitFor(CredentialsPath, "CWKEYID0001"); w.Code != http.StatusOK {
		t.Fatalf("after the fetch: %d %s", w.Code, w.Body)
	}
}

func TestUnrecoverableGives503WithReason(t *testing.T) {
	f := newFixture(t, 0, nil)
	r := f.newRefresher("default", func(context.Context) (creds.Credentials, error) {
		return creds.Credentials{}, &unrecoverableErr{"the service-account token has expired"}
	})
	if err := f.s.SetProfiles("default", map[string]Provider{"default": r}); err != nil {
		t.Fatal(err)
	}
	w := f.waitFor(CredentialsPath, "identity not usable")
	wantStatus(t, w, http.StatusServiceUnavailable, "CredentialsUnavailable")
	if !strings.Contains(w.Body.String(), "the service-account token has expired") {
		t.Errorf("503 lacks the reason: %s", w.Body)
	}
	// A fetcher without an input fingerprint is retried after the backoff maximum.
	if got := w.Header().Get("Retry-After"); got != "300" {
		t.Errorf("Retry-After %q, want 300 (cache.DefaultBackoffMax)", got)
	}
}

func TestProviderErrorsMapToStatuses(t *testing.T) {
	p := &staticProvider{}
	f := newFixture(t, 0, map[string]Provider{"default": p})
	long := "first line\nsecond\rline " + strings.Repeat("é", 600)
	cases := []struct {
		err        error
		status     int
		retryAfter string
		contains   string
	}{
		{&cache.NoCredentialsError{Profile: "default", Err: errors.New("upstream 503"), NextRetry: epoch.Add(89500 * time.Millisecond)}, 503, "90", "upstream 503"},
		{&cache.NoCredentialsError{Profile: "default", Err: errors.New(long)}, 503, "1", "first line second line"},
		{&unrecoverableErr{"access denied"}, 503, "1", "access denied"},
		{context.DeadlineExceeded, 503, "1", "still running"},
		{errors.New("disk on fire"), 500, "", "disk on fire"},
	}
	for _, tc := range cases {
		p.set(creds.Credentials{}, tc.err)
		w := f.get(CredentialsPath)
		code := "CredentialsUnavailable"
		if tc.status == 500 {
			code = "InternalError"
		}
		wantStatus(t, w, tc.status, code)
		if got := w.Header().Get("Retry-After"); got != tc.retryAfter {
			t.Errorf("%v: Retry-After %q, want %q", tc.err, got, tc.retryAfter)
		}
		if !strings.Contains(w.Body.String(), tc.contains) {
			t.Errorf("%v: body lacks %q: %s", tc.err, tc.contains, w.Body)
		}
		if strings.ContainsAny(w.Body.String(), "\n\r") || w.Body.Len() > 2*maxMessageLen+200 {
			t.Errorf("%v: body not cleaned: %q", tc.err, w.Body)
		}
	}
	// Keys a provider should never return are not served.
	for _, c := range []creds.Credentials{sampleCreds(epoch), {AccessKeyID: "X", Expiration: epoch.Add(time.Hour)}} {
		p.set(c, nil)
		wantStatus(t, f.get(CredentialsPath), http.StatusServiceUnavailable, "")
	}
}

func TestBodyIsEncodedOncePerKeys(t *testing.T) {
	p := &staticProvider{c: sampleCreds(epoch.Add(time.Hour))}
	f := newFixture(t, 0, map[string]Provider{"default": p})
	f.get(CredentialsPath)
	prof := f.s.set.Load().def
	first := prof.body.Load()
	f.get(CredentialsPath)
	if prof.body.Load() != first {
		t.Error("the body was re-encoded for the same keys")
	}
	next := sampleCreds(epoch.Add(2 * time.Hour))
	next.AccessKeyID = "CWKEYID0002"
	p.set(next, nil)
	w := f.get(CredentialsPath)
	if prof.body.Load() == first || !strings.Contains(w.Body.String(), "CWKEYID0002") {
		t.Errorf("new keys were not re-encoded: %s", w.Body)
	}
}

func TestSetProfilesValidates(t *testing.T) {
	f := newFixture(t, 0, nil)
	p := &staticProvider{}
	for _, tc := range []struct {
		def string
		m   map[string]Provider
	}{
		{"", map[string]Provider{"..": p}},
		{"", map[string]Provider{"a/b": p}},
		{"", map[string]Provider{"": p}},
		{"", map[string]Provider{"_x": p}},
		{"", map[string]Provider{"ok": nil}},
		{"missing", map[string]Provider{"ok": p}},
	} {
		if err := f.s.SetProfiles(tc.def, tc.m); err == nil {
			t.Errorf("SetProfiles(%q, %v) accepted", tc.def, tc.m)
		}
	}
	if err := f.s.SetProfiles("b", map[string]Provider{"b": p, "a": p}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.s.Profiles(), ","); got != "a,b" || f.s.DefaultProfile() != "b" {
		t.Errorf("profiles %s default %s", got, f.s.DefaultProfile())
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{{}, {Token: "a\nb"}, {Token: strings.Repeat("a", MaxTokenLen+1)}, {Token: "ok", ColdWait: -1}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+q) accepted", cfg.Token)
		} else if cfg.Token != "" && strings.Contains(err.Error(), cfg.Token) {
			t.Errorf("error echoes the token: %v", err)
		}
	}
}

func TestColdCtx(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := newColdCtx(parent, time.Hour)
	if d, ok := c.Deadline(); !ok || time.Until(d) < 59*time.Minute {
		t.Errorf("deadline %v %v", d, ok)
	}
	if c.Err() != nil {
		t.Error("a fresh context is done")
	}
	c.release()
	<-c.Done()
	if !errors.Is(c.Err(), context.Canceled) {
		t.Errorf("released context: %v", c.Err())
	}
	// Armed only after release (a provider that kept it): done at once.
	c2 := newColdCtx(parent, time.Hour)
	c2.release()
	<-c2.Done()
	// The parent's end ends it.
	c3 := newColdCtx(parent, time.Hour)
	done := c3.Done()
	cancel()
	<-done
	c3.release()
}

// A reload that finds a new token in the file switches the endpoint to it at once;
// one that finds a broken file keeps the previous token.
func TestAuthTokenReloadRotates(t *testing.T) {
	f := newFixture(t, 0, nil)
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(testToken), 0o600); err != nil {
		t.Fatal(err)
	}
	tok, err := LoadAuthToken(path, AuthTokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{AuthToken: tok, Metrics: f.m, Logger: f.log, Clock: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetProfiles("default", map[string]Provider{"default": &staticProvider{c: sampleCreds(epoch.Add(time.Hour))}}); err != nil {
		t.Fatal(err)
	}
	f.s, f.handler = s, s.Handler(testAddr)
	if w := f.get(CredentialsPath); w.Code != http.StatusOK {
		t.Fatalf("the file's token: %d", w.Code)
	}

	const next = "AUTHTOKENMARKER-rotated"
	if err := os.WriteFile(path, []byte(next), 0o600); err != nil {
		t.Fatal(err)
	}
	if changed, err := tok.Reload(); err != nil || !changed {
		t.Fatalf("Reload: changed=%v %v", changed, err)
	}
	wantStatus(t, f.get(CredentialsPath), http.StatusForbidden, "InvalidAuthorizationToken")
	r := f.request(http.MethodGet, CredentialsPath)
	r.Header.Set("Authorization", next)
	if w := f.serve(r); w.Code != http.StatusOK {
		t.Errorf("new token: %d", w.Code)
	}

	if err := os.WriteFile(path, []byte("bad\ntoken"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := tok.Reload(); err == nil || strings.Contains(err.Error(), "bad") {
		t.Errorf("Reload of a token with a line break: %v", err)
	}
	r = f.request(http.MethodGet, CredentialsPath)
	r.Header.Set("Authorization", next)
	if w := f.serve(r); w.Code != http.StatusOK {
		t.Errorf("the previous token after a failed reload: %d", w.Code)
	}
}

func TestNewTakesOneToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	tok, err := LoadAuthToken(path, AuthTokenOptions{Generate: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{AuthToken: tok, Token: testToken}); err == nil || strings.Contains(err.Error(), testToken) {
		t.Errorf("New with both tokens: %v", err)
	}
	if _, err := New(Config{AuthToken: tok}); err != nil {
		t.Errorf("New with a token file: %v", err)
	}
}

// A request for keys the refresher minted less than propagation_delay ago waits
// for them within the cold-wait budget, or gets 503 with the seconds until they
// are propagated, rounded up.
func TestColdKeysWaitForPropagation(t *testing.T) {
	// The server's own bound is wall time; keep it out of the way of the
	// refresher's budget, which runs on the fake clock.
	f := newFixture(t, time.Minute, nil)
	r, err := cache.NewRefresher(cache.Config{
		Profile: "default", Clock: f.clock, Logger: f.log, Events: NewObserver(f.m, f.log),
		Fetcher: cache.FetcherFunc(func(context.Context) (creds.Credentials, error) {
			return sampleCreds(f.clock.Now().Add(time.Hour)), nil
		}),
		Policy:           withPropagation(3 * time.Second),
		ColdWait:         800 * time.Millisecond,
		AwaitPropagation: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.SetProfiles("default", map[string]Provider{"default": r}); err != nil {
		t.Fatal(err)
	}

	w := f.get(CredentialsPath) // minted now: 3 s to go, beyond the 800 ms budget
	wantStatus(t, w, http.StatusServiceUnavailable, "CredentialsUnavailable")
	if got := w.Header().Get("Retry-After"); got != "3" {
		t.Errorf("Retry-After %q, want 3", got)
	}
	if !strings.Contains(w.Body.String(), "not accepted by S3 yet") {
		t.Errorf("503 body does not say why: %s", w.Body)
	}
	f.clock.Advance(900 * time.Millisecond) // 2.1 s to go: rounded up
	w = f.get(CredentialsPath)
	wantStatus(t, w, http.StatusServiceUnavailable, "CredentialsUnavailable")
	if got := w.Header().Get("Retry-After"); got != "3" {
		t.Errorf("Retry-After %q, want 3 (2.1 s rounded up)", got)
	}

	f.clock.Advance(1500 * time.Millisecond) // 600 ms to go: within the budget
	done := make(chan *recorder, 1)
	go func() { done <- f.get(CredentialsPath) }()
	if err := f.clock.BlockUntilContext(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	select {
	case w := <-done:
		t.Fatalf("answered %d before the keys propagated: %s", w.Code, w.Body)
	default:
	}
	f.clock.Advance(600 * time.Millisecond)
	if w := <-done; w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "CWKEYID0001") {
		t.Fatalf("after the delay: %d %s", w.Code, w.Body)
	}
	if w := f.get(CredentialsPath); w.Code != http.StatusOK {
		t.Fatalf("propagated keys: %d %s", w.Code, w.Body)
	}
}

// withPropagation is the default refresh rule with another propagation delay.
func withPropagation(d time.Duration) cache.Policy {
	p := keypolicy.Default()
	p.PropagationDelay = d
	return p
}
