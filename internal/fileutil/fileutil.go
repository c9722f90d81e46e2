// Package fileutil writes files that hold secrets: 0600 files in 0700 folders, by
// temporary file and rename, so a reader never sees half a file.
package fileutil

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// IsPrivateDir reports whether dir is a folder EnsurePrivateDir would leave as it
// is: it exists, belongs to this user and has mode 0700 (on Windows: exists). It
// changes nothing.
func IsPrivateDir(dir string) bool {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return false
	}
	return runtime.GOOS == "windows" || (ownedByMe(fi) && fi.Mode().Perm() == 0o700)
}

// EnsurePrivateDir creates dir (and parents) with mode 0700 if missing, and
// tightens an existing dir we own to 0700. It refuses a dir owned by another
// user, since anyone who owns it could read or swap our files.
func EnsurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("could not create folder %s: %w", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("could not check folder %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a folder: remove it or choose another path", dir)
	}
	if runtime.GOOS == "windows" {
		return nil
	}
	if !ownedByMe(fi) {
		return fmt.Errorf("folder %s belongs to another user: choose a folder of your own", dir)
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("folder %s has mode %o and could not be set to 0700: %w", dir, fi.Mode().Perm(), err)
		}
	}
	return nil
}

// WriteFileAtomic writes data to path through a temporary file in the same
// folder, synced and renamed over the target, so readers see the old or the new
// contents and never a partial file — even if this process is killed midway.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return WriteFileAtomicPrepared(path, data, perm, nil)
}

// WriteFileAtomicPrepared is WriteFileAtomic with a hook that sees the temporary
// file before it is written (e.g. to give it the owner of the file it replaces).
func WriteFileAtomicPrepared(path string, data []byte, perm os.FileMode, prepare func(*os.File)) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("could not write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(perm); err != nil && runtime.GOOS != "windows" {
		return fmt.Errorf("could not set mode of %s: %w", tmp.Name(), err)
	}
	if prepare != nil {
		prepare(tmp)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("could not write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("could not sync %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("could not write %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("could not replace %s: %w", path, err)
	}
	return nil
}
