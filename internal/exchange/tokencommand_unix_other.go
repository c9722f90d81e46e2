//go:build unix && !linux

package exchange

import "os/exec"

// waitAndKillGroup waits for the command to exit and then kills what it left
// running in its process group. The command is reaped first (these systems have
// no portable WNOWAIT wait), but while any process of its group lives, the
// group's id is taken and cannot go to another process.
func waitAndKillGroup(cmd *exec.Cmd) error {
	err := cmd.Wait()
	_ = killGroup(cmd.Process.Pid)
	return err
}
