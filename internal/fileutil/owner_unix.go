//go:build unix

package fileutil

import (
	"errors"
	"os"
	"syscall"
)

// ownedByMe reports whether fi belongs to the effective user.
func ownedByMe(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}

// OwnedByMe reports whether the file behind fi belongs to the effective user.
func OwnedByMe(fi os.FileInfo) bool { return ownedByMe(fi) }

// noBlockFlags make an open return at once whatever sits at the path: a FIFO
// would otherwise block until a writer comes, deaf to signals, and a symbolic link
// could lead anywhere.
const (
	nonBlock     = syscall.O_NONBLOCK
	noBlockFlags = nonBlock | syscall.O_NOFOLLOW
)

// IsNoRoom reports whether err means the filesystem cannot take a write: read-only,
// full, or over quota.
func IsNoRoom(err error) bool {
	return errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
