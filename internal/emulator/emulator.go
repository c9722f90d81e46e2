// Package emulator is an in-process emulator of CoreWeave's AI Object Storage API
// (coreweave.cwobject.v1 over its HTTP/JSON gateway) together with an S3 endpoint
// that accepts the keys it mints. It follows internal/cwobject's contract: the
// operation table, the wire types and the assumptions written there.
//
// It verifies federation tokens for real: OIDC tokens with go-oidc against the
// issuer's discovery document and JWKS, SAML responses with crewjam/saml against the
// registered IdP certificate. A development OIDC issuer is built in and trusted.
// Test hooks live under /_emulator/ on the API handler.
package emulator

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/crewjam/saml"
	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator/devissuer"
	"github.com/cwcreds/cwcreds/internal/emulator/s3emu"
)

const (
	// DefaultRegion is the availability zone reported as bucket location.
	DefaultRegion = "US-EAST-04A"
	// DevIssuerPath is where the dev OIDC issuer is mounted on the API handler.
	DevIssuerPath = "/dev-oidc"
	// placeholderDevIssuerURL names the dev issuer until Start knows the real
	// address. The emulator reaches its own dev issuer in process, so it works
	// even when the handler is served elsewhere (httptest).
	placeholderDevIssuerURL = "http://cwobject-emulator.invalid" + DevIssuerPath
	adminPrincipalUID       = "emulator-admin"
)

// Config configures an Emulator. Zero values get the defaults described.
type Config struct {
	// OrgID is the organisation id. Default: "org-" + 8 random lower-case alphanumerics.
	OrgID string
	// AdminToken is the admin's API token. Default: "CW-SECRET-" + 32 random characters.
	AdminToken string
	// AdminUID is the admin's user id; its principal is coreweave/<AdminUID>.
	// Default "emulator-admin".
	AdminUID string
	// Clock drives key expiry, token and assertion validity, and fault latency.
	// Default: the real clock.
	Clock clockwork.Clock
	// Logger records calls and refusals, never secrets. Default: no logging.
	Logger *zap.Logger
	// HTTPClient fetches OIDC discovery documents and JWKS of trusted issuers
	// (other than the built-in dev issuer, which is reached in process).
	// Default: a client with a 10 s timeout.
	HTTPClient *http.Client
	// KeyPropagationDelay is how long after minting a key the S3 endpoint still
	// refuses it, as the real service does for a few seconds. Default 0.
	KeyPropagationDelay time.Duration
	// Region is the bucket location and S3 signing region. Default "US-EAST-04A".
	Region string
	// S3Domains are the host names under which the S3 endpoint accepts
	// virtual-hosted bucket addressing. Default: none (path style only).
	S3Domains []string
	// DevIssuerURL is the dev issuer's issuer URL (its path must be "/dev-oidc").
	// Default: the API URL + "/dev-oidc" once Start listens; before that a
	// placeholder URL that only the emulator itself can resolve.
	DevIssuerURL string
}

// Emulator is the CWObject API and its S3 side. It is safe for concurrent use.
type Emulator struct {
	cfg      Config
	orgID    string
	clock    clockwork.Clock
	log      *zap.Logger
	keys     *keyStore
	policies *policyStore
	oidc     *oidcTrust
	saml     *samlTrust
	faults   faultTable
	stats    callStats
	s3       *s3emu.Server
	api      http.Handler

	mu             sync.Mutex // guards the fields below
	adminToken     string
	tokens         map[string]string // API token → uid
	dev            *devissuer.Issuer
	bucketSettings map[string]cwobject.BucketSettings
	orgSettings    cwobject.OrganizationSettings
	apiURL, s3URL  string
	started        bool
	done           chan struct{}
	serveErr       error
}

