// Package emutest starts an emulator for a test, as net/http/httptest starts a
// server.
package emutest

import (
	"context"
	"testing"

	"github.com/cwcreds/cwcreds/internal/emulator"
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
