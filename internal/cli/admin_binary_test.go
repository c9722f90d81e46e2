//go:build unix

package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/emutest"
	"github.com/cwcreds/cwcreds/internal/logging"
)

var updateGolden = flag.Bool("update", false, "rewrite the admin commands' golden files in testdata/admin")

// adminClockStart is the emulator's fake time, so expiries and bucket creation
// times in the golden files never change.
var adminClockStart = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// lockedBuffer collects the emulator's log lines from its goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// adminWorld runs the built cwcreds against an emulator with a fixed org and
// clock, with only $CW_API_TOKEN and $CWCREDS_API_ENDPOINT set and no config file.
type adminWorld struct {
	*world
	bin     string
	logs    *lockedBuffer
	ids     map[string]string // real key id → stable placeholder
	outputs []string          // every stdout that must hold no secret
}

func newAdminWorld(t *testing.T, bin string) *adminWorld {
	t.Helper()
	logs := &lockedBuffer{}
	logger, err := logging.New(logs, "debug")
	if err != nil {
		t.Fatal(err)
	}
	emu := emutest.Start(t, emulator.Config{OrgID: "org-golden1", Clock: clockwork.NewFakeClockAt(adminClockStart), Logger: logger})
	dir := t.TempDir()
	w := &world{t: t, emu: emu, dir: dir, env: map[string]string{
		"PATH":                 os.Getenv("PATH"),
		"LANG":                 "C.UTF-8",
		"HOME":                 filepath.Join(dir, "home"),
		"XDG_CONFIG_HOME":      filepath.Join(dir, "config"),
		"XDG_CACHE_HOME":       filepath.Join(dir, "cache"),
		"CWCREDS_API_ENDPOINT": emu.APIURL(),
		"CW_API_TOKEN":         emu.AdminToken(),
	}, secrets: []string{emu.AdminToken()}}
	a := &adminWorld{world: w, bin: bin, logs: logs, ids: map[string]string{}}
	t.Cleanup(a.checkNoSecrets)
	return a
}

// cli runs the binary with w's environment plus extra variables.
func (a *adminWorld) cli(extra []string, args ...string) result {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return a.runProc(ctx, nil, a.environ(extra...), append([]string{a.bin}, args...)...)
}

// run runs cwcreds ARGS, remembering stdout for the secret scan.
func (a *adminWorld) run(args ...string) result {
	a.t.Helper()
	r := a.cli(nil, args...)
	a.outputs = append(a.outputs, r.stdout)
	return r
}

var (
	keyIDPattern  = regexp.MustCompile(`\bCW[A-Z0-9]{14}\b`)
	secretPattern = regexp.MustCompile(`\bcwo[a-z0-9]{40}\b`)
)

// normalize replaces what changes from run to run: key ids by placeholders of
// the same length in order of first appearance, secrets, the API address.
func (a *adminWorld) normalize(s string) string {
	s = keyIDPattern.ReplaceAllStringFunc(s, func(id string) string {
		if p, ok := a.ids[id]; ok {
			return p
		}
		p := fmt.Sprintf("CWKEY%011d", len(a.ids)+1)
		a.ids[id] = p
		return p
	})
	s = secretPattern.ReplaceAllString(s, "cwo"+strings.Repeat("x", 40))
	return strings.ReplaceAll(s, a.emu.APIURL(), "http://API")
}

// golden compares stdout, stderr and the exit code of `cwcreds args` with
// testdata/admin/<name>.golden.
func (a *adminWorld) golden(name string, wantCode int, args ...string) result {
	a.t.Helper()
	r := a.run(args...)
	if r.code != wantCode {
		a.t.Errorf("%s: cwcreds %s exited %d, want %d\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), r.code, wantCode, r.stdout, r.stderr)
	}
	got := a.normalize(fmt.Sprintf("$ cwcreds %s\n%s--- stderr\n%s--- exit %d\n", strings.Join(args, " "), r.stdout, r.stderr, r.code))
	path := filepath.Join("testdata", "admin", name+".golden")
	if *updateGolden {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			a.t.Fatal(err)
		}
		return r
	}
	want, err := os.ReadFile(path)
	if err != nil {
		a.t.Fatalf("%v (run go test ./internal/cli -run TestAdminCommands -update to create it)", err)
	}
	if got != string(want) {
		a.t.Errorf("%s differs from %s:\n%s", name, path, lineDiff(string(want), got))
	}
	return r
}