// New returns an emulator with one admin token, one seeded policy allowing the
// admin everything, and the dev issuer trusted for cwobject.RecommendedAudience.
func New(cfg Config) (*Emulator, error) {
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.OrgID == "" {
		cfg.OrgID = "org-" + randomString(lowerAlnum, 8)
	}
	if cfg.AdminUID == "" {
		cfg.AdminUID = adminPrincipalUID
	}
	if cfg.AdminToken == "" {
		cfg.AdminToken = newAPIToken()
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.KeyPropagationDelay < 0 {
		return nil, errors.New("key propagation delay must not be negative")
	}
	devURL := cfg.DevIssuerURL
	if devURL == "" {
		devURL = placeholderDevIssuerURL
	} else if u, err := url.Parse(devURL); err != nil || u.Path != DevIssuerPath {
		return nil, fmt.Errorf("dev issuer url %q must end in the path %s, where the api handler serves it", devURL, DevIssuerPath)
	}
	dev, err := devissuer.New(devissuer.Config{IssuerURL: devURL, Clock: cfg.Clock, Logger: cfg.Logger.Named("dev-oidc")})
	if err != nil {
		return nil, fmt.Errorf("dev issuer: %w", err)
	}
	e := &Emulator{
		cfg:            cfg,
		orgID:          cfg.OrgID,
		clock:          cfg.Clock,
		log:            cfg.Logger,
		keys:           newKeyStore(cfg.Clock, cfg.KeyPropagationDelay),
		policies:       newPolicyStore(),
		saml:           newSAMLTrust(cfg.OrgID, cfg.Clock),
		adminToken:     cfg.AdminToken,
		tokens:         map[string]string{cfg.AdminToken: cfg.AdminUID},
		dev:            dev,
		bucketSettings: map[string]cwobject.BucketSettings{},
	}
	e.oidc = newOIDCTrust(cfg.Clock, cfg.Logger, e.issuerClient)
	e.oidc.trust(dev.URL(), []string{cwobject.RecommendedAudience})
	e.policies.ensure(cwobject.Policy{
		Version: cwobject.PolicyVersion,
		Name:    adminPolicyName,
		Statements: []cwobject.PolicyStatement{{
			Name:       "admin-can-do-everything",
			Effect:     cwobject.EffectAllow,
			Actions:    []string{"*"},
			Resources:  []string{"*"},
			Principals: []string{cwobject.PrincipalPrefixUser + cfg.AdminUID},
		}},
	})
	e.s3, err = s3emu.New(s3emu.Config{
		Keys:    e.keys,
		Clock:   cfg.Clock,
		Region:  cfg.Region,
		Domains: slices.Clone(cfg.S3Domains),
		Logger:  cfg.Logger.Named("s3"),
	})
	if err != nil {
		return nil, fmt.Errorf("s3 emulator: %w", err)
	}
	if e.api, err = e.routes(); err != nil {
		return nil, err
	}
	return e, nil
}

func newAPIToken() string {
	return cwobject.APITokenPrefix + randomString(upperAlnum+lowerAlnum[:26], 32)
}

// issuerClient is the HTTP client used to discover issuer.
func (e *Emulator) issuerClient(issuer string) *http.Client {
	e.mu.Lock()
	dev := e.dev
	e.mu.Unlock()
	if issuer == dev.URL() {
		return &http.Client{Transport: handlerTransport{handler: e.devHandler}}
	}
	return e.cfg.HTTPClient
}

func (e *Emulator) devHandler() http.Handler {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dev.Handler()
}

// OrgID returns the organisation id.
func (e *Emulator) OrgID() string { return e.orgID }

// AdminToken returns the admin's API token (a secret: do not log it).
func (e *Emulator) AdminToken() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.adminToken
}

// AdminPrincipal returns coreweave/<AdminUID>.
func (e *Emulator) AdminPrincipal() string { return cwobject.PrincipalPrefixUser + e.cfg.AdminUID }

// Region returns the region the buckets report and S3 signs with.
func (e *Emulator) Region() string { return e.cfg.Region }

// KeyPropagationDelay is how long a new key is refused by the S3 endpoint.
func (e *Emulator) KeyPropagationDelay() time.Duration { return e.cfg.KeyPropagationDelay }

// DevIssuer returns the built-in OIDC issuer. Start replaces it with one whose URL
// is the real API address (unless Config.DevIssuerURL was set), so fetch it after
// Start; tokens minted by the earlier one no longer verify.
func (e *Emulator) DevIssuer() *devissuer.Issuer {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dev
}

// S3 returns the S3 emulator, e.g. to inspect its buckets.
func (e *Emulator) S3() *s3emu.Server { return e.s3 }

// APIHandler serves the CoreWeave API, /_emulator/* and the dev issuer.
func (e *Emulator) APIHandler() http.Handler { return e.api }

// S3Handler serves the S3 endpoint.
func (e *Emulator) S3Handler() http.Handler { return e.s3 }

// TrustOIDCIssuer makes the org trust issuerURL for tokens whose aud contains one
// of audiences (default cwobject.RecommendedAudience). It replaces the audiences
// of an issuer already trusted.
func (e *Emulator) TrustOIDCIssuer(issuerURL string, audiences ...string) {
	e.oidc.trust(issuerURL, audiences)
}

// RegisterSAMLConfig makes the org trust a SAML IdP, as Workload Federation does,
// and returns the config id to send as configId.
func (e *Emulator) RegisterSAMLConfig(idpEntityID string, cert *x509.Certificate) (configID string) {
	return e.saml.register(idpEntityID, cert)
}

// SAMLServiceProviderMetadata returns the service-provider metadata of a SAML
// config, to register CoreWeave with a test IdP (for example crewjam's samlidp).
func (e *Emulator) SAMLServiceProviderMetadata(configID string) (*saml.EntityDescriptor, bool) {
	return e.saml.metadata(configID)
}

// AddUserToken returns a new non-admin API token for principal coreweave/<uid>.
// The user can do only what the access policies allow it.
func (e *Emulator) AddUserToken(uid string) (token string) {
	token = newAPIToken()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tokens[token] = uid
	return token
}

