package exchange

import (
	"fmt"
	"time"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/keypolicy"
)

// checkLifetime applies the default and bounds, in whole seconds.
func checkLifetime(d time.Duration) (time.Duration, error) {
	if d == 0 {
		return keypolicy.DefaultLifetime, nil
	}
	if d < keypolicy.MinRequestLifetime || d > keypolicy.MaxLifetime {
		return 0, fmt.Errorf("key lifetime %s is out of range: use between 1m and 12h", d) // keypolicy.MinRequestLifetime, MaxLifetime
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
