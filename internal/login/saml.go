package login

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"
	"github.com/jonboulle/clockwork"
	dsig "github.com/russellhaering/goxmldsig"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/samlreplay"
)

// SAMLLoginDefaultTimeout is how long a SAML login waits for the IdP's response.
const SAMLLoginDefaultTimeout = 5 * time.Minute

// SAMLLoginDefaultListenAddr is where the loopback ACS listens when
// SAMLLoginConfig.ListenAddr is empty: a random port on 127.0.0.1. An IdP that
// checks the ACS URL exactly (most do) needs a fixed port instead, registered
// with the IdP as http://127.0.0.1:<port>/saml/acs.
const SAMLLoginDefaultListenAddr = "127.0.0.1:0"

// SAMLLoginMaxPostBytes caps the form the IdP posts to the ACS.
const SAMLLoginMaxPostBytes = 1 << 20

// SAMLLoginConfig configures an SP-initiated SAML login.
type SAMLLoginConfig struct {
	// IDPMetadata is the IdP's metadata: its entity id, SSO endpoint and signing
	// certificates (required; see SAMLLoginParseIDPMetadata and
	// SAMLLoginFetchIDPMetadata).
	IDPMetadata *saml.EntityDescriptor
	// SPEntityID is the service provider the assertion must be for, the audience
	// CreateAccessKeyFromSAML checks: cwobject.SAMLServiceProviderEntityID(orgID)
	// (required).
	SPEntityID string
	// ListenAddr is the loopback address of the ACS (default
	// SAMLLoginDefaultListenAddr). Its host must be a loopback address.
	ListenAddr string
	// Open shows the user the IdP's login page, given its URL: runs $BROWSER or
	// the platform's opener, and prints the URL (required). It must return once
	// the browser is started, not when it exits. An error is logged and the
	// login still waits, since the user may open the URL by hand. With an IdP
	// that takes the HTTP-POST binding only, the URL is a page of the loopback
	// server that posts the AuthnRequest.
	Open func(url string) error
	// PickRole chooses the CoreWeave role among those in the assertion (at
	// least one). Default SAMLLoginOnlyRole.
	PickRole func(ctx context.Context, roles []string) (string, error)
	// Timeout bounds the whole login (default SAMLLoginDefaultTimeout).
	Timeout time.Duration
	// Clock checks the response's validity window (default: the real clock).
	Clock clockwork.Clock
	// Logger records the login's steps, never the response or the assertion
	// (default: none).
	Logger *zap.Logger
}

// SAMLLogin runs SP-initiated SAML logins. A SAMLLogin remembers the assertion
// ids it has accepted, so a response is never accepted twice by it; it is safe
// for concurrent use.
type SAMLLogin struct {
	idp      *saml.EntityDescriptor
	ssoURL   string
	binding  string
	entityID string
	addr     string
	open     func(string) error
	pick     func(context.Context, []string) (string, error)
	timeout  time.Duration
	clock    clockwork.Clock
	log      *zap.Logger
	replay   *samlreplay.Cache
}

// NewSAMLLogin checks cfg and returns the login.
func NewSAMLLogin(cfg SAMLLoginConfig) (*SAMLLogin, error) {
	if cfg.IDPMetadata == nil || len(cfg.IDPMetadata.IDPSSODescriptors) == 0 {
		return nil, errors.New("SAML login: the identity provider's metadata (with an IDPSSODescriptor) is required")
	}
	if cfg.SPEntityID == "" {
		return nil, errors.New("SAML login: the service provider entity id (the assertion audience) is required")
	}
	if cfg.Open == nil {
		return nil, errors.New("SAML login: a browser opener is required")
	}
	if cfg.ListenAddr == "" {
		cfg.ListenAddr = SAMLLoginDefaultListenAddr
	}
	if err := checkLoopbackAddr(cfg.ListenAddr); err != nil {
		return nil, err
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = SAMLLoginDefaultTimeout
	}
	if cfg.PickRole == nil {
		cfg.PickRole = SAMLLoginOnlyRole
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	l := &SAMLLogin{
		idp:      cfg.IDPMetadata,
		entityID: cfg.SPEntityID,
		addr:     cfg.ListenAddr,
		open:     cfg.Open,
		pick:     cfg.PickRole,
		timeout:  cfg.Timeout,
		clock:    cfg.Clock,
		log:      cfg.Logger,
		replay:   samlreplay.New(cfg.Clock),
	}
	probe := &saml.ServiceProvider{IDPMetadata: cfg.IDPMetadata}
	for _, b := range []string{saml.HTTPRedirectBinding, saml.HTTPPostBinding} {
		if loc := probe.GetSSOBindingLocation(b); loc != "" {
			l.ssoURL, l.binding = loc, b
			break
		}
	}
	if l.ssoURL == "" {
		return nil, errors.New("SAML login: the identity provider's metadata has no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding")
	}
	return l, nil
}

// SAMLLoginACSURL is the ACS URL a login listening on listenAddr (with a fixed
// port) receives the response at, http://<host>:<port>/saml/acs: the URL to
// register for CoreWeave's service provider at the IdP (devsaml.Register, or
// the company IdP's CoreWeave application).
func SAMLLoginACSURL(listenAddr string) (string, error) {
	if err := checkLoopbackAddr(listenAddr); err != nil {
		return "", err
	}
	if _, port, _ := net.SplitHostPort(listenAddr); port == "0" || port == "" {
		return "", fmt.Errorf("SAML login: listen address %q has no fixed port, so its ACS URL is not known before the login listens", listenAddr)
	}
	return samlLoginACSURL(listenAddr, nil), nil
}

// samlLoginACSURL keeps the configured host name (localhost stays localhost) and
// takes the port from the listener, when there is one.
func samlLoginACSURL(listenAddr string, bound net.Addr) string {
	host, port, _ := net.SplitHostPort(listenAddr)
	if bound != nil {
		if _, p, err := net.SplitHostPort(bound.String()); err == nil {
			port = p
		}
	}
	return "http://" + net.JoinHostPort(host, port) + cwobject.SAMLLoopbackACSPath
}

func checkLoopbackAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("SAML login: listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("SAML login: listen address %q is not a loopback address: the ACS must listen on 127.0.0.1", addr)
	}
	return nil
}

