package cache

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cwcreds/cwcreds/internal/logging/logfield"
	"github.com/jonboulle/clockwork"
	"golang.org/x/time/rate"

	"github.com/cwcreds/cwcreds/internal/creds"
)

// Defaults of Config.
const (
	DefaultMaxRate             = rate.Limit(1.0 / 5) // one fetch every 5 s per identity…
	DefaultBurst               = 2                   // …after a burst of 2
	DefaultFingerprintInterval = 5 * time.Second
	DefaultUnrecoverableRetry  = time.Hour
	DefaultFetchTimeout        = time.Minute
)

// Config configures a Refresher. Zero fields take the defaults.
type Config struct {
	Profile  string  // names the identity in logs, events and errors
	Fetcher  Fetcher // required; may also implement InputFingerprinter
	Clock    clockwork.Clock
	Logger   logfield.Logger
	Events   Events
	Classify func(error) Class // default DefaultClassify

	Policy          // refresh rule (keypolicy.Policy); zero: keypolicy.Default()
	Backoff Backoff // between failed fetches: 1s doubling to 5m

	// MaxRate caps upstream fetches for this identity (default one per 5 s, burst 2),
	// whatever the backoff or the callers ask for. rate.Inf turns the cap off.
	MaxRate rate.Limit
	Burst   int
	// ColdWait is how long Get waits for a running fetch when it has nothing valid to
	// serve; 0 waits until the caller's context is done. A server should set it below
	// the SDKs' 1 s timeout so that it answers 503 rather than hang.
	ColdWait time.Duration
	// AwaitPropagation: Get never returns keys younger than PropagationDelay, which
	// S3 may still refuse. Only keys with nothing older to stand in for them can be
	// that young (the very first ones, or new ones replacing keys that ran out);
	// Get waits for them within ColdWait (from the call) and ctx, or, when they
	// cannot be old enough by then, returns at once a *NoCredentialsError whose
	// NextRetry is when they will be. For servers whose callers use keys at once.
	AwaitPropagation bool
	// FingerprintInterval is how often, at most, the input fingerprint is checked
	// while fetching is stopped after an unrecoverable failure (default 5s).
	FingerprintInterval time.Duration
	// UnrecoverableRetry: after an unrecoverable failure the cache fetches again when
	// the input fingerprint changes or this much later (default 1h, so an upstream
	// permission fix is picked up; negative: only on input change). Fetchers without
	// a fingerprint are retried after Backoff.Max instead.
	UnrecoverableRetry time.Duration
	// FetchTimeout bounds one call to Fetch (default 1m).
	FetchTimeout time.Duration
	// Rand returns numbers in [0,1) for jitter (default math/rand/v2.Float64).
	Rand func() float64

	// shared is an extra limiter all identities of an AgentCache draw from.
	shared *sharedLimit
}

// sharedWarnEvery spaces the Warn lines of a refusing shared limit: a pod can
// present any number of new tokens, each its own Refresher, so one line per
// refusal would let it write the node's logs as fast as it sends requests.
const sharedWarnEvery = 10 * time.Second

// sharedLimit is the upstream limit all identities of an AgentCache draw from,
// with when its refusals were last reported.
type sharedLimit struct {
	*rate.Limiter
	lastWarn atomic.Int64 // unix ns of the last Warn line; 0 none yet
	refused  atomic.Int64 // refusals not yet reported
}

// warn logs a refusal, or counts it when a line was logged within
// sharedWarnEvery; the line says how many it stands for.
func (l *sharedLimit) warn(log logfield.Logger, now, next time.Time) {
	n := l.refused.Add(1)
	last := l.lastWarn.Load()
	if last != 0 && now.UnixNano()-last < int64(sharedWarnEvery) {
		return
	}
	if !l.lastWarn.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	l.refused.Add(-n)
	log.Warn("the agent's upstream rate limit is reached; delaying exchanges (see --upstream-rate)",
		logfield.Int("refused", int(n)), logfield.Time("next_attempt", next))
}

