package sdk_test

// How a test asks `cwcreds serve` to accept key lifetimes under the config's
// 15-minute minimum (the hidden --min-lifetime flag; the exchange itself asks
// for no less than 1 minute), so that a soak run sees several refreshes in
// minutes. /readyz must then accept keys with less than its default minute left.
func shortLifetimeArgs() []string {
	return []string{"--min-lifetime", "1m", "--min-ready-ttl", "5s"}
}
