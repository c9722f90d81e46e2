package awsconfig

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cwcreds/cwcreds/internal/fileutil"
)

// BackupSuffix is appended to the config path to name the backup that
// WriteWithBackup keeps: one file, the contents just before the latest change.
const BackupSuffix = ".cwcreds-backup"

// WriteWithBackup replaces the file at path with data.
//
//   - An existing file is first copied to path+BackupSuffix (same mode), and
//     backupPath returns that name; the backup holds the contents right before
//     this write, replacing any older backup.
//   - The new contents go to a temporary file in the same folder that is synced
//     and renamed over the old one, so a reader sees the old or the new file,
//     never half of one. The old file's mode is kept (and, when permitted, its
//     owner, so `sudo cwcreds configure` does not hand the file to root).
//   - A symbolic link (dotfile managers link ~/.aws/config) is followed and its
//     target rewritten; the link stays.
//   - A missing file is created with mode 0600, and a missing parent folder with
//     0700; no backup is made then.
//   - When the file already holds exactly data nothing is written and
//     backupPath is "".
func WriteWithBackup(path string, data []byte) (backupPath string, err error) {
	target, err := resolveLink(path)
	if err != nil {
		return "", err
	}
	old, err := os.ReadFile(target)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		dir := filepath.Dir(target)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", fmt.Errorf("could not create folder %s: %w", dir, err)
		}
		return "", writeAtomic(target, data, 0o600, nil)
	case err != nil:
		return "", fmt.Errorf("could not read %s: %w", target, err)
	}
	if bytes.Equal(old, data) {
		return "", nil
	}
	fi, err := os.Stat(target)
	if err != nil {
		return "", fmt.Errorf("could not read %s: %w", target, err)
	}
	backup := target + BackupSuffix
	if err := writeAtomic(backup, old, fi.Mode().Perm(), fi); err != nil {
		return "", err
	}
	if err := writeAtomic(target, data, fi.Mode().Perm(), fi); err != nil {
		return "", err
	}
	return backup, nil
}

// resolveLink follows symbolic links so the rename replaces the real file.
func resolveLink(path string) (string, error) {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		return path, nil
	}
	target, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", fmt.Errorf("%s is a symbolic link whose target cannot be read (%v): fix or remove the link and run again", path, err)
	}
	return target, nil
}

// writeAtomic writes data to path through a synced temporary file renamed over
// it. like, when set, is the file whose owner the result should keep.
func writeAtomic(path string, data []byte, perm fs.FileMode, like fs.FileInfo) error {
	var prepare func(*os.File)
	if like != nil {
		prepare = func(tmp *os.File) { keepOwner(tmp, like) }
	}
	return fileutil.WriteFileAtomicPrepared(path, data, perm, prepare)
}
