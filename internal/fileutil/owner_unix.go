//go:build unix

package fileutil

import (
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
