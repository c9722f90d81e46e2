package cache

import (
	"time"

	"github.com/cwcreds/cwcreds/internal/creds"
)

// Events lets the server turn what the cache does into metrics and logs. Calls are
// made synchronously and outside the cache's locks, so implementations must be fast
// and may call back into the cache. Refreshed receives the whole Credentials value:
// implementations must log or label only its key id, principal and expiration (its
// String and zap encodings already show nothing else), never the secret.
type Events interface {
	// Refreshed: a fetch returned new keys; took is the fetch duration.
	Refreshed(profile string, c creds.Credentials, took time.Duration)
	// Failed: a fetch failed; nextRetry is zero when the cache waits for the identity
	// input to change. err never contains secrets.
	Failed(profile string, class Class, err error, nextRetry time.Time)
	// Served: keys were handed out; hit is false when the caller waited for a fetch.
	Served(profile string, hit bool)
	// ExpiredRefused: the cache held keys but refused them as expired or too close
	// to expiry, and had nothing else to serve.
	ExpiredRefused(profile string)
}

// NopEvents ignores every event.
type NopEvents struct{}

func (NopEvents) Refreshed(string, creds.Credentials, time.Duration) {}
func (NopEvents) Failed(string, Class, error, time.Time)             {}
func (NopEvents) Served(string, bool)                                {}
func (NopEvents) ExpiredRefused(string)                              {}
