package cwobject

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func noRetry(c *Config) { c.Retry.MaxAttempts = 1 }

func TestErrorAnswers(t *testing.T) {
	big := `{"code":13,"message":"` + strings.Repeat("x", MaxResponseBytes) + `"}`
	for _, tc := range []struct {
		name        string
		status      int
		contentType string
		body        string
		wantCode    Code
		wantMsg     string // substring of Message
		retryable   bool
		unrecover   bool
	}{
		{"rpc status", 403, "application/json", `{"code":7,"message":"principal lacks cwobject:CreateAccessKeyOIDC","details":[]}`,
			CodePermissionDenied, "principal lacks cwobject:CreateAccessKeyOIDC", false, true},
		{"rpc status code by name", 400, "application/json", `{"code":"INVALID_ARGUMENT","message":"bad"}`,
			CodeInvalidArgument, "bad", false, true},
		{"gateway v1 error field", 404, "application/json", `{"error":"no such key","code":5}`,
			CodeNotFound, "no such key", false, true},
		{"unauthenticated", 401, "application/json", `{"code":16,"message":"Invalid token"}`,
			CodeUnauthenticated, "Invalid token", false, true},
		{"html 502 from a proxy", 502, "text/html; charset=utf-8", `<html><body><h1>502 Bad Gateway</h1></body></html>`,
			CodeUnavailable, "HTTP 502 with a non-JSON body (text/html) — a proxy or load balancer answered, not the CoreWeave API", true, false},
		{"empty 500", 500, "", ``, CodeInternal, "HTTP 500 with an empty body", true, false},
		{"truncated json 500", 500, "application/json", `{"code":13,"mess`, CodeInternal, "HTTP 500 with a malformed JSON body", true, false},
		{"json but not a status", 503, "application/json", `{"hello":"world"}`, CodeUnavailable, "not a google.rpc.Status", true, false},
		{"oversize 500", 500, "application/json", big, CodeInternal, "HTTP 500 with a body larger than 1048576 bytes", true, false},
		{"out-of-range code falls back", 429, "application/json", `{"code":99,"message":"slow down"}`,
			CodeResourceExhausted, "slow down", true, false},
		{"unimplemented", 501, "application/json", `{"code":12,"message":"no"}`, CodeUnimplemented, "no", false, true},
		{"proxy 405 is not retryable", 405, "text/plain", `method not allowed`, CodeUnknown, "non-JSON body (text/plain)", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				if tc.contentType != "" {
					w.Header().Set("Content-Type", tc.contentType)
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}, noRetry)
			_, err := env.client.GetBucketInfo(context.Background(), "b")
			var se *StatusError
			if !errors.As(err, &se) {
				t.Fatalf("err = %T %v, want *StatusError", err, err)
			}
			if se.Op != "GetBucketInfo" || se.HTTPStatus != tc.status || se.Code != tc.wantCode || !strings.Contains(se.Message, tc.wantMsg) {
				t.Fatalf("got %+v, want code %v msg containing %q", se, tc.wantCode, tc.wantMsg)
			}
			if IsRetryable(err) != tc.retryable || IsUnrecoverable(err) != tc.unrecover || CodeOf(err) != tc.wantCode {
				t.Fatalf("retryable %v unrecoverable %v code %v", IsRetryable(err), IsUnrecoverable(err), CodeOf(err))
			}
			if len(se.Message) > maxMessageBytes+len("…") || strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("message not capped to one line: %d bytes", len(se.Message))
			}
		})
	}
}

func TestStatusErrorFormat(t *testing.T) {
	env := newEnv(t, always(403, `{"code":7,"message":"not allowed"}`))
	_, err := env.client.CreateAccessKeyFromOIDC(context.Background(), CreateAccessKeyFromOIDCRequest{OrgID: "o", OIDCToken: testOIDCToken})
	const want = "cwobject: CreateAccessKeyFromOIDC: PermissionDenied (HTTP 403): not allowed; "
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err = %v, want prefix %q", err, want)
	}
	env = newEnv(t, always(403, `{"code":7,"message":"no"}`))
	_, err = env.client.CreateAccessKeyFromJWT(context.Background(), CreateAccessKeyFromJWTRequest{})
	if !strings.Contains(err.Error(), "must allow cwobject:CreateAccessKey") {
		t.Fatalf("no actionable hint: %v", err)
	}
}

