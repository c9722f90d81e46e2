package keypolicy_test

import (
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/keypolicy"
)

// The bounds come from the API contract, written down in cwobject/contract.go.
func TestBoundsMatchTheContract(t *testing.T) {
	if want := time.Duration(cwobject.MaxDurationSeconds) * time.Second; keypolicy.MaxLifetime != want {
		t.Errorf("MaxLifetime = %s, the contract says %s", keypolicy.MaxLifetime, want)
	}
	if keypolicy.FixedLifetime != cwobject.ContainerCredsLifetime {
		t.Errorf("FixedLifetime = %s, the contract says %s", keypolicy.FixedLifetime, cwobject.ContainerCredsLifetime)
	}
	if keypolicy.MinRequestLifetime > keypolicy.MinLifetime || keypolicy.DefaultLifetime < keypolicy.MinLifetime || keypolicy.DefaultLifetime > keypolicy.MaxLifetime {
		t.Error("the lifetime bounds are out of order")
	}
}
