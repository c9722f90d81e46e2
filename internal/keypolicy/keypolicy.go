// Package keypolicy is the one statement of how long keys live and when they are
// replaced: the lifetime bounds and defaults of the exchanges (from the CWObject API
// contract), the refresh margin, the floor, the propagation delay, their checks,
// and the arithmetic that says when keys are due. The config validates with it, the
// caches decide with it and the fast path reads it. It is a leaf — no I/O, nothing
// beyond the standard library — so the small credential-process binary links it
// for free.
package keypolicy

import (
	"fmt"
	"time"
)

// Lifetimes.
const (
	// MaxLifetime is the longest lifetime the CWObject API mints: 43200 s on the
	// POST exchanges (cwobject-api.md [fact]). No key is trusted to live longer.
	MaxLifetime = 12 * time.Hour
	// FixedLifetime is the lifetime the server gives keys from the two GET
	// exchanges, which take no duration.
	FixedLifetime = 15 * time.Minute
	// DefaultLifetime is what the POST exchanges ask for when a profile names none.
	DefaultLifetime = time.Hour
	// MinLifetime is the shortest lifetime a profile may ask for: AWS SDKs refetch
	// keys with 5–15 minutes left, so shorter ones would be refetched on every call.
	// Tests and dev mode may lower it as far as MinRequestLifetime.
	MinLifetime = 15 * time.Minute
	// MinRequestLifetime is the shortest lifetime an exchange will ever ask for.
	MinRequestLifetime = time.Minute
)

// The refresh rule's defaults.
const (
	// DefaultRefreshMargin is botocore's advisory refresh window: callers should
	// see at least this much left (at most lifetime/3 by default).
	DefaultRefreshMargin = 15 * time.Minute
	// DefaultFloor: keys with less left are never served (at most margin/3).
	DefaultFloor = time.Minute
	// DefaultPropagationDelay is how long S3 may refuse a brand-new key (at most
	// margin/3).
	DefaultPropagationDelay = 5 * time.Second
	// DefaultJitter is the fraction of the target by which refreshes may start
	// early, so that many holders of one identity do not refresh in step.
	DefaultJitter = 0.10
	// FetchAllowance is added to every refresh lead so that a refresh that starts
	// on time has finished before callers would see less than the target left.
	FetchAllowance = 30 * time.Second
)

// Policy is the refresh rule of one identity's keys. Every field means what it
// says: a zero PropagationDelay or Jitter is none (there is no "zero means
// default"); start from Default or For and change what differs.
//
// For keys of lifetime L (measured from the local fetch time), callers should always
// see at least Target(L) left:
//
//	Target(L) = max(RefreshMargin, L/3)   when its largest lead fits in L/2,
//	Target(L) = L/3                       otherwise (short keys),
//
// and a refresh starts when the time left falls to
//
//	lead = Target(L)·(1 + Jitter·u) + PropagationDelay + FetchAllowance,  u in [0,1),
//
// capped at L/2 (the jitter only makes refreshes earlier; the extra terms cover
// the new keys' propagation and the fetch itself). So keys are used for at least
// half their life; one-hour keys are refreshed with 20m35s–22m35s left, and the
// fixed 15-minute keys after about 60% of their life with 5 minutes left.
type Policy struct {
	// Lifetime is the lifetime keys are requested with (for the GET exchanges,
	// FixedLifetime): keys claiming to live longer are not trusted that long.
	Lifetime time.Duration
	// RefreshMargin is the least time left callers should see.
	RefreshMargin time.Duration
	// Floor: keys with this little left are never served.
	Floor time.Duration
	// PropagationDelay: new keys are not handed out until this old while older
	// ones can stand in; zero for none.
	PropagationDelay time.Duration
	// Jitter is the fraction of the target by which refreshes may start early;
	// zero for none.
	Jitter float64
}

// For is the default policy of keys requested with the given lifetime: the
// margin min(DefaultRefreshMargin, lifetime/3), then the floor and propagation
// delay at most a third of the margin each, and the default jitter.
func For(lifetime time.Duration) Policy {
	margin := DefaultMargin(lifetime)
	return Policy{
		Lifetime:         lifetime,
		RefreshMargin:    margin,
		Floor:            DefaultFloorFor(margin),
		PropagationDelay: DefaultPropagationFor(margin),
		Jitter:           DefaultJitter,
	}
}

