package s3emu

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
)

// maxKeyBytes is S3's longest object key. [fact]
const maxKeyBytes = 1024

// defaultContentType is what S3 reports for objects stored without one. [fact]
const defaultContentType = "binary/octet-stream"

// storedHeaders are the request headers PutObject keeps and GetObject returns,
// besides x-amz-meta-*.
var storedHeaders = []string{"Content-Type", "Cache-Control", "Content-Disposition", "Content-Language", "Expires"}

func (s *Server) putObject(w http.ResponseWriter, req *request) *s3Error {
	if len(req.key) > maxKeyBytes {
		return &s3Error{Code: "KeyTooLongError", BucketName: req.bucket}
	}
	if !s.bucketExists(req.bucket) {
		return noSuchBucket(req.bucket)
	}
	body, perr := readPayload(req.r, req.caller, s.cfg.MaxObjectBytes)
	if perr != nil {
		return perr
	}
	sum := md5.Sum(body.data)
	obj := &object{
		key:       req.key,
		data:      body.data,
		etag:      `"` + hex.EncodeToString(sum[:]) + `"`,
		modified:  s.now(),
		header:    http.Header{},
		checksums: body.checksums,
	}
	for _, h := range storedHeaders {
		if v := req.r.Header.Get(h); v != "" {
			obj.header.Set(h, v)
		}
	}
	if body.contentEncoding != "" {
		obj.header.Set("Content-Encoding", body.contentEncoding)
	}
	if obj.header.Get("Content-Type") == "" {
		obj.header.Set("Content-Type", defaultContentType)
	}
	for name, vals := range req.r.Header {
		if strings.HasPrefix(strings.ToLower(name), "x-amz-meta-") {
			obj.header[name] = vals
		}
	}

	s.mu.Lock()
	b, ok := s.buckets[req.bucket]
	if !ok { // deleted while the body was read
		s.mu.Unlock()
		return noSuchBucket(req.bucket)
	}
	if req.r.Header.Get("If-None-Match") == "*" {
		if _, exists := b.objects[req.key]; exists {
			s.mu.Unlock()
			return &s3Error{Code: "PreconditionFailed", Key: req.key, Message: "At least one of the pre-conditions you specified did not hold"}
		}
	}
	b.remove(req.key)
	b.objects[req.key] = obj
	b.bytes += uint64(len(obj.data))
	s.mu.Unlock()

	w.Header().Set("ETag", obj.etag)
	for alg, v := range obj.checksums {
		w.Header().Set("X-Amz-Checksum-"+strings.ToUpper(alg), v)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// lookup finds an object, or says which of bucket and key is missing.
func (s *Server) lookup(bucketName, key string) (*object, *s3Error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, ok := s.buckets[bucketName]
	if !ok {
		return nil, noSuchBucket(bucketName)
	}
	o, ok := b.objects[key]
	if !ok {
		return nil, &s3Error{Code: "NoSuchKey", Key: key}
	}
	return o, nil
}

func (s *Server) getObject(w http.ResponseWriter, req *request) *s3Error {
	return s.serveObject(w, req, true)
}

func (s *Server) headObject(w http.ResponseWriter, req *request) *s3Error {
	return s.serveObject(w, req, false)
}

// serveObject answers GetObject and HeadObject, with a single byte range if asked.
func (s *Server) serveObject(w http.ResponseWriter, req *request, withBody bool) *s3Error {
	o, perr := s.lookup(req.bucket, req.key)
	if perr != nil {
		return perr
	}
	size := int64(len(o.data))
	start, end, partial, perr := parseRange(req.r.Header.Get("Range"), size)
	if perr != nil {
		w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		return perr
	}
	h := w.Header()
	for name, vals := range o.header {
		h[name] = vals
	}
	q := req.r.URL.Query()
	for param, header := range map[string]string{
		"response-content-type": "Content-Type", "response-content-language": "Content-Language",
		"response-expires": "Expires", "response-cache-control": "Cache-Control",
		"response-content-disposition": "Content-Disposition", "response-content-encoding": "Content-Encoding",
	} {
		if v := q.Get(param); v != "" {
			h.Set(header, v)
		}
	}
	h.Set("ETag", o.etag)
	h.Set("Last-Modified", o.modified.UTC().Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	// Checksums describe the whole object, so S3 returns them only for it. [fact]
	if !partial && strings.EqualFold(amzValue(req.r, "X-Amz-Checksum-Mode"), "ENABLED") && len(o.checksums) > 0 {
		for alg, v := range o.checksums {
			h.Set("X-Amz-Checksum-"+strings.ToUpper(alg), v)
		}
		h.Set("X-Amz-Checksum-Type", "FULL_OBJECT")
	}
	status := http.StatusOK
	body := o.data
	if partial {
		body = o.data[start : end+1]
		h.Set("Content-Range", "bytes "+strconv.FormatInt(start, 10)+"-"+strconv.FormatInt(end, 10)+"/"+strconv.FormatInt(size, 10))
		status = http.StatusPartialContent
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if withBody {
		_, _ = w.Write(body) // the client hung up: nothing left to tell it
	}
	return nil
}

// parseRange reads a Range header. Like S3 it serves the whole object for a header
// it cannot use (not bytes=, several ranges, garbage) and refuses only a
// well-formed range that lies outside the object.
func parseRange(h string, size int64) (start, end int64, partial bool, perr *s3Error) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, 0, false, nil
	}
	first, last, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return 0, 0, false, nil
	}
	unsatisfiable := &s3Error{Code: "InvalidRange"}
	if first == "" { // suffix: the last N bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false, nil
		}
		if n == 0 || size == 0 {
			return 0, 0, false, unsatisfiable
		}
		n = min(n, size)
		return size - n, size - 1, true, nil
	}
	a, err := strconv.ParseInt(first, 10, 64)
	if err != nil || a < 0 {
		return 0, 0, false, nil
	}
	b := size - 1
	if last != "" {
		if b, err = strconv.ParseInt(last, 10, 64); err != nil || b < a {
			return 0, 0, false, nil
		}
		b = min(b, size-1)
	}
	if a >= size {
		return 0, 0, false, unsatisfiable
	}
	return a, b, true, nil
}

func (s *Server) deleteObject(w http.ResponseWriter, req *request) *s3Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[req.bucket]
	if !ok {
		return noSuchBucket(req.bucket)
	}
	b.remove(req.key) // S3 answers 204 for a missing key too
	w.WriteHeader(http.StatusNoContent)
	return nil
}
