//go:build !unix

package exchange

import "os/exec"

// setProcessGroup: without process groups, the command alone is killed on timeout.
func setProcessGroup(cmd *exec.Cmd) {}

// waitAndKillGroup: without process groups, only the command itself is waited for.
func waitAndKillGroup(cmd *exec.Cmd) error { return cmd.Wait() }
