package sdk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// The Go SDK runs in a child process of the test binary, so that
// config.LoadDefaultConfig reads a real process environment
// (AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE,
// AWS_ENDPOINT_URL_S3, AWS_REGION) exactly as a user's program would, and tests
// can run in parallel without sharing os.Setenv.
const (
	childModeEnv     = "CWCREDS_SDK_TEST_CHILD" // "go-s3"
	childBucketEnv   = "CWCREDS_SDK_TEST_BUCKET"
	childSecondsEnv  = "CWCREDS_SDK_TEST_SECONDS"  // loop this long; 0: one round
	childIntervalEnv = "CWCREDS_SDK_TEST_INTERVAL" // pause between rounds, e.g. 300ms
)

// sdkReport is what every SDK driver (Go child, python, node) prints as one JSON
// line on stdout.
type sdkReport struct {
	SDK        string   `json:"sdk"`
	Provider   string   `json:"provider"` // the credential source the SDK says it used
	KeyIDs     []string `json:"keyIds"`   // distinct access key ids it signed with, in order
	EmptyToken bool     `json:"emptyToken"`
	Rounds     int      `json:"rounds"`
	Calls      int      `json:"calls"`
	Failures   []string `json:"failures"`
}

func runChild(mode string) int {
	if mode != "go-s3" {
		fmt.Fprintf(os.Stderr, "unknown child mode %q\n", mode)
		return 2
	}
	rep, err := goS3(context.Background())
	if err != nil {
		rep.Failures = append(rep.Failures, err.Error())
	}
	var out bytes.Buffer
	_ = json.NewEncoder(&out).Encode(rep)
	_, _ = os.Stdout.Write(out.Bytes())
	if len(rep.Failures) > 0 {
		return 1
	}
	return 0
}

// goS3 creates a bucket, then puts and lists an object per round, for the
// configured duration, with keys from the default credential chain.
func goS3(ctx context.Context) (sdkReport, error) {
	rep := sdkReport{SDK: "aws-sdk-go-v2"}
	bucket := os.Getenv(childBucketEnv)
	seconds, _ := strconv.Atoi(os.Getenv(childSecondsEnv))
	interval, _ := time.ParseDuration(os.Getenv(childIntervalEnv))
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return rep, fmt.Errorf("load config: %w", err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	seen := map[string]bool{}
	note := func() error {
		c, err := cfg.Credentials.Retrieve(ctx)
		if err != nil {
			return fmt.Errorf("retrieve credentials: %w", err)
		}
		rep.Provider = c.Source
		rep.EmptyToken = c.SessionToken == ""
		if !seen[c.AccessKeyID] {
			seen[c.AccessKeyID] = true
			rep.KeyIDs = append(rep.KeyIDs, c.AccessKeyID)
		}
		return nil
	}
	if err := note(); err != nil {
		return rep, err
	}
	rep.Calls++
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return rep, fmt.Errorf("create bucket: %w", err)
	}
	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	for {
		rep.Rounds++
		key := fmt.Sprintf("go/%04d.txt", rep.Rounds)
		if err := note(); err != nil {
			rep.Failures = append(rep.Failures, err.Error())
		}
		rep.Calls++
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader([]byte("hello from go"))}); err != nil {
			rep.Failures = append(rep.Failures, "put object: "+err.Error())
		}
		rep.Calls++
		out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(key)})
		if err != nil {
			rep.Failures = append(rep.Failures, "list objects: "+err.Error())
		} else if !listed(out.Contents, key) {
			rep.Failures = append(rep.Failures, "list objects: "+key+" is missing")
		}
		if !time.Now().Add(interval).Before(deadline) {
			break
		}
		time.Sleep(interval) // pacing a real client's calls, not waiting for a condition
	}
	if len(rep.Failures) > 0 {
		return rep, errors.New("some calls failed")
	}
	return rep, nil
}

func listed(objs []types.Object, key string) bool {
	for _, o := range objs {
		if aws.ToString(o.Key) == key {
			return true
		}
	}
	return false
}
