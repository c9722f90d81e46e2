package cache

import "time"

// DiskStatus is a secret-free picture of one profile's cache file, for `cwcreds
// status` and `cwcreds logout`. It holds key ids, never secrets.
type DiskStatus struct {
	Profile string
	Path    string
	// Exists is false when there is no cache file (never fetched, or logged out).
	Exists bool
	// Problem says why the file would be ignored and replaced by the next fetch
	// (wrong mode, another owner, corrupt, another format version); "" otherwise.
	Problem string

	// The current keys; AccessKeyID is "" when the file holds none.
	AccessKeyID string
	Principal   string
	Expiration  time.Time // as the server reported it
	// FetchedAt is the local time of the last successful exchange.
	FetchedAt time.Time
	// Expiry is when the cache stops trusting the current keys: FetchedAt plus the
	// lifetime measured at fetch, so a clock that jumps back cannot stretch it.
	Expiry time.Time
	// PreviousAccessKeyID names the keys kept while the current ones propagate.
	PreviousAccessKeyID string

	// The last failed exchange, kept until the next success.
	LastError           string
	LastErrorClass      Class
	LastErrorAt         time.Time
	ConsecutiveFailures int
	// NextRetry is when processes may exchange again; zero after an unrecoverable
	// failure that waits for the identity input to change.
	NextRetry time.Time
}

// Inspect reads profile's cache file without fetching, locking or changing
// anything. A file it would not trust is reported in Problem, not as an error;
// errors are only for profile names that cannot have a file.
func (s *DiskStore) Inspect(k Key, p Policy) (DiskStatus, error) {
	path, err := s.Path(k.Profile)
	if err != nil {
		return DiskStatus{}, err
	}
	st := DiskStatus{Profile: k.Profile, Path: path}
	p, err = resolvePolicy(p)
	if err != nil {
		return DiskStatus{}, err
	}
	e, err := s.readFile(path, k, p)
	if err != nil {
		st.Exists = true
		st.Problem = err.Error() // decode errors are fixed texts: no file content
		return st, nil
	}
	if e == nil {
		return st, nil
	}
	st.Exists = true
	if k := e.Current; k != nil {
		st.AccessKeyID, st.Principal, st.Expiration = k.AccessKeyID, k.Principal, k.Expiration
		st.FetchedAt = k.FetchedAt
		st.Expiry = k.FetchedAt.Add(time.Duration(k.LifetimeMillis) * time.Millisecond)
	}
	if k := e.Previous; k != nil {
		st.PreviousAccessKeyID = k.AccessKeyID
	}
	if f := e.Failure; f != nil {
		st.LastError, st.LastErrorClass, st.LastErrorAt = f.Message, f.class(), f.At
		st.ConsecutiveFailures, st.NextRetry = f.Count, f.RetryAt
	}
	return st, nil
}
