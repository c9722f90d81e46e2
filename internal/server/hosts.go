package server

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// hostRule decides which Host headers a listener answers, so that a page whose
// host name an attacker re-points at 127.0.0.1 (DNS rebinding) is refused: its
// requests carry the attacker's name. Accepted: the address listened on, any
// loopback IP literal and "localhost", each with the listened port (or without a
// port when it is 80). A wildcard listener (0.0.0.0, ::) accepts any IP literal,
// never a name other than localhost.
type hostRule struct {
	anyHost  bool     // unix socket: only local processes with file access reach it
	exact    []string // fast path: the common spellings, compared as strings
	port     string
	ip       netip.Addr
	wildcard bool
}

func newHostRule(addr net.Addr) hostRule {
	switch a := addr.(type) {
	case *net.UnixAddr:
		return hostRule{anyHost: true}
	case *net.TCPAddr:
		ap := a.AddrPort()
		return newTCPHostRule(ap.Addr().Unmap(), ap.Port())
	case nil:
		return hostRule{} // refuses everything
	}
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return hostRule{}
	}
	return newTCPHostRule(ap.Addr().Unmap(), ap.Port())
}

func newTCPHostRule(ip netip.Addr, port uint16) hostRule {
	p := strconv.Itoa(int(port))
	h := hostRule{port: p, ip: ip.WithZone(""), wildcard: ip.IsUnspecified()}
	h.exact = []string{net.JoinHostPort(h.ip.String(), p), "localhost:" + p, "127.0.0.1:" + p, "[::1]:" + p}
	if port == 80 {
		h.exact = append(h.exact, "localhost", "127.0.0.1")
	}
	return h
}

func (h *hostRule) allows(host string) bool {
	if h.anyHost {
		return true
	}
	for _, e := range h.exact {
		if host == e {
			return true
		}
	}
	return h.port != "" && h.allowsSlow(host)
}

func (h *hostRule) allowsSlow(host string) bool {
	name, port, err := net.SplitHostPort(host)
	if err != nil {
		// No port: only right when we serve port 80. "[::1]" keeps its brackets.
		if h.port != "80" || strings.Contains(host, ":") && !(strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]")) {
			return false
		}
		name = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	} else if port != h.port {
		return false
	}
	if strings.EqualFold(name, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(name)
	if err != nil || ip.Zone() != "" {
		return false
	}
	ip = ip.Unmap()
	return ip.IsLoopback() || ip == h.ip || h.wildcard
}
