//go:build unix

package server

import (
	"net"
	"syscall"
)

// pendingInput reports whether c's peer has sent bytes that nobody has read yet,
// without reading them or waiting.
func pendingInput(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var pending bool
	var b [1]byte
	// Control, not Read: a Read would wait for the server's own blocked Read.
	_ = rc.Control(func(fd uintptr) {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		pending = err == nil && n > 0
	})
	return pending
}
