package emulator

import (
	"fmt"
	"time"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// Seeding for tests that need more than a handful of keys or buckets (the list
// calls page at 1000), and a view of the org settings, which the API cannot read.

// SeedAccessKeys mints n keys for principal living lifetime (0: permanent), as
// CreateAccessKeyFromJWT would, and returns their ids in minting order. The
// secrets stay in the emulator.
func (e *Emulator) SeedAccessKeys(principal string, n int, lifetime time.Duration) []string {
	ids := make([]string, 0, n)
	for range n {
		ids = append(ids, e.keys.mint(principal, lifetime, nil).id)
	}
	return ids
}

// SeedBucket creates an empty bucket owned by the admin, as CreateBucket on the
// S3 side would.
func (e *Emulator) SeedBucket(name string) error {
	if err := e.s3.AddBucket(name, e.AdminPrincipal()); err != nil {
		return fmt.Errorf("seed bucket %q: %w", name, err)
	}
	return nil
}

// OrganizationSettings returns the org settings as SetOrganizationSettings left them.
func (e *Emulator) OrganizationSettings() cwobject.OrganizationSettings {
	e.mu.Lock()
	defer e.mu.Unlock()
	return cwobject.OrganizationSettings{
		ControlPlaneAuditLoggingEnabled: clonePtr(e.orgSettings.ControlPlaneAuditLoggingEnabled),
		BucketAuditLoggingEnabled:       clonePtr(e.orgSettings.BucketAuditLoggingEnabled),
	}
}
