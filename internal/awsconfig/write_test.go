package awsconfig

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func fileMode(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func readString(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Fatalf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestWriteWithBackupCreatesPrivateFileAndFolder(t *testing.T) {
	home := t.TempDir()
	p := filepath.Join(home, ".aws", "config")
	backup, err := WriteWithBackup(p, []byte("[default]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if backup != "" {
		t.Fatalf("backup %q for a new file", backup)
	}
	if readString(t, p) != "[default]\n" {
		t.Fatal("contents")
	}
	if runtime.GOOS != "windows" {
		if m := fileMode(t, p); m != 0o600 {
			t.Fatalf("new file mode %o, want 600", m)
		}
		if m := fileMode(t, filepath.Dir(p)); m != 0o700 {
			t.Fatalf("new folder mode %o, want 700", m)
		}
	}
	if _, err := os.Stat(p + BackupSuffix); !os.IsNotExist(err) {
		t.Fatalf("backup file exists for a new file: %v", err)
	}
	assertNoTempFiles(t, filepath.Dir(p))
}

func TestWriteWithBackupKeepsModeAndBacksUp(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "config")
	if err := os.WriteFile(p, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o644); err != nil { // umask-proof
		t.Fatal(err)
	}
	backup, err := WriteWithBackup(p, []byte("new\n"))
	if err != nil {
		t.Fatal(err)
	}
	if backup != p+BackupSuffix {
		t.Fatalf("backup = %q", backup)
	}
	if readString(t, p) != "new\n" || readString(t, backup) != "old\n" {
		t.Fatal("contents")
	}
	if runtime.GOOS != "windows" {
		if m := fileMode(t, p); m != 0o644 {
			t.Fatalf("mode %o, want the original 644", m)
		}
		if m := fileMode(t, backup); m != 0o644 {
			t.Fatalf("backup mode %o, want 644", m)
		}
		if m := fileMode(t, dir); m != 0o755 {
			t.Fatalf("an existing folder's mode changed to %o", m)
		}
	}
	// A second change replaces the backup with the state just before it.
	if _, err := WriteWithBackup(p, []byte("newer\n")); err != nil {
		t.Fatal(err)
	}
	if readString(t, backup) != "new\n" {
		t.Fatal("backup should hold the contents right before the latest write")
	}
	// Writing what is already there does nothing, and keeps the backup.
	backup2, err := WriteWithBackup(p, []byte("newer\n"))
	if err != nil || backup2 != "" || readString(t, backup) != "new\n" {
		t.Fatalf("no-op write: backup %q, err %v", backup2, err)
	}
	assertNoTempFiles(t, dir)
}

func TestWriteWithBackupFollowsSymlink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Log("symbolic links need privileges on Windows; covered on Unix")
		return
	}
	dir := t.TempDir()
	dotfiles := filepath.Join(dir, "dotfiles")
	if err := os.Mkdir(dotfiles, 0o700); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dotfiles, "aws-config")
	if err := os.WriteFile(target, []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "config")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	backup, err := WriteWithBackup(link, []byte("new\n"))
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(link)
	if err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced by a file: %v", err)
	}
	if readString(t, target) != "new\n" || backup != target+BackupSuffix || readString(t, backup) != "old\n" {
		t.Fatalf("target %q, backup %q", readString(t, target), backup)
	}
	if m := fileMode(t, target); m != 0o640 {
		t.Fatalf("mode %o, want 640", m)
	}

	dangling := filepath.Join(dir, "dangling")
	if err := os.Symlink(filepath.Join(dir, "missing", "x"), dangling); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteWithBackup(dangling, []byte("x")); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("dangling link: %v", err)
	}
}

func TestWriteWithBackupErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := WriteWithBackup(dir, []byte("x")); err == nil {
		t.Fatal("writing over a folder succeeded")
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteWithBackup(filepath.Join(file, "config"), []byte("x")); err == nil {
		t.Fatal("writing under a file succeeded")
	}
}
