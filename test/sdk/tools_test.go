package sdk_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The real SDKs are required: a missing one fails the test with the fix.
const installHint = "run scripts/install-test-deps (it installs python3-boto3, awscli, node and test/js/node_modules)"

func requireBoto3(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatalf("python3 is missing: %s", installHint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, _, err := runTool(ctx, cleanEnv(), "", "python3", "-c", "import boto3, botocore"); err != nil {
		t.Fatalf("python3 cannot import boto3 (%v): %s", err, installHint)
	}
}

func requireAWSCLI(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("aws"); err != nil {
		t.Fatalf("the aws CLI is missing: %s", installHint)
	}
}

// requireNodeSDK returns test/js, where the pinned AWS SDK for JavaScript lives.
func requireNodeSDK(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is missing: %s", installHint)
	}
	dir := filepath.Join(repoRoot(t), "test", "js")
	for _, pkg := range []string{"credential-providers", "client-s3"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "@aws-sdk", pkg, "package.json")); err != nil {
			t.Fatalf("test/js/node_modules/@aws-sdk/%s is missing: %s", pkg, installHint)
		}
	}
	return dir
}
