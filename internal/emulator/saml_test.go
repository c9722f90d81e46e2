package emulator

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

type samlSetup struct {
	v        *env
	idp      *testIdP
	configID string
	spID     string
}

func newSAMLSetup(t *testing.T) *samlSetup {
	v := newEnv(t)
	idp := newTestIdP(t, v.clock)
	configID := v.e.RegisterSAMLConfig(idp.entityID(), idp.cert)
	md, ok := v.e.SAMLServiceProviderMetadata(configID)
	if !ok {
		t.Fatal("no SP metadata for the new config")
	}
	if md.EntityID != cwobject.SAMLServiceProviderEntityID(v.e.OrgID()) {
		t.Fatalf("SP entity id %q", md.EntityID)
	}
	idp.addSP(md)
	return &samlSetup{v: v, idp: idp, configID: configID, spID: md.EntityID}
}

func (s *samlSetup) exchange(resp string, seconds int64) result {
	s.v.t.Helper()
	return s.v.call(cwobject.OpCreateAccessKeyFromSAML, "", "", map[string]any{
		"orgId": s.v.e.OrgID(), "configId": s.configID, "samlResponse": resp,
		"durationSeconds": seconds, "attributes": map[string]string{"purpose": "test"},
	})
}

func TestSAMLExchangeValid(t *testing.T) {
	s := newSAMLSetup(t)
	resp := s.idp.response(s.spID, "ml-engineers", "alice@example.test")
	k := decodeKey(t, s.exchange(resp, 7200))
	if k.PrincipalName != "saml/ml-engineers" {
		t.Fatalf("principal %q", k.PrincipalName)
	}
	if want := s.v.clock.Now().Add(2 * time.Hour); !k.Expiry.Equal(want) {
		t.Fatalf("expiry %v, want %v", k.Expiry, want)
	}
	if k.Attributes["purpose"] != "test" || k.Attributes[cwobject.SAMLPrincipalNameAttribute] != "alice@example.test" {
		t.Fatalf("attributes %v", k.Attributes)
	}
	// The same response again is a replay.
	s.exchange(resp, 60).expectError(t, cwobject.CodeUnauthenticated, "replayed")

	fresh := s.idp.response(s.spID, "ml-engineers", "alice@example.test")
	k = decodeKey(t, s.exchange(fresh, 0))
	if want := s.v.clock.Now().Add(cwobject.DefaultExchangeLifetime); !k.Expiry.Equal(want) {
		t.Fatalf("default expiry %v, want %v", k.Expiry, want)
	}
	s.v.noSecretsLogged(resp, fresh, k.SecretKey)
}

func TestSAMLExchangeRefusals(t *testing.T) {
	s := newSAMLSetup(t)
	t.Run("tampered", func(t *testing.T) {
		raw, err := base64.StdEncoding.DecodeString(s.idp.response(s.spID, "ml-engineers", "alice"))
		if err != nil {
			t.Fatal(err)
		}
		tampered := bytes.Replace(raw, []byte("ml-engineers"), []byte("ml-engineerz"), -1)
		if bytes.Equal(raw, tampered) {
			t.Fatal("role not found in the response")
		}
		s.exchange(base64.StdEncoding.EncodeToString(tampered), 60).expectError(t, cwobject.CodeUnauthenticated, "signature")
	})
	t.Run("wrong audience", func(t *testing.T) {
		md, _ := s.v.e.SAMLServiceProviderMetadata(s.configID)
		md.EntityID = "https://other-sp.example.test/saml"
		s.idp.addSP(md)
		s.exchange(s.idp.response(md.EntityID, "ml-engineers", "alice"), 60).expectError(t, cwobject.CodeUnauthenticated, "wrong audience")
	})
	t.Run("untrusted idp certificate", func(t *testing.T) {
		other := newTestIdP(t, s.v.clock)
		other.addSP(mustMetadata(t, s))
		s.exchange(other.response(s.spID, "ml-engineers", "alice"), 60).expectError(t, cwobject.CodeUnauthenticated, "signature")
	})
	t.Run("no role", func(t *testing.T) {
		s.exchange(s.idp.response(s.spID, "", "alice"), 60).expectError(t, cwobject.CodeUnauthenticated, "Role")
	})
	t.Run("unknown config", func(t *testing.T) {
		r := s.v.call(cwobject.OpCreateAccessKeyFromSAML, "", "", map[string]any{
			"orgId": s.v.e.OrgID(), "configId": "nope", "samlResponse": s.idp.response(s.spID, "r", "a"),
		})
		r.expectError(t, cwobject.CodeUnauthenticated, "unknown SAML config")
	})
	t.Run("wrong org", func(t *testing.T) {
		r := s.v.call(cwobject.OpCreateAccessKeyFromSAML, "", "", map[string]any{
			"org_id": "org-other", "config_id": s.configID, "saml_response": s.idp.response(s.spID, "r", "a"),
		})
		r.expectError(t, cwobject.CodeUnauthenticated, "orgId")
	})
	t.Run("not base64", func(t *testing.T) {
		s.exchange("%%%not base64%%%", 60).expectError(t, cwobject.CodeUnauthenticated, "base64")
	})
	t.Run("not xml", func(t *testing.T) {
		s.exchange(base64.StdEncoding.EncodeToString([]byte("<<<")), 60).expectError(t, cwobject.CodeUnauthenticated, "malformed")
	})
	t.Run("too long", func(t *testing.T) {
		s.exchange(s.idp.response(s.spID, "r", "a"), cwobject.MaxDurationSeconds+1).expectError(t, cwobject.CodeInvalidArgument, "durationSeconds")
	})
	t.Run("expired", func(t *testing.T) {
		resp := s.idp.response(s.spID, "ml-engineers", "alice")
		s.v.clock.Advance(10 * time.Minute)
		st := s.exchange(resp, 60).expectError(t, cwobject.CodeUnauthenticated, "expired")
		if strings.Contains(st.Message, resp) {
			t.Fatal("the error message contains the SAML response")
		}
	})
}

func mustMetadata(t *testing.T, s *samlSetup) *saml.EntityDescriptor {
	t.Helper()
	md, ok := s.v.e.SAMLServiceProviderMetadata(s.configID)
	if !ok {
		t.Fatal("no metadata")
	}
	return md
}
