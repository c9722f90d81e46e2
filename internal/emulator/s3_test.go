package emulator

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/cwcreds/cwcreds/internal/cwobject"
)

// s3Client is an aws-sdk-go-v2 S3 client signing with k against the env's S3
// endpoint, path style, without retries.
func (v *env) s3Client(k cwobject.AccessKey) *s3.Client {
	return s3.New(s3.Options{
		Region:                     v.e.Region(),
		Credentials:                credentials.NewStaticCredentialsProvider(k.AccessKeyID, k.SecretKey, ""),
		HTTPClient:                 v.s3.Client(),
		BaseEndpoint:               aws.String(v.s3.URL),
		UsePathStyle:               true,
		Retryer:                    aws.NopRetryer{},
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

func (v *env) createBucket(k cwobject.AccessKey, name string) {
	v.t.Helper()
	_, err := v.s3Client(k).CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)})
	if err != nil {
		v.t.Fatalf("create bucket %s: %v", name, err)
	}
}

func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func TestS3EndToEndWithMintedKey(t *testing.T) {
	v := newEnv(t)
	k := v.mintJWTKey(3600)
	c := v.s3Client(k)
	ctx := context.Background()
	v.createBucket(k, "models")
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("models"), Key: aws.String("a.txt"), Body: strings.NewReader("hello world"),
	}); err != nil {
		t.Fatalf("put object: %v", err)
	}
	out, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err != nil {
		t.Fatalf("list buckets: %v", err)
	}
	if len(out.Buckets) != 1 || aws.ToString(out.Buckets[0].Name) != "models" {
		t.Fatalf("buckets = %+v, want [models]", out.Buckets)
	}

	// The API's bucket info reflects what S3 holds.
	r := v.admin(cwobject.OpGetBucketInfo, pathWith(cwobject.OpGetBucketInfo.Path, "bucketName", "models"), nil)
	r.expectOK(t)
	info := r.json(t)["info"].(map[string]any)
	usage := info["usage"].([]any)
	if len(usage) != 2 {
		t.Fatalf("usage = %v", usage)
	}
	size := usage[0].(map[string]any)
	if size["measurementType"] != cwobject.UsageBucketSizeBytes || size["value"] != "11" || size["valueHumanReadable"] != "11 B" {
		t.Fatalf("size usage = %v", size)
	}
	count := usage[1].(map[string]any)
	if count["measurementType"] != cwobject.UsageObjectCount || count["value"] != "1" {
		t.Fatalf("count usage = %v", count)
	}
	if info["location"] != DefaultRegion || info["orgId"] != v.e.OrgID() {
		t.Fatalf("info = %v", info)
	}

	v.admin(cwobject.OpRevokeAccessKeyByAccessKey, "", map[string]string{"accessKey": k.AccessKeyID}).expectOK(t)
	_, err = c.ListBuckets(ctx, &s3.ListBucketsInput{})
	if err == nil {
		t.Fatal("list buckets with a revoked key succeeded")
	}
	if code := apiErrorCode(err); code != "InvalidAccessKeyId" {
		t.Fatalf("revoked key: error code %q (%v), want InvalidAccessKeyId", code, err)
	}
	v.noSecretsLogged(k.SecretKey, v.e.AdminToken())
}

func TestS3RefusesKeyBeforePropagation(t *testing.T) {
	v := newEnv(t, func(c *Config) { c.KeyPropagationDelay = 5 * time.Second })
	k := v.mintJWTKey(3600)
	c := v.s3Client(k)
	if _, err := c.ListBuckets(context.Background(), &s3.ListBucketsInput{}); err == nil {
		t.Fatal("a key younger than the propagation delay was accepted")
	}
	v.clock.Advance(5 * time.Second)
	if _, err := c.ListBuckets(context.Background(), &s3.ListBucketsInput{}); err != nil {
		t.Fatalf("after the propagation delay: %v", err)
	}
}

func TestStartServesOnLoopback(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if e.APIURL() != "" {
		t.Fatal("APIURL set before Start")
	}
	if err := e.Wait(); err == nil {
		t.Fatal("Wait before Start did not fail")
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := e.Start(ctx, "127.0.0.1:0", "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx, "127.0.0.1:0", "127.0.0.1:0"); err == nil {
		t.Fatal("second Start did not fail")
	}
	if !strings.HasPrefix(e.APIURL(), "http://127.0.0.1:") || !strings.HasPrefix(e.S3URL(), "http://127.0.0.1:") {
		t.Fatalf("urls %q %q", e.APIURL(), e.S3URL())
	}
	if got, want := e.DevIssuer().URL(), e.APIURL()+DevIssuerPath; got != want {
		t.Fatalf("dev issuer url %q, want %q", got, want)
	}
	// The dev issuer answers discovery over real HTTP at its URL.
	resp, err := e.cfg.HTTPClient.Get(e.DevIssuer().URL() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("discovery status %d", resp.StatusCode)
	}
	// A token from the new dev issuer is exchanged through the live listener.
	tok, err := e.DevIssuer().Mint(devMint("ci-job"))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := newJSONRequest(ctx, "POST", e.APIURL()+cwobject.OpCreateAccessKeyFromOIDC.Path,
		map[string]any{"orgId": e.OrgID(), "oidcToken": tok, "durationSeconds": 60})
	resp, err = e.cfg.HTTPClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("oidc exchange status %d", resp.StatusCode)
	}
	cancel()
	if err := e.Wait(); err != nil {
		t.Fatalf("Wait: %v", err)
	}
}
