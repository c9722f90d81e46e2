package cli

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// initNetwork adds (or keeps) the link and its addresses in this process's
// network namespace, and reports what it did on out, one line per step.
func initNetwork(out io.Writer, name, linkType string, addrs []netip.Addr) error {
	h, err := netlink.NewHandle()
	if err != nil {
		return fmt.Errorf("could not open a netlink socket: %w", err)
	}
	defer h.Close()
	link, err := ensureLink(out, h, name, linkType)
	if err != nil {
		return err
	}
	set := 0
	for _, ip := range addrs {
		ok, err := ensureAddr(out, h, link, ip)
		if err != nil {
			return err
		}
		if ok {
			set++
		}
	}
	if set == 0 {
		return fmt.Errorf("none of the addresses could be put on link %s: the node supports neither of their families", name)
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("could not bring link %s up: %w", name, netErr(err))
	}
	fmt.Fprintf(out, "link %s is up\n", name)
	return nil
}

func ensureLink(out io.Writer, h *netlink.Handle, name, linkType string) (netlink.Link, error) {
	link, err := h.LinkByName(name)
	if err == nil {
		t := link.Type()
		if t != linkDummy && t != linkBridge || linkType != linkAuto && t != linkType {
			return nil, fmt.Errorf("link %s exists and is a %s link, not the %s link this command makes: choose another name with --link", name, t, wantType(linkType))
		}
		fmt.Fprintf(out, "link %s (%s) already exists\n", name, t)
		return link, nil
	}
	var nf netlink.LinkNotFoundError
	if !errors.As(err, &nf) {
		return nil, fmt.Errorf("could not look link %s up: %w", name, netErr(err))
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = name
	var made netlink.Link = &netlink.Dummy{LinkAttrs: attrs}
	if linkType == linkBridge {
		made = &netlink.Bridge{LinkAttrs: attrs}
	}
	err = h.LinkAdd(made)
	if linkType == linkAuto && errors.Is(err, unix.EOPNOTSUPP) {
		// This kernel has no dummy driver: an empty bridge holds local addresses alike.
		made = &netlink.Bridge{LinkAttrs: attrs}
		err = h.LinkAdd(made)
	}
	if err != nil {
		return nil, fmt.Errorf("could not add the %s link %s: %w", wantType(linkType), name, netErr(err))
	}
	if link, err = h.LinkByName(name); err != nil {
		return nil, fmt.Errorf("link %s was added but cannot be found: %w", name, netErr(err))
	}
	fmt.Fprintf(out, "added link %s (%s)\n", name, link.Type())
	return link, nil
}

func wantType(linkType string) string {
	if linkType == linkAuto {
		return "dummy or bridge"
	}
	return linkType
}

// ensureAddr puts ip on link unless it is there. It returns false, after a
// warning, when the node has that address family disabled.
func ensureAddr(out io.Writer, h *netlink.Handle, link netlink.Link, ip netip.Addr) (bool, error) {
	family, bits := netlink.FAMILY_V4, 32
	if ip.Is6() {
		family, bits = netlink.FAMILY_V6, 128
	}
	name := link.Attrs().Name
	prefix := netip.PrefixFrom(ip, bits)
	have, err := h.AddrList(link, family)
	if err != nil && !familyMissing(err) {
		return false, fmt.Errorf("could not list the addresses of link %s: %w", name, netErr(err))
	}
	for _, a := range have {
		if got, ok := netip.AddrFromSlice(a.IP); ok && got.Unmap() == ip {
			fmt.Fprintf(out, "address %s is already on link %s\n", prefix, name)
			return true, nil
		}
	}
	a := &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(bits, bits)}}
	if ip.Is6() {
		// No duplicate address detection: the address is local to the node, and a
		// link without carrier would keep it tentative (unbindable) for ever.
		a.Flags = unix.IFA_F_NODAD
	}
	err = h.AddrAdd(link, a)
	switch {
	case err == nil:
		fmt.Fprintf(out, "added address %s to link %s\n", prefix, name)
		return true, nil
	case errors.Is(err, unix.EEXIST):
		fmt.Fprintf(out, "address %s is already on link %s\n", prefix, name)
		return true, nil
	case familyMissing(err):
		fmt.Fprintf(out, "warning: skipped address %s: this node has %s disabled (%v); run the agent with --listen-optional\n", prefix, familyName(ip), netErr(err))
		return false, nil
	}
	return false, fmt.Errorf("could not add address %s to link %s: %w", prefix, name, netErr(err))
}

func familyName(ip netip.Addr) string {
	if ip.Is6() {
		return "IPv6"
	}
	return "IPv4"
}

// familyMissing: the kernel refuses the address family (IPv6 disabled by sysctl
// answers EACCES; a kernel built without it, EAFNOSUPPORT).
func familyMissing(err error) bool {
	return errors.Is(err, unix.EAFNOSUPPORT) || errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPROTONOSUPPORT)
}

// netErr adds what to do to the errors a user can fix.
func netErr(err error) error {
	if errors.Is(err, syscall.EPERM) {
		return fmt.Errorf("%w: this needs the NET_ADMIN capability (run it as root, or add NET_ADMIN to the container's securityContext.capabilities)", err)
	}
	return err
}
