package s3emu

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestSDKAwkwardKeys round-trips keys whose escaping differs between clients and
// empty objects (the SDK must not sign content-length: 0).
func TestSDKAwkwardKeys(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", useTLS), func(t *testing.T) {
			h := newHarness(t, useTLS)
			c := h.s3Client(testKeyID, testSecret, true)
			ctx := t.Context()
			if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("awkward")}); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"we!rd ('*)~ key.txt", "ünï/cødé", "a%2Fb", "q?x=1&y#z", "plus+sign", "dot/./seg", "double//slash", "empty"} {
				body := "body of " + k
				if k == "empty" {
					body = ""
				}
				if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("awkward"), Key: aws.String(k), Body: strings.NewReader(body)}); err != nil {
					t.Fatalf("PutObject %q: %v", k, err)
				}
				out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("awkward"), Key: aws.String(k)})
				if err != nil {
					t.Fatalf("GetObject %q: %v", k, err)
				}
				got, _ := io.ReadAll(out.Body)
				out.Body.Close()
				if string(got) != body {
					t.Errorf("GetObject %q = %q", k, got)
				}
				list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("awkward"), Prefix: aws.String(k)})
				if err != nil || len(list.Contents) != 1 || aws.ToString(list.Contents[0].Key) != k {
					t.Errorf("ListObjectsV2 prefix %q: %v %v", k, err, objectKeys(list.Contents))
				}
			}
		})
	}
}

// TestConcurrentClients exercises the store from many goroutines (run with -race).
func TestConcurrentClients(t *testing.T) {
	h := newHarness(t, false)
	c := h.s3Client(testKeyID, testSecret, true)
	ctx := t.Context()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("busy")}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 10 {
				k := fmt.Sprintf("g%d/k%d", g, i)
				if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("busy"), Key: aws.String(k), Body: strings.NewReader(k)}); err != nil {
					errs <- err
					return
				}
				if _, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("busy"), Prefix: aws.String("g")}); err != nil {
					errs <- err
					return
				}
				_ = h.srv.Buckets()
				if i%2 == 0 {
					if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("busy"), Key: aws.String(k)}); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if m, _ := h.srv.Bucket("busy"); m.Objects != 40 {
		t.Errorf("objects left = %d, want 40", m.Objects)
	}
}

// TestSignedStreamingUpload sends STREAMING-AWS4-HMAC-SHA256-PAYLOAD: the seed
// signature is verified, the chunk signatures are not (documented).
func TestSignedStreamingUpload(t *testing.T) {
	h := newHarness(t, false)
	now := h.clock.Now()
	h.do(t, h.rawRequest(t, http.MethodPut, "/stream", nil, testKeyID, testSecret, now, nil, nil))
	data := bytes.Repeat([]byte("stream "), 100)
	enc := encodeAWSChunked(data, 64, nil, true)
	sign := func(secret string) *http.Request {
		req, _ := http.NewRequest(http.MethodPut, h.pathURL()+"/stream/obj", bytes.NewReader(enc))
		req.Header.Set("X-Amz-Content-Sha256", payloadStreamingSigned)
		req.Header.Set("Content-Encoding", "aws-chunked")
		req.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(data)))
		creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: secret}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadStreamingSigned, "s3", testRegion, now,
			func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
			t.Fatal(err)
		}
		return req
	}
	if rep := h.do(t, sign(testSecret)); rep.status != http.StatusOK {
		t.Fatalf("signed streaming upload: %d %s %s", rep.status, rep.err.Code, rep.err.Message)
	}
	if rep := h.do(t, h.rawRequest(t, http.MethodGet, "/stream/obj", nil, testKeyID, testSecret, now, nil, nil)); rep.body != string(data) {
		t.Errorf("stored %d bytes, want %d", len(rep.body), len(data))
	}
	if rep := h.do(t, sign("cwowrongwrongwrongwrongwrongwrongwrongwron")); rep.err.Code != "SignatureDoesNotMatch" {
		t.Errorf("bad seed signature: %d %s", rep.status, rep.err.Code)
	}
}
