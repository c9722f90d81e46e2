package server

import (
	"time"

	"go.uber.org/zap"

	"github.com/cwcreds/cwcreds/internal/cache"
	"github.com/cwcreds/cwcreds/internal/creds"
)

// Observer turns cache events into metrics and, when given a logger, into one log
// line per refresh and per failure. It satisfies cache.Events; give it to every
// cache.Config of the profiles served. It logs only the key id, principal, expiry
// and error text (which the cache guarantees secret-free), never a secret.
//
// A cache.Refresher already writes the same refresh and failure lines through its
// own Logger: to log each event once, give the logger to one of the two.
type Observer struct {
	m   *Metrics
	log *zap.Logger
}

var _ cache.Events = (*Observer)(nil)

// NewObserver returns an Observer feeding m (the Metrics given to the Server) and
// log (nil: metrics only).
func NewObserver(m *Metrics, log *zap.Logger) *Observer {
	if log == nil {
		log = zap.NewNop()
	}
	return &Observer{m: m, log: log}
}

// Refreshed counts a successful exchange and logs it.
func (o *Observer) Refreshed(profile string, c creds.Credentials, took time.Duration) {
	pm := o.m.lookup(profile)
	pm.success.Inc()
	pm.refreshes.Inc()
	pm.duration.Observe(took.Seconds())
	pm.lastExpiry.Store(c.Expiration.UnixNano())
	o.log.Info("refreshed credentials",
		zap.String("profile", profile),
		zap.String("access_key_id", c.AccessKeyID),
		zap.String("principal", c.Principal),
		zap.Time("expiration", c.Expiration.UTC()),
		zap.Duration("took", took))
}

// Failed counts a failed exchange by class and logs it: a warning when it will be
// retried, an error when the identity was rejected.
func (o *Observer) Failed(profile string, class cache.Class, err error, nextRetry time.Time) {
	pm := o.m.lookup(profile)
	lvl := zap.WarnLevel
	switch class {
	case cache.Unrecoverable:
		pm.unrecoverable.Inc()
		lvl = zap.ErrorLevel
	default:
		pm.transient.Inc()
	}
	ce := o.log.Check(lvl, "exchange failed")
	if ce == nil {
		return
	}
	msg := "no error given"
	if err != nil {
		msg = cleanMessage(err.Error())
	}
	fields := []zap.Field{zap.String("profile", profile), zap.Stringer("class", class), zap.String("error", msg)}
	if nextRetry.IsZero() {
		fields = append(fields, zap.String("next_retry", "when the identity input changes"))
	} else {
		fields = append(fields, zap.Time("next_retry", nextRetry.UTC()))
	}
	ce.Write(fields...)
}

// Served counts a cache hit or miss; it runs on every request, so it only counts.
func (o *Observer) Served(profile string, hit bool) {
	pm := o.m.lookup(profile)
	if hit {
		pm.hits.Inc()
	} else {
		pm.misses.Inc()
	}
}

// ExpiredRefused counts keys refused as too close to expiry.
func (o *Observer) ExpiredRefused(profile string) {
	o.m.lookup(profile).expired.Inc()
}