func TestLongMultilineMessageIsCappedAndFlattened(t *testing.T) {
	msg := strings.Repeat("line one\nline two\r\n\u2028", 200)
	env := newEnv(t, always(400, fmt.Sprintf(`{"code":3,"message":%q}`, msg)))
	_, err := env.client.GetBucketInfo(context.Background(), "b")
	var se *StatusError
	if !errors.As(err, &se) {
		t.Fatal(err)
	}
	if len(se.Message) > maxMessageBytes+len("…") || strings.ContainsAny(se.Message, "\r\n\u2028") {
		t.Fatalf("message %q", se.Message)
	}
}

func TestMalformedSuccessBodies(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   string
		call   func(*Client) error
		reason string
	}{
		{"empty", ``, func(c *Client) error { _, err := c.GetBucketInfo(context.Background(), "b"); return err }, "empty body"},
		{"truncated", `{"info":{"name":"b","orgId":`, func(c *Client) error { _, err := c.GetBucketInfo(context.Background(), "b"); return err }, "not valid JSON"},
		{"html", `<html>captive portal</html>`, func(c *Client) error { _, err := c.GetBucketInfo(context.Background(), "b"); return err }, "not JSON"},
		{"html on empty answer", `<html>captive portal</html>`, func(c *Client) error { return c.DeleteAccessPolicy(context.Background(), "p") }, "not JSON"},
		{"missing info", `{}`, func(c *Client) error { _, err := c.GetBucketInfo(context.Background(), "b"); return err }, "info: missing"},
		{"missing secret", `{"accessKeyId":"CW1"}`, func(c *Client) error {
			_, err := c.CreateAccessKeyFromJWT(context.Background(), CreateAccessKeyFromJWTRequest{})
			return err
		}, "secretKey: missing"},
		{"missing expiration", `{"AccessKeyId":"CW1","SecretAccessKey":"` + testSecretKey + `"}`, func(c *Client) error {
			_, err := c.CreateAccessKeyFromApiToken(context.Background())
			return err
		}, "Expiration: missing"},
		{"wrong type", `{"info":[{"accessKeyId":12345678}]}`, func(c *Client) error {
			_, err := c.ListAccessKeyInfo(context.Background(), ListAccessKeyInfoRequest{})
			return err
		}, "info[0].accessKeyId: want a string"},
		{"bad timestamp", `{"accessKeyId":"CW1","secretKey":"` + testSecretKey + `","expiry":"` + testSecretKey + `"}`, func(c *Client) error {
			_, err := c.CreateAccessKeyFromJWT(context.Background(), CreateAccessKeyFromJWTRequest{})
			return err
		}, "expiry: want an RFC 3339 timestamp"},
		{"oversize", `{"policies":[],"pad":"` + strings.Repeat("p", MaxResponseBytes) + `"}`, func(c *Client) error {
			_, err := c.ListAccessPolicies(context.Background())
			return err
		}, "larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, func(_ int, w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, tc.body) }, noRetry)
			err := tc.call(env.client)
			var me *MalformedResponseError
			if !errors.As(err, &me) || me.HTTPStatus != 200 || !strings.Contains(me.Reason, tc.reason) {
				t.Fatalf("err = %v, want MalformedResponseError with %q", err, tc.reason)
			}
			if !strings.Contains(err.Error(), "malformed response") || !IsRetryable(err) || IsUnrecoverable(err) || CodeOf(err) != CodeInternal {
				t.Fatalf("classification of %v", err)
			}
			assertNoSecrets(t, "error", err.Error())
		})
	}
}

