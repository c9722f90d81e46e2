package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

func TestFaultStatusCodeAndRetryAfter(t *testing.T) {
	v := newEnv(t)
	tok := v.mintDev(devMint("job"))
	v.e.InjectFault("CreateAccessKeyFromOIDC", Fault{Count: 2, HTTPStatus: 503, Code: cwobject.CodeUnavailable, Message: "try later", RetryAfter: 1500 * time.Millisecond})
	for i := 0; i < 2; i++ {
		r := v.oidcExchange(tok, 60)
		r.expectError(t, cwobject.CodeUnavailable, "try later")
		if got := r.header.Get("Retry-After"); got != "2" {
			t.Fatalf("Retry-After %q, want 2", got)
		}
	}
	decodeKey(t, v.oidcExchange(tok, 60))
	if got := v.e.Calls()["CreateAccessKeyFromOIDC"]; got != 3 {
		t.Fatalf("calls = %d, want 3 (faulted calls count)", got)
	}

	// Only a code: the HTTP status follows the gateway mapping. Only a status: the code is guessed.
	v.e.InjectFault("*", Fault{Code: cwobject.CodeResourceExhausted})
	v.admin(cwobject.OpListAccessPolicies, "", nil).expectError(t, cwobject.CodeResourceExhausted, "injected")
	v.e.InjectFault("ListAccessPolicies", Fault{HTTPStatus: 502})
	r := v.admin(cwobject.OpListAccessPolicies, "", nil)
	if r.status != 502 || r.rpcStatus(t).Code != cwobject.CodeUnavailable {
		t.Fatalf("status %d body %s", r.status, r.body)
	}
	// A fault for another operation leaves this one alone.
	v.e.InjectFault("AuthCanI", Fault{HTTPStatus: 500})
	v.admin(cwobject.OpListAccessPolicies, "", nil).expectOK(t)
	v.e.ClearFaults()
	v.canI(v.e.AdminToken(), []string{"s3:*"}, []string{"*"})
}

func TestFaultLatencyUsesTheEmulatorClock(t *testing.T) {
	v := newEnv(t)
	v.e.InjectFault("ListAccessPolicies", Fault{Latency: 30 * time.Second})
	done := make(chan result, 1)
	go func() {
		done <- v.admin(cwobject.OpListAccessPolicies, "", nil)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := v.clock.BlockUntilContext(ctx, 1); err != nil {
		t.Fatalf("the call never waited on the clock: %v", err)
	}
	select {
	case <-done:
		t.Fatal("answered before the latency passed")
	default:
	}
	v.clock.Advance(30 * time.Second)
	r := <-done
	r.expectOK(t) // latency alone delays, then handles normally
}

func TestFaultReset(t *testing.T) {
	v := newEnv(t)
	v.e.InjectFault("AuthCanI", Fault{Reset: true})
	req, err := newJSONRequest(context.Background(), "POST", v.api.URL+cwobject.OpAuthCanI.Path, map[string]any{"actions": []string{"a"}, "resources": []string{"*"}})
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+v.e.AdminToken())
	resp, err := v.api.Client().Do(req)
	if err == nil {
		_ = resp.Body.Close()
		t.Fatalf("got HTTP %d, want a connection error", resp.StatusCode)
	}
	if !strings.Contains(err.Error(), "reset") && !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "EOF") {
		t.Fatalf("error %v, want a reset connection", err)
	}
	if v.e.Calls()["AuthCanI"] != 1 {
		t.Fatal("a reset call is not counted")
	}
}

func TestFaultMalformed(t *testing.T) {
	v := newEnv(t)
	v.e.InjectFault("ListAccessPolicies", Fault{Malformed: true})
	r := v.admin(cwobject.OpListAccessPolicies, "", nil)
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	var anything any
	if err := json.Unmarshal(r.body, &anything); err == nil {
		t.Fatalf("body is valid JSON: %s", r.body)
	}
	if !strings.HasPrefix(string(r.body), `{"policies":[`) {
		t.Fatalf("body %q is not a truncated answer", r.body)
	}
}

