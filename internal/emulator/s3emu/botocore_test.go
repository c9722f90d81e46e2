package s3emu

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// botoScript drives boto3 against the emulator. It reads everything from the
// environment (credentials included, so they never reach a command line) and
// prints one JSON object. Host names under .localhost resolve to 127.0.0.1 inside
// the script, the way the Go tests' dialer does, so virtual-host style needs no DNS.
const botoScript = `
import json, os, socket, sys
_gai = socket.getaddrinfo
def _local(host, *a, **k):
    if isinstance(host, str) and (host == "localhost" or host.endswith(".localhost")):
        host = "127.0.0.1"
    return _gai(host, *a, **k)
socket.getaddrinfo = _local

import boto3, botocore
from botocore.config import Config
from botocore.exceptions import ClientError

env = os.environ
s3 = boto3.client("s3",
    endpoint_url=env["S3EMU_ENDPOINT"], region_name=env["S3EMU_REGION"],
    verify=env.get("S3EMU_CA") or True,
    config=Config(signature_version="s3v4", retries={"max_attempts": 1, "mode": "standard"},
                  s3={"addressing_style": env["S3EMU_ADDRESSING"]}))
out = {"botocore": botocore.__version__}

if env["S3EMU_MODE"] == "bad-secret":
    try:
        s3.list_buckets()
        out["error"] = None
    except ClientError as e:
        out["error"] = e.response["Error"]["Code"]
        out["status"] = e.response["ResponseMetadata"]["HTTPStatusCode"]
    print(json.dumps(out))
    sys.exit(0)

b = "boto-bucket"
s3.create_bucket(Bucket=b)
s3.create_bucket(Bucket="boto-located", CreateBucketConfiguration={"LocationConstraint": env["S3EMU_REGION"]})
s3.head_bucket(Bucket=b)
body = b"hello from botocore " * 500
s3.put_object(Bucket=b, Key="dir/hello world.txt", Body=body, ContentType="text/plain")
s3.put_object(Bucket=b, Key="top+plus.txt", Body=b"top")
got = s3.get_object(Bucket=b, Key="dir/hello world.txt")
out["get_ok"] = got["Body"].read() == body
out["content_type"] = got["ContentType"]
out["etag"] = got["ETag"]
rng = s3.get_object(Bucket=b, Key="top+plus.txt", Range="bytes=1-2")
out["range"] = rng["Body"].read().decode()
v2 = s3.list_objects_v2(Bucket=b, Delimiter="/")
out["v2_keys"] = [o["Key"] for o in v2.get("Contents", [])]
out["v2_prefixes"] = [p["Prefix"] for p in v2.get("CommonPrefixes", [])]
out["v2_prefix_keys"] = [o["Key"] for o in s3.list_objects_v2(Bucket=b, Prefix="dir/").get("Contents", [])]
pages = s3.get_paginator("list_objects_v2").paginate(Bucket=b, PaginationConfig={"PageSize": 1})
out["paged_keys"] = [o["Key"] for p in pages for o in p.get("Contents", [])]
v1 = s3.get_paginator("list_objects").paginate(Bucket=b, PaginationConfig={"PageSize": 1})
out["v1_keys"] = [o["Key"] for p in v1 for o in p.get("Contents", [])]
out["buckets"] = [x["Name"] for x in s3.list_buckets()["Buckets"]]
awkward = ["we!rd ('*)~ key.txt", "\u00fcn\u00ef/c\u00f8d\u00e9", "a%2Fb", "q?x=1&y#z", "dot/./seg", "double//slash", "empty"]
out["awkward_ok"] = []
for k in awkward:
    data = b"" if k == "empty" else ("body of " + k).encode()
    s3.put_object(Bucket="boto-located", Key=k, Body=data)
    if s3.get_object(Bucket="boto-located", Key=k)["Body"].read() == data:
        out["awkward_ok"].append(k)
    s3.delete_object(Bucket="boto-located", Key=k)
import ssl, urllib.request
url = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "top+plus.txt"}, ExpiresIn=300)
ctx = ssl.create_default_context(cafile=env["S3EMU_CA"]) if env.get("S3EMU_CA") else None
with urllib.request.urlopen(url, context=ctx) as r:
    out["presigned"] = r.read().decode()
try:
    s3.get_object(Bucket=b, Key="missing")
except ClientError as e:
    out["missing"] = e.response["Error"]["Code"]
s3.delete_object(Bucket=b, Key="dir/hello world.txt")
s3.delete_object(Bucket=b, Key="top+plus.txt")
s3.delete_bucket(Bucket=b)
s3.delete_bucket(Bucket="boto-located")
out["buckets_after"] = [x["Name"] for x in s3.list_buckets()["Buckets"]]
print(json.dumps(out))
`

type botoResult struct {
	Botocore     string   `json:"botocore"`
	Error        *string  `json:"error"`
	Status       int      `json:"status"`
	GetOK        bool     `json:"get_ok"`
	ContentType  string   `json:"content_type"`
	ETag         string   `json:"etag"`
	Range        string   `json:"range"`
	V2Keys       []string `json:"v2_keys"`
	V2Prefixes   []string `json:"v2_prefixes"`
	V2PrefixKeys []string `json:"v2_prefix_keys"`
	PagedKeys    []string `json:"paged_keys"`
	V1Keys       []string `json:"v1_keys"`
	Buckets      []string `json:"buckets"`
	Missing      string   `json:"missing"`
	AwkwardOK    []string `json:"awkward_ok"`
	Presigned    string   `json:"presigned"`
	BucketsAfter []string `json:"buckets_after"`
}

