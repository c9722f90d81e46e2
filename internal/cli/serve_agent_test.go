package cli

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/devissuer"
	"github.com/cwcreds/cwcreds/internal/emulator/emutest"
	"github.com/cwcreds/cwcreds/internal/server"
)

// agentRun is a `cwcreds serve --mode agent` run in process.
type agentRun struct {
	*srvRun
	urls []string // one credentials URL per listener
}

func startAgent(t *testing.T, emu *emulator.Emulator, args ...string) *agentRun {
	t.Helper()
	all := append([]string{"--mode", "agent", "--ops-listen", "127.0.0.1:0", "--org-id", emu.OrgID(),
		"--api-endpoint", emu.APIURL(), "--propagation-delay", "0s", "--log-level", "debug"}, args...)
	r := startServe(t, map[string]string{}, nil, all...)
	m := r.logs.waitMsg(t, "serving credentials", 1)
	a := &agentRun{srvRun: r}
	for _, u := range m["endpoints"].([]any) {
		a.urls = append(a.urls, u.(string))
	}
	a.opsURL = "http://" + m["ops_listen"].(string)
	if got := waitReadyz(t, a.opsURL+"/readyz"); got.status != http.StatusOK {
		t.Fatalf("the agent is not ready: %d %s\n%s", got.status, got.body, r.logs)
	}
	return a
}

