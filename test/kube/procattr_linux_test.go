package kube_test

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal kills the child if the test binary dies without its
// cleanups (a panic, a timeout), so no etcd or kube-apiserver is left behind.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
