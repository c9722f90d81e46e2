//go:build race

package sdk_test

// raceEnabled: the cwcreds binary under test is built with -race too, so the
// real-SDK runs double as a race test of the daemon.
const raceEnabled = true