// Calls returns the number of calls per gRPC method name.
func (e *Emulator) Calls() map[string]int { return e.stats.snapshot() }

// ResetCalls sets every call count back to zero.
func (e *Emulator) ResetCalls() { e.stats.reset() }

// InjectFault makes the next f.Count calls of op ("*": any operation) fail as f says.
func (e *Emulator) InjectFault(op string, f Fault) { e.faults.add(op, f) }

// ClearFaults drops every injected fault.
func (e *Emulator) ClearFaults() { e.faults.clear() }

// ResolveKey exposes the key store as the S3 side sees it (an s3emu.KeyResolver).
func (e *Emulator) ResolveKey(accessKeyID string) (string, s3emu.KeyState) {
	return e.keys.ResolveKey(accessKeyID)
}

// PrincipalOf names the principal a key was minted for; "" for an unknown key.
func (e *Emulator) PrincipalOf(accessKeyID string) string { return e.keys.PrincipalOf(accessKeyID) }

// Start listens on apiAddr and s3Addr (":0" picks a port) and serves in the
// background until ctx is done. APIURL and S3URL are valid when it returns; Wait
// reports when serving has stopped.
func (e *Emulator) Start(ctx context.Context, apiAddr, s3Addr string) error {
	e.mu.Lock()
	if e.started {
		e.mu.Unlock()
		return errors.New("emulator already started; create another one")
	}
	e.started = true
	e.mu.Unlock()
	started := false
	defer func() {
		if !started {
			e.mu.Lock()
			e.started = false
			e.mu.Unlock()
		}
	}()

	var lc net.ListenConfig
	apiLn, err := lc.Listen(ctx, "tcp", apiAddr)
	if err != nil {
		return fmt.Errorf("listen for the api on %s: %w", apiAddr, err)
	}
	s3Ln, err := lc.Listen(ctx, "tcp", s3Addr)
	if err != nil {
		_ = apiLn.Close()
		return fmt.Errorf("listen for s3 on %s: %w", s3Addr, err)
	}
	apiURL := baseURL(apiLn.Addr())
	if e.cfg.DevIssuerURL == "" {
		if err := e.replaceDevIssuer(apiURL + DevIssuerPath); err != nil {
			_ = apiLn.Close()
			_ = s3Ln.Close()
			return err
		}
	}
	started = true
	e.mu.Lock()
	e.apiURL = apiURL
	e.s3URL = baseURL(s3Ln.Addr())
	e.done = make(chan struct{})
	e.mu.Unlock()

	servers := []*http.Server{
		{Handler: e.api, ReadHeaderTimeout: 10 * time.Second},
		{Handler: e.s3, ReadHeaderTimeout: 10 * time.Second},
	}
	errs := make(chan error, 2)
	for i, ln := range []net.Listener{apiLn, s3Ln} {
		go func() {
			if err := servers[i].Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				errs <- err
				return
			}
			errs <- nil
		}()
	}
	go func() {
		var first error
		select {
		case <-ctx.Done():
		case first = <-errs:
			errs <- first // keep the count of answers for the loop below
		}
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		for _, s := range servers {
			_ = s.Shutdown(shutdownCtx)
		}
		for range servers {
			if err := <-errs; err != nil && first == nil {
				first = err
			}
		}
		e.mu.Lock()
		e.serveErr = first
		close(e.done)
		e.mu.Unlock()
	}()
	e.log.Info("cwobject emulator listening",
		zap.String("api", apiURL), zap.String("s3", e.S3URL()), zap.String("org", e.orgID))
	return nil
}

// baseURL is the http URL of a listener; a wildcard address is reached on loopback.
func baseURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// replaceDevIssuer swaps the dev issuer for one at url, keeping its trust.
func (e *Emulator) replaceDevIssuer(issuerURL string) error {
	dev, err := devissuer.New(devissuer.Config{IssuerURL: issuerURL, Clock: e.clock, Logger: e.log.Named("dev-oidc")})
	if err != nil {
		return fmt.Errorf("dev issuer: %w", err)
	}
	e.mu.Lock()
	old := e.dev
	e.dev = dev
	e.mu.Unlock()
	auds := e.oidc.audiencesOf(old.URL())
	e.oidc.untrust(old.URL())
	e.oidc.trust(dev.URL(), auds)
	return nil
}

// Wait blocks until the servers started by Start have stopped and returns the
// first serving error.
func (e *Emulator) Wait() error {
	e.mu.Lock()
	done := e.done
	e.mu.Unlock()
	if done == nil {
		return errors.New("emulator not started; call Start first")
	}
	<-done
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.serveErr
}

// APIURL is the API base URL after Start ("" before).
func (e *Emulator) APIURL() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.apiURL
}

// S3URL is the S3 endpoint URL after Start ("" before).
func (e *Emulator) S3URL() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.s3URL
}