func mintPodToken(t *testing.T, emu *emulator.Emulator, o devissuer.MintOptions) string {
	t.Helper()
	tok, err := emu.DevIssuer().Mint(o)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func emuCalls(emu *emulator.Emulator) int {
	n := 0
	for _, c := range emu.Calls() {
		n += c
	}
	return n
}

// Every pod's own token gets its own keys, exchanged once and then served from
// the cache on every listener (IPv4 and IPv6 loopback at once); many processes
// of one pod asking at once cause one exchange.
func TestServeAgentOneExchangePerIdentity(t *testing.T) {
	emu := emutest.Start(t, emulator.Config{})
	a := startAgent(t, emu, "--listen", "127.0.0.1:0", "--listen", "[::1]:0")
	if len(a.urls) != 2 || !strings.Contains(a.urls[0], "127.0.0.1") || !strings.Contains(a.urls[1], "[::1]") {
		t.Fatalf("endpoints %v, want one on 127.0.0.1 and one on [::1]", a.urls)
	}
	const pods = 60
	tokens := make([]string, pods)
	for i := range tokens {
		tokens[i] = mintPodToken(t, emu, devissuer.MintOptions{Subject: fmt.Sprintf("system:serviceaccount:ml:pod-%d", i), Lifetime: time.Hour})
	}
	before := emuCalls(emu)
	keys := map[string]string{}
	for round := range 3 {
		for i, tok := range tokens {
			for _, u := range a.urls {
				resp := srvGet(t, u, tok)
				if resp.status != http.StatusOK {
					t.Fatalf("round %d pod %d at %s: %d %s", round, i, u, resp.status, resp.body)
				}
				id := strings.Split(strings.Split(resp.body, `"AccessKeyId":"`)[1], `"`)[0]
				if prev, ok := keys[tok]; ok && prev != id {
					t.Fatalf("pod %d got keys %s, then %s", i, prev, id)
				}
				keys[tok] = id
			}
		}
	}
	if n := emuCalls(emu) - before; n != pods {
		t.Errorf("%d pods asking 6 times each made %d calls to the CoreWeave API, want %d", pods, n, pods)
	}
	seen := map[string]bool{}
	for _, id := range keys {
		if seen[id] {
			t.Fatalf("two pods were handed the same keys")
		}
		seen[id] = true
		if p := emu.PrincipalOf(id); !strings.Contains(p, "system:serviceaccount:ml:pod-") {
			t.Errorf("keys %s belong to %q", id, p)
		}
	}

	// 40 processes of a new pod asking at once: one exchange.
	tok := mintPodToken(t, emu, devissuer.MintOptions{Subject: "system:serviceaccount:ml:burst", Lifetime: time.Hour})
	before = emuCalls(emu)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			if resp := srvGet(t, a.urls[i%2], tok); resp.status != http.StatusOK {
				t.Errorf("%d %s", resp.status, resp.body)
			}
		})
	}
	wg.Wait()
	if n := emuCalls(emu) - before; n != 1 {
		t.Errorf("40 concurrent first requests of one pod made %d exchanges, want 1", n)
	}

	metrics := srvGet(t, a.opsURL+"/metrics", "")
	for _, want := range []string{fmt.Sprintf("cwcreds_agent_identities %d", pods+1), `cwcreds_requests_total{profile="agent",status="200"}`,
		`cwcreds_exchanges_total{outcome="success",profile="agent"} 61`} {
		if !strings.Contains(metrics.body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, tok := range append(tokens, tok) {
		if strings.Contains(metrics.body, server.IdentityLabel(tok)) {
			t.Fatal("a metric names an identity")
		}
	}
	checkNoSecrets(t, "the agent's metrics", metrics.body, tokens...)
	a.stop()
	if code := a.wait(); code != 0 {
		t.Fatalf("exit %d", code)
	}
	logs := a.logs.String()
	checkNoSecrets(t, "the agent's logs", logs, tokens...)
	if !strings.Contains(logs, `"identity":"`+server.IdentityLabel(tokens[0])+`"`) {
		t.Errorf("the logs should name identities by a prefix of the token's hash")
	}
}

// Malformed, expired and wrong-audience tokens, and requests the protections of
// serve refuse, never reach the CoreWeave API.
func TestServeAgentRefusalsNeverReachTheAPI(t *testing.T) {
	emu := emutest.Start(t, emulator.Config{})
	a := startAgent(t, emu, "--listen", "127.0.0.1:0")
	expired := mintPodToken(t, emu, devissuer.MintOptions{Subject: "system:serviceaccount:ml:old", Lifetime: time.Hour, IssuedAt: time.Now().Add(-2 * time.Hour)})
	wrongAud := mintPodToken(t, emu, devissuer.MintOptions{Subject: "system:serviceaccount:ml:aws", Audience: []string{"sts.amazonaws.com"}, Lifetime: time.Hour})
	good := mintPodToken(t, emu, devissuer.MintOptions{Subject: "system:serviceaccount:ml:ok", Lifetime: time.Hour})
	before := emuCalls(emu)
	cases := []struct {
		name, token string
		status      int
		code        string
	}{
		{"malformed", "not-a-jwt", http.StatusBadRequest, "MalformedIdentityToken"},
		{"truncated", good[:strings.LastIndexByte(good, '.')], http.StatusBadRequest, "MalformedIdentityToken"},
		{"expired", expired, http.StatusForbidden, "ExpiredIdentityToken"},
		{"wrong audience", wrongAud, http.StatusForbidden, "WrongAudience"},
		{"missing", "", http.StatusUnauthorized, "MissingIdentityToken"},
	}
	for _, tc := range cases {
		resp := srvGet(t, a.urls[0], tc.token)
		if resp.status != tc.status || !strings.Contains(resp.body, `"code":"`+tc.code+`"`) || resp.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s", tc.name, resp.status, resp.body)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, a.urls[0], nil)
	req.Host = "rebind.example:9911"
	req.Header.Set("Authorization", good)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("a foreign Host got %d, want 421", resp.StatusCode)
	}
	if n := emuCalls(emu) - before; n != 0 {
		t.Fatalf("refused requests made %d calls to the CoreWeave API", n)
	}
	checkNoSecrets(t, "the agent's logs", a.logs.String(), expired, wrongAud, good)
}

// Each address family alone: an IPv4-only node serves on 127.0.0.1, an
// IPv6-only node on [::1]; an address the node lacks is a clear error, or
// skipped with --listen-optional.
func TestServeAgentAddressFamilies(t *testing.T) {
	emu := emutest.Start(t, emulator.Config{})
	tok := mintPodToken(t, emu, devissuer.MintOptions{Subject: "system:serviceaccount:ml:fam", Lifetime: time.Hour})
	for _, tc := range []struct{ name, listen, host string }{{"ipv4 only", "127.0.0.1:0", "127.0.0.1"}, {"ipv6 only", "[::1]:0", "[::1]"}} {
		t.Run(tc.name, func(t *testing.T) {
			a := startAgent(t, emu, "--listen", tc.listen)
			if len(a.urls) != 1 || !strings.Contains(a.urls[0], tc.host) {
				t.Fatalf("endpoints %v", a.urls)
			}
			if resp := srvGet(t, a.urls[0], tok); resp.status != http.StatusOK {
				t.Fatalf("%d %s", resp.status, resp.body)
			}
		})
	}
	t.Run("missing address", func(t *testing.T) {
		r := startServe(t, map[string]string{}, nil, "--mode", "agent", "--org-id", emu.OrgID(), "--api-endpoint", emu.APIURL(),
			"--ops-listen", "off", "--listen", "192.0.2.23:0")
		if code := r.wait(); code != 1 {
			t.Fatalf("exit %d", code)
		}
		if out := r.logs.String(); !strings.Contains(out, "192.0.2.23:0 is not an address of this node") || !strings.Contains(out, "cwcreds agent init-network") {
			t.Errorf("the error does not say what to do: %s", out)
		}
	})
	t.Run("listen optional", func(t *testing.T) {
		a := startAgent(t, emu, "--listen", "192.0.2.23:0", "--listen", "[2001:db8::23]:0", "--listen", "127.0.0.1:0", "--listen-optional")
		if len(a.urls) != 1 || !strings.Contains(a.urls[0], "127.0.0.1") {
			t.Fatalf("endpoints %v", a.urls)
		}
		if !strings.Contains(a.logs.String(), "skipping a --listen address this node does not have") {
			t.Errorf("skipped addresses are not logged")
		}
	})
}

func TestServeAgentFlagErrors(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--mode", "bogus"}, nil, `--mode "bogus" is not a mode`},
		{[]string{"--mode", "agent", "--profile", "x", "--org-id", "o"}, nil, "--profile cannot be used with --mode agent"},
		{[]string{"--mode", "agent", "--auth-token-file", "/tmp/x", "--org-id", "o"}, nil, "--auth-token-file cannot be used with --mode agent"},
		{[]string{"--audience", "x"}, nil, "--audience works only with --mode agent"},
		{[]string{"--listen", "127.0.0.1:1", "--listen", "127.0.0.1:2"}, nil, "only --mode agent listens on several addresses"},
		{[]string{"--mode", "agent", "--listen", "127.0.0.1:0"}, nil, "pass --org-id or export CWCREDS_ORG_ID"},
		{[]string{"--mode", "agent", "--listen", "127.0.0.1:0", "--org-id", "o", "--api-endpoint", "http://api.example.com"}, nil, "must use https"},
		{[]string{"--mode", "agent", "--listen", "127.0.0.1:0"}, map[string]string{"CWCREDS_ORG_ID": "o", "CWCREDS_API_ENDPOINT": "http://10.0.0.1"}, "must use https"},
		{[]string{"--mode", "agent", "--listen", "127.0.0.1:0", "--org-id", "o", "--lifetime", "1s"}, nil, "--lifetime 1s"},
		{[]string{"--mode", "agent", "--upstream-rate", "0", "--org-id", "o"}, nil, "--upstream-rate 0 is not positive"},
		{[]string{"--mode", "agent", "--max-identities", "0", "--org-id", "o"}, nil, "--max-identities 0 is not positive"},
		{[]string{"--mode", "agent", "--listen", "unix:/tmp/x.sock", "--org-id", "o"}, nil, "serves pods over TCP"},
		{[]string{"--mode", "agent", "--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--org-id", "o", "--ops-listen", "off"}, nil, "is given twice"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := startServe(t, tc.env, nil, tc.args...)
			if code := r.wait(); code != 1 {
				t.Fatalf("exit %d, want 1", code)
			}
			out := r.logs.String()
			if !strings.Contains(out, tc.want) || strings.Count(strings.TrimSpace(out), "\n") != 0 {
				t.Errorf("stderr %q, want one line with %q", out, tc.want)
			}
		})
	}
}

