//go:build unix

package cli

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/browsertest"
	"github.com/cwcreds/cwcreds/internal/emulator/devop"
	"github.com/cwcreds/cwcreds/internal/emulator/devsaml"
	"github.com/cwcreds/cwcreds/internal/emulator/emutest"
	"github.com/cwcreds/cwcreds/internal/emulator/s3emu"
	"github.com/cwcreds/cwcreds/internal/login"
)

const devPassword = "dev-password-for-tests"

// loginScene is a world with the dev OpenID provider trusted by its emulator, a
// profile that logs in there, a real headless Chromium and a $BROWSER shim.
type loginScene struct {
	w       *world
	bin     string
	op      *devop.Provider
	browser *browsertest.Browser
	shim    *browsertest.Shim
}

func newLoginScene(t *testing.T, bin string, cfg devop.Config) *loginScene {
	w := newWorld(t)
	cfg.Password = devPassword
	op := emutest.StartDevOP(t, cfg)
	op.TrustedBy(w.emu)
	w.addSecret(devPassword)
	w.writeProfiles("  laptop:\n    source: {type: oidc_refresh, issuer: " + op.Issuer() + ", client_id: " + op.ClientID() + "}\n    propagation_delay: 0s\n")
	return &loginScene{w: w, bin: bin, op: op, browser: browsertest.Start(t), shim: browsertest.NewShim(t)}
}

// syncBuffer is a buffer a child process writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs cwcreds with args, the shim as $BROWSER and no display.
func (s *loginScene) start(t *testing.T, args ...string) (*exec.Cmd, *syncBuffer, *syncBuffer) {
	cmd := exec.Command(s.bin, args...)
	cmd.Env = s.w.environWithout([]string{"DISPLAY", "WAYLAND_DISPLAY"}, "BROWSER="+s.shim.Command)
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stdout, &stderr
}

// deviceURL waits for the verification_uri_complete a device login prints.
func deviceURL(ctx context.Context, t *testing.T, stderr *syncBuffer) string {
	t.Helper()
	for ctx.Err() == nil {
		if m := regexp.MustCompile(`or open (\S+)`).FindStringSubmatch(stderr.String()); m != nil {
			return m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no device URL printed:\n%s", stderr)
	return ""
}

// keysAccepted checks credential-process's keys are the emulator's, valid in S3.
func (s *loginScene) keysAccepted(t *testing.T) processJSON {
	t.Helper()
	out := s.w.processOutput(s.w.mustRun(nil, s.bin, "credential-process", "--profile", "laptop").stdout)
	if secret, state := s.w.emu.ResolveKey(out.AccessKeyID); state != s3emu.KeyValid || secret != out.SecretAccessKey {
		t.Fatalf("S3 sees the keys as %s", state)
	}
	return out
}

// A laptop login through a real browser, then silent refreshes: authorization
// code with PKCE, and the device flow.
func TestLoginThroughABrowser(t *testing.T) {
	bin := buildCwcreds(t)
	t.Run("AuthCode", func(t *testing.T) {
		s := newLoginScene(t, bin, devop.Config{})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd, stdout, stderr := s.start(t, "login", "--profile", "laptop")
		url, err := s.shim.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.browser.Open(ctx, url); err != nil {
			t.Fatal(err)
		}
		if err := s.browser.LogIn(ctx, "dev", devPassword); err != nil {
			t.Fatal(err)
		}
		if err := s.browser.WaitText(ctx, "succeeded"); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("login: %v\nstderr:\n%s", err, stderr)
		}
		if !strings.Contains(stdout.String(), "logged in to profile laptop as dev") || !strings.Contains(stderr.String(), url) {
			t.Fatalf("stdout %q; stderr:\n%s", stdout, stderr)
		}
		s.w.checkLeaks("login's stderr", stderr.String())
		s.w.checkLeaks("login's stdout", stdout.String())
		s.loggedIn(t)
	})
	t.Run("Device", func(t *testing.T) {
		s := newLoginScene(t, bin, devop.Config{DevicePollInterval: time.Second})
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd, _, stderr := s.start(t, "login", "--profile", "laptop", "--device")
		if err := s.browser.Open(ctx, deviceURL(ctx, t, stderr)); err != nil {
			t.Fatal(err)
		}
		if err := s.browser.LogIn(ctx, "dev", devPassword); err != nil {
			t.Fatal(err)
		}
		if err := s.browser.Click(ctx, `button[value=allow]`); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("login --device: %v\nstderr:\n%s", err, stderr)
		}
		if n := len(s.shim.URLs()); n != 0 {
			t.Fatalf("the device flow ran $BROWSER %d times", n)
		}
		s.loggedIn(t)
	})
}

