package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cwcreds/cwcreds/internal/cache"
	"github.com/cwcreds/cwcreds/internal/creds"
)

const testAudience = "https://coreweave.com/iam"

// podJWT is a JWT-shaped token (not signed: the agent does not verify) whose
// signature part carries a marker, so a leak of the token shows.
func podJWT(claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]any{"alg": "RS256", "kid": "k1"}) + "." + enc(claims) + "." + "PODTOKENMARKERAA" + base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprint(claims["sub"])))
}

func podClaims(sub string, exp time.Time) map[string]any {
	return map[string]any{"iss": "https://kubernetes.default.svc", "sub": sub, "aud": []string{testAudience}, "exp": exp.Unix(), "iat": exp.Add(-time.Hour).Unix()}
}

// agentProvider keeps AgentProvider's contract: admit once per new token, refuse
// a held one past its limit. tokens lists the admitted tokens of each Get.
type agentProvider struct {
	mu       sync.Mutex
	tokens   []string
	notAfter map[string]time.Time
	err      error
	clock    clockwork.Clock
}

func (p *agentProvider) Get(_ context.Context, token string, admit func() (time.Time, error)) (creds.Credentials, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.notAfter == nil {
		p.notAfter = map[string]time.Time{}
	}
	na, held := p.notAfter[token]
	if !held {
		var err error
		if na, err = admit(); err != nil {
			return creds.Credentials{}, err
		}
		p.notAfter[token] = na
	} else if !p.clock.Now().Before(na) {
		return creds.Credentials{}, cache.ErrTokenExpired
	}
	p.tokens = append(p.tokens, token)
	if p.err != nil {
		return creds.Credentials{}, p.err
	}
	c := sampleCreds(p.clock.Now().Add(time.Hour))
	c.AccessKeyID = fmt.Sprintf("CWAGENT%04d", len(p.tokens))
	return c, nil
}

func (p *agentProvider) calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.tokens)
}

type agentFixture struct {
	*fixture
	p *agentProvider
}

func newAgentFixture(t testing.TB, ready func(context.Context) (bool, string)) *agentFixture {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(core)
	clock := clockwork.NewFakeClockAt(epoch)
	reg := NewRegistry()
	m, err := NewMetrics(reg, clock)
	if err != nil {
		t.Fatal(err)
	}
	p := &agentProvider{clock: clock}
	am, err := NewAgentMetrics(reg, func() int { p.mu.Lock(); defer p.mu.Unlock(); return len(p.notAfter) })
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Metrics: m, Logger: log, Clock: clock, Agent: &AgentConfig{Provider: p, Audience: testAudience, Metrics: am, Ready: ready}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, s: s, reg: reg, m: m, logs: logs, log: log, clock: clock, handler: s.Handler(testAddr)}
	t.Cleanup(func() {
		f.assertNoSecretsLogged()
		for _, e := range logs.All() {
			for k, v := range e.ContextMap() {
				if strings.Contains(fmt.Sprint(v), "PODTOKENMARKER") {
					t.Errorf("log field %s holds a caller's token", k)
				}
			}
		}
	})
	return &agentFixture{fixture: f, p: p}
}

func (f *agentFixture) call(token string, mod func(*http.Request)) *httptest.ResponseRecorder {
	r := f.request(http.MethodGet, CredentialsPath)
	r.Header.Set("Authorization", token)
	if mod != nil {
		mod(r)
	}
	w := f.serve(r)
	if w.Code != http.StatusOK && strings.Contains(w.Body.String(), "PODTOKENMARKER") {
		f.t.Errorf("an error body echoes the caller's token: %s", w.Body)
	}
	return w
}

func TestAgentServesTheCallersIdentity(t *testing.T) {
	f := newAgentFixture(t, nil)
	tok := podJWT(podClaims("system:serviceaccount:ml:trainer", epoch.Add(time.Hour)))
	w := f.call(tok, nil)
	wantStatus(t, w, http.StatusOK, "")
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var body map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body["AccessKeyId"] != "CWAGENT0001" {
		t.Fatalf("body %s (%v)", w.Body, err)
	}
	if len(f.p.tokens) != 1 || f.p.tokens[0] != tok {
		t.Fatalf("the provider was not given the caller's token")
	}
	// HEAD answers like GET, without a body.
	w = f.call(tok, func(r *http.Request) { r.Method = http.MethodHead })
	wantStatus(t, w, http.StatusOK, "")
	// Once the token expires (less the leeway), the held identity is refused.
	f.clock.Advance(time.Hour - 5*time.Second)
	wantStatus(t, f.call(tok, nil), http.StatusForbidden, "ExpiredIdentityToken")
	if n := f.p.calls(); n != 2 {
		t.Errorf("the provider served %d times, want 2", n)
	}
}

