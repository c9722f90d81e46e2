package s3emu

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// TestSDKLifecycle drives the whole bucket and object lifecycle with
// aws-sdk-go-v2, path and virtual-host style, over HTTP and over TLS (where the
// SDK switches PutObject to aws-chunked with a trailing checksum).
func TestSDKLifecycle(t *testing.T) {
	for _, tc := range []struct {
		name           string
		tls, pathStyle bool
	}{
		{"http path style", false, true},
		{"http virtual host", false, false},
		{"tls path style", true, true},
		{"tls virtual host", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.tls)
			c := h.s3Client(testKeyID, testSecret, tc.pathStyle)
			sdkLifecycle(t, h, c)
			if !tc.pathStyle && !h.sawAny(func(r seenRequest) bool { return strings.HasPrefix(r.host, "my-bucket."+testDomain+":") }) {
				t.Error("no request used virtual-host addressing")
			}
			if tc.pathStyle && !h.sawAny(func(r seenRequest) bool { return strings.HasPrefix(r.path, "/my-bucket/") }) {
				t.Error("no request used path-style addressing")
			}
			chunked := func(r seenRequest) bool {
				return r.method == http.MethodPut && r.payloadHash == payloadStreamingUnsignedTrlr && r.contentEncoding == "aws-chunked"
			}
			if tc.tls != h.sawAny(chunked) {
				t.Errorf("aws-chunked uploads seen = %v, want %v (the SDK uses them over TLS only)", !tc.tls, tc.tls)
			}
			if !h.sawAny(func(r seenRequest) bool { return r.method == http.MethodGet && r.checksumMode == "ENABLED" }) {
				t.Error("the SDK never asked for checksums on GetObject; the checksum path went untested")
			}
		})
	}
}

