package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreateTokenCreates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dir")
	path := filepath.Join(dir, "token")
	tok, created, err := LoadOrCreateToken(path)
	if err != nil || !created {
		t.Fatalf("create: %v created=%v", err, created)
	}
	if len(tok) != 43 || strings.ContainsAny(tok, "+/=\n\r") {
		t.Errorf("token %d chars, want 43 base64url without padding", len(tok))
	}
	data, err := os.ReadFile(path)
	if err != nil || string(data) != tok {
		t.Fatalf("file holds %q (%v), want the token with no newline", data, err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %o, want 600", fi.Mode().Perm())
	}
	di, _ := os.Stat(dir)
	if di.Mode().Perm() != 0o700 {
		t.Errorf("created folder mode %o, want 700", di.Mode().Perm())
	}
	again, created, err := LoadOrCreateToken(path)
	if err != nil || created || again != tok {
		t.Errorf("second call: %v created=%v same=%v", err, created, again == tok)
	}
	other, _, _ := LoadOrCreateToken(filepath.Join(dir, "token2"))
	if other == tok {
		t.Error("two generated tokens are equal")
	}
}

func TestLoadOrCreateTokenLeavesExistingFolderAlone(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil { // e.g. a volume shared with the workload
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateToken(filepath.Join(dir, "token")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o755 {
		t.Errorf("existing folder's mode changed to %o", fi.Mode().Perm())
	}
}

func TestLoadOrCreateTokenReadsExisting(t *testing.T) {
	for content, want := range map[string]string{
		"user-token":     "user-token",
		"user-token\n":   "user-token",
		"user-token\r\n": "user-token",
	} {
		path := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(path, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
		tok, created, err := LoadOrCreateToken(path)
		if err != nil || created || tok != want {
			t.Errorf("%q: got %q created=%v err=%v", content, tok, created, err)
		}
		if data, _ := os.ReadFile(path); string(data) != content {
			t.Errorf("%q: the user's file was rewritten to %q", content, data)
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
			t.Errorf("%q: the user's file mode changed", content)
		}
	}
}

func TestLoadOrCreateTokenRefusesBadFiles(t *testing.T) {
	for name, content := range map[string]string{
		"empty":         "",
		"only newline":  "\n",
		"two lines":     "abc\ndef",
		"two newlines":  "abc\n\n",
		"space":         "abc def",
		"leading space": " abc",
		"tab":           "abc\t",
		"non-ascii":     "abcé",
		"too large":     strings.Repeat("a", MaxTokenLen+1),
		"huge":          strings.Repeat("a", 1<<20),
	} {
		path := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		tok, _, err := LoadOrCreateToken(path)
		if err == nil {
			t.Errorf("%s: accepted as %q", name, tok)
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error does not name the file: %v", name, err)
		}
		if len(content) > 2 && strings.Contains(err.Error(), content[:3]) {
			t.Errorf("%s: error echoes the file's content: %v", name, err)
		}
		if data, _ := os.ReadFile(path); string(data) != content {
			t.Errorf("%s: file was changed", name)
		}
	}
	// A token of exactly the maximum length is fine, with or without a newline.
	path := filepath.Join(t.TempDir(), "token")
	max := strings.Repeat("a", MaxTokenLen)
	if err := os.WriteFile(path, []byte(max+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if tok, _, err := LoadOrCreateToken(path); err != nil || tok != max {
		t.Errorf("max-length token: %v", err)
	}
	if _, _, err := LoadOrCreateToken(t.TempDir()); err == nil {
		t.Error("a folder was accepted as the token file")
	}
}

func TestTokenCheckerIsExact(t *testing.T) {
	tc := newTokenChecker(testToken)
	if !tc.matches(testToken) {
		t.Fatal("the token does not match itself")
	}
	long := strings.Repeat("b", 200)
	lc := newTokenChecker(long)
	if !lc.matches(long) || lc.matches(long[:199]) || lc.matches(long+"b") {
		t.Error("long tokens compare wrongly")
	}
	for _, bad := range []string{"", testToken[:1], testToken + " ", strings.ToUpper(testToken), strings.Repeat("x", MaxTokenLen+1)} {
		if tc.matches(bad) {
			t.Errorf("%q matched", bad)
		}
	}
}
