package fileutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// NoBlockFlags are the extra open flags of OpenPrivate, for callers that open
// through a library (such as a lock): O_NONBLOCK|O_NOFOLLOW on Unix, none elsewhere.
const NoBlockFlags = noBlockFlags

// NonBlock is the open flag that keeps an open of a FIFO from waiting for a
// writer (O_NONBLOCK on Unix); for files that may legitimately be symbolic links.
const NonBlock = nonBlock

// OpenPrivate opens path for reading without ever blocking or following a final
// symbolic link, and returns it only when it is a regular file of this user's.
// Anything else — a FIFO, a socket, a device, a folder, a link — is an error that
// says what was found, so a stray special file can neither hang a caller nor feed
// it another user's data.
func OpenPrivate(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|noBlockFlags, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if fi, lerr := os.Lstat(path); lerr == nil {
			if kerr := CheckPrivateFile(fi); kerr != nil {
				return nil, kerr
			}
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = CheckPrivateFile(fi)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// CheckPrivateFile says why fi is not a regular file owned by this user; nil when it is.
func CheckPrivateFile(fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("it is %s, not a regular file", KindOf(fi.Mode()))
	}
	if !ownedByMe(fi) {
		return errors.New("it belongs to another user")
	}
	return nil
}

// KindOf names the kind of file a mode describes, with its article.
func KindOf(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a folder"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}
