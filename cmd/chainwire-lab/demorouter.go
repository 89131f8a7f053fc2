package main

import (
	"fmt"
	"strings"

	"github.com/chainwire/chainwire/e2e/lab"
)

// demoRouter runs seed 003's distributed routing across two emulated
// hypervisors: vm1 in 10.0.1.0/24 on hv1, vm2 in 10.0.2.0/24 on hv2,
// router R between their switches; it configures it with chainctl and
// prints the evidence: pings both ways and to the router, the TTL and
// source MAC vm2 sees, the Geneve VNI on the wire, traceroute, and the
// router's tables.
func demoRouter() error {
	iface := func(port, mac, ip, ip6, gw, gw6 string) []lab.InterfaceConfig {
		return []lab.InterfaceConfig{{Name: "eth0", Port: port, MAC: mac, IP: ip, IP6: ip6, Gateway: gw, Gateway6: gw6}}
	}
	cfg := &lab.Config{
		Hosts: []lab.HostConfig{{Name: "hv1", IP: "192.0.2.1"}, {Name: "hv2", IP: "192.0.2.2"}},
		Nodes: []lab.NodeConfig{
			{Name: "vm1", Host: "hv1", Interfaces: iface("vm1", "02:00:00:00:01:0a", "10.0.1.10/24", "fd00:1::10/64", "10.0.1.1", "fd00:1::1")},
			{Name: "vm2", Host: "hv2", Interfaces: iface("vm2", "02:00:00:00:02:0b", "10.0.2.11/24", "fd00:2::11/64", "10.0.2.1", "fd00:2::1")},
		},
	}
	step("lab up: hv1 (vm1, 10.0.1.10, fd00:1::10) and hv2 (vm2, 10.0.2.11, fd00:2::11), Geneve underlay 192.0.2.0/24")
	l, err := lab.Up(cfg, lab.Options{})
	if err != nil {
		return err
	}
	defer downOnSignal(l)()
	ctl := func(args ...string) error {
		fmt.Printf("$ chainctl %s\n", strings.Join(quoteArgs(args), " "))
		out, err := l.Chainctl(args...)
		fmt.Print(out)
		return err
	}
	step("the model: switches S1 and S2, router R with a port on each (lr-add, lrp-add, router-type switch ports)")
	for _, c := range [][]string{
		{"chassis-add", "hv1", "geneve", "192.0.2.1"}, {"chassis-add", "hv2", "geneve", "192.0.2.2"},
		{"ls-add", "S1"}, {"ls-add", "S2"},
		{"lr-add", "R"},
		{"lrp-add", "R", "r1", "02:00:00:00:ff:01", "10.0.1.1/24", "fd00:1::1/64"},
		{"lrp-add", "R", "r2", "02:00:00:00:ff:02", "10.0.2.1/24", "fd00:2::1/64"},
		{"lsp-add", "S1", "rp1", "--", "lsp-set-type", "rp1", "router", "--", "lsp-set-addresses", "rp1", "router", "--",
			"lsp-set-options", "rp1", "router-port=r1"},
		{"lsp-add", "S2", "rp2", "--", "lsp-set-type", "rp2", "router", "--", "lsp-set-addresses", "rp2", "router", "--",
			"lsp-set-options", "rp2", "router-port=r2"},
		{"lsp-add", "S1", "vm1", "--", "lsp-set-addresses", "vm1", "02:00:00:00:01:0a 10.0.1.10 fd00:1::10", "--",
			"lsp-set-options", "vm1", "requested-chassis=hv1"},
		{"--wait", "lsp-add", "S2", "vm2", "--", "lsp-set-addresses", "vm2", "02:00:00:00:02:0b 10.0.2.11 fd00:2::11", "--",
			"lsp-set-options", "vm2", "requested-chassis=hv2"},
		{"show"},
	} {
		if err := ctl(c...); err != nil {
			return err
		}
	}
	step("vm1 pings vm2 across the router (IPv4, IPv6) while hv1's underlay and vm2's interface are captured")
	underlay, err := l.StartCapture("hv1", "ul0", "udp port 6081")
	if err != nil {
		return err
	}
	atVM2, err := l.StartInboundCapture("vm2", "eth0", "icmp or icmp6")
	if err != nil {
		return err
	}
	for _, to := range []string{"10.0.2.11", "fd00:2::11"} {
		if err := ping(l, "vm1", to); err != nil {
			return err
		}
	}
	lines, err := atVM2.Stop(true)
	if err != nil {
		return err
	}
	fmt.Println("  what vm2 receives (tcpdump -e -v): from the router port's MAC, TTL / hop limit 63")
	for _, line := range lines {
		if strings.Contains(line, "echo request") {
			fmt.Println("  " + strings.SplitN(line, "\n", 2)[0])
		}
	}
	if _, err := underlay.Stop(false); err != nil {
		return err
	}
	step("the Geneve metadata on hv1's underlay: requests carry S2's VNI (2), replies S1's (1)")
	if err := decode(underlay.File()); err != nil {
		return err
	}
	step("traceroute and the router's own addresses")
	out, err := l.Exec("vm1", "traceroute", "-n", "-q", "1", "-w", "2", "-m", "3", "10.0.2.11")
	fmt.Print(out)
	if err != nil {
		return err
	}
	for _, to := range []string{"10.0.2.1", "fd00:1::1"} {
		if err := ping(l, "vm1", to); err != nil {
			return err
		}
	}
	step("the router's tables on hv1 (ovs-ofctl -O OpenFlow13 dump-flows --names br-int " + routerCookies + ")")
	dump, err := l.Ofctl("hv1", "dump-flows", "--names", "br-int", routerCookies)
	if err != nil {
		return err
	}
	fmt.Print(dump)
	step("agent status")
	return ctl("status")
}

// routerCookies selects the router feature's flows (cookie byte 12).
const routerCookies = "cookie=0xc70c000000000000/0xffff000000000000"
