package s3emu

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

type xmlOwner struct {
	ID          string `xml:"ID"`
	DisplayName string `xml:"DisplayName"`
}

// ownerOf names a caller in XML: its principal, or its key id when the key store
// does not say.
func ownerOf(c caller) xmlOwner {
	id := c.Principal
	if id == "" {
		id = c.AccessKeyID
	}
	return xmlOwner{ID: id, DisplayName: id}
}

type listAllMyBucketsResult struct {
	XMLName           xml.Name    `xml:"ListAllMyBucketsResult"`
	Xmlns             string      `xml:"xmlns,attr"`
	Owner             xmlOwner    `xml:"Owner"`
	Buckets           []xmlBucket `xml:"Buckets>Bucket"`
	ContinuationToken string      `xml:"ContinuationToken,omitempty"`
	Prefix            string      `xml:"Prefix,omitempty"`
}

type xmlBucket struct {
	Name         string `xml:"Name"`
	CreationDate string `xml:"CreationDate"`
	BucketRegion string `xml:"BucketRegion"`
}

// maxListBuckets is S3's ceiling for max-buckets. [fact: S3 ListBuckets]
const maxListBuckets = 10000

func (s *Server) listBuckets(w http.ResponseWriter, req *request) *s3Error {
	q := req.r.URL.Query()
	limit := maxListBuckets
	if v := q.Get("max-buckets"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListBuckets {
			return &s3Error{Code: "InvalidArgument", ArgumentName: "max-buckets", ArgumentValue: v,
				Message: "max-buckets must be a number from 1 to 10000"}
		}
		limit = n
	}
	prefix := q.Get("prefix")
	after := ""
	if tok := q.Get("continuation-token"); tok != "" {
		var ok bool
		if after, ok = decodeToken(tok); !ok {
			return &s3Error{Code: "InvalidArgument", ArgumentName: "continuation-token", Message: "The continuation token provided is incorrect"}
		}
	}
	all := s.Buckets()
	if r := q.Get("bucket-region"); r != "" && r != s.cfg.Region {
		all = nil // every bucket lives in this endpoint's region
	}
	res := listAllMyBucketsResult{Xmlns: s3Namespace, Owner: ownerOf(req.caller), Prefix: prefix, Buckets: []xmlBucket{}}
	for _, b := range all {
		if !strings.HasPrefix(b.Name, prefix) || b.Name <= after {
			continue
		}
		if len(res.Buckets) == limit {
			res.ContinuationToken = encodeToken(res.Buckets[len(res.Buckets)-1].Name)
			break
		}
		res.Buckets = append(res.Buckets, xmlBucket{Name: b.Name, CreationDate: b.CreationTime.UTC().Format(timeFormatXML), BucketRegion: s.cfg.Region})
	}
	return writeXML(w, http.StatusOK, res)
}

type createBucketConfiguration struct {
	XMLName            xml.Name `xml:"CreateBucketConfiguration"`
	LocationConstraint string   `xml:"LocationConstraint"`
}

