// Package samlreplay remembers the SAML assertions a service provider has
// accepted so that none is accepted twice: crewjam/saml's ParseResponse takes a
// replayed response unless given an AssertionReplayCache, which Cache is. Used
// by cwcreds login's loopback ACS and by the emulator's SAML exchange.
package samlreplay

import (
	"sync"
	"time"

	"github.com/crewjam/saml"
)

// Cache holds accepted assertion ids until they would have expired anyway.
type Cache struct {
	clock interface{ Now() time.Time }
	mu    sync.Mutex
	seen  map[string]time.Time
}

// New returns an empty cache reading the time from clock.
func New(clock interface{ Now() time.Time }) *Cache {
	return &Cache{clock: clock, seen: map[string]time.Time{}}
}

// Consume records id, valid until expiresAt, or returns saml.ErrAssertionReplayed
// when it was accepted before (saml.AssertionReplayCache).
func (c *Cache) Consume(id string, expiresAt time.Time) error {
	now := c.clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, until := range c.seen {
		if now.After(until) {
			delete(c.seen, k)
		}
	}
	if _, ok := c.seen[id]; ok {
		return saml.ErrAssertionReplayed
	}
	c.seen[id] = expiresAt
	return nil
}

// SeenAny reports whether any of ids was accepted before.
func (c *Cache) SeenAny(ids []string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		if _, ok := c.seen[id]; ok {
			return true
		}
	}
	return false
}
