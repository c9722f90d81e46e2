package emulator

import (
	"crypto/rand"
	"sort"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cwcreds/cwcreds/internal/cwobject"
	"github.com/cwcreds/cwcreds/internal/emulator/s3emu"
)

const (
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
)

// randomString draws n characters of alphabet from crypto/rand without modulo bias.
func randomString(alphabet string, n int) string {
	out := make([]byte, 0, n)
	limit := 256 - 256%len(alphabet)
	buf := make([]byte, n+n/2+8)
	for len(out) < n {
		// Since Go 1.24 crypto/rand.Read never returns an error.
		_, _ = rand.Read(buf)
		for _, b := range buf {
			if int(b) < limit && len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}

// keyRecord is one minted access key.
type keyRecord struct {
	seq        uint64
	id         string
	secret     string
	principal  string
	attributes map[string]string
	created    time.Time
	expiry     time.Time // zero: permanent
	suspended  bool
	revoked    bool
}

// keyStore holds every key the emulator minted. It implements s3emu.KeyResolver.
type keyStore struct {
	clock       clockwork.Clock
	propagation time.Duration

	mu   sync.Mutex
	seq  uint64
	byID map[string]*keyRecord
}

func newKeyStore(clock clockwork.Clock, propagation time.Duration) *keyStore {
	return &keyStore{clock: clock, propagation: propagation, byID: map[string]*keyRecord{}}
}

// mint creates a key for principal living for lifetime (0: permanent).
func (s *keyStore) mint(principal string, lifetime time.Duration, attrs map[string]string) keyRecord {
	now := s.clock.Now().UTC()
	rec := &keyRecord{
		secret:     cwobject.SecretKeyPrefix + randomString(lowerAlnum, cwobject.SecretKeySuffixLen),
		principal:  principal,
		attributes: copyMap(attrs),
		created:    now,
	}
	if lifetime > 0 {
		// Whole seconds, as protojson timestamps from the real service look.
		rec.expiry = now.Add(lifetime).Truncate(time.Second)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		rec.id = cwobject.AccessKeyIDPrefix + randomString(upperAlnum, cwobject.AccessKeyIDSuffix)
		if _, taken := s.byID[rec.id]; !taken {
			break
		}
	}
	s.seq++
	rec.seq = s.seq
	s.byID[rec.id] = rec
	return *rec
}

func copyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (r *keyRecord) status() cwobject.AccessKeyStatus {
	if r.suspended {
		return cwobject.AccessKeyStatusSuspended
	}
	return cwobject.AccessKeyStatusActive
}

func (r *keyRecord) expiryForWire() time.Time {
	if r.expiry.IsZero() {
		return cwobject.PermanentExpiry
	}
	return r.expiry
}

func (r *keyRecord) info(orgID string) cwobject.AccessKeyInfo {
	return cwobject.AccessKeyInfo{
		AccessKeyID:   r.id,
		Status:        r.status(),
		PrincipalName: r.principal,
		Attributes:    copyMap(r.attributes),
		Expiry:        r.expiryForWire(),
		OrgID:         orgID,
	}
}

// get returns a live (not revoked) key.
func (s *keyStore) get(id string) (keyRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.byID[id]
	if !ok || rec.revoked {
		return keyRecord{}, false
	}
	return *rec, true
}

// list returns live keys in minting order, filtered by status when not UNSPECIFIED.
func (s *keyStore) list(status cwobject.AccessKeyStatus) []keyRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]keyRecord, 0, len(s.byID))
	for _, rec := range s.byID {
		if rec.revoked {
			continue
		}
		if status != cwobject.AccessKeyStatusUnspecified && rec.status() != status {
			continue
		}
		out = append(out, *rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// setStatus applies status to every live key of principal and says how many.
func (s *keyStore) setStatus(principal string, status cwobject.AccessKeyStatus) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, rec := range s.byID {
		if rec.principal == principal && !rec.revoked {
			rec.suspended = status == cwobject.AccessKeyStatusSuspended
			n++
		}
	}
	return n
}

func (s *keyStore) revoke(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.byID[id]
	if !ok || rec.revoked {
		return false
	}
	rec.revoked = true
	return true
}

func (s *keyStore) revokePrincipal(principal string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, rec := range s.byID {
		if rec.principal == principal && !rec.revoked {
			rec.revoked = true
			n++
		}
	}
	return n
}

// ResolveKey tells the S3 emulator the secret and state of a key id.
func (s *keyStore) ResolveKey(accessKeyID string) (string, s3emu.KeyState) {
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.byID[accessKeyID]
	switch {
	case !ok:
		return "", s3emu.KeyUnknown
	case rec.revoked:
		return rec.secret, s3emu.KeyRevoked
	case !rec.expiry.IsZero() && !now.Before(rec.expiry):
		return rec.secret, s3emu.KeyExpired
	case rec.suspended:
		return rec.secret, s3emu.KeySuspended
	case now.Sub(rec.created) < s.propagation:
		return rec.secret, s3emu.KeyNotYetPropagated
	}
	return rec.secret, s3emu.KeyValid
}

// PrincipalOf names the principal behind a key (s3emu.PrincipalResolver), so that
// buckets record their owner.
func (s *keyStore) PrincipalOf(accessKeyID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, ok := s.byID[accessKeyID]; ok {
		return rec.principal
	}
	return ""
}