func (s *Server) createBucket(w http.ResponseWriter, req *request) *s3Error {
	if !validBucketName(req.bucket) {
		return &s3Error{Code: "InvalidBucketName", BucketName: req.bucket}
	}
	body, perr := readPayload(req.r, req.caller, maxXMLBodyBytes)
	if perr != nil {
		return perr
	}
	if len(bytes.TrimSpace(body.data)) > 0 {
		var cfg createBucketConfiguration
		if err := xml.Unmarshal(body.data, &cfg); err != nil {
			return newErr("MalformedXML")
		}
		// The location is the availability zone; any case is accepted. [assume]
		if lc := cfg.LocationConstraint; lc != "" && !strings.EqualFold(lc, s.cfg.Region) {
			return &s3Error{Code: "IllegalLocationConstraintException", BucketName: req.bucket,
				Message: "The " + quoteShort(lc) + " location constraint is incompatible with the region of this endpoint, " + quoteShort(s.cfg.Region)}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.buckets[req.bucket]; ok {
		// One organisation owns every bucket the emulator holds. [assume]
		return &s3Error{Code: "BucketAlreadyOwnedByYou", BucketName: req.bucket}
	}
	s.buckets[req.bucket] = &bucket{name: req.bucket, created: s.now(), owner: req.caller.Principal, objects: map[string]*object{}}
	w.Header().Set("Location", "/"+req.bucket)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) headBucket(w http.ResponseWriter, req *request) *s3Error {
	if !s.bucketExists(req.bucket) {
		return noSuchBucket(req.bucket)
	}
	w.Header().Set("X-Amz-Bucket-Region", s.cfg.Region)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) deleteBucket(w http.ResponseWriter, req *request) *s3Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.buckets[req.bucket]
	if !ok {
		return noSuchBucket(req.bucket)
	}
	if len(b.objects) > 0 {
		return &s3Error{Code: "BucketNotEmpty", BucketName: req.bucket}
	}
	delete(s.buckets, req.bucket)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type locationConstraint struct {
	XMLName xml.Name `xml:"LocationConstraint"`
	Xmlns   string   `xml:"xmlns,attr"`
	Region  string   `xml:",chardata"`
}

func (s *Server) getBucketLocation(w http.ResponseWriter, req *request) *s3Error {
	if !s.bucketExists(req.bucket) {
		return noSuchBucket(req.bucket)
	}
	return writeXML(w, http.StatusOK, locationConstraint{Xmlns: s3Namespace, Region: s.cfg.Region})
}

type deleteRequest struct {
	XMLName xml.Name `xml:"Delete"`
	Quiet   bool     `xml:"Quiet"`
	Objects []struct {
		Key string `xml:"Key"`
	} `xml:"Object"`
}

type deleteResult struct {
	XMLName xml.Name `xml:"DeleteResult"`
	Xmlns   string   `xml:"xmlns,attr"`
	Deleted []struct {
		Key string `xml:"Key"`
	} `xml:"Deleted"`
}

// maxDeleteObjects is S3's limit of keys per DeleteObjects. [fact]
const maxDeleteObjects = 1000

func (s *Server) deleteObjects(w http.ResponseWriter, req *request) *s3Error {
	if !s.bucketExists(req.bucket) {
		return noSuchBucket(req.bucket)
	}
	body, perr := readPayload(req.r, req.caller, maxXMLBodyBytes)
	if perr != nil {
		return perr
	}
	var dr deleteRequest
	if err := xml.Unmarshal(body.data, &dr); err != nil || len(dr.Objects) == 0 || len(dr.Objects) > maxDeleteObjects {
		return newErrMsg("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema: send 1 to 1000 <Object><Key> elements inside <Delete>")
	}
	res := deleteResult{Xmlns: s3Namespace}
	s.mu.Lock()
	b, ok := s.buckets[req.bucket]
	if !ok {
		s.mu.Unlock()
		return noSuchBucket(req.bucket)
	}
	for _, o := range dr.Objects {
		b.remove(o.Key)
		if !dr.Quiet {
			res.Deleted = append(res.Deleted, struct {
				Key string `xml:"Key"`
			}{o.Key})
		}
	}
	s.mu.Unlock()
	return writeXML(w, http.StatusOK, res)
}

// remove deletes a key if present; the caller holds Server.mu for writing.
func (b *bucket) remove(key string) {
	if o, ok := b.objects[key]; ok {
		b.bytes -= uint64(len(o.data))
		delete(b.objects, key)
	}
}

// Continuation tokens are opaque to clients; here they carry the last name returned.
func encodeToken(last string) string { return base64.RawURLEncoding.EncodeToString([]byte(last)) }

func decodeToken(tok string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// sortedKeys returns the keys of a bucket that start with prefix, sorted; the
// caller holds Server.mu.
func (b *bucket) sortedKeys(prefix string) []*object {
	out := make([]*object, 0, len(b.objects))
	for k, o := range b.objects {
		if strings.HasPrefix(k, prefix) {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}