// A login refused or not finished says so in one line, exits non-zero and
// caches nothing.
func TestLoginRefused(t *testing.T) {
	bin := buildCwcreds(t)
	for _, tc := range []struct {
		name, want string
		args       []string
		act        func(ctx context.Context, t *testing.T, s *loginScene, stderr *syncBuffer)
	}{
		{"timeout", "timed out", []string{"--timeout", "2s"}, func(context.Context, *testing.T, *loginScene, *syncBuffer) {}},
		{"device denied", "denied", []string{"--device"}, func(ctx context.Context, t *testing.T, s *loginScene, stderr *syncBuffer) {
			if err := s.browser.Open(ctx, deviceURL(ctx, t, stderr)); err != nil {
				t.Fatal(err)
			}
			if err := s.browser.LogIn(ctx, "dev", devPassword); err != nil {
				t.Fatal(err)
			}
			if err := s.browser.Click(ctx, `button[value=deny]`); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newLoginScene(t, bin, devop.Config{DevicePollInterval: time.Second})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd, stdout, stderr := s.start(t, append([]string{"login", "--profile", "laptop"}, tc.args...)...)
			tc.act(ctx, t, s, stderr)
			err := cmd.Wait()
			last := strings.TrimSpace(stderr.String())
			if i := strings.LastIndex(last, "\n"); i >= 0 {
				last = last[i+1:]
			}
			if err == nil || stdout.String() != "" || !strings.HasPrefix(last, "cwcreds: login to profile \"laptop\" failed") || !strings.Contains(last, tc.want) {
				t.Fatalf("exit %v, stdout %q, last line %q; want one saying %q", err, stdout, last, tc.want)
			}
			s.w.checkLeaks("login's stderr", stderr.String())
			if _, err := os.Stat(s.w.cacheFile("laptop")); !os.IsNotExist(err) {
				t.Fatal("a failed login left a cache file")
			}
			if r := s.w.mustRun(nil, s.bin, "status", "--profile", "laptop", "-o", "json"); !strings.Contains(r.stdout, `"login": "none"`) {
				t.Fatalf("a failed login stored something:\n%s", r.stdout)
			}
		})
	}
}

// loggedIn checks what a login leaves: keys S3 accepts, refreshed silently through
// the stored refresh token once the cached ones are gone, and a stored login
// status reports.
func (s *loginScene) loggedIn(t *testing.T) {
	first := s.keysAccepted(t)
	before := s.w.exchanges()
	if err := os.Remove(s.w.cacheFile("laptop")); err != nil {
		t.Fatal(err)
	}
	again := s.keysAccepted(t)
	if again.AccessKeyID == first.AccessKeyID || s.w.exchanges() != before+1 {
		t.Fatalf("no silent refresh: %d exchanges", s.w.exchanges()-before)
	}
	r := s.w.mustRun(nil, s.bin, "status", "--profile", "laptop", "-o", "json")
	if !strings.Contains(r.stdout, `"login": "stored"`) {
		t.Fatalf("status:\n%s", r.stdout)
	}
}

