//go:build !unix

package server

import "net"

// pendingInput reports whether c's peer has sent bytes that nobody has read yet;
// here it cannot tell, and says no.
func pendingInput(net.Conn) bool { return false }
