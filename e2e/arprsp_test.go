package e2e

import (
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chainwire/chainwire/e2e/lab"
)

// Broadcast ARP requests and multicast neighbour solicitations from vm1
// (hv1) for vm2 (hv2) are answered on hv1: vm1 learns vm2's MAC, none of
// them crosses the underlay, vm2 never sees vm1 ask; the ping that
// follows does cross. (Duplicate address detection, from ::, is not
// answered: it floods; unicast requests go to their target, as in OVN.)
func TestNeighboursAnsweredLocally(t *testing.T) {
	l := up(t, hosts(2, vm("vm1", "hv1", "p1", 1), vm("vm2", "hv2", "p2", 2)))
	registerChassis(t, l)
	chainctl(t, l, "ls-add", "sw0")
	addPort(t, l, "sw0", "p1", "1", "hv1", 1)
	addPort(t, l, "sw0", "p2", "2", "hv2", 2)
	chainctl(t, l, "lsp-set-addresses", "p1", "02:00:00:00:00:01 10.0.0.1 fd00::1")
	chainctl(t, l, "--wait", "lsp-set-addresses", "p2", "02:00:00:00:00:02 10.0.0.2 fd00::2")
	for i, v := range []string{"vm1", "vm2"} {
		for _, cmd := range [][]string{{"sysctl", "-qw", "net.ipv6.conf.eth0.disable_ipv6=0"},
			{"ip", "-6", "addr", "add", fmt.Sprintf("fd00::%d/64", i+1), "dev", "eth0", "nodad"}} {
			if _, err := l.Exec(v, cmd...); err != nil {
				t.Fatal(err)
			}
		}
	}
	wire := startCapture(t, l, "hv1", "ul0", "udp port 6081")
	asked := startCapture(t, l, "vm2", "eth0", "ether src 02:00:00:00:00:01 and ether multicast and (arp or (icmp6 and ip6[40] == 135 and not src host ::))")

	out, err := l.Exec("vm1", "arping", "-c", "1", "-w", "3", "-I", "eth0", "10.0.0.2")
	if err != nil || !strings.Contains(out, "[02:00:00:00:00:02]") {
		t.Fatalf("arping 10.0.0.2: %v\n%s", err, out)
	}
	if err := ping(l, "vm1", "10.0.0.2"); err != nil {
		t.Fatal(err)
	}
	if err := ping(l, "vm1", "fd00::2"); err != nil {
		t.Fatal(err)
	}
	if err := lab.Eventually(2*time.Second, func() error {
		out, err := l.Exec("vm1", "ip", "-6", "neigh", "show", "fd00::2")
		if err != nil || !strings.Contains(out, "02:00:00:00:00:02") {
			return fmt.Errorf("vm1's neighbour entry for fd00::2: %q %v", out, err)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	echoes := 0
	for _, p := range geneveFrames(t, wire) {
		if len(p.Inner) < 14 {
			continue
		}
		dst, _ := p.InnerMACs()
		switch et := binary.BigEndian.Uint16(p.Inner[12:]); {
		case dst[0]&1 == 0: // unicast requests (Linux's reachability probes) go to their target
			echoes++
		case et == 0x0806:
			t.Errorf("a broadcast ARP crossed the underlay: %s", p)
		case et == 0x86dd && len(p.Inner) > 54 && p.Inner[20] == 58 && p.Inner[54] == 135 &&
			!net.IP(p.Inner[22:38]).IsUnspecified(): // duplicate address detection is not answered
			t.Errorf("a neighbour solicitation crossed the underlay: %s", p)
		default:
			echoes++
		}
	}
	if echoes == 0 {
		t.Error("the capture on the underlay saw not even the pings")
	}
	if lines, err := asked.Stop(true); err != nil || len(lines) != 0 {
		t.Errorf("vm2 saw ARP requests or solicitations from vm1 (%v):\n%s", err, strings.Join(lines, "\n"))
	}
}
