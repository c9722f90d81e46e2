package s3emu

import (
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func TestLocate(t *testing.T) {
	s, err := New(Config{Keys: newFakeKeys(), Region: testRegion, Domains: []string{"localhost", "S3.Localhost."}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ host, target, bucket, key string }{
		{"127.0.0.1:9000", "/bkt/a/b", "bkt", "a/b"},
		{"127.0.0.1:9000", "/", "", ""},
		{"127.0.0.1:9000", "/bkt", "bkt", ""},
		{"127.0.0.1:9000", "/bkt/", "bkt", ""},
		{"127.0.0.1:9000", "/bkt//x", "bkt", "/x"},
		{"localhost:9000", "/bkt/k", "bkt", "k"},
		{"s3.localhost:9000", "/bkt/k", "bkt", "k"},
		{"bkt.s3.localhost:9000", "/a/b%20c", "bkt", "a/b c"},
		{"BKT.S3.LOCALHOST", "/k", "bkt", "k"},
		{"bkt.localhost", "/", "bkt", ""},
		{"my.dotted.bucket.localhost:1", "/k", "my.dotted.bucket", "k"},
		{"bkt.example.com", "/other/k", "other", "k"},
	} {
		r := httptest.NewRequest(http.MethodGet, tc.target, nil)
		r.Host = tc.host
		if b, k := s.locate(r); b != tc.bucket || k != tc.key {
			t.Errorf("%s%s: bucket %q key %q, want %q %q", tc.host, tc.target, b, k, tc.bucket, tc.key)
		}
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []Config{
		{Region: testRegion},
		{Keys: newFakeKeys()},
		{Keys: newFakeKeys(), Region: testRegion, Domains: []string{"localhost:9000"}},
		{Keys: newFakeKeys(), Region: testRegion, MaxObjectBytes: -1},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	s, err := New(Config{Keys: newFakeKeys(), Region: testRegion})
	if err != nil || s.cfg.MaxObjectBytes != DefaultMaxObjectBytes || s.cfg.Clock == nil || s.cfg.Logger == nil {
		t.Errorf("defaults: %v %+v", err, s.cfg)
	}
}

func TestValidBucketName(t *testing.T) {
	for name, want := range map[string]bool{
		"abc": true, "my-bucket.v2": true, "a": false, "ab": false, strings.Repeat("a", 64): false,
		"Upper": false, "-lead": false, "trail-": false, "a..b": false, "a.-b": false, "192.168.1.1": false, "under_score": false,
	} {
		if validBucketName(name) != want {
			t.Errorf("validBucketName(%q) = %v", name, !want)
		}
	}
}

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		h                string
		size, start, end int64
		partial, refused bool
	}{
		{"bytes=0-4", 10, 0, 4, true, false},
		{"bytes=5-", 10, 5, 9, true, false},
		{"bytes=-3", 10, 7, 9, true, false},
		{"bytes=-30", 10, 0, 9, true, false},
		{"bytes=8-100", 10, 8, 9, true, false},
		{"bytes=10-", 10, 0, 0, false, true},
		{"bytes=-0", 10, 0, 0, false, true},
		{"bytes=0-1", 0, 0, 0, false, true},
		{"bytes=0-1,3-4", 10, 0, 0, false, false},
		{"bytes=4-2", 10, 0, 0, false, false},
		{"items=0-1", 10, 0, 0, false, false},
		{"", 10, 0, 0, false, false},
	} {
		start, end, partial, perr := parseRange(tc.h, tc.size)
		if start != tc.start || end != tc.end || partial != tc.partial || (perr != nil) != tc.refused {
			t.Errorf("parseRange(%q, %d) = %d-%d partial %v err %v", tc.h, tc.size, start, end, partial, perr)
		}
	}
}

// TestListing pins delimiter, pagination and marker semantics on the store.
func TestListing(t *testing.T) {
	s, err := New(Config{Keys: newFakeKeys(), Region: testRegion})
	if err != nil {
		t.Fatal(err)
	}
	b := &bucket{name: "lst", objects: map[string]*object{}}
	for _, k := range []string{"a", "b/1", "b/2", "b/3", "c/x/1", "c/y", "d"} {
		b.objects[k] = &object{key: k}
	}
	s.buckets["lst"] = b
	type step struct {
		items     []string
		truncated bool
	}
	page := func(q listQuery) step {
		p, perr := s.list("lst", q)
		if perr != nil {
			t.Fatal(perr)
		}
		var items []string
		for _, o := range p.objects {
			items = append(items, o.key)
		}
		items = append(items, p.prefixes...)
		slices.Sort(items)
		return step{items, p.truncated}
	}
	// Pages of two with a delimiter: a common prefix counts once and is never repeated.
	var got []step
	after := ""
	for {
		p, _ := s.list("lst", listQuery{delimiter: "/", maxKeys: 2, after: after})
		st := page(listQuery{delimiter: "/", maxKeys: 2, after: after})
		got = append(got, st)
		if !p.truncated {
			break
		}
		after = p.last
	}
	want := []step{{[]string{"a", "b/"}, true}, {[]string{"c/", "d"}, false}}
	if !slices.EqualFunc(got, want, func(a, b step) bool { return slices.Equal(a.items, b.items) && a.truncated == b.truncated }) {
		t.Errorf("paged = %v, want %v", got, want)
	}
	if st := page(listQuery{prefix: "c/", delimiter: "/", maxKeys: 1000}); !slices.Equal(st.items, []string{"c/x/", "c/y"}) {
		t.Errorf("prefix c/: %v", st.items)
	}
	if st := page(listQuery{after: "b/2", maxKeys: 1000}); !slices.Equal(st.items, []string{"b/3", "c/x/1", "c/y", "d"}) {
		t.Errorf("after b/2: %v", st.items)
	}
	if st := page(listQuery{maxKeys: 0}); len(st.items) != 0 || st.truncated {
		t.Errorf("max-keys 0: %+v", st)
	}
	if st := page(listQuery{maxKeys: 7}); len(st.items) != 7 || st.truncated {
		t.Errorf("exactly max-keys: %+v", st)
	}
}

// TestListXML checks the wire shape of a listing, including encoding-type=url.
func TestListXML(t *testing.T) {
	h := newHarness(t, false)
	now := h.clock.Now()
	h.do(t, h.rawRequest(t, http.MethodPut, "/xmlb", nil, testKeyID, testSecret, now, nil, nil))
	h.do(t, h.rawRequest(t, http.MethodPut, "/xmlb/a%20b/c", []byte("x"), testKeyID, testSecret, now, nil, nil))
	rep := h.do(t, h.rawRequest(t, http.MethodGet, "/xmlb?list-type=2&delimiter=%2F&encoding-type=url&fetch-owner=true", nil, testKeyID, testSecret, now, nil, nil))
	if rep.status != http.StatusOK {
		t.Fatalf("ListObjectsV2: %d %s", rep.status, rep.body)
	}
	for _, want := range []string{`<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`, "<KeyCount>1</KeyCount>",
		"<CommonPrefixes><Prefix>a+b%2F</Prefix></CommonPrefixes>", "<EncodingType>url</EncodingType>", "<IsTruncated>false</IsTruncated>"} {
		if !strings.Contains(rep.body, want) {
			t.Errorf("body lacks %s:\n%s", want, rep.body)
		}
	}
	rep = h.do(t, h.rawRequest(t, http.MethodGet, "/xmlb?fetch-owner=true", nil, testKeyID, testSecret, now, nil, nil))
	var v1 listBucketResultV1
	if err := xml.Unmarshal([]byte(rep.body), &v1); err != nil || len(v1.Contents) != 1 || v1.Contents[0].Key != "a b/c" ||
		v1.Contents[0].Owner == nil || v1.Contents[0].Owner.ID != testOwner || v1.Contents[0].StorageClass != "STANDARD" {
		t.Errorf("ListObjects v1: %v\n%s", err, rep.body)
	}
	rep = h.do(t, h.rawRequest(t, http.MethodGet, "/xmlb?location", nil, testKeyID, testSecret, now, nil, nil))
	if !strings.Contains(rep.body, `<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`+testRegion+`</LocationConstraint>`) {
		t.Errorf("GetBucketLocation: %s", rep.body)
	}
	rep = h.do(t, h.rawRequest(t, http.MethodGet, "/xmlb?acl", nil, testKeyID, testSecret, now, nil, nil))
	if rep.status != http.StatusNotImplemented || rep.err.Code != "NotImplemented" {
		t.Errorf("?acl: %d %s", rep.status, rep.err.Code)
	}
	rep = h.do(t, h.rawRequest(t, http.MethodGet, "/xmlb?list-type=2&continuation-token=%25%25", nil, testKeyID, testSecret, now, nil, nil))
	if rep.err.Code != "InvalidArgument" {
		t.Errorf("bad continuation token: %d %s", rep.status, rep.err.Code)
	}
}