// lineDiff shows the first differing line.
func lineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d\nwant: %q\ngot:  %q\n--- got in full:\n%s", i+1, w, g, got)
		}
	}
	return got
}

// fails runs a command that must fail with code, one line on stderr holding want.
func (a *adminWorld) fails(code int, want string, extra []string, args ...string) {
	a.t.Helper()
	r := a.cli(extra, args...)
	a.outputs = append(a.outputs, r.stdout)
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if r.code != code || !strings.HasPrefix(r.stderr, "cwcreds: ") || !strings.Contains(r.stderr, want) || len(lines) != 1 {
		a.t.Errorf("cwcreds %s: exit %d (want %d), stderr %q, want one line with %q", strings.Join(args, " "), r.code, code, r.stderr, want)
	}
}

// checkNoSecrets: no created secret and no token in any stdout but the one that
// created it, in any stderr (runProc checks those) or in the emulator's log.
func (a *adminWorld) checkNoSecrets() {
	for i, out := range a.outputs {
		a.checkLeaks(fmt.Sprintf("stdout #%d", i), out)
	}
	a.checkLeaks("the emulator log", a.logs.String())
	if secretPattern.MatchString(a.logs.String()) {
		a.t.Error("the emulator log holds a secret key")
	}
}

// created runs a `keys create` whose stdout is the one place its secret may be.
func (a *adminWorld) created(name string, args ...string) {
	a.t.Helper()
	r := a.golden(name, 0, args...)
	a.outputs = a.outputs[:len(a.outputs)-1]
	secrets := secretPattern.FindAllString(r.stdout, -1)
	if len(secrets) != 1 {
		a.t.Fatalf("%s: %d secrets in the output, want 1", name, len(secrets))
	}
	a.addSecret(secrets[0])
}

func TestAdminCommands(t *testing.T) {
	bin := buildCwcreds(t)
	t.Run("Golden", func(t *testing.T) { testAdminGolden(t, bin) })
	t.Run("Errors", func(t *testing.T) { testAdminErrors(t, bin) })
	t.Run("Pagination", func(t *testing.T) { testAdminPagination(t, bin) })
	t.Run("PolicyFiles", func(t *testing.T) { testAdminPolicyFiles(t, bin) })
	t.Run("TokenSources", func(t *testing.T) { testAdminTokenSources(t, bin) })
	t.Run("Terminal", func(t *testing.T) { testAdminTerminal(t, bin) })
}

var formats = []string{"table", "json", "yaml"}

const ciPrincipal = "role/https://issuer.example.com:ci"

