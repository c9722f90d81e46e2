// Package keypolicy holds the arithmetic of when short-lived keys are refreshed,
// shared by the config (which refuses settings it cannot honour) and the caches
// (which act on them). It is a leaf: no I/O, no dependencies beyond the standard
// library, so the small credential-process binary can link it for free.
package keypolicy

import "time"

const (
	// DefaultJitter is the fraction of the target by which refreshes may start
	// early, so that many holders of one identity do not refresh in step.
	DefaultJitter = 0.10
	// FetchAllowance is added to every refresh lead so that a refresh that starts
	// on time has finished before callers would see less than the target left.
	FetchAllowance = 30 * time.Second
	// MaxKeyLifetime is the longest lifetime the CWObject API mints (43200 s).
	MaxKeyLifetime = 12 * time.Hour
)

// Lead is how long before expiry a refresh aiming to leave target starts, for a
// jitter draw u in [0,1): target·(1 + jitter·u) + propagation + FetchAllowance.
func Lead(target, propagation time.Duration, jitter, u float64) time.Duration {
	return target + time.Duration(float64(target)*jitter*u) + propagation + FetchAllowance
}

// Target is the least time left callers see for keys of the given lifetime:
// max(margin, lifetime/3) when its largest lead fits in half the lifetime (keys are
// used for at least half their life), else lifetime/3.
func Target(margin, lifetime, propagation time.Duration, jitter float64) time.Duration {
	t := max(margin, lifetime/3)
	if Lead(t, propagation, jitter, 1) > lifetime/2 {
		return lifetime / 3
	}
	return t
}

// MaxRefreshMargin is the longest refresh margin Target honours for keys of the
// given lifetime (whole seconds); a longer margin would silently become lifetime/3.
func MaxRefreshMargin(lifetime, propagation time.Duration, jitter float64) time.Duration {
	room := lifetime/2 - propagation - FetchAllowance
	if room <= 0 {
		return 0
	}
	return (time.Duration(float64(room)/(1+jitter)) / time.Second) * time.Second
}
