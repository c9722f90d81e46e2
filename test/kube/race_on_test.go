//go:build race

package kube_test

// raceEnabled: the cwcreds binary under test is built with -race too, so the
// webhook and agent runs double as race tests of those daemons.
const raceEnabled = true
