package cache

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/cwcreds/cwcreds/internal/logging/logfield"
	"github.com/gofrs/flock"
	"github.com/jonboulle/clockwork"
	"golang.org/x/sync/singleflight"

	"github.com/cwcreds/cwcreds/internal/creds"
	"github.com/cwcreds/cwcreds/internal/fileutil"
)

// DefaultLockTimeout is how long a process waits for another one's exchange; under
// the Go SDK's 60 s credential_process timeout.
const DefaultLockTimeout = 45 * time.Second

const lockRetryDelay = 20 * time.Millisecond

// DefaultDir is the disk cache folder: $XDG_CACHE_HOME/cwcreds, else
// $HOME/.cache/cwcreds (%LOCALAPPDATA%\cwcreds on Windows). A relative
// XDG_CACHE_HOME is ignored, as the XDG spec says.
func DefaultDir(getenv func(string) string) (string, error) {
	if x := getenv("XDG_CACHE_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "cwcreds"), nil
	}
	if runtime.GOOS == "windows" {
		if l := getenv("LOCALAPPDATA"); l != "" {
			return filepath.Join(l, "cwcreds"), nil
		}
	}
	if h := getenv("HOME"); h != "" && filepath.IsAbs(h) {
		return filepath.Join(h, ".cache", "cwcreds"), nil
	}
	return "", errors.New("cannot find a cache folder: set XDG_CACHE_HOME or HOME, or give a cache folder explicitly")
}

// DiskConfig configures a DiskStore. Zero fields take the defaults.
type DiskConfig struct {
	Dir      string // required, e.g. from DefaultDir
	Clock    clockwork.Clock
	Logger   logfield.Logger
	Events   Events
	Classify func(error) Class
	Backoff  Backoff
	// LockTimeout bounds the wait for another process's exchange (default 45s).
	LockTimeout time.Duration
	// UnrecoverableRetry: as in Config (default 1h; negative: only on input change).
	UnrecoverableRetry time.Duration
	// AwaitPropagation makes GetOrFetch wait, when the only keys it can return
	// are younger than the policy's PropagationDelay, until they are that old. A
	// one-shot process (credential_process, exec) hands keys straight to an AWS
	// client, which fails on a key S3 does not know yet and does not retry.
	AwaitPropagation bool
	// Warn, when set, is told in one line about every problem that makes the cache
	// ignore or fail to keep a file (besides the log): a one-shot process logs only
	// errors by default, and a cache that silently never works costs an exchange
	// per call.
	Warn func(message string)
}

// Key names one cache entry: the profile, and a fingerprint of everything that
// decides which identity and which keys the profile gets (its source, org,
// endpoint, exchange, lifetime…). An entry written under another Identity is a
// miss: a profile whose settings changed never gets the old identity's keys.
type Key struct {
	Profile  string
	Identity string
}

// DiskStore caches keys in files, one per profile, for one-shot processes such as
// credential_process. Files are 0600 in a 0700 folder, written by temporary file and
// rename; a file that is corrupt, truncated, of another format version, of the wrong
// mode or owned by another user is a miss, logged, and replaced. A per-profile lock
// file (flock, released by the kernel if its holder dies) makes N processes that
// find the cache cold or stale perform one exchange between them.
type DiskStore struct {
	hooks
	dir                string
	backoff            Backoff
	lockTimeout        time.Duration
	unrecoverableRetry time.Duration
	awaitPropagation   bool
	warn               func(string)
	sf                 singleflight.Group // one exchange per profile within a process too

	// Replaced by tests.
	writeFile func(path string, data []byte, perm os.FileMode) error
	ownedByMe func(fs.FileInfo) bool
}

