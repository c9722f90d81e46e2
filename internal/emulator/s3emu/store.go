package s3emu

import (
	"errors"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"
)

// bucket is one bucket; Server.mu guards it and every object map.
type bucket struct {
	name    string
	created time.Time
	owner   string
	objects map[string]*object
	bytes   uint64
}

// object is immutable once stored: a put replaces the pointer, so readers may use
// an object after releasing the lock.
type object struct {
	key       string
	data      []byte
	etag      string // quoted hex MD5
	modified  time.Time
	header    http.Header       // Content-Type, Cache-Control, x-amz-meta-*, …
	checksums map[string]string // algorithm → base64, as verified on upload
}

// BucketMeta lets the CoreWeave API emulator answer ListBucketInfo/GetBucketInfo.
type BucketMeta struct {
	Name         string
	CreationTime time.Time
	Objects      int
	Bytes        uint64
	Owner        string // principal of the key that created it, if known
}

func (b *bucket) meta() BucketMeta {
	return BucketMeta{Name: b.name, CreationTime: b.created, Objects: len(b.objects), Bytes: b.bytes, Owner: b.owner}
}

// Buckets lists every bucket, by name.
func (s *Server) Buckets() []BucketMeta {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]BucketMeta, 0, len(s.buckets))
	for _, b := range s.buckets {
		out = append(out, b.meta())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Bucket describes one bucket.
func (s *Server) Bucket(name string) (BucketMeta, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, ok := s.buckets[name]
	if !ok {
		return BucketMeta{}, false
	}
	return b.meta(), true
}

// bucketExists reports whether a bucket exists, for handlers that check before
// reading a body.
func (s *Server) bucketExists(name string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.buckets[name]
	return ok
}

func noSuchBucket(name string) *s3Error { return &s3Error{Code: "NoSuchBucket", BucketName: name} }

// validBucketName applies S3's general-purpose bucket naming rules. [fact: S3 docs]
func validBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '.' && c != '-' {
			return false
		}
	}
	first, last := name[0], name[len(name)-1]
	if first == '.' || first == '-' || last == '.' || last == '-' {
		return false
	}
	if strings.Contains(name, "..") || strings.Contains(name, ".-") || strings.Contains(name, "-.") {
		return false
	}
	return net.ParseIP(name) == nil
}

// AddBucket creates an empty bucket, as CreateBucket does, for seeding tests.
func (s *Server) AddBucket(name, owner string) error {
	if !validBucketName(name) {
		return errors.New("invalid bucket name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.buckets[name]; ok {
		return errors.New("bucket already exists")
	}
	s.buckets[name] = &bucket{name: name, created: s.now(), owner: owner, objects: map[string]*object{}}
	return nil
}