// settings is the immutable part of a Config, shared by every Refresher of an
// AgentCache so that an identity costs only its own state.
type settings struct {
	hooks
	profile            string
	policy             Policy
	backoff            Backoff
	maxRate            rate.Limit
	burst              int
	coldWait           time.Duration
	awaitPropagation   bool
	fpInterval         time.Duration
	unrecoverableRetry time.Duration
	fetchTimeout       time.Duration
	rand               func() float64
	shared             *sharedLimit
}

// hooks are what a Refresher and a DiskStore are told about the world by their
// configs, with the defaults filled in.
type hooks struct {
	clock    clockwork.Clock
	log      logfield.Logger
	events   Events
	classify func(error) Class
}

// newHooks fills in the defaults of a config's Clock, Logger, Events and Classify:
// the real clock, no logging, NopEvents and DefaultClassify.
func newHooks(clock clockwork.Clock, log logfield.Logger, events Events, classify func(error) Class) hooks {
	h := hooks{clock: clock, log: logfield.OrNop(log), events: events, classify: classify}
	if h.clock == nil {
		h.clock = clockwork.NewRealClock()
	}
	if h.events == nil {
		h.events = NopEvents{}
	}
	if h.classify == nil {
		h.classify = DefaultClassify
	}
	return h
}

func newSettings(cfg Config) (*settings, error) {
	if cfg.Profile == "" {
		return nil, errors.New("profile name is empty: give the identity a name")
	}
	s := &settings{
		profile:            cfg.Profile,
		hooks:              newHooks(cfg.Clock, cfg.Logger, cfg.Events, cfg.Classify),
		policy:             cfg.Policy,
		backoff:            cfg.Backoff.withDefaults(),
		maxRate:            cmp.Or(cfg.MaxRate, DefaultMaxRate),
		burst:              cmp.Or(cfg.Burst, DefaultBurst),
		coldWait:           cfg.ColdWait,
		awaitPropagation:   cfg.AwaitPropagation,
		fpInterval:         cmp.Or(cfg.FingerprintInterval, DefaultFingerprintInterval),
		unrecoverableRetry: cmp.Or(cfg.UnrecoverableRetry, DefaultUnrecoverableRetry),
		fetchTimeout:       cmp.Or(cfg.FetchTimeout, DefaultFetchTimeout),
		rand:               cfg.Rand,
		shared:             cfg.shared,
	}
	if s.rand == nil {
		s.rand = rand.Float64
	}
	var err error
	if s.policy, err = resolvePolicy(s.policy); err != nil {
		return nil, err
	}
	if err := s.backoff.validate(); err != nil {
		return nil, err
	}
	switch {
	case s.maxRate < 0 || s.burst < 1:
		return nil, fmt.Errorf("upstream rate %g/s with burst %d is impossible: use a positive rate and a burst of at least 1", float64(s.maxRate), s.burst)
	case s.coldWait < 0 || s.fpInterval < 0 || s.fetchTimeout < 0:
		return nil, errors.New("cold wait, fingerprint interval and fetch timeout must not be negative")
	}
	return s, nil
}