func testAdminGolden(t *testing.T, bin string) {
	a := newAdminWorld(t, bin)
	// keys
	a.created("keys-create-json", "keys", "create", "--duration", "1h", "--attribute", "team=ml")
	a.created("keys-create-yaml", "keys", "create", "--permanent", "-o", "yaml")
	a.created("keys-create-table", "keys", "create", "--duration", "30m", "-o", "table")
	a.created("keys-create-env", "keys", "create", "--duration", "30m", "--format", "env")
	a.created("keys-create-credentials-file", "keys", "create", "--duration", "12h", "--format", "credentials-file", "--aws-profile", "cw")
	ci := a.emu.SeedAccessKeys(ciPrincipal, 2, 2*time.Hour)
	for _, f := range formats {
		a.golden("keys-list-"+f, 0, "keys", "list", "-o", f)
		a.golden("keys-get-"+f, 0, "keys", "get", ci[0], "-o", f)
	}
	a.golden("keys-list-principal", 0, "keys", "list", "--principal", ciPrincipal)
	a.golden("keys-suspend", 0, "keys", "suspend", "--principal", ciPrincipal)
	a.golden("keys-suspend-yaml", 0, "keys", "suspend", "--principal", ciPrincipal, "-o", "yaml")
	a.golden("keys-list-suspended", 0, "keys", "list", "--status", "suspended")
	a.golden("keys-activate-json", 0, "keys", "activate", "--principal", ciPrincipal, "-o", "json")
	a.golden("keys-list-active-ci", 0, "keys", "list", "--status", "active", "--principal", ciPrincipal)
	a.golden("keys-revoke", 0, "keys", "revoke", ci[0])
	a.golden("keys-revoke-json", 0, "keys", "revoke", ci[1], "-o", "json")
	a.golden("keys-revoke-principal-yaml", 0, "keys", "revoke", "--principal", ciPrincipal, "-o", "yaml")
	a.golden("keys-list-after-revoke", 0, "keys", "list", "--principal", ciPrincipal)

	// policies
	readers := filepath.Join("testdata", "admin", "readers.yaml")
	readers2 := filepath.Join("testdata", "admin", "readers-v2.json")
	for _, f := range formats {
		a.golden("policies-list-"+f, 0, "policies", "list", "-o", f)
	}
	a.golden("policies-apply-dry-run-create", 0, "policies", "apply", "-f", readers, "--dry-run")
	a.golden("policies-apply", 0, "policies", "apply", "-f", readers)
	a.golden("policies-apply-again", 0, "policies", "apply", "-f", readers)
	a.golden("policies-apply-again-yaml", 0, "policies", "apply", "-f", readers, "-o", "yaml")
	a.golden("policies-apply-dry-run-update", 0, "policies", "apply", "-f", readers2, "--dry-run")
	a.golden("policies-apply-dry-run-update-json", 0, "policies", "apply", "-f", readers2, "--dry-run", "-o", "json")
	for _, f := range formats {
		a.golden("policies-get-"+f, 0, "policies", "get", "readers", "-o", f)
	}
	// What get prints, apply takes back unchanged.
	for _, f := range []string{"json", "yaml"} {
		r := a.run("policies", "get", "readers", "-o", f)
		back := filepath.Join(a.dir, "back."+f)
		if err := os.WriteFile(back, []byte(r.stdout), 0o600); err != nil {
			t.Fatal(err)
		}
		if r := a.run("policies", "apply", "-f", back); r.code != 0 || r.stdout != "policy readers unchanged\n" || r.stderr != "" {
			t.Errorf("apply of get -o %s: %d %q %q", f, r.code, r.stdout, r.stderr)
		}
	}
	a.golden("policies-list-after-apply", 0, "policies", "list")

	// buckets and org
	for _, b := range []string{"alpha", "beta"} {
		if err := a.emu.SeedBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range formats {
		a.golden("buckets-list-"+f, 0, "buckets", "list", "-o", f)
	}
	a.golden("buckets-set-table", 0, "buckets", "set", "alpha", "--audit-logging", "on", "--archive-after-days", "90", "--capacity-cap", "10TiB")
	a.golden("buckets-set-json", 0, "buckets", "set", "beta", "--capacity-cap", "500GB", "-o", "json")
	a.golden("buckets-set-yaml", 0, "buckets", "set", "beta", "--archive-after-days", "0", "--capacity-cap", "none", "-o", "yaml")
	for _, f := range formats {
		a.golden("buckets-get-"+f, 0, "buckets", "get", "alpha", "-o", f)
	}
	for i, f := range formats {
		onOff := []string{"on", "off", "on"}[i]
		a.golden("org-set-"+f, 0, "org", "set", "--control-plane-audit-logging", onOff, "--bucket-audit-logging", "off", "-o", f)
	}
	if s := a.emu.OrganizationSettings(); s.ControlPlaneAuditLoggingEnabled == nil || !*s.ControlPlaneAuditLoggingEnabled ||
		s.BucketAuditLoggingEnabled == nil || *s.BucketAuditLoggingEnabled {
		t.Errorf("org settings after org set: %+v", s)
	}

	// can-i: the token's own principal through the API, another through the policies.
	for _, f := range formats {
		a.golden("can-i-admin-"+f, 0, "can-i", "s3:GetObject", "cwobject:ListBucketInfo", "--resource", "alpha/x", "-o", f)
		a.golden("can-i-principal-"+f, 1, "can-i", "s3:GetObject", "s3:PutObject", "cwobject:ListAccessKeyInfo",
			"--resource", "alpha/data.csv", "--resource", "beta/x", "--principal", "role/https://issuer.example.com:reader", "-o", f)
	}
	bob := a.emu.AddUserToken("bob")
	a.secrets = append(a.secrets, bob)
	r := a.cli([]string{"CW_API_TOKEN=" + bob}, "can-i", "s3:GetObject", "--resource", "alpha/x")
	if r.code != 1 || r.stdout != "ACTION\tRESOURCE\tALLOWED\ns3:GetObject\talpha/x\tno\n" || r.stderr != "" {
		t.Errorf("can-i for a user without policy: %d %q %q", r.code, r.stdout, r.stderr)
	}
	a.golden("policies-delete", 0, "policies", "delete", "readers")
	a.golden("policies-apply-dry-run-yaml", 0, "policies", "apply", "-f", readers, "--dry-run", "-o", "yaml")
	a.golden("policies-apply-json", 0, "policies", "apply", "-f", readers, "-o", "json")
	a.golden("policies-delete-json", 0, "policies", "delete", "readers", "-o", "json")
}

func testAdminErrors(t *testing.T, bin string) {
	a := newAdminWorld(t, bin)
	if err := a.emu.SeedBucket("alpha"); err != nil {
		t.Fatal(err)
	}
	// not found: 3
	a.fails(exitNotFound, "no access key CWAAAAAAAAAAAAAA", nil, "keys", "get", "CWAAAAAAAAAAAAAA")
	a.fails(exitNotFound, "no access key CWAAAAAAAAAAAAAA", nil, "keys", "revoke", "CWAAAAAAAAAAAAAA")
	a.fails(exitNotFound, `no access policy named "nope"`, nil, "policies", "get", "nope")
	a.fails(exitNotFound, `no access policy named "nope"`, nil, "policies", "delete", "nope")
	a.fails(exitNotFound, `no bucket "nope"`, nil, "buckets", "get", "nope")
	a.fails(exitNotFound, `no bucket "nope"`, nil, "buckets", "set", "nope", "--audit-logging", "on")
	// permission denied: 4 (a user no policy allows anything, and a token the API does not know)
	bob := a.emu.AddUserToken("bob")
	a.secrets = append(a.secrets, bob)
	asBob := []string{"CW_API_TOKEN=" + bob}
	a.fails(exitPermissionDenied, "coreweave/bob is not allowed cwobject:ListAccessKeyInfo", asBob, "keys", "list")
	a.fails(exitPermissionDenied, "PermissionDenied", asBob, "policies", "apply", "-f", filepath.Join("testdata", "admin", "readers.yaml"))
	a.fails(exitPermissionDenied, "PermissionDenied", asBob, "buckets", "set", "alpha", "--audit-logging", "off")
	a.fails(exitPermissionDenied, "PermissionDenied", asBob, "org", "set", "--bucket-audit-logging", "on")
	a.fails(exitPermissionDenied, "PermissionDenied", asBob, "can-i", "s3:GetObject", "--resource", "*", "--principal", "saml/x")
	a.fails(exitPermissionDenied, "invalid API access token", []string{"CW_API_TOKEN=CW-SECRET-notarealtoken"}, "keys", "list")
	// invalid input: 2
	for _, tc := range []struct {
		want string
		args []string
	}{
		{`-o "xml" is not an output format`, []string{"keys", "list", "-o", "xml"}},
		{`--status "bogus" is not a key status`, []string{"keys", "list", "--status", "bogus"}},
		{"pass --duration", []string{"keys", "create"}},
		{"a permanent key needs --permanent", []string{"keys", "create", "--duration", "0s"}},
		{"longer than the 12h", []string{"keys", "create", "--duration", "13h"}},
		{"exclude each other", []string{"keys", "create", "--duration", "1h", "--permanent"}},
		{"exclude each other", []string{"keys", "create", "--duration", "1h", "-o", "json", "--format", "env"}},
		{"looks like a secret key", []string{"keys", "get", "cwo" + strings.Repeat("a", 40)}},
		{"takes one access key id", []string{"keys", "get"}},
		{"name the keys to revoke", []string{"keys", "revoke"}},
		{"pass --principal P", []string{"keys", "suspend"}},
		{"unknown flag: --bogus", []string{"keys", "list", "--bogus"}},
		{`unknown command "frob" for cwcreds keys`, []string{"keys", "frob"}},
		{"pass the policy file with -f", []string{"policies", "apply"}},
		{"cannot read policy file", []string{"policies", "apply", "-f", "/nonexistent/p.yaml"}},
		{"the API archives after 60 days at the earliest", []string{"buckets", "set", "alpha", "--archive-after-days", "30"}},
		{`--capacity-cap "10T"`, []string{"buckets", "set", "alpha", "--capacity-cap", "10T"}},
		{`--audit-logging "maybe": use on or off`, []string{"buckets", "set", "alpha", "--audit-logging", "maybe"}},
		{"nothing to change", []string{"buckets", "set", "alpha"}},
		{"nothing to change", []string{"org", "set"}},
		{"pass at least one --resource", []string{"can-i", "s3:GetObject"}},
		{"name at least one action", []string{"can-i", "--resource", "*"}},
	} {
		a.fails(exitInvalidInput, tc.want, nil, tc.args...)
	}
	a.fails(exitInvalidInput, "no CoreWeave API token: export CW_API_TOKEN", []string{"CW_API_TOKEN="}, "keys", "list")
	// unavailable: 5 (the API keeps answering 503, or nothing listens)
	a.emu.InjectFault("ListAccessKeyInfo", emulator.Fault{Count: 10, HTTPStatus: 503, Code: cwobject.CodeUnavailable, Message: "down for maintenance"})
	a.fails(exitUnavailable, "down for maintenance", nil, "keys", "list")
	a.emu.ClearFaults()
	a.fails(exitUnavailable, "cannot reach the API", []string{"CWCREDS_API_ENDPOINT=" + closedURL(t)}, "buckets", "list")
	a.emu.InjectFault("ListBucketInfo", emulator.Fault{Count: 10, Malformed: true})
	a.fails(exitUnavailable, "malformed response", nil, "buckets", "list")
	a.emu.ClearFaults()
}

// closedURL is an http URL on which nothing listens.
func closedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String()
	ln.Close()
	return u
}

