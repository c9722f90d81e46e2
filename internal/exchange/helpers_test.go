package exchange

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/devissuer"
)

// testEnv is an emulator on 127.0.0.1 (httptest) with a fake clock, and an API
// client for it that does not retry (the cache's retry loop is the one under test).
type testEnv struct {
	t      *testing.T
	clock  *clockwork.FakeClock
	emu    *emulator.Emulator
	api    *httptest.Server
	client *cwobject.Client
}

func newTestEnv(t *testing.T, mods ...func(*emulator.Config)) *testEnv {
	t.Helper()
	// Whole seconds near real time, so expiries compare exactly and real IdPs
	// (which use the real clock) agree.
	clock := clockwork.NewFakeClockAt(time.Now().UTC().Truncate(time.Second))
	cfg := emulator.Config{Clock: clock, Logger: zap.NewNop()}
	for _, m := range mods {
		m(&cfg)
	}
	emu, err := emulator.New(cfg)
	if err != nil {
		t.Fatalf("emulator: %v", err)
	}
	api := httptest.NewServer(emu.APIHandler())
	t.Cleanup(api.Close)
	client, err := cwobject.New(cwobject.Config{
		BaseURL:        api.URL,
		HTTPClient:     api.Client(),
		Clock:          clock,
		Retry:          cwobject.RetryPolicy{MaxAttempts: 1},
		RequestTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return &testEnv{t: t, clock: clock, emu: emu, api: api, client: client}
}

// mint returns a dev-issuer JWT for sub, trusted by the emulator.
func (v *testEnv) mint(sub string, lifetime time.Duration) string {
	v.t.Helper()
	tok, err := v.emu.DevIssuer().Mint(devissuer.MintOptions{Subject: sub, Lifetime: lifetime})
	if err != nil {
		v.t.Fatalf("mint: %v", err)
	}
	return tok
}

// mintExpired returns a JWT that expired a minute ago.
func (v *testEnv) mintExpired(sub string) string {
	v.t.Helper()
	tok, err := v.emu.DevIssuer().Mint(devissuer.MintOptions{
		Subject: sub, Lifetime: time.Hour, IssuedAt: v.clock.Now().Add(-time.Hour - time.Minute)})
	if err != nil {
		v.t.Fatalf("mint: %v", err)
	}
	return tok
}

func (v *testEnv) principal(sub string) string {
	return cwobject.PrincipalPrefixOIDC + v.emu.DevIssuer().URL() + ":" + sub
}

// writeFile writes data to dir/name (atomically, like kubelet's symlink swap).
func writeFile(t *testing.T, path, data string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func tempPath(t *testing.T, name string) string {
	return filepath.Join(t.TempDir(), name)
}

// noSecrets fails if err's text holds any secret, or any 16-byte piece of one.
func noSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if strings.Contains(msg, s) {
			t.Fatalf("error holds a secret: %s", msg)
		}
		for _, part := range strings.Split(s, ".") {
			for i := 0; i+16 <= len(part); i += 8 {
				if strings.Contains(msg, part[i:i+16]) {
					t.Fatalf("error holds part of a secret: %s", msg)
				}
			}
		}
	}
}

// unrecoverable reports how internal/cache would classify err.
func unrecoverable(err error) bool {
	var u interface{ Unrecoverable() bool }
	return errors.As(err, &u) && u.Unrecoverable()
}

func wantErr(t *testing.T, err error, unrec bool, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not mention %q", err, p)
		}
	}
	if got := unrecoverable(err); got != unrec {
		t.Fatalf("error %q: unrecoverable=%v, want %v", err, got, unrec)
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

// staticSource is a TokenSource that always returns the same token.
type staticSource string

func (s staticSource) Token(context.Context) (string, error) { return string(s), nil }

func devMint(sub string) devissuer.MintOptions {
	return devissuer.MintOptions{Subject: sub, Lifetime: time.Hour}
}
