package emulator

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/crewjam/saml"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// spInitiatedResponse is the response the test IdP posts to acsURL for an
// AuthnRequest with id requestID from CoreWeave's SP (an SP-initiated login
// whose ACS is acsURL).
func (s *samlSetup) spInitiatedResponse(t *testing.T, acsURL, requestID string) string {
	t.Helper()
	md := mustMetadata(t, s)
	isDefault := true
	md.SPSSODescriptors[0].AssertionConsumerServices = []saml.IndexedEndpoint{
		{Binding: saml.HTTPPostBinding, Location: acsURL, Index: 0, IsDefault: &isDefault},
	}
	s.idp.addSP(md)
	defer s.idp.addSP(mustMetadata(t, s))
	r := httptest.NewRequest(http.MethodGet, "https://idp.example.test/saml/sso", nil)
	req, err := s.idp.idp.NewIdpInitiatedRequest(r, s.spID, "")
	if err != nil {
		t.Fatal(err)
	}
	req.Request.ID = requestID
	uri := "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
	session := &saml.Session{
		ID: "session-2", CreateTime: req.Now, ExpireTime: req.Now.Add(time.Hour), Index: "1", NameID: "bob@example.test",
		CustomAttributes: []saml.Attribute{{Name: cwobject.SAMLRoleAttribute, NameFormat: uri, Values: []saml.AttributeValue{{Type: "xs:string", Value: "cli-users"}}}},
	}
	if err := (saml.DefaultAssertionMaker{}).MakeAssertion(req, session); err != nil {
		t.Fatal(err)
	}
	form, err := req.PostBinding()
	if err != nil {
		t.Fatal(err)
	}
	return form.SAMLResponse
}

func TestSAMLExchangeLoopbackACS(t *testing.T) {
	s := newSAMLSetup(t)
	t.Run("sp-initiated to a loopback acs", func(t *testing.T) {
		resp := s.spInitiatedResponse(t, "http://127.0.0.1:49152"+cwobject.SAMLLoopbackACSPath, "id-cli-request-1")
		k := decodeKey(t, s.exchange(resp, 600))
		if k.PrincipalName != "saml/cli-users" {
			t.Fatalf("principal %q", k.PrincipalName)
		}
		s.exchange(resp, 600).expectError(t, cwobject.CodeUnauthenticated, "replayed")
	})
	t.Run("sp-initiated to another host", func(t *testing.T) {
		resp := s.spInitiatedResponse(t, "http://evil.example.test:8080"+cwobject.SAMLLoopbackACSPath, "id-cli-request-2")
		s.exchange(resp, 600).expectError(t, cwobject.CodeUnauthenticated, "")
	})
	t.Run("sp-initiated to coreweave's own acs", func(t *testing.T) {
		// A response answering a request CoreWeave never made is refused at its own ACS.
		resp := s.spInitiatedResponse(t, cwobject.SAMLAssertionConsumerServiceURL(s.v.e.OrgID()), "id-cli-request-3")
		s.exchange(resp, 600).expectError(t, cwobject.CodeUnauthenticated, "request this service did not make")
	})
}

func TestSAMLExchangeRequestedRole(t *testing.T) {
	s := newSAMLSetup(t)
	call := func(resp, role string) result {
		return s.v.call(cwobject.OpCreateAccessKeyFromSAML, "", "", map[string]any{
			"orgId": s.v.e.OrgID(), "configId": s.configID, "samlResponse": resp, "durationSeconds": 600,
			"attributes": map[string]string{cwobject.SAMLRoleAttribute: role},
		})
	}
	acs := "http://127.0.0.1:49152" + cwobject.SAMLLoopbackACSPath
	if k := decodeKey(t, call(s.spInitiatedResponse(t, acs, "id-role-1"), "cli-users")); k.PrincipalName != "saml/cli-users" {
		t.Fatalf("principal %q", k.PrincipalName)
	}
	call(s.spInitiatedResponse(t, acs, "id-role-2"), "admins").expectError(t, cwobject.CodePermissionDenied, `requested role "admins"`)
}
