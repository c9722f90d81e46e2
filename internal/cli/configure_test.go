package cli

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cwcreds/cwcreds/internal/awsconfig"
	"github.com/cwcreds/cwcreds/internal/fastpath"
)

// fakeExecutable stands in for the cwcreds binary; its folder name needs quoting.
func fakeExecutable(t *testing.T, w *world) string {
	t.Helper()
	exe := filepath.Join(w.dir, "my tools", "cwcreds")
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return exe
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestConfigureWritesOnceKeepsBackup(t *testing.T) {
	w := newWorld(t)
	exe := fakeExecutable(t, w)
	awsCfg := w.env["AWS_CONFIG_FILE"]
	want := "[default]\n" +
		"credential_process = \"" + exe + "\" credential-process --profile default\n" +
		"endpoint_url = " + w.emu.S3URL() + "\n" +
		"region = " + w.emu.Region() + "\n" +
		"s3 =\n    addressing_style = virtual\n"

	code, out, errOut := w.run("configure", "--executable", exe, "--dry-run")
	if code != 0 || !strings.HasPrefix(out, "--- "+awsCfg+"\n+++ "+awsCfg+" (after cwcreds configure)\n@@") ||
		!strings.Contains(out, "\n+credential_process = \""+exe+"\" credential-process --profile default\n") {
		t.Fatalf("dry run: code %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
	if _, err := os.Stat(awsCfg); !os.IsNotExist(err) {
		t.Fatal("--dry-run wrote the file")
	}

	code, out, errOut = w.run("configure", "--executable", exe)
	if code != 0 || !strings.HasPrefix(out, "wrote profile default to "+awsCfg+"\n") || readFile(t, awsCfg) != want {
		t.Fatalf("write: code %d, stderr %q, stdout %q, file:\n%s", code, errOut, out, readFile(t, awsCfg))
	}
	if fi, _ := os.Stat(awsCfg); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode())
	}

	// Idempotent: a second run changes nothing and makes no backup.
	code, out, _ = w.run("configure", "--executable", exe)
	if code != 0 || out != "profile default in "+awsCfg+" is up to date\n" || readFile(t, awsCfg) != want {
		t.Fatalf("second run: code %d, stdout %q", code, out)
	}
	code, out, _ = w.run("configure", "--executable", exe, "--dry-run")
	if code != 0 || !strings.Contains(out, "nothing would change") {
		t.Fatalf("second dry run: %q", out)
	}
	if _, err := os.Stat(awsCfg + awsconfig.BackupSuffix); !os.IsNotExist(err) {
		t.Fatal("a backup was made although nothing changed")
	}

	// Another AWS profile name, another region: appended; the old file is kept.
	code, _, errOut = w.run("configure", "--executable", exe, "--aws-profile", "cw", "--region", "US-WEST-01A")
	if code != 0 || errOut != "" {
		t.Fatalf("--aws-profile: code %d, stderr %q", code, errOut)
	}
	got := readFile(t, awsCfg)
	if !strings.HasPrefix(got, want+"\n[profile cw]\n") || !strings.Contains(got, "region = US-WEST-01A\n") ||
		readFile(t, awsCfg+awsconfig.BackupSuffix) != want {
		t.Fatalf("file:\n%s", got)
	}
}

// Files people wrote by hand keep every byte outside the profile written.
func TestConfigurePreservesOddFiles(t *testing.T) {
	w := newWorld(t)
	exe := fakeExecutable(t, w)
	awsCfg := w.env["AWS_CONFIG_FILE"]
	const analytics = "; comment about the next profile\n[profile analytics]\n# role chaining\nrole_arn = arn:aws:iam::123456789012:role/Analytics\n" +
		"source_profile = default\n\t# tab-indented comment\nduration_seconds = 3600\n# end of file comment\n"
	odd := "# ~/.aws/config — managed by hand, please keep tidy\n; semicolon comments work too\n\n" +
		"[default]\nregion = us-east-1 ; not a comment for the AWS CLI\n# output format\noutput = json\n\n" +
		"# CoreWeave object storage\n[profile  cw]\n# region of the cluster\nregion  =  US-WEST-01A\n    # indented comment inside the section\n" +
		"; endpoint goes here\nendpoint_url = https://old.cwobject.example\n# trailing comment in cw\n\n" + analytics
	crlf := "[default]\r\nregion = us-east-1\r\noutput = text\r\n\r\n[profile cw]\r\nregion = US-EAST-04A\r\ncli_pager =\r\n\r\n" +
		"[profile ci]\r\nrole_arn = arn:aws:iam::123456789012:role/CI\r\ncredential_source = Environment\r\n"
	for name, tc := range map[string]struct {
		before   string
		keep     []string // byte sequences that must survive
		changed  []string // lines the edit must contain
		warnings string
	}{
		"comments": {
			before: odd,
			keep: []string{"# ~/.aws/config — managed by hand, please keep tidy\n; semicolon comments work too\n\n[default]\n" +
				"region = us-east-1 ; not a comment for the AWS CLI\n# output format\noutput = json\n\n# CoreWeave object storage\n[profile  cw]\n# region of the cluster\n",
				"    # indented comment inside the section\n; endpoint goes here\n", "# trailing comment in cw\n\n" + analytics},
			changed: []string{"region  =  " + w.emu.Region() + "\n", "endpoint_url = " + w.emu.S3URL() + "\n",
				"credential_process = \"" + exe + "\" credential-process --profile default\n", "s3 =\n    addressing_style = virtual\n"},
		},
		"crlf": {
			before:  crlf,
			keep:    []string{"[default]\r\nregion = us-east-1\r\noutput = text\r\n\r\n[profile cw]\r\n", "cli_pager =\r\n", "\r\n[profile ci]\r\nrole_arn = arn:aws:iam::123456789012:role/CI\r\ncredential_source = Environment\r\n"},
			changed: []string{"region = " + w.emu.Region() + "\r\n", "endpoint_url = " + w.emu.S3URL() + "\r\n"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(awsCfg, []byte(tc.before), 0o644); err != nil {
				t.Fatal(err)
			}
			code, _, errOut := w.run("configure", "--executable", exe, "--aws-profile", "cw")
			if code != 0 || errOut != "" {
				t.Fatalf("code %d, stderr %q", code, errOut)
			}
			after := readFile(t, awsCfg)
			for _, k := range append(tc.keep, tc.changed...) {
				if !strings.Contains(after, k) {
					t.Errorf("lost or missing %q in:\n%s", k, after)
				}
			}
			if readFile(t, awsCfg+awsconfig.BackupSuffix) != tc.before {
				t.Error("the backup is not the file as it was")
			}
			if fi, _ := os.Stat(awsCfg); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o644 {
				t.Errorf("the file's mode changed to %v", fi.Mode())
			}
			code, out, _ := w.run("configure", "--executable", exe, "--aws-profile", "cw")
			if code != 0 || !strings.Contains(out, "up to date") || readFile(t, awsCfg) != after {
				t.Fatalf("second run changed the file: %q", out)
			}
		})
	}

	// A profile that already gets credentials elsewhere is written with a warning
	// naming the keys, never their values.
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	w.addSecret(secret)
	if err := os.WriteFile(awsCfg, []byte("[profile cw]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = "+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := w.run("configure", "--executable", exe, "--aws-profile", "cw", "--dry-run")
	if code != 0 || !strings.Contains(errOut, "also sets aws_access_key_id, aws_secret_access_key, which AWS tools may use instead of credential_process") ||
		strings.Contains(out, secret) || !strings.Contains(out, "<redacted>") {
		t.Fatalf("code %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
}

// Files the AWS CLI cannot read are refused with the path, and left alone.
func TestConfigureRefusesUnreadableFiles(t *testing.T) {
	w := newWorld(t)
	exe := fakeExecutable(t, w)
	awsCfg := w.env["AWS_CONFIG_FILE"]
	for name, body := range map[string]string{
		"bom":             "\uFEFF# saved by Notepad\r\n[default]\r\nregion = us-east-1\r\n",
		"no-header":       "region = us-east-1\n[default]\noutput = json\n",
		"unclosed-header": "[default\nregion = us-east-1\n",
	} {
		if err := os.WriteFile(awsCfg, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := w.run("configure", "--executable", exe)
		if code == 0 || out != "" || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, awsCfg) {
			t.Errorf("%s: code %d, stdout %q, stderr %q", name, code, out, errOut)
		}
		if readFile(t, awsCfg) != body {
			t.Errorf("%s: the file was changed", name)
		}
	}
	if err := os.Remove(awsCfg); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := w.run("configure", "--executable", filepath.Join(w.dir, "nope"))
	if code == 0 || !strings.Contains(errOut, "nope") {
		t.Errorf("missing executable: code %d, stderr %q", code, errOut)
	}
	code, _, errOut = w.run("configure", "--executable", exe, "--aws-profile", "has space")
	if code == 0 || !strings.Contains(errOut, "cannot be written to the AWS config file") {
		t.Errorf("bad AWS profile name: code %d, stderr %q", code, errOut)
	}
}

// The credential_process line carries what credential-process needs to find the
// same profile: a config file other than the default one, and path overrides.
func TestConfigureCommandLine(t *testing.T) {
	w := newWorld(t)
	exe := fakeExecutable(t, w)
	cfg := filepath.Join(w.dir, "team.yaml")
	if err := os.WriteFile(cfg, []byte("org_id: "+w.emu.OrgID()+"\nprofiles:\n  ci:\n    source: {type: token_file, path: token}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(w.dir, "my cache")
	code, out, errOut := w.run("configure", "--executable", exe, "--config", cfg, "--profile", "ci", "--cache-dir", cache, "--dry-run")
	line, err := awsconfig.CredentialProcessCommand(false, exe, "credential-process", "--profile", "ci", "--config", cfg, "--cache-dir", cache)
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 || !strings.Contains(out, "+credential_process = "+line+"\n") || !strings.Contains(line, "--config "+cfg+" --cache-dir \"") {
		t.Fatalf("code %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
	// The default config file needs no --config.
	def := w.writeConfig("org_id: " + w.emu.OrgID() + "\nprofiles:\n  ci:\n    source: {type: token_file, path: token}\n")
	code, out, _ = w.run("configure", "--executable", exe, "--profile", "ci", "--dry-run")
	if code != 0 || strings.Contains(out, "--config") || !strings.Contains(out, "credential-process --profile ci\n") {
		t.Fatalf("default config %s: code %d\n%s", def, code, out)
	}
}

// With cwcreds-credential-process installed beside cwcreds, configure writes it:
// it answers warm calls itself and hands the rest to cwcreds. Lines that need
// flags only cwcreds reads keep cwcreds itself.
func TestConfigureWritesTheFastBinaryBesideIt(t *testing.T) {
	w := newWorld(t)
	exe := fakeExecutable(t, w)
	fast := filepath.Join(filepath.Dir(exe), fastpath.Name)
	if err := os.WriteFile(fast, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	w.writeConfig("org_id: " + w.emu.OrgID() + "\nprofiles:\n  ci:\n    source: {type: token_file, path: token}\n")
	code, out, errOut := w.run("configure", "--executable", exe, "--profile", "ci", "--dry-run")
	want, _ := awsconfig.CredentialProcessCommand(false, fast, "--profile", "ci")
	if code != 0 || !strings.Contains(out, "+credential_process = "+want+"\n") {
		t.Fatalf("code %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
	cache := filepath.Join(w.dir, "cache2")
	code, out, _ = w.run("configure", "--executable", exe, "--profile", "ci", "--cache-dir", cache, "--dry-run")
	want, _ = awsconfig.CredentialProcessCommand(false, exe, "credential-process", "--profile", "ci", "--cache-dir", cache)
	if code != 0 || !strings.Contains(out, "+credential_process = "+want+"\n") {
		t.Fatalf("with --cache-dir: code %d, stdout:\n%s", code, out)
	}
	// A fast binary that cannot run is not written.
	if err := os.Chmod(fast, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = w.run("configure", "--executable", exe, "--profile", "ci", "--dry-run")
	want, _ = awsconfig.CredentialProcessCommand(false, exe, "credential-process", "--profile", "ci")
	if code != 0 || !strings.Contains(out, "+credential_process = "+want+"\n") {
		t.Fatalf("non-executable fast binary: code %d, stdout:\n%s", code, out)
	}
}
