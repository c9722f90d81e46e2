package exchange

import (
	"fmt"
	"time"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

const (
	// DefaultLifetime is the key lifetime the POST exchanges ask for by default.
	DefaultLifetime = time.Hour
	// MinLifetime and MaxLifetime bound the lifetime the POST exchanges ask for.
	// MaxLifetime is the API's limit on the OIDC and SAML exchanges, applied to the
	// API-token exchange too: a helper should mint short-lived keys only.
	MinLifetime = time.Minute
	MaxLifetime = cwobject.MaxDurationSeconds * time.Second
)

// checkLifetime applies the default and bounds, in whole seconds.
func checkLifetime(d time.Duration) (time.Duration, error) {
	if d == 0 {
		return DefaultLifetime, nil
	}
	if d < MinLifetime || d > MaxLifetime {
		return 0, fmt.Errorf("key lifetime %s is out of range: use between 1m and 12h", d)
	}
	return d.Truncate(time.Second), nil
}

// expiration is when keys requested at start with the given lifetime must be
// treated as expired, by the local clock:
//
//	expiration = min(server expiry, start + lifetime)
//
// start is read from the local clock before the request is sent, so the bound is
// conservative. A server clock running ahead of ours cannot make keys look
// longer-lived than they are; one running behind only makes them look shorter, so
// they are refreshed early. A missing or "permanent" server expiry falls back to
// the local bound.
func expiration(server, start time.Time, lifetime time.Duration) time.Time {
	local := start.Add(lifetime)
	if server.IsZero() || server.Equal(cwobject.PermanentExpiry) || server.After(local) {
		return local
	}
	return server
}
