package inject

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cwcreds/cwcreds/internal/inject/injecttest"
)

func TestCertReloader(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if _, err := NewCertReloader(certFile, keyFile, nil, prometheus.NewRegistry()); err == nil || !strings.Contains(err.Error(), "--tls-cert-file") {
		t.Fatalf("missing files: %v", err)
	}
	first := injecttest.WriteCert(t, certFile, keyFile, "first")
	reg := prometheus.NewRegistry()
	c, err := NewCertReloader(certFile, keyFile, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Certificate().Equal(first) {
		t.Fatal("not the first certificate")
	}

	clock := clockwork.NewFakeClock()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, clock, time.Second) }()
	tick := func() {
		t.Helper()
		if err := clock.BlockUntilContext(ctx, 1); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}

	// A broken pair (a key for another certificate) keeps the first one.
	dir2 := t.TempDir()
	injecttest.WriteCert(t, filepath.Join(dir2, "c"), filepath.Join(dir2, "k"), "other")
	otherKey, err := os.ReadFile(filepath.Join(dir2, "k"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, otherKey, 0o600); err != nil {
		t.Fatal(err)
	}
	tick()
	waitFor(t, func() bool { return testutil.ToFloat64(c.reloads.WithLabelValues("failed")) == 1 })
	if !c.Certificate().Equal(first) {
		t.Fatal("a broken pair replaced the certificate")
	}

	second := injecttest.WriteCert(t, certFile, keyFile, "second")
	tick()
	waitFor(t, func() bool { return c.Certificate().Equal(second) })
	got, _ := c.GetCertificate(nil)
	if !got.Leaf.Equal(second) {
		t.Fatal("GetCertificate serves another certificate than Certificate")
	}
	if n := testutil.ToFloat64(c.reloads.WithLabelValues("loaded")); n != 1 {
		t.Fatalf("%v reloads counted", n)
	}
	if exp := testutil.ToFloat64(c.expiry); exp != float64(second.NotAfter.Unix()) {
		t.Fatalf("expiry gauge %v", exp)
	}
	cancel()
	<-done
}
