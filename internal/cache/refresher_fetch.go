package cache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/cwcreds/cwcreds/internal/logging/logfield"
	"go.uber.org/zap/zapcore"

	"github.com/cwcreds/cwcreds/internal/creds"
)

// farFuture stands for "no attempt planned" in snapshot.attemptAt. Never modified.
var farFuture = time.Unix(1<<40, 0)

// attemptLocked is the one gate every fetch goes through: it joins the fetch in
// flight, or starts one if no stop, backoff or rate limit forbids it. When it may
// not fetch, it returns why, as the error Get gives a caller with nothing to serve.
func (r *Refresher) attemptLocked(ctx context.Context, now time.Time) (*call, *NoCredentialsError) {
	if r.inflight != nil {
		return r.inflight, nil
	}
	defer r.republishLocked()
	if r.stopped && !r.mayRetryStoppedLocked(now) {
		return nil, r.noCredsLocked(now)
	}
	if now.Before(r.retryAtLocked(&r.snap.Load().pair)) || now.Before(r.rateUntil) {
		return nil, r.noCredsLocked(now)
	}
	if d, shared := r.reserveLocked(now); d > 0 {
		r.rateUntil, r.rateShared = now.Add(d), shared
		if shared {
			r.s.shared.warn(r.s.log, now, r.rateUntil)
		} else {
			r.logger().Warn("upstream rate limit reached; delaying the next exchange",
				logfield.Time("next_attempt", r.rateUntil))
		}
		return nil, r.noCredsLocked(now)
	}
	parent := r.runCtx
	if parent == nil {
		parent = context.WithoutCancel(ctx)
	}
	c := &call{done: make(chan struct{})}
	r.inflight = c
	go r.fetch(parent, c)
	return c, nil
}

// mayRetryStoppedLocked reports whether a stop after an unrecoverable failure is
// over: the input fingerprint changed (checked at most every FingerprintInterval)
// or the time-based retry came.
func (r *Refresher) mayRetryStoppedLocked(now time.Time) bool {
	if !r.stopUntil.IsZero() && !now.Before(r.stopUntil) {
		return true
	}
	if r.fp == nil || now.Before(r.nextFPCheck) {
		return false
	}
	r.nextFPCheck = now.Add(r.s.fpInterval)
	fp, err := r.fp.InputFingerprint()
	if err != nil {
		r.logger().Debug("could not read the identity input", logfield.Error(err))
		return false
	}
	if hashFingerprint(fp) == r.stopFP {
		return false
	}
	r.logger().Info("identity input changed; trying the exchange again")
	return true
}

// reserveLocked takes one token from the identity's limiter and the shared one, or
// returns how long to wait (taking nothing) and whether the shared one said so.
func (r *Refresher) reserveLocked(now time.Time) (time.Duration, bool) {
	own := r.limiter.ReserveN(now, 1)
	if !own.OK() {
		return r.s.backoff.Max, false
	}
	if d := own.DelayFrom(now); d > 0 {
		own.CancelAt(now)
		return d, false
	}
	if r.s.shared != nil {
		sh := r.s.shared.ReserveN(now, 1)
		d := sh.DelayFrom(now)
		if !sh.OK() {
			d = r.s.backoff.Max
		}
		if d > 0 {
			sh.CancelAt(now)
			own.CancelAt(now)
			return d, true
		}
	}
	return 0, false
}

// fetch runs one exchange and publishes its result.
func (r *Refresher) fetch(parent context.Context, c *call) {
	ctx, cancel := context.WithTimeout(parent, r.s.fetchTimeout)
	defer cancel()
	var fp string
	if r.fp != nil {
		if v, err := r.fp.InputFingerprint(); err == nil {
			fp = hashFingerprint(v)
		}
	}
	start := r.s.clock.Now()
	got, err := r.fetcher.Fetch(ctx)
	now := r.s.clock.Now()
	took := now.Sub(start)
	var lifetime time.Duration
	if err == nil {
		lifetime, err = checkFetched(got, now, r.s.policy.Floor)
	}

	r.mu.Lock()
	var class Class
	var next time.Time
	if err == nil {
		r.succeedLocked(got, now, lifetime, took)
	} else {
		class, next = r.failLocked(err, fp, now)
	}
	r.inflight = nil
	r.republishLocked()
	changed := r.changed
	r.mu.Unlock()

	// Events go out before waiters wake, so a caller that saw the result also sees
	// its events; the new state is already published for everyone else.
	defer func() {
		if changed != nil {
			select {
			case changed <- struct{}{}:
			default:
			}
		}
		close(c.done)
	}()
	if err == nil {
		r.logger().Info("refreshed credentials",
			logfield.Object("credentials", got), logfield.Duration("took", took))
		r.s.events.Refreshed(r.s.profile, got, took)
		return
	}
	fields := []zapcore.Field{logfield.Stringer("class", class), logfield.Error(err)}
	if class == Unrecoverable {
		r.logger().Error("exchange rejected; not retrying until the identity input changes", append(fields, logfield.Time("retry_at", next))...)
	} else {
		r.logger().Warn("exchange failed; will retry", append(fields, logfield.Time("retry_at", next))...)
	}
	r.s.events.Failed(r.s.profile, class, err, next)
}

