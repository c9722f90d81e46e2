package cache

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/cwcreds/cwcreds/internal/logging/logfield"
	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"

	"github.com/cwcreds/cwcreds/internal/creds"
)

// Defaults of AgentConfig.
const (
	DefaultAgentMaxEntries    = 10000
	DefaultAgentIdleTimeout   = 5 * time.Minute
	DefaultAgentSweepInterval = time.Minute
	DefaultAgentUpstreamRate  = rate.Limit(20)
	DefaultAgentUpstreamBurst = 200
)

// AgentConfig configures an AgentCache. Zero fields take the defaults.
type AgentConfig struct {
	// Identity applies to every identity. Its Fetcher must be nil (each token brings
	// its own); its Profile (default "agent") labels events and logs, which also get
	// the first 8 hex digits of the token's hash as "identity".
	Identity Config
	// MaxEntries bounds the identities kept that have held keys; the least
	// recently used is dropped. Identities that have not held keys yet (a new
	// pod's, or a token CoreWeave refuses: anyone can make one of the right
	// shape) wait apart, in at most MaxEntries/10 (at least 100) entries, so they
	// can never push out a pod whose keys are good.
	MaxEntries int
	// IdleTimeout: an identity holding no valid keys is dropped after this long
	// without a request. One holding valid keys is kept until they expire: without
	// requests it is not refreshed, so tokens no longer presented cost nothing.
	IdleTimeout time.Duration
	// SweepInterval is how often Run drops such identities (default 1m).
	SweepInterval time.Duration
	// UpstreamRate and UpstreamBurst cap the exchanges of the whole agent (default
	// 20/s, burst 200), on top of each identity's own Identity.MaxRate.
	UpstreamRate  rate.Limit
	UpstreamBurst int
}

// AgentCache is the node agent's cache: one on-demand Refresher per caller token,
// keyed by the token's SHA-256 (the token itself is never a key or a log field),
// in a bounded LRU.
type AgentCache struct {
	s       *settings
	proven  *lru.Cache[[sha256.Size]byte, *agentEntry] // identities that have held keys
	pending *lru.Cache[[sha256.Size]byte, *agentEntry] // identities that have not yet
	idle    time.Duration
	sweep   time.Duration
}

type agentEntry struct {
	r        Refresher
	lastUsed atomic.Int64 // unix nanoseconds of the last Get
	notAfter int64        // unix nanoseconds after which the token is refused; 0 never
	proven   atomic.Bool  // it has held keys: it lives in AgentCache.proven
}

// minPendingEntries is the least room for identities that have not held keys.
const minPendingEntries = 100

// NewAgentCache checks cfg and returns an empty cache.
func NewAgentCache(cfg AgentConfig) (*AgentCache, error) {
	if cfg.Identity.Fetcher != nil {
		return nil, errors.New("agent cache: leave Identity.Fetcher empty; each token brings its own fetcher")
	}
	cfg.Identity.Profile = cmp.Or(cfg.Identity.Profile, "agent")
	cfg.MaxEntries = cmp.Or(cfg.MaxEntries, DefaultAgentMaxEntries)
	cfg.IdleTimeout = cmp.Or(cfg.IdleTimeout, DefaultAgentIdleTimeout)
	cfg.SweepInterval = cmp.Or(cfg.SweepInterval, DefaultAgentSweepInterval)
	cfg.UpstreamRate = cmp.Or(cfg.UpstreamRate, DefaultAgentUpstreamRate)
	cfg.UpstreamBurst = cmp.Or(cfg.UpstreamBurst, DefaultAgentUpstreamBurst)
	if cfg.MaxEntries < 1 || cfg.IdleTimeout < 0 || cfg.SweepInterval < 0 || cfg.UpstreamRate < 0 || cfg.UpstreamBurst < 1 {
		return nil, errors.New("agent cache: max entries, upstream rate and burst must be positive; idle timeout and sweep interval must not be negative")
	}
	cfg.Identity.shared = &sharedLimit{Limiter: rate.NewLimiter(cfg.UpstreamRate, cfg.UpstreamBurst)}
	s, err := newSettings(cfg.Identity)
	if err != nil {
		return nil, fmt.Errorf("agent cache: %w", err)
	}
	proven, err := lru.New[[sha256.Size]byte, *agentEntry](cfg.MaxEntries)
	if err != nil {
		return nil, fmt.Errorf("agent cache: %w", err)
	}
	pending, err := lru.New[[sha256.Size]byte, *agentEntry](max(cfg.MaxEntries/10, minPendingEntries))
	if err != nil {
		return nil, fmt.Errorf("agent cache: %w", err)
	}
	return &AgentCache{s: s, proven: proven, pending: pending, idle: cfg.IdleTimeout, sweep: cfg.SweepInterval}, nil
}

// Get returns keys for the identity token proves. newFetcher is called only when
// the token is new to the cache, to build the Fetcher that exchanges it.
func (a *AgentCache) Get(ctx context.Context, token string, newFetcher func() Fetcher) (creds.Credentials, error) {
	return a.GetAdmitted(ctx, token, func() (Fetcher, time.Time, error) { return newFetcher(), time.Time{}, nil })
}

