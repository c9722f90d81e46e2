// Package s3emu is the in-memory S3 endpoint of the CoreWeave emulator: enough of
// the S3 REST API for SDKs and the aws CLI to create buckets and put, get, list and
// delete objects, with SigV4 checked for every request against the keys the
// CoreWeave API emulator mints. See doc.go for the behaviour it chose.
package s3emu

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/jonboulle/clockwork"
	"go.uber.org/zap"
)

// KeyState says whether S3 accepts an access key right now.
type KeyState int

// Key states, in the order of the emulator contract.
const (
	KeyUnknown KeyState = iota
	KeyValid
	KeyNotYetPropagated
	KeyExpired
	KeyRevoked
	KeySuspended
)

func (k KeyState) String() string {
	switch k {
	case KeyUnknown:
		return "unknown"
	case KeyValid:
		return "valid"
	case KeyNotYetPropagated:
		return "not-yet-propagated"
	case KeyExpired:
		return "expired"
	case KeyRevoked:
		return "revoked"
	case KeySuspended:
		return "suspended"
	}
	return "KeyState(?)"
}

// KeyResolver is implemented by the emulator's key store.
type KeyResolver interface {
	ResolveKey(accessKeyID string) (secret string, state KeyState)
}

// PrincipalResolver may also be implemented by a KeyResolver to name the principal
// behind a key; the S3 side then records it as the owner of the buckets it creates.
type PrincipalResolver interface {
	PrincipalOf(accessKeyID string) string
}

// DefaultMaxObjectBytes caps one PutObject when Config.MaxObjectBytes is 0.
const DefaultMaxObjectBytes = 64 << 20

// maxXMLBodyBytes caps request bodies that carry XML (CreateBucket, DeleteObjects).
const maxXMLBodyBytes = 1 << 20

// Config configures a Server.
type Config struct {
	Keys  KeyResolver
	Clock clockwork.Clock // nil: the real clock
	// Region is the availability zone, e.g. "US-EAST-04A". Requests signed for
	// another region (compared exactly) are refused.
	Region string
	// Domains are host names (without port) for virtual-host style,
	// <bucket>.<domain>; e.g. "localhost", "s3.localhost".
	Domains []string
	Logger  *zap.Logger // nil: no logs
	// MaxObjectBytes caps one PutObject; 0 means DefaultMaxObjectBytes.
	MaxObjectBytes int64
}

// Server is the S3 endpoint. It is an http.Handler and safe for concurrent use.
type Server struct {
	cfg     Config
	domains []string // lower-case, longest first
	signer  *v4.Signer

	mu      sync.RWMutex
	buckets map[string]*bucket
}

// New checks cfg and returns an empty S3 endpoint.
func New(cfg Config) (*Server, error) {
	if cfg.Keys == nil {
		return nil, errors.New("s3emu: Config.Keys is required; pass the emulator's key store")
	}
	if cfg.Region == "" {
		return nil, errors.New("s3emu: Config.Region is required, e.g. US-EAST-04A")
	}
	if cfg.MaxObjectBytes < 0 {
		return nil, errors.New("s3emu: Config.MaxObjectBytes must not be negative; use 0 for the default")
	}
	if cfg.MaxObjectBytes == 0 {
		cfg.MaxObjectBytes = DefaultMaxObjectBytes
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	var domains []string
	for _, d := range cfg.Domains {
		d = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
		if d == "" || strings.ContainsAny(d, ":/ ") {
			return nil, errors.New("s3emu: Config.Domains entries must be host names without port, e.g. s3.localhost")
		}
		domains = append(domains, d)
	}
	sort.Slice(domains, func(i, j int) bool { return len(domains[i]) > len(domains[j]) })
	return &Server{cfg: cfg, domains: domains, signer: v4.NewSigner(), buckets: map[string]*bucket{}}, nil
}

// request is one S3 call once authenticated and located.
type request struct {
	r         *http.Request
	caller    caller
	bucket    string
	key       string
	requestID string
}

// ServeHTTP answers one S3 request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.cfg.Clock.Now()
	req := &request{r: r, requestID: newRequestID()}
	hostID := base64.StdEncoding.EncodeToString([]byte(req.requestID))
	w.Header().Set("X-Amz-Request-Id", req.requestID)
	w.Header().Set("X-Amz-Id-2", hostID)
	w.Header().Set("Server", "CWObjectEmulator")

	op, perr := s.serve(w, req)
	status := http.StatusOK
	code := ""
	if perr != nil {
		status, code = perr.status(), perr.Code
		writeError(w, r, perr, req.requestID, hostID)
	}
	log := s.cfg.Logger.Debug
	if perr != nil {
		log = s.cfg.Logger.Info // refusals are what a developer needs to see
	}
	log("s3 request",
		zap.String("op", op),
		zap.String("method", r.Method),
		zap.String("bucket", req.bucket),
		zap.String("key", req.key),
		keyIDField(req.caller.AccessKeyID),
		zap.Int("status", status),
		zap.String("code", code),
		zap.String("request_id", req.requestID),
		zap.Duration("took", s.cfg.Clock.Since(start)))
}

