package emulator

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/crewjam/saml"
	"github.com/jonboulle/clockwork"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// testIdP is a real crewjam/saml IdentityProvider that issues IdP-initiated
// responses without a browser.
type testIdP struct {
	t    *testing.T
	idp  *saml.IdentityProvider
	cert *x509.Certificate
	sps  *spRegistry
}

type spRegistry struct {
	mu  sync.Mutex
	sps map[string]*saml.EntityDescriptor
}

func (r *spRegistry) GetServiceProvider(_ *http.Request, id string) (*saml.EntityDescriptor, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if md, ok := r.sps[id]; ok {
		return md, nil
	}
	return nil, os.ErrNotExist
}

func selfSignedCert(t *testing.T, clock clockwork.Clock, cn string) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    clock.Now().Add(-time.Hour),
		NotAfter:     clock.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

func newTestIdP(t *testing.T, clock clockwork.Clock) *testIdP {
	t.Helper()
	key, cert := selfSignedCert(t, clock, "test idp")
	md, _ := url.Parse("https://idp.example.test/saml/metadata")
	sso, _ := url.Parse("https://idp.example.test/saml/sso")
	reg := &spRegistry{sps: map[string]*saml.EntityDescriptor{}}
	return &testIdP{
		t:    t,
		cert: cert,
		sps:  reg,
		idp: &saml.IdentityProvider{
			Key:                     key,
			Certificate:             cert,
			MetadataURL:             *md,
			SSOURL:                  *sso,
			ServiceProviderProvider: reg,
			Clock:                   dsig.NewFakeClock(clock),
		},
	}
}

func (p *testIdP) entityID() string { return p.idp.MetadataURL.String() }

// addSP registers service-provider metadata under its entity id.
func (p *testIdP) addSP(md *saml.EntityDescriptor) {
	p.sps.mu.Lock()
	defer p.sps.mu.Unlock()
	p.sps.sps[md.EntityID] = md
}

// response returns the base64 SAMLResponse the IdP would post to spEntityID.
func (p *testIdP) response(spEntityID, role, principalName string) string {
	p.t.Helper()
	r := httptest.NewRequest(http.MethodGet, "https://idp.example.test/saml/sso", nil)
	req, err := p.idp.NewIdpInitiatedRequest(r, spEntityID, "")
	if err != nil {
		p.t.Fatalf("idp-initiated request: %v", err)
	}
	uri := "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
	session := &saml.Session{
		ID:         "session-1",
		CreateTime: req.Now,
		ExpireTime: req.Now.Add(time.Hour),
		Index:      "1",
		NameID:     "alice@example.test",
		CustomAttributes: []saml.Attribute{
			{Name: cwobject.SAMLRoleAttribute, NameFormat: uri, Values: []saml.AttributeValue{{Type: "xs:string", Value: role}}},
			{Name: cwobject.SAMLPrincipalNameAttribute, NameFormat: uri, Values: []saml.AttributeValue{{Type: "xs:string", Value: principalName}}},
		},
	}
	if err := (saml.DefaultAssertionMaker{}).MakeAssertion(req, session); err != nil {
		p.t.Fatalf("make assertion: %v", err)
	}
	form, err := req.PostBinding()
	if err != nil {
		p.t.Fatalf("post binding: %v", err)
	}
	return form.SAMLResponse
}
