package inject

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "aws-config")
	if err := WriteAWSConfig(cfgPath); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(cfgPath)
	if err != nil || string(b) != "[default]\ns3 =\n    addressing_style = virtual\n" {
		t.Fatalf("%q %v", b, err)
	}
	if err := WriteAWSConfig(filepath.Join(dir, "missing", "aws-config")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing folder: %v", err)
	}

	tok := filepath.Join(dir, "auth-token")
	created, err := WriteAuthToken(tok)
	if err != nil || !created {
		t.Fatalf("%v %v", created, err)
	}
	first, _ := os.ReadFile(tok)
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).Match(first) {
		t.Fatalf("token %d bytes, not 43 base64url characters", len(first))
	}
	if fi, _ := os.Stat(tok); fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode %o", fi.Mode().Perm())
	}
	if created, err := WriteAuthToken(tok); err != nil || created {
		t.Fatalf("second write: %v %v", created, err)
	}
	if again, _ := os.ReadFile(tok); string(again) != string(first) {
		t.Fatal("an existing token was replaced")
	}
	if err := os.Mkdir(filepath.Join(dir, "d"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteAuthToken(filepath.Join(dir, "d")); err == nil {
		t.Fatal("a folder in the way is no error")
	}
}