// NewDiskStore checks cfg. It does not touch the disk: the folder is created on the
// first write.
func NewDiskStore(cfg DiskConfig) (*DiskStore, error) {
	if cfg.Dir == "" {
		return nil, errors.New("no cache folder given: use DefaultDir or pass one")
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("cache folder %s: %w", cfg.Dir, err)
	}
	s := &DiskStore{
		dir:                dir,
		hooks:              newHooks(cfg.Clock, cfg.Logger, cfg.Events, cfg.Classify),
		backoff:            cfg.Backoff.withDefaults(),
		lockTimeout:        cmp.Or(cfg.LockTimeout, DefaultLockTimeout),
		unrecoverableRetry: cmp.Or(cfg.UnrecoverableRetry, DefaultUnrecoverableRetry),
		awaitPropagation:   cfg.AwaitPropagation,
		warn:               cfg.Warn,
		writeFile:          fileutil.WriteFileAtomic,
		ownedByMe:          fileutil.OwnedByMe,
	}
	if s.warn == nil {
		s.warn = func(string) {}
	}
	if err := s.backoff.validate(); err != nil {
		return nil, err
	}
	if s.lockTimeout < 0 {
		return nil, errors.New("lock timeout must not be negative")
	}
	return s, nil
}

// Dir is the cache folder.
func (s *DiskStore) Dir() string { return s.dir }

// Path is the cache file of profile.
func (s *DiskStore) Path(profile string) (string, error) {
	stem, err := fileStem(profile)
	if err != nil {
		return "", err
	}
	return filepath.Join(s.dir, stem+".json"), nil
}

// Remove forgets the cached keys of profile (for logout). A missing file is fine.
func (s *DiskStore) Remove(profile string) error {
	path, err := s.Path(profile)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("could not remove cached credentials %s: %w", path, err)
	}
	return nil
}

// GetOrFetch returns the cached keys of profile when they are valid and outside the
// refresh window of p. Otherwise it takes the profile's lock, reads again (another
// process may have just refreshed), and only then calls f and writes the result.
// When the exchange fails it still returns cached keys that are above the floor;
// when there are none it returns a *NoCredentialsError, and remembers the failure so
// that other processes do not repeat it before its backoff (or, for a rejected
// identity, before f's input fingerprint changes).
//
// As in memory, previous keys are returned while new ones are younger than
// p.PropagationDelay unless they are below the floor; on a cold cache the new keys
// are returned at once.
func (s *DiskStore) GetOrFetch(ctx context.Context, k Key, f Fetcher, p Policy) (creds.Credentials, error) {
	if f == nil {
		return creds.Credentials{}, errors.New("no fetcher given: the disk cache needs something to get keys from")
	}
	p, err := resolvePolicy(p)
	if err != nil {
		return creds.Credentials{}, err
	}
	profile := k.Profile
	path, err := s.Path(profile)
	if err != nil {
		return creds.Credentials{}, err
	}
	v, err, _ := s.sf.Do(profile+"\x00"+k.Identity, func() (any, error) {
		return s.getOrFetch(ctx, k, path, f, p)
	})
	if err != nil {
		return creds.Credentials{}, err
	}
	h := v.(held)
	// Keys this new are served only when there are no others, and S3 may not
	// know them yet (see AwaitPropagation).
	if wait := h.servableAt.Sub(s.clock.Now()); wait > 0 && s.awaitPropagation {
		s.log.Info("waiting for new keys to reach S3", logfield.String("profile", profile), logfield.Duration("wait", wait))
		select {
		case <-s.clock.After(wait):
		case <-ctx.Done():
			return creds.Credentials{}, fmt.Errorf("gave up waiting for the new keys of profile %q to reach S3: %w", profile, ctx.Err())
		}
	}
	return h.c, nil
}

type diskJob struct {
	s       *DiskStore
	key     Key
	profile string
	path    string
	f       Fetcher
	p       Policy
	fp      *string // hashed input fingerprint, read once when needed
}

