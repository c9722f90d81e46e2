package emulator

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/crewjam/saml"
	"github.com/jonboulle/clockwork"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// samlTrust holds the org's SAML configurations (IdP entity id + signing
// certificate → config id) and verifies responses with crewjam/saml.
type samlTrust struct {
	orgID  string
	clock  clockwork.Clock
	replay *replayCache

	mu      sync.Mutex
	configs map[string]*saml.ServiceProvider
}

func newSAMLTrust(orgID string, clock clockwork.Clock) *samlTrust {
	return &samlTrust{
		orgID:   orgID,
		clock:   clock,
		replay:  &replayCache{clock: clock, seen: map[string]time.Time{}},
		configs: map[string]*saml.ServiceProvider{},
	}
}

// newUUID returns a random UUID v4, the assumed shape of SAML config ids.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails since Go 1.24
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// serviceProvider builds the SP CoreWeave presents for this org, trusting one IdP.
func (t *samlTrust) serviceProvider(idpEntityID string, cert *x509.Certificate) *saml.ServiceProvider {
	entityID := cwobject.SAMLServiceProviderEntityID(t.orgID)
	metadataURL, _ := url.Parse(entityID)
	acsURL, _ := url.Parse(cwobject.SAMLAssertionConsumerServiceURL(t.orgID))
	idp := &saml.EntityDescriptor{
		EntityID: idpEntityID,
		IDPSSODescriptors: []saml.IDPSSODescriptor{{
			SSODescriptor: saml.SSODescriptor{RoleDescriptor: saml.RoleDescriptor{
				ProtocolSupportEnumeration: "urn:oasis:names:tc:SAML:2.0:protocol",
				KeyDescriptors: []saml.KeyDescriptor{{
					Use: "signing",
					KeyInfo: saml.KeyInfo{X509Data: saml.X509Data{X509Certificates: []saml.X509Certificate{
						{Data: base64.StdEncoding.EncodeToString(cert.Raw)},
					}}},
				}},
			}},
		}},
	}
	return &saml.ServiceProvider{
		EntityID:          entityID,
		MetadataURL:       *metadataURL,
		AcsURL:            *acsURL,
		IDPMetadata:       idp,
		AllowIDPInitiated: true, // the CLI forwards an unsolicited response
		// The emulator's clock for every time check, instead of the package-global saml.TimeNow.
		Clock:                            dsig.NewFakeClock(t.clock),
		ReplayCache:                      t.replay,
		AssertionConsumerServiceBindings: []string{saml.HTTPPostBinding},
	}
}

func (t *samlTrust) register(idpEntityID string, cert *x509.Certificate) string {
	sp := t.serviceProvider(idpEntityID, cert)
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		id := newUUID()
		if _, taken := t.configs[id]; !taken {
			t.configs[id] = sp
			return id
		}
	}
}

func (t *samlTrust) metadata(configID string) (*saml.EntityDescriptor, bool) {
	t.mu.Lock()
	sp := t.configs[configID]
	t.mu.Unlock()
	if sp == nil {
		return nil, false
	}
	return sp.Metadata(), true
}

// samlIdentity is what a verified assertion yields.
type samlIdentity struct {
	principal     string
	principalName string // the PrincipalName attribute, if any
}

// verify checks a base64 SAML response for configID. Its errors name the reason
// and never the response.
func (t *samlTrust) verify(configID, samlResponse string) (samlIdentity, *apiError) {
	t.mu.Lock()
	sp := t.configs[configID]
	t.mu.Unlock()
	if sp == nil {
		return samlIdentity{}, unauthenticated("unknown SAML config %q: use the Config ID shown in Workload Federation", configID)
	}
	xmlBytes, err := base64.StdEncoding.DecodeString(strings.TrimSpace(samlResponse))
	if err != nil {
		return samlIdentity{}, unauthenticated("samlResponse is not base64: send the IdP's SAMLResponse form value unchanged")
	}
	assertion, err := sp.ParseXMLResponse(xmlBytes, nil, sp.AcsURL)
	if err != nil {
		return samlIdentity{}, classifySAMLError(err, sp.EntityID)
	}
	var id samlIdentity
	for _, st := range assertion.AttributeStatements {
		for _, attr := range st.Attributes {
			for _, v := range attr.Values {
				value := strings.TrimSpace(v.Value)
				if value == "" {
					continue
				}
				switch attr.Name {
				case cwobject.SAMLRoleAttribute:
					if id.principal == "" {
						id.principal = cwobject.PrincipalPrefixSAML + value
					}
				case cwobject.SAMLPrincipalNameAttribute:
					if id.principalName == "" {
						id.principalName = value
					}
				}
			}
		}
	}
	if id.principal == "" {
		return samlIdentity{}, unauthenticated("SAML assertion has no %s attribute: map a role in the IdP", cwobject.SAMLRoleAttribute)
	}
	return id, nil
}

func classifySAMLError(err error, audience string) *apiError {
	cause := err
	var ire *saml.InvalidResponseError
	if errors.As(err, &ire) && ire.PrivateErr != nil {
		cause = ire.PrivateErr // PrivateErr never holds the response itself
	}
	var bad saml.ErrBadStatus
	switch {
	case errors.Is(cause, saml.ErrAssertionReplayed):
		return unauthenticated("SAML assertion replayed: each response can be exchanged once, log in again")
	case errors.Is(cause, saml.ErrUntrustedCertificate):
		return unauthenticated("bad signature: the SAML response is signed with a certificate not in the SAML config")
	case errors.Is(cause, saml.ErrInvalidSignature):
		return unauthenticated("bad signature: the SAML response's signature does not verify")
	case errors.Is(cause, saml.ErrExpired):
		return unauthenticated("SAML response expired: log in again")
	case errors.Is(cause, saml.ErrNotYetValid):
		return unauthenticated("SAML response not valid yet: check the IdP's clock")
	case errors.Is(cause, saml.ErrAudienceMismatch):
		return unauthenticated("wrong audience: the SAML assertion must be restricted to %q", audience)
	case errors.Is(cause, saml.ErrIssuerMismatch):
		return unauthenticated("untrusted issuer: the SAML response's issuer is not the config's IdP entity id")
	case errors.Is(cause, saml.ErrDestinationMismatch):
		return unauthenticated("SAML response addressed to another destination")
	case errors.Is(cause, saml.ErrRequestIDMismatch):
		return unauthenticated("SAML response answers a request this service did not make")
	case errors.As(cause, &bad):
		return unauthenticated("SAML response status is not Success")
	case errors.Is(cause, saml.ErrMalformedMessage), errors.Is(cause, saml.ErrMissingElement):
		return unauthenticated("malformed SAML response")
	}
	return unauthenticated("invalid SAML response")
}

// replayCache remembers accepted assertion ids until they would expire anyway.
type replayCache struct {
	clock clockwork.Clock
	mu    sync.Mutex
	seen  map[string]time.Time
}

func (c *replayCache) Consume(assertionID string, expiresAt time.Time) error {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for id, until := range c.seen {
		if now.After(until) {
			delete(c.seen, id)
		}
	}
	if _, ok := c.seen[assertionID]; ok {
		return saml.ErrAssertionReplayed
	}
	c.seen[assertionID] = expiresAt
	return nil
}
