package awsconfig

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
)

// Values configure writes, as the CLI engineer will pass them.
var (
	stdSettings = []Setting{
		{"credential_process", "/usr/local/bin/cwcreds credential-process --profile cw"},
		{"endpoint_url", "https://cwobject.com"},
		{"region", "US-EAST-04A"},
	}
	stdS3 = []Setting{{"addressing_style", "virtual"}}
)

// requirePython fails (never skips) when python3 or botocore is missing: the
// project's test script installs both. It returns the interpreter itself so a
// version-manager shim is not run for every call.
func requirePython(t testing.TB) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is not installed: run scripts/test (it runs scripts/install-test-deps, which installs python3 and boto3)")
	}
	out, err := runCmd(t, nil, py, "-c", "import sys, botocore; print(sys.executable)")
	if err != nil {
		t.Fatalf("python3 cannot import botocore (%v): run scripts/test, which installs it", err)
	}
	if exe := strings.TrimSpace(string(out)); exe != "" {
		py = exe
	}
	return py
}

func runCmd(t testing.TB, env []string, name string, args ...string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = env
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// botoResult is what botoScript reports for one file.
type botoResult struct {
	Error    string                    `json:"error"`
	Raw      map[string]map[string]any `json:"raw"`
	Profiles map[string]map[string]any `json:"profiles"`
	Sessions map[string]map[string]any `json:"sso_sessions"`
	Services map[string]map[string]any `json:"services"`
	Client   map[string]any            `json:"client"`
	Creds    map[string]any            `json:"creds"`
	Scoped   map[string]any            `json:"scoped"`
	Extra    map[string]any            `json:"extra"`
}

// botoScript reads each file the way the AWS CLI does. For a job with a profile
// it also opens a botocore Session on it (AWS_CONFIG_FILE pointing at the file)
// and builds an S3 client, reporting the client's endpoint, region and s3
// addressing style; with "creds" it resolves credentials (running
// credential_process).
const botoScript = `
import json, os, sys
import botocore.session, botocore.configloader as cl
jobs = json.load(sys.stdin)
out = []
for job in jobs:
    r = {}
    try:
        raw = cl.raw_config_parse(job["path"])
        r["raw"] = raw
        built = cl.build_profile_map(raw)
        r["profiles"] = built.pop("profiles")
        r["sso_sessions"] = built.pop("sso_sessions")
        r["services"] = built.pop("services")
        r["extra"] = built
        if job.get("profile"):
            os.environ["AWS_CONFIG_FILE"] = job["path"]
            os.environ["AWS_SHARED_CREDENTIALS_FILE"] = job["path"] + ".no-credentials"
            for k in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
                os.environ.pop(k, None)
            s = botocore.session.Session(profile=job["profile"])
            r["scoped"] = s.get_scoped_config()
            c = s.create_client("s3", aws_access_key_id="AKID", aws_secret_access_key="SECRET")
            r["client"] = {"endpoint_url": c.meta.endpoint_url, "region": c.meta.region_name,
                           "addressing_style": (c.meta.config.s3 or {}).get("addressing_style")}
            if job.get("creds"):
                f = s.get_credentials().get_frozen_credentials()
                r["creds"] = {"access_key": f.access_key}
    except Exception as e:
        r = {"error": type(e).__name__ + ": " + str(e)}
    out.append(r)
json.dump(out, sys.stdout)
`

type botoJob struct {
	Path    string `json:"path"`
	Profile string `json:"profile,omitempty"`
	Creds   bool   `json:"creds,omitempty"`
}

// runBoto runs botoScript once for all jobs (one Python start-up per test).
func runBoto(t testing.TB, jobs []botoJob) []botoResult {
	t.Helper()
	py := requirePython(t)
	in, err := json.Marshal(jobs)
	if err != nil {
		t.Fatal(err)
	}
	out := runPy(t, py, botoScript, string(in), 5*time.Minute)
	var res []botoResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(res) != len(jobs) {
		t.Fatalf("botocore answered %d jobs of %d", len(res), len(jobs))
	}
	return res
}

func writeTemp(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// goSDKProfile loads profile from the file at path with the real aws-sdk-go-v2
// config loader and no credentials file. A panic inside the SDK is returned as
// an error starting with "panic:".
func goSDKProfile(path, profile string) (cfg config.SharedConfig, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return config.LoadSharedConfigProfile(context.Background(), profile, func(o *config.LoadSharedConfigOptions) {
		o.ConfigFiles = []string{path}
		o.CredentialsFiles = []string{filepath.Join(filepath.Dir(path), "no-credentials-file")}
	})
}

func isNotExist(err error) bool {
	var e config.SharedConfigProfileNotExistError
	return errors.As(err, &e)
}

// cutTargets returns contents without the lines of the sections botocore reads
// as profile (header through the line before the next header).
func cutTargets(t testing.TB, contents []byte, profile string) []byte {
	t.Helper()
	f, err := splitLines(contents)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := pyParse(f.lines)
	if err != nil {
		t.Fatal(err)
	}
	drop := map[int]bool{}
	for _, s := range doc.targets(profile) {
		for i := s.header; i < s.end; i++ {
			drop[i] = true
		}
	}
	var b bytes.Buffer
	if f.bom {
		b.Write(utf8BOM)
	}
	for i, ln := range f.lines {
		if !drop[i] {
			b.WriteString(ln.text + ln.eol)
		}
	}
	return b.Bytes()
}

// assertPreserved checks that only the target profile's lines changed: with the
// profile's sections cut out the two files are byte-identical, and a profile
// that was appended leaves the original file as an exact prefix.
func assertPreserved(t testing.TB, in, out []byte, profile string) {
	t.Helper()
	f, err := splitLines(in)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := pyParse(f.lines)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.targets(profile)) == 0 {
		if !bytes.HasPrefix(out, StripBOM(in)) {
			t.Fatalf("appending profile %s changed existing bytes:\n%s", profile, Diff(in, out))
		}
		return
	}
	if a, b := cutTargets(t, in, profile), cutTargets(t, out, profile); !bytes.Equal(a, b) {
		t.Fatalf("lines outside profile %s changed:\n%s", profile, Diff(a, b))
	}
}

// runPy runs a Python script with stdin, within timeout, and returns its stdout.
func runPy(t testing.TB, py, script, stdin string, timeout time.Duration) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", script)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(os.Environ(), "PYTHONIOENCODING=utf-8", "PYTHONUTF8=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python script failed: %v: %s", err, stderr.String())
	}
	return out
}
