//go:build !unix

package fileutil

import (
	"errors"
	"os"
	"syscall"
)

// On Windows, ownership is governed by ACLs on the user's profile folder.
func ownedByMe(os.FileInfo) bool { return true }

// OwnedByMe reports whether the file behind fi belongs to the effective user.
func OwnedByMe(fi os.FileInfo) bool { return ownedByMe(fi) }

// Windows opens never block on a FIFO and have no O_NOFOLLOW.
const (
	nonBlock     = 0
	noBlockFlags = 0
)

// IsNoRoom reports whether err means the filesystem cannot take a write.
func IsNoRoom(err error) bool {
	var e syscall.Errno
	return errors.As(err, &e) && (e == 112 || e == 19) // ERROR_DISK_FULL, ERROR_WRITE_PROTECT
}