func (s *DiskStore) getOrFetch(ctx context.Context, k Key, path string, f Fetcher, p Policy) (held, error) {
	profile := k.Profile
	j := &diskJob{s: s, key: k, profile: profile, path: path, f: f, p: p}
	e := s.read(path, k, p)
	if h, done, err := j.decide(e, s.clock.Now()); done {
		return h, err
	}

	if err := fileutil.EnsurePrivateDir(s.dir); err != nil {
		if !fileutil.IsNoRoom(err) {
			return held{}, err
		}
		s.warn(fmt.Sprintf("%v: exchanging without the cache", err))
		return j.fetch(ctx, e)
	}
	lock := flock.New(path[:len(path)-len(".json")]+".lock", flock.SetPermissions(0o600),
		flock.SetFlag(os.O_CREATE|os.O_RDONLY|fileutil.NoBlockFlags))
	defer lock.Close()
	old := e.pair(p)
	haveValid := old.served(s.clock.Now(), p.Floor) != nil
	locked, err := s.lock(ctx, lock, profile, haveValid)
	switch {
	case errors.Is(err, errNoRoomForLock):
		// A read-only or full filesystem: exchange without the lock rather than fail.
		s.warn(err.Error())
		s.removeTemps(path)
		return j.fetch(ctx, e)
	case err != nil:
		return held{}, err
	case !locked: // someone else is refreshing and we still hold valid keys
		if h := old.served(s.clock.Now(), p.Floor); h != nil {
			s.events.Served(profile, true)
			return *h, nil
		}
		if _, err := s.lock(ctx, lock, profile, false); err != nil {
			return held{}, err
		}
	}
	defer func() {
		if err := lock.Unlock(); err != nil {
			s.log.Warn("could not release the cache lock", logfield.String("profile", profile), logfield.Error(err))
		}
	}()

	e = s.read(path, k, p)
	if h, done, err := j.decide(e, s.clock.Now()); done {
		return h, err
	}
	s.removeTemps(path)
	return j.fetch(ctx, e)
}

// lock takes the profile's lock. With valid keys in hand it only tries once (their
// holder is refreshing; the old keys are fine meanwhile); otherwise it waits up to
// LockTimeout.
//
// The lock file is opened without blocking or following links, and must be a
// regular file of this user's: a FIFO put there would otherwise hang the process.
func (s *DiskStore) lock(ctx context.Context, l *flock.Flock, profile string, haveValid bool) (bool, error) {
	var ok bool
	var err error
	if haveValid {
		ok, err = l.TryLock()
	} else {
		lctx, cancel := context.WithTimeout(ctx, s.lockTimeout)
		defer cancel()
		ok, err = l.TryLockContext(lctx, lockRetryDelay)
	}
	switch {
	case ok:
		if err := s.checkLockFile(l); err != nil {
			_ = l.Unlock()
			return false, err
		}
		return true, nil
	case err == nil: // TryLock: held by another process
		return false, nil
	case ctx.Err() != nil:
		return false, fmt.Errorf("gave up waiting for the cache lock of profile %q: %w", profile, ctx.Err())
	case errors.Is(err, context.DeadlineExceeded):
		return false, fmt.Errorf("another cwcreds process has been refreshing profile %q for over %s (lock %s): try again, or stop that process", profile, s.lockTimeout, l.Path())
	case fileutil.IsNoRoom(err):
		return false, fmt.Errorf("%w %s (%v): exchanging without it", errNoRoomForLock, l.Path(), err)
	default:
		if fi, lerr := os.Lstat(l.Path()); lerr == nil && fileutil.CheckPrivateFile(fi) != nil {
			return false, badLockFile(l.Path(), fileutil.CheckPrivateFile(fi))
		}
		return false, fmt.Errorf("could not lock %s: %w", l.Path(), err)
	}
}

var errNoRoomForLock = errors.New("could not create the cache lock")

func (s *DiskStore) checkLockFile(l *flock.Flock) error {
	fi, err := l.Stat()
	if err != nil {
		return fmt.Errorf("could not check the cache lock %s: %w", l.Path(), err)
	}
	if err := fileutil.CheckPrivateFile(fi); err != nil {
		return badLockFile(l.Path(), err)
	}
	return nil
}

func badLockFile(path string, why error) error {
	return fmt.Errorf("cache lock %s cannot be used: %v; remove it and try again", path, why)
}

// Fresh returns profile's cached keys when GetOrFetch would return them at once:
// the file is trusted and its keys are above the floor and not yet due for
// refresh. It never locks, writes or fetches, and says false for everything else
// (a miss, keys due for refresh, a file it would replace, a remembered failure).
// The small cwcreds-credential-process binary answers from it alone.
func (s *DiskStore) Fresh(k Key, p Policy) (creds.Credentials, bool) {
	p, err := resolvePolicy(p)
	if err != nil {
		return creds.Credentials{}, false
	}
	path, err := s.Path(k.Profile)
	if err != nil {
		return creds.Credentials{}, false
	}
	now := s.clock.Now()
	e, err := s.readFile(path, k, p) // no warning: the call it hands over to gives it
	if err != nil {
		return creds.Credentials{}, false
	}
	h, ok := fresh(e, p, now)
	if !ok || now.Before(h.servableAt) { // still propagating: GetOrFetch would wait
		return creds.Credentials{}, false
	}
	s.events.Served(k.Profile, true)
	return h.c, true
}

