//go:build linux

package exchange

import (
	"errors"
	"os/exec"

	"golang.org/x/sys/unix"
)

// waitAndKillGroup waits for the command to exit, kills what it left running in
// its process group, and reaps it. The command is waited for without being
// reaped (WNOWAIT): until it is, its pid — the group's id — cannot be reused, so
// the kill reaches the command's own group and nothing else, even when the
// group is empty by then.
func waitAndKillGroup(cmd *exec.Cmd) error {
	pid := cmd.Process.Pid
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			break // exited, or (ECHILD) already reaped: Wait below tells
		}
	}
	_ = killGroup(pid)
	return cmd.Wait()
}
