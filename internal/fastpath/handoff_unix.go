//go:build !windows

package fastpath

import (
	"os"
	"syscall"
)

// execFull replaces this process with the full binary: same pid, standard
// streams, terminal and environment, so the caller cannot tell the difference.
func execFull(path string, args []string) (int, error) {
	return 1, syscall.Exec(path, args, os.Environ())
}