// A SAML login through a real browser: the dev IdP's login page, its response
// posted to cwcreds's loopback ACS, keys S3 accepts; once they are gone, SAML
// has no refresh, so credential-process asks for a new login in one line.
func TestSAMLLoginThroughABrowser(t *testing.T) {
	bin := buildCwcreds(t)
	w := newWorld(t)
	idp := emutest.StartDevSAML(t, devsaml.Config{Password: devPassword})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	acsPort := freePort(t)
	acsURL, err := login.SAMLLoginACSURL(net.JoinHostPort("127.0.0.1", strconv.Itoa(acsPort)))
	if err != nil {
		t.Fatal(err)
	}
	configID, err := devsaml.Register(w.emu, idp, acsURL)
	if err != nil {
		t.Fatal(err)
	}
	w.addSecret(devPassword)
	w.writeProfiles(fmt.Sprintf("  sso:\n    source: {type: saml_login, idp_metadata_url: %s, config_id: %s, acs_port: %d}\n    propagation_delay: 0s\n",
		idp.MetadataURL(), configID, acsPort))
	s := &loginScene{w: w, bin: bin, browser: browsertest.Start(t), shim: browsertest.NewShim(t)}

	cmd, stdout, stderr := s.start(t, "login", "--profile", "sso")
	url, err := s.shim.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.browser.Open(ctx, url); err != nil {
		t.Fatal(err)
	}
	if err := s.browser.LogIn(ctx, devsaml.UserName, devPassword); err != nil {
		t.Fatal(err)
	}
	if err := s.browser.WaitText(ctx, "succeeded"); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("login: %v\nstderr:\n%s", err, stderr)
	}
	if !strings.Contains(stdout.String(), "logged in to profile sso with role") {
		t.Fatalf("stdout %q", stdout)
	}
	s.w.checkLeaks("login's stderr", stderr.String())
	out := w.processOutput(w.mustRun(nil, bin, "credential-process", "--profile", "sso").stdout)
	if secret, state := w.emu.ResolveKey(out.AccessKeyID); state != s3emu.KeyValid || secret != out.SecretAccessKey {
		t.Fatalf("S3 sees the keys as %s", state)
	}
	if err := os.Remove(w.cacheFile("sso")); err != nil {
		t.Fatal(err)
	}
	r := w.runProc(ctx, nil, nil, bin, "credential-process", "--profile", "sso")
	if r.code == 0 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "run `cwcreds login --profile sso`") {
		t.Fatalf("after the keys are gone: exit %d, stderr %q", r.code, r.stderr)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Ten AWS calls starting at once on a laptop with no login: each runs
// credential-process with a terminal (a pty, as in a shell); exactly one browser
// opens, and all ten get keys from that one login.
func TestCredentialProcessLogsInOnceForAll(t *testing.T) {
	bin := buildCwcreds(t)
	s := newLoginScene(t, bin, devop.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const n = 10
	type out struct {
		text string
		err  error
	}
	results := make(chan out, n)
	for range n {
		go func() {
			// pty.spawn gives the process a controlling terminal, whose output
			// (the login's URL and the JSON) comes back on python's stdout.
			cmd := exec.CommandContext(ctx, "python3", "-c", "import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)",
				bin, "credential-process", "--profile", "laptop")
			cmd.Env = s.w.environWithout([]string{"DISPLAY", "WAYLAND_DISPLAY"}, "BROWSER="+s.shim.Command)
			b, err := cmd.Output()
			results <- out{string(b), err}
		}()
	}
	url, err := s.shim.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.browser.Open(ctx, url); err != nil {
		t.Fatal(err)
	}
	if err := s.browser.LogIn(ctx, "dev", devPassword); err != nil {
		t.Fatal(err)
	}
	keyOf := regexp.MustCompile(`"AccessKeyId":"(CW[A-Z0-9]+)"`)
	var keys []string
	for range n {
		r := <-results
		m := keyOf.FindStringSubmatch(r.text)
		if r.err != nil || m == nil {
			t.Fatalf("credential-process: %v\n%s", r.err, r.text)
		}
		keys = append(keys, m[1])
		s.w.checkLeaks("the terminal", r.text)
	}
	if got := len(s.shim.URLs()); got != 1 {
		t.Fatalf("%d browser windows for %d calls, want 1", got, n)
	}
	for _, k := range keys {
		if k != keys[0] {
			t.Fatalf("calls got different keys: %v", keys)
		}
	}
	if got := s.w.exchanges(); got != 1 {
		t.Fatalf("%d exchanges, want the login's one", got)
	}
}
