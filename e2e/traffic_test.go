package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chainwire/chainwire/e2e/lab"
)

// vnfLab: app1 on hv1, app2 on hv2 (switch SW0, ports app1 and app2) and
// two-armed VNFs where asked; each VNF's ports NAME-in/NAME-out and its
// pair NAME are created in one transaction.
func vnfLab(t *testing.T, vnfs ...[2]string) *lab.Lab {
	t.Helper()
	nodes := []lab.NodeConfig{
		{Name: "app1", Host: "hv1", Interfaces: []lab.InterfaceConfig{{Name: "eth0", Port: "app1", MAC: macApp1, IP: "10.0.0.1/24"}}},
		{Name: "app2", Host: "hv2", Interfaces: []lab.InterfaceConfig{{Name: "eth0", Port: "app2", MAC: macApp2, IP: "10.0.0.2/24"}}},
	}
	for i, v := range vnfs {
		nodes = append(nodes, lab.NodeConfig{Name: v[0], Host: v[1], Kind: "vnf", Interfaces: []lab.InterfaceConfig{
			{Name: "eth1", Port: v[0] + "-in", MAC: fmt.Sprintf("02:00:00:00:0c:%d1", i)},
			{Name: "eth2", Port: v[0] + "-out", MAC: fmt.Sprintf("02:00:00:00:0c:%d2", i)}}})
	}
	l := up(t, hosts(2, nodes...))
	registerChassis(t, l)
	chainctl(t, l, "ls-add", "SW0")
	addPort(t, l, "SW0", "app1", "1", "hv1", 1)
	chainctl(t, l, "lsp-set-addresses", "app1", macApp1+" 10.0.0.1")
	addPort(t, l, "SW0", "app2", "2", "hv2", 2)
	chainctl(t, l, "lsp-set-addresses", "app2", macApp2+" 10.0.0.2")
	for _, v := range vnfs {
		in, out := v[0]+"-in", v[0]+"-out"
		chainctl(t, l, "lsp-add", "SW0", in, "--", "lsp-set-options", in, "requested-chassis="+v[1], "--",
			"lsp-add", "SW0", out, "--", "lsp-set-options", out, "requested-chassis="+v[1], "--",
			"lsp-pair-add", "SW0", in, out, v[0])
	}
	return l
}

// chainOf makes chain NAME of one group per argument (comma-separated pairs).
func chainOf(t *testing.T, l *lab.Lab, name string, groups ...string) {
	chainctl(t, l, "lsp-chain-add", "SW0", name)
	for i, g := range groups {
		gn := fmt.Sprintf("%s-G%d", name, i+1)
		chainctl(t, l, "lsp-pair-group-add", name, gn)
		for _, p := range strings.Split(g, ",") {
			chainctl(t, l, "lsp-pair-group-port-pair-add", gn, p)
		}
	}
}

// segment is an IPv4 TCP or UDP packet or ICMP echo seen by tcpdump.
type segment struct {
	src, dst     string
	sport, dport int
	proto        string // tcp, udp, icmp
}

var l4Line = regexp.MustCompile(`: (\d+\.\d+\.\d+\.\d+)\.(\d+) > (\d+\.\d+\.\d+\.\d+)\.(\d+): (.*)`)
var icmpL3 = regexp.MustCompile(`: (\d+\.\d+\.\d+\.\d+) > (\d+\.\d+\.\d+\.\d+): ICMP`)

func segments(t *testing.T, c capture) []segment {
	t.Helper()
	lines, err := c.Stop(false)
	if err != nil {
		t.Fatal(err)
	}
	var out []segment
	for _, line := range lines {
		if m := l4Line.FindStringSubmatch(line); m != nil {
			sp, _ := strconv.Atoi(m[2])
			dp, _ := strconv.Atoi(m[4])
			proto := "udp" // tcpdump decodes some UDP payloads (DNS), so TCP is what says Flags
			if strings.HasPrefix(m[5], "Flags") {
				proto = "tcp"
			}
			out = append(out, segment{m[1], m[3], sp, dp, proto})
		} else if m := icmpL3.FindStringSubmatch(line); m != nil {
			out = append(out, segment{src: m[1], dst: m[2], proto: "icmp"})
		}
	}
	return out
}

// vnfCaptures captures what every VNF interface receives.
func vnfCaptures(t *testing.T, l *lab.Lab, vnfs ...string) map[string]capture {
	caps := map[string]capture{}
	for _, v := range vnfs {
		for _, ifc := range []string{"eth1", "eth2"} {
			c, err := l.StartInboundCapture(v, ifc, "ip")
			if err != nil {
				t.Fatal(err)
			}
			caps[v+"/"+ifc] = capture{c}
		}
	}
	return caps
}

func collect(t *testing.T, caps map[string]capture) map[string][]segment {
	out := map[string][]segment{}
	for k, c := range caps {
		out[k] = segments(t, c)
	}
	return out
}

