package config

import (
	"testing"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// config keeps its own copies of the few contract facts it validates against, so
// that loading a profile (which every credential-process run does) does not link
// the HTTP client. They must agree with the contract.
func TestDefaultsAgreeWithTheContract(t *testing.T) {
	if DefaultAPIEndpoint != cwobject.DefaultBaseURL {
		t.Errorf("DefaultAPIEndpoint = %q, the contract says %q", DefaultAPIEndpoint, cwobject.DefaultBaseURL)
	}
	// The lifetime bounds are keypolicy's, checked against the contract there.
}