func (r *Refresher) succeedLocked(c creds.Credentials, now time.Time, lifetime, took time.Duration) {
	p := r.s.policy
	var prev held
	if h := r.snap.Load().served(now, p.Floor); h != nil {
		prev = *h
	}
	r.publishLocked(pair{cur: newHeld(c, now, lifetime, p, r.s.rand()), prev: prev})
	r.failures = 0
	r.nextRetry, r.coldRetry = time.Time{}, time.Time{}
	r.stopped = false
	r.stopUntil = time.Time{}
	r.lastRefresh, r.lastTook = now, took
}

// failLocked records a failure and decides when to try again.
func (r *Refresher) failLocked(err error, fp string, now time.Time) (Class, time.Time) {
	class := r.s.classify(err)
	r.failures++
	r.lastErr, r.lastClass, r.lastErrAt = err, class, now
	if class == Unrecoverable {
		r.stopped = true
		r.stopFP = fp
		r.nextRetry, r.coldRetry = time.Time{}, time.Time{}
		r.nextFPCheck = now.Add(r.s.fpInterval)
		switch {
		case r.fp == nil:
			r.stopUntil = now.Add(r.s.backoff.Max)
		case r.s.unrecoverableRetry > 0:
			r.stopUntil = now.Add(r.s.unrecoverableRetry)
		default:
			r.stopUntil = time.Time{}
		}
		return class, r.stopUntil
	}
	r.stopped = false
	warm, cold := r.s.backoff.retryDelays(r.failures, r.s.rand(), retryAfter(err))
	r.nextRetry, r.coldRetry = now.Add(warm), now.Add(cold)
	return class, r.retryAtLocked(&r.snap.Load().pair)
}

// retryAtLocked is when a fetch may follow the last failure: nextRetry while pr
// has keys to serve, but no later than coldRetry once it has none, so that
// callers getting 503 are not kept waiting out a backoff grown while the old
// keys were still served.
func (r *Refresher) retryAtLocked(pr *pair) time.Time {
	if !r.coldRetry.Before(r.nextRetry) {
		return r.nextRetry
	}
	cold := later(r.coldRetry, pr.servableUntil(r.s.policy.Floor))
	if cold.Before(r.nextRetry) {
		return cold
	}
	return r.nextRetry
}

// publishLocked makes the state visible to Get, with keys pr.
func (r *Refresher) publishLocked(pr pair) {
	r.snap.Store(&snapshot{pair: pr, attemptAt: r.attemptAtLocked(&pr)})
}

// republishLocked publishes a change of the refresh state; the keys stay.
func (r *Refresher) republishLocked() { r.publishLocked(r.snap.Load().pair) }

// attemptAtLocked is the earliest instant a fetch may start (or a stopped
// refresher re-checks its input); farFuture when none is planned.
func (r *Refresher) attemptAtLocked(pr *pair) time.Time {
	if r.inflight != nil {
		return farFuture
	}
	at := pr.cur.refreshAt // zero without keys: at once
	if r.stopped {
		w := farFuture
		if r.fp != nil {
			w = r.nextFPCheck
		}
		if !r.stopUntil.IsZero() && r.stopUntil.Before(w) {
			w = r.stopUntil
		}
		at = later(at, w)
	}
	return later(later(at, r.retryAtLocked(pr)), r.rateUntil)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// hashFingerprint keeps fingerprints opaque even if a fetcher returned raw input.
func hashFingerprint(fp string) string {
	sum := sha256.Sum256([]byte(fp))
	return hex.EncodeToString(sum[:16])
}

// logger names the identity; only used off the hot path.
func (r *Refresher) logger() logfield.Logger {
	if r.logID != "" {
		return logfield.With(r.s.log, logfield.String("profile", r.s.profile), logfield.String("identity", r.logID))
	}
	return logfield.With(r.s.log, logfield.String("profile", r.s.profile))
}
