package e2e

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/chainwire/chainwire/e2e/lab"
	"github.com/chainwire/chainwire/geneve"
)

const (
	macApp1 = "02:00:00:00:0a:01"
	macApp2 = "02:00:00:00:0a:02"
)

// chainSetup is one of the seed's topologies: app1 and n VNFs on hv1,
// app2 on app2Host. Port keys follow the seed: app1 = 1, VNF k = 2k
// (in) and 2k+1 (out), app2 = 2n+2 (P4 in Cases 1 and 2, P8 in Case 3).
type chainSetup struct {
	vnfs      int
	app2Host  string
	oneArm    bool
	direction string
	path      string
	match     string
	bystander bool   // app3 on hv1, bound to port app3 (key 20), on no chain
	roamer    bool   // app4 on hv2, port app4 (key 21) with no requested-chassis
	nb        string // the lab's database: "" (a file), "cluster"
}

func (c chainSetup) app2Key() int { return 2*c.vnfs + 2 }

func vnfName(k int) string { return fmt.Sprintf("vnf%d", k) }

func (c chainSetup) up(t *testing.T) *lab.Lab {
	t.Helper()
	nodes := []lab.NodeConfig{
		{Name: "app1", Host: "hv1", Interfaces: []lab.InterfaceConfig{{Name: "eth0", Port: "app1", MAC: macApp1, IP: "10.0.0.1/24"}}},
		{Name: "app2", Host: c.app2Host, Interfaces: []lab.InterfaceConfig{{Name: "eth0", Port: "app2", MAC: macApp2, IP: "10.0.0.2/24"}}},
	}
	for k := 1; k <= c.vnfs; k++ {
		n := lab.NodeConfig{Name: vnfName(k), Host: "hv1", Kind: "vnf", Interfaces: []lab.InterfaceConfig{
			{Name: "eth1", Port: vnfName(k) + "-in", MAC: fmt.Sprintf("02:00:00:00:0b:%d1", k)},
			{Name: "eth2", Port: vnfName(k) + "-out", MAC: fmt.Sprintf("02:00:00:00:0b:%d2", k)}}}
		if c.oneArm {
			n.Kind, n.Interfaces = "vnf-one-arm", n.Interfaces[:1]
		}
		nodes = append(nodes, n)
	}
	if c.bystander {
		nodes = append(nodes, lab.NodeConfig{Name: "app3", Host: "hv1", Interfaces: []lab.InterfaceConfig{
			{Name: "eth0", Port: "app3", MAC: "02:00:00:00:0a:03", IP: "10.0.0.3/24"}}})
	}
	if c.roamer {
		nodes = append(nodes, lab.NodeConfig{Name: "app4", Host: "hv2", Interfaces: []lab.InterfaceConfig{
			{Name: "eth0", Port: "app4", MAC: "02:00:00:00:0a:04", IP: "10.0.0.4/24"}}})
	}
	nhosts := 1
	if c.app2Host != "hv1" || c.roamer {
		nhosts = 2
	}
	cfg := hosts(nhosts, nodes...)
	cfg.NB = c.nb
	l := up(t, cfg)
	registerChassis(t, l)
	chainctl(t, l, "ls-add", "SW0", "--tunnel-key", "1")
	port := func(name string, key int, host, addr string) {
		chainctl(t, l, "lsp-add", "SW0", name, "--tunnel-key", strconv.Itoa(key))
		if addr != "" {
			chainctl(t, l, "lsp-set-addresses", name, addr)
		}
		chainctl(t, l, "lsp-set-options", name, "requested-chassis="+host)
	}
	// A two-armed VNF's ports become a pair in the same transaction that
	// creates them: as ordinary ports they would get flooded frames, which
	// the VNF's bridge would send straight back (a broadcast storm).
	vnfPorts := func(in, out string, k int) {
		args := []string{"lsp-add", "SW0", in, "--tunnel-key", strconv.Itoa(2 * k), "--",
			"lsp-set-options", in, "requested-chassis=hv1", "--"}
		if out != in {
			args = append(args, "lsp-add", "SW0", out, "--tunnel-key", strconv.Itoa(2*k+1), "--",
				"lsp-set-options", out, "requested-chassis=hv1", "--")
		}
		chainctl(t, l, append(args, "lsp-pair-add", "SW0", in, out, fmt.Sprintf("PP%d", k))...)
	}
	port("app1", 1, "hv1", macApp1+" 10.0.0.1")
	port("app2", c.app2Key(), c.app2Host, macApp2+" 10.0.0.2")
	if c.bystander {
		port("app3", 20, "hv1", "02:00:00:00:0a:03 10.0.0.3")
	}
	if c.roamer {
		chainctl(t, l, "lsp-add", "SW0", "app4", "--tunnel-key", "21", "--", "lsp-set-addresses", "app4", "02:00:00:00:0a:04 10.0.0.4")
	}
	chainctl(t, l, "lsp-chain-add", "SW0", "PC1")
	for k := 1; k <= c.vnfs; k++ {
		in, out := vnfName(k)+"-in", vnfName(k)+"-out"
		if c.oneArm {
			out = in
		}
		vnfPorts(in, out, k) // the seed's lsp-pair-add, argument order included
		pp, pg := fmt.Sprintf("PP%d", k), fmt.Sprintf("PG%d", k)
		chainctl(t, l, "lsp-pair-group-add", "PC1", pg)
		chainctl(t, l, "lsp-pair-group-port-pair-add", pg, pp)
	}
	dir, path := c.direction, c.path
	if dir == "" {
		dir = "entry-lport"
	}
	if path == "" {
		path = "bi-directional"
	}
	chainctl(t, l, "--wait", "lsp-chain-classifier", "SW0", "PC1", "app2", dir, path, "PCC1", c.match)
	return l
}

