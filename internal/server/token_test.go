package server

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreateTokenCreates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dir")
	path := filepath.Join(dir, "token")
	tok, created, err := loadOrCreateToken(path)
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
	again, created, err := loadOrCreateToken(path)
	if err != nil || created || again != tok {
		t.Errorf("second call: %v created=%v same=%v", err, created, again == tok)
	}
	other, _, _ := loadOrCreateToken(filepath.Join(dir, "token2"))
	if other == tok {
		t.Error("two generated tokens are equal")
	}
}

func TestLoadOrCreateTokenLeavesExistingFolderAlone(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil { // e.g. a volume shared with the workload
		t.Fatal(err)
	}
	if _, _, err := loadOrCreateToken(filepath.Join(dir, "token")); err != nil {
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
		tok, created, err := loadOrCreateToken(path)
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
		tok, _, err := loadOrCreateToken(path)
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
	if tok, _, err := loadOrCreateToken(path); err != nil || tok != max {
		t.Errorf("max-length token: %v", err)
	}
	if _, _, err := loadOrCreateToken(t.TempDir()); err == nil {
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

// writeToken writes content to a new file and returns its path.
func writeToken(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadAuthToken(t *testing.T) {
	// A relative path is made absolute: the daemon logs it for the workload.
	dir := t.TempDir()
	t.Chdir(dir)
	a, err := LoadAuthToken("token", AuthTokenOptions{Generate: true})
	if err != nil || !a.Generated() {
		t.Fatalf("generate: %v generated=%v", err, err == nil && a.Generated())
	}
	if want := filepath.Join(dir, "token"); a.Path() != want {
		t.Errorf("Path %q, want %q", a.Path(), want)
	}
	data, err := os.ReadFile(a.Path())
	if err != nil || !a.Check(string(data)) {
		t.Fatalf("the generated file's content is not the token (%v)", err)
	}
	b, err := LoadAuthToken(a.Path(), AuthTokenOptions{})
	if err != nil || b.Generated() || !b.Check(string(data)) {
		t.Fatalf("existing file: %v", err)
	}

	// Without Generate a missing file is an error that names it.
	missing := filepath.Join(dir, "missing")
	if _, err := LoadAuthToken(missing, AuthTokenOptions{}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file without Generate: %v", err)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("a token was generated without Generate")
	}
	// A bad file is refused with the file's error, not its content.
	bad := writeToken(t, "secret-part one")
	if _, err := LoadAuthToken(bad, AuthTokenOptions{Generate: true}); err == nil || strings.Contains(err.Error(), "secret-part") {
		t.Errorf("bad file: %v", err)
	}
}

func TestAuthTokenReload(t *testing.T) {
	path := writeToken(t, "first-token\n")
	a, err := LoadAuthToken(path, AuthTokenOptions{Generate: true})
	if err != nil {
		t.Fatal(err)
	}

	// Unchanged content, or the same token with another line ending: no change.
	for _, content := range []string{"first-token\n", "first-token", "first-token\r\n"} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if changed, err := a.Reload(); err != nil || changed {
			t.Errorf("%q: changed=%v %v", content, changed, err)
		}
	}

	// A new token: changed, and only the new one is accepted.
	if err := os.WriteFile(path, []byte("second-token"), 0o600); err != nil {
		t.Fatal(err)
	}
	if changed, err := a.Reload(); err != nil || !changed || a.Generated() {
		t.Fatalf("new token: changed=%v generated=%v %v", changed, a.Generated(), err)
	}
	if a.Check("first-token") || !a.Check("second-token") {
		t.Fatal("the reload did not switch tokens")
	}

	// A file that cannot be used keeps the previous token; the error names the
	// file, never its content.
	for name, spoil := range map[string]func() error{
		"empty":      func() error { return os.WriteFile(path, nil, 0o600) },
		"two lines":  func() error { return os.WriteFile(path, []byte("spoilt\ntoken"), 0o600) },
		"space":      func() error { return os.WriteFile(path, []byte("spoilt token"), 0o600) },
		"too large":  func() error { return os.WriteFile(path, []byte(strings.Repeat("spoilt", MaxTokenLen)), 0o600) },
		"folder":     func() error { return errors.Join(os.Remove(path), os.Mkdir(path, 0o700)) },
		"unreadable": func() error { return errors.Join(os.Remove(path), os.Symlink(path, path)) }, // ELOOP
		"no access":  func() error { return os.Chmod(path, 0) },                                    // unless root
	} {
		if name == "no access" && os.Geteuid() == 0 {
			continue
		}
		if err := errors.Join(os.RemoveAll(path), os.WriteFile(path, []byte("second-token"), 0o600), spoil()); err != nil {
			t.Fatal(err)
		}
		changed, err := a.Reload()
		switch {
		case err == nil || changed:
			t.Errorf("%s: changed=%v %v", name, changed, err)
		case !strings.Contains(err.Error(), path):
			t.Errorf("%s: the error does not name the file: %v", name, err)
		case strings.Contains(err.Error(), "spoilt") || strings.Contains(err.Error(), "second-token"):
			t.Errorf("%s: the error holds the file's content: %v", name, err)
		}
		if !a.Check("second-token") || a.Generated() {
			t.Errorf("%s: the previous token is no longer in force", name)
		}
	}

	// A missing file gets a new token, as at start.
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
	if changed, err := a.Reload(); err != nil || !changed || !a.Generated() {
		t.Fatalf("missing file: changed=%v generated=%v %v", changed, a.Generated(), err)
	}
	data, err := os.ReadFile(path)
	if err != nil || !a.Check(string(data)) || a.Check("second-token") {
		t.Fatalf("the generated token is not in force (%v)", err)
	}
	if changed, err := a.Reload(); err != nil || changed || a.Generated() {
		t.Errorf("reading the generated file back: changed=%v generated=%v %v", changed, a.Generated(), err)
	}

	// Without Generate a missing file is an error, and the token stays.
	b, err := LoadAuthToken(writeToken(t, "kept-token"), AuthTokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(b.Path()); err != nil {
		t.Fatal(err)
	}
	if changed, err := b.Reload(); err == nil || changed || !b.Check("kept-token") {
		t.Errorf("missing file without Generate: changed=%v %v", changed, err)
	}
	if _, err := os.Stat(b.Path()); err == nil {
		t.Error("Reload generated a token without Generate")
	}

	// A token given in Config has no file to reload.
	f, err := fixedToken(testToken)
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := f.Reload(); err == nil || changed || !f.Check(testToken) {
		t.Errorf("fixed token: changed=%v %v", changed, err)
	}
}

// Requests check the token while a reload replaces it (run with -race).
func TestAuthTokenReloadWhileChecking(t *testing.T) {
	path := writeToken(t, "token-0")
	a, err := LoadAuthToken(path, AuthTokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= 50; i++ {
			if err := os.WriteFile(path, []byte(fmt.Sprintf("token-%d", i)), 0o600); err != nil {
				t.Error(err)
				return
			}
			if _, err := a.Reload(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for {
		select {
		case <-done:
			if !a.Check("token-50") {
				t.Error("the last token is not in force")
			}
			return
		default:
			a.Check("token-1")
		}
	}
}

// Check does not allocate: it runs on every request.
func TestAuthTokenCheckAllocations(t *testing.T) {
	a, err := fixedToken(testToken)
	if err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { a.Check(testToken) }); n != 0 {
		t.Errorf("Check allocates %v times", n)
	}
}

// The token is compared only in constant time: the functions that compare a token
// or its digest call subtle.ConstantTimeCompare, and their == and != compare only
// with a literal or nil (a length, an empty string, a result of 1), never two
// values derived from tokens.
func TestTokenComparisonsAreConstantTime(t *testing.T) {
	want := map[string]bool{ // function → must call subtle.ConstantTimeCompare
		"token.go:matches":       true,
		"token.go:Reload":        true,
		"token.go:Check":         false, // calls matches
		"handler.go:checkToken":  false, // calls Check
		"token.go:checkToken":    false,
		"token.go:tokenFromFile": false,
	}
	fset := token.NewFileSet()
	seen := map[string]bool{}
	for _, file := range []string{"token.go", "handler.go"} {
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok {
				continue
			}
			key := file + ":" + fn.Name.Name
			mustCall, checked := want[key]
			if !checked {
				continue
			}
			seen[key] = true
			calls := false
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "ConstantTimeCompare" {
						if id, ok := sel.X.(*ast.Ident); ok && id.Name == "subtle" {
							calls = true
						}
					}
				case *ast.BinaryExpr:
					if (n.Op == token.EQL || n.Op == token.NEQ) && !isConstant(n.X) && !isConstant(n.Y) {
						t.Errorf("%s: %s compares two values with %s", key, fset.Position(n.Pos()), n.Op)
					}
				}
				return true
			})
			if mustCall && !calls {
				t.Errorf("%s does not call subtle.ConstantTimeCompare", key)
			}
		}
	}
	for key := range want {
		if !seen[key] {
			t.Errorf("%s not found: update this test", key)
		}
	}
}

func isConstant(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.BasicLit:
		return true
	case *ast.Ident:
		return e.Name == "nil" || e.Name == "MaxTokenLen"
	}
	return false
}