// serve authenticates, routes and runs a request; it returns the operation name
// for the log, and the refusal if any (nothing has been written then).
func (s *Server) serve(w http.ResponseWriter, req *request) (string, *s3Error) {
	c, perr := s.authenticate(req.r)
	req.caller = c
	if perr != nil {
		return "Authenticate", perr
	}
	req.bucket, req.key = s.locate(req.r)
	if perr := checkQuery(req.r); perr != nil {
		return "Route", perr
	}
	op, h := s.route(req)
	if h == nil {
		return op, newErr("MethodNotAllowed")
	}
	return op, h(w, req)
}

type handler func(http.ResponseWriter, *request) *s3Error

// route picks the operation from the method, the bucket and key, and the query.
func (s *Server) route(req *request) (string, handler) {
	q := req.r.URL.Query()
	m := req.r.Method
	switch {
	case req.bucket == "":
		if m == http.MethodGet {
			return "ListBuckets", s.listBuckets
		}
	case req.key == "":
		switch {
		case m == http.MethodPut:
			return "CreateBucket", s.createBucket
		case m == http.MethodHead:
			return "HeadBucket", s.headBucket
		case m == http.MethodDelete:
			return "DeleteBucket", s.deleteBucket
		case m == http.MethodGet && q.Has("location"):
			return "GetBucketLocation", s.getBucketLocation
		case m == http.MethodGet && q.Get("list-type") == "2":
			return "ListObjectsV2", s.listObjectsV2
		case m == http.MethodGet && !q.Has("list-type"):
			return "ListObjects", s.listObjectsV1
		case m == http.MethodGet:
			return "ListObjects", func(http.ResponseWriter, *request) *s3Error {
				return &s3Error{Code: "InvalidArgument", ArgumentName: "list-type", ArgumentValue: q.Get("list-type"),
					Message: "list-type must be 2 or absent"}
			}
		case m == http.MethodPost && q.Has("delete"):
			return "DeleteObjects", s.deleteObjects
		}
	default:
		switch m {
		case http.MethodPut:
			return "PutObject", s.putObject
		case http.MethodGet:
			return "GetObject", s.getObject
		case http.MethodHead:
			return "HeadObject", s.headObject
		case http.MethodDelete:
			return "DeleteObject", s.deleteObject
		case http.MethodPost:
			return "PostObject", notImplemented("multipart uploads are not implemented by the emulator; keep objects under the multipart threshold")
		}
	}
	return "Unknown", nil
}

func notImplemented(msg string) handler {
	return func(http.ResponseWriter, *request) *s3Error { return newErrMsg("NotImplemented", msg) }
}

// knownParams are the query parameters the implemented operations understand. Any
// other parameter names an S3 sub-resource (?acl, ?uploads, ?versioning, …) the
// emulator lacks: refusing it beats answering with the wrong operation.
var knownParams = map[string]bool{
	"x-id":      true, // the Go SDK names the operation this way
	"list-type": true, "prefix": true, "delimiter": true, "max-keys": true,
	"continuation-token": true, "start-after": true, "fetch-owner": true,
	"encoding-type": true, "marker": true, "location": true, "delete": true,
	"max-buckets": true, "bucket-region": true,
	"response-content-type": true, "response-content-language": true,
	"response-expires": true, "response-cache-control": true,
	"response-content-disposition": true, "response-content-encoding": true,
}

func checkQuery(r *http.Request) *s3Error {
	for name := range r.URL.Query() {
		// X-Amz-* parameters are presigned-URL fields, or headers a presigner
		// hoisted into the query.
		if !knownParams[name] && !hasPrefixFold(name, "x-amz-") {
			return &s3Error{Code: "NotImplemented", ArgumentName: name,
				Message: "The emulator does not implement the S3 sub-resource or parameter " + quoteShort(name)}
		}
	}
	if h := r.Header.Get("X-Amz-Copy-Source"); h != "" {
		return &s3Error{Code: "NotImplemented", HeaderName: "x-amz-copy-source",
			Message: "CopyObject is not implemented by the emulator"}
	}
	return nil
}

// amzValue reads an x-amz-* header, or the query parameter a presigned URL carries
// it in.
func amzValue(r *http.Request, name string) string {
	if v := r.Header.Get(name); v != "" {
		return v
	}
	for k, vs := range r.URL.Query() {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// newRequestID returns 16 upper-case hex digits, like S3's x-amz-request-id.
func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return strings.ToUpper(hex.EncodeToString(b[:]))
}

// now is the server time at millisecond precision, as S3 reports times.
func (s *Server) now() time.Time {
	return s.cfg.Clock.Now().UTC().Truncate(time.Millisecond)
}

func keyIDField(id string) zap.Field   { return zap.String("access_key_id", id) }
func stateField(st KeyState) zap.Field { return zap.Stringer("key_state", st) }