// ifaceRef is a VNF interface.
type ifaceRef struct{ node, iface string }

func (c chainSetup) ifaces() []ifaceRef {
	var out []ifaceRef
	for k := 1; k <= c.vnfs; k++ {
		out = append(out, ifaceRef{vnfName(k), "eth1"})
		if !c.oneArm {
			out = append(out, ifaceRef{vnfName(k), "eth2"})
		}
	}
	return out
}

// icmpFrame is one echo request or reply seen by tcpdump -e -tt.
type icmpFrame struct {
	at       float64
	src, dst string
	request  bool
	seq      int
}

var icmpLine = regexp.MustCompile(`^(\d+\.\d+) (\S+) > (\S+), .*ICMP echo (request|reply), id \d+, seq (\d+)`)

func icmpFrames(t *testing.T, c capture) []icmpFrame {
	t.Helper()
	lines, err := c.Stop(false)
	if err != nil {
		t.Fatal(err)
	}
	var out []icmpFrame
	for _, line := range lines {
		m := icmpLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		at, _ := strconv.ParseFloat(m[1], 64)
		seq, _ := strconv.Atoi(m[5])
		out = append(out, icmpFrame{at: at, src: m[2], dst: strings.TrimSuffix(m[3], ","), request: m[4] == "request", seq: seq})
	}
	return out
}

// traffic is what one ping from app1 to app2 showed.
type traffic struct {
	vnf        map[ifaceRef][]icmpFrame // what each VNF interface received
	app1, app2 []icmpFrame
	wire       []geneve.Packet // hv1's underlay (empty with one host)
}

const pings = 3

func (c chainSetup) ping(t *testing.T, l *lab.Lab) traffic {
	t.Helper()
	caps := map[ifaceRef]capture{}
	for _, ref := range c.ifaces() {
		cp, err := l.StartInboundCapture(ref.node, ref.iface, "icmp")
		if err != nil {
			t.Fatal(err)
		}
		caps[ref] = capture{cp}
	}
	app1 := startCapture(t, l, "app1", "eth0", "icmp")
	app2 := startCapture(t, l, "app2", "eth0", "icmp")
	var wire capture
	if c.app2Host != "hv1" {
		wire = startCapture(t, l, "hv1", "ul0", "udp port 6081")
	}
	if _, err := l.Exec("app1", "ping", "-q", "-c", strconv.Itoa(pings), "-i", "0.1", "-W", "2", "10.0.0.2"); err != nil {
		t.Fatal(err)
	}
	tr := traffic{vnf: map[ifaceRef][]icmpFrame{}, app1: icmpFrames(t, app1), app2: icmpFrames(t, app2)}
	for ref, cp := range caps {
		tr.vnf[ref] = icmpFrames(t, cp)
	}
	if wire.Capture != nil {
		tr.wire = geneveFrames(t, wire)
	}
	return tr
}

