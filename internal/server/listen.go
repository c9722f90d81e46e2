package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
)

// Defaults of ListenConfig and the default addresses.
const (
	DefaultListen            = "127.0.0.1:9911"
	DefaultOpsListen         = "127.0.0.1:9912"
	DefaultMaxConns          = 512
	DefaultReadHeaderTimeout = 2 * time.Second
	DefaultReadTimeout       = 5 * time.Second
	DefaultWriteTimeout      = 10 * time.Second // above ColdWait and any metrics scrape
	DefaultIdleTimeout       = 90 * time.Second
	DefaultMaxHeaderBytes    = 8 << 10
	DefaultShutdownTimeout   = 5 * time.Second
)

// UnixPrefix marks a unix socket address: "unix:/run/cwcreds/creds.sock".
const UnixPrefix = "unix:"

// ListenConfig says where a listener binds and the limits its HTTP server applies.
// Zero fields take the defaults.
type ListenConfig struct {
	// Addr is "host:port" for TCP ("127.0.0.1:9911", "[::1]:9911"; the host must be
	// given, so binding every interface is always an explicit "0.0.0.0:…" or
	// "[::]:…"), or UnixPrefix+path for a unix socket (mode 0600; a stale socket
	// left by a dead process is replaced, a live one is an error).
	Addr string
	// MaxConns caps open connections. At the cap, a new connection takes the slot
	// of the one that has waited longest without sending a whole request (an idle
	// keep-alive connection, or a new one stalled in its headers, or silent for
	// SilentGrace); only when every connection has a request being served does
	// it wait. Serve must serve the listener for that: it tells the listener
	// which connections are idle.
	MaxConns int
	// ReadHeaderTimeout cuts clients that send their headers slowly.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// MaxHeaderBytes caps request headers; net/http answers 431 above it (it allows
	// 4 KiB of slack on top).
	MaxHeaderBytes int
	// ShutdownTimeout is how long in-flight requests get to finish when the
	// context ends; connections still open after it are closed.
	ShutdownTimeout time.Duration
	// Logger gets net/http's own errors (accept failures, panics). Nil: none.
	Logger *zap.Logger
	// Metrics, when set, counts the connections closed to make room at the cap
	// (cwcreds_connections_evicted_total). Give it to one listener only.
	Metrics *Metrics
	// Clock times how long new connections have waited (default: the real clock).
	Clock clockwork.Clock
}

func (c ListenConfig) withDefaults() ListenConfig {
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&c.ReadTimeout, DefaultReadTimeout)
	def(&c.WriteTimeout, DefaultWriteTimeout)
	def(&c.IdleTimeout, DefaultIdleTimeout)
	def(&c.ShutdownTimeout, DefaultShutdownTimeout)
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxHeaderBytes == 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	return c
}

// Listen opens cfg.Addr and caps its connections at cfg.MaxConns (see
// ListenConfig.MaxConns).
func Listen(ctx context.Context, cfg ListenConfig) (net.Listener, error) {
	cfg = cfg.withDefaults()
	if cfg.MaxConns < 0 || cfg.MaxHeaderBytes < 0 {
		return nil, errors.New("connection and header limits must not be negative")
	}
	var ln net.Listener
	var err error
	if path, ok := strings.CutPrefix(cfg.Addr, UnixPrefix); ok {
		ln, err = listenUnix(ctx, path)
	} else {
		ln, err = listenTCP(ctx, cfg.Addr)
	}
	if err != nil {
		return nil, err
	}
	var evicted func()
	if cfg.Metrics != nil {
		evicted = cfg.Metrics.connsEvicted.Inc
	}
	return newConnLimiter(ln, cfg.MaxConns, cfg.Clock, evicted), nil
}

func listenTCP(ctx context.Context, addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("listen address %q is not host:port or %s<path>: use e.g. %s", addr, UnixPrefix, DefaultListen)
	}
	if host == "" {
		return nil, fmt.Errorf("listen address %q has no host: use 127.0.0.1%s for loopback, or 0.0.0.0%s to accept every interface on purpose", addr, addr, addr)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("could not listen on %s: %w", addr, err)
	}
	return ln, nil
}

