// Package sdk_test drives the real cwcreds binary with real AWS SDKs.
//
// TestMain builds cmd/cwcreds once; each test starts an in-process emulator (the
// CoreWeave API and its S3 endpoint, which verifies SigV4 for the keys it mints),
// runs `cwcreds serve` against it as a child process, and points an SDK at the
// endpoint: aws-sdk-go-v2 (a child process of this test binary, so that
// config.LoadDefaultConfig reads a real environment), boto3, the aws CLI v1 and the
// AWS SDK for JavaScript v3. Every S3 request goes through a recorder that notes
// which key signed it, so each test can prove the SDK used the keys `serve` handed
// out. After all tests, TestMain scans everything the serve children wrote for
// secrets, tokens and JWTs.
//
// Missing tools are a failure, not a skip: run scripts/install-test-deps.
package sdk_test