// expect checks that requests and replies crossed exactly the given VNF
// interfaces, in that order, and that every frame kept its original MACs.
func (tr traffic) expect(t *testing.T, c chainSetup, reqPath, repPath []ifaceRef) {
	t.Helper()
	for kind, path := range map[bool][]ifaceRef{true: reqPath, false: repPath} {
		name := map[bool]string{true: "request", false: "reply"}[kind]
		on := map[ifaceRef]int{}
		for i, ref := range path {
			on[ref] = i + 1
		}
		for _, ref := range c.ifaces() {
			n := 0
			for _, f := range tr.vnf[ref] {
				if f.request == kind {
					n++
				}
			}
			want := 0
			if on[ref] > 0 {
				want = pings
			}
			if n != want {
				t.Errorf("%s/%s received %d echo %ss, want %d", ref.node, ref.iface, n, name, want)
			}
		}
		for seq := 1; seq <= pings; seq++ {
			last := 0.0
			for _, ref := range path {
				for _, f := range tr.vnf[ref] {
					if f.request == kind && f.seq == seq {
						if f.at < last {
							t.Errorf("%s seq %d reached %s/%s out of order", name, seq, ref.node, ref.iface)
						}
						last = f.at
					}
				}
			}
		}
	}
	for who, frames := range map[string][]icmpFrame{"app1": tr.app1, "app2": tr.app2} {
		for _, f := range frames {
			want := [2]string{macApp1, macApp2}
			if !f.request {
				want = [2]string{macApp2, macApp1}
			}
			if f.src != want[0] || f.dst != want[1] {
				t.Errorf("%s saw %s > %s, want the original MACs %s > %s", who, f.src, f.dst, want[0], want[1])
			}
		}
	}
	for ref, frames := range tr.vnf {
		for _, f := range frames {
			if (f.request && (f.src != macApp1 || f.dst != macApp2)) || (!f.request && (f.src != macApp2 || f.dst != macApp1)) {
				t.Errorf("%s/%s received a frame with rewritten MACs: %s > %s", ref.node, ref.iface, f.src, f.dst)
			}
		}
	}
}

// keys lists the (ingress, egress) port keys of the echo requests and
// replies that crossed the underlay.
func (tr traffic) keys() (req, rep []string) {
	for _, p := range tr.wire {
		in := p.Inner
		if len(in) < 14+20+1 || in[12] != 0x08 || in[13] != 0x00 || in[14+9] != 1 {
			continue
		}
		icmpType := in[14+int(in[14]&0x0f)*4]
		k := fmt.Sprintf("%d>%d", p.Meta.Ingress, p.Meta.Egress)
		switch icmpType {
		case 8:
			req = append(req, k)
		case 0:
			rep = append(rep, k)
		}
	}
	return uniq(req), uniq(rep)
}

func uniq(s []string) []string {
	m := map[string]bool{}
	for _, x := range s {
		m[x] = true
	}
	var out []string
	for x := range m {
		out = append(out, x)
	}
	sort.Strings(out)
	return out
}

func refs(c chainSetup, iface string, order ...int) []ifaceRef {
	var out []ifaceRef
	for _, k := range order {
		out = append(out, ifaceRef{vnfName(k), iface})
	}
	return out
}

// Case 1: app1, VNF1 and app2 on one host.
func TestSeedCase1(t *testing.T) {
	c := chainSetup{vnfs: 1, app2Host: "hv1"}
	l := c.up(t)
	c.ping(t, l).expect(t, c, refs(c, "eth1", 1), refs(c, "eth2", 1))
	tcpTransfer(t, l, "app1", "app2", "10.0.0.2", 256<<10)
	tcpTransfer(t, l, "app2", "app1", "10.0.0.1", 256<<10)
}

// Case 2: app2 on another host; the reply is re-injected on app2's host.
func TestSeedCase2(t *testing.T) {
	c := chainSetup{vnfs: 1, app2Host: "hv2"}
	l := c.up(t)
	tr := c.ping(t, l)
	tr.expect(t, c, refs(c, "eth1", 1), refs(c, "eth2", 1))
	req, rep := tr.keys()
	// request: VNF1's out port (3) to app2 (4); reply: app2 to VNF1's out
	// port, the re-injection back to app2's host (ingress = egress = app2),
	// then app2 to app1.
	if fmt.Sprint(req) != "[3>4]" || fmt.Sprint(rep) != "[4>1 4>3 4>4]" {
		t.Errorf("Geneve keys: requests %v, replies %v; want [3>4] and [4>1 4>3 4>4]", req, rep)
	}
	tcpTransfer(t, l, "app1", "app2", "10.0.0.2", 256<<10)
	// Chain flows (the tunnel re-injection included) read back exactly.
	restartUnchanged(t, l, "hv2")
	restartUnchanged(t, l, "hv1")
}

