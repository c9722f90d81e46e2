package cache

import (
	"testing"
	"time"

	"github.com/cwcreds/cwcreds/internal/keypolicy"
)

func TestPolicyTarget(t *testing.T) {
	p := keypolicy.Default()
	for _, tc := range []struct {
		lifetime, target time.Duration
	}{
		{12 * time.Hour, 4 * time.Hour},
		{time.Hour, 20 * time.Minute},
		{45 * time.Minute, 15 * time.Minute},
		{36 * time.Minute, 15 * time.Minute},
		{30 * time.Minute, 10 * time.Minute}, // short: 15m would need a refresh before half-life
		{15 * time.Minute, 5 * time.Minute},
	} {
		if got := p.Target(tc.lifetime); got != tc.target {
			t.Errorf("Target(%s) = %s, want %s", tc.lifetime, got, tc.target)
		}
	}
}

func TestPolicyLead(t *testing.T) {
	p := keypolicy.Default()
	for _, lifetime := range []time.Duration{90 * time.Second, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 12 * time.Hour} {
		target := p.Target(lifetime)
		for _, u := range []float64{0, 0.5, 0.999} {
			l := p.Lead(lifetime, u)
			if l > lifetime/2 {
				t.Errorf("lead(%s,%g) = %s exceeds half the lifetime", lifetime, u, l)
			}
			if lifetime >= 15*time.Minute && l < target+p.PropagationDelay+keypolicy.FetchAllowance {
				t.Errorf("lead(%s,%g) = %s leaves callers less than the target %s", lifetime, u, l, target)
			}
		}
		if p.Lead(lifetime, 0.999) < p.Lead(lifetime, 0) {
			t.Errorf("jitter must only make refreshes earlier")
		}
	}
	// One-hour keys: refreshed with 20m35s–22m35s left.
	if lo, hi := p.Lead(time.Hour, 0), p.Lead(time.Hour, 1); lo != 20*time.Minute+35*time.Second || hi != 22*time.Minute+35*time.Second {
		t.Errorf("1h lead window = %s..%s", lo, hi)
	}
}

func TestPolicyDefaultsAndValidation(t *testing.T) {
	p, err := resolvePolicy(Policy{})
	if err != nil || p.RefreshMargin != 15*time.Minute || p.Floor != time.Minute || p.PropagationDelay != 5*time.Second || p.Jitter != 0.1 {
		t.Errorf("no policy given = %+v, %v; want the defaults", p, err)
	}
	off := keypolicy.Default()
	off.PropagationDelay, off.Jitter = 0, 0
	if got, err := resolvePolicy(off); err != nil || got != off {
		t.Errorf("zero fields mean none: %+v, %v", got, err)
	}
	for _, bad := range []func(*Policy){
		func(p *Policy) { p.RefreshMargin = -time.Minute },
		func(p *Policy) { p.Floor = -time.Second },
		func(p *Policy) { p.Floor = 20 * time.Minute },
		func(p *Policy) { p.Jitter = 1.5 },
		func(p *Policy) { p.PropagationDelay = -1 },
	} {
		p := keypolicy.Default()
		bad(&p)
		if _, err := resolvePolicy(p); err == nil {
			t.Errorf("%+v: want an error", p)
		}
	}
}

func TestBackoffDelay(t *testing.T) {
	b := Backoff{}.withDefaults()
	prevHi := time.Duration(0)
	for n := 1; n <= 20; n++ {
		lo, hi := b.delay(n, 0), b.delay(n, 0.999999)
		if lo < prevHi/2-time.Millisecond || hi > b.Max || lo > hi {
			t.Errorf("delay(%d) in [%s,%s]", n, lo, hi)
		}
		prevHi = hi
	}
	if d := b.delay(1, 0); d != 500*time.Millisecond {
		t.Errorf("first delay low end = %s, want 500ms", d)
	}
	if d := b.delay(30, 0.999999); d > 5*time.Minute || d < 4*time.Minute {
		t.Errorf("capped delay = %s", d)
	}
	if err := (Backoff{Base: time.Minute, Max: time.Second}).validate(); err == nil {
		t.Error("base > max must be refused")
	}
}

func TestPickServesPreviousWhilePropagating(t *testing.T) {
	p := keypolicy.Default()
	old := newHeld(mkCreds("OLD", epoch.Add(time.Hour)), epoch, time.Hour, p, 0)
	at := epoch.Add(40 * time.Minute)
	fresh := newHeld(mkCreds("NEW", at.Add(time.Hour)), at, time.Hour, p, 0)
	pr := pair{cur: fresh, prev: old}
	if c, _ := pr.pick(at.Add(time.Second), p.Floor); c.AccessKeyID != "OLD" {
		t.Errorf("1s after refresh served %s, want OLD", c.AccessKeyID)
	}
	if c, _ := pr.pick(at.Add(5*time.Second), p.Floor); c.AccessKeyID != "NEW" {
		t.Errorf("5s after refresh served %s, want NEW", c.AccessKeyID)
	}
	// Old keys below the floor: new ones at once.
	late := epoch.Add(59*time.Minute + 30*time.Second)
	fresh2 := newHeld(mkCreds("NEW2", late.Add(time.Hour)), late, time.Hour, p, 0)
	pr = pair{cur: fresh2, prev: old}
	if c, _ := pr.pick(late, p.Floor); c.AccessKeyID != "NEW2" {
		t.Errorf("served %s, want NEW2 when the old keys are under the floor", c.AccessKeyID)
	}
	// Nothing valid.
	if _, ok := (&pair{cur: old}).pick(epoch.Add(time.Hour), p.Floor); ok {
		t.Error("served expired keys")
	}
	// A clock earlier than the fetch time trusts nothing.
	if _, ok := (&pair{cur: old}).pick(epoch.Add(-time.Second), p.Floor); ok {
		t.Error("served keys fetched in the future")
	}
}

func TestBackoffRetryDelays(t *testing.T) {
	b := Backoff{}.withDefaults()
	for _, tc := range []struct {
		failures   int
		ra         time.Duration
		warm, cold time.Duration
	}{
		{1, 0, time.Second, time.Second},
		{5, 0, 16 * time.Second, 10 * time.Second},
		{30, 0, 5 * time.Minute, 10 * time.Second},
		{30, 45 * time.Second, 5 * time.Minute, 45 * time.Second}, // Retry-After longer than the cold cap
		{1, 45 * time.Second, 45 * time.Second, 45 * time.Second}, // …and than the backoff
		{1, time.Hour, 5 * time.Minute, 5 * time.Minute},          // capped at Max
		{5, 3 * time.Second, 16 * time.Second, 10 * time.Second},  // shorter: the backoff wins
	} {
		warm, cold := b.retryDelays(tc.failures, 1, tc.ra)
		if warm != tc.warm || cold != tc.cold {
			t.Errorf("retryDelays(%d, 1, %s) = %s, %s; want %s, %s", tc.failures, tc.ra, warm, cold, tc.warm, tc.cold)
		}
	}
	if err := (Backoff{MaxWithoutKeys: -time.Second}).withDefaults().validate(); err == nil {
		t.Error("a negative MaxWithoutKeys must be refused")
	}
}
