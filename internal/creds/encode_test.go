package creds

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
)

const (
	encTestKeyID  = "CWABCDEFGHIJKLMN"
	encTestSecret = "cwoabcdefghijklmnopqrstuvwxyz0123456789abcd"
	encTestToken  = "session-token-value"
)

func encTestCreds(token string) Credentials {
	return Credentials{
		AccessKeyID:     encTestKeyID,
		SecretAccessKey: encTestSecret,
		SessionToken:    token,
		Expiration:      time.Date(2026, 11, 26, 23, 0, 0, 0, time.UTC),
		Principal:       "role/https://issuer.example:sub",
	}
}

func TestProcessJSONExactBytes(t *testing.T) {
	got, err := ProcessJSON(encTestCreds(encTestToken))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Version":1,"AccessKeyId":"` + encTestKeyID + `","SecretAccessKey":"` + encTestSecret +
		`","SessionToken":"` + encTestToken + `","Expiration":"2026-11-26T23:00:00Z"}` + "\n"
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestProcessJSONOmitsEmptySessionToken(t *testing.T) {
	got, err := ProcessJSON(encTestCreds(""))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Version":1,"AccessKeyId":"` + encTestKeyID + `","SecretAccessKey":"` + encTestSecret +
		`","Expiration":"2026-11-26T23:00:00Z"}` + "\n"
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestProcessJSONExpirationIsUTCWholeSeconds(t *testing.T) {
	c := encTestCreds("")
	// 23:59:59.9 in UTC+2 is 21:59:59.9Z; truncation keeps the SDKs from
	// believing the keys outlive their real expiry.
	c.Expiration = time.Date(2026, 11, 26, 23, 59, 59, 900_000_000, time.FixedZone("x", 2*3600))
	got, err := ProcessJSON(c)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(got, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["Expiration"] != "2026-11-26T21:59:59Z" {
		t.Fatalf("Expiration = %v", doc["Expiration"])
	}
	if v, ok := doc["Version"].(float64); !ok || v != 1 {
		t.Fatalf("Version = %#v, want the JSON number 1", doc["Version"])
	}
}

func TestProcessJSONRefusesIncompleteCredentials(t *testing.T) {
	cases := map[string]func(*Credentials){
		"no key id":  func(c *Credentials) { c.AccessKeyID = "" },
		"no secret":  func(c *Credentials) { c.SecretAccessKey = "" },
		"no expiry":  func(c *Credentials) { c.Expiration = time.Time{} },
		"not utf-8":  func(c *Credentials) { c.SessionToken = "tok\xff" },
		"bad key id": func(c *Credentials) { c.AccessKeyID = "CW\xfe" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			c := encTestCreds(encTestToken)
			mutate(&c)
			out, err := ProcessJSON(c)
			if err == nil {
				t.Fatalf("no error; output %s", out)
			}
			msg := err.Error()
			if strings.Contains(msg, encTestSecret) || strings.Contains(msg, encTestToken) || strings.Contains(msg, "\n") {
				t.Fatalf("error leaks a secret or spans lines: %q", msg)
			}
		})
	}
}

// TestProcessJSONReadByGoSDK runs the real aws-sdk-go-v2 ProcessProvider (which
// uses `sh -c`) against a command printing our output.
func TestProcessJSONReadByGoSDK(t *testing.T) {
	for _, token := range []string{encTestToken, ""} {
		t.Run(fmt.Sprintf("token=%v", token != ""), func(t *testing.T) {
			c, path := encWriteProcessJSON(t, token)
			p := processcreds.NewProvider("cat " + ShQuote(path))
			got, err := p.Retrieve(context.Background())
			if err != nil {
				t.Fatalf("Go SDK rejected the output: %v", err)
			}
			if got.AccessKeyID != encTestKeyID || got.SecretAccessKey != encTestSecret || got.SessionToken != token {
				t.Fatalf("Go SDK read different keys (key id %q)", got.AccessKeyID)
			}
			if !got.CanExpire || !got.Expires.Equal(c.Expiration) {
				t.Fatalf("Go SDK expiry = %v (can expire %v)", got.Expires, got.CanExpire)
			}
		})
	}
}

// TestProcessJSONReadByBotocore feeds our output to botocore's ProcessProvider,
// which shlex-splits the command and requires Version == 1.
func TestProcessJSONReadByBotocore(t *testing.T) {
	py := encRequireBotocore(t)
	for _, token := range []string{encTestToken, ""} {
		t.Run(fmt.Sprintf("token=%v", token != ""), func(t *testing.T) {
			c, path := encWriteProcessJSON(t, token)
			script := `
import json, sys, shlex
from botocore.credentials import ProcessProvider
cmd = "cat " + shlex.quote(sys.argv[1])
p = ProcessProvider("p", lambda: {"profiles": {"p": {"credential_process": cmd}}})
c = p.load()
f = c.get_frozen_credentials()
print(json.dumps({"key": f.access_key, "secret": f.secret_key, "token": f.token,
                  "expiry": c._expiry_time.isoformat() if getattr(c, "_expiry_time", None) else None}))
`
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, py, "-c", script, path)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			raw, err := cmd.Output()
			if err != nil {
				t.Fatalf("botocore rejected the output: %v: %s", err, stderr.String())
			}
			var got struct {
				Key, Secret, Expiry string
				Token               *string
			}
			if err := json.Unmarshal(raw, &got); err != nil {
				t.Fatalf("%v: %s", err, raw)
			}
			if got.Key != encTestKeyID || got.Secret != encTestSecret {
				t.Fatalf("botocore read key id %q", got.Key)
			}
			if token == "" && got.Token != nil || token != "" && (got.Token == nil || *got.Token != token) {
				t.Fatal("botocore read a different session token")
			}
			if want := c.Expiration.Format("2006-01-02T15:04:05+00:00"); got.Expiry != want {
				t.Fatalf("botocore expiry = %q", got.Expiry)
			}
		})
	}
}

func TestEnvVarsOrderAndOptionalFields(t *testing.T) {
	extra := []EnvVar{{"AWS_ENDPOINT_URL_S3", "https://cwobject.com"}, {"AWS_REGION", "US-EAST-04A"}}
	got := EnvVars(encTestCreds(encTestToken), extra...)
	want := []EnvVar{
		{"AWS_ACCESS_KEY_ID", encTestKeyID},
		{"AWS_SECRET_ACCESS_KEY", encTestSecret},
		{"AWS_SESSION_TOKEN", encTestToken},
		{"AWS_CREDENTIAL_EXPIRATION", "2026-11-26T23:00:00Z"},
		{"AWS_ENDPOINT_URL_S3", "https://cwobject.com"},
		{"AWS_REGION", "US-EAST-04A"},
	}
	encAssertVars(t, got, want)

	c := encTestCreds("")
	c.Expiration = time.Time{}
	encAssertVars(t, EnvVars(c), []EnvVar{
		{"AWS_ACCESS_KEY_ID", encTestKeyID},
		{"AWS_SECRET_ACCESS_KEY", encTestSecret},
	})
}

func encAssertVars(t *testing.T, got, want []EnvVar) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d vars %v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("var %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestEnvVarStringHidesSecrets(t *testing.T) {
	for _, v := range EnvVars(encTestCreds(encTestToken)) {
		for _, s := range []string{v.String(), fmt.Sprintf("%v", v), fmt.Sprintf("%#v", v), fmt.Sprint([]EnvVar{v})} {
			if strings.Contains(s, encTestSecret) || strings.Contains(s, encTestToken) {
				t.Fatalf("%s prints a secret: %s", v.Name, s)
			}
		}
	}
	if got := (EnvVar{"AWS_REGION", "x"}).String(); got != "AWS_REGION=x" {
		t.Fatalf("non-secret var printed as %q", got)
	}
}

// encRequireBotocore fails (never skips) when python3 or botocore is missing: the
// project's test script installs them.
// encWriteProcessJSON writes the ProcessJSON of keys with token (none when "")
// that expire in an hour, in whole seconds, to a file for a credential_process
// that cats it. It returns the keys and the file.
func encWriteProcessJSON(t *testing.T, token string) (Credentials, string) {
	t.Helper()
	c := encTestCreds(token)
	c.Expiration = time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	out, err := ProcessJSON(c)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "out.json")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return c, path
}

func encRequireBotocore(t *testing.T) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is not installed: run scripts/test (it runs scripts/install-test-deps, which installs python3 and boto3)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", "import sys, botocore; print(sys.executable)")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3 cannot import botocore (%v: %s): run scripts/test, which installs it", err, strings.TrimSpace(stderr.String()))
	}
	if exe := strings.TrimSpace(string(out)); exe != "" {
		py = exe
	}
	return py
}