func sdkLifecycle(t *testing.T, h *harness, c *s3.Client) {
	ctx := t.Context()
	const bkt = "my-bucket"
	mustOK(t, "CreateBucket", func() error {
		_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bkt)})
		return err
	})
	// With a configuration naming the region, as the aws CLI sends it.
	mustOK(t, "CreateBucket with location", func() error {
		_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("other-bucket"),
			CreateBucketConfiguration: &types.CreateBucketConfiguration{LocationConstraint: types.BucketLocationConstraint(testRegion)}})
		return err
	})
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bkt)})
	wantAPIError(t, err, "BucketAlreadyOwnedByYou", http.StatusConflict)

	hb, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bkt)})
	if err != nil {
		t.Fatalf("HeadBucket: %v", err)
	}
	if aws.ToString(hb.BucketRegion) != testRegion {
		t.Errorf("HeadBucket region = %q", aws.ToString(hb.BucketRegion))
	}
	_, err = c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("no-such-bucket")})
	wantStatus(t, err, http.StatusNotFound)

	payload := bytes.Repeat([]byte("0123456789abcdef"), 5000) // 80 kB: several aws-chunked chunks
	keys := []string{"a.txt", "dir/b.txt", "dir/c d+e.txt", "dir/sub/f.txt", "z/long/path/x"}
	for _, k := range keys {
		body := payload
		if k != "a.txt" {
			body = []byte("content of " + k)
		}
		mustOK(t, "PutObject "+k, func() error {
			out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bkt), Key: aws.String(k),
				Body: bytes.NewReader(body), ContentType: aws.String("text/plain"),
				Metadata: map[string]string{"origin": "sdk"}})
			if err == nil && aws.ToString(out.ETag) != etagOf(body) {
				t.Errorf("PutObject ETag = %s, want %s", aws.ToString(out.ETag), etagOf(body))
			}
			return err
		})
	}

	get, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bkt), Key: aws.String("a.txt")})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	got, err := io.ReadAll(get.Body)
	get.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Errorf("GetObject returned %d bytes, want the %d put", len(got), len(payload))
	}
	// The SDK sent a CRC32 with the upload (header over HTTP, trailer over TLS),
	// asked for it back and checked the body against it while reading.
	if get.ChecksumCRC32 == nil || *get.ChecksumCRC32 != checksumOf("crc32", payload) {
		t.Errorf("GetObject CRC32 = %v, want %s", aws.ToString(get.ChecksumCRC32), checksumOf("crc32", payload))
	}
	if aws.ToString(get.ContentType) != "text/plain" || aws.ToString(get.ETag) != etagOf(payload) ||
		aws.ToInt64(get.ContentLength) != int64(len(payload)) || get.LastModified == nil || get.Metadata["origin"] != "sdk" {
		t.Errorf("GetObject headers: type %q etag %q length %d modified %v meta %v",
			aws.ToString(get.ContentType), aws.ToString(get.ETag), aws.ToInt64(get.ContentLength), get.LastModified, get.Metadata)
	}

	rng, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bkt), Key: aws.String("dir/c d+e.txt"), Range: aws.String("bytes=0-6")})
	if err != nil {
		t.Fatalf("GetObject range: %v", err)
	}
	part, _ := io.ReadAll(rng.Body)
	rng.Body.Close()
	if string(part) != "content" || aws.ToString(rng.ContentRange) != "bytes 0-6/24" {
		t.Errorf("range read %q, Content-Range %q", part, aws.ToString(rng.ContentRange))
	}

	ho, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bkt), Key: aws.String("dir/sub/f.txt")})
	if err != nil || aws.ToInt64(ho.ContentLength) != int64(len("content of dir/sub/f.txt")) {
		t.Errorf("HeadObject: %v, length %d", err, aws.ToInt64(ho.ContentLength))
	}
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bkt), Key: aws.String("missing")})
	wantAPIError(t, err, "NoSuchKey", http.StatusNotFound)
	_, err = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bkt), Key: aws.String("missing")})
	wantStatus(t, err, http.StatusNotFound)

	// Listing: everything, then by prefix with a delimiter, then paginated.
	if names := listAll(t, c, &s3.ListObjectsV2Input{Bucket: aws.String(bkt)}); !slices.Equal(names, keys) {
		t.Errorf("ListObjectsV2 = %v, want %v", names, keys)
	}
	lo, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bkt), Prefix: aws.String("dir/"), Delimiter: aws.String("/")})
	if err != nil {
		t.Fatalf("ListObjectsV2 with delimiter: %v", err)
	}
	if k := objectKeys(lo.Contents); !slices.Equal(k, []string{"dir/b.txt", "dir/c d+e.txt"}) ||
		len(lo.CommonPrefixes) != 1 || aws.ToString(lo.CommonPrefixes[0].Prefix) != "dir/sub/" || aws.ToInt32(lo.KeyCount) != 3 {
		t.Errorf("ListObjectsV2 prefix dir/ delimiter /: keys %v prefixes %d count %d", k, len(lo.CommonPrefixes), aws.ToInt32(lo.KeyCount))
	}
	var pages [][]string
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bkt), Delimiter: aws.String("/"), MaxKeys: aws.Int32(1)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListObjectsV2 page: %v", err)
		}
		var page []string
		page = append(page, objectKeys(out.Contents)...)
		for _, cp := range out.CommonPrefixes {
			page = append(page, aws.ToString(cp.Prefix))
		}
		pages = append(pages, page)
	}
	if want := [][]string{{"a.txt"}, {"dir/"}, {"z/"}}; !slices.EqualFunc(pages, want, slices.Equal) {
		t.Errorf("paginated listing = %v, want %v", pages, want)
	}
	sa, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bkt), StartAfter: aws.String("dir/c d+e.txt")})
	if err != nil || !slices.Equal(objectKeys(sa.Contents), []string{"dir/sub/f.txt", "z/long/path/x"}) {
		t.Errorf("ListObjectsV2 start-after: %v %v", err, objectKeys(sa.Contents))
	}
	v1, err := c.ListObjects(ctx, &s3.ListObjectsInput{Bucket: aws.String(bkt), Prefix: aws.String("dir/"), Delimiter: aws.String("/")})
	if err != nil || !slices.Equal(objectKeys(v1.Contents), []string{"dir/b.txt", "dir/c d+e.txt"}) || len(v1.CommonPrefixes) != 1 {
		t.Errorf("ListObjects v1: %v %v", err, v1)
	}

	lb, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatalf("ListBuckets: %v", err)
	}
	var names []string
	for _, b := range lb.Buckets {
		names = append(names, aws.ToString(b.Name))
	}
	if !slices.Equal(names, []string{bkt, "other-bucket"}) {
		t.Errorf("ListBuckets = %v", names)
	}
	if m, ok := h.srv.Bucket(bkt); !ok || m.Objects != len(keys) || m.Owner != testOwner ||
		m.Bytes != uint64(len(payload)+len("content of dir/b.txt")+len("content of dir/c d+e.txt")+len("content of dir/sub/f.txt")+len("content of z/long/path/x")) {
		t.Errorf("Bucket meta = %+v", m)
	}

	_, err = c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(bkt)})
	wantAPIError(t, err, "BucketNotEmpty", http.StatusConflict)
	for _, k := range keys {
		mustOK(t, "DeleteObject "+k, func() error {
			_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bkt), Key: aws.String(k)})
			return err
		})
	}
	mustOK(t, "DeleteObject of a missing key", func() error {
		_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bkt), Key: aws.String("never-there")})
		return err
	})
	for _, b := range []string{bkt, "other-bucket"} {
		mustOK(t, "DeleteBucket "+b, func() error {
			_, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(b)})
			return err
		})
	}
	if got := h.srv.Buckets(); len(got) != 0 {
		t.Errorf("buckets left: %v", got)
	}
	_, err = c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bkt)})
	wantAPIError(t, err, "NoSuchBucket", http.StatusNotFound)
}

