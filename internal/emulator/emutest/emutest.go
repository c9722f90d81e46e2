// Package emutest starts an emulator, and the dev identity providers, for a
// test, as net/http/httptest starts a server.
package emutest

import (
	"cmp"
	"context"
	"net"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/devop"
	"github.com/cwcreds/cwcreds/internal/emulator/devsaml"
)

// Start returns an emulator made from cfg that serves its API and S3 endpoints
// on loopback ports picked by the system until the test ends: a cleanup of t
// stops it and waits for it. It fails t when the emulator cannot be made or
// started.
func Start(t testing.TB, cfg emulator.Config) *emulator.Emulator {
	t.Helper()
	emu, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := emu.Start(ctx, "127.0.0.1:0", "127.0.0.1:0"); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = emu.Wait()
	})
	return emu
}

// Password is the dev user's password StartDevOP and StartDevSAML use when the
// config gives none.
const Password = "dev-password-for-tests"

// StartDevOP serves the dev OpenID provider on a loopback port until the test
// ends; a zero Password is Password, a zero DevicePollInterval one second.
func StartDevOP(t testing.TB, cfg devop.Config) *devop.Provider {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password = cmp.Or(cfg.Password, Password)
	cfg.DevicePollInterval = cmp.Or(cfg.DevicePollInterval, time.Second)
	p, err := devop.Start(ln, cfg)
	if err != nil {
		_ = ln.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

// StartDevSAML serves the dev SAML IdP on a loopback port until the test ends; a
// zero Password is Password.
func StartDevSAML(t testing.TB, cfg devsaml.Config) *devsaml.IdP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password = cmp.Or(cfg.Password, Password)
	idp, err := devsaml.New(cfg, ln)
	if err != nil {
		_ = ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- idp.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dev SAML IdP: %v", err)
		}
	})
	return idp
}
