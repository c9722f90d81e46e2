package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const twoProfiles = `org_id: org-1
profiles:
  ci:
    source: {type: token_file, path: /var/run/token}
  admin:
    source: {type: api_token}
`

func TestConfigValidate(t *testing.T) {
	p := writeFile(t, twoProfiles)
	code, out, errOut := runCLI(t, nil, "config", "validate", "--config", p)
	if code != 0 || out != "ok: 2 profiles\n" || errOut != "" {
		t.Fatalf("code %d, stdout %q, stderr %q", code, out, errOut)
	}
	// CWCREDS_CONFIG names the file when --config does not.
	code, out, _ = runCLI(t, map[string]string{"CWCREDS_CONFIG": p}, "config", "validate")
	if code != 0 || out != "ok: 2 profiles\n" {
		t.Fatalf("CWCREDS_CONFIG: code %d, stdout %q", code, out)
	}

	bad := writeFile(t, "org_id: org-1\nprofiles:\n  ci:\n    source: {type: token_file, path: /t}\n    lifetime: 13h\n")
	code, out, errOut = runCLI(t, nil, "config", "validate", "--config", bad)
	want := "cwcreds: " + bad + ":5: profiles.ci.lifetime 13h is over the 12h maximum: use 12h or less\n"
	if code != 1 || out != "" || errOut != want {
		t.Fatalf("bad file: code %d, stdout %q, stderr %q, want %q", code, out, errOut, want)
	}

	code, _, errOut = runCLI(t, nil, "config", "validate", "--config", filepath.Join(t.TempDir(), "none.yaml"))
	if code != 1 || !strings.Contains(errOut, "does not exist: create it, or point --config at an existing file") {
		t.Fatalf("missing file: code %d, stderr %q", code, errOut)
	}
}

func TestConfigValidateFromEnvironment(t *testing.T) {
	env := map[string]string{
		"HOME": t.TempDir(), "CWCREDS_API_ENDPOINT": "http://127.0.0.1:9900", "CWCREDS_ORG_ID": "org-abcd1234",
		"CW_API_TOKEN": "CW-SECRET-devtoken", "CWCREDS_TOKEN_FILE": "/tmp/token",
		"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9901", "AWS_REGION": "US-EAST-04A",
	}
	code, out, errOut := runCLI(t, env, "config", "validate")
	if code != 0 || out != "ok: 1 profile\n" {
		t.Fatalf("code %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, map[string]string{"HOME": t.TempDir()}, "config", "validate")
	if code != 1 || !strings.Contains(errOut, "neither CWCREDS_TOKEN_FILE nor CW_API_TOKEN is set") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("no config: code %d, stderr %q", code, errOut)
	}
}

func TestConfigShow(t *testing.T) {
	p := writeFile(t, twoProfiles)
	env := map[string]string{"HOME": "/home/tester", "CWCREDS_REGION": "ENV-1A"}
	code, out, errOut := runCLI(t, env, "config", "show", "--config", p, "--org-id", "org-flag")
	if code != 0 || errOut != "" {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
	for _, want := range []string{
		"org_id: org-flag # flag --org-id\n",
		"region: ENV-1A # env CWCREDS_REGION\n",
		"      path: /var/run/token # " + p + ":4\n",
		"  ci:\n", "  admin:\n",
		"exchange: api_token # default (api_token source)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = runCLI(t, env, "config", "show", "--config", p, "--profile", "admin")
	if code != 0 || strings.Contains(out, "  ci:") || !strings.Contains(out, "default_profile: admin # flag --profile") {
		t.Errorf("--profile admin: code %d\n%s", code, out)
	}
	code, _, errOut = runCLI(t, env, "config", "show", "--config", p, "--profile", "prod")
	if code != 1 || errOut != "cwcreds: unknown profile \"prod\": known profiles are admin, ci\n" {
		t.Errorf("--profile prod: code %d, stderr %q", code, errOut)
	}
}

// TestConfigShowNeverPrintsSecrets runs show with the API token in the
// environment and a secret on a token command line.
func TestConfigShowNeverPrintsSecrets(t *testing.T) {
	const token = "CW-SECRET-0123456789abcdef"
	env := map[string]string{"HOME": t.TempDir(), "CW_API_TOKEN": token}
	code, out, errOut := runCLI(t, env, "config", "show")
	if code != 0 || strings.Contains(out+errOut, token) || !strings.Contains(out, "env: CW_API_TOKEN") {
		t.Fatalf("code %d, stderr %q, stdout:\n%s", code, errOut, out)
	}

	p := writeFile(t, "org_id: o\nprofiles:\n  k:\n    source: {type: token_command, command: [get-token, --client-secret, hunter2]}\n")
	code, out, errOut = runCLI(t, env, "config", "show", "--config", p)
	if code != 0 || strings.Contains(out+errOut, "hunter2") || strings.Contains(out+errOut, token) {
		t.Fatalf("code %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
}
