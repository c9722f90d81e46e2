// Package devsaml is the development SAML identity provider: crewjam/saml's
// samlidp (a real IdP, not a hand-written one) with one user, "dev", whose
// assertions carry the CoreWeave role and principal-name attributes the
// emulator's SAML exchange reads (cwobject.SAMLRoleAttribute,
// cwobject.SAMLPrincipalNameAttribute). It is for `cwcreds dev emulator` and
// `cwcreds serve --dev`, and for tests; production paths must not import it.
//
// Wiring (what `cwcreds dev emulator` and `serve --dev` are to do; internal/cli
// does not yet):
//
//	pw := os.Getenv("CWCREDS_DEV_PASSWORD") // or a new random one, printed as an export line
//	ln, err := net.Listen("tcp", "127.0.0.1:0")       // the IdP: any port
//	idp, err := devsaml.New(devsaml.Config{Password: pw, Clock: clock, Logger: log.Named("dev-saml")}, ln)
//	go idp.Serve(ctx)
//	acsAddr := "127.0.0.1:<fixed dev port>"           // the login's ACS: a port fixed before it listens
//	acsURL, err := login.SAMLLoginACSURL(acsAddr)
//	configID, err := devsaml.Register(emu, idp, acsURL)
//	// profile dev-saml: org_id emu.OrgID(), saml config id configID, IdP metadata
//	// URL idp.MetadataURL(), and the login's listen address acsAddr.
//
// Register must be called again (with a new config id) if the emulator is new;
// the IdP's signing key lives as long as the IdP.
//
// The login page is samlidp's own: a plain HTML form with one text field
// (user), one password field and one submit button. The administrative REST
// endpoints of samlidp (/services, /users, /sessions, /shortcuts) are not served
// on the listener: users and service providers are registered in process.
package devsaml

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlidp"
	"github.com/jonboulle/clockwork"
	dsig "github.com/russellhaering/goxmldsig"
	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// UserName is the one user of the dev IdP.
const UserName = "dev"

// DefaultRole is the CoreWeave role the dev user has when Config.Roles is empty:
// its keys' principal is saml/dev.
const DefaultRole = "dev"

// Config configures the dev IdP.
type Config struct {
	// Password is the dev user's password (required; export it as
	// CWCREDS_DEV_PASSWORD). It is never logged.
	Password string
	// Roles are the CoreWeave roles in the dev user's assertions, in order
	// (default [DefaultRole]).
	Roles []string
	// PrincipalName is the PrincipalName attribute and the e-mail NameID
	// (default "dev@cwcreds.invalid").
	PrincipalName string
	// BaseURL is the IdP's URL as browsers reach it (default: http:// and the
	// listener's address; a wildcard address is reached on 127.0.0.1).
	BaseURL string
	// Clock stamps assertions and sessions (default: the real clock).
	Clock clockwork.Clock
	// Logger records logins, never passwords or assertions (default: none).
	Logger *zap.Logger
}

// IdP is the dev SAML identity provider.
type IdP struct {
	srv    *samlidp.Server
	public http.Handler
	ln     net.Listener
	base   *url.URL
	cert   *x509.Certificate
	log    *zap.Logger
}

