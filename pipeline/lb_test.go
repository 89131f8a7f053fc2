package pipeline_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/pipeline/sim"
	"github.com/chainwire/chainwire/topology"
)

// builder assembles chain models for tests: app1 on hv1, app2 on hv2,
// VNFs (two-armed) wherever asked.
type builder struct {
	m    *topology.Model
	next uint32
}

func newBuilder() *builder {
	on := func(ch string) map[string]string { return map[string]string{"requested-chassis": ch} }
	return &builder{next: 10, m: &topology.Model{
		Chassis:  []topology.Chassis{{Name: "hv1", Encap: "geneve", IP: "192.0.2.1"}, {Name: "hv2", Encap: "geneve", IP: "192.0.2.2"}},
		Switches: []topology.Switch{{Name: "sw0", Key: 1}},
		Ports: []topology.Port{
			{Name: "app1", Switch: "sw0", Key: 1, Addresses: []string{macApp1 + " 10.0.0.1"}, Options: on("hv1")},
			{Name: "app2", Switch: "sw0", Key: 8, Addresses: []string{macApp2 + " 10.0.0.2"}, Options: on("hv2")},
		},
	}}
}

// vnf adds a pair NAME with ports NAME-in/NAME-out on a chassis.
func (b *builder) vnf(name, chassis string, weight uint32) *builder {
	for _, p := range []string{name + "-in", name + "-out"} {
		b.m.Ports = append(b.m.Ports, topology.Port{Name: p, Switch: "sw0", Key: b.next,
			Options: map[string]string{"requested-chassis": chassis}})
		b.next++
	}
	b.m.PortPairs = append(b.m.PortPairs, topology.PortPair{Name: name, Switch: "sw0", InPort: name + "-in", OutPort: name + "-out", Weight: weight})
	return b
}

// chain adds a chain whose groups are lists of pair names.
func (b *builder) chain(name string, key uint32, groups ...[]string) *builder {
	c := topology.PortChain{Name: name, Switch: "sw0", Key: key}
	for i, g := range groups {
		gn := fmt.Sprintf("%s-G%d", name, i+1)
		b.m.PortPairGroups = append(b.m.PortPairGroups, topology.PortPairGroup{Name: gn, Pairs: g})
		c.Groups = append(c.Groups, gn)
	}
	b.m.PortChains = append(b.m.PortChains, c)
	return b
}

func (b *builder) classify(name, chain, dir, path, match string, prio int) *builder {
	b.m.Classifiers = append(b.m.Classifiers, topology.Classifier{Name: name, Switch: "sw0", Chain: chain, Port: "app2",
		Direction: dir, Path: path, Match: match, Priority: prio, Key: uint32(len(b.m.Classifiers) + 1)})
	return b
}

func (b *builder) model(t *testing.T) *topology.Model {
	t.Helper()
	b.m.Normalize()
	if err := b.m.Validate(); err != nil {
		t.Fatal(err)
	}
	return b.m
}

func tcp(p sim.Packet, sport, dport uint64, src, dst uint64) sim.Packet {
	return p.Set(pipeline.FieldEthType, 0x800).Set(pipeline.FieldIPProto, 6).
		Set(pipeline.FieldIPv4Src, src).Set(pipeline.FieldIPv4Dst, dst).
		Set(pipeline.FieldTCPSrc, sport).Set(pipeline.FieldTCPDst, dport)
}

const ip1, ip2 = 0x0a000001, 0x0a000002

// connection walks a request app1 -> app2 and its reply.
func connection(t *testing.T, m *topology.Model, sport, dport uint64) (req, rep string) {
	req = strings.Join(walk(t, m, "hv1", tcp(request(11), sport, dport, ip1, ip2)), " ")
	rep = strings.Join(walk(t, m, "hv2", tcp(reply(18), dport, sport, ip2, ip1)), " ")
	return req, rep
}

