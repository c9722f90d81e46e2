package server

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
)

// The margins of connLimiter's choice of a connection to close.
const (
	// stalledRead is how long the server must have been blocked reading a
	// connection before that connection may be closed.
	stalledRead = time.Millisecond
	// SilentGrace is how long a connection that has sent nothing yet is left
	// alone at the cap: a client may take a moment to write its request after
	// connecting, more on a loaded machine. A flood of connections that never
	// send anything turns over at most MaxConns times per SilentGrace.
	SilentGrace = 100 * time.Millisecond
	// UnreadGrace is how long a shutdown waits for requests clients had sent
	// before it began to reach a handler (see connLimiter.awaitUnread).
	UnreadGrace = time.Second
)

// connLimiter is the listener Listen returns. It keeps at most max connections
// open. At the cap it does not leave new connections in the kernel's accept queue
// (behind a local process that holds the cap with idle connections and reconnects
// whenever one is closed, real clients would wait there for seconds): it accepts
// the new one and closes the connection that has waited longest without sending
// a whole request — an idle keep-alive connection, or a new one that has not
// finished its first request's headers — provided the server is blocked reading
// it with nothing more come (see victimLocked). Connections with a request being
// served are never closed; when no connection may be, Accept waits.
//
// It learns connection states from the http.Server's ConnState hook (see
// Serve); a connection it has no state for is never closed, so without the hook
// it caps like netutil.LimitListener.
type connLimiter struct {
	net.Listener
	max     int
	clock   clockwork.Clock
	evicted func() // called once per connection closed to make room; never nil

	mu        sync.Mutex
	open      int
	waiting   connList // StateNew and StateIdle connections, oldest first
	untaken   int      // connections read as StateActive whose handler has not begun
	room      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func newConnLimiter(ln net.Listener, max int, clock clockwork.Clock, evicted func()) *connLimiter {
	if evicted == nil {
		evicted = func() {}
	}
	return &connLimiter{
		Listener: ln, max: max, clock: clock, evicted: evicted,
		room: make(chan struct{}, 1), done: make(chan struct{}),
	}
}

// connPhase is what a connLimiter knows of a connection.
type connPhase uint8

const (
	phaseUnknown connPhase = iota // accepted; no ConnState yet: never closed by us
	phaseWaiting                  // StateNew or StateIdle: no whole request
	phaseBusy                     // StateActive or StateHijacked
	phaseEvicted                  // its slot given to another, its read being cut
	phaseClosed                   // closed, its slot given back
)

// readClaimed in limitedConn.readSince: Accept has chosen the connection to close
// while the server was blocked reading it.
const readClaimed = -1

type limitedConn struct {
	net.Conn
	l *connLimiter
	// readSince is when the Read in progress began (unix ns); 0 when none is;
	// readClaimed.
	readSince atomic.Int64
	// reads counts the Reads that returned data.
	reads atomic.Int64

	// Guarded by l.mu.
	phase      connPhase
	since      time.Time // when it entered phaseWaiting
	readsSince int64     // reads when it entered phaseWaiting
	untaken    bool      // phaseBusy, and no handler has begun on its request yet
	prev, next *limitedConn
}

func (c *limitedConn) Read(b []byte) (int, error) {
	start := c.l.clock.Now().UnixNano()
	c.readSince.Store(start)
	n, err := c.Conn.Read(b)
	if !c.readSince.CompareAndSwap(start, 0) {
		// Accept chose this connection to make room while we were reading, and is
		// cutting the read short. If the request came in the meantime, serve it.
		c.readSince.Store(0)
		if n > 0 {
			c.l.readmit(c)
		}
	}
	if n > 0 {
		c.reads.Add(1)
	}
	return n, err
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.l.mu.Lock()
	freed := c.phase != phaseClosed && c.phase != phaseEvicted
	c.l.detachLocked(c)
	c.l.mu.Unlock()
	if freed {
		c.l.signal()
	}
	return err
}

// connList is an intrusive doubly linked list of connections in the order they
// entered it.
type connList struct{ head, tail *limitedConn }

func (q *connList) push(c *limitedConn) {
	c.prev, c.next = q.tail, nil
	if q.tail != nil {
		q.tail.next = c
	} else {
		q.head = c
	}
	q.tail = c
}

func (q *connList) remove(c *limitedConn) {
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		q.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		q.tail = c.prev
	}
	c.prev, c.next = nil, nil
}

// Accept accepts a connection and, at the cap, makes room for it (see connLimiter).
func (l *connLimiter) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := &limitedConn{Conn: nc, l: l}
	for {
		l.mu.Lock()
		if l.open < l.max {
			l.open++
			l.mu.Unlock()
			return c, nil
		}
		victim := l.victimLocked()
		if victim != nil {
			l.waiting.remove(victim)
			victim.phase = phaseEvicted // its slot is now c's
		}
		retry := l.waiting.head != nil
		l.mu.Unlock()
		if victim != nil {
			// Not Close: the server's Read may have got a request just now. Cut
			// the Read short; the server closes the connection, or serves the
			// request that came in time (see limitedConn.Read).
			_ = victim.Conn.SetReadDeadline(time.Unix(1, 0))
			l.evicted()
			return c, nil
		}
		if !l.waitForRoom(retry) {
			_ = nc.Close()
			return nil, &net.OpError{Op: "accept", Net: l.Addr().Network(), Addr: l.Addr(), Err: net.ErrClosed}
		}
	}
}

