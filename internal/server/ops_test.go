package server

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/keypolicy"
)

func (f *fixture) ops(minTTL time.Duration) http.Handler {
	f.t.Helper()
	h, err := NewOpsHandler(OpsConfig{Server: f.s, Gatherer: f.reg, MinReadyTTL: minTTL, Logger: f.log})
	if err != nil {
		f.t.Fatal(err)
	}
	return h
}

func getOps(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	assertNoLeak(t, path, w.Body.String())
	return w
}

func readiness(t *testing.T, w *httptest.ResponseRecorder) Readiness {
	t.Helper()
	var rd Readiness
	if err := json.Unmarshal(w.Body.Bytes(), &rd); err != nil {
		t.Fatalf("readyz body %s: %v", w.Body, err)
	}
	if w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("readyz Content-Type %q", w.Header().Get("Content-Type"))
	}
	return rd
}

func TestHealthz(t *testing.T) {
	f := newFixture(t, 0, nil)
	h := f.ops(0)
	if w := getOps(t, h, http.MethodGet, "/healthz"); w.Code != 200 || w.Body.String() != "ok\n" {
		t.Errorf("healthz %d %q", w.Code, w.Body)
	}
	if w := getOps(t, h, http.MethodPost, "/healthz"); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST healthz %d", w.Code)
	}
	if w := getOps(t, h, http.MethodGet, "/v1/credentials"); w.Code != http.StatusNotFound {
		t.Errorf("ops serves credentials: %d", w.Code)
	}
	if _, err := NewOpsHandler(OpsConfig{Server: f.s}); err == nil {
		t.Error("an ops handler without a registry was built")
	}
}

func TestReadyzTransitions(t *testing.T) {
	f := newFixture(t, 0, nil)
	h := f.ops(10 * time.Minute)

	// No profiles: not ready.
	w := getOps(t, h, http.MethodGet, "/readyz")
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(readiness(t, w).Reason, "no profiles") {
		t.Errorf("no profiles: %d %s", w.Code, w.Body)
	}

	good := f.newRefresher("default", func(context.Context) (creds.Credentials, error) {
		return sampleCreds(f.clock.Now().Add(time.Hour)), nil
	})
	bad := f.newRefresher("rejected", func(context.Context) (creds.Credentials, error) {
		return creds.Credentials{}, &unrecoverableErr{"token audience is wrong"}
	})
	if err := f.s.SetProfiles("default", map[string]Provider{"default": good, "rejected": bad}); err != nil {
		t.Fatal(err)
	}

	// Nothing fetched yet.
	rd := readiness(t, getOps(t, h, http.MethodGet, "/readyz"))
	if rd.Ready || len(rd.Profiles) != 2 || rd.Profiles[0].Ready || !strings.Contains(rd.Profiles[0].Reason, "no valid keys") {
		t.Errorf("cold: %+v", rd)
	}

	// The default profile gets keys; the other is rejected upstream.
	if w := f.get(CredentialsPath); w.Code != http.StatusOK {
		t.Fatalf("warming up: %d %s", w.Code, w.Body)
	}
	f.waitFor(CredentialsPath+"/rejected", "rejected")

	// Brand-new keys are served at once, but readiness waits until S3 should
	// accept them (the cache's propagation delay).
	rd = readiness(t, getOps(t, h, http.MethodGet, "/readyz"))
	if rd.Profiles[0].Ready || !strings.Contains(rd.Profiles[0].Reason, "just minted") {
		t.Errorf("propagating: %+v", rd.Profiles[0])
	}
	f.clock.Advance(keypolicy.DefaultPropagationDelay)
	w = getOps(t, h, http.MethodGet, "/readyz")
	rd = readiness(t, w)
	if w.Code != http.StatusServiceUnavailable || rd.Ready || !rd.Profiles[0].Ready || !rd.Profiles[0].Default ||
		rd.Profiles[0].ExpiresInSeconds != 3595 || rd.Profiles[1].Ready ||
		!strings.Contains(rd.Profiles[1].Reason, "token audience is wrong") || !strings.Contains(rd.Profiles[1].Reason, "not usable") {
		t.Errorf("one rejected: %d %s", w.Code, w.Body)
	}

	// Only the good profile: ready.
	if err := f.s.SetProfiles("default", map[string]Provider{"default": good}); err != nil {
		t.Fatal(err)
	}
	if w = getOps(t, h, http.MethodGet, "/readyz"); w.Code != http.StatusOK || !readiness(t, w).Ready {
		t.Errorf("warm: %d %s", w.Code, w.Body)
	}

	// Keys below the minimum time-to-live: not ready, and the report says why.
	f.clock.Advance(55 * time.Minute)
	w = getOps(t, h, http.MethodGet, "/readyz")
	if rd = readiness(t, w); w.Code != http.StatusServiceUnavailable || !strings.Contains(rd.Profiles[0].Reason, "keys expire in 4m55s, less than the 10m0s minimum") {
		t.Errorf("near expiry: %d %s", w.Code, w.Body)
	}
}

