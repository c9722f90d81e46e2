//go:build unix

package awsconfig

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// As root (the `sudo cwcreds configure` case), the rewritten file and its
// backup keep the user's ownership.
func TestWriteWithBackupKeepsOwnerWhenRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Log("not root: only root can give a file to another user, so there is nothing to keep")
		return
	}
	p := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(p, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const uid, gid = 54321, 54322
	if err := os.Chown(p, uid, gid); err != nil {
		t.Fatal(err)
	}
	backup, err := WriteWithBackup(p, []byte("new\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{p, backup} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != uid || st.Gid != gid {
			t.Fatalf("%s owned by %d:%d, want %d:%d", f, st.Uid, st.Gid, uid, gid)
		}
	}
}