// SAMLLoginResult is what a successful login yields. SAMLResponse is a secret:
// String and GoString leave it out.
type SAMLLoginResult struct {
	// SAMLResponse is the IdP's <Response>, base64 on one line, as
	// CreateAccessKeyFromSAML wants it. It can be exchanged once.
	SAMLResponse string
	// Roles are the CoreWeave roles in the assertion, in order, without repeats.
	Roles []string
	// Role is the one PickRole chose.
	Role string
	// PrincipalName is the assertion's PrincipalName attribute, if any.
	PrincipalName string
	// ExchangeBy is when the response stops being acceptable: exchange it before.
	ExchangeBy time.Time
}

// String describes the result without the response.
func (r SAMLLoginResult) String() string {
	return fmt.Sprintf("SAML login (role %q of %q, principal name %q, exchange by %s)",
		r.Role, r.Roles, r.PrincipalName, r.ExchangeBy.Format(time.RFC3339))
}

// GoString is String, so %#v does not print the response either.
func (r SAMLLoginResult) GoString() string { return r.String() }

// Attributes are the request attributes that make CreateAccessKeyFromSAML mint
// keys for the chosen role (principal saml/<Role>); see cwobject's [assume]s.
// Pass them as the exchange's Attributes.
func (r SAMLLoginResult) Attributes() map[string]string {
	if r.Role == "" {
		return nil
	}
	return map[string]string{cwobject.SAMLRoleAttribute: r.Role}
}

// Token returns the response, so a result is an exchange.TokenSource.
func (r SAMLLoginResult) Token(context.Context) (string, error) { return r.SAMLResponse, nil }

// Describe names what Token yields.
func (r SAMLLoginResult) Describe() string { return "the SAML login's response" }

// SAMLLoginOnlyRole is the default PickRole: the one role, or an error naming
// the roles when there are several.
func SAMLLoginOnlyRole(_ context.Context, roles []string) (string, error) {
	if len(roles) == 1 {
		return roles[0], nil
	}
	return "", &SAMLLoginError{Kind: SAMLLoginRoleNotChosen,
		msg: fmt.Sprintf("the SAML assertion carries several CoreWeave roles (%s): choose one with --role", strings.Join(roles, ", "))}
}

// SAMLLoginRole returns a PickRole that picks role (as --role does), or fails
// naming the roles the assertion has.
func SAMLLoginRole(role string) func(context.Context, []string) (string, error) {
	return func(_ context.Context, roles []string) (string, error) {
		if slices.Contains(roles, role) {
			return role, nil
		}
		return "", &SAMLLoginError{Kind: SAMLLoginRoleNotChosen,
			msg: fmt.Sprintf("the SAML assertion does not carry the CoreWeave role %q (it has %s)", role, strings.Join(roles, ", "))}
	}
}

// SAMLLoginParseIDPMetadata parses IdP metadata (an EntityDescriptor, or an
// EntitiesDescriptor with one IdP), as read from a file.
func SAMLLoginParseIDPMetadata(data []byte) (*saml.EntityDescriptor, error) {
	md, err := samlsp.ParseMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("SAML login: the identity provider metadata does not parse: %w", err)
	}
	return md, nil
}

