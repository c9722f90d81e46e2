package awsconfig

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
)

func TestCredentialProcessCommandPOSIX(t *testing.T) {
	cases := []struct {
		argv []string
		want string
	}{
		{[]string{"/usr/local/bin/cwcreds", "credential-process", "--profile", "cw"}, "/usr/local/bin/cwcreds credential-process --profile cw"},
		{[]string{"/opt/Cw Tools/cwcreds", "credential-process", "--profile", "cw"}, `"/opt/Cw Tools/cwcreds" credential-process --profile cw`},
		{[]string{"/home/o'neil/bin/cwcreds", "credential-process"}, `"/home/o'neil/bin/cwcreds" credential-process`},
		{[]string{"/a b/cwcreds", "--profile", "my profile"}, `"/a b/cwcreds" --profile "my profil"e`},
		{[]string{"/x/cwcreds", "--profile=cw"}, "/x/cwcreds --profile=cw"},
		{[]string{"/x/a=b/cwcreds"}, `"/x/a=b/cwcred"s`},
		{[]string{"/opt/Cw Tools/cwcreds"}, `"/opt/Cw Tools/cwcred"s`},
		{[]string{"~/bin/cwcreds", "x"}, `"~/bin/cwcreds" x`},
		{[]string{"/x/cwcreds", "a;b", "c"}, `/x/cwcreds "a;b" c`},
	}
	for _, c := range cases {
		got, err := CredentialProcessCommand(false, c.argv...)
		if err != nil || got != c.want {
			t.Errorf("%q: got %q, %v; want %q", c.argv, got, err, c.want)
		}
	}
	for _, bad := range [][]string{
		nil, {""}, {"/a/$HOME/cwcreds"}, {"/a/`id`/x"}, {`/a/"q"/x`}, {`/a\b/x`}, {"/a\nb"}, {"/a/x", "tab\there"},
		{"/a b/ #/cwcreds", "x"}, {"/x\xff", "y"}, {"/a b/x", " "},
	} {
		if got, err := CredentialProcessCommand(false, bad...); err == nil {
			t.Errorf("%q: got %q, want an error", bad, got)
		}
	}
}

func TestCredentialProcessCommandWindows(t *testing.T) {
	got, err := CredentialProcessCommand(true, `C:\Users\me\AppData\Local\cwcreds\cwcreds.exe`, "credential-process", "--profile", "cw")
	if err != nil || got != `C:\Users\me\AppData\Local\cwcreds\cwcreds.exe credential-process --profile cw` {
		t.Fatalf("got %q, %v", got, err)
	}
	if got, err := CredentialProcessCommand(true, `C:\PROGRA~1\cwcreds\cwcreds.exe`, "x"); err != nil || got != `C:\PROGRA~1\cwcreds\cwcreds.exe x` {
		t.Fatalf("8.3 path: %q, %v", got, err)
	}
	for _, bad := range []string{`C:\Program Files\cwcreds.exe`, `C:\a&b\x.exe`, `C:\100%\x.exe`, `C:\"q"\x.exe`, `C:\a^b\x.exe`} {
		_, err := CredentialProcessCommand(true, bad, "credential-process")
		if err == nil || !strings.Contains(err.Error(), "3208") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

// TestCredentialProcessRunsUnderBothSDKs writes a profile whose program lives
// under a path with spaces and a quote, and whose last argument needs quoting,
// then has botocore and the Go SDK run it: the fake program reports the argv it
// got as its access key id.
func TestCredentialProcessRunsUnderBothSDKs(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Log("the POSIX quoting is exercised on Unix; Windows values are bare words")
		return
	}
	dir := filepath.Join(t.TempDir(), "Cw Tools", "it's here")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "cwcreds")
	script := "#!/bin/sh\nprintf '{\"Version\":1,\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"s\",\"Expiration\":\"2099-01-01T00:00:00Z\"}' \"$(printf '%s|' \"$@\")\"\n"
	if err := os.WriteFile(exe, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	cmd, err := CredentialProcessCommand(false, exe, "credential-process", "--profile", "my profile")
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := Upsert([]byte("[default]\nregion = us-east-1\n"), "cw",
		[]Setting{{"credential_process", cmd}, {"endpoint_url", "https://cwobject.com"}, {"region", "US-EAST-04A"}}, stdS3)
	if err != nil {
		t.Fatal(err)
	}
	path := writeTemp(t, t.TempDir(), "config", out)
	const want = "credential-process|--profile|my profile|"

	res := runBoto(t, []botoJob{{Path: path, Profile: "cw", Creds: true}})[0]
	if res.Error != "" || res.Creds["access_key"] != want {
		t.Fatalf("botocore ran %q: creds %v, error %q", cmd, res.Creds, res.Error)
	}

	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"} {
		t.Setenv(k, "")
	}
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithSharedConfigFiles([]string{path}),
		config.WithSharedCredentialsFiles([]string{path + ".none"}),
		config.WithSharedConfigProfile("cw"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatalf("Go SDK could not run %q: %v", cmd, err)
	}
	if got.AccessKeyID != want {
		t.Fatalf("Go SDK ran %q with argv %q", cmd, got.AccessKeyID)
	}
	if cfg.Region != "US-EAST-04A" || cfg.BaseEndpoint == nil || *cfg.BaseEndpoint != "https://cwobject.com" {
		t.Fatalf("Go SDK region %q endpoint %v", cfg.Region, cfg.BaseEndpoint)
	}
}
