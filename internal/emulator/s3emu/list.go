package s3emu

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxListKeys is S3's ceiling and default for max-keys. [fact]
const maxListKeys = 1000

// listQuery is what both ListObjects versions ask.
type listQuery struct {
	prefix, delimiter string
	after             string // list what sorts after this key or common prefix
	maxKeys           int
}

// listPage is one page of a listing.
type listPage struct {
	objects   []*object
	prefixes  []string
	truncated bool
	last      string // the last key or common prefix on the page: the resume point
}

// list pages through a bucket's keys in order, rolling keys that contain the
// delimiter after the prefix into common prefixes. A common prefix counts once
// toward maxKeys; resuming after it skips every key under it.
func (s *Server) list(bucketName string, q listQuery) (listPage, *s3Error) {
	s.mu.RLock()
	b, ok := s.buckets[bucketName]
	if !ok {
		s.mu.RUnlock()
		return listPage{}, noSuchBucket(bucketName)
	}
	objs := b.sortedKeys(q.prefix)
	s.mu.RUnlock()

	var p listPage
	if q.maxKeys == 0 {
		return p, nil
	}
	count := 0
	for _, o := range objs {
		if o.key <= q.after {
			continue
		}
		item, isPrefix := o.key, false
		if q.delimiter != "" {
			if i := strings.Index(o.key[len(q.prefix):], q.delimiter); i >= 0 {
				item, isPrefix = o.key[:len(q.prefix)+i+len(q.delimiter)], true
				if item == q.after || (len(p.prefixes) > 0 && p.prefixes[len(p.prefixes)-1] == item) {
					continue // already returned, on this page or an earlier one
				}
			}
		}
		if count == q.maxKeys {
			p.truncated = true
			break
		}
		count++
		p.last = item
		if isPrefix {
			p.prefixes = append(p.prefixes, item)
		} else {
			p.objects = append(p.objects, o)
		}
	}
	return p, nil
}

type xmlContents struct {
	Key          string    `xml:"Key"`
	LastModified string    `xml:"LastModified"`
	ETag         string    `xml:"ETag"`
	Size         int       `xml:"Size"`
	StorageClass string    `xml:"StorageClass"`
	Owner        *xmlOwner `xml:"Owner,omitempty"`
}

type xmlPrefix struct {
	Prefix string `xml:"Prefix"`
}