// SAMLLoginFetchIDPMetadata fetches IdP metadata from metadataURL, an https
// URL (http only on a loopback host).
func SAMLLoginFetchIDPMetadata(ctx context.Context, client *http.Client, metadataURL string) (*saml.EntityDescriptor, error) {
	u, err := url.Parse(metadataURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("SAML login: identity provider metadata URL %q is not an https URL", metadataURL)
	}
	// The metadata carries the certificates the response is checked against, so
	// it must come over TLS; plain http only from this machine (the dev IdP).
	if u.Scheme == "http" && checkLoopbackAddr(net.JoinHostPort(u.Hostname(), "0")) != nil {
		return nil, fmt.Errorf("SAML login: identity provider metadata URL %s must be https: its certificates decide which responses are trusted", u.Redacted())
	}
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	md, err := samlsp.FetchMetadata(ctx, client, *u)
	if err != nil {
		return nil, fmt.Errorf("SAML login: could not fetch the identity provider metadata from %s: %w", u.Redacted(), err)
	}
	return md, nil
}

// Run performs one login: it listens on the loopback ACS, opens the IdP's SSO
// URL with an AuthnRequest through Open, waits for the IdP to post its response,
// validates it (signature against the IdP metadata, issuer, audience,
// destination, validity window, InResponseTo = this request, not seen before)
// and lets PickRole choose the role. The first response posted decides the
// login. It gives up when ctx is done or the timeout passes.
func (l *SAMLLogin) Run(ctx context.Context) (SAMLLoginResult, error) {
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", l.addr)
	if err != nil {
		return SAMLLoginResult{}, &SAMLLoginError{Kind: SAMLLoginSetupFailed,
			msg: fmt.Sprintf("could not listen for the identity provider's response on %s", l.addr), err: err}
	}
	acsURL := samlLoginACSURL(l.addr, ln.Addr())
	acs, _ := url.Parse(acsURL)
	sp := &saml.ServiceProvider{
		EntityID:                         l.entityID,
		AcsURL:                           *acs,
		IDPMetadata:                      l.idp,
		Clock:                            dsig.NewFakeClock(l.clock),
		ReplayCache:                      l.replay,
		AssertionConsumerServiceBindings: []string{saml.HTTPPostBinding},
	}
	req, err := sp.MakeAuthenticationRequest(l.ssoURL, l.binding, saml.HTTPPostBinding)
	if err != nil {
		_ = ln.Close()
		return SAMLLoginResult{}, &SAMLLoginError{Kind: SAMLLoginSetupFailed, msg: "could not make the SAML AuthnRequest", err: err}
	}
	relayState := randomHex(16)
	startURL := strings.TrimSuffix(acsURL, cwobject.SAMLLoopbackACSPath) + samlLoginStartPath
	if l.binding == saml.HTTPRedirectBinding {
		u, err := req.Redirect(relayState, sp)
		if err != nil {
			_ = ln.Close()
			return SAMLLoginResult{}, &SAMLLoginError{Kind: SAMLLoginSetupFailed, msg: "could not make the SAML AuthnRequest URL", err: err}
		}
		startURL = u.String()
	}

	h := &samlACS{login: l, sp: sp, requestID: req.ID, relayState: relayState, outcome: make(chan samlOutcome, 1)}
	if l.binding == saml.HTTPPostBinding {
		h.postNonce = randomHex(16)
		h.postForm = req.PostWithNonce(relayState, h.postNonce)
	}
	srv := &http.Server{Handler: h.routes(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(ln)
	}()
	defer func() {
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
		<-served
	}()

	l.log.Info("SAML login started", zap.String("acs", acsURL), zap.String("idp", l.idp.EntityID))
	if err := l.open(startURL); err != nil {
		l.log.Warn("could not open the browser; open the login URL by hand", zap.Error(err))
	}

	select {
	case o := <-h.outcome:
		if o.err != nil {
			l.log.Info("SAML login refused", zap.Error(o.err))
			return SAMLLoginResult{}, o.err
		}
		res := o.result
		role, err := l.pick(ctx, slices.Clone(res.Roles))
		if err != nil {
			var le *SAMLLoginError
			if !errors.As(err, &le) {
				err = &SAMLLoginError{Kind: SAMLLoginRoleNotChosen, msg: "SAML login: no CoreWeave role chosen: " + err.Error(), err: err}
			}
			return SAMLLoginResult{}, err
		}
		if !slices.Contains(res.Roles, role) {
			return SAMLLoginResult{}, &SAMLLoginError{Kind: SAMLLoginRoleNotChosen,
				msg: fmt.Sprintf("SAML login: the chosen role %q is not among the assertion's roles (%s)", role, strings.Join(res.Roles, ", "))}
		}
		res.Role = role
		l.log.Info("SAML login succeeded", zap.String("role", role))
		return res, nil
	case <-ctx.Done():
		h.finish()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return SAMLLoginResult{}, &SAMLLoginError{Kind: SAMLLoginTimedOut,
				msg: fmt.Sprintf("SAML login timed out: no response from the identity provider reached %s in time; log in again and finish in the browser sooner, or allow more time with --timeout", acsURL),
				err: ctx.Err()}
		}
		return SAMLLoginResult{}, &SAMLLoginError{Kind: SAMLLoginCanceled, msg: "SAML login canceled", err: ctx.Err()}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails since Go 1.24
	return hex.EncodeToString(b)
}
