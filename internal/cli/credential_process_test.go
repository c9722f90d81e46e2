package cli

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/cwcreds/cwcreds/internal/config"
	"github.com/cwcreds/cwcreds/internal/emulator/devissuer"
	"github.com/cwcreds/cwcreds/internal/exchange"
	"github.com/cwcreds/cwcreds/internal/fileutil"
)

func TestCredentialProcessColdThenWarm(t *testing.T) {
	w := newWorld(t)
	code, out, errOut := w.run("credential-process")
	if code != 0 || errOut != "" {
		t.Fatalf("cold: code %d, stderr %q", code, errOut)
	}
	first := w.processOutput(out)
	if w.exchanges() != 1 {
		t.Fatalf("%d exchanges, want 1", w.exchanges())
	}
	if strings.Contains(out, "SessionToken") {
		t.Errorf("an empty session token was printed: %s", first.AccessKeyID)
	}
	code, out2, errOut := w.run("credential-process", "--profile", "default")
	if code != 0 || errOut != "" || out2 != out || w.exchanges() != 1 {
		t.Fatalf("warm: code %d, stderr %q, same output %v, %d exchanges", code, errOut, out2 == out, w.exchanges())
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(w.cacheFile("default"))
		di, _ := os.Stat(filepath.Dir(w.cacheFile("default")))
		if err != nil || fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
			t.Fatalf("cache modes: %v %v (%v)", fi.Mode(), di.Mode(), err)
		}
	}
}