func testAdminPagination(t *testing.T, bin string) {
	a := newAdminWorld(t, bin)
	const nKeys, nBuckets = 2345, 1234
	ids := a.emu.SeedAccessKeys("coreweave/many", nKeys-5, time.Hour)
	ids = append(ids, a.emu.SeedAccessKeys(ciPrincipal, 5, time.Hour)...)
	for i := range nBuckets {
		if err := a.emu.SeedBucket(fmt.Sprintf("bucket-%04d", i)); err != nil {
			t.Fatal(err)
		}
	}
	a.emu.ResetCalls()
	var keys []keyView
	r := a.run("keys", "list", "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &keys); err != nil || r.code != 0 {
		t.Fatalf("keys list: %v, exit %d, %s", err, r.code, r.stderr)
	}
	if len(keys) != nKeys || keys[0].AccessKeyID != ids[0] || keys[nKeys-1].AccessKeyID != ids[nKeys-1] {
		t.Fatalf("%d keys listed, want %d in minting order", len(keys), nKeys)
	}
	if got := a.emu.Calls()["ListAccessKeyInfo"]; got != 3 {
		t.Errorf("%d ListAccessKeyInfo calls for %d keys, want 3 pages of 1000", got, nKeys)
	}
	for _, p := range []string{ciPrincipal, "role/https://issuer.example.com:*"} {
		if r := a.run("keys", "list", "--principal", p); r.code != 0 || strings.Count(r.stdout, "\n") != 6 {
			t.Errorf("keys list --principal %s over pages: %d lines", p, strings.Count(r.stdout, "\n"))
		}
	}
	var buckets []bucketView
	r = a.run("buckets", "list", "-o", "json")
	if err := json.Unmarshal([]byte(r.stdout), &buckets); err != nil || r.code != 0 {
		t.Fatalf("buckets list: %v, exit %d, %s", err, r.code, r.stderr)
	}
	if len(buckets) != nBuckets || buckets[nBuckets-1].Name != fmt.Sprintf("bucket-%04d", nBuckets-1) {
		t.Fatalf("%d buckets listed, want %d", len(buckets), nBuckets)
	}
	if got := a.emu.Calls()["ListBucketInfo"]; got != 2 {
		t.Errorf("%d ListBucketInfo calls for %d buckets, want 2", got, nBuckets)
	}
	if r := a.run("buckets", "list"); strings.Count(r.stdout, "\n") != nBuckets+1 {
		t.Errorf("buckets list table: %d lines", strings.Count(r.stdout, "\n"))
	}
}

