//go:build unix

package cli

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// A cache entry whose expiry was edited to be later than its keys can live is a
// miss with a warning in both binaries, never served: an SDK would otherwise keep
// dead keys until 2099.
func TestTamperedExpiryThroughBinaries(t *testing.T) {
	bin := buildCwcreds(t)
	w := newWorld(t)
	expiration := regexp.MustCompile(`"expiration": "[^"]*"`)
	lifetime := regexp.MustCompile(`"lifetime_ms": \d+`)
	for _, tc := range []struct {
		name   string
		tamper func([]byte) []byte
		want   string
	}{
		{"expiration", func(b []byte) []byte {
			return expiration.ReplaceAll(b, []byte(`"expiration": "2099-01-01T00:00:00Z"`))
		}, "an expiration later than its keys can live"},
		{"expiration and lifetime", func(b []byte) []byte {
			b = lifetime.ReplaceAll(b, []byte(`"lifetime_ms": 2303136000000`))
			return expiration.ReplaceAll(b, []byte(`"expiration": "2099-01-01T00:00:00Z"`))
		}, "longer than the 1h0m0s they are minted with"},
		{"lifetime over the one asked for", func(b []byte) []byte {
			return lifetime.ReplaceAll(b, []byte(`"lifetime_ms": 39600000`)) // 11h of 1h keys
		}, "longer than the 1h0m0s they are minted with"},
	} {
		for _, argv := range [][]string{{fastBinary(bin)}, {bin, "credential-process"}} {
			good := w.processOutput(w.mustRun(nil, argv...).stdout)
			data, err := os.ReadFile(w.cacheFile("default"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(w.cacheFile("default"), tc.tamper(data), 0o600); err != nil {
				t.Fatal(err)
			}
			before := w.exchanges()
			r := w.mustRun(nil, argv...)
			got := w.processOutput(r.stdout)
			if strings.Contains(r.stdout, "2099") || got.AccessKeyID == good.AccessKeyID || w.exchanges() != before+1 {
				t.Fatalf("%s tampered, %s served %s (%d exchanges)", tc.name, argv[0], r.stdout, w.exchanges()-before)
			}
			if !oneWarning(r.stderr, tc.want) {
				t.Fatalf("%s tampered, %s: stderr %q, want one warning saying %q", tc.name, argv[0], r.stderr, tc.want)
			}
		}
	}
}
