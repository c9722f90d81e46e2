//go:build unix

package awsconfig

import (
	"io/fs"
	"os"
	"syscall"
)

// keepOwner gives f the owner and group of like. Only root can do that for
// another user; for everyone else the file is theirs already, so a failure is
// ignored.
func keepOwner(f *os.File, like fs.FileInfo) {
	st, ok := like.Sys().(*syscall.Stat_t)
	if !ok {
		return
	}
	if int(st.Uid) != os.Geteuid() || int(st.Gid) != os.Getegid() {
		_ = f.Chown(int(st.Uid), int(st.Gid))
	}
}
