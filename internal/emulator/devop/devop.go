// Package devop is the dev OpenID provider: a real OP built on
// github.com/zitadel/oidc/v3's op package (adapted from its example server), for
// trying and testing `cwcreds login` without a company IdP.
//
// It has one user, [UserName] ("dev"), whose password is Config.Password (the
// CLI exports it as CWCREDS_DEV_PASSWORD), and one public native client
// (Config.ClientID, default "cwcreds") allowed authorization code with PKCE —
// S256 only —, refresh tokens with rotation (scope offline_access) and the device
// authorization grant. Its redirect URIs are http://127.0.0.1/callback,
// http://localhost/callback and http://[::1]/callback on any port (RFC 8252 §7.3).
//
// Pages (plain HTML forms):
//
//	GET  /login?authRequestID=…   user name, password, one submit button
//	GET  /device[?user_code=…]    enter the code, then user name and password
//	POST /device/confirm          allow or deny the device
//
// The OP endpoints are zitadel's defaults: /.well-known/openid-configuration,
// /authorize, /oauth/token, /device_authorization, /revoke, /keys, /userinfo.
//
// Package-level state: none of ours. zitadel's example storage keeps its clients
// in a package-level map written by RegisterClients; this package does not use
// that storage (it has its own, per provider), so several providers can run in
// one process and in parallel tests. What the op package itself forces: it logs
// request errors (an OAuth error code and its cause, never a token) to
// slog.Default(), the process-wide logger — its WithLogger option is a no-op in
// v3 — so whoever hosts the provider decides where those lines go by setting
// slog.Default; its other package-level values (default endpoints, tracer) are
// read-only.
package devop

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// UserName is the one user of the dev provider; its ID tokens carry sub "dev".
const UserName = "dev"

// DefaultClientID is the client id used when Config.ClientID is empty.
const DefaultClientID = "cwcreds"

const (
	loginPath         = "/login"
	devicePath        = "/device"
	deviceLoginPath   = "/device/login"
	deviceConfirmPath = "/device/confirm"
)

// Config configures a provider. Only Password is required.
type Config struct {
	// Password of the user "dev"; required.
	Password string
	// ClientID of the public client, default DefaultClientID.
	ClientID string
	// IDTokenLifetime, default 1 h.
	IDTokenLifetime time.Duration
	// AccessTokenLifetime (expires_in of the token response), default 1 h.
	AccessTokenLifetime time.Duration
	// RefreshTokenLifetime, default 12 h; each refresh rotates the token and
	// restarts this lifetime.
	RefreshTokenLifetime time.Duration
	// DevicePollInterval is the device flow's interval, in whole seconds (RFC 8628);
	// default 5 s, at least 1 s. A poll sooner than that is answered slow_down.
	DevicePollInterval time.Duration
	// DeviceCodeLifetime, default 5 min.
	DeviceCodeLifetime time.Duration
}

func (c Config) withDefaults() (Config, error) {
	if c.Password == "" {
		return c, errors.New("devop: the dev user needs a password")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	def(&c.IDTokenLifetime, time.Hour)
	def(&c.AccessTokenLifetime, time.Hour)
	def(&c.RefreshTokenLifetime, 12*time.Hour)
	def(&c.DevicePollInterval, 5*time.Second)
	def(&c.DeviceCodeLifetime, 5*time.Minute)
	c.DevicePollInterval = max(c.DevicePollInterval.Truncate(time.Second), time.Second)
	return c, nil
}

// Provider is one dev OpenID provider.
type Provider struct {
	issuer  string
	cfg     Config
	store   *storage
	op      *op.Provider
	handler http.Handler
	srv     *http.Server
	done    chan error

	closeOnce sync.Once
	closeErr  error
}

// New builds a provider for issuer (an origin such as http://127.0.0.1:9930, no
// path) to be served with Handler. Use Start to serve it on a listener.
func New(issuer string, cfg Config) (*Provider, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(issuer)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.TrimSuffix(u.Path, "/") != "" {
		return nil, fmt.Errorf("devop: the issuer must be an http(s) origin without a path, got %q", issuer)
	}
	issuer = strings.TrimSuffix(issuer, "/")
	st, err := newStorage(cfg)
	if err != nil {
		return nil, err
	}
	var cryptoKey [32]byte
	_, _ = rand.Read(cryptoKey[:])
	opCfg := &op.Config{
		CryptoKey:                cryptoKey,
		DefaultLogoutRedirectURI: "/logged-out",
		CodeMethodS256:           true,
		GrantTypeRefreshToken:    true,
		SupportedUILocales:       []language.Tag{language.English},
		DeviceAuthorization: op.DeviceAuthorizationConfig{
			Lifetime:     cfg.DeviceCodeLifetime,
			PollInterval: cfg.DevicePollInterval,
			UserFormPath: devicePath,
			UserCode:     op.UserCodeBase20,
		},
	}
	var opts []op.Option
	if u.Scheme == "http" {
		opts = append(opts, op.WithAllowInsecure())
	}
	prov, err := op.NewProvider(opCfg, st, op.StaticIssuer(issuer), opts...)
	if err != nil {
		return nil, fmt.Errorf("devop: %w", err)
	}
	p := &Provider{issuer: issuer, cfg: cfg, store: st, op: prov}
	p.handler = p.routes()
	return p, nil
}

// Start serves a new provider on ln (tests: 127.0.0.1:0) with issuer
// http://<ln.Addr()>, until Close.
func Start(ln net.Listener, cfg Config) (*Provider, error) {
	p, err := New("http://"+ln.Addr().String(), cfg)
	if err != nil {
		return nil, err
	}
	p.srv = &http.Server{Handler: p.handler, ReadHeaderTimeout: 10 * time.Second}
	p.done = make(chan error, 1)
	go func() { p.done <- p.srv.Serve(ln) }()
	return p, nil
}

// Close stops a provider started with Start; later calls return the first
// call's result.
func (p *Provider) Close() error {
	if p.srv == nil {
		return nil
	}
	p.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := p.srv.Shutdown(ctx)
		if serr := <-p.done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
			err = serr
		}
		p.closeErr = err
	})
	return p.closeErr
}