// Default is the policy of keys of unknown lifetime (trusted for at most
// MaxLifetime): For(MaxLifetime), i.e. a 15m margin, 1m floor and 5s delay.
func Default() Policy { return For(MaxLifetime) }

// DefaultMargin is the refresh margin of keys of this lifetime when none is set.
func DefaultMargin(lifetime time.Duration) time.Duration {
	return min(DefaultRefreshMargin, lifetime/3)
}

// DefaultFloorFor is the floor under a refresh margin when none is set.
func DefaultFloorFor(margin time.Duration) time.Duration { return min(DefaultFloor, margin/3) }

// DefaultPropagationFor is the propagation delay under a refresh margin when none is set.
func DefaultPropagationFor(margin time.Duration) time.Duration {
	return min(DefaultPropagationDelay, margin/3)
}

// Validate says what is wrong with p, in words a user can act on.
func (p Policy) Validate() error {
	switch {
	case p.Lifetime <= 0 || p.Lifetime > MaxLifetime:
		return fmt.Errorf("key lifetime %s is out of range: use more than 0 and at most %s", p.Lifetime, MaxLifetime)
	case p.RefreshMargin <= 0:
		return fmt.Errorf("refresh margin %s is not positive: use a positive duration such as 15m", p.RefreshMargin)
	case p.Floor < 0:
		return fmt.Errorf("floor %s is negative: use a positive duration such as 1m", p.Floor)
	case p.Floor >= p.RefreshMargin:
		return fmt.Errorf("floor %s must be shorter than the refresh margin %s", p.Floor, p.RefreshMargin)
	case p.PropagationDelay < 0:
		return fmt.Errorf("propagation delay %s is negative: use zero for none", p.PropagationDelay)
	case p.Jitter < 0 || p.Jitter >= 1:
		return fmt.Errorf("jitter %g must be a fraction in [0, 1), such as 0.1", p.Jitter)
	}
	return nil
}

// Target is the least time left callers see for keys of the given lifetime, when
// refreshes succeed on time.
func (p Policy) Target(lifetime time.Duration) time.Duration {
	t := max(p.RefreshMargin, lifetime/3)
	if p.leadFor(t, 1) > lifetime/2 {
		return lifetime / 3
	}
	return t
}

func (p Policy) leadFor(target time.Duration, u float64) time.Duration {
	return target + time.Duration(float64(target)*p.Jitter*u) + p.PropagationDelay + FetchAllowance
}

// Lead is how long before expiry a refresh of keys with this lifetime starts, for
// a jitter draw u in [0,1).
func (p Policy) Lead(lifetime time.Duration, u float64) time.Duration {
	return min(p.leadFor(p.Target(lifetime), u), lifetime/2)
}

// RefreshAt is when keys fetched at fetchedAt with this lifetime are due for refresh.
func (p Policy) RefreshAt(fetchedAt time.Time, lifetime time.Duration, u float64) time.Time {
	return fetchedAt.Add(lifetime - p.Lead(lifetime, u))
}

// TrustedLifetime is the longest keys can live under p: the lifetime asked for,
// and never more than MaxLifetime.
func (p Policy) TrustedLifetime() time.Duration {
	if p.Lifetime > 0 {
		return min(p.Lifetime, MaxLifetime)
	}
	return MaxLifetime
}

// KeepsMargin reports whether Target honours p's refresh margin for keys of p's
// lifetime. A margin above lifetime/3 whose lead does not fit in half the lifetime
// would silently become lifetime/3; lifetimes too short even for that (tests, dev
// mode) refuse nothing.
func (p Policy) KeepsMargin() bool {
	if p.RefreshMargin <= p.Lifetime/3 || p.MaxRefreshMargin() < p.Lifetime/3 {
		return true
	}
	return p.Target(p.Lifetime) == p.RefreshMargin
}

// MaxRefreshMargin is the longest refresh margin Target honours for keys of p's
// lifetime (whole seconds); a longer one would silently become lifetime/3.
func (p Policy) MaxRefreshMargin() time.Duration {
	room := p.Lifetime/2 - p.PropagationDelay - FetchAllowance
	if room <= 0 {
		return 0
	}
	return (time.Duration(float64(room)/(1+p.Jitter)) / time.Second) * time.Second
}
