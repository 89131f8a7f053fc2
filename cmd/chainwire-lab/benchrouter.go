package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/chainwire/chainwire/e2e/lab"
)

// The routing benchmark: vm1 (S1, hv1) to vm2 (S2, hv2) through router R,
// against vm1 to vm3 (S1, hv2) switched: the same two hosts and one
// tunnel hop either way. TCP throughput (iperf3) and ping RTT, medians of
// the runs, and the routed/switched ratios; and how many flows the
// router's ports cost on hv1.

type routerReport struct {
	routedGbps, switchedGbps float64
	routedRTT, switchedRTT   float64 // ms
	routerFlows, ports       int
	perAddress               int // next-hop flows one more VM address adds
}

func (r *report) routerBench() error {
	iface := func(port, mac, ip, gw string) []lab.InterfaceConfig {
		return []lab.InterfaceConfig{{Name: "eth0", Port: port, MAC: mac, IP: ip, Gateway: gw}}
	}
	l, err := lab.Up(&lab.Config{Hosts: []lab.HostConfig{{Name: "hv1", IP: "192.0.2.1"}, {Name: "hv2", IP: "192.0.2.2"}},
		Nodes: []lab.NodeConfig{
			{Name: "vm1", Host: "hv1", Interfaces: iface("vm1", "02:00:00:00:01:0a", "10.0.1.10/24", "10.0.1.1")},
			{Name: "vm2", Host: "hv2", Interfaces: iface("vm2", "02:00:00:00:02:0b", "10.0.2.11/24", "10.0.2.1")},
			{Name: "vm3", Host: "hv2", Interfaces: iface("vm3", "02:00:00:00:01:0c", "10.0.1.12/24", "10.0.1.1")},
		}}, lab.Options{})
	if err != nil {
		return err
	}
	defer downOnSignal(l)()
	vm := func(sw, name, mac, ip, host string) []string {
		return []string{"lsp-add", sw, name, "--", "lsp-set-addresses", name, mac + " " + ip, "--", "lsp-set-options", name, "requested-chassis=" + host}
	}
	for _, c := range [][]string{
		{"chassis-add", "hv1", "geneve", "192.0.2.1", "--", "chassis-add", "hv2", "geneve", "192.0.2.2", "--", "ls-add", "S1", "--", "ls-add", "S2",
			"--", "lr-add", "R", "--", "lrp-add", "R", "r1", "02:00:00:00:ff:01", "10.0.1.1/24", "--", "lrp-add", "R", "r2", "02:00:00:00:ff:02", "10.0.2.1/24",
			"--", "lsp-add", "S1", "rp1", "--", "lsp-set-type", "rp1", "router", "--", "lsp-set-addresses", "rp1", "router", "--", "lsp-set-options", "rp1", "router-port=r1",
			"--", "lsp-add", "S2", "rp2", "--", "lsp-set-type", "rp2", "router", "--", "lsp-set-addresses", "rp2", "router", "--", "lsp-set-options", "rp2", "router-port=r2"},
		vm("S1", "vm1", "02:00:00:00:01:0a", "10.0.1.10", "hv1"),
		vm("S2", "vm2", "02:00:00:00:02:0b", "10.0.2.11", "hv2"),
		append([]string{"--wait"}, vm("S1", "vm3", "02:00:00:00:01:0c", "10.0.1.12", "hv2")...),
	} {
		if _, err := l.Chainctl(c...); err != nil {
			return err
		}
	}
	rr := &routerReport{ports: 2}
	r.router = rr
	var routedG, switchedG, routedR, switchedR []float64
	for i := 0; i < r.runs; i++ {
		for _, m := range []struct {
			to       string
			ip       string
			gb, rtts *[]float64
		}{{"vm2", "10.0.2.11", &routedG, &routedR}, {"vm3", "10.0.1.12", &switchedG, &switchedR}} {
			bps, err := l.Iperf("vm1", m.to, m.ip, 3)
			if err != nil {
				return err
			}
			*m.gb = append(*m.gb, bps/1e9)
			ms, err := rttTo(l, m.ip)
			if err != nil {
				return err
			}
			*m.rtts = append(*m.rtts, ms)
		}
	}
	rr.routedGbps, rr.switchedGbps = median(routedG), median(switchedG)
	rr.routedRTT, rr.switchedRTT = median(routedR), median(switchedR)
	if rr.routerFlows, err = countFlows(l, "hv1", routerCookies); err != nil {
		return err
	}
	before := rr.routerFlows
	if _, err := l.Chainctl(append([]string{"--wait"}, vm("S2", "vm4", "02:00:00:00:02:0d", "10.0.2.13", "hv2")...)...); err != nil {
		return err
	}
	after, err := countFlows(l, "hv1", routerCookies)
	if err != nil {
		return err
	}
	rr.perAddress = after - before
	fmt.Printf("  routed %.2f Gbit/s, %.3f ms; switched %.2f Gbit/s, %.3f ms; router flows on hv1 %d for %d router ports (+%d per VM address)\n",
		rr.routedGbps, rr.routedRTT, rr.switchedGbps, rr.switchedRTT, rr.routerFlows, rr.ports, rr.perAddress)
	return nil
}

func rttTo(l *lab.Lab, ip string) (float64, error) {
	out, err := l.Exec("vm1", "ping", "-q", "-c", "50", "-i", "0.01", ip)
	if err != nil {
		return 0, err
	}
	m := rttLine.FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no rtt in %q", out)
	}
	return strconv.ParseFloat(m[1], 64)
}

// countFlows counts a chassis' flows that match an ovs-ofctl selector.
func countFlows(l *lab.Lab, host, selector string) (int, error) {
	out, err := l.Ofctl(host, "dump-flows", "br-int", selector)
	if err != nil {
		return 0, err
	}
	return strings.Count(out, "cookie="), nil
}

func (r *report) routerMarkdown(b *strings.Builder) {
	rr := r.router
	w := func(format string, a ...any) { fmt.Fprintf(b, format+"\n", a...) }
	w("## 10. Routing")
	w("")
	w("vm1 (S1, hv1) to vm2 (S2, hv2) through router R, against vm1 to vm3 (S1, hv2) switched: one tunnel hop")
	w("either way. TCP: iperf3, 3 s; RTT: 50 pings at 100/s; medians of %d runs.", r.runs)
	w("")
	w("| path | TCP throughput | ping RTT |")
	w("|---|---|---|")
	w("| routed | %.2f Gbit/s | %.3f ms |", rr.routedGbps, rr.routedRTT)
	w("| switched | %.2f Gbit/s | %.3f ms |", rr.switchedGbps, rr.switchedRTT)
	if rr.switchedGbps > 0 && rr.switchedRTT > 0 {
		w("| routed / switched | %.2f | %.2f |", rr.routedGbps/rr.switchedGbps, rr.routedRTT/rr.switchedRTT)
	}
	w("")
	w("Router flows on hv1 (cookie feature 12: the router-type ports' flows, the router's tables, the next hops):")
	w("%d for %d router ports with three VMs on their switches; each further VM address on an attached switch adds %d.",
		rr.routerFlows, rr.ports, rr.perAddress)
}