// Refresher keeps the keys of one identity fresh in memory. Get is safe for
// concurrent use; on a warm cache it takes no lock and allocates nothing.
//
// Without Run (one-shot processes, agent entries) Get refreshes on demand: inside the
// refresh window it returns the still-valid keys at once and fetches in the
// background; with nothing valid it starts (or joins) a fetch and waits for it up to
// ColdWait. With Run (daemons) refreshes happen ahead of time on the clock's timers.
//
// After an unrecoverable failure the Refresher keeps serving keys that are still
// valid (they were minted for an identity that was accepted, and revoking them is not
// its job), but makes no fetch until the input changes; once nothing valid is left,
// Get returns the *NoCredentialsError at once.
type Refresher struct {
	s       *settings
	fetcher Fetcher
	fp      InputFingerprinter // nil when the fetcher cannot say
	logID   string             // agent entries: a prefix of the token's hash

	snap    atomic.Pointer[snapshot] // never nil after construction
	running atomic.Bool              // Run is active: Get leaves refresh-ahead to it

	mu       sync.Mutex // guards everything below; never held on the hot path
	limiter  *rate.Limiter
	inflight *call

	failures int
	// nextRetry is when a failed fetch may be retried while keys are held;
	// coldRetry (never later) once none are: see retryAtLocked.
	nextRetry, coldRetry time.Time
	rateUntil            time.Time
	rateShared           bool // rateUntil comes from the AgentCache's shared limiter
	lastErr              error
	lastClass            Class
	lastErrAt            time.Time
	lastRefresh          time.Time
	lastTook             time.Duration

	stopped     bool      // after an unrecoverable failure
	stopFP      string    // hashed fingerprint the failure happened with
	stopUntil   time.Time // time-based retry; zero: only on input change
	nextFPCheck time.Time

	runCtx  context.Context // Run's context, parent of its fetches
	changed chan struct{}   // wakes Run when a fetch it did not start completes
}

// snapshot is what Get reads without a lock. It is immutable once published.
type snapshot struct {
	pair
	// attemptAt: Get looks at the refresh state only from this instant on.
	attemptAt time.Time
}

// call is one fetch in flight; done is closed after its result is published.
type call struct{ done chan struct{} }

// NewRefresher checks cfg and returns an idle Refresher; nothing is fetched until
// Get or Run.
func NewRefresher(cfg Config) (*Refresher, error) {
	if cfg.Fetcher == nil {
		return nil, errors.New("no fetcher given: the refresher needs something to get keys from")
	}
	s, err := newSettings(cfg)
	if err != nil {
		return nil, fmt.Errorf("profile %q: %w", cfg.Profile, err)
	}
	r := &Refresher{}
	r.init(s, cfg.Fetcher)
	return r, nil
}

func (r *Refresher) init(s *settings, f Fetcher) {
	r.s = s
	r.fetcher = f
	r.fp = fingerprinterOf(f)
	r.limiter = rate.NewLimiter(s.maxRate, s.burst)
	r.snap.Store(&snapshot{})
}

// Profile is the identity's name.
func (r *Refresher) Profile() string { return r.s.profile }

// Get returns keys with more than Policy.Floor left, or a *NoCredentialsError. It
// never returns expired keys. ctx bounds only the wait for a fetch; fetches outlive
// a caller that gives up, so the next caller finds their result.
func (r *Refresher) Get(ctx context.Context) (creds.Credentials, error) {
	now := r.s.clock.Now()
	snap := r.snap.Load()
	if h := snap.served(now, r.s.policy.Floor); h != nil && r.propagated(h, now) {
		if !now.Before(snap.attemptAt) && !r.running.Load() {
			r.kick(ctx, now)
		}
		r.s.events.Served(r.s.profile, true)
		return h.c, nil
	}
	return r.getSlow(ctx, now)
}

// propagated reports whether h may be served at now: always, unless
// AwaitPropagation holds back keys younger than PropagationDelay.
func (r *Refresher) propagated(h *held, now time.Time) bool {
	return !r.s.awaitPropagation || !now.Before(h.servableAt)
}

// kick starts a background refresh if one is due and nobody else is deciding.
func (r *Refresher) kick(ctx context.Context, now time.Time) {
	if !r.mu.TryLock() {
		return
	}
	defer r.mu.Unlock()
	if now.Before(r.snap.Load().attemptAt) {
		return
	}
	_, _ = r.attemptLocked(ctx, now)
}