// Problems with the input are one clear line on stderr, nothing on stdout, and
// no exchange; problems with the cache are fixed or refused, never used.
func TestCredentialProcessBadInput(t *testing.T) {
	w := newWorld(t)
	oneErrorLine := func(what string, code int, out, errOut, want string) {
		t.Helper()
		if code == 0 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "cwcreds: ") || !strings.Contains(errOut, want) {
			t.Errorf("%s: code %d, stdout %q, stderr %q (want %q)", what, code, out, errOut, want)
		}
	}

	code, out, errOut := w.run("credential-process", "--profile", "nope")
	oneErrorLine("unknown profile", code, out, errOut, `unknown profile "nope": known profiles are default`)

	cfgPath := w.writeConfig("org_id: o\nprofiles:\n  ci:\n    source: {type: token_file, path: /t\n")
	code, out, errOut = w.run("credential-process", "--profile", "ci")
	oneErrorLine("broken config", code, out, errOut, cfgPath+":")
	if err := os.Remove(cfgPath); err != nil {
		t.Fatal(err)
	}

	code, out, errOut = w.run("credential-process", "--log-level", "loud")
	oneErrorLine("bad log level", code, out, errOut, "unknown log level")
	if w.exchanges() != 0 {
		t.Fatalf("%d exchanges for bad input", w.exchanges())
	}

	// A good run fills the cache; then the cache file and folder are spoiled.
	code, out, _ = w.run("credential-process")
	if code != 0 {
		t.Fatal("first run failed")
	}
	good := w.processOutput(out)
	cacheFile := w.cacheFile("default")
	cacheDir := filepath.Dir(cacheFile)
	if runtime.GOOS == "windows" {
		return
	}

	// An unreadable cache file is replaced by fresh keys, never trusted.
	if err := os.Chmod(cacheFile, 0o000); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = w.run("credential-process")
	if code != 0 || !oneWarning(errOut, "it has mode 0000, not 0600; it will be replaced") {
		t.Fatalf("unreadable cache file: code %d, stderr %q", code, errOut)
	}
	if got := w.processOutput(out); got.AccessKeyID == good.AccessKeyID || w.exchanges() != 2 {
		t.Fatalf("unreadable cache file was used (%d exchanges)", w.exchanges())
	}
	if fi, err := os.Stat(cacheFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("cache file not replaced: %v %v", fi.Mode(), err)
	}

	// A cache folder others could write to is tightened before use.
	if err := os.Chmod(cacheDir, 0o777); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = w.run("credential-process")
	if di, _ := os.Stat(cacheDir); code != 0 || errOut != "" || di.Mode().Perm() != 0o700 || w.exchanges() != 2 {
		t.Fatalf("loose cache folder: code %d, stderr %q, mode %v, %d exchanges", code, errOut, di.Mode(), w.exchanges())
	}

	// A cache file that cannot be kept (here a folder in its place; a read-only or
	// full filesystem alike) costs an exchange per call, said once per call on
	// stderr; the keys still come.
	if err := os.Remove(cacheFile); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(cacheFile, 0o700); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		before := w.exchanges()
		code, out, errOut = w.run("credential-process")
		if code != 0 || !oneWarning(errOut, "is a folder") || w.exchanges() != before+1 {
			t.Fatalf("cache file is a folder, call %d: code %d, stderr %q, %d exchanges", i, code, errOut, w.exchanges()-before)
		}
		w.processOutput(out)
	}
	if err := os.Remove(cacheFile); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut = w.run("credential-process"); code != 0 || errOut != "" {
		t.Fatalf("after the folder is gone: code %d, stderr %q", code, errOut)
	}
	w.processOutput(out)

	// A cache path that is not a folder is refused.
	blocked := filepath.Join(w.dir, "not-a-folder")
	if err := os.WriteFile(blocked, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = w.run("credential-process", "--cache-dir", blocked)
	oneErrorLine("cache path is a file", code, out, errOut, "could not create folder "+blocked)

	if os.Geteuid() != 0 {
		t.Log("not root: the foreign-owner cases need chown")
		return
	}
	// A cache file of another user is replaced; a cache folder of another user is refused.
	if err := os.Chown(cacheFile, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	before := w.exchanges()
	code, out, errOut = w.run("credential-process")
	if code != 0 || !oneWarning(errOut, "it belongs to another user") || w.exchanges() != before+1 {
		t.Fatalf("foreign cache file: code %d, stderr %q, %d exchanges", code, errOut, w.exchanges()-before)
	}
	w.processOutput(out)
	if fi, _ := os.Stat(cacheFile); !fileutil.OwnedByMe(fi) {
		t.Fatal("the foreign cache file is still there")
	}
	if err := os.Chown(cacheDir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = w.run("credential-process")
	oneErrorLine("foreign cache folder", code, out, errOut, "belongs to another user")
}

// With a terminal, the login runs there (the dev issuer here cannot log a person
// in, so it fails, in one line); without one, the hint is the error.
func TestCredentialProcessLoginOnTerminal(t *testing.T) {
	w := newWorld(t)
	w.writeProfiles("  laptop:\n    source: {type: oidc_refresh, issuer: " + w.emu.DevIssuer().URL() + ", client_id: cwcreds}\n")
	var tty bytes.Buffer
	o := &credentialProcessOptions{logLevel: "error", openTTY: func() (io.WriteCloser, error) { return nopCloser{&tty}, nil }}
	o.overrides.Profile = "laptop"
	var stdout, stderr bytes.Buffer
	env := Env{Getenv: func(k string) string { return w.env[k] }, Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Version: "test"}
	err := runCredentialProcess(context.Background(), env, o)
	if err == nil || !strings.HasPrefix(err.Error(), `login to profile "laptop" failed: `) || stdout.Len() != 0 || stderr.Len() != 0 {
		t.Fatalf("err %v, stdout %q, stderr %q", err, stdout.String(), stderr.String())
	}
	want := "cwcreds: profile laptop needs a login (no login is stored)\n"
	if !strings.HasPrefix(tty.String(), want) {
		t.Fatalf("terminal got %q, want it to start with %q", tty.String(), want)
	}
	var le *loginRequiredError
	// Without a terminal nothing is written anywhere but the error.
	o.openTTY = func() (io.WriteCloser, error) { return nil, os.ErrNotExist }
	if err := runCredentialProcess(context.Background(), env, o); !errors.As(err, &le) {
		t.Fatalf("second run: %v", err)
	}
	if w.exchanges() != 0 {
		t.Fatalf("%d exchanges without a login", w.exchanges())
	}
}

// An oidc_refresh profile whose stored refresh token a real issuer refuses needs
// a new login too, and says so on this run and on the next ones (which the cache
// answers from its remembered failure, without asking the issuer again).
func TestCredentialProcessRefusedLogin(t *testing.T) {
	w := newWorld(t)
	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Shutdown() })
	secretFile := filepath.Join(w.dir, "client-secret")
	if err := os.WriteFile(secretFile, []byte(idp.ClientSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	w.addSecret(idp.ClientSecret)
	w.writeProfiles("  laptop:\n    source: {type: oidc_refresh, issuer: " + idp.Issuer() + ", client_id: " + idp.ClientID +
		", client_secret_file: " + secretFile + "}\n")
	store := filepath.Join(w.env["XDG_STATE_HOME"], "cwcreds", "oidc-laptop.refresh")
	if err := os.MkdirAll(filepath.Dir(store), 0o700); err != nil {
		t.Fatal(err)
	}
	const refresh = "refresh-token-the-issuer-never-issued"
	if err := os.WriteFile(store, []byte(refresh), 0o600); err != nil {
		t.Fatal(err)
	}
	w.addSecret(refresh)
	for i := range 2 {
		code, out, errOut := w.run("credential-process", "--profile", "laptop")
		if code == 0 || out != "" || strings.Count(errOut, "\n") != 1 ||
			!strings.Contains(errOut, "the stored login was refused or has expired): run `cwcreds login --profile laptop`") {
			t.Fatalf("run %d: code %d, stdout %q, stderr %q", i, code, out, errOut)
		}
	}
	if w.exchanges() != 0 {
		t.Fatalf("%d exchanges with a refused login", w.exchanges())
	}
}

func TestLazyFetcherBuildsOnce(t *testing.T) {
	builds := 0
	l := &lazyFetcher{build: func() (exchange.Fetcher, error) { builds++; return nil, errors.New("cannot build") }}
	if _, err := l.InputFingerprint(); err == nil {
		t.Fatal("no error from a fetcher that cannot be built")
	}
	if _, err := l.Fetch(context.Background()); err == nil || builds != 1 {
		t.Fatalf("fetch: %v, %d builds", err, builds)
	}
}

func TestPolicyOfProfile(t *testing.T) {
	p := &config.Profile{RefreshMargin: 20 * time.Minute, MinTTL: time.Minute, PropagationDelay: 5 * time.Second}
	pol := policyOf(p)
	if pol.RefreshMargin != p.RefreshMargin || pol.Floor != p.MinTTL || pol.PropagationDelay != p.PropagationDelay {
		t.Fatalf("%+v", pol)
	}
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// A warm cache answers without building the exchange (HTTP client, CA pool,
// identity source): with the CA bundle gone, only a cold run notices.
func TestCredentialProcessWarmPathBuildsNoExchange(t *testing.T) {
	w := newWorld(t)
	bundle := filepath.Join(w.dir, "ca.pem")
	if err := os.WriteFile(bundle, selfSignedPEM(t), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := w.run("credential-process", "--ca-bundle", bundle)
	if code != 0 {
		t.Fatalf("cold: %s", errOut)
	}
	w.processOutput(out)
	if err := os.Remove(bundle); err != nil {
		t.Fatal(err)
	}
	code, out2, errOut := w.run("credential-process", "--ca-bundle", bundle)
	if code != 0 || out2 != out {
		t.Fatalf("warm run built the exchange: code %d, stderr %q", code, errOut)
	}
	if err := os.Remove(w.cacheFile("default")); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = w.run("credential-process", "--ca-bundle", bundle)
	if code == 0 || !strings.Contains(errOut, "CA bundle") {
		t.Fatalf("cold run without the bundle: code %d, stderr %q", code, errOut)
	}
}

func selfSignedPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// BenchmarkCredentialProcessWarm is the in-process part of a warm
// credential-process: flag parsing, config load, one cache file read, JSON out.
// The rest of its wall time is process start-up (scripts/bench-credential-process).
func BenchmarkCredentialProcessWarm(b *testing.B) {
	w := newWorld(b)
	if code, _, errOut := w.run("credential-process"); code != 0 {
		b.Fatal(errOut)
	}
	getenv := func(k string) string { return w.env[k] }
	args := []string{"credential-process"}
	b.ReportAllocs()
	for b.Loop() {
		var out bytes.Buffer
		if Run(context.Background(), Env{Args: args, Getenv: getenv, Stdout: &out, Stderr: io.Discard}) != 0 {
			b.Fatal("credential-process failed")
		}
	}
	if w.exchanges() != 1 {
		b.Fatalf("%d exchanges", w.exchanges())
	}
}

// A rejected identity is remembered across processes (no second exchange) until
// its input changes; the lazily built fetcher still gives the cache the input's
// fingerprint to notice the change.
func TestCredentialProcessRetriesWhenIdentityChanges(t *testing.T) {
	w := newWorld(t)
	wrong, err := w.emu.DevIssuer().Mint(devissuer.MintOptions{Subject: "ci-job", Audience: []string{"https://not-coreweave.example"}, Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	w.addSecret(wrong)
	good, err := os.ReadFile(w.tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(w.tokenFile, []byte(wrong), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		code, out, errOut := w.run("credential-process")
		if code == 0 || out != "" || strings.Count(errOut, "\n") != 1 || strings.Contains(errOut, "cwcreds login") {
			t.Fatalf("run %d: code %d, stderr %q", i, code, errOut)
		}
	}
	if w.exchanges() != 1 {
		t.Fatalf("%d exchanges with a rejected token, want 1", w.exchanges())
	}
	if err := os.WriteFile(w.tokenFile, good, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := w.run("credential-process")
	if code != 0 || w.exchanges() != 2 {
		t.Fatalf("after the token changed: code %d, stderr %q, %d exchanges", code, errOut, w.exchanges())
	}
	w.processOutput(out)
}

// credential-process leaves a memo for cwcreds-credential-process when it was
// called as the small binary calls it (only --config and --profile), pinned to
// the working folder only when the resolution depends on it, and holding no
// secret.
func TestCredentialProcessLeavesAMemo(t *testing.T) {
	w := newWorld(t)
	memos := func() []string {
		found, _ := filepath.Glob(filepath.Join(w.env["XDG_CACHE_HOME"], "cwcreds", "resolved-*.json"))
		return found
	}
	if code, _, errOut := w.run("credential-process", "--cache-dir", filepath.Join(w.dir, "elsewhere")); code != 0 || len(memos()) != 0 {
		t.Fatalf("with --cache-dir: code %d, stderr %q, memos %q", code, errOut, memos())
	}
	if code, _, errOut := w.run("credential-process"); code != 0 || len(memos()) != 1 {
		t.Fatalf("plain: code %d, stderr %q, memos %q", code, errOut, memos())
	}
	data := readFile(t, memos()[0])
	w.checkLeaks("memo", data)
	if strings.Contains(data, "work_dir") {
		t.Errorf("an absolute setup pinned the working folder:\n%s", data)
	}
	if code, _, _ := w.run("credential-process", "--profile", "default"); code != 0 || len(memos()) != 2 {
		t.Fatalf("--profile default: memos %q", memos())
	}

	// A relative CWCREDS_CACHE_DIR resolves against the working folder.
	w.env[config.EnvCacheDir] = "rel-cache"
	t.Chdir(w.dir)
	if code, _, errOut := w.run("credential-process"); code != 0 {
		t.Fatalf("relative cache dir: code %d, stderr %q", code, errOut)
	}
	pinned := 0
	for _, m := range memos() {
		if strings.Contains(readFile(t, m), `"work_dir":"`+w.dir+`"`) {
			pinned++
		}
	}
	if pinned != 1 {
		t.Errorf("%d memos pinned to %s, want 1", pinned, w.dir)
	}
}

// S3 refuses a brand-new key for a few seconds. On a cold cache the one-shot
// commands wait until the key is propagation_delay old, so the first S3 call
// made with it succeeds; without the wait it fails.
func TestColdKeysWorkAtOnceOnS3(t *testing.T) {
	const delay = 1500 * time.Millisecond
	for _, wait := range []bool{false, true} {
		w := newWorldWithPropagation(t, delay)
		if !wait {
			w.env[config.EnvPropagationDelay] = "0s"
		}
		start := time.Now()
		code, out, errOut := w.run("credential-process")
		took := time.Since(start)
		if code != 0 {
			t.Fatalf("wait=%v: code %d, stderr %q", wait, code, errOut)
		}
		k := w.processOutput(out)
		s3c := s3.New(s3.Options{Region: w.emu.Region(), BaseEndpoint: aws.String(w.emu.S3URL()), UsePathStyle: true,
			Credentials: credentials.NewStaticCredentialsProvider(k.AccessKeyID, k.SecretAccessKey, "")})
		_, err := s3c.ListBuckets(t.Context(), &s3.ListBucketsInput{})
		switch {
		case wait && (err != nil || took < delay):
			t.Fatalf("with the wait: took %s, first S3 call: %v", took, err)
		case !wait && err == nil:
			t.Fatalf("without the wait the first S3 call succeeded after %s: the test cannot tell the difference", took)
		}
	}
}

// oneWarning reports whether stderr is exactly one cwcreds warning line holding want.
func oneWarning(stderr, want string) bool {
	return strings.HasPrefix(stderr, "cwcreds: warning: ") && strings.Count(stderr, "\n") == 1 &&
		strings.HasSuffix(stderr, "\n") && strings.Contains(stderr, want)
}