// NewHTTPServer returns an *http.Server for h with cfg's timeouts and limits.
func NewHTTPServer(h http.Handler, cfg ListenConfig) *http.Server {
	cfg = cfg.withDefaults()
	return &http.Server{
		Handler:                      h,
		ReadHeaderTimeout:            cfg.ReadHeaderTimeout,
		ReadTimeout:                  cfg.ReadTimeout,
		WriteTimeout:                 cfg.WriteTimeout,
		IdleTimeout:                  cfg.IdleTimeout,
		MaxHeaderBytes:               cfg.MaxHeaderBytes,
		DisableGeneralOptionsHandler: true, // "OPTIONS *" gets our 404, not a blank 200
		ErrorLog:                     zap.NewStdLog(cfg.Logger.Named("http")),
	}
}

// Serve serves h on ln until ctx is done, then shuts down gracefully: it stops
// accepting, lets in-flight requests finish within cfg.ShutdownTimeout, closes
// what is left, and returns. It returns nil after a clean shutdown; an error when
// serving fails or requests outlived the deadline. It closes ln. A listener from
// Listen learns from it which connections it may close to make room at its cap.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, cfg ListenConfig) error {
	cfg = cfg.withDefaults()
	limiter, limited := ln.(*connLimiter)
	if limited {
		h = limiter.markTaken(h)
	}
	hs := NewHTTPServer(h, cfg)
	if limited {
		hs.ConnState = limiter.connState
		hs.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		}
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serving on %s stopped: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if limited {
		// Stop accepting, let requests clients sent before the shutdown reach their
		// handlers (Shutdown would drop those it had not read yet), and close
		// the connections that are silent.
		_ = limiter.Close()
		<-served // Serve returns once Accept fails, every accepted connection registered
		limiter.drainForShutdown(sctx, UnreadGrace)
	}
	err := hs.Shutdown(sctx)
	if !limited {
		<-served // returns http.ErrServerClosed as soon as Shutdown begins
	}
	if err != nil {
		closeErr := hs.Close()
		return errors.Join(fmt.Errorf("requests on %s were still running after the %s shutdown deadline; their connections were closed", ln.Addr(), cfg.ShutdownTimeout), closeErr)
	}
	return nil
}

// ListenAndServe listens on cfg.Addr and serves h there until ctx is done (see
// Serve). Use it for the operations handler.
func ListenAndServe(ctx context.Context, cfg ListenConfig, h http.Handler) error {
	ln, err := Listen(ctx, cfg)
	if err != nil {
		return err
	}
	return Serve(ctx, ln, h, cfg)
}

// ListenAndServe listens on cfg.Addr and serves the credentials endpoint there,
// checking Host against the address actually bound, until ctx is done.
func (s *Server) ListenAndServe(ctx context.Context, cfg ListenConfig) error {
	ln, err := Listen(ctx, cfg)
	if err != nil {
		return err
	}
	return Serve(ctx, ln, s.Handler(ln.Addr()), cfg)
}

// EndpointURL is the AWS_CONTAINER_CREDENTIALS_FULL_URI for a listener bound to
// addr, with profile in the path ("" for the default profile). A wildcard bind is
// advertised as 127.0.0.1: Go reports a "0.0.0.0" bind as [::] (one dual-stack
// socket), which 127.0.0.1 reaches either way, while [::1] may not exist (IPv6
// turned off in a pod) nor be forwarded (docker run -p 127.0.0.1:P:P). It is ""
// for a unix socket, which no SDK can use.
func EndpointURL(addr net.Addr, profile string) string {
	a, ok := addr.(*net.TCPAddr)
	if !ok {
		return ""
	}
	ap := a.AddrPort()
	ip := ap.Addr().Unmap().WithZone("")
	if ip.IsUnspecified() {
		return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(int(ap.Port()))) + credentialsPathFor(profile)
	}
	return "http://" + net.JoinHostPort(ip.String(), strconv.Itoa(int(ap.Port()))) + credentialsPathFor(profile)
}

func credentialsPathFor(profile string) string {
	if profile == "" {
		return CredentialsPath
	}
	return CredentialsPath + "/" + profile
}