// getSlow serves a Get that found nothing it could serve at start.
func (r *Refresher) getSlow(ctx context.Context, start time.Time) (creds.Credentials, error) {
	r.mu.Lock()
	now := r.s.clock.Now()
	snap := r.snap.Load()
	if h := snap.served(now, r.s.policy.Floor); h != nil { // a fetch finished meanwhile, or the keys are propagating
		if !now.Before(snap.attemptAt) && !r.running.Load() {
			_, _ = r.attemptLocked(ctx, now)
		}
		r.mu.Unlock()
		if r.propagated(h, now) {
			r.s.events.Served(r.s.profile, true)
			return h.c, nil
		}
		return r.awaitPropagated(ctx, start)
	}
	refused := snap.cur.c.AccessKeyID != ""
	c, blocked := r.attemptLocked(ctx, now)
	r.mu.Unlock()
	if refused {
		r.s.events.ExpiredRefused(r.s.profile)
	}
	if blocked != nil {
		return creds.Credentials{}, blocked
	}
	return r.wait(ctx, c, start)
}

// wait waits for c, the caller's context, or ColdWait, whichever comes first;
// start is when Get was called.
func (r *Refresher) wait(ctx context.Context, c *call, start time.Time) (creds.Credentials, error) {
	if err := r.waitCall(ctx, c); err != nil {
		return creds.Credentials{}, err
	}
	now := r.s.clock.Now()
	if h := r.snap.Load().served(now, r.s.policy.Floor); h != nil {
		if r.propagated(h, now) {
			r.s.events.Served(r.s.profile, false)
			return h.c, nil
		}
		return r.awaitPropagated(ctx, start)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return creds.Credentials{}, r.noCredsLocked(now)
}

// waitCall waits for c within ColdWait and ctx.
func (r *Refresher) waitCall(ctx context.Context, c *call) error {
	var timeout <-chan time.Time
	if r.s.coldWait > 0 {
		t := r.s.clock.NewTimer(r.s.coldWait)
		defer t.Stop()
		timeout = t.Chan()
	}
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return r.pendingErr(ctx.Err())
	case <-timeout:
		return r.pendingErr(nil)
	}
}

// awaitPropagated (AwaitPropagation only) waits until the keys Get would serve
// are PropagationDelay old, within what is left of ColdWait since start and ctx.
// When that is not long enough it answers at once with when they will be.
func (r *Refresher) awaitPropagated(ctx context.Context, start time.Time) (creds.Credentials, error) {
	for {
		now := r.s.clock.Now()
		h := r.snap.Load().served(now, r.s.policy.Floor)
		if h == nil { // they ran out meanwhile; cannot happen with sane lifetimes
			r.mu.Lock()
			defer r.mu.Unlock()
			return creds.Credentials{}, r.noCredsLocked(now)
		}
		if r.propagated(h, now) {
			r.s.events.Served(r.s.profile, false)
			return h.c, nil
		}
		d := h.servableAt.Sub(now)
		if r.s.coldWait > 0 && d > start.Add(r.s.coldWait).Sub(now) {
			return creds.Credentials{}, r.propagatingErr(h.servableAt, nil)
		}
		t := r.s.clock.NewTimer(d)
		select {
		case <-t.Chan():
		case <-ctx.Done():
			t.Stop()
			return creds.Credentials{}, r.propagatingErr(h.servableAt, ctx.Err())
		}
	}
}

// propagatingErr says that keys are held but not served before at.
func (r *Refresher) propagatingErr(at time.Time, cause error) error {
	err := errPropagating
	if cause != nil {
		err = fmt.Errorf("%w (%v)", errPropagating, cause)
	}
	return &NoCredentialsError{Profile: r.s.profile, Class: Transient, Err: err, NextRetry: at}
}

func (r *Refresher) pendingErr(cause error) error {
	err := errFetchPending
	if cause != nil {
		err = fmt.Errorf("%w (%v)", errFetchPending, cause)
	}
	return &NoCredentialsError{Profile: r.s.profile, Class: Transient, Err: err}
}

