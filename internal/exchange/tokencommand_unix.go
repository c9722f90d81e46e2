//go:build unix

package exchange

import (
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
		if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
}