// TestSDKDeleteObjects covers the batch delete the aws CLI uses for rm --recursive.
func TestSDKDeleteObjects(t *testing.T) {
	h := newHarness(t, false)
	c := h.s3Client(testKeyID, testSecret, true)
	ctx := t.Context()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("batch")}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"x", "y"} {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("batch"), Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String("batch"), Delete: &types.Delete{
		Objects: []types.ObjectIdentifier{{Key: aws.String("x")}, {Key: aws.String("y")}, {Key: aws.String("absent")}}}})
	if err != nil || len(out.Deleted) != 3 {
		t.Fatalf("DeleteObjects: %v %+v", err, out)
	}
	if m, _ := h.srv.Bucket("batch"); m.Objects != 0 || m.Bytes != 0 {
		t.Errorf("after DeleteObjects: %+v", m)
	}
}

// TestSDKPresigned uses presigned GET and PUT URLs and lets one expire.
func TestSDKPresigned(t *testing.T) {
	h := newHarness(t, false)
	c := h.s3Client(testKeyID, testSecret, true)
	ctx := t.Context()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("pre")}); err != nil {
		t.Fatal(err)
	}
	ps := s3.NewPresignClient(c)
	put, err := ps.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("pre"), Key: aws.String("k y")}, s3.WithPresignExpires(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(put.Method, put.URL, strings.NewReader("presigned body"))
	for k, v := range put.SignedHeader {
		req.Header[k] = v
	}
	if rep := h.do(t, req); rep.status != http.StatusOK {
		t.Fatalf("presigned PUT: %d %s", rep.status, rep.body)
	}
	get, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("pre"), Key: aws.String("k y")}, s3.WithPresignExpires(5*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest(get.Method, get.URL, nil)
	if rep := h.do(t, req); rep.status != http.StatusOK || rep.body != "presigned body" {
		t.Fatalf("presigned GET: %d %s", rep.status, rep.body)
	}
	tampered := strings.Replace(get.URL, "k%20y", "k%20z", 1)
	req, _ = http.NewRequest(http.MethodGet, tampered, nil)
	if rep := h.do(t, req); rep.err.Code != "SignatureDoesNotMatch" {
		t.Errorf("tampered presigned URL: %d %s", rep.status, rep.err.Code)
	}
	h.clock.Advance(6 * time.Minute)
	req, _ = http.NewRequest(get.Method, get.URL, nil)
	if rep := h.do(t, req); rep.status != http.StatusForbidden || rep.err.Code != "AccessDenied" || rep.err.Message != "Request has expired" {
		t.Errorf("expired presigned GET: %d %s %q", rep.status, rep.err.Code, rep.err.Message)
	}
}

// TestSDKRefusals checks the SDK sees the refusals as S3 errors it knows.
func TestSDKRefusals(t *testing.T) {
	h := newHarness(t, false)
	ctx := t.Context()
	_, err := h.s3Client(testKeyID, "wrong-secret", true).ListBuckets(ctx, &s3.ListBucketsInput{})
	wantAPIError(t, err, "SignatureDoesNotMatch", http.StatusForbidden)
	_, err = h.s3Client("CWNOSUCHKEY00000", testSecret, false).ListBuckets(ctx, &s3.ListBucketsInput{})
	wantAPIError(t, err, "InvalidAccessKeyId", http.StatusForbidden)
	h.keys.set("CWEXPIRED0000000", "cwoexpiredsecretexpiredsecretexpiredsecre", KeyExpired)
	_, err = h.s3Client("CWEXPIRED0000000", "cwoexpiredsecretexpiredsecretexpiredsecre", true).ListBuckets(ctx, &s3.ListBucketsInput{})
	wantAPIError(t, err, "ExpiredToken", http.StatusBadRequest)
}

func etagOf(b []byte) string {
	sum := md5.Sum(b)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

func objectKeys(objs []types.Object) []string {
	var out []string
	for _, o := range objs {
		out = append(out, aws.ToString(o.Key))
	}
	return out
}

func listAll(t *testing.T, c *s3.Client, in *s3.ListObjectsV2Input) []string {
	t.Helper()
	var out []string
	p := s3.NewListObjectsV2Paginator(c, in)
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("ListObjectsV2: %v", err)
		}
		out = append(out, objectKeys(page.Contents)...)
	}
	return out
}

func mustOK(t *testing.T, what string, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantAPIError(t *testing.T, err error, code string, status int) {
	t.Helper()
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != code {
		t.Errorf("error = %v, want S3 code %s", err, code)
	}
	wantStatus(t, err, status)
}

func wantStatus(t *testing.T, err error, status int) {
	t.Helper()
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != status {
		t.Errorf("error = %v, want HTTP %d", err, status)
	}
}
