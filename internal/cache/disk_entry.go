package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/cwcreds/cwcreds/internal/creds"
)

// The on-disk entry. Bump entryVersion on any incompatible change: files of another
// version are misses, and are replaced.
const (
	entryVersion      = 2 // 2: entries are bound to an identity
	maxEntryBytes     = 64 << 10
	maxFailureMessage = 1024
	maxFileNameBytes  = 120
	// lifetimeSlack absorbs the millisecond rounding of stored times.
	lifetimeSlack = time.Second
)

type diskEntry struct {
	Version  int          `json:"version"`
	Profile  string       `json:"profile"`
	Identity string       `json:"identity"` // Key.Identity of the settings the keys were minted under
	Current  *diskKeys    `json:"current,omitempty"`
	Previous *diskKeys    `json:"previous,omitempty"`
	Failure  *diskFailure `json:"failure,omitempty"`
}

// diskKeys stores keys with the local fetch time and the lifetime relative to it:
// the expiry used is FetchedAt+Lifetime, and a clock earlier than FetchedAt makes
// the keys a miss, so a clock that jumps back cannot stretch a key's life.
type diskKeys struct {
	AccessKeyID     string    `json:"access_key_id"`
	SecretAccessKey string    `json:"secret_access_key"`
	SessionToken    string    `json:"session_token,omitempty"`
	Expiration      time.Time `json:"expiration"`
	Principal       string    `json:"principal,omitempty"`
	FetchedAt       time.Time `json:"fetched_at"`
	LifetimeMillis  int64     `json:"lifetime_ms"`
}

// diskFailure remembers the last failed exchange so that other processes neither
// repeat it at once nor hammer upstream with a rejected identity.
type diskFailure struct {
	At      time.Time `json:"at"`
	Class   string    `json:"class"`
	Message string    `json:"message"`         // a fetch error: never holds secrets
	Input   string    `json:"input,omitempty"` // hashed input fingerprint at the failure
	Count   int       `json:"count"`           // consecutive failures
	RetryAt time.Time `json:"retry_at"`        // zero: wait for the input to change
}

func toDiskKeys(h held) *diskKeys {
	if h.c.AccessKeyID == "" {
		return nil
	}
	return &diskKeys{
		AccessKeyID:     h.c.AccessKeyID,
		SecretAccessKey: h.c.SecretAccessKey,
		SessionToken:    h.c.SessionToken,
		Expiration:      h.c.Expiration.UTC(),
		Principal:       h.c.Principal,
		FetchedAt:       h.fetchedAt.Round(0).UTC(),
		LifetimeMillis:  h.expiry.Sub(h.fetchedAt).Milliseconds(),
	}
}

func (k *diskKeys) held(p Policy) held {
	if k == nil {
		return held{}
	}
	c := creds.Credentials{
		AccessKeyID:     k.AccessKeyID,
		SecretAccessKey: k.SecretAccessKey,
		SessionToken:    k.SessionToken,
		Expiration:      k.Expiration,
		Principal:       k.Principal,
	}
	// No jitter on disk: the lock already keeps processes from stampeding.
	return newHeld(c, k.FetchedAt, time.Duration(k.LifetimeMillis)*time.Millisecond, p, 0)
}

func (e *diskEntry) pair(p Policy) pair {
	if e == nil {
		return pair{}
	}
	return pair{cur: e.Current.held(p), prev: e.Previous.held(p)}
}

// check refuses keys that are incomplete, or that claim to live longer than keys
// can: past their fetch time plus the lifetime they were minted with, which is
// never more than was asked for nor than the API's 12 h. An edited expiry must not
// keep an SDK holding dead keys until 2099.
func (k *diskKeys) check(p Policy) error {
	lifetime := time.Duration(k.LifetimeMillis) * time.Millisecond
	if k.AccessKeyID == "" || k.SecretAccessKey == "" || k.FetchedAt.IsZero() || k.Expiration.IsZero() || k.LifetimeMillis <= 0 {
		return errors.New("the file holds incomplete keys")
	}
	if lifetime > p.TrustedLifetime()+lifetimeSlack {
		return fmt.Errorf("the file claims keys that live %s, longer than the %s they are minted with", lifetime.Round(time.Second), p.TrustedLifetime())
	}
	if k.Expiration.After(k.FetchedAt.Add(lifetime + lifetimeSlack)) {
		return errors.New("the file claims an expiration later than its keys can live")
	}
	return nil
}

func (f *diskFailure) class() Class {
	c, _ := parseClass(f.Class)
	return c
}

// encodeEntry renders an entry for disk.
func encodeEntry(e *diskEntry) ([]byte, error) {
	e.Version = entryVersion
	return json.MarshalIndent(e, "", "  ")
}

// errCorruptEntry and the other decode errors are fixed strings: a decoder error
// could quote file contents, and those contents hold a secret.
var errCorruptEntry = errors.New("the file is not a valid cache entry")

// decodeEntry parses a cache file for profile. It never trusts what it cannot fully
// check; every error means "miss, and replace the file".
func decodeEntry(data []byte, k Key, p Policy) (*diskEntry, error) {
	if len(data) > maxEntryBytes {
		return nil, errors.New("the file is too large to be a cache entry")
	}
	var probe struct {
		Version int `json:"version"`
	}
	if json.Unmarshal(data, &probe) != nil {
		return nil, errCorruptEntry
	}
	if probe.Version != entryVersion {
		return nil, fmt.Errorf("the file has format version %d, this cwcreds reads version %d", probe.Version, entryVersion)
	}
	var e diskEntry
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if dec.Decode(&e) != nil {
		return nil, errCorruptEntry
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errCorruptEntry
	}
	if e.Profile != k.Profile {
		return nil, errors.New("the file belongs to another profile")
	}
	if e.Identity != k.Identity {
		return nil, errors.New("the file holds keys minted under other settings (the profile's source, org, endpoint, exchange or lifetime changed)")
	}
	if e.Current == nil && e.Previous != nil {
		return nil, errCorruptEntry
	}
	for _, dk := range []*diskKeys{e.Current, e.Previous} {
		if dk == nil {
			continue
		}
		if err := dk.check(p); err != nil {
			return nil, err
		}
	}
	if f := e.Failure; f != nil {
		if _, ok := parseClass(f.Class); !ok || f.At.IsZero() || f.Count < 1 || len(f.Message) > maxFailureMessage {
			return nil, errors.New("the file holds an unreadable failure record")
		}
	}
	return &e, nil
}

// fileStem turns a profile name into a file name stem that stays inside the cache
// folder and is distinct for distinct names: [A-Za-z0-9_-] are kept, every other
// byte becomes %XX (so "/" and ".." cannot form a path), and names that would be
// too long become "%h" and a hash, which no escaped name can start with.
func fileStem(profile string) (string, error) {
	if profile == "" {
		return "", errors.New("profile name is empty: give the profile a name")
	}
	var b strings.Builder
	for i := 0; i < len(profile); i++ {
		c := profile[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	if b.Len() > maxFileNameBytes {
		sum := sha256.Sum256([]byte(profile))
		return "%h" + hex.EncodeToString(sum[:]), nil
	}
	return b.String(), nil
}
