//go:build !linux

package cli

import (
	"errors"
	"io"
	"net/netip"
)

func initNetwork(io.Writer, string, string, []netip.Addr) error {
	return errors.New("cwcreds agent init-network works on Linux nodes only")
}