// ErrTokenExpired: a held caller token is past the instant its admission said it
// may be used until.
var ErrTokenExpired = errors.New("the identity token has expired: send the fresh one (kubelet renews projected tokens in their file)")

// GetAdmitted is Get for tokens that must pass a check before anything is
// fetched for them: admit runs only for a token the cache does not hold, and
// returns the Fetcher that exchanges it and the instant after which the token may
// no longer be used (zero: no limit). An admit error is returned unchanged and
// nothing is cached, so a token is checked once, not on every request; a held
// token past its limit gets an error matching ErrTokenExpired, without a fetch.
func (a *AgentCache) GetAdmitted(ctx context.Context, token string, admit func() (Fetcher, time.Time, error)) (creds.Credentials, error) {
	if token == "" {
		return creds.Credentials{}, errors.New("no identity token given: send the pod's service-account token as Authorization")
	}
	// Hash the string's bytes in place: a copy of a ~1 KiB token was the hot
	// path's largest allocation. Sum256 neither keeps nor changes them.
	key := sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
	now := a.s.clock.Now()
	e, err := a.entry(key, admit)
	if err != nil {
		return creds.Credentials{}, err
	}
	if e.notAfter != 0 && now.UnixNano() >= e.notAfter {
		a.remove(key, e) // it can never be served again
		return creds.Credentials{}, ErrTokenExpired
	}
	e.lastUsed.Store(now.UnixNano())
	c, err := e.r.Get(ctx)
	if err == nil && !e.proven.Load() && e.proven.CompareAndSwap(false, true) {
		// Held even if the pending list dropped it meanwhile: this caller has it.
		a.proven.Add(key, e)
		a.pending.Remove(key)
	}
	return c, err
}

// entry returns the identity of key, admitting a new one to the pending list.
func (a *AgentCache) entry(key [sha256.Size]byte, admit func() (Fetcher, time.Time, error)) (*agentEntry, error) {
	if e, ok := a.proven.Get(key); ok {
		return e, nil
	}
	if e, ok := a.pending.Get(key); ok {
		return e, nil
	}
	f, notAfter, err := admit()
	if err != nil {
		return nil, err
	}
	if f == nil {
		return nil, errors.New("agent cache: no fetcher for a new token")
	}
	ne := &agentEntry{}
	ne.lastUsed.Store(a.s.clock.Now().UnixNano()) // not idle to a Sweep before its first Get
	if !notAfter.IsZero() {
		ne.notAfter = notAfter.UnixNano()
	}
	ne.r.init(a.s, f)
	ne.r.logID = hex.EncodeToString(key[:4])
	if prev, found, _ := a.pending.PeekOrAdd(key, ne); found {
		return prev, nil
	}
	// A caller of the same token may have moved its entry to proven between
	// our two lookups: use that one rather than exchange again.
	if e, ok := a.proven.Peek(key); ok {
		a.pending.Remove(key)
		return e, nil
	}
	return ne, nil
}

// remove drops key's identity from whichever list holds e.
func (a *AgentCache) remove(key [sha256.Size]byte, e *agentEntry) {
	if e.proven.Load() {
		a.proven.Remove(key)
	} else {
		a.pending.Remove(key)
	}
}

// Len is the number of identities cached, with keys or waiting for them.
func (a *AgentCache) Len() int { return a.proven.Len() + a.pending.Len() }

// Sweep drops identities that are not fetching and either hold a token past its
// limit (never to be served again) or hold no valid keys and have not been asked
// for in IdleTimeout. It returns how many it dropped.
func (a *AgentCache) Sweep() int {
	now := a.s.clock.Now()
	dropped := 0
	for _, list := range []*lru.Cache[[sha256.Size]byte, *agentEntry]{a.proven, a.pending} {
		for _, k := range list.Keys() {
			e, ok := list.Peek(k)
			if ok && e.droppable(now, a.idle, a.s.policy.Floor) {
				list.Remove(k)
				dropped++
			}
		}
	}
	return dropped
}

func (e *agentEntry) droppable(now time.Time, idle, floor time.Duration) bool {
	expired := e.notAfter != 0 && now.UnixNano() >= e.notAfter
	if !expired {
		if now.Sub(time.Unix(0, e.lastUsed.Load())) < idle {
			return false
		}
		if _, ok := e.r.snap.Load().pick(now, floor); ok {
			return false
		}
	}
	e.r.mu.Lock()
	defer e.r.mu.Unlock()
	return e.r.inflight == nil
}

// Run sweeps every SweepInterval until ctx is done, then returns nil.
func (a *AgentCache) Run(ctx context.Context) error {
	t := a.s.clock.NewTicker(a.sweep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.Chan():
			if n := a.Sweep(); n > 0 {
				a.s.log.Debug("dropped idle identities from the agent cache", logfield.Int("dropped", n))
			}
		}
	}
}