func testAdminPolicyFiles(t *testing.T, bin string) {
	a := newAdminWorld(t, bin)
	for _, name := range []string{"bad-mistakes", "bad-syntax", "warn-only"} {
		ext := ".yaml"
		if name == "bad-syntax" {
			ext = ".json"
		}
		code := exitInvalidInput
		if name == "warn-only" {
			code = 0
		}
		a.golden("policies-file-"+name, code, "policies", "apply", "--dry-run", "-f", filepath.Join("testdata", "admin", name+ext))
	}
	// From standard input, with nothing applied when the file is bad.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := a.runProc(ctx, strings.NewReader("name: x\nstatements: []\n"), a.environ(), a.bin, "policies", "apply", "-f", "-")
	if r.code != exitInvalidInput || r.stderr != "cwcreds: <stdin>:2: statements: must be a list of at least one statement\n" {
		t.Errorf("stdin: %d %q", r.code, r.stderr)
	}
	if a.emu.Calls()["EnsureAccessPolicy"] != 0 {
		t.Error("a bad file was applied")
	}
}

func testAdminTokenSources(t *testing.T, bin string) {
	a := newAdminWorld(t, bin)
	tokenFile := filepath.Join(a.dir, "api-token")
	if err := os.WriteFile(tokenFile, []byte(a.emu.AdminToken()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ok := func(extra []string, args ...string) {
		t.Helper()
		if r := a.cli(extra, args...); r.code != 0 {
			t.Errorf("cwcreds %s with %v: exit %d, %s", strings.Join(args, " "), extra, r.code, r.stderr)
		}
	}
	// --api-token-file beats a wrong $CW_API_TOKEN.
	ok([]string{"CW_API_TOKEN=CW-SECRET-wrong"}, "keys", "list", "--api-token-file", tokenFile)
	a.fails(exitInvalidInput, "API token file", nil, "keys", "list", "--api-token-file", filepath.Join(a.dir, "missing"))
	// A profile's api_token source: named, or the file's default profile.
	a.writeConfig("api_endpoint: " + a.emu.APIURL() + "\ndefault_profile: admin\nprofiles:\n" +
		"  admin:\n    source: {type: api_token, file: " + tokenFile + "}\n")
	noEnv := []string{"CW_API_TOKEN=", "CWCREDS_API_ENDPOINT="}
	ok(noEnv, "policies", "list", "--profile", "admin")
	ok(noEnv, "policies", "list")
	// A named profile's token wins over $CW_API_TOKEN; the default profile's does not.
	ok([]string{"CW_API_TOKEN=CW-SECRET-wrong"}, "policies", "list", "--profile", "admin")
	a.fails(exitPermissionDenied, "invalid API access token", []string{"CW_API_TOKEN=CW-SECRET-wrong"}, "policies", "list")
	a.fails(exitInvalidInput, "profile", noEnv, "policies", "list", "--profile", "nope")
}

// testAdminTerminal runs a list under a pseudo-terminal (script(1)): the table
// is aligned with spaces, not tab-separated.
func testAdminTerminal(t *testing.T, bin string) {
	a := newAdminWorld(t, bin)
	a.emu.SeedAccessKeys(ciPrincipal, 1, time.Hour)
	script, err := exec.LookPath("script")
	if err != nil {
		t.Fatalf("script(1) from util-linux is needed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := a.runProc(ctx, nil, a.environ(), script, "-qec", a.bin+" keys list", "/dev/null")
	out := strings.ReplaceAll(r.stdout, "\r\n", "\n")
	if r.code != 0 || strings.Contains(out, "\t") ||
		!strings.Contains(out, "ACCESS KEY ID     PRINCIPAL                           STATUS  EXPIRES               ATTRIBUTES\n") {
		t.Fatalf("on a terminal: exit %d\n%q", r.code, out)
	}
}
