//go:build unix

package cli

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Releasing a piped stdout gives its reader end-of-file while the process goes
// on; writes after it vanish. (Setsid is exercised by TestServeBinary, in a
// child process: here it would move the test process itself.)
func TestDetachStdout(t *testing.T) {
	t.Parallel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if _, err := io.WriteString(w, "export A='1'\n"); err != nil {
		t.Fatal(err)
	}
	d := detachStdout(w, strings.NewReader(""))
	if !d.released || d.newSession || d.waitedOn || d.err != nil {
		t.Fatalf("detach: %+v", d)
	}
	got, err := io.ReadAll(r) // returns only at end-of-file
	if err != nil || string(got) != "export A='1'\n" {
		t.Fatalf("reader got %q, %v", got, err)
	}
	if _, err := io.WriteString(w, "more\n"); err != nil {
		t.Fatalf("writing after the release: %v", err)
	}

	// A writer that is not a file is left alone.
	if d := detachStdout(io.Discard, nil); d.released {
		t.Fatal("released a writer that is not a file")
	}

	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	regular, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer regular.Close()
	if !isDevNull(null) || isDevNull(regular) || isDevNull(strings.NewReader("")) {
		t.Fatal("isDevNull is wrong")
	}
}
