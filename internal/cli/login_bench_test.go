//go:build unix

package cli

import (
	"context"
	"net/url"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/browsertest"
	"github.com/cwcreds/cwcreds/internal/emulator/devop"
	"github.com/cwcreds/cwcreds/internal/emulator/devop/devoptest"
	"github.com/cwcreds/cwcreds/internal/emulator/emutest"
)

// benchLogin is a world with the dev OpenID provider and a laptop profile whose
// $BROWSER is a shim the benchmark plays the browser for.
func benchLogin(b *testing.B) (*world, *browsertest.Shim) {
	w := newWorld(b)
	op := emutest.StartDevOP(b, devop.Config{Password: devPassword})
	op.TrustedBy(w.emu)
	w.writeProfiles("  laptop:\n    source: {type: oidc_refresh, issuer: " + op.Issuer() + ", client_id: " + op.ClientID() + "}\n    propagation_delay: 0s\n")
	shim := browsertest.NewShim(b)
	w.env["BROWSER"] = shim.Command
	return w, shim
}

// login runs `cwcreds login` in process while a scripted browser logs in, and
// returns the time from the provider's redirect to the loopback listener to the
// keys being cached (what cwcreds itself adds to a login).
func (w *world) timedLogin(b *testing.B, shim *browsertest.Shim) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan int, 1)
	go func() {
		code, _, _ := w.run("login", "--profile", "laptop")
		done <- code
	}()
	authURL, err := shim.Next(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var redirectAt atomic.Int64
	br := devoptest.New("dev", devPassword)
	br.Rewrite = func(u *url.URL) *url.URL {
		if u.Path == "/callback" {
			redirectAt.Store(time.Now().UnixNano())
		}
		return nil
	}
	if _, err := br.Login(ctx, authURL); err != nil {
		b.Fatal(err)
	}
	if code := <-done; code != 0 {
		b.Fatalf("login exited %d", code)
	}
	return time.Since(time.Unix(0, redirectAt.Load()))
}

// BenchmarkLoginAfterRedirect: from the IdP's redirect to keys cached — the
// code exchange, ID-token verification, storing the refresh token and the
// CreateAccessKeyFromOIDC exchange, all against in-process providers.
func BenchmarkLoginAfterRedirect(b *testing.B) {
	w, shim := benchLogin(b)
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		total += w.timedLogin(b, shim)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms-after-redirect/op")
}

// BenchmarkSilentRefresh: a credential-process call with no cached keys and a
// stored login — config, the refresh at the provider, the exchange, the cache.
func BenchmarkSilentRefresh(b *testing.B) {
	w, shim := benchLogin(b)
	w.timedLogin(b, shim)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if err := os.Remove(w.cacheFile("laptop")); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if code, _, _ := w.run("credential-process", "--profile", "laptop"); code != 0 {
			b.Fatalf("credential-process exited %d", code)
		}
	}
}