// fresh picks the keys of e to serve at now when no refresh is due.
func fresh(e *diskEntry, p Policy, now time.Time) (held, bool) {
	pr := e.pair(p)
	h := pr.served(now, p.Floor)
	if h != nil && pr.cur.remaining(now) > p.Floor && now.Before(pr.cur.refreshAt) {
		return *h, true
	}
	return held{}, false
}

// decide answers from the entry when no exchange is needed or allowed.
func (j *diskJob) decide(e *diskEntry, now time.Time) (held, bool, error) {
	if h, ok := fresh(e, j.p, now); ok {
		j.s.events.Served(j.profile, true)
		return h, true, nil
	}
	pr := e.pair(j.p)
	if e != nil && e.Failure != nil && j.blockedBy(e.Failure, now) {
		if h := pr.served(now, j.p.Floor); h != nil {
			j.s.events.Served(j.profile, true)
			return *h, true, nil
		}
		if pr.cur.c.AccessKeyID != "" {
			j.s.events.ExpiredRefused(j.profile)
		}
		return held{}, true, j.failureErr(e.Failure)
	}
	return held{}, false, nil
}

// blockedBy reports whether a recorded failure still forbids an exchange.
func (j *diskJob) blockedBy(f *diskFailure, now time.Time) bool {
	if now.Before(f.At) { // the clock went back: the record tells nothing
		return false
	}
	if f.class() == Unrecoverable && isFingerprinter(j.f) {
		if !f.RetryAt.IsZero() && !now.Before(f.RetryAt) {
			return false
		}
		return j.fingerprint() == f.Input
	}
	return now.Before(f.RetryAt)
}

func (j *diskJob) fingerprint() string {
	if j.fp == nil {
		var v string
		if fp := fingerprinterOf(j.f); fp != nil {
			if raw, err := fp.InputFingerprint(); err == nil {
				v = hashFingerprint(raw)
			}
		}
		j.fp = &v
	}
	return *j.fp
}

func (j *diskJob) failureErr(f *diskFailure) error {
	return &NoCredentialsError{Profile: j.profile, Class: f.class(), Err: errors.New(f.Message), NextRetry: f.RetryAt}
}

// fetch runs the exchange under the lock and records its outcome.
func (j *diskJob) fetch(ctx context.Context, old *diskEntry) (held, error) {
	s := j.s
	fp := j.fingerprint()
	start := s.clock.Now()
	got, err := j.f.Fetch(ctx)
	now := s.clock.Now()
	took := now.Sub(start)
	var lifetime time.Duration
	if err == nil {
		lifetime, err = checkFetched(got, now, j.p.Floor)
		got, lifetime = bound(j.p, got, now, lifetime)
	}
	oldPair := old.pair(j.p)

	if err == nil {
		next := &diskEntry{Profile: j.profile, Identity: j.key.Identity, Current: toDiskKeys(newHeld(got, now, lifetime, j.p, 0))}
		if h := oldPair.served(now, j.p.Floor); h != nil {
			next.Previous = toDiskKeys(*h)
		}
		j.write(next)
		s.log.Info("refreshed credentials", logfield.String("profile", j.profile),
			logfield.Object("credentials", got), logfield.Duration("took", took))
		s.events.Refreshed(j.profile, got, took)
		pr := next.pair(j.p)
		s.events.Served(j.profile, false)
		return *pr.served(now, j.p.Floor), nil // checkFetched: the new keys are above the floor
	}

	if ctx.Err() != nil {
		// The caller gave up (a signal, a deadline): not the exchange's failure, so
		// nothing is remembered that would hold other processes back.
		return held{}, fmt.Errorf("gave up the exchange for profile %q: %w", j.profile, ctx.Err())
	}
	class := s.classify(err)
	rec := &diskFailure{At: now.Round(0).UTC(), Class: class.String(), Message: truncate(err.Error(), maxFailureMessage), Input: fp, Count: 1}
	if old != nil && old.Failure != nil && !now.Before(old.Failure.At) {
		rec.Count = old.Failure.Count + 1
	}
	switch {
	case class == Transient:
		d := s.backoff.delay(rec.Count, rand.Float64())
		if ra := retryAfter(err); ra > d {
			d = min(ra, s.backoff.Max)
		}
		rec.RetryAt = rec.At.Add(d)
	case !isFingerprinter(j.f):
		rec.RetryAt = rec.At.Add(s.backoff.Max)
	case s.unrecoverableRetry > 0:
		rec.RetryAt = rec.At.Add(s.unrecoverableRetry)
	}
	next := &diskEntry{Profile: j.profile, Identity: j.key.Identity, Failure: rec}
	if old != nil {
		next.Current, next.Previous = old.Current, old.Previous
	}
	j.write(next)
	s.log.Warn("exchange failed", logfield.String("profile", j.profile), logfield.Stringer("class", class),
		logfield.Error(err), logfield.Time("retry_at", rec.RetryAt))
	s.events.Failed(j.profile, class, err, rec.RetryAt)
	if h := oldPair.served(now, j.p.Floor); h != nil {
		s.events.Served(j.profile, true)
		return *h, nil
	}
	if oldPair.cur.c.AccessKeyID != "" {
		s.events.ExpiredRefused(j.profile)
	}
	return held{}, &NoCredentialsError{Profile: j.profile, Class: class, Err: err, NextRetry: rec.RetryAt}
}

