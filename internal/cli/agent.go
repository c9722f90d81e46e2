package cli

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/spf13/cobra"
)

// Defaults of `cwcreds agent init-network`.
const (
	agentLinkName = "cwcreds0"
	linkAuto      = "auto"
	linkDummy     = "dummy"
	linkBridge    = "bridge"
)

// agentDefaultAddresses are the hosts of agentDefaultListens.
var agentDefaultAddresses = []string{"169.254.170.23", "fd00:ec2::23"}

func newAgentCommand(env Env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Set up a node for the node agent (serve --mode agent)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newAgentInitNetworkCommand(env))
	return cmd
}

type initNetworkOptions struct {
	link      string
	linkType  string
	addresses []string
}

func newAgentInitNetworkCommand(env Env) *cobra.Command {
	o := &initNetworkOptions{}
	cmd := &cobra.Command{
		Use:   "init-network",
		Short: "Add the link-local addresses the node agent listens on to a dummy link",
		Long: "Add a dummy network link (default " + agentLinkName + ") holding the addresses the node agent\n" +
			"listens on (default " + strings.Join(agentDefaultAddresses, " and ") + "): besides loopback, the only\n" +
			"plain-http hosts every AWS SDK accepts in AWS_CONTAINER_CREDENTIALS_FULL_URI. Run it on the\n" +
			"node's network (hostNetwork) before `cwcreds serve --mode agent`, e.g. in an init container;\n" +
			"it needs the NET_ADMIN capability. It is idempotent: what is there already is kept.\n\n" +
			"A kernel without dummy links gets an empty bridge instead (--link-type auto), which holds\n" +
			"local addresses the same way. An IPv6 address is skipped, with a warning, when IPv6 is\n" +
			"disabled on the node (and an IPv4 one when IPv4 is), as long as one address is set;\n" +
			"the agent then needs --listen-optional.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			addrs, err := o.check()
			if err != nil {
				return err
			}
			return initNetwork(cmd.OutOrStdout(), o.link, o.linkType, addrs)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.link, "link", agentLinkName, "name of the link to add (or keep)")
	f.StringVar(&o.linkType, "link-type", linkAuto, "dummy, bridge (an empty bridge: for kernels without dummy links) or auto (dummy, else bridge)")
	f.StringArrayVar(&o.addresses, "address", agentDefaultAddresses, "address to put on the link; repeat for several")
	return cmd
}

// check validates the flags and returns the addresses.
func (o *initNetworkOptions) check() ([]netip.Addr, error) {
	if o.link == "" || len(o.link) > 15 || strings.ContainsAny(o.link, "/ \t\n:") || o.link == "." || o.link == ".." {
		return nil, fmt.Errorf("--link %q is not a link name: use up to 15 characters without '/', ':' or spaces, e.g. %s", o.link, agentLinkName)
	}
	switch o.linkType {
	case linkAuto, linkDummy, linkBridge:
	default:
		return nil, fmt.Errorf("--link-type %q is not one of %s, %s, %s", o.linkType, linkAuto, linkDummy, linkBridge)
	}
	if len(o.addresses) == 0 {
		return nil, errors.New("no --address given: give at least one, e.g. " + agentDefaultAddresses[0])
	}
	var out []netip.Addr
	for _, s := range o.addresses {
		ip, err := netip.ParseAddr(strings.Trim(s, "[]"))
		if err != nil || ip.Zone() != "" {
			return nil, fmt.Errorf("--address %q is not an IP address: use e.g. %s", s, agentDefaultAddresses[0])
		}
		ip = ip.Unmap()
		if ip.IsLoopback() || ip.IsUnspecified() || ip.IsMulticast() {
			return nil, fmt.Errorf("--address %s cannot be a listening address of the agent: use e.g. %s", ip, agentDefaultAddresses[0])
		}
		out = append(out, ip)
	}
	return out, nil
}