// A two-pair group with members on two chassis: connections spread over
// both, and every reply crosses the member its request crossed.
func TestLoadBalancedGroupAffinity(t *testing.T) {
	m := newBuilder().vnf("A", "hv1", 1).vnf("B", "hv2", 1).chain("PC1", 1, []string{"A", "B"}).
		classify("C", "PC1", topology.EntryLport, topology.Bidirectional, "", 0).model(t)
	used := map[string]int{}
	for sport := uint64(40000); sport < 40064; sport++ {
		req, rep := connection(t, m, sport, 80)
		member := strings.SplitN(req, "-", 2)[0]
		used[member]++
		want := fmt.Sprintf("%s-in app2/%s-out app1", member, member)
		if req+"/"+rep != want {
			t.Fatalf("port %d: request %q, reply %q; want %s", sport, req, rep, want)
		}
	}
	if used["A"] == 0 || used["B"] == 0 {
		t.Errorf("connections used %v; want both members", used)
	}
}

// Weights shift the share of buckets (and so of connections).
func TestWeightsShiftShare(t *testing.T) {
	share := func(wa, wb uint32) int {
		m := newBuilder().vnf("A", "hv1", wa).vnf("B", "hv1", wb).chain("PC1", 1, []string{"A", "B"}).
			classify("C", "PC1", topology.EntryLport, topology.Bidirectional, "", 0).model(t)
		n := 0
		for sport := uint64(1); sport <= 400; sport++ {
			if strings.HasPrefix(strings.Join(walk(t, m, "hv1", tcp(request(11), sport, 80, ip1, ip2)), " "), "A-") {
				n++
			}
		}
		return n
	}
	even, heavy := share(1, 1), share(3, 1)
	if heavy <= even || heavy < 280 {
		t.Errorf("A carried %d of 400 connections at 1:1 and %d at 3:1; weight 3 should take about 300 and more than at 1:1", even, heavy)
	}
}

// Adding a member moves only connections to it; removing one moves only
// its own connections.
func TestMembershipChangeMovesFewConnections(t *testing.T) {
	pick := func(members ...string) map[uint64]string {
		b := newBuilder()
		for _, mb := range []string{"A", "B", "C"} {
			b.vnf(mb, "hv1", 1)
		}
		m := b.chain("PC1", 1, members).classify("C1", "PC1", topology.EntryLport, topology.Bidirectional, "", 0).model(t)
		out := map[uint64]string{}
		for sport := uint64(1); sport <= 300; sport++ {
			out[sport] = strings.SplitN(walk(t, m, "hv1", tcp(request(11), sport, 80, ip1, ip2))[0], "-", 2)[0]
		}
		return out
	}
	two, three := pick("A", "B"), pick("A", "B", "C")
	for sport, before := range two {
		if after := three[sport]; after != before && after != "C" {
			t.Fatalf("adding C moved connection %d from %s to %s", sport, before, after)
		}
	}
	back := pick("A", "C") // B removed from A, B, C
	for sport, before := range three {
		if after := back[sport]; before != "B" && after != before {
			t.Fatalf("removing B moved connection %d from %s to %s", sport, before, after)
		}
	}
}

// Two chains on one port chosen by match and priority: TCP/80 through X,
// everything else through Y; and an exit-lport chain on the same port
// for traffic app2 starts (udp), disjoint from the replies of X and Y.
func TestSeveralChainsOnOnePort(t *testing.T) {
	m := newBuilder().vnf("X", "hv1", 1).vnf("Y", "hv1", 1).vnf("Z", "hv2", 1).
		chain("CX", 1, []string{"X"}).chain("CY", 2, []string{"Y"}).chain("CZ", 3, []string{"Z"}).
		classify("web", "CX", topology.EntryLport, topology.Bidirectional, "ip4 && tcp.dst == 80", 10).
		classify("rest", "CY", topology.EntryLport, topology.Bidirectional, "ip4 && !udp", 0).
		classify("out", "CZ", topology.ExitLport, topology.Bidirectional, "ip4 && udp.dst == 53", 5).model(t)
	if req, rep := connection(t, m, 40000, 80); req != "X-in app2" || rep != "X-out app1" {
		t.Errorf("tcp/80: %q / %q, want through X", req, rep)
	}
	if req, rep := connection(t, m, 40000, 22); req != "Y-in app2" || rep != "Y-out app1" {
		t.Errorf("tcp/22: %q / %q, want through Y", req, rep)
	}
	udp := func(p sim.Packet, sport, dport uint64, src, dst uint64) sim.Packet {
		return p.Set(pipeline.FieldEthType, 0x800).Set(pipeline.FieldIPProto, 17).
			Set(pipeline.FieldIPv4Src, src).Set(pipeline.FieldIPv4Dst, dst).
			Set(pipeline.FieldUDPSrc, sport).Set(pipeline.FieldUDPDst, dport)
	}
	query := strings.Join(walk(t, m, "hv2", udp(reply(18), 5353, 53, ip2, ip1)), " ")
	answer := strings.Join(walk(t, m, "hv1", udp(request(11), 53, 5353, ip1, ip2)), " ")
	if query != "Z-in app1" || answer != "Z-out app2" {
		t.Errorf("app2's DNS query %q, answer %q; want through Z both ways", query, answer)
	}
}

