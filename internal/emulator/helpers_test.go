package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

var (
	keyIDRe  = regexp.MustCompile(`^CW[A-Z0-9]{14}$`)
	secretRe = regexp.MustCompile(`^cwo[a-z0-9]{40}$`)
)

// env is an emulator served on 127.0.0.1 by httptest, with a fake clock and a
// log observer.
type env struct {
	t     *testing.T
	e     *Emulator
	clock *clockwork.FakeClock
	api   *httptest.Server
	s3    *httptest.Server
	logs  *observer.ObservedLogs
}

func newEnv(t *testing.T, mods ...func(*Config)) *env {
	t.Helper()
	// Whole seconds, so expiries compare exactly; near real time, because the AWS
	// SDK signs S3 requests with the real clock and S3 refuses skewed ones.
	clock := clockwork.NewFakeClockAt(time.Now().UTC().Truncate(time.Second))
	core, logs := observer.New(zapcore.DebugLevel)
	cfg := Config{Clock: clock, Logger: zap.New(core)}
	for _, m := range mods {
		m(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	v := &env{t: t, e: e, clock: clock, logs: logs}
	v.api = httptest.NewServer(e.APIHandler())
	t.Cleanup(v.api.Close)
	v.s3 = httptest.NewServer(e.S3Handler())
	t.Cleanup(v.s3.Close)
	return v
}

// result is one HTTP answer.
type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

func (r result) rpcStatus(t *testing.T) cwobject.RPCStatus {
	t.Helper()
	var s cwobject.RPCStatus
	if err := json.Unmarshal(r.body, &s); err != nil {
		t.Fatalf("error answer is not google.rpc.Status: %v: %s", err, r.body)
	}
	return s
}

// expectError checks an error answer's HTTP status, gRPC code and message.
func (r result) expectError(t *testing.T, code cwobject.Code, msgPart string) cwobject.RPCStatus {
	t.Helper()
	s := r.rpcStatus(t)
	if r.status != cwobject.HTTPStatusForCode(code) || s.Code != code {
		t.Fatalf("got HTTP %d code %v (%q), want HTTP %d code %v", r.status, s.Code, s.Message, cwobject.HTTPStatusForCode(code), code)
	}
	if !strings.Contains(strings.ToLower(s.Message), strings.ToLower(msgPart)) {
		t.Fatalf("message %q does not mention %q", s.Message, msgPart)
	}
	if !bytes.Contains(r.body, []byte(`"details":[]`)) {
		t.Fatalf("error body lacks \"details\":[]: %s", r.body)
	}
	return s
}

func (r result) expectOK(t *testing.T) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("got HTTP %d: %s", r.status, r.body)
	}
}

// raw sends a request; header values of "" are not set.
func (v *env) raw(method, path string, header map[string]string, body []byte) result {
	v.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, v.api.URL+path, rd)
	if err != nil {
		v.t.Fatal(err)
	}
	for k, val := range header {
		if val != "" {
			req.Header.Set(k, val)
		}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := v.api.Client().Do(req)
	if err != nil {
		v.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		v.t.Fatalf("read answer: %v", err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: data}
}

// call sends an operation with a bearer token (if not "") and a JSON body (if not nil).
func (v *env) call(op cwobject.Operation, path, token string, body any) result {
	v.t.Helper()
	if path == "" {
		path = op.Path
	}
	var data []byte
	switch b := body.(type) {
	case nil:
	case string:
		data = []byte(b)
	case []byte:
		data = b
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			v.t.Fatal(err)
		}
	}
	h := map[string]string{}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	return v.raw(op.Method, path, h, data)
}

func (v *env) admin(op cwobject.Operation, path string, body any) result {
	v.t.Helper()
	return v.call(op, path, v.e.AdminToken(), body)
}

// mintJWTKey makes a key for the admin with CreateAccessKeyFromJWT.
func (v *env) mintJWTKey(seconds int64) cwobject.AccessKey {
	v.t.Helper()
	r := v.admin(cwobject.OpCreateAccessKeyFromJWT, "", map[string]any{"durationSeconds": seconds})
	r.expectOK(v.t)
	var k cwobject.AccessKey
	if err := json.Unmarshal(r.body, &k); err != nil {
		v.t.Fatal(err)
	}
	return k
}

// noSecretsLogged fails if any log line holds one of secrets.
func (v *env) noSecretsLogged(secrets ...string) {
	v.t.Helper()
	for _, entry := range v.logs.All() {
		line := entry.Message
		for _, f := range entry.Context {
			line += " " + f.Key + "=" + f.String
			if f.Interface != nil {
				if b, err := json.Marshal(f.Interface); err == nil {
					line += string(b)
				}
			}
		}
		for _, s := range secrets {
			if s != "" && strings.Contains(line, s) {
				v.t.Fatalf("a secret was logged: %q", entry.Message)
			}
		}
	}
}

func pathWith(pattern, name, value string) string {
	return strings.Replace(pattern, "{"+name+"}", value, 1)
}