// Bad tokens are refused before the provider (so the exchange) is asked.
func TestAgentRefusesBadTokensWithoutUpstreamCall(t *testing.T) {
	f := newAgentFixture(t, nil)
	good := podClaims("system:serviceaccount:ml:a", epoch.Add(time.Hour))
	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for k, v := range good {
			c[k] = v
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	cases := []struct {
		name, token string
		status      int
		code        string
	}{
		{"missing", "", http.StatusUnauthorized, "MissingIdentityToken"},
		{"opaque", "PODTOKENMARKER-not-a-jwt", http.StatusBadRequest, "MalformedIdentityToken"},
		{"bearer prefix", "Bearer " + podJWT(good), http.StatusBadRequest, "MalformedIdentityToken"},
		{"two parts", enc(`{"alg":"RS256"}`) + "." + enc(`{"exp":1}`), http.StatusBadRequest, "MalformedIdentityToken"},
		{"alg none", enc(`{"alg":"none"}`) + "." + enc(`{"exp":9999999999}`) + ".PODTOKENMARKER", http.StatusBadRequest, "MalformedIdentityToken"},
		{"claims not json", enc(`{"alg":"RS256"}`) + "." + enc("PODTOKENMARKER") + ".c2ln", http.StatusBadRequest, "MalformedIdentityToken"},
		{"no exp", podJWT(with("exp", nil)), http.StatusBadRequest, "MalformedIdentityToken"},
		{"no sub", podJWT(with("sub", nil)), http.StatusBadRequest, "MalformedIdentityToken"},
		{"no iss", podJWT(with("iss", nil)), http.StatusBadRequest, "MalformedIdentityToken"},
		{"expired", podJWT(with("exp", epoch.Add(-time.Minute).Unix())), http.StatusForbidden, "ExpiredIdentityToken"},
		{"expires in 5s", podJWT(with("exp", epoch.Add(5*time.Second).Unix())), http.StatusForbidden, "ExpiredIdentityToken"},
		{"wrong audience", podJWT(with("aud", "sts.amazonaws.com")), http.StatusForbidden, "WrongAudience"},
		{"no audience", podJWT(with("aud", nil)), http.StatusForbidden, "WrongAudience"},
		{"huge", strings.Repeat("a", 70<<10), http.StatusBadRequest, "MalformedIdentityToken"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := f.call(tc.token, nil)
			wantStatus(t, w, tc.status, tc.code)
		})
	}
	t.Run("two headers", func(t *testing.T) {
		w := f.call(podJWT(good), func(r *http.Request) { r.Header.Add("Authorization", podJWT(good)) })
		wantStatus(t, w, http.StatusBadRequest, "MalformedIdentityToken")
	})
	if n := f.p.calls(); n != 0 {
		t.Fatalf("the provider was asked %d times for refused tokens", n)
	}
}

