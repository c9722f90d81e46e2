package inject

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cwcreds/cwcreds/internal/fileutil"
)

// WriteAWSConfig writes AWSConfig to path (by rename, mode 0644: it holds no
// secret and the app may run as any user). The folder must exist: in a pod it is
// the cwcreds-run volume.
func WriteAWSConfig(path string) error {
	if err := checkFolder(path); err != nil {
		return err
	}
	return fileutil.WriteFileAtomic(path, []byte(AWSConfig), 0o644)
}

// WriteAuthToken writes a new random auth token to path unless a file is there
// already (the init container runs again when the pod's sandbox is recreated, and
// the sidecar must keep the token the app holds). Same format as the token
// `cwcreds serve` generates: 32 random bytes, base64url, no newline.
//
// Mode 0644 on purpose: the file lives in the pod's own in-memory emptyDir,
// which only the pod's containers mount, and the app containers — whose user
// the webhook cannot know — must read it; a 0600 file of the sidecar's user
// would be unreadable to an app running as another non-root user.
func WriteAuthToken(path string) (created bool, err error) {
	if err := checkFolder(path); err != nil {
		return false, err
	}
	switch fi, err := os.Lstat(path); {
	case err == nil && fi.Mode().IsRegular():
		return false, nil
	case err == nil:
		return false, fmt.Errorf("%s exists and is not a regular file: remove it", path)
	case !errors.Is(err, fs.ErrNotExist):
		return false, fmt.Errorf("could not check %s: %w", path, err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return false, fmt.Errorf("could not generate an auth token: %w", err)
	}
	if err := fileutil.WriteFileAtomic(path, []byte(base64.RawURLEncoding.EncodeToString(raw[:])), 0o644); err != nil {
		return false, err
	}
	return true, nil
}

func checkFolder(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return fmt.Errorf("folder %s does not exist: mount the %s volume there, or give another path", dir, RunVolume)
	}
	return nil
}