// Two chains on one port chosen by match and priority (TCP/5001 through
// X, all other IPv4 through Y), plus an exit-lport chain Z on the same
// port for the UDP/53 app2 sends: each VNF sees exactly its traffic, in
// the right direction.
func TestChainsSelectedByMatch(t *testing.T) {
	l := vnfLab(t, [2]string{"X", "hv1"}, [2]string{"Y", "hv1"}, [2]string{"Z", "hv1"})
	chainOf(t, l, "CX", "X")
	chainOf(t, l, "CY", "Y")
	chainOf(t, l, "CZ", "Z")
	chainctl(t, l, "lsp-chain-classifier", "SW0", "CX", "app2", "entry-lport", "bi-directional", "web", "ip4 && tcp.dst == 5001", "--priority", "10")
	chainctl(t, l, "lsp-chain-classifier", "SW0", "CZ", "app2", "exit-lport", "uni-directional", "dns", "ip4 && udp.dst == 53", "--priority", "5")
	chainctl(t, l, "--wait", "lsp-chain-classifier", "SW0", "CY", "app2", "entry-lport", "bi-directional", "rest", "ip4")

	caps := vnfCaptures(t, l, "X", "Y", "Z")
	if err := ping(l, "app1", "10.0.0.2"); err != nil {
		t.Fatal(err)
	}
	tcpTransfer(t, l, "app1", "app2", "10.0.0.2", 64<<10) // port 5001
	if out, err := helperCmd(t, l, "app2", "udp", "10.0.0.1:53", "5").CombinedOutput(); err != nil {
		t.Fatalf("udp from app2: %v: %s", err, out)
	}
	seen := collect(t, caps)
	for iface, segs := range seen {
		for _, s := range segs {
			var ok bool
			switch iface {
			case "X/eth1": // to app2's port 5001
				ok = s.proto == "tcp" && s.dst == "10.0.0.2" && s.dport == 5001
			case "X/eth2": // replies from port 5001
				ok = s.proto == "tcp" && s.src == "10.0.0.2" && s.sport == 5001
			case "Y/eth1":
				ok = s.proto == "icmp" && s.dst == "10.0.0.2"
			case "Y/eth2":
				ok = s.proto == "icmp" && s.src == "10.0.0.2"
			case "Z/eth1": // exit-lport: app2's own traffic enters by the in port
				ok = s.proto == "udp" && s.src == "10.0.0.2" && s.dport == 53
			}
			if !ok {
				t.Errorf("%s received %+v, which is not its traffic", iface, s)
			}
		}
	}
	for _, iface := range []string{"X/eth1", "X/eth2", "Y/eth1", "Y/eth2", "Z/eth1"} {
		if len(seen[iface]) == 0 {
			t.Errorf("%s received nothing", iface)
		}
	}
}

// A port-range classifier steers exactly the destination ports in range.
func TestPortRangeClassifier(t *testing.T) {
	l := vnfLab(t, [2]string{"R", "hv1"})
	chainOf(t, l, "CR", "R")
	chainctl(t, l, "--wait", "lsp-chain-classifier", "SW0", "CR", "app2", "entry-lport", "bi-directional", "range",
		"ip4 && tcp.dst >= 1000 && tcp.dst <= 1999")
	caps := vnfCaptures(t, l, "R")
	for _, port := range []int{999, 1000, 1999, 2000} {
		if out, err := helperCmd(t, l, "app1", "knock", fmt.Sprintf("10.0.0.2:%d", port), "-").CombinedOutput(); err != nil {
			t.Fatalf("knock %d: %v %s", port, err, out)
		}
	}
	steered := map[int]bool{}
	for _, s := range collect(t, caps)["R/eth1"] {
		steered[s.dport] = true
	}
	if fmt.Sprint(steered) != "map[1000:true 1999:true]" {
		t.Errorf("the VNF saw connections to ports %v, want exactly 1000 and 1999", steered)
	}
}

// A two-pair group with its members on two hypervisors: connections use
// both, and each connection's request and reply cross the same member.
// Then weights 3:1 shift the share.
func TestLoadBalancedGroup(t *testing.T) {
	l := vnfLab(t, [2]string{"A", "hv1"}, [2]string{"B", "hv2"})
	chainOf(t, l, "LB", "A,B")
	chainctl(t, l, "--wait", "lsp-chain-classifier", "SW0", "LB", "app2", "entry-lport", "bi-directional", "lb", "ip4 && tcp")

	run := func(n int) map[string]int {
		caps := vnfCaptures(t, l, "A", "B")
		sink := serve(t, l, "app2", "sinkn", "10.0.0.2:5001", strconv.Itoa(n))
		if out, err := helperCmd(t, l, "app1", "conns", "10.0.0.2:5001", strconv.Itoa(n)).CombinedOutput(); err != nil {
			t.Fatalf("connections: %v: %s", err, out)
		}
		sink.Wait()
		seen := collect(t, caps)
		req := map[int]string{} // client port -> member whose in port got the request
		rep := map[int]string{} // client port -> member whose out port got the reply
		for _, m := range []string{"A", "B"} {
			for _, s := range seen[m+"/eth1"] {
				if other, ok := req[s.sport]; ok && other != m {
					t.Errorf("connection from port %d reached both %s and %s", s.sport, other, m)
				}
				req[s.sport] = m
			}
			for _, s := range seen[m+"/eth2"] {
				rep[s.dport] = m
			}
		}
		share := map[string]int{}
		for port, m := range req {
			if rep[port] != m {
				t.Errorf("connection from port %d: request crossed %s, reply crossed %q", port, m, rep[port])
			}
			share[m]++
		}
		if len(req) != n {
			t.Errorf("saw %d connections on the VNFs, made %d", len(req), n)
		}
		return share
	}
	even := run(24)
	t.Logf("weights 1:1: %d connections through A, %d through B", even["A"], even["B"])
	if even["A"] == 0 || even["B"] == 0 {
		t.Errorf("connections did not use both members: %v", even)
	}
	chainctl(t, l, "--wait", "lsp-pair-set-weight", "A", "3")
	heavy := run(40)
	t.Logf("weights 3:1: %d connections through A, %d through B", heavy["A"], heavy["B"])
	if heavy["A"] <= heavy["B"] {
		t.Errorf("with weights 3:1, A carried %d and B %d connections", heavy["A"], heavy["B"])
	}
}