// Issuer is the issuer URL (the iss of its ID tokens).
func (p *Provider) Issuer() string { return p.issuer }

// ClientID is the public client's id, also the aud of its ID tokens.
func (p *Provider) ClientID() string { return p.cfg.ClientID }

// Handler serves the OP and its login and device pages.
func (p *Provider) Handler() http.Handler { return p.handler }

// RevokeRefreshToken makes a refresh token unusable, as an IdP admin would; it
// reports whether the token was known.
func (p *Provider) RevokeRefreshToken(token string) bool { return p.store.revokeRefresh(token) }

// Truster is what trusts an issuer for CreateAccessKeyFromOIDC: the emulator's
// (*emulator.Emulator).TrustOIDCIssuer.
type Truster interface {
	TrustOIDCIssuer(issuerURL string, audiences ...string)
}

// TrustedBy makes t accept this provider's ID tokens (issuer Issuer(), audience
// ClientID()). `cwcreds dev emulator` calls p.TrustedBy(emu) after starting both.
func (p *Provider) TrustedBy(t Truster) { t.TrustOIDCIssuer(p.issuer, p.cfg.ClientID) }

func (p *Provider) routes() http.Handler {
	mux := http.NewServeMux()
	icpt := op.NewIssuerInterceptor(p.op.IssuerFromRequest)
	callback := op.AuthCallbackURL(p.op)
	mux.HandleFunc("GET "+loginPath, p.loginPage)
	mux.Handle("POST "+loginPath, icpt.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.loginSubmit(w, r, callback)
	}))
	mux.HandleFunc("GET "+devicePath, p.devicePage)
	mux.HandleFunc("POST "+deviceLoginPath, p.deviceLogin)
	mux.HandleFunc("POST "+deviceConfirmPath, p.deviceConfirm)
	mux.HandleFunc("GET /logged-out", func(w http.ResponseWriter, _ *http.Request) {
		writePage(w, http.StatusOK, "Signed out", "You are signed out of the dev provider.")
	})
	mux.Handle("/", p.guard(p.op))
	return mux
}

// guard adds what the op package leaves to the storage or does not do: PKCE S256
// required at /authorize, and slow_down for device polls faster than the interval.
func (p *Provider) guard(next http.Handler) http.Handler {
	authz := p.op.AuthorizationEndpoint().Relative()
	token := p.op.TokenEndpoint().Relative()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case authz: // GET with a query or POST with a form (op reads r.Form again)
			if r.ParseForm() != nil || r.Form.Get("code_challenge") == "" ||
				r.Form.Get("code_challenge_method") != string(oidc.CodeChallengeMethodS256) {
				writePage(w, http.StatusBadRequest, "Login refused", "This provider requires PKCE with code_challenge_method=S256.")
				return
			}
		case token:
			if r.Method == http.MethodPost && r.ParseForm() == nil &&
				r.PostForm.Get("grant_type") == string(oidc.GrantTypeDeviceCode) &&
				p.store.tooFast(r.PostForm.Get("device_code"), time.Now()) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				_, _ = w.Write([]byte(`{"error":"slow_down","error_description":"poll no more often than the interval"}`))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