func TestReadyzWithoutStatus(t *testing.T) {
	p := &staticProvider{c: sampleCreds(epoch.Add(time.Hour))}
	f := newFixture(t, 0, map[string]Provider{"default": p})
	h := f.ops(0)
	if w := getOps(t, h, http.MethodGet, "/readyz"); w.Code != http.StatusOK {
		t.Errorf("ready provider: %d %s", w.Code, w.Body)
	}
	p.set(creds.Credentials{}, errors.New("not yet\nreally"))
	w := getOps(t, h, http.MethodGet, "/readyz")
	if rd := readiness(t, w); w.Code != 503 || rd.Profiles[0].Reason != "not yet really" {
		t.Errorf("failing provider: %d %s", w.Code, w.Body)
	}
}

func TestMetrics(t *testing.T) {
	f := newFixture(t, 0, nil)
	r := f.newRefresher("default", func(context.Context) (creds.Credentials, error) {
		return sampleCreds(f.clock.Now().Add(time.Hour)), nil
	})
	other := &staticProvider{c: sampleCreds(epoch.Add(time.Hour))}
	if err := f.s.SetProfiles("default", map[string]Provider{"default": r, "other": other}); err != nil {
		t.Fatal(err)
	}
	f.get(CredentialsPath)                   // miss: fetches
	f.get(CredentialsPath)                   // hit
	f.get(CredentialsPath + "/made-up-name") // unknown profile: 404
	f.get("/v1/credentials/" + strings.Repeat("z", 300))
	noToken := f.request(http.MethodGet, CredentialsPath)
	noToken.Header.Del("Authorization")
	f.serve(noToken)
	f.clock.Advance(time.Hour) // the keys expire: refused once, then fetched again
	f.get(CredentialsPath)

	h := f.ops(0)
	w := getOps(t, h, http.MethodGet, "/metrics")
	out := w.Body.String()
	for _, want := range []string{
		`cwcreds_requests_total{profile="default",status="200"} 3`,
		`cwcreds_requests_total{profile="_unknown",status="404"} 2`,
		`cwcreds_requests_total{profile="default",status="401"} 1`,
		`cwcreds_exchanges_total{outcome="success",profile="default"} 2`,
		`cwcreds_exchanges_total{outcome="transient",profile="default"} 0`,
		`cwcreds_exchange_duration_seconds_count{profile="default"} 2`,
		`cwcreds_refreshes_total{profile="default"} 2`,
		`cwcreds_cache_hits_total{profile="default"} 1`,
		`cwcreds_cache_misses_total{profile="default"} 2`,
		`cwcreds_expired_refused_total{profile="default"} 1`,
		`cwcreds_credentials_expiry_seconds{profile="default"} 3600`,
		"go_goroutines ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(out, "made-up-name") || strings.Contains(out, "zzz") {
		t.Error("a caller-chosen name became a label")
	}
	if strings.Contains(out, `cwcreds_credentials_expiry_seconds{profile="other"}`) {
		t.Error("a provider with no status and no refresh has an expiry sample")
	}

	// Removed profiles lose their series.
	if err := f.s.SetProfiles("", map[string]Provider{"other": other}); err != nil {
		t.Fatal(err)
	}
	if out := getOps(t, h, http.MethodGet, "/metrics").Body.String(); strings.Contains(out, `profile="default"`) {
		t.Error("series of a removed profile remain")
	}
}

func TestNewMetricsNeedsAFreshRegistry(t *testing.T) {
	reg := NewRegistry()
	if _, err := NewMetrics(reg, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg, nil); err == nil {
		t.Error("registering twice in one registry succeeded")
	}
	if _, err := NewMetrics(nil, nil); err == nil {
		t.Error("a nil registry was accepted")
	}
}