// requireBoto3 fails (never skips) when the peer is missing: the project's test
// script installs it. It returns the interpreter itself, so later runs skip any
// version-manager shim in front of python3.
func requireBoto3(t *testing.T) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is not installed: run scripts/install-test-deps (scripts/test runs it), which installs python3 and boto3")
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, py, "-c", "import sys, boto3; print(sys.executable)")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3 cannot import boto3 (%v: %s): run scripts/install-test-deps (scripts/test runs it), which installs it", err, strings.TrimSpace(stderr.String()))
	}
	if exe := strings.TrimSpace(string(out)); exe != "" {
		py = exe
	}
	return py
}

// runBoto runs botoScript against the harness and decodes what it printed.
func runBoto(t *testing.T, py string, h *harness, addressing, keyID, secret, mode string) botoResult {
	t.Helper()
	endpoint := h.pathURL()
	if addressing == "virtual" {
		endpoint = h.virtualURL()
	}
	env := []string{}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		upper := strings.ToUpper(name)
		if strings.HasPrefix(upper, "AWS_") || strings.HasSuffix(upper, "_PROXY") || strings.HasPrefix(upper, "S3EMU_") {
			continue // no stray profile, credentials or proxy
		}
		env = append(env, kv)
	}
	env = append(env,
		"AWS_ACCESS_KEY_ID="+keyID, "AWS_SECRET_ACCESS_KEY="+secret,
		"AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true", "NO_PROXY=*",
		"S3EMU_ENDPOINT="+endpoint, "S3EMU_REGION="+testRegion, "S3EMU_ADDRESSING="+addressing, "S3EMU_MODE="+mode)
	if h.caPEM != nil {
		ca := filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(ca, h.caPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		env = append(env, "S3EMU_CA="+ca)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", botoScript)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	redact := func(s string) string { return strings.ReplaceAll(s, secret, "<secret>") }
	if err != nil {
		t.Fatalf("boto3 script failed: %v\nstdout: %s\nstderr: %s", err, redact(string(out)), redact(stderr.String()))
	}
	var res botoResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("boto3 script printed no JSON: %v\n%s", err, redact(string(out)))
	}
	return res
}

// TestBotocore runs the real botocore signer and aws-chunked encoder (over TLS)
// against the emulator, path and virtual-host style.
func TestBotocore(t *testing.T) {
	py := requireBoto3(t)
	for _, tc := range []struct {
		name       string
		tls        bool
		addressing string
	}{
		{"http path", false, "path"},
		{"http virtual", false, "virtual"},
		{"tls path", true, "path"},
		{"tls virtual", true, "virtual"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each run waits mostly on python's start-up
			h := newHarness(t, tc.tls)
			// boto3 dates requests by the real clock; the fake one starts there.
			res := runBoto(t, py, h, tc.addressing, testKeyID, testSecret, "ok")
			if !strings.HasPrefix(res.Botocore, "1.") {
				t.Errorf("botocore version %q", res.Botocore)
			}
			if !res.GetOK || res.ContentType != "text/plain" || res.ETag != etagOf([]byte(strings.Repeat("hello from botocore ", 500))) {
				t.Errorf("get_object: ok %v type %q etag %q", res.GetOK, res.ContentType, res.ETag)
			}
			if res.Range != "op" {
				t.Errorf("ranged get = %q", res.Range)
			}
			if !slices.Equal(res.V2Keys, []string{"top+plus.txt"}) || !slices.Equal(res.V2Prefixes, []string{"dir/"}) {
				t.Errorf("list_objects_v2 with delimiter: keys %v prefixes %v", res.V2Keys, res.V2Prefixes)
			}
			all := []string{"dir/hello world.txt", "top+plus.txt"}
			if !slices.Equal(res.V2PrefixKeys, all[:1]) || !slices.Equal(res.PagedKeys, all) || !slices.Equal(res.V1Keys, all) {
				t.Errorf("listings: prefix %v paged %v v1 %v", res.V2PrefixKeys, res.PagedKeys, res.V1Keys)
			}
			if !slices.Equal(res.Buckets, []string{"boto-bucket", "boto-located"}) || len(res.BucketsAfter) != 0 {
				t.Errorf("list_buckets: %v, after deletes %v", res.Buckets, res.BucketsAfter)
			}
			if len(res.AwkwardOK) != 7 {
				t.Errorf("awkward keys that round-tripped: %q", res.AwkwardOK)
			}
			if res.Presigned != "top" {
				t.Errorf("presigned GET = %q", res.Presigned)
			}
			if res.Missing != "NoSuchKey" {
				t.Errorf("missing key error = %q", res.Missing)
			}
			chunked := func(r seenRequest) bool {
				return r.method == "PUT" && r.payloadHash == payloadStreamingUnsignedTrlr && strings.Contains(r.contentEncoding, "aws-chunked")
			}
			if h.sawAny(chunked) != tc.tls {
				t.Errorf("botocore aws-chunked uploads seen: %v, want %v (TLS only)", !tc.tls, tc.tls)
			}
			if tc.addressing == "virtual" && !h.sawAny(func(r seenRequest) bool { return strings.HasPrefix(r.host, "boto-bucket."+testDomain) }) {
				t.Error("no request used virtual-host addressing")
			}
		})
	}
}

// TestBotocoreWrongSecret checks botocore sees SignatureDoesNotMatch.
func TestBotocoreWrongSecret(t *testing.T) {
	t.Parallel()
	py := requireBoto3(t)
	h := newHarness(t, false)
	res := runBoto(t, py, h, "path", testKeyID, "cwowrongwrongwrongwrongwrongwrongwrongwron", "bad-secret")
	if res.Error == nil || *res.Error != "SignatureDoesNotMatch" || res.Status != 403 {
		t.Errorf("wrong secret: error %v status %d, want SignatureDoesNotMatch 403", res.Error, res.Status)
	}
}