// A token CoreWeave rejects (here: an issuer the organisation does not trust) is
// a 503, and the agent does not ask again for it however often the pod asks.
func TestServeAgentUpstreamRejectionIsNotRetried(t *testing.T) {
	emu := emutest.Start(t, emulator.Config{})
	a := startAgent(t, emu, "--listen", "127.0.0.1:0")
	other, err := devissuer.New(devissuer.Config{IssuerURL: "https://untrusted.example/dev-oidc"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := other.Mint(devissuer.MintOptions{Subject: "system:serviceaccount:ml:stranger", Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	before := emuCalls(emu)
	for i := range 5 {
		resp := srvGet(t, a.urls[0], tok)
		if resp.status != http.StatusServiceUnavailable || !strings.Contains(resp.body, "identity not usable") || resp.header.Get("Retry-After") == "" {
			t.Fatalf("request %d: %d %s", i, resp.status, resp.body)
		}
	}
	if n := emuCalls(emu) - before; n != 1 {
		t.Errorf("5 requests with a rejected token made %d exchanges, want 1", n)
	}
	checkNoSecrets(t, "the agent's logs", a.logs.String(), tok)
}

// SIGHUP (a reload in profile mode) neither stops nor disturbs the agent.
func TestServeAgentSurvivesReloadSignal(t *testing.T) {
	emu := emutest.Start(t, emulator.Config{})
	reload := make(chan os.Signal, 1)
	r := startServe(t, map[string]string{"CWCREDS_ORG_ID": emu.OrgID(), "CWCREDS_API_ENDPOINT": emu.APIURL()}, reload,
		"--mode", "agent", "--listen", "127.0.0.1:0", "--ops-listen", "off", "--propagation-delay", "0s")
	m := r.logs.waitMsg(t, "serving credentials", 1)
	url := m["endpoints"].([]any)[0].(string)
	tok := mintPodToken(t, emu, devissuer.MintOptions{Subject: "system:serviceaccount:ml:hup", Lifetime: time.Hour})
	reload <- syscall.SIGHUP
	r.logs.waitMsg(t, "reload asked: the agent has no config file or auth token to re-read; nothing changes", 1)
	if resp := srvGet(t, url, tok); resp.status != http.StatusOK {
		t.Fatalf("after SIGHUP: %d %s", resp.status, resp.body)
	}
}

// Past --upstream-burst, with --upstream-rate nearly 0, a new pod gets 503 with
// Retry-After and no exchange, counted in cwcreds_agent_rate_limited_total;
// pods already served keep their keys.
func TestServeAgentUpstreamRateLimit(t *testing.T) {
	emu := emutest.Start(t, emulator.Config{})
	a := startAgent(t, emu, "--listen", "127.0.0.1:0", "--upstream-rate", "0.001", "--upstream-burst", "2")
	var toks []string
	for i := range 3 {
		toks = append(toks, mintPodToken(t, emu, devissuer.MintOptions{Subject: fmt.Sprintf("system:serviceaccount:ml:rl-%d", i), Lifetime: time.Hour}))
	}
	before := emuCalls(emu)
	for _, tok := range toks[:2] {
		if resp := srvGet(t, a.urls[0], tok); resp.status != http.StatusOK {
			t.Fatalf("within the burst: %d %s", resp.status, resp.body)
		}
	}
	resp := srvGet(t, a.urls[0], toks[2])
	if resp.status != http.StatusServiceUnavailable || resp.header.Get("Retry-After") == "" || !strings.Contains(resp.body, "--upstream-rate") {
		t.Fatalf("past the burst: %d Retry-After %q %s", resp.status, resp.header.Get("Retry-After"), resp.body)
	}
	if n := emuCalls(emu) - before; n != 2 {
		t.Errorf("%d exchanges, want 2 (the burst)", n)
	}
	if resp := srvGet(t, a.urls[0], toks[0]); resp.status != http.StatusOK {
		t.Errorf("a pod already served: %d", resp.status)
	}
	if m := srvGet(t, a.opsURL+"/metrics", ""); !strings.Contains(m.body, "cwcreds_agent_rate_limited_total 1\n") {
		t.Errorf("the rate-limited request is not counted")
	}
}