func flowsOf(t *testing.T, m *topology.Model, chassis string, cookieKind pipeline.Kind) (entry, hop int) {
	t.Helper()
	ofports := map[string]uint32{}
	for _, p := range m.Ports {
		if p.RequestedChassis() == chassis {
			ofports[p.Name] = 10 + p.Key
		}
	}
	for _, f := range render(t, pipeline.Input{Model: m, Chassis: chassis, OFPorts: ofports, TunnelOFPort: tunPort}).Flows {
		if f.Stage != pipeline.InChain || f.Cookie>>40&0xff != uint64(cookieKind) {
			continue
		}
		switch f.Priority {
		case 100:
			entry++
		case 150:
			hop++
		}
	}
	return entry, hop
}

// A port range compiles to its minimal prefix cover per flow; ranges on
// two fields become a conjunctive match (sum, not product, of covers).
func TestFlowCountsPerClassifier(t *testing.T) {
	for _, tc := range []struct {
		match      string
		entry, hop int
	}{
		{"", 1, 1},
		{"ip4 && tcp.dst == 80", 1, 1},
		{"ip4 && tcp.dst >= 1000 && tcp.dst <= 1999", 7, 7},
		{"tcp.dst >= 1000 && tcp.dst <= 1999", 14, 14},                                              // ip4 and ip6
		{"ip4 && tcp.src >= 1000 && tcp.src <= 1999 && tcp.dst >= 1000 && tcp.dst <= 1999", 15, 15}, // 7 + 7 + conj_id
		{"ip4 && tcp.dst == {80, 443, 8080}", 3, 3},
	} {
		m := newBuilder().vnf("A", "hv1", 1).chain("PC1", 1, []string{"A"}).
			classify("C", "PC1", topology.EntryLport, topology.Unidirectional, tc.match, 0).model(t)
		entry, hop := flowsOf(t, m, "hv1", pipeline.KindClassifier)
		if entry != tc.entry || hop != tc.hop {
			t.Errorf("%q: %d entry and %d hop flows, want %d and %d", tc.match, entry, hop, tc.entry, tc.hop)
		}
	}
}

// The range classifier steers exactly the ports in range (edges included).
func TestPortRangeEdges(t *testing.T) {
	m := newBuilder().vnf("A", "hv1", 1).chain("PC1", 1, []string{"A"}).
		classify("C", "PC1", topology.EntryLport, topology.Bidirectional, "ip4 && tcp.src >= 30000 && tcp.src <= 40000 && tcp.dst >= 1000 && tcp.dst <= 1999", 0).model(t)
	for _, tc := range []struct {
		sport, dport uint64
		steered      bool
	}{
		{35000, 999, false}, {35000, 1000, true}, {35000, 1999, true}, {35000, 2000, false},
		{29999, 1500, false}, {30000, 1500, true}, {40000, 1500, true}, {40001, 1500, false},
	} {
		req, rep := connection(t, m, tc.sport, tc.dport)
		want := "app2/app1"
		if tc.steered {
			want = "A-in app2/A-out app1"
		}
		if req+"/"+rep != want {
			t.Errorf("%d -> %d: %s/%s, want %s", tc.sport, tc.dport, req, rep, want)
		}
	}
}
