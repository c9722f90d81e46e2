package sdk_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)

// TestServeSecurity sends the binary what SSRF relays, DNS-rebinding pages, path
// tricks and slow or greedy clients send. Each request gets its status, and no
// response ever holds the secret key, the auth token or a JWT.
func TestServeSecurity(t *testing.T) {
	t.Parallel()
	e := startEmulator(t, 0)
	s := startServe(t, e, serveOptions{profiles: []profileSpec{{name: "default"}, {name: "team-b"}}})
	c, _ := s.fetch(t, "")
	cb, _ := s.fetch(t, "team-b")
	jwt, err := os.ReadFile(e.tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(s.addr)
	// The right token with its last character changed.
	wrong := s.token[:len(s.token)-1] + "A"
	if strings.HasSuffix(s.token, "A") {
		wrong = s.token[:len(s.token)-1] + "B"
	}

	// noLeak fails when a refusal holds anything secret.
	noLeak := func(t *testing.T, what, text string) {
		t.Helper()
		for name, secret := range map[string]string{
			"secret key": c.SecretAccessKey, "team-b secret key": cb.SecretAccessKey,
			"auth token": s.token, "workload JWT": string(jwt), "API token": e.emu.AdminToken(),
		} {
			if strings.Contains(text, secret) {
				t.Errorf("%s holds the %s", what, name)
			}
		}
		if jwtShape.MatchString(text) {
			t.Errorf("%s holds a JWT", what)
		}
	}

	type rawCase struct {
		name, method, path, host string
		headers                  []string // "Name: value" lines
		noToken                  bool
		want                     int
	}
	auth := "Authorization: " + s.token
	cases := []rawCase{
		{name: "no token", noToken: true, want: 401},
		{name: "empty token", noToken: true, headers: []string{"Authorization: "}, want: 401},
		{name: "wrong token", noToken: true, headers: []string{"Authorization: " + wrong}, want: 403},
		{name: "token with Bearer", noToken: true, headers: []string{"Authorization: Bearer " + s.token}, want: 403},
		{name: "token prefix", noToken: true, headers: []string{"Authorization: " + s.token[:10]}, want: 403},
		{name: "two Authorization headers", noToken: true, headers: []string{auth, "Authorization: " + wrong}, want: 403},
		{name: "unknown profile without token learns nothing", path: "/v1/credentials/nope", noToken: true, want: 401},
		{name: "X-Forwarded-For", headers: []string{"X-Forwarded-For: 203.0.113.7"}, want: 403},
		{name: "X-Forwarded-For loopback", headers: []string{"X-Forwarded-For: 127.0.0.1"}, want: 403},
		{name: "Forwarded", headers: []string{"Forwarded: for=203.0.113.7"}, want: 403},
		{name: "X-Real-Ip", headers: []string{"X-Real-Ip: 203.0.113.7"}, want: 403},
		{name: "X-Forwarded-Host", headers: []string{"X-Forwarded-Host: evil.example"}, want: 403},
		{name: "foreign Host (DNS rebinding)", host: "evil.example:" + port, want: 421},
		{name: "foreign Host without port", host: "evil.example", want: 421},
		{name: "metadata Host", host: "169.254.170.2", want: 421},
		{name: "loopback Host with another port", host: "127.0.0.1:1", want: 421},
		{name: "localhost Host", host: "localhost:" + port, want: 200},
		{name: "unknown profile", path: "/v1/credentials/nope", want: 404},
		{name: "dot-dot", path: "/v1/credentials/..", want: 404},
		{name: "dot-dot traversal", path: "/v1/credentials/../credentials", want: 404},
		{name: "escaped dot-dot", path: "/v1/credentials/%2E%2E", want: 404},
		{name: "escaped slash", path: "/v1/credentials/team-b%2F..", want: 404},
		{name: "escaped slash traversal", path: "/v1/credentials/..%2F..%2Fetc%2Fpasswd", want: 404},
		{name: "escaped letter", path: "/v1/credentials/%74eam-b", want: 404},
		{name: "slash in name", path: "/v1/credentials/team-b/x", want: 404},
		{name: "trailing slash", path: "/v1/credentials/team-b/", want: 404},
		{name: "double slash", path: "/v1/credentials//team-b", want: 404},
		{name: "dot-dot inside name", path: "/v1/credentials/team..b", want: 404},
		{name: "other path", path: "/", want: 404},
		{name: "metadata path", path: "/latest/meta-data/iam/security-credentials/", want: 404},
		{name: "query is not a selector", path: "/v1/credentials?profile=team-b", want: 200},
		{name: "POST", method: "POST", want: 405},
		{name: "PUT", method: "PUT", want: 405},
		{name: "DELETE", method: "DELETE", want: 405},
		{name: "PATCH", method: "PATCH", want: 405},
		{name: "OPTIONS", method: "OPTIONS", want: 405},
		{name: "TRACE", method: "TRACE", want: 405},
		{name: "POST named profile", method: "POST", path: "/v1/credentials/team-b", want: 405},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			method, path, host := tc.method, tc.path, tc.host
			if method == "" {
				method = "GET"
			}
			if path == "" {
				path = "/v1/credentials"
			}
			if host == "" {
				host = s.addr
			}
			var b strings.Builder
			b.WriteString(method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\nAccept: application/json\r\nConnection: close\r\n")
			if !tc.noToken {
				b.WriteString(auth + "\r\n")
			}
			for _, h := range tc.headers {
				b.WriteString(h + "\r\n")
			}
			if method == "POST" || method == "PUT" || method == "PATCH" {
				b.WriteString("Content-Length: 2\r\n\r\n{}")
			} else {
				b.WriteString("\r\n")
			}
			resp, body := rawExchange(t, s.addr, b.String())
			if resp.StatusCode != tc.want {
				t.Errorf("%s %s (Host %s): status %d, want %d; body %s", method, path, host, resp.StatusCode, tc.want, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if tc.want == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("405 without Allow: GET, HEAD (got %q)", resp.Header.Get("Allow"))
			}
			if tc.want == 200 {
				return // the keys, as asked
			}
			noLeak(t, "the response", dumpHeaders(resp.Header)+body)
			// Refusals never echo what the caller sent (its path, host or token).
			if strings.Contains(body, "nope") || strings.Contains(body, "evil.example") || strings.Contains(body, "passwd") {
				t.Errorf("the refusal echoes the request: %s", body)
			}
		})
	}

	t.Run("oversized headers", func(t *testing.T) {
		t.Parallel()
		big := "X-Big: " + strings.Repeat("a", 64<<10)
		resp, body := rawExchange(t, s.addr, "GET /v1/credentials HTTP/1.1\r\nHost: "+s.addr+"\r\n"+auth+"\r\n"+big+"\r\n\r\n")
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("64 KiB of headers: status %d, want 431", resp.StatusCode)
		}
		noLeak(t, "the 431", body)
	})

	t.Run("slow client is cut", func(t *testing.T) {
		t.Parallel()
		conn, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		// Dribble a valid request one byte at a time, slower than any header
		// timeout allows; the server must hang up before the headers end.
		req := "GET /v1/credentials HTTP/1.1\r\nHost: " + s.addr + "\r\n" + auth + "\r\nX-Slow: " + strings.Repeat("s", 200) + "\r\n\r\n"
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for i := 0; i < len(req); i++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if _, err := conn.Write([]byte{req[i]}); err != nil {
					return
				}
			}
		}()
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		got, err := io.ReadAll(conn)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("the connection was still open after %s of dribbled headers", time.Since(start).Round(time.Millisecond))
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("the slow client was cut only after %s", took.Round(time.Millisecond))
		}
		if strings.Contains(string(got), " 200 ") || strings.Contains(string(got), c.AccessKeyID) {
			t.Errorf("the slow client got keys: %q", got)
		}
		noLeak(t, "the answer to the slow client", string(got))
	})
}

func dumpHeaders(h http.Header) string {
	var b strings.Builder
	for k, vs := range h {
		for _, v := range vs {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	return b.String()
}
