package cache

import (
	"context"
	"fmt"
	"time"
)

// Run refreshes ahead of expiry until ctx is done, then returns nil. It fetches at
// once when it holds no keys, then wakes on the clock's timers when a refresh, a
// retry or an input check is due. Get keeps working without Run; call Run at most
// once at a time.
func (r *Refresher) Run(ctx context.Context) error {
	if !r.running.CompareAndSwap(false, true) {
		return fmt.Errorf("profile %q: the refresher is already running", r.s.profile)
	}
	defer r.running.Store(false)
	changed := make(chan struct{}, 1)
	r.mu.Lock()
	r.runCtx, r.changed = ctx, changed
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.runCtx, r.changed = nil, nil
		r.mu.Unlock()
	}()

	for ctx.Err() == nil {
		r.mu.Lock()
		now := r.s.clock.Now()
		at := r.attemptAtLocked(&r.snap.Load().pair)
		var c *call
		if !now.Before(at) || r.inflight != nil {
			c, _ = r.attemptLocked(ctx, now)
			at = r.attemptAtLocked(&r.snap.Load().pair)
			if c == nil && !at.After(now) { // cannot happen; never spin
				at = now.Add(r.s.fpInterval)
			}
		}
		r.mu.Unlock()

		if c != nil {
			select {
			case <-c.done:
			case <-ctx.Done():
				return nil
			}
			drain(changed) // our own fetch's signal
			continue
		}
		if err := r.sleep(ctx, at.Sub(now), at.Equal(farFuture), changed); err != nil {
			return nil
		}
	}
	return nil
}

// sleep waits for d (forever if endless), a change signal, or ctx.
func (r *Refresher) sleep(ctx context.Context, d time.Duration, endless bool, changed <-chan struct{}) error {
	var fire <-chan time.Time
	if !endless {
		t := r.s.clock.NewTimer(d)
		defer t.Stop()
		fire = t.Chan()
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-fire:
	case <-changed:
	}
	return nil
}

func drain(ch <-chan struct{}) {
	select {
	case <-ch:
	default:
	}
}
