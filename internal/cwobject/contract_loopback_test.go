package cwobject

import "testing"

func TestIsSAMLLoopbackACS(t *testing.T) {
	for u, want := range map[string]bool{
		"http://127.0.0.1:8913/saml/acs":         true,
		"http://localhost:1/saml/acs":            true,
		"http://[::1]:8913/saml/acs":             true,
		"http://127.0.0.1/saml/acs":              false, // no port
		"https://127.0.0.1:8913/saml/acs":        false,
		"http://127.0.0.2:8913/saml/acs":         false,
		"http://example.com:8913/saml/acs":       false,
		"http://127.0.0.1:8913/saml/acs?x=1":     false,
		"http://127.0.0.1:8913/other":            false,
		"http://u@127.0.0.1:8913/saml/acs":       false,
		"http://127.0.0.1.nip.io:80/saml/acs":    false,
		SAMLAssertionConsumerServiceURL("org-x"): false,
	} {
		if got := IsSAMLLoopbackACS(u); got != want {
			t.Errorf("IsSAMLLoopbackACS(%q) = %v, want %v", u, got, want)
		}
	}
}