// victimLocked returns the connection to close to make room, or nil: the oldest
// waiting connection that the server has been blocked reading for stalledRead,
// that has nothing unread in the kernel, and that has sent something before or
// has been open SilentGrace. A connection whose goroutine has not run yet, or is
// parsing what it read, is never chosen. The victim's readSince is readClaimed.
func (l *connLimiter) victimLocked() *limitedConn {
	now := l.clock.Now()
	for c := l.waiting.head; c != nil; c = c.next {
		rs := c.readSince.Load()
		if rs <= 0 || now.Sub(time.Unix(0, rs)) < stalledRead ||
			!(c.reads.Load() > 0 || now.Sub(c.since) >= SilentGrace) || pendingInput(c.Conn) {
			continue
		}
		if c.readSince.CompareAndSwap(rs, readClaimed) {
			return c
		}
	}
	return nil
}

// readmit takes back an evicted connection whose request came before its read
// was cut, above the cap if need be: that happens only in a narrow race.
func (l *connLimiter) readmit(c *limitedConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.phase == phaseEvicted {
		c.phase = phaseBusy
		l.open++
	}
}

// waitForRoom waits until a connection ends or goes idle, or, when retry is set
// (a waiting connection may soon be closable), for stalledRead. It returns false
// once l is closed.
func (l *connLimiter) waitForRoom(retry bool) bool {
	var timeout <-chan time.Time
	if retry {
		t := l.clock.NewTimer(stalledRead)
		defer t.Stop()
		timeout = t.Chan()
	}
	select {
	case <-l.room:
	case <-timeout:
	case <-l.done:
		return false
	}
	return true
}

// detachLocked takes c off the waiting list and gives its slot back, once.
func (l *connLimiter) detachLocked(c *limitedConn) {
	l.takenLocked(c)
	switch c.phase {
	case phaseClosed:
		return
	case phaseEvicted:
		c.phase = phaseClosed
		return
	case phaseWaiting:
		l.waiting.remove(c)
	}
	c.phase = phaseClosed
	l.open--
}

// signal wakes an Accept waiting for room.
func (l *connLimiter) signal() {
	select {
	case l.room <- struct{}{}:
	default:
	}
}

// connState is the http.Server ConnState hook that tells l which connections are
// waiting for a request.
func (l *connLimiter) connState(nc net.Conn, st http.ConnState) {
	c, ok := nc.(*limitedConn)
	if !ok || c.l != l {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch c.phase {
	case phaseClosed, phaseEvicted:
		return
	case phaseWaiting:
		l.waiting.remove(c)
	}
	l.takenLocked(c)
	switch st {
	case http.StateNew, http.StateIdle:
		c.phase, c.since, c.readsSince = phaseWaiting, l.clock.Now(), c.reads.Load()
		l.waiting.push(c)
		if st == http.StateIdle {
			l.signal()
		}
	case http.StateActive:
		c.phase, c.untaken = phaseBusy, true
		l.untaken++
	default: // StateHijacked; on StateClosed, Close has given the slot back
		c.phase = phaseBusy
	}
}

// taken tells l that a handler has begun on c's request.
func (l *connLimiter) taken(c *limitedConn) {
	l.mu.Lock()
	l.takenLocked(c)
	l.mu.Unlock()
}

func (l *connLimiter) takenLocked(c *limitedConn) {
	if c.untaken {
		c.untaken = false
		l.untaken--
	}
}

// unreadLocked reports whether a client has sent a request that no handler has
// taken up yet: bytes waiting in the kernel, headers partly read, or a request
// read whole whose handler has not begun.
func (l *connLimiter) unreadLocked() bool {
	if l.untaken > 0 {
		return true
	}
	for c := l.waiting.head; c != nil; c = c.next {
		if c.reads.Load() > c.readsSince || pendingInput(c.Conn) {
			return true
		}
	}
	return false
}

// drainForShutdown readies l's connections for http.Server.Shutdown. Call it
// once l is closed and its server's Serve has returned, so no connection is left
// to be accepted or registered. Shutdown drops a connection whose request it
// reads after the shutdown began, even one the client sent well before, so this
// first waits, for at most grace or until ctx is done, until every request
// clients have sent has reached a handler. Then it closes the connections that
// have sent nothing since their last answer: Shutdown would wait for a new one
// that stays silent until its ReadHeaderTimeout.
func (l *connLimiter) drainForShutdown(ctx context.Context, grace time.Duration) {
	l.awaitUnread(ctx, grace)
	l.mu.Lock()
	var silent []*limitedConn
	for c := l.waiting.head; c != nil; c = c.next {
		if c.reads.Load() == c.readsSince && !pendingInput(c.Conn) {
			silent = append(silent, c)
		}
	}
	l.mu.Unlock()
	for _, c := range silent {
		// Close, not a past read deadline: a connection whose goroutine has not
		// begun to read yet would set its own deadline over ours.
		_ = c.Close()
	}
}

// awaitUnread waits until no request clients have sent is left unread, for at
// most grace or until ctx is done.
func (l *connLimiter) awaitUnread(ctx context.Context, grace time.Duration) {
	deadline := l.clock.NewTimer(grace)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		unread := l.unreadLocked()
		l.mu.Unlock()
		if !unread {
			return
		}
		poll := l.clock.NewTimer(stalledRead)
		select {
		case <-poll.Chan():
		case <-deadline.Chan():
			poll.Stop()
			return
		case <-ctx.Done():
			poll.Stop()
			return
		}
	}
}

// connKey is the request context key under which Serve keeps a request's
// *limitedConn.
type connKey struct{}

// markTaken wraps h to tell l when a handler begins on a request; Serve stores
// the connection in the request context under connKey.
func (l *connLimiter) markTaken(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := r.Context().Value(connKey{}).(*limitedConn); ok {
			l.taken(c)
		}
		h.ServeHTTP(w, r)
	})
}

// Close stops accepting; connections already accepted stay open.
func (l *connLimiter) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}