// refusedAddr returns a 127.0.0.1 address nobody listens on.
func refusedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestConnectionRefused(t *testing.T) {
	c, err := New(Config{BaseURL: "http://" + refusedAddr(t), Token: testToken, Retry: RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateAccessKeyFromSAML(context.Background(), CreateAccessKeyFromSAMLRequest{OrgID: "o", SAMLResponse: testSAML, ConfigID: "c"})
	var te *TransportError
	if !errors.As(err, &te) || !te.Dial || te.Timeout || te.Op != "CreateAccessKeyFromSAML" {
		t.Fatalf("err = %#v", err)
	}
	if !IsRetryable(err) || CodeOf(err) != CodeUnavailable || !mayRetry(OpCreateAccessKeyFromSAML, err) {
		t.Fatal("a refused connection must be retryable, even for a non-idempotent call")
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("unhelpful: %v", err)
	}
	assertNoSecrets(t, "error", err.Error())
}

// resetServer accepts connections and closes them without answering.
func resetServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			_, _ = conn.Read(buf)
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // RST, not FIN
			}
			conn.Close()
		}
	}()
	t.Cleanup(func() { l.Close(); <-ch })
	return "http://" + l.Addr().String()
}

func TestConnectionReset(t *testing.T) {
	base := resetServer(t)
	c, err := New(Config{BaseURL: base, Token: testToken, Retry: RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateAccessKeyFromJWT(context.Background(), CreateAccessKeyFromJWTRequest{})
	var te *TransportError
	if !errors.As(err, &te) || te.Dial || te.Timeout {
		t.Fatalf("err = %#v", err)
	}
	if !IsRetryable(err) || mayRetry(OpCreateAccessKeyFromJWT, err) || !mayRetry(OpGetBucketInfo, err) {
		t.Fatal("a reset is retryable only for idempotent operations")
	}
}

func TestCallerCancellation(t *testing.T) {
	env := newEnv(t, always(200, `{}`))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := env.client.ListAccessPolicies(ctx)
	if !errors.Is(err, context.Canceled) || IsRetryable(err) || CodeOf(err) != CodeCanceled {
		t.Fatalf("err = %v retryable %v code %v", err, IsRetryable(err), CodeOf(err))
	}
}

func TestClassifiers(t *testing.T) {
	for _, tc := range []struct {
		err         error
		retry, unre bool
		code        Code
	}{
		{nil, false, false, CodeOK},
		{&ValidationError{Op: "x", Field: "f", Reason: "r"}, false, true, CodeInvalidArgument},
		{&StatusError{Code: CodeUnavailable, HTTPStatus: 503}, true, false, CodeUnavailable},
		{&StatusError{Code: CodeResourceExhausted, HTTPStatus: 429}, true, false, CodeResourceExhausted},
		{&StatusError{Code: CodeDeadlineExceeded, HTTPStatus: 504}, true, false, CodeDeadlineExceeded},
		{&StatusError{Code: CodeUnknown, HTTPStatus: 500}, true, false, CodeUnknown},
		{&StatusError{Code: CodeFailedPrecondition, HTTPStatus: 400}, false, true, CodeFailedPrecondition},
		{&StatusError{Code: CodeNotFound, HTTPStatus: 404}, false, true, CodeNotFound},
		{&StatusError{Code: CodeAlreadyExists, HTTPStatus: 409}, false, false, CodeAlreadyExists},
		{&StatusError{Code: CodeInternal, HTTPStatus: 400}, false, false, CodeInternal},
		{&TransportError{Err: io.ErrUnexpectedEOF}, true, false, CodeUnavailable},
		{&TransportError{Err: context.DeadlineExceeded, Timeout: true}, true, false, CodeDeadlineExceeded},
		{&MalformedResponseError{}, true, false, CodeInternal},
		{fmt.Errorf("wrapped: %w", &StatusError{Code: CodePermissionDenied, HTTPStatus: 403}), false, true, CodePermissionDenied},
		{errors.New("other"), false, false, CodeUnknown},
		{context.DeadlineExceeded, false, false, CodeDeadlineExceeded},
	} {
		if IsRetryable(tc.err) != tc.retry || IsUnrecoverable(tc.err) != tc.unre || CodeOf(tc.err) != tc.code {
			t.Errorf("%v: retryable %v unrecoverable %v code %v; want %v %v %v", tc.err,
				IsRetryable(tc.err), IsUnrecoverable(tc.err), CodeOf(tc.err), tc.retry, tc.unre, tc.code)
		}
	}
}

// echoEverything is a hostile server: every answer quotes the credentials it got.
func echoEverything(status int) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		echo := "auth=" + r.Header.Get("Authorization") + " body=" + string(body)
		w.Header().Set("Retry-After", "1")
		if status == 200 {
			jsonReply(w, 200, `{"expiry":`+fmt.Sprintf("%q", echo)+`}`)
			return
		}
		jsonReply(w, status, fmt.Sprintf(`{"code":3,"message":%q}`, echo))
	}
}