// The HTTP test hooks drive the same machinery.
func TestEmulatorHooksOverHTTP(t *testing.T) {
	v := newEnv(t)
	fault := `{"operation":"ListAccessPolicies","count":1,"httpStatus":429,"code":8,"message":"slow down","retryAfterSeconds":3,"latencyMs":0,"reset":false,"malformed":false}`
	v.raw("POST", "/_emulator/faults", nil, []byte(fault)).expectOK(t)
	r := v.admin(cwobject.OpListAccessPolicies, "", nil)
	r.expectError(t, cwobject.CodeResourceExhausted, "slow down")
	if r.header.Get("Retry-After") != "3" {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	v.admin(cwobject.OpListAccessPolicies, "", nil).expectOK(t)

	v.raw("POST", "/_emulator/faults", nil, []byte(`{"operation":"*","count":5,"code":14}`)).expectOK(t)
	v.raw("DELETE", "/_emulator/faults", nil, nil).expectOK(t)
	v.admin(cwobject.OpListAccessPolicies, "", nil).expectOK(t)

	stats := v.raw("GET", "/_emulator/stats", nil, nil)
	stats.expectOK(t)
	var s struct {
		Calls map[string]int `json:"calls"`
	}
	if err := json.Unmarshal(stats.body, &s); err != nil || s.Calls["ListAccessPolicies"] != 3 {
		t.Fatalf("stats %s (%v)", stats.body, err)
	}
	v.raw("POST", "/_emulator/reset-stats", nil, nil).expectOK(t)
	if len(v.e.Calls()) != 0 {
		t.Fatalf("calls after reset: %v", v.e.Calls())
	}

	for _, bad := range []string{`{"operation":"NoSuchOp"}`, `{"operation":"AuthCanI","httpStatus":99}`, `{"operation":"AuthCanI","code":42}`, `nope`} {
		v.raw("POST", "/_emulator/faults", nil, []byte(bad)).expectError(t, cwobject.CodeInvalidArgument, "")
	}
	info := v.raw("GET", "/_emulator/info", nil, nil).json(t)
	if info["orgId"] != v.e.OrgID() || info["devIssuer"] != v.e.DevIssuer().URL() {
		t.Fatalf("info %v", info)
	}
	v.raw("GET", "/v1/cwobject/nothing-here", nil, nil).expectError(t, cwobject.CodeNotFound, "no such operation")
}

func TestDateSkew(t *testing.T) {
	v := newEnv(t)
	date := func() time.Time {
		t.Helper()
		r := v.admin(cwobject.OpListAccessPolicies, "", nil)
		d, err := http.ParseTime(r.header.Get("Date"))
		if err != nil {
			t.Fatalf("Date %q: %v", r.header.Get("Date"), err)
		}
		return d
	}
	if got, want := date(), v.clock.Now().Truncate(time.Second); !got.Equal(want) {
		t.Fatalf("Date %s, want the emulator's clock %s", got, want)
	}
	v.e.SetDateSkew(-10 * time.Minute)
	if got, want := date(), v.clock.Now().Add(-10*time.Minute).Truncate(time.Second); !got.Equal(want) {
		t.Fatalf("skewed Date %s, want %s", got, want)
	}
	// Through the hook, as a test in another process sets it.
	r := v.raw(http.MethodPost, "/_emulator/date-skew", nil, []byte(`{"seconds":3600}`))
	if r.status != http.StatusOK {
		t.Fatalf("date-skew hook: %d %s", r.status, r.body)
	}
	if got, want := date(), v.clock.Now().Add(time.Hour).Truncate(time.Second); !got.Equal(want) {
		t.Fatalf("hook-skewed Date %s, want %s", got, want)
	}
	for _, bad := range []string{`{"seconds":"x"}`, `{"seconds":90000}`, `nope`} {
		if r := v.raw(http.MethodPost, "/_emulator/date-skew", nil, []byte(bad)); r.status != http.StatusBadRequest {
			t.Fatalf("date-skew %s: %d, want 400", bad, r.status)
		}
	}
	v.e.ClearFaults()
	if got, want := date(), v.clock.Now().Truncate(time.Second); !got.Equal(want) {
		t.Fatalf("Date after ClearFaults %s, want %s", got, want)
	}
}
