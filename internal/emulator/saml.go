package emulator

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/crewjam/saml"
	"github.com/jonboulle/clockwork"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/samlreplay"
)

// samlTrust holds the org's SAML configurations (IdP entity id + signing
// certificate → config id) and verifies responses with crewjam/saml.
type samlTrust struct {
	orgID  string
	clock  clockwork.Clock
	replay *samlreplay.Cache

	mu      sync.Mutex
	configs map[string]samlConfig
}

// samlConfig is one registered IdP: its entity id and signing certificate.
type samlConfig struct {
	idpEntityID string
	cert        *x509.Certificate
}

func newSAMLTrust(orgID string, clock clockwork.Clock) *samlTrust {
	return &samlTrust{
		orgID:   orgID,
		clock:   clock,
		replay:  samlreplay.New(clock),
		configs: map[string]samlConfig{},
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

// serviceProvider builds the SP CoreWeave presents for this org, trusting one
// IdP. loopbackACS is "" for the SP's own ACS, or the loopback ACS URL of a CLI
// login (cwobject.IsSAMLLoopbackACS) that the response is addressed to: then the
// response must name that URL as Destination and Recipient, and may answer a
// request the CLI made (InResponseTo is the CLI's to check).
func (t *samlTrust) serviceProvider(cfg samlConfig, loopbackACS string) *saml.ServiceProvider {
	idpEntityID, cert := cfg.idpEntityID, cfg.cert
	entityID := cwobject.SAMLServiceProviderEntityID(t.orgID)
	metadataURL, _ := url.Parse(entityID)
	acsURL, _ := url.Parse(cwobject.SAMLAssertionConsumerServiceURL(t.orgID))
	var validateRequestID func(saml.Response, []string) error
	if loopbackACS != "" {
		acsURL, _ = url.Parse(loopbackACS)
		validateRequestID = func(saml.Response, []string) error { return nil }
	}
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
		ValidateRequestID:                validateRequestID,
	}
}

func (t *samlTrust) register(idpEntityID string, cert *x509.Certificate) string {
	cfg := samlConfig{idpEntityID: idpEntityID, cert: cert}
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		id := newUUID()
		if _, taken := t.configs[id]; !taken {
			t.configs[id] = cfg
			return id
		}
	}
}

func (t *samlTrust) metadata(configID string) (*saml.EntityDescriptor, bool) {
	t.mu.Lock()
	cfg, ok := t.configs[configID]
	t.mu.Unlock()
	if !ok {
		return nil, false
	}
	return t.serviceProvider(cfg, "").Metadata(), true
}

// samlIdentity is what a verified assertion yields.
type samlIdentity struct {
	principal     string
	principalName string // the PrincipalName attribute, if any
}

// verify checks a base64 SAML response for configID. The principal is
// saml/<role> for the first Role value, or for role when it is set (the
// request's Role attribute), which must be one of the assertion's roles. Its
// errors name the reason and never the response.
func (t *samlTrust) verify(configID, samlResponse, role string) (samlIdentity, *apiError) {
	t.mu.Lock()
	cfg, ok := t.configs[configID]
	t.mu.Unlock()
	if !ok {
		return samlIdentity{}, unauthenticated("unknown SAML config %q: use the Config ID shown in Workload Federation", configID)
	}
	xmlBytes, err := base64.StdEncoding.DecodeString(strings.TrimSpace(samlResponse))
	if err != nil {
		return samlIdentity{}, unauthenticated("samlResponse is not base64: send the IdP's SAMLResponse form value unchanged")
	}
	// The Destination picks the ACS to check against; it is read unverified here,
	// and the signed Destination and Recipient must then name that same URL.
	loopback := samlResponseDestination(xmlBytes)
	if !cwobject.IsSAMLLoopbackACS(loopback) {
		loopback = ""
	}
	sp := t.serviceProvider(cfg, loopback)
	assertion, err := sp.ParseXMLResponse(xmlBytes, nil, sp.AcsURL)
	if err != nil {
		return samlIdentity{}, classifySAMLError(err, sp.EntityID)
	}
	var id samlIdentity
	var roles []string
	for _, st := range assertion.AttributeStatements {
		for _, attr := range st.Attributes {
			for _, v := range attr.Values {
				value := strings.TrimSpace(v.Value)
				if value == "" {
					continue
				}
				switch attr.Name {
				case cwobject.SAMLRoleAttribute:
					roles = append(roles, value)
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
	if role = strings.TrimSpace(role); role != "" {
		if !slices.Contains(roles, role) {
			return samlIdentity{}, errorf(cwobject.CodePermissionDenied, "the SAML assertion does not grant the requested role %q", role)
		}
		id.principal = cwobject.PrincipalPrefixSAML + role
	}
	return id, nil
}

// samlResponseDestination is the Destination attribute of the document's root
// element, unverified; "" when there is none or the document does not parse.
func samlResponseDestination(doc []byte) string {
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		if el, ok := tok.(xml.StartElement); ok {
			for _, a := range el.Attr {
				if a.Name.Space == "" && a.Name.Local == "Destination" {
					return a.Value
				}
			}
			return ""
		}
	}
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
