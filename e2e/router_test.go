package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chainwire/chainwire/e2e/lab"
)

// Distributed routing (DESIGN.md §11): vm1 in 10.0.1.0/24 on hv1, vm2 in
// 10.0.2.0/24 on hv2, router R between their switches S1 (VNI 1) and S2
// (VNI 2).

const (
	macVM1, macVM2, macVM3 = "02:00:00:00:01:0a", "02:00:00:00:02:0b", "02:00:00:00:02:0c"
	macR1, macR2           = "02:00:00:00:ff:01", "02:00:00:00:ff:02"
)

type routedSetup struct {
	vnf      bool // a two-armed VNF on S2 (hv2), on vm2's chain
	routerVM bool // vm3 on S2 (hv2): 10.0.2.12, with 10.0.3.1 behind it
	// unknown: vm3's port names only its MAC, and vm3 has fd00:2::12 with
	// fd00:3::1 behind it: the router learns both next hops by asking.
	unknown bool
}

func (c routedSetup) up(t *testing.T) *lab.Lab {
	t.Helper()
	iface := func(port, mac, ip, ip6, gw, gw6 string) []lab.InterfaceConfig {
		return []lab.InterfaceConfig{{Name: "eth0", Port: port, MAC: mac, IP: ip, IP6: ip6, Gateway: gw, Gateway6: gw6}}
	}
	nodes := []lab.NodeConfig{
		{Name: "vm1", Host: "hv1", Interfaces: iface("vm1", macVM1, "10.0.1.10/24", "fd00:1::10/64", "10.0.1.1", "fd00:1::1")},
		{Name: "vm2", Host: "hv2", Interfaces: iface("vm2", macVM2, "10.0.2.11/24", "fd00:2::11/64", "10.0.2.1", "fd00:2::1")},
	}
	if c.routerVM && c.unknown {
		nodes = append(nodes, lab.NodeConfig{Name: "vm3", Host: "hv2", Interfaces: iface("vm3", macVM3, "10.0.2.12/24", "fd00:2::12/64", "10.0.2.1", "fd00:2::1")})
	} else if c.routerVM {
		nodes = append(nodes, lab.NodeConfig{Name: "vm3", Host: "hv2", Interfaces: iface("vm3", macVM3, "10.0.2.12/24", "", "10.0.2.1", "")})
	}
	if c.vnf {
		nodes = append(nodes, lab.NodeConfig{Name: "V", Host: "hv2", Kind: "vnf", Interfaces: []lab.InterfaceConfig{
			{Name: "eth1", Port: "V-in", MAC: "02:00:00:00:0e:01"}, {Name: "eth2", Port: "V-out", MAC: "02:00:00:00:0e:02"}}})
	}
	l := up(t, hosts(2, nodes...))
	registerChassis(t, l)
	chainctl(t, l, "ls-add", "S1", "--tunnel-key", "1", "--", "ls-add", "S2", "--tunnel-key", "2", "--",
		"lr-add", "R", "--", "lrp-add", "R", "r1", macR1, "10.0.1.1/24", "fd00:1::1/64", "--",
		"lrp-add", "R", "r2", macR2, "10.0.2.1/24", "fd00:2::1/64", "--",
		"lsp-add", "S1", "rp1", "--", "lsp-set-type", "rp1", "router", "--", "lsp-set-addresses", "rp1", "router", "--",
		"lsp-set-options", "rp1", "router-port=r1", "--",
		"lsp-add", "S2", "rp2", "--", "lsp-set-type", "rp2", "router", "--", "lsp-set-addresses", "rp2", "router", "--",
		"lsp-set-options", "rp2", "router-port=r2")
	vm := func(sw, name, mac, addrs, host string) {
		chainctl(t, l, "lsp-add", sw, name, "--", "lsp-set-addresses", name, mac+" "+addrs, "--",
			"lsp-set-options", name, "requested-chassis="+host)
	}
	vm("S1", "vm1", macVM1, "10.0.1.10 fd00:1::10", "hv1")
	vm("S2", "vm2", macVM2, "10.0.2.11 fd00:2::11", "hv2")
	if c.routerVM {
		addrs := "10.0.2.12"
		if c.unknown {
			addrs = ""
		}
		vm("S2", "vm3", macVM3, addrs, "hv2")
		// 10.0.3.1 is vm3's own (on lo): it answers for the network
		// behind it, as a router VM would forward to it.
		if _, err := l.Exec("vm3", "ip", "addr", "add", "10.0.3.1/32", "dev", "lo"); err != nil {
			t.Fatal(err)
		}
		chainctl(t, l, "lr-route-add", "R", "10.0.3.0/24", "10.0.2.12")
		if c.unknown {
			for _, cmd := range [][]string{{"sysctl", "-qw", "net.ipv6.conf.lo.disable_ipv6=0"}, {"ip", "addr", "add", "fd00:3::1/128", "dev", "lo"}} {
				if _, err := l.Exec("vm3", cmd...); err != nil {
					t.Fatal(err)
				}
			}
			chainctl(t, l, "lr-route-add", "R", "fd00:3::/64", "fd00:2::12")
		}
	}
	if c.vnf {
		chainctl(t, l, "lsp-add", "S2", "V-in", "--", "lsp-set-options", "V-in", "requested-chassis=hv2", "--",
			"lsp-add", "S2", "V-out", "--", "lsp-set-options", "V-out", "requested-chassis=hv2", "--",
			"lsp-pair-add", "S2", "V-in", "V-out", "V", "--", "lsp-chain-add", "S2", "VC", "--",
			"lsp-pair-group-add", "VC", "VG", "--", "lsp-pair-group-port-pair-add", "VG", "V", "--",
			"lsp-chain-classifier", "S2", "VC", "vm2", "entry-lport", "bi-directional", "vcl", "ip4")
	}
	// Every change above is on both chassis before any packet goes.
	for _, h := range []string{"hv1", "hv2"} {
		waitGeneration(t, l, h)
	}
	return l
}

