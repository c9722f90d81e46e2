package server

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestHostRule(t *testing.T) {
	tcp := func(ip string, port int) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: port} }
	cases := []struct {
		addr    net.Addr
		allowed []string
		refused []string
	}{
		{
			addr: tcp("127.0.0.1", 9911),
			allowed: []string{"127.0.0.1:9911", "localhost:9911", "LocalHost:9911", "[::1]:9911", "127.0.0.2:9911",
				"[::ffff:127.0.0.1]:9911"},
			refused: []string{"evil.com:9911", "127.0.0.1:9912", "127.0.0.1", "localhost", "[::1]", "", "evil.com",
				"127.0.0.1.nip.io:9911", "localhost.:9911", "10.0.0.1:9911", "127.0.0.1:09911", "[fe80::1%25lo]:9911",
				"127.000.000.001:9911", "::1:9911", "127.0.0.1:9911:9911", "0x7f000001:9911"},
		},
		{
			addr:    tcp("::1", 9911),
			allowed: []string{"[::1]:9911", "localhost:9911", "127.0.0.1:9911"},
			refused: []string{"[::2]:9911", "evil.com:9911", "[::1]:1"},
		},
		{
			addr:    tcp("127.0.0.1", 80),
			allowed: []string{"localhost", "127.0.0.1", "[::1]", "localhost:80", "127.0.0.1:80"},
			refused: []string{"evil.com", "evil.com:80", "::1", "localhost:8080"},
		},
		{
			addr:    tcp("169.254.170.23", 80),
			allowed: []string{"169.254.170.23", "169.254.170.23:80", "localhost"},
			refused: []string{"169.254.170.2", "evil.com", "169.254.170.23:81"},
		},
		{
			addr:    tcp("0.0.0.0", 9911),
			allowed: []string{"10.1.2.3:9911", "127.0.0.1:9911", "localhost:9911", "[fd00::1]:9911"},
			refused: []string{"evil.com:9911", "pod.svc.cluster.local:9911", "10.1.2.3:1"},
		},
		{
			addr:    &net.UnixAddr{Name: "/run/x.sock", Net: "unix"},
			allowed: []string{"localhost", "anything", ""},
		},
		{
			addr:    nil,
			refused: []string{"localhost", "127.0.0.1:9911", ""},
		},
	}
	for _, tc := range cases {
		name := "nil"
		if tc.addr != nil {
			name = tc.addr.String()
		}
		h := newHostRule(tc.addr)
		for _, host := range tc.allowed {
			if !h.allows(host) {
				t.Errorf("listening on %s: Host %q refused", name, host)
			}
		}
		for _, host := range tc.refused {
			if h.allows(host) {
				t.Errorf("listening on %s: Host %q accepted", name, host)
			}
		}
	}
}

func TestForeignHostRefusedOverTheWire(t *testing.T) {
	f := newFixture(t, 0, map[string]Provider{"default": &staticProvider{c: sampleCreds(epoch.Add(time.Hour))}})
	addr, _ := serveReal(t, ListenConfig{}, f.s.Handler)
	_, port, _ := net.SplitHostPort(addr.String())
	for host, want := range map[string]int{
		"evil.com:" + port:    http.StatusMisdirectedRequest,
		"127.0.0.1:1":         http.StatusMisdirectedRequest,
		"localhost:" + port:   http.StatusOK,
		"127.0.0.1:" + port:   http.StatusOK,
		"[::1]:" + port:       http.StatusOK,
		"rebind.test:" + port: http.StatusMisdirectedRequest,
	} {
		req, err := http.NewRequest(http.MethodGet, "http://"+addr.String()+CredentialsPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		req.Header.Set("Authorization", testToken)
		resp, err := testClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %s: %d, want %d", host, resp.StatusCode, want)
		}
	}
	// An absolute-form request line (as sent to a proxy) carries its own host.
	out := rawRequest(t, addr.String(), "GET http://evil.com:"+port+CredentialsPath+" HTTP/1.1\r\nHost: 127.0.0.1:"+port+"\r\nAuthorization: "+testToken+"\r\nConnection: close\r\n\r\n", 5*time.Second)
	if !strings.HasPrefix(out, "HTTP/1.1 421 ") {
		t.Errorf("absolute-form request to a foreign host: %.60q", out)
	}
}
