package keypolicy

import (
	"testing"
	"time"
)

func TestMaxRefreshMarginIsHonoured(t *testing.T) {
	for _, lt := range []time.Duration{15 * time.Minute, time.Hour, 12 * time.Hour} {
		for _, pd := range []time.Duration{0, 5 * time.Second, time.Minute} {
			p := For(lt)
			p.PropagationDelay = pd
			m := p.MaxRefreshMargin()
			if m < lt/3 {
				continue // lifetime/3 is the target anyway
			}
			p.RefreshMargin = m
			if got := p.Target(lt); got != m {
				t.Errorf("lifetime %s, propagation %s: margin %s gives target %s", lt, pd, m, got)
			}
			p.RefreshMargin = m + time.Second
			if got := p.Target(lt); got == m+time.Second {
				t.Errorf("lifetime %s, propagation %s: margin %s is honoured but is over the maximum %s", lt, pd, m+time.Second, m)
			}
		}
	}
}

func TestTargetOfFifteenMinuteKeys(t *testing.T) {
	// The case from the adversarial run: a 14m margin on 15m keys cannot be kept.
	p := For(15 * time.Minute)
	p.RefreshMargin = 14 * time.Minute
	if got := p.Target(15 * time.Minute); got != 5*time.Minute {
		t.Fatalf("target %s, want 5m (lifetime/3)", got)
	}
	if m := p.MaxRefreshMargin(); m >= 14*time.Minute || m < 5*time.Minute {
		t.Fatalf("max margin %s", m)
	}
}

func TestKeepsMargin(t *testing.T) {
	for _, tc := range []struct {
		lifetime, margin time.Duration
		want             bool
	}{
		{15 * time.Minute, 5 * time.Minute, true},   // lifetime/3
		{15 * time.Minute, 6 * time.Minute, true},   // fits
		{15 * time.Minute, 14 * time.Minute, false}, // the adversarial run's case
		{time.Hour, 15 * time.Minute, true},         // under lifetime/3
		{time.Hour, 25 * time.Minute, true},
		{time.Hour, 28 * time.Minute, false},
		{time.Minute, 40 * time.Second, true}, // too short for any rule: dev mode
	} {
		p := For(tc.lifetime)
		p.RefreshMargin = tc.margin
		if got := p.KeepsMargin(); got != tc.want {
			t.Errorf("lifetime %s, margin %s: KeepsMargin %v, want %v", tc.lifetime, tc.margin, got, tc.want)
		}
	}
}

func TestDefaults(t *testing.T) {
	d := Default()
	if d.RefreshMargin != DefaultRefreshMargin || d.Floor != DefaultFloor || d.PropagationDelay != DefaultPropagationDelay ||
		d.Jitter != DefaultJitter || d.Lifetime != MaxLifetime {
		t.Fatalf("Default() = %+v", d)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	f := For(FixedLifetime)
	if f.RefreshMargin != 5*time.Minute || f.Floor != time.Minute || f.PropagationDelay != 5*time.Second {
		t.Fatalf("For(15m) = %+v", f)
	}
	none := d
	none.PropagationDelay, none.Jitter = 0, 0
	if err := none.Validate(); err != nil {
		t.Fatalf("zero propagation and jitter mean none, not invalid: %v", err)
	}
	for _, bad := range []func(*Policy){
		func(p *Policy) { p.RefreshMargin = 0 },
		func(p *Policy) { p.Floor = p.RefreshMargin },
		func(p *Policy) { p.PropagationDelay = -1 },
		func(p *Policy) { p.Jitter = 1 },
		func(p *Policy) { p.Lifetime = 13 * time.Hour },
		func(p *Policy) { p.Lifetime = 0 },
	} {
		p := Default()
		bad(&p)
		if p.Validate() == nil {
			t.Errorf("%+v validated", p)
		}
	}
}

// Keys are refreshed with more than the target left, never after half their life.
func TestRefreshAt(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, lt := range []time.Duration{FixedLifetime, time.Hour, MaxLifetime} {
		p := For(lt)
		for _, u := range []float64{0, 0.5, 0.999} {
			left := start.Add(lt).Sub(p.RefreshAt(start, lt, u))
			if left < p.Target(lt) || left > lt/2 {
				t.Errorf("lifetime %s, u %g: refresh with %s left, target %s", lt, u, left, p.Target(lt))
			}
		}
	}
}
