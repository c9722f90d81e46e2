package keypolicy

import (
	"testing"
	"time"
)

func TestMaxRefreshMarginIsHonoured(t *testing.T) {
	for _, lt := range []time.Duration{15 * time.Minute, time.Hour, 12 * time.Hour} {
		for _, pd := range []time.Duration{0, 5 * time.Second, time.Minute} {
			m := MaxRefreshMargin(lt, pd, DefaultJitter)
			if m < lt/3 {
				continue // lifetime/3 is the target anyway
			}
			if got := Target(m, lt, pd, DefaultJitter); got != m {
				t.Errorf("lifetime %s, propagation %s: margin %s gives target %s", lt, pd, m, got)
			}
			if got := Target(m+time.Second, lt, pd, DefaultJitter); got == m+time.Second {
				t.Errorf("lifetime %s, propagation %s: margin %s is honoured but is over the maximum %s", lt, pd, m+time.Second, m)
			}
		}
	}
}

func TestTargetOfFifteenMinuteKeys(t *testing.T) {
	// The case from the adversarial run: a 14m margin on 15m keys cannot be kept.
	if got := Target(14*time.Minute, 15*time.Minute, 5*time.Second, DefaultJitter); got != 5*time.Minute {
		t.Fatalf("target %s, want 5m (lifetime/3)", got)
	}
	if m := MaxRefreshMargin(15*time.Minute, 5*time.Second, DefaultJitter); m >= 14*time.Minute || m < 5*time.Minute {
		t.Fatalf("max margin %s", m)
	}
}
