package server

import (
	"context"
	"sync"
	"time"
)

// coldCtx bounds how long a provider may keep a request waiting (ColdWait) without
// paying for a timer, or even a clock read, on every request: a warm cache answers
// without asking for Deadline, Done or Err, so the deadline context is only built
// for the cold requests that actually wait, and the wait is measured from the
// first such call (a few microseconds after the request arrived). It costs one
// allocation instead of context.WithTimeout's four.
type coldCtx struct {
	parent context.Context
	wait   time.Duration

	mu       sync.Mutex
	deadline time.Time       // zero until first needed
	armed    context.Context // nil until Done or Err is called
	cancel   context.CancelFunc
	released bool
}

func newColdCtx(parent context.Context, wait time.Duration) *coldCtx {
	return &coldCtx{parent: parent, wait: wait}
}

func (c *coldCtx) Deadline() (time.Time, bool) {
	c.mu.Lock()
	d := c.deadlineLocked()
	c.mu.Unlock()
	if pd, ok := c.parent.Deadline(); ok && pd.Before(d) {
		return pd, true
	}
	return d, true
}

func (c *coldCtx) Done() <-chan struct{} { return c.arm().Done() }
func (c *coldCtx) Err() error            { return c.arm().Err() }
func (c *coldCtx) Value(key any) any     { return c.parent.Value(key) }

func (c *coldCtx) deadlineLocked() time.Time {
	if c.deadline.IsZero() {
		c.deadline = time.Now().Add(c.wait)
	}
	return c.deadline
}

func (c *coldCtx) arm() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.armed == nil {
		c.armed, c.cancel = context.WithDeadline(c.parent, c.deadlineLocked())
		if c.released { // a provider kept the context past the request: it is over
			c.cancel()
		}
	}
	return c.armed
}

// release ends the context when the request is answered, like a cancel func.
func (c *coldCtx) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.released = true
	if c.cancel != nil {
		c.cancel()
	}
}