var (
	ttlOf     = regexp.MustCompile(`\b(?:ttl|hlim) (\d+)\b`)
	srcMACOf  = regexp.MustCompile(`^\S+ ([0-9a-f:]{17}) > `)
	echoReqOf = regexp.MustCompile(`ICMP6?,? echo request|ICMP echo request`)
)

// echoRequests are the lines of a capture (tcpdump -e -v) with echo
// requests.
func echoRequests(lines []string) []string {
	var out []string
	for _, l := range lines {
		if echoReqOf.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

// vm1 and vm2 ping each other through the router, IPv4 and IPv6: the
// TTL arrives decremented by one, from the router port's MAC; the
// gateway's ARP never leaves hv1; each ping crosses the underlay once per
// direction, with the destination switch's VNI; traceroute names the
// router; a TTL of 1 gets time exceeded; the router's addresses answer.
func TestRoutedPing(t *testing.T) {
	l := routedSetup{}.up(t)
	if _, err := l.Exec("vm1", "ip", "neigh", "flush", "dev", "eth0"); err != nil {
		t.Fatal(err)
	}
	underlay := startCapture(t, l, "hv1", "ul0", "udp port 6081 or arp")
	seen := inbound(t, l, "vm2", "eth0", "icmp or icmp6")
	if err := ping(l, "vm1", "10.0.2.11"); err != nil {
		t.Fatal(err)
	}
	if err := ping(l, "vm1", "fd00:2::11"); err != nil {
		t.Fatal(err)
	}
	lines, err := seen.Stop(true)
	if err != nil {
		t.Fatal(err)
	}
	reqs := echoRequests(lines)
	if len(reqs) != 6 {
		t.Fatalf("vm2 saw %d echo requests for 6 pings:\n%s", len(reqs), strings.Join(lines, "\n"))
	}
	for _, r := range reqs {
		ttl, src := ttlOf.FindStringSubmatch(r), srcMACOf.FindStringSubmatch(r)
		if ttl == nil || ttl[1] != "63" || src == nil || src[1] != macR2 {
			t.Errorf("vm2 received (want ttl/hlim 63 from %s): %s", macR2, r)
		}
	}
	var vni1, vni2 int
	for _, p := range geneveFrames(t, underlay) {
		switch {
		case p.Geneve.VNI == 2 && p.Meta.Ingress == 1: // S2's router port to vm2: a request
			vni2++
		case p.Geneve.VNI == 1 && p.Meta.Ingress == 1: // S1's router port to vm1: a reply
			vni1++
		default:
			t.Errorf("unexpected Geneve packet: VNI %d, %s", p.Geneve.VNI, p.Meta)
		}
	}
	if vni2 != 6 || vni1 != 6 {
		t.Errorf("Geneve packets: %d with S2's VNI from its router port, %d with S1's; want one per ping each way (6)", vni2, vni1)
	}
	lines, err = underlay.Stop(false)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range lines {
		if strings.Contains(line, "ARP") && strings.Contains(line, "10.0.1.1") {
			t.Errorf("an ARP for the gateway left hv1: %s", line)
		}
	}

	out, err := l.Exec("vm1", "traceroute", "-n", "-q", "1", "-w", "2", "-m", "3", "10.0.2.11")
	if err != nil || !regexp.MustCompile(`(?m)^ 1\s+10\.0\.1\.1 `).MatchString(out) || !regexp.MustCompile(`(?m)^ 2\s+10\.0\.2\.11 `).MatchString(out) {
		t.Errorf("traceroute: %v\n%s", err, out)
	}
	out, _ = l.Exec("vm1", "ping", "-c", "1", "-W", "2", "-t", "1", "10.0.2.11")
	if !strings.Contains(out, "From 10.0.1.1") || !strings.Contains(out, "Time to live exceeded") {
		t.Errorf("ping -t 1: want time exceeded from 10.0.1.1:\n%s", out)
	}
	out, _ = l.Exec("vm1", "ping", "-6", "-c", "1", "-W", "2", "-t", "1", "fd00:2::11")
	if !strings.Contains(out, "From fd00:1::1") || !strings.Contains(out, "Time exceeded") {
		t.Errorf("ping -6 -t 1: want time exceeded from fd00:1::1:\n%s", out)
	}
	for _, addr := range []string{"10.0.1.1", "10.0.2.1", "fd00:1::1", "fd00:2::1"} {
		if err := ping(l, "vm1", addr); err != nil {
			t.Errorf("the router's %s: %v", addr, err)
		}
	}
}

// A chain on vm2's switch carries traffic routed from vm1's subnet: its
// VNF sees the routed frames (original addresses, the router's MAC), and
// the replies go back through it.
func TestRoutedChain(t *testing.T) {
	l := routedSetup{vnf: true}.up(t)
	in, err := l.StartInboundCapture("V", "eth1", "icmp")
	if err != nil {
		t.Fatal(err)
	}
	out, err := l.StartInboundCapture("V", "eth2", "icmp")
	if err != nil {
		t.Fatal(err)
	}
	if err := ping(l, "vm1", "10.0.2.11"); err != nil {
		t.Fatal(err)
	}
	check := func(c *lab.Capture, what, want string) {
		lines, err := c.Stop(false)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, line := range lines {
			if strings.Contains(line, want) {
				n++
			}
		}
		if n != 3 {
			t.Errorf("the VNF's %s saw %d of 3 %q:\n%s", what, n, want, strings.Join(lines, "\n"))
		}
	}
	check(in, "in port", "10.0.1.10 > 10.0.2.11: ICMP echo request")
	check(out, "out port", "10.0.2.11 > 10.0.1.10: ICMP echo reply")
}

// A static route to a router VM: 10.0.3.1 lives behind vm3, which sees
// the routed packets addressed to its own MAC.
func TestStaticRouteToRouterVM(t *testing.T) {
	l := routedSetup{routerVM: true}.up(t)
	seen := inbound(t, l, "vm3", "eth0", "icmp and dst host 10.0.3.1")
	if err := ping(l, "vm1", "10.0.3.1"); err != nil {
		t.Fatal(err)
	}
	if n := seen.stop(t); n != 3 {
		t.Errorf("vm3 received %d of 3 pings to 10.0.3.1", n)
	}
	out, _ := l.Chainctl("lr-route-list", "R")
	if !strings.Contains(out, "10.0.3.0/24") {
		t.Errorf("lr-route-list R:\n%s", out)
	}
}

// A next hop no port's addresses name (vm3's port knows only its MAC) is
// asked for by the router, from its own address, and learned from the
// reply on hv2, where it arrives; hv1, where vm1's packets are routed,
// routes with what hv2 learned. IPv4 (ARP) and IPv6 (ND).
func TestNextHopLearned(t *testing.T) {
	l := routedSetup{routerVM: true, unknown: true}.up(t)
	asked := inbound(t, l, "vm3", "eth0", "arp or (icmp6 and ip6[40] == 135)")
	for _, dst := range []string{"10.0.3.1", "fd00:3::1"} {
		// The first packets are dropped while the router asks.
		err := lab.EventuallyEvery(20*time.Second, 100*time.Millisecond, func() error {
			_, err := l.Exec("vm1", "ping", "-c", "1", "-W", "1", dst)
			return err
		})
		if err != nil {
			t.Fatalf("%s never answered: %v", dst, err)
		}
		if err := ping(l, "vm1", dst); err != nil {
			t.Errorf("%s, once learned: %v", dst, err)
		}
	}
	lines, err := asked.Stop(true)
	if err != nil {
		t.Fatal(err)
	}
	var arp, ns bool
	for _, line := range lines {
		from := strings.HasPrefix(strings.Fields(line + " x")[1], macR2)
		arp = arp || from && strings.Contains(line, "who-has 10.0.2.12 tell 10.0.2.1")
		ns = ns || from && strings.Contains(line, "fd00:2::1 > ff02::1:ff00:12") && strings.Contains(line, "who has fd00:2::12")
	}
	if !arp || !ns {
		t.Errorf("vm3 saw the router's ARP request: %v, its solicitation: %v:\n%s", arp, ns, strings.Join(lines, "\n"))
	}
	out, err := l.Chainctl("status")
	for _, want := range []string{"neighbour 10.0.2.12 via r2: " + macVM3, "neighbour fd00:2::12 via r2: " + macVM3} {
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("chainctl status (%v) lacks %q:\n%s", err, want, out)
		}
	}
	flows, err := l.Ofctl("hv1", "dump-flows", "br-int", "table=lr_in_arp_resolve")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(flows, "load:0x2000000020c->NXM_OF_ETH_DST[]"); n != 2 { // vm3's MAC
		t.Errorf("hv1 resolves %d next hops to vm3's MAC, want 2 (learned on hv2):\n%s", n, flows)
	}
}

// A load balancer of the destination switch takes routed connections:
// vm1 on S1 (hv1) reaches the VIP 10.0.2.100:80 on S2 by its gateway,
// balanced over vm2 and vm3 (hv2), replies routed back from the VIP.
func TestRoutedLoadBalancer(t *testing.T) {
	l := routedSetup{routerVM: true}.up(t)
	logs := map[string]string{}
	for _, b := range []string{"vm2", "vm3"} {
		ip := map[string]string{"vm2": "10.0.2.11", "vm3": "10.0.2.12"}[b]
		logs[b] = startLogged(t, l, b, "echoserver", ip+":8080", "-")
	}
	chainctl(t, l, "lb-add", "web", "10.0.2.100:80", "10.0.2.11:8080,10.0.2.12:8080", "--", "--wait", "ls-lb-add", "S2", "web")
	out, err := helperCmd(t, l, "vm1", "echoclients", "10.0.2.100:80", "40").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ok 40") {
		t.Fatalf("40 routed connections to the VIP: %v\n%s", err, out)
	}
	total := 0
	for b, path := range logs {
		n := conns(path)
		total += n
		if n == 0 {
			t.Errorf("backend %s got none of the 40 connections", b)
		}
	}
	if total != 40 {
		t.Errorf("the backends took %d connections, want 40", total)
	}
}
