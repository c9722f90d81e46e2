package cache

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

func TestDiskInspect(t *testing.T) {
	clock := clockwork.NewFakeClockAt(epoch)
	s, _ := newTestStore(t, clock)

	st, err := s.Inspect(Key{Profile: "p"}, Policy{})
	if err != nil || st.Exists || st.AccessKeyID != "" || st.Problem != "" || !strings.HasSuffix(st.Path, "p.json") {
		t.Fatalf("no file: %+v %v", st, err)
	}

	ff := newFakeFetcher(clock, time.Hour)
	if _, err := s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, Policy{}); err != nil {
		t.Fatal(err)
	}
	st, err = s.Inspect(Key{Profile: "p"}, Policy{})
	if err != nil || !st.Exists || st.AccessKeyID != "CWTEST00000001" || !st.FetchedAt.Equal(epoch) ||
		!st.Expiry.Equal(epoch.Add(time.Hour)) || st.Principal == "" || st.LastError != "" {
		t.Fatalf("warm: %+v %v", st, err)
	}
	assertNoSecret(t, "status", fmt.Sprintf("%+v", st))

	// Inside the refresh window with a failing exchange: keys kept, failure recorded.
	clock.Advance(50 * time.Minute)
	ff.setFail(func(int, time.Time) error { return retryAfterErr("upstream answered 503", time.Minute) })
	if _, err := s.GetOrFetch(t.Context(), Key{Profile: "p"}, ff, Policy{}); err != nil {
		t.Fatal(err)
	}
	st, _ = s.Inspect(Key{Profile: "p"}, Policy{})
	if st.AccessKeyID != "CWTEST00000001" || st.LastError != "upstream answered 503" || st.LastErrorClass != Transient ||
		st.ConsecutiveFailures != 1 || !st.NextRetry.Equal(clock.Now().Add(time.Minute)) {
		t.Fatalf("after a failure: %+v", st)
	}

	// A file the cache would not trust is a problem, not an error, and is left alone.
	if runtime.GOOS != "windows" {
		if err := os.Chmod(st.Path, 0o644); err != nil {
			t.Fatal(err)
		}
		st, err = s.Inspect(Key{Profile: "p"}, Policy{})
		if err != nil || !st.Exists || st.AccessKeyID != "" || !strings.Contains(st.Problem, "mode 0644") {
			t.Fatalf("loose mode: %+v %v", st, err)
		}
		if fi, _ := os.Stat(st.Path); fi.Mode().Perm() != 0o644 {
			t.Fatal("Inspect changed the file")
		}
	}
	if err := os.WriteFile(st.Path, []byte("{\"version\":1,\"current\":{\"secret_access_key\":\""+secretMarker+"\""), 0o600); err != nil {
		t.Fatal(err)
	}
	st, _ = s.Inspect(Key{Profile: "p"}, Policy{})
	if st.Problem == "" {
		t.Fatal("a corrupt file has no problem")
	}
	assertNoSecret(t, "problem", st.Problem)

	if _, err := s.Inspect(Key{Profile: ""}, Policy{}); err == nil {
		t.Fatal("empty profile name accepted")
	}
}
