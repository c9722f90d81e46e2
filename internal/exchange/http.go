package exchange

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"golang.org/x/net/http/httpproxy"
)

const (
	// DefaultHTTPTimeout bounds a whole HTTP exchange (the API client's own
	// per-attempt timeout is usually shorter).
	DefaultHTTPTimeout = time.Minute
	// maxCABundleBytes caps a CA bundle file.
	maxCABundleBytes = 8 << 20
)

// HTTPOptions configures NewHTTPClient.
type HTTPOptions struct {
	// CABundle is a PEM file of CA certificates trusted in addition to the system
	// ones (a TLS-intercepting corporate proxy's CA, a private API endpoint's).
	CABundle string
	// Getenv reads HTTPS_PROXY, HTTP_PROXY and NO_PROXY (or their lower-case
	// forms), default os.Getenv.
	Getenv func(string) string
	// Timeout bounds a whole request, default DefaultHTTPTimeout; negative: none.
	Timeout time.Duration
}

// NewHTTPClient returns the client for every outbound call of a profile — the
// CoreWeave API and the identity provider's discovery, token and key endpoints —
// so that they all honour the proxy settings and the CA bundle. Proxies follow Go's
// rules (golang.org/x/net/http/httpproxy): HTTPS_PROXY for https URLs, HTTP_PROXY
// for http ones, NO_PROXY exceptions, and never for localhost or loopback
// addresses.
func NewHTTPClient(o HTTPOptions) (*http.Client, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	proxy, err := proxyFunc(getenv)
	if err != nil {
		return nil, err
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CABundle != "" {
		if tlsConf.RootCAs, err = loadCABundle(o.CABundle); err != nil {
			return nil, err
		}
	}
	timeout := o.Timeout
	switch {
	case timeout == 0:
		timeout = DefaultHTTPTimeout
	case timeout < 0:
		timeout = 0
	}
	t := &http.Transport{
		Proxy:                 proxy,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConf,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          20,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: t, Timeout: timeout}, nil
}

func firstEnv(getenv func(string) string, names ...string) (string, string) {
	for _, n := range names {
		if v := getenv(n); v != "" {
			return n, v
		}
	}
	return "", ""
}

// proxyFunc builds the proxy chooser from the environment and checks the proxy
// URLs now, so a typo is reported at start. Messages never show the proxy URL: it
// may hold a password.
func proxyFunc(getenv func(string) string) (func(*http.Request) (*url.URL, error), error) {
	httpsName, httpsProxy := firstEnv(getenv, "HTTPS_PROXY", "https_proxy")
	httpName, httpProxy := firstEnv(getenv, "HTTP_PROXY", "http_proxy")
	_, noProxy := firstEnv(getenv, "NO_PROXY", "no_proxy")
	cfg := &httpproxy.Config{
		HTTPSProxy: httpsProxy,
		HTTPProxy:  httpProxy,
		NoProxy:    noProxy,
		CGI:        getenv("REQUEST_METHOD") != "",
	}
	// httpproxy silently ignores a proxy it cannot parse, which would send
	// traffic around a mandatory proxy: check them here.
	for _, c := range []struct{ name, value string }{{httpsName, httpsProxy}, {httpName, httpProxy}} {
		if c.name != "" && !validProxyURL(c.value) {
			return nil, fmt.Errorf("%s is not a usable proxy URL: write it as http://host:port (or https:// or socks5://)", c.name)
		}
	}
	pf := cfg.ProxyFunc()
	return func(r *http.Request) (*url.URL, error) { return pf(r.URL) }, nil
}

// validProxyURL accepts a proxy URL, or a bare host:port taken as http as httpproxy does.
func validProxyURL(v string) bool {
	if !strings.Contains(v, "://") {
		v = "http://" + v
	}
	u, err := url.Parse(v)
	if err != nil || u.Hostname() == "" {
		return false
	}
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
		return true
	}
	return false
}

// loadCABundle returns the system roots plus every certificate in the PEM file.
func loadCABundle(path string) (*x509.CertPool, error) {
	data, err := readCapped(path, "CA bundle", maxCABundleBytes)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	n := 0
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("CA bundle %s: certificate %d does not parse (%v): fix or remove it", path, n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, errors.New("CA bundle " + path + " holds no PEM certificate (-----BEGIN CERTIFICATE-----): give a PEM file of CA certificates")
	}
	return pool, nil
}