// The protections of serve apply to the agent too, before the token is read.
func TestAgentKeepsServesProtections(t *testing.T) {
	f := newAgentFixture(t, nil)
	tok := podJWT(podClaims("system:serviceaccount:ml:a", epoch.Add(time.Hour)))
	cases := []struct {
		name   string
		mod    func(*http.Request)
		status int
		code   string
	}{
		{"forwarded", func(r *http.Request) { r.Header.Set("X-Forwarded-For", "10.0.0.1") }, http.StatusForbidden, "ForwardedRequestRefused"},
		{"rebinding host", func(r *http.Request) { r.Host = "attacker.example:9911" }, http.StatusMisdirectedRequest, "MisdirectedRequest"},
		{"profile path", func(r *http.Request) { r.URL.Path = CredentialsPath + "/default" }, http.StatusNotFound, "NotFound"},
		{"other path", func(r *http.Request) { r.URL.Path = "/latest/meta-data/" }, http.StatusNotFound, "NotFound"},
		{"escaped path", func(r *http.Request) { r.URL.RawPath = "/v1/%63redentials" }, http.StatusNotFound, "NotFound"},
		{"post", func(r *http.Request) { r.Method = http.MethodPost }, http.StatusMethodNotAllowed, "MethodNotAllowed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { wantStatus(t, f.call(tok, tc.mod), tc.status, tc.code) })
	}
	if n := f.p.calls(); n != 0 {
		t.Fatalf("the provider was asked %d times for refused requests", n)
	}
	// The link-local addresses the SDKs accept are served when bound.
	for _, addr := range []string{"169.254.170.23:9911", "[fd00:ec2::23]:9911"} {
		ap := mustTCPAddr(t, addr)
		h := f.s.Handler(ap)
		r := f.request(http.MethodGet, CredentialsPath)
		r.Host = addr
		r.Header.Set("Authorization", tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		wantStatus(t, w, http.StatusOK, "")
	}
}

// A rate-limited exchange is 503 with Retry-After, and counted.
func TestAgentRateLimitedIs503WithRetryAfter(t *testing.T) {
	f := newAgentFixture(t, nil)
	f.p.err = &cache.NoCredentialsError{Profile: AgentProfile, Class: cache.Transient,
		Err: fmt.Errorf("%w: test", cache.ErrRateLimited), NextRetry: epoch.Add(2500 * time.Millisecond)}
	w := f.call(podJWT(podClaims("system:serviceaccount:ml:a", epoch.Add(time.Hour))), nil)
	wantStatus(t, w, http.StatusServiceUnavailable, "CredentialsUnavailable")
	if ra := w.Header().Get("Retry-After"); ra != "3" {
		t.Errorf("Retry-After %q, want 3", ra)
	}
	out := scrape(t, f.fixture)
	for _, want := range []string{"cwcreds_agent_rate_limited_total 1", `cwcreds_requests_total{profile="agent",status="503"} 1`, "cwcreds_agent_identities 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// A provider failure that is not a rate limit is not counted as one.
	f.p.err = &cache.NoCredentialsError{Profile: AgentProfile, Class: cache.Unrecoverable, Err: fmt.Errorf("rejected upstream")}
	wantStatus(t, f.call(podJWT(podClaims("system:serviceaccount:ml:b", epoch.Add(time.Hour))), nil), http.StatusServiceUnavailable, "CredentialsUnavailable")
	if out := scrape(t, f.fixture); !strings.Contains(out, "cwcreds_agent_rate_limited_total 1\n") {
		t.Errorf("an unrecoverable failure counted as rate limited")
	}
}

// Metrics count the agent under the one label "agent": no token, no hash.
func TestAgentMetricsNameNoIdentity(t *testing.T) {
	f := newAgentFixture(t, nil)
	for i := range 5 {
		wantStatus(t, f.call(podJWT(podClaims(fmt.Sprintf("system:serviceaccount:ml:pod-%d", i), epoch.Add(time.Hour))), nil), http.StatusOK, "")
	}
	wantStatus(t, f.call("garbage", nil), http.StatusBadRequest, "MalformedIdentityToken")
	out := scrape(t, f.fixture)
	for _, want := range []string{`cwcreds_requests_total{profile="agent",status="200"} 5`, `cwcreds_requests_total{profile="agent",status="400"} 1`, "cwcreds_agent_identities 5"} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s:\n%s", want, out)
		}
	}
	for _, tok := range f.p.tokens {
		if strings.Contains(out, IdentityLabel(tok)) || strings.Contains(out, "PODTOKENMARKER") {
			t.Fatalf("metrics name an identity")
		}
	}
}

func TestAgentReadiness(t *testing.T) {
	var mu sync.Mutex
	ready, reason := false, "the CoreWeave API was not reachable at the last check"
	f := newAgentFixture(t, func(context.Context) (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return ready, reason
	})
	ops := f.ops(0)
	w := getOps(t, ops, http.MethodGet, "/readyz")
	if rd := readiness(t, w); w.Code != http.StatusServiceUnavailable || rd.Ready || rd.Mode != "agent" || rd.Reason != reason {
		t.Fatalf("readyz %d %+v", w.Code, rd)
	}
	mu.Lock()
	ready, reason = true, ""
	mu.Unlock()
	if w := getOps(t, ops, http.MethodGet, "/readyz"); w.Code != http.StatusOK {
		t.Fatalf("readyz %d %s", w.Code, w.Body)
	}
}

func TestAgentConfigErrors(t *testing.T) {
	p := &agentProvider{clock: clockwork.NewRealClock()}
	for name, cfg := range map[string]Config{
		"token too":   {Token: testToken, Agent: &AgentConfig{Provider: p, Audience: testAudience}},
		"no provider": {Agent: &AgentConfig{Audience: testAudience}},
		"no audience": {Agent: &AgentConfig{Provider: p}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	s, err := New(Config{Agent: &AgentConfig{Provider: p, Audience: testAudience}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetProfiles("", map[string]Provider{"x": &staticProvider{}}); err == nil {
		t.Error("an agent accepted profiles")
	}
}

func scrape(t *testing.T, f *fixture) string {
	t.Helper()
	w := getOps(t, f.ops(0), http.MethodGet, "/metrics")
	b, _ := io.ReadAll(w.Body)
	return string(b)
}

func mustTCPAddr(t *testing.T, s string) *net.TCPAddr {
	t.Helper()
	a, err := net.ResolveTCPAddr("tcp", s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