// write stores the entry; a failure to write costs a later exchange, not this one.
func (j *diskJob) write(e *diskEntry) {
	data, err := encodeEntry(e)
	if err == nil {
		err = j.s.writeFile(j.path, data, 0o600)
	}
	if err != nil {
		j.s.log.Warn("could not write the credentials cache; the next process will exchange again",
			logfield.String("profile", j.profile), logfield.Error(err))
		j.s.warn(fmt.Sprintf("could not keep the keys of profile %q in the cache (%v): every call exchanges again until it is fixed", j.profile, err))
	}
}

// read returns the entry of profile, or nil on a miss. Anything it cannot fully
// trust is a miss, with a warning: the next write replaces the file.
func (s *DiskStore) read(path string, k Key, p Policy) *diskEntry {
	e, err := s.readFile(path, k, p)
	if err != nil {
		s.log.Warn("ignoring the cached credentials file; it will be replaced",
			logfield.String("profile", k.Profile), logfield.String("path", path), logfield.String("reason", err.Error()))
		fix := "it will be replaced"
		if fi, lerr := os.Lstat(path); lerr == nil && !fi.Mode().IsRegular() {
			fix = "remove it so that keys can be cached"
		}
		s.warn(fmt.Sprintf("ignoring cached credentials %s: %v; %s", path, err, fix))
		return nil
	}
	return e
}

func (s *DiskStore) readFile(path string, k Key, p Policy) (*diskEntry, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("it is %s, not a regular file", fileutil.KindOf(fi.Mode()))
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		return nil, fmt.Errorf("it has mode %04o, not 0600", fi.Mode().Perm())
	}
	if !s.ownedByMe(fi) {
		return nil, errors.New("it belongs to another user")
	}
	f, err := fileutil.OpenPrivate(path) // never blocks, even if a FIFO was swapped in
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ofi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !os.SameFile(fi, ofi) {
		return nil, errors.New("it was replaced while being read")
	}
	data, err := io.ReadAll(io.LimitReader(f, maxEntryBytes+1))
	if err != nil {
		return nil, err
	}
	return decodeEntry(data, k, p)
}

// removeTemps deletes temporary files left by a writer of this profile that died
// before its rename. Only called under the profile's lock, so no live writer owns them.
func (s *DiskStore) removeTemps(path string) {
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		return
	}
	prefix := "." + filepath.Base(path) + ".tmp-"
	for _, de := range entries {
		if !strings.HasPrefix(de.Name(), prefix) {
			continue
		}
		t := filepath.Join(filepath.Dir(path), de.Name())
		if err := os.Remove(t); err == nil {
			s.log.Info("removed a temporary file left by an interrupted cwcreds", logfield.String("path", t))
		}
	}
}

func isFingerprinter(f Fetcher) bool {
	return fingerprinterOf(f) != nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
