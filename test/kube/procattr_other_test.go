//go:build !linux

package kube_test

import "os/exec"

// setParentDeathSignal: only Linux offers it; elsewhere the cleanups stop the
// children.
func setParentDeathSignal(*exec.Cmd) {}