// New builds the IdP that Serve will serve on ln, with a new signing key.
func New(cfg Config, ln net.Listener) (*IdP, error) {
	if ln == nil {
		return nil, errors.New("devsaml: a listener is required")
	}
	if cfg.Password == "" {
		return nil, errors.New("devsaml: the dev user's password is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if len(cfg.Roles) == 0 {
		cfg.Roles = []string{DefaultRole}
	}
	if cfg.PrincipalName == "" {
		cfg.PrincipalName = "dev@cwcreds.invalid"
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = baseURL(ln.Addr())
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("devsaml: base url %q is not an absolute http(s) URL", cfg.BaseURL)
	}
	key, cert, err := newSigningCert(cfg.Clock.Now())
	if err != nil {
		return nil, fmt.Errorf("devsaml: signing key: %w", err)
	}
	srv, err := samlidp.New(samlidp.Options{
		URL:         *base,
		Key:         key,
		Certificate: cert,
		Store:       &samlidp.MemoryStore{},
		Logger:      zapPrintf{log: cfg.Logger},
		Clock:       dsig.NewFakeClock(cfg.Clock),
	})
	if err != nil {
		return nil, fmt.Errorf("devsaml: %w", err)
	}
	srv.IDP.AssertionMaker = roleAssertionMaker{
		roles:         map[string][]string{UserName: slices.Clone(cfg.Roles)},
		principalName: map[string]string{UserName: cfg.PrincipalName},
	}
	p := &IdP{srv: srv, ln: ln, base: base, cert: cert, log: cfg.Logger}
	p.public = hideAdmin(srv)
	password := cfg.Password
	if err := p.admin(http.MethodPut, "/users/"+UserName, samlidp.User{
		Name:              UserName,
		PlaintextPassword: &password,
		Email:             cfg.PrincipalName,
		CommonName:        "Dev User",
	}); err != nil {
		return nil, fmt.Errorf("devsaml: add user %s: %w", UserName, err)
	}
	return p, nil
}

// Serve serves the IdP on its listener until ctx is done, then shuts down.
// It returns nil after a shutdown caused by ctx.
func (p *IdP) Serve(ctx context.Context) error {
	hs := &http.Server{Handler: p.public, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(p.ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(shutdownCtx)
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Handler is what Serve serves: samlidp's browser and SAML endpoints
// (/metadata, /sso, /login, /slo, /logout) without its admin endpoints.
func (p *IdP) Handler() http.Handler { return p.public }

// URL is the IdP's base URL.
func (p *IdP) URL() string { return p.base.String() }

// MetadataURL is where the IdP's metadata is served; it is also its entity id.
func (p *IdP) MetadataURL() string { return p.srv.IDP.MetadataURL.String() }

// EntityID is the IdP's entity id (its metadata URL, as samlidp has it).
func (p *IdP) EntityID() string { return p.MetadataURL() }

// SSOURL is the IdP's single sign-on endpoint.
func (p *IdP) SSOURL() string { return p.srv.IDP.SSOURL.String() }

// Certificate is the IdP's signing certificate.
func (p *IdP) Certificate() *x509.Certificate { return p.cert }

// Metadata is the IdP's metadata, as /metadata serves it.
func (p *IdP) Metadata() (*saml.EntityDescriptor, error) {
	rec := httptest.NewRecorder()
	p.srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, p.MetadataURL(), nil))
	if rec.Code != http.StatusOK {
		return nil, fmt.Errorf("devsaml: metadata: HTTP %d", rec.Code)
	}
	md := &saml.EntityDescriptor{}
	if err := xml.Unmarshal(rec.Body.Bytes(), md); err != nil {
		return nil, fmt.Errorf("devsaml: metadata: %w", err)
	}
	return md, nil
}

// AddServiceProvider registers a service provider's metadata under id (as
// samlidp's PUT /services/<id> does), replacing any registered under id.
func (p *IdP) AddServiceProvider(id string, md *saml.EntityDescriptor) error {
	buf, err := xml.Marshal(md)
	if err != nil {
		return fmt.Errorf("devsaml: service provider metadata: %w", err)
	}
	return p.adminRaw(http.MethodPut, "/services/"+url.PathEscape(id), buf)
}

// SAMLTrust is what Register needs of the emulator (*emulator.Emulator).
type SAMLTrust interface {
	RegisterSAMLConfig(idpEntityID string, cert *x509.Certificate) (configID string)
	SAMLServiceProviderMetadata(configID string) (*saml.EntityDescriptor, bool)
}

// Register makes the emulator trust the IdP (a new SAML config, whose id it
// returns) and the IdP know CoreWeave's service provider for that config, with
// loopbackACS (a cwobject.IsSAMLLoopbackACS URL: where cwcreds login receives
// the response) listed first among its assertion consumer services, so that an
// SP-initiated login may name it.
func Register(trust SAMLTrust, p *IdP, loopbackACS string) (configID string, err error) {
	if !cwobject.IsSAMLLoopbackACS(loopbackACS) {
		return "", fmt.Errorf("devsaml: %q is not a loopback ACS URL (http://127.0.0.1:<port>%s)", loopbackACS, cwobject.SAMLLoopbackACSPath)
	}
	configID = trust.RegisterSAMLConfig(p.EntityID(), p.Certificate())
	md, ok := trust.SAMLServiceProviderMetadata(configID)
	if !ok {
		return "", fmt.Errorf("devsaml: the emulator has no service-provider metadata for SAML config %s", configID)
	}
	md = WithLoopbackACS(md, loopbackACS)
	if err := p.AddServiceProvider(configID, md); err != nil {
		return "", err
	}
	return configID, nil
}

// WithLoopbackACS returns a copy of service-provider metadata md whose first
// SPSSODescriptor lists an HTTP-POST assertion consumer service at acsURL
// first (index 0, the default); its other endpoints follow, renumbered.
func WithLoopbackACS(md *saml.EntityDescriptor, acsURL string) *saml.EntityDescriptor {
	out := *md
	out.SPSSODescriptors = slices.Clone(md.SPSSODescriptors)
	if len(out.SPSSODescriptors) == 0 {
		out.SPSSODescriptors = []saml.SPSSODescriptor{{}}
	}
	sp := &out.SPSSODescriptors[0]
	isDefault := true
	acs := []saml.IndexedEndpoint{{Binding: saml.HTTPPostBinding, Location: acsURL, Index: 0, IsDefault: &isDefault}}
	for _, ep := range sp.AssertionConsumerServices {
		ep.Index = len(acs)
		ep.IsDefault = nil
		acs = append(acs, ep)
	}
	sp.AssertionConsumerServices = acs
	return &out
}

// admin calls one of samlidp's admin endpoints in process with a JSON body.
func (p *IdP) admin(method, path string, body any) error {
	buf, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return p.adminRaw(method, path, buf)
}

func (p *IdP) adminRaw(method, path string, body []byte) error {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, p.base.ResolveReference(&url.URL{Path: strings.TrimSuffix(p.base.Path, "/") + path}).String(), bytes.NewReader(body))
	p.srv.ServeHTTP(rec, req)
	if rec.Code/100 != 2 {
		return fmt.Errorf("%s %s: HTTP %d", method, path, rec.Code)
	}
	return nil
}

// hideAdmin answers 404 for samlidp's admin endpoints, which have no
// authentication: on the listener, anyone could otherwise add users.
func hideAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, prefix := range []string{"/services", "/users", "/sessions", "/shortcuts"} {
			if r.URL.Path == prefix || strings.HasPrefix(r.URL.Path, prefix+"/") {
				http.NotFound(w, r)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// roleAssertionMaker is samlidp's DefaultAssertionMaker with the CoreWeave role
// and principal-name attributes of the session's user added.
type roleAssertionMaker struct {
	roles         map[string][]string
	principalName map[string]string
}

const uriNameFormat = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"

func (m roleAssertionMaker) MakeAssertion(req *saml.IdpAuthnRequest, session *saml.Session) error {
	s := *session
	s.CustomAttributes = slices.Clip(session.CustomAttributes)
	if roles := m.roles[session.UserName]; len(roles) > 0 {
		values := make([]saml.AttributeValue, 0, len(roles))
		for _, r := range roles {
			values = append(values, saml.AttributeValue{Type: "xs:string", Value: r})
		}
		s.CustomAttributes = append(s.CustomAttributes, saml.Attribute{
			FriendlyName: "Role", Name: cwobject.SAMLRoleAttribute, NameFormat: uriNameFormat, Values: values,
		})
	}
	if pn := m.principalName[session.UserName]; pn != "" {
		s.CustomAttributes = append(s.CustomAttributes, saml.Attribute{
			FriendlyName: "PrincipalName", Name: cwobject.SAMLPrincipalNameAttribute, NameFormat: uriNameFormat,
			Values: []saml.AttributeValue{{Type: "xs:string", Value: pn}},
		})
	}
	return saml.DefaultAssertionMaker{}.MakeAssertion(req, &s)
}

func newSigningCert(now time.Time) (*rsa.PrivateKey, *x509.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "cwcreds dev SAML IdP"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return key, cert, nil
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

// zapPrintf adapts zap to samlidp's logger. samlidp logs user names and
// errors, not passwords or assertions.
type zapPrintf struct{ log *zap.Logger }

func (z zapPrintf) Printf(format string, v ...any) { z.log.Info(fmt.Sprintf(format, v...)) }
func (z zapPrintf) Print(v ...any)                 { z.log.Info(fmt.Sprint(v...)) }
func (z zapPrintf) Println(v ...any)               { z.log.Info(strings.TrimSuffix(fmt.Sprintln(v...), "\n")) }
func (z zapPrintf) Fatal(v ...any)                 { z.log.Error(fmt.Sprint(v...)) }
func (z zapPrintf) Fatalf(format string, v ...any) { z.log.Error(fmt.Sprintf(format, v...)) }
func (z zapPrintf) Fatalln(v ...any)               { z.log.Error(fmt.Sprint(v...)) }
func (z zapPrintf) Panic(v ...any)                 { panic(fmt.Sprint(v...)) }
func (z zapPrintf) Panicf(format string, v ...any) { panic(fmt.Sprintf(format, v...)) }
func (z zapPrintf) Panicln(v ...any)               { panic(fmt.Sprint(v...)) }