type listBucketResultV2 struct {
	XMLName               xml.Name      `xml:"ListBucketResult"`
	Xmlns                 string        `xml:"xmlns,attr"`
	Name                  string        `xml:"Name"`
	Prefix                string        `xml:"Prefix"`
	Delimiter             string        `xml:"Delimiter,omitempty"`
	MaxKeys               int           `xml:"MaxKeys"`
	EncodingType          string        `xml:"EncodingType,omitempty"`
	KeyCount              int           `xml:"KeyCount"`
	ContinuationToken     string        `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string        `xml:"NextContinuationToken,omitempty"`
	StartAfter            string        `xml:"StartAfter,omitempty"`
	IsTruncated           bool          `xml:"IsTruncated"`
	Contents              []xmlContents `xml:"Contents"`
	CommonPrefixes        []xmlPrefix   `xml:"CommonPrefixes"`
}

type listBucketResultV1 struct {
	XMLName        xml.Name      `xml:"ListBucketResult"`
	Xmlns          string        `xml:"xmlns,attr"`
	Name           string        `xml:"Name"`
	Prefix         string        `xml:"Prefix"`
	Marker         string        `xml:"Marker"`
	NextMarker     string        `xml:"NextMarker,omitempty"`
	MaxKeys        int           `xml:"MaxKeys"`
	Delimiter      string        `xml:"Delimiter,omitempty"`
	EncodingType   string        `xml:"EncodingType,omitempty"`
	IsTruncated    bool          `xml:"IsTruncated"`
	Contents       []xmlContents `xml:"Contents"`
	CommonPrefixes []xmlPrefix   `xml:"CommonPrefixes"`
}

// listCommon reads the parameters both versions share.
func listCommon(q url.Values) (listQuery, func(string) string, *s3Error) {
	lq := listQuery{prefix: q.Get("prefix"), delimiter: q.Get("delimiter"), maxKeys: maxListKeys}
	if v := q.Get("max-keys"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return lq, nil, &s3Error{Code: "InvalidArgument", ArgumentName: "max-keys", ArgumentValue: v,
				Message: "Provided max-keys not an integer or within integer range"}
		}
		lq.maxKeys = min(n, maxListKeys)
	}
	// botocore asks for encoding-type=url by default and decodes what it gets.
	enc := func(s string) string { return s }
	switch v := q.Get("encoding-type"); v {
	case "":
	case "url":
		enc = url.QueryEscape
	default:
		return lq, nil, &s3Error{Code: "InvalidArgument", ArgumentName: "encoding-type", ArgumentValue: v,
			Message: "Invalid Encoding Method specified in Request"}
	}
	return lq, enc, nil
}

func contentsOf(objs []*object, enc func(string) string, owner *xmlOwner) []xmlContents {
	out := make([]xmlContents, 0, len(objs))
	for _, o := range objs {
		out = append(out, xmlContents{Key: enc(o.key), LastModified: o.modified.UTC().Format(timeFormatXML),
			ETag: o.etag, Size: len(o.data), StorageClass: "STANDARD", Owner: owner})
	}
	return out
}

func prefixesOf(ps []string, enc func(string) string) []xmlPrefix {
	out := make([]xmlPrefix, 0, len(ps))
	for _, p := range ps {
		out = append(out, xmlPrefix{Prefix: enc(p)})
	}
	return out
}

func (s *Server) listObjectsV2(w http.ResponseWriter, req *request) *s3Error {
	q := req.r.URL.Query()
	lq, enc, perr := listCommon(q)
	if perr != nil {
		return perr
	}
	token := q.Get("continuation-token")
	if q.Has("continuation-token") {
		after, ok := decodeToken(token)
		if !ok || token == "" {
			return &s3Error{Code: "InvalidArgument", ArgumentName: "continuation-token", Message: "The continuation token provided is incorrect"}
		}
		lq.after = after
	} else {
		lq.after = q.Get("start-after")
	}
	page, perr := s.list(req.bucket, lq)
	if perr != nil {
		return perr
	}
	var owner *xmlOwner
	if q.Get("fetch-owner") == "true" {
		o := s.bucketOwner(req)
		owner = &o
	}
	res := listBucketResultV2{
		Xmlns: s3Namespace, Name: req.bucket, Prefix: enc(lq.prefix), Delimiter: enc(lq.delimiter),
		MaxKeys: lq.maxKeys, KeyCount: len(page.objects) + len(page.prefixes),
		ContinuationToken: token, StartAfter: enc(q.Get("start-after")), IsTruncated: page.truncated,
		Contents: contentsOf(page.objects, enc, owner), CommonPrefixes: prefixesOf(page.prefixes, enc),
	}
	if q.Get("encoding-type") != "" {
		res.EncodingType = "url"
	}
	if page.truncated {
		res.NextContinuationToken = encodeToken(page.last)
	}
	return writeXML(w, http.StatusOK, res)
}

func (s *Server) listObjectsV1(w http.ResponseWriter, req *request) *s3Error {
	q := req.r.URL.Query()
	lq, enc, perr := listCommon(q)
	if perr != nil {
		return perr
	}
	lq.after = q.Get("marker")
	page, perr := s.list(req.bucket, lq)
	if perr != nil {
		return perr
	}
	owner := s.bucketOwner(req)
	res := listBucketResultV1{
		Xmlns: s3Namespace, Name: req.bucket, Prefix: enc(lq.prefix), Marker: enc(lq.after),
		MaxKeys: lq.maxKeys, Delimiter: enc(lq.delimiter), IsTruncated: page.truncated,
		Contents: contentsOf(page.objects, enc, &owner), CommonPrefixes: prefixesOf(page.prefixes, enc),
	}
	if q.Get("encoding-type") != "" {
		res.EncodingType = "url"
	}
	// S3 sends NextMarker only with a delimiter; clients use the last key otherwise. [fact]
	if page.truncated && lq.delimiter != "" {
		res.NextMarker = enc(page.last)
	}
	return writeXML(w, http.StatusOK, res)
}

// bucketOwner is the owner S3 reports on listed objects: the bucket's creator.
func (s *Server) bucketOwner(req *request) xmlOwner {
	if m, ok := s.Bucket(req.bucket); ok && m.Owner != "" {
		return xmlOwner{ID: m.Owner, DisplayName: m.Owner}
	}
	return ownerOf(req.caller)
}