// Case 3: three VNFs before app2 on another host, then the classifier is
// removed and traffic takes the plain path again.
func TestSeedCase3(t *testing.T) {
	c := chainSetup{vnfs: 3, app2Host: "hv2"}
	l := c.up(t)
	tr := c.ping(t, l)
	tr.expect(t, c, refs(c, "eth1", 1, 2, 3), refs(c, "eth2", 3, 2, 1))
	req, rep := tr.keys()
	if fmt.Sprint(req) != "[7>8]" || fmt.Sprint(rep) != "[8>1 8>7 8>8]" {
		t.Errorf("Geneve keys: requests %v, replies %v; want [7>8] and [8>1 8>7 8>8]", req, rep)
	}
	tcpTransfer(t, l, "app1", "app2", "10.0.0.2", 1<<20)
	tcpTransfer(t, l, "app2", "app1", "10.0.0.1", 1<<20)

	chainctl(t, l, "--wait", "lsp-chain-classifier-del", "PCC1")
	tr = c.ping(t, l)
	tr.expect(t, c, nil, nil)
	req, rep = tr.keys()
	if fmt.Sprint(req) != "[1>8]" || fmt.Sprint(rep) != "[8>1]" {
		t.Errorf("plain path Geneve keys: requests %v, replies %v; want [1>8] and [8>1]", req, rep)
	}
}

// exit-lport: traffic from app2 crosses the VNFs in order; traffic to it
// crosses them in reverse.
func TestExitLport(t *testing.T) {
	c := chainSetup{vnfs: 2, app2Host: "hv2", direction: "exit-lport"}
	l := c.up(t)
	c.ping(t, l).expect(t, c, refs(c, "eth2", 2, 1), refs(c, "eth1", 1, 2))
}

// uni-directional: only traffic to app2 is steered.
func TestUnidirectional(t *testing.T) {
	c := chainSetup{vnfs: 2, app2Host: "hv2", path: "uni-directional"}
	l := c.up(t)
	tr := c.ping(t, l)
	tr.expect(t, c, refs(c, "eth1", 1, 2), nil)
	if _, rep := tr.keys(); fmt.Sprint(rep) != "[6>1]" {
		t.Errorf("replies crossed the underlay as %v, want only app2 -> app1 [6>1]", rep)
	}
}

// One-armed VNFs (in port = out port) in both directions.
func TestOneArmedVNFs(t *testing.T) {
	c := chainSetup{vnfs: 2, app2Host: "hv2", oneArm: true}
	l := c.up(t)
	c.ping(t, l).expect(t, c, refs(c, "eth1", 1, 2), refs(c, "eth1", 2, 1))
	tcpTransfer(t, l, "app1", "app2", "10.0.0.2", 256<<10)
}

// Chain changes go out as atomic bundles: traffic that is on no changed
// path (app3 <-> app1, 50 pings a second) loses nothing while a group,
// a pair and the classifier come and go.
func TestChainChangesKeepOtherTraffic(t *testing.T) {
	c := chainSetup{vnfs: 2, app2Host: "hv2", bystander: true}
	l := c.up(t)
	p := startPing(t, l, "app3", "10.0.0.1", 200)
	for _, step := range [][]string{
		{"lsp-pair-group-port-pair-del", "PG2", "PP2"}, // chain PC1 now has an empty group: steers nothing
		{"lsp-pair-group-port-pair-add", "PG2", "PP2"},
		{"lsp-chain-classifier-del", "PCC1"},
		{"lsp-chain-classifier", "SW0", "PC1", "app2", "entry-lport", "bi-directional", "PCC1", "ip4 && icmp4"},
		{"lsp-pair-group-del", "PG2"},
	} {
		chainctl(t, l, append([]string{"--wait"}, step...)...)
	}
	if sent, lost := p.wait(t); lost != 0 {
		t.Errorf("app3 -> app1 lost %d of %d pings while the chain changed", lost, sent)
	}
	// The chain is now PG1 only, steering ICMP: VNF2 sees nothing.
	c.ping(t, l).expect(t, c, refs(c, "eth1", 1), refs(c, "eth2", 1))
}
