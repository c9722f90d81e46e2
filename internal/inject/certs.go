package inject

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// DefaultCertReloadInterval is how often CertReloader.Run re-reads the files.
// A Secret volume is updated within the kubelet's sync period (about a minute),
// so checking every 10 s adds little to that.
const DefaultCertReloadInterval = 10 * time.Second

// maxPEMBytes caps each file read: a certificate chain or key is a few KiB.
const maxPEMBytes = 1 << 20

// CertReloader serves the TLS certificate kept in a pair of PEM files and picks
// up new contents of those files (a renewed Secret, cert-manager) without a
// restart. A pair that does not load — a half-written renewal, a key that does not
// match — is logged and the previous certificate stays in use.
type CertReloader struct {
	certFile, keyFile string
	log               *zap.Logger

	current atomic.Pointer[tls.Certificate]

	mu      sync.Mutex // serialises Reload
	loaded  [sha256.Size]byte
	lastBad [sha256.Size]byte

	reloads *prometheus.CounterVec
	expiry  prometheus.Gauge
}

// NewCertReloader loads the pair, or says why it cannot. reg receives
// cwcreds_inject_certificate_reloads_total and
// cwcreds_inject_certificate_expiry_timestamp_seconds.
func NewCertReloader(certFile, keyFile string, log *zap.Logger, reg prometheus.Registerer) (*CertReloader, error) {
	if log == nil {
		log = zap.NewNop()
	}
	c := &CertReloader{certFile: certFile, keyFile: keyFile, log: log,
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cwcreds_inject_certificate_reloads_total",
			Help: "Changes of the webhook's certificate files seen, by result (loaded, failed).",
		}, []string{"result"}),
		expiry: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cwcreds_inject_certificate_expiry_timestamp_seconds",
			Help: "When the certificate the webhook serves expires (Unix time).",
		}),
	}
	for _, col := range []prometheus.Collector{c.reloads, c.expiry} {
		if err := reg.Register(col); err != nil {
			return nil, fmt.Errorf("could not register the certificate metrics: %w", err)
		}
	}
	c.reloads.WithLabelValues("loaded")
	c.reloads.WithLabelValues("failed")
	if _, err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// GetCertificate is tls.Config.GetCertificate.
func (c *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.current.Load(), nil
}

// TLSConfig serves the current certificate over TLS 1.2 or later, HTTP/1.1 only
// (the API server speaks it to webhooks; HTTP/2 adds attack surface for nothing).
func (c *CertReloader) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.GetCertificate, NextProtos: []string{"http/1.1"}}
}

// Certificate is the leaf being served.
func (c *CertReloader) Certificate() *x509.Certificate { return c.current.Load().Leaf }

// Reload reads both files and, when they changed, loads them. It returns whether
// a new certificate is now served.
func (c *CertReloader) Reload() (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	certPEM, err := readPEM(c.certFile, "--tls-cert-file")
	if err != nil {
		return false, err
	}
	keyPEM, err := readPEM(c.keyFile, "--tls-key-file")
	if err != nil {
		return false, err
	}
	sum := sha256.Sum256(append(append(certPEM, 0), keyPEM...))
	if c.current.Load() != nil && (sum == c.loaded || sum == c.lastBad) {
		return false, nil
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		c.lastBad = sum
		if c.current.Load() != nil {
			c.reloads.WithLabelValues("failed").Inc()
		}
		// The error of X509KeyPair names what is wrong, never key material.
		return false, fmt.Errorf("could not load the TLS certificate %s with key %s: %v", c.certFile, c.keyFile, err)
	}
	first := c.current.Load() == nil
	c.current.Store(&pair)
	c.loaded, c.lastBad = sum, [sha256.Size]byte{}
	c.expiry.Set(float64(pair.Leaf.NotAfter.Unix()))
	if !first {
		c.reloads.WithLabelValues("loaded").Inc()
	}
	c.log.Info("TLS certificate loaded", zap.String("subject", pair.Leaf.Subject.String()),
		zap.Strings("dns_names", pair.Leaf.DNSNames), zap.Time("not_after", pair.Leaf.NotAfter))
	return true, nil
}

// Run re-reads the files every interval until ctx is done. Failures are logged
// once per content of the files, and the previous certificate stays in use.
func (c *CertReloader) Run(ctx context.Context, clock clockwork.Clock, interval time.Duration) error {
	if interval <= 0 {
		return errors.New("the certificate reload interval must be positive")
	}
	tick := clock.NewTicker(interval)
	defer tick.Stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.Chan():
		}
		_, err := c.Reload()
		switch {
		case err != nil && err.Error() != lastErr:
			c.log.Warn("keeping the previous TLS certificate", zap.Error(err))
			lastErr = err.Error()
		case err == nil:
			lastErr = ""
		}
	}
}

func readPEM(path, flag string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	defer f.Close()
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(f, maxPEMBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: could not read %s: %w", flag, path, err)
	}
	if n > maxPEMBytes {
		return nil, fmt.Errorf("%s: %s is larger than %d bytes, so it is no PEM certificate or key", flag, path, maxPEMBytes)
	}
	return buf.Bytes(), nil
}
