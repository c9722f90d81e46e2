package emulator

import (
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

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
	// dateSkew (nanoseconds) is added to the API's Date header: a server whose
	// clock is off, or a client whose clock is, look alike to the client.
	dateSkew atomic.Int64
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
	t.dateSkew.Store(0)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.entries = nil
}

// SetDateSkew makes every API answer carry a Date header skew away from the
// emulator's clock (negative: behind it), as a client with a wrong clock sees a
// correct server; 0 restores it. ClearFaults also restores it.
func (e *Emulator) SetDateSkew(skew time.Duration) { e.faults.dateSkew.Store(int64(skew)) }

// withDate sets the Date header of every answer from clock and the skew (net/http
// would set it from the real clock).
func (t *faultTable) withDate(clock clockwork.Clock, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := clock.Now().Add(time.Duration(t.dateSkew.Load()))
		w.Header().Set("Date", now.UTC().Format(http.TimeFormat))
		next.ServeHTTP(w, r)
	})
}

// dateSkewRequest is the body of POST /_emulator/date-skew.
type dateSkewRequest struct {
	Seconds float64 `json:"seconds"`
}

// maxDateSkew bounds an injected skew (a day either way is plenty for tests).
const maxDateSkew = 24 * time.Hour

func (e *Emulator) serveDateSkew(w http.ResponseWriter, r *http.Request) {
	var req dateSkewRequest
	r.Body = http.MaxBytesReader(w, r.Body, 1<<10)
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, invalidArgument("date skew must be JSON like {\"seconds\":-600}"))
		return
	}
	skew := time.Duration(req.Seconds * float64(time.Second))
	if skew > maxDateSkew || skew < -maxDateSkew {
		writeError(w, invalidArgument("seconds must be between -86400 and 86400"))
		return
	}
	e.SetDateSkew(skew)
	writeJSON(w, http.StatusOK, empty{})
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
