package emulator

import (
	"sync"
	"time"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// Fault is an injected failure for the next Count calls of an operation.
type Fault struct {
	// Count is how many calls the fault applies to (values below 1 mean 1).
	Count int
	// HTTPStatus and Code make the call answer with a google.rpc.Status. Either may
	// be zero: it is then derived from the other.
	HTTPStatus int
	Code       cwobject.Code
	Message    string
	// RetryAfter, when positive, is sent as a Retry-After header in whole seconds.
	RetryAfter time.Duration
	// Latency delays the answer on the emulator's clock. A fault with only Latency
	// set delays the call and then handles it normally.
	Latency time.Duration
	// Reset hijacks the connection and closes it with a TCP RST (SetLinger(0)).
	Reset bool
	// Malformed handles the call normally (so it may act) and answers 200 with
	// the first half of the JSON body.
	Malformed bool
}

// failing reports whether the fault replaces the answer with an error status.
func (f Fault) failing() bool { return f.HTTPStatus != 0 || f.Code != cwobject.CodeOK }

type faultEntry struct {
	op        string
	remaining int
	fault     Fault
}

// faultTable hands out injected faults in the order they were added.
type faultTable struct {
	mu      sync.Mutex
	entries []*faultEntry
}

func (t *faultTable) add(op string, f Fault) {
	n := f.Count
	if n < 1 {
		n = 1
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.entries = append(t.entries, &faultEntry{op: op, remaining: n, fault: f})
}

func (t *faultTable) clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.entries = nil
}

// take returns the fault for this call of op, counting it down.
func (t *faultTable) take(op string) (Fault, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, e := range t.entries {
		if e.op != op && e.op != "*" {
			continue
		}
		e.remaining--
		if e.remaining <= 0 {
			t.entries = append(t.entries[:i], t.entries[i+1:]...)
		}
		return e.fault, true
	}
	return Fault{}, false
}

// callStats counts calls per gRPC method name.
type callStats struct {
	mu     sync.Mutex
	counts map[string]int
}

func (s *callStats) inc(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counts == nil {
		s.counts = map[string]int{}
	}
	s.counts[op]++
}

func (s *callStats) snapshot() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

func (s *callStats) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = nil
}