func TestErrorsNeverContainCredentials(t *testing.T) {
	for _, status := range []int{200, 400, 401, 403, 500} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			env := newEnv(t, echoEverything(status), noRetry)
			for _, tc := range operationCases() {
				_, err := tc.call(context.Background(), env.client)
				if err == nil {
					continue // {"expiry": ...} is a valid answer for the empty-answer operations
				}
				assertNoSecrets(t, tc.op.Name+" error", err.Error())
				var se *StatusError
				if errors.As(err, &se) && !strings.Contains(se.Message, "[redacted]") && tc.auth != "" {
					t.Errorf("%s: echoed credential not redacted: %q", tc.op.Name, se.Message)
				}
			}
			for _, e := range env.logs.All() {
				assertNoSecrets(t, "log", fmt.Sprint(e.Message, e.ContextMap()))
			}
		})
	}
	// Transport errors and validation errors too.
	c, _ := New(Config{BaseURL: "http://" + refusedAddr(t), Token: testToken, Retry: RetryPolicy{MaxAttempts: 1}})
	for _, tc := range operationCases() {
		if _, err := tc.call(context.Background(), c); err != nil {
			assertNoSecrets(t, tc.op.Name+" transport error", err.Error())
		}
	}
	bad := []error{}
	_, err := c.CreateAccessKeyFromSAML(context.Background(), CreateAccessKeyFromSAMLRequest{SAMLResponse: testSAML, DurationSeconds: -1})
	bad = append(bad, err)
	_, err = c.CreateAccessKeyFromOIDC(context.Background(), CreateAccessKeyFromOIDCRequest{OIDCToken: testOIDCToken})
	bad = append(bad, err)
	err = c.RevokeAccessKeyByAccessKey(context.Background(), testSecretKey)
	bad = append(bad, err)
	_, err = c.CreateAccessKeyFromContainerCreds(context.Background(), "", testJWT)
	bad = append(bad, err)
	for _, err := range bad {
		if err == nil {
			t.Fatal("validation passed unexpectedly")
		}
		assertNoSecrets(t, "validation error", err.Error())
	}
}

func TestReadErrorOnErrorStatus(t *testing.T) {
	env := newEnv(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(502)
		_, _ = io.WriteString(w, `{"code":14`)
		// The handler returns early: the client sees an unexpected EOF.
	}, noRetry)
	_, err := env.client.GetBucketInfo(context.Background(), "b")
	var se *StatusError
	if !errors.As(err, &se) || se.Code != CodeUnavailable || !strings.Contains(se.Message, "could not be read") {
		t.Fatalf("err = %v", err)
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"7", 7 * time.Second},
		{" 0 ", 0},
		{"-3", 0},
		{"1.5", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"99999999999999999999999", time.Duration(1<<63 - 1)},
	} {
		if got := parseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
