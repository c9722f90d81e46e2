//go:build !unix

package exchange

import "os/exec"

// setProcessGroup: without process groups, the command alone is killed on timeout.
func setProcessGroup(cmd *exec.Cmd) {}
