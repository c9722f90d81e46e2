package cli

import (
	"bytes"
	"context"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/cwcreds/cwcreds/internal/emulator"
	"github.com/cwcreds/cwcreds/internal/emulator/devissuer"
	"github.com/cwcreds/cwcreds/internal/emulator/emutest"
)

// netnsChildEnv marks the copy of this test binary that runs in a fresh network
// namespace, where init-network may change links without touching the machine's.
const netnsChildEnv = "CWCREDS_TEST_NETNS_CHILD"

// TestAgentInitNetworkInFreshNetns runs `cwcreds agent init-network` for real, in
// a new user and network namespace (so with NET_ADMIN there, as root or not):
// it adds the link and both addresses, a second run changes nothing, a link of
// another kind is refused, and the agent then serves pods on 169.254.170.23 and
// [fd00:ec2::23] — the addresses the AWS SDKs accept.
func TestAgentInitNetworkInFreshNetns(t *testing.T) {
	if os.Getenv(netnsChildEnv) == "1" {
		initNetworkChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAgentInitNetworkInFreshNetns$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), netnsChildEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the test in a fresh network namespace failed (it needs user and network namespaces: unshare -U -r -n must work): %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("--- PASS: TestAgentInitNetworkInFreshNetns")) {
		t.Fatalf("the child test did not run:\n%s", out)
	}
	t.Logf("child:\n%s", out)
}

func runInitNetwork(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), Env{Args: append([]string{"agent", "init-network"}, args...), Stdout: &out, Stderr: &errOut})
	return code, out.String() + errOut.String()
}

func initNetworkChild(t *testing.T) {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		t.Fatal(err)
	}
	code, out := runInitNetwork(t)
	if code != 0 {
		t.Fatalf("init-network: exit %d\n%s", code, out)
	}
	for _, want := range []string{"added link cwcreds0", "added address 169.254.170.23/32 to link cwcreds0", "added address fd00:ec2::23/128 to link cwcreds0", "link cwcreds0 is up"} {
		if !strings.Contains(out, want) {
			t.Errorf("first run does not say %q:\n%s", want, out)
		}
	}
	code, out = runInitNetwork(t)
	if code != 0 || strings.Contains(out, "added") {
		t.Fatalf("second run: exit %d, and it should add nothing:\n%s", code, out)
	}
	link, err := netlink.LinkByName(agentLinkName)
	if err != nil {
		t.Fatal(err)
	}
	if ty := link.Type(); ty != "dummy" && ty != "bridge" {
		t.Errorf("link type %s", ty)
	}
	t.Logf("the kernel made a %s link", link.Type())
	if link.Attrs().Flags&(1<<0) == 0 { // net.FlagUp
		t.Errorf("link is not up")
	}
	addrs, err := netlink.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range addrs {
		if ip, ok := netip.AddrFromSlice(a.IP); ok && !ip.IsLinkLocalUnicast() || ok && ip.Is4() {
			got = append(got, a.IPNet.String())
		}
	}
	slices.Sort(got)
	if want := []string{"169.254.170.23/32", "fd00:ec2::23/128"}; !slices.Equal(got, want) {
		t.Errorf("addresses %v, want %v", got, want)
	}

	// A link of another kind is never taken over.
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "cwveth0"}, PeerName: "cwveth1"}
	if err := netlink.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	if code, out := runInitNetwork(t, "--link", "cwveth0"); code == 0 || !strings.Contains(out, "exists and is a veth link") {
		t.Errorf("a veth link was accepted: %d %s", code, out)
	}

	// The agent serves pods on both addresses.
	emu := emutest.Start(t, emulator.Config{})
	a := startAgent(t, emu, "--listen", "169.254.170.23:0", "--listen", "[fd00:ec2::23]:0")
	tok, err := emu.DevIssuer().Mint(devissuer.MintOptions{Subject: "system:serviceaccount:ml:netns", Lifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.urls) != 2 || !strings.HasPrefix(a.urls[0], "http://169.254.170.23:") || !strings.HasPrefix(a.urls[1], "http://[fd00:ec2::23]:") {
		t.Fatalf("endpoints %v", a.urls)
	}
	for _, u := range a.urls {
		if resp := srvGet(t, u, tok); resp.status != http.StatusOK {
			t.Errorf("GET %s: %d %s", u, resp.status, resp.body)
		}
	}
}

func TestAgentInitNetworkFlagErrors(t *testing.T) {
	for args, want := range map[string]string{
		"--address 127.0.0.1":     "cannot be a listening address",
		"--address nope":          "is not an IP address",
		"--link a/b":              "is not a link name",
		"--link-type veth":        "is not one of auto, dummy, bridge",
		"--link abcdefghijklmnop": "is not a link name",
	} {
		code, out := runInitNetwork(t, strings.Fields(args)...)
		if code != 1 || !strings.Contains(out, want) || strings.Count(strings.TrimSpace(out), "\n") != 0 {
			t.Errorf("%s: exit %d, %q; want one line with %q", args, code, out, want)
		}
	}
}
