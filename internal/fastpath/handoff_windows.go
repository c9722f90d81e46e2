//go:build windows

package fastpath

import (
	"errors"
	"os"
	"os/exec"
)

// execFull runs the full binary with this process's streams and returns its exit
// code: Windows has no exec.
func execFull(path string, args []string) (int, error) {
	cmd := &exec.Cmd{Path: path, Args: args, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 1, err
	}
	return 0, nil
}
