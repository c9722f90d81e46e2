package emulator

import (
	"testing"

	"github.com/jonboulle/clockwork"
)

// SAMLIdPForTest registers a crewjam/saml test IdP (saml_helpers_test.go) with e
// and returns its config id and a function that makes a fresh IdP-initiated SAML
// response for a role and principal name. It is exported only so that the
// external client integration tests (package emulator_test) can reuse the
// unexported SAML helpers; it exists in test builds only.
func SAMLIdPForTest(t *testing.T, e *Emulator, clock clockwork.Clock) (configID string, respond func(role, principalName string) string) {
	t.Helper()
	idp := newTestIdP(t, clock)
	configID = e.RegisterSAMLConfig(idp.entityID(), idp.cert)
	md, ok := e.SAMLServiceProviderMetadata(configID)
	if !ok {
		t.Fatal("no service-provider metadata for the new SAML config")
	}
	idp.addSP(md)
	return configID, func(role, principalName string) string {
		t.Helper()
		return idp.response(md.EntityID, role, principalName)
	}
}

// KeyIDShapeForTest and SecretShapeForTest are the shapes of the access key ids
// and secrets the emulator mints (keyIDRe and secretRe in helpers_test.go),
// exported for the external client integration tests.
var (
	KeyIDShapeForTest  = keyIDRe
	SecretShapeForTest = secretRe
)
