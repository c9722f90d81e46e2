//go:build unix

package exchange

import (
	"errors"
	"os/exec"
	"syscall"
)

// setProcessGroup runs the command in its own process group and makes the
// context's cancellation kill the whole group, so a shell script's children die too.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		if err := killGroup(cmd.Process.Pid); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
}

// killGroup sends SIGKILL to every process of the group pgid. A group that is
// already empty is not an error.
func killGroup(pgid int) error {
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}
