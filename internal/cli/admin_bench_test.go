package cli

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/emutest"
)

// BenchmarkKeysList5000 is `cwcreds keys list` over 5,000 keys (5 pages from the
// emulator on loopback), in-process, in each output format.
func BenchmarkKeysList5000(b *testing.B) {
	emu := emutest.Start(b, emulator.Config{})
	emu.SeedAccessKeys("role/https://issuer.example.com:bench", 5000, time.Hour)
	env := map[string]string{"HOME": b.TempDir(), "CWCREDS_API_ENDPOINT": emu.APIURL(), "CW_API_TOKEN": emu.AdminToken()}
	for _, f := range []string{"table", "json", "yaml"} {
		b.Run(f, func(b *testing.B) {
			for b.Loop() {
				code := Run(context.Background(), Env{Args: []string{"keys", "list", "-o", f},
					Getenv: func(k string) string { return env[k] }, Stdout: io.Discard, Stderr: io.Discard})
				if code != 0 {
					b.Fatalf("exit %d", code)
				}
			}
		})
	}
}
