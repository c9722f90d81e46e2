package cli

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

func TestEnvFormats(t *testing.T) {
	w := newWorld(t)
	code, out, errOut := w.run("env", "--format", "json")
	if code != 0 || errOut != "" {
		t.Fatalf("json: code %d, stderr %q", code, errOut)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	w.addSecret(got["AWS_SECRET_ACCESS_KEY"])
	if !strings.HasPrefix(got["AWS_ACCESS_KEY_ID"], "CW") || got["AWS_SECRET_ACCESS_KEY"] == "" ||
		!strings.HasSuffix(got["AWS_CREDENTIAL_EXPIRATION"], "Z") || got["AWS_ENDPOINT_URL_S3"] != w.emu.S3URL() ||
		got["AWS_REGION"] != w.emu.Region() || got["AWS_DEFAULT_REGION"] != w.emu.Region() {
		t.Fatalf("json: %v", keysOf(got))
	}
	if _, ok := got["AWS_SESSION_TOKEN"]; ok {
		t.Error("an empty session token was printed")
	}

	// Every format prints the same keys (from the cache: one exchange in all).
	for format, want := range map[string]string{
		"sh":         "export AWS_ACCESS_KEY_ID='" + got["AWS_ACCESS_KEY_ID"] + "'\n",
		"fish":       "set -gx AWS_ACCESS_KEY_ID '" + got["AWS_ACCESS_KEY_ID"] + "';\n",
		"powershell": "$Env:AWS_ACCESS_KEY_ID = '" + got["AWS_ACCESS_KEY_ID"] + "'\n",
		"cmd":        "set \"AWS_ACCESS_KEY_ID=" + got["AWS_ACCESS_KEY_ID"] + "\"\r\n",
		"dotenv":     "AWS_ACCESS_KEY_ID='" + got["AWS_ACCESS_KEY_ID"] + "'\n",
	} {
		code, out, errOut := w.run("env", "-f", format)
		if code != 0 || errOut != "" || !strings.HasPrefix(out, want) || strings.Count(out, "AWS_") != 6 {
			t.Errorf("%s: code %d, stderr %q, output:\n%s", format, code, errOut, out)
		}
	}
	if w.exchanges() != 1 {
		t.Fatalf("%d exchanges", w.exchanges())
	}

	// A POSIX shell reads back exactly the values.
	_, out, _ = w.run("env")
	sh := exec.Command("sh", "-c", out+`printf '%s|%s|%s' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$AWS_DEFAULT_REGION"`)
	sh.Env = []string{}
	back, err := sh.Output()
	if err != nil || string(back) != got["AWS_ACCESS_KEY_ID"]+"|"+got["AWS_SECRET_ACCESS_KEY"]+"|"+w.emu.Region() {
		t.Fatalf("sh read back something else (%v)", err)
	}

	// An unknown format is refused before any exchange.
	w2 := newWorld(t)
	code, out, errOut = w2.run("env", "--format", "csh")
	if code == 0 || out != "" || !strings.Contains(errOut, `unknown --format "csh": use one of sh, fish, powershell, cmd, dotenv, json`) || w2.exchanges() != 0 {
		t.Fatalf("csh: code %d, stderr %q, %d exchanges", code, errOut, w2.exchanges())
	}
}

func keysOf(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