// noCredsLocked explains why nothing can be served, from the failure state.
func (r *Refresher) noCredsLocked(now time.Time) *NoCredentialsError {
	e := &NoCredentialsError{Profile: r.s.profile, Class: Transient, Err: r.lastErr}
	switch {
	case r.stopped:
		e.Class = Unrecoverable
		e.NextRetry = r.stopUntil
	case now.Before(r.retryAtLocked(&r.snap.Load().pair)):
		e.NextRetry = r.retryAtLocked(&r.snap.Load().pair)
	case now.Before(r.rateUntil):
		e.NextRetry = r.rateUntil
		if e.Err == nil {
			e.Err = errRateLimited
			if r.rateShared {
				e.Err = errAgentRateLimited
			}
		}
	}
	if e.Err == nil {
		e.Err = errFetchPending
	}
	return e
}

// AwaitPropagated waits until the keys Get would serve now are PropagationDelay
// old, so that S3 knows them. Only the very first keys can be younger (later ones
// replace the old only once propagated); a process that hands them to a command
// at once calls this first. With no keys it returns at once.
func (r *Refresher) AwaitPropagated(ctx context.Context) error {
	now := r.s.clock.Now()
	h := r.snap.Load().served(now, r.s.policy.Floor)
	if h == nil {
		return nil
	}
	wait := h.fetchedAt.Add(r.s.policy.PropagationDelay).Sub(now)
	if wait <= 0 {
		return nil
	}
	select {
	case <-r.s.clock.After(wait):
		return nil
	case <-ctx.Done():
		return fmt.Errorf("gave up waiting for the new keys of profile %q to reach S3: %w", r.s.profile, ctx.Err())
	}
}

// Status is a secret-free picture of a Refresher for `cwcreds status` and readiness.
type Status struct {
	Profile string
	// The keys being served now; empty when there are none.
	AccessKeyID string
	Principal   string
	Expiration  time.Time
	Remaining   time.Duration // time left on the served keys at the time of the call
	FetchedAt   time.Time     // local time the served keys were fetched
	// Propagated: the served keys are at least PropagationDelay old, so S3 should
	// accept them. The very first keys are served at once (there is nothing
	// older), so readiness checks use this.
	Propagated bool

	LastRefresh time.Time     // last successful fetch
	LastTook    time.Duration // how long it took
	NextRefresh time.Time     // earliest next fetch (or input check when stopped); zero: none planned
	Fetching    bool

	LastError           string // last fetch failure, safe to show; kept after recovery
	LastErrorClass      Class
	LastErrorAt         time.Time
	ConsecutiveFailures int       // 0 once a fetch succeeded again
	NextRetry           time.Time // set while backing off or stopped
	// WaitingForInput: fetching is stopped after an unrecoverable failure until the
	// identity input changes (or NextRetry, when set).
	WaitingForInput bool
}

// Status reports the refresher's state.
func (r *Refresher) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.s.clock.Now()
	st := Status{
		Profile:             r.s.profile,
		LastRefresh:         r.lastRefresh,
		LastTook:            r.lastTook,
		Fetching:            r.inflight != nil,
		LastErrorClass:      r.lastClass,
		LastErrorAt:         r.lastErrAt,
		ConsecutiveFailures: r.failures,
		WaitingForInput:     r.stopped,
	}
	if h := r.snap.Load().served(now, r.s.policy.Floor); h != nil {
		st.AccessKeyID, st.Principal, st.Expiration = h.c.AccessKeyID, h.c.Principal, h.c.Expiration
		st.Remaining, st.FetchedAt = h.remaining(now), h.fetchedAt
		st.Propagated = now.Sub(h.fetchedAt) >= r.s.policy.PropagationDelay
	}
	if r.lastErr != nil {
		st.LastError = r.lastErr.Error()
	}
	switch {
	case r.stopped:
		st.NextRetry = r.stopUntil
	case now.Before(r.retryAtLocked(&r.snap.Load().pair)):
		st.NextRetry = r.retryAtLocked(&r.snap.Load().pair)
	}
	if at := r.snap.Load().attemptAt; !at.Equal(farFuture) {
		st.NextRefresh = at
	}
	return st
}
