package pipeline_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/pipeline/sim"
	"github.com/chainwire/chainwire/topology"
)

// The seed's topologies. Ports: app1 (P1), vnf pairs (P2,P3), (P4,P5),
// (P6,P7), app2 (P8 in Case 3, P4 in Cases 1/2). OpenFlow port = 10 + key.
const (
	macApp1 = "02:00:00:00:00:a1"
	macApp2 = "02:00:00:00:00:a2"
)

type seedCase struct {
	m      *topology.Model
	vnfs   int    // number of VNFs (pairs)
	app2On string // chassis of app2
	oneArm bool
	dir    string
	path   string
	match  string
}

func (c seedCase) model() *topology.Model {
	on := func(ch string) map[string]string { return map[string]string{"requested-chassis": ch} }
	m := &topology.Model{
		Chassis:  []topology.Chassis{{Name: "hv1", Encap: "geneve", IP: "192.0.2.1"}, {Name: "hv2", Encap: "geneve", IP: "192.0.2.2"}},
		Switches: []topology.Switch{{Name: "sw0", Key: 1}},
		Ports: []topology.Port{
			{Name: "app1", Switch: "sw0", Key: 1, Addresses: []string{macApp1 + " 10.0.0.1"}, Options: on("hv1")},
			{Name: "app2", Switch: "sw0", Key: 8, Addresses: []string{macApp2 + " 10.0.0.2"}, Options: on(c.app2On)},
		},
		PortChains: []topology.PortChain{{Name: "PC1", Switch: "sw0", Key: 1}},
	}
	for i := 0; i < c.vnfs; i++ {
		in, out := fmt.Sprintf("vnf%d-in", i+1), fmt.Sprintf("vnf%d-out", i+1)
		m.Ports = append(m.Ports, topology.Port{Name: in, Switch: "sw0", Key: uint32(2 + 2*i), Options: on("hv1")})
		if c.oneArm {
			out = in
		} else {
			m.Ports = append(m.Ports, topology.Port{Name: out, Switch: "sw0", Key: uint32(3 + 2*i), Options: on("hv1")})
		}
		pp, pg := fmt.Sprintf("PP%d", i+1), fmt.Sprintf("PG%d", i+1)
		m.PortPairs = append(m.PortPairs, topology.PortPair{Name: pp, Switch: "sw0", InPort: in, OutPort: out, Weight: 1})
		m.PortPairGroups = append(m.PortPairGroups, topology.PortPairGroup{Name: pg, Pairs: []string{pp}})
		m.PortChains[0].Groups = append(m.PortChains[0].Groups, pg)
	}
	dir, path := c.dir, c.path
	if dir == "" {
		dir = topology.EntryLport
	}
	if path == "" {
		path = topology.Bidirectional
	}
	m.Classifiers = []topology.Classifier{{Name: "PCC1", Switch: "sw0", Chain: "PC1", Port: "app2",
		Direction: dir, Path: path, Match: c.match, Key: 1}}
	m.Normalize()
	if err := m.Validate(); err != nil {
		panic(err)
	}
	return m
}

// walk sends a frame into the lab and follows it through the VNFs, which
// are bump-in-the-wire: a frame delivered on a VNF port comes back,
// unchanged, from its pair's other port (the same port if one-armed). It
// returns the ports the frame was delivered on, in order.
func walk(t *testing.T, m *topology.Model, chassis string, p sim.Packet) []string {
	t.Helper()
	return walker(t, m)(chassis, p)
}

// walker renders the model once and returns walk over it: conntrack state
// stays from one walk to the next.
func walker(t *testing.T, m *topology.Model) func(chassis string, p sim.Packet) []string {
	t.Helper()
	return walkerDown(t, m, nil)
}

// walkerDown is walker with pairs a health check found down.
func walkerDown(t *testing.T, m *topology.Model, down map[string]bool) func(chassis string, p sim.Packet) []string {
	t.Helper()
	n := &sim.Network{Chassis: map[string]*sim.Switch{}, IPs: map[string]string{}, TunnelPort: tunPort}
	name := map[string]string{} // "hv:ofport" -> port name
	other := map[string]string{}
	for _, pp := range m.PortPairs {
		other[pp.InPort], other[pp.OutPort] = pp.OutPort, pp.InPort
	}
	where := map[string]string{}
	for _, ch := range m.Chassis {
		ofports, zones := map[string]uint32{}, map[string]uint16{}
		for _, port := range m.Ports {
			if port.RequestedChassis() == ch.Name {
				ofports[port.Name] = 10 + port.Key
				zones[port.Name] = uint16(port.Key)
				name[fmt.Sprintf("%s:%d", ch.Name, 10+port.Key)] = port.Name
				where[port.Name] = ch.Name
			}
		}
		flows, err := pipeline.Render(pipeline.Input{Model: m, Chassis: ch.Name, OFPorts: ofports, Zones: zones, TunnelOFPort: tunPort, Down: down})
		if err != nil {
			t.Fatal(err)
		}
		sw, err := sim.New(flows)
		if err != nil {
			t.Fatal(err)
		}
		n.Chassis[ch.Name], n.IPs[ch.IP] = sw, ch.Name
	}
	return func(chassis string, p sim.Packet) []string {
		t.Helper()
		return walkOn(t, n, m, name, other, where, chassis, p)
	}
}

func walkOn(t *testing.T, n *sim.Network, m *topology.Model, name, other, where map[string]string, chassis string, p sim.Packet) []string {
	t.Helper()
	var seen []string
	for step := 0; step < 20; step++ {
		ds, err := n.Run(chassis, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 1 {
			var all []string
			for _, d := range ds {
				all = append(all, name[fmt.Sprintf("%s:%d", d.Chassis, d.Port)])
			}
			return append(seen, "{"+strings.Join(all, " ")+"}")
		}
		port := name[fmt.Sprintf("%s:%d", ds[0].Chassis, ds[0].Port)]
		seen = append(seen, port)
		next, isVNF := other[port]
		if !isVNF {
			for _, f := range []pipeline.Field{pipeline.FieldEthSrc, pipeline.FieldEthDst} {
				if fmt.Sprint(ds[0].Packet[f]) != fmt.Sprint(p[f]) {
					t.Errorf("%s received a rewritten frame", port)
				}
			}
			return seen
		}
		chassis = where[next]
		q := sim.Packet{}
		for f, v := range p {
			q[f] = v
		}
		p = q.Set(pipeline.FieldInPort, uint64(10+m.Port(next).Key))
	}
	t.Fatalf("frame did not leave the chain: %v", seen)
	return nil
}

func request(inPort uint32) sim.Packet { return sim.Frame(inPort, macApp1, macApp2) }
func reply(inPort uint32) sim.Packet   { return sim.Frame(inPort, macApp2, macApp1) }

func expectWalk(t *testing.T, what string, got []string, want string) {
	t.Helper()
	if strings.Join(got, " ") != want {
		t.Errorf("%s: %v, want %s", what, got, want)
	}
}

func TestSeedCase1(t *testing.T) {
	m := seedCase{vnfs: 1, app2On: "hv1"}.model()
	expectWalk(t, "request", walk(t, m, "hv1", request(11)), "vnf1-in app2")
	expectWalk(t, "reply", walk(t, m, "hv1", reply(18)), "vnf1-out app1")
}

func TestSeedCase2(t *testing.T) {
	m := seedCase{vnfs: 1, app2On: "hv2"}.model()
	expectWalk(t, "request", walk(t, m, "hv1", request(11)), "vnf1-in app2")
	expectWalk(t, "reply", walk(t, m, "hv2", reply(18)), "vnf1-out app1")
}

func TestSeedCase3(t *testing.T) {
	m := seedCase{vnfs: 3, app2On: "hv2"}.model()
	expectWalk(t, "request", walk(t, m, "hv1", request(11)), "vnf1-in vnf2-in vnf3-in app2")
	expectWalk(t, "reply", walk(t, m, "hv2", reply(18)), "vnf3-out vnf2-out vnf1-out app1")
}

func TestExitLport(t *testing.T) {
	m := seedCase{vnfs: 2, app2On: "hv2", dir: topology.ExitLport}.model()
	expectWalk(t, "from app2", walk(t, m, "hv2", reply(18)), "vnf1-in vnf2-in app1")
	expectWalk(t, "to app2", walk(t, m, "hv1", request(11)), "vnf2-out vnf1-out app2")
}

func TestUnidirectional(t *testing.T) {
	m := seedCase{vnfs: 2, app2On: "hv2", path: topology.Unidirectional}.model()
	expectWalk(t, "request", walk(t, m, "hv1", request(11)), "vnf1-in vnf2-in app2")
	expectWalk(t, "reply", walk(t, m, "hv2", reply(18)), "app1")
}

func TestOneArmedVNF(t *testing.T) {
	m := seedCase{vnfs: 2, app2On: "hv2", oneArm: true}.model()
	expectWalk(t, "request", walk(t, m, "hv1", request(11)), "vnf1-in vnf2-in app2")
	expectWalk(t, "reply", walk(t, m, "hv2", reply(18)), "vnf2-in vnf1-in app1")
}

func TestClassifierMatch(t *testing.T) {
	m := seedCase{vnfs: 1, app2On: "hv2", match: "ip4 && tcp.dst == 80"}.model()
	web := request(11).Set(pipeline.FieldEthType, 0x800).Set(pipeline.FieldIPProto, 6).Set(pipeline.FieldTCPDst, 80)
	expectWalk(t, "tcp/80", walk(t, m, "hv1", web), "vnf1-in app2")
	ssh := request(11).Set(pipeline.FieldEthType, 0x800).Set(pipeline.FieldIPProto, 6).Set(pipeline.FieldTCPDst, 22)
	expectWalk(t, "tcp/22", walk(t, m, "hv1", ssh), "app2")
	back := reply(18).Set(pipeline.FieldEthType, 0x800).Set(pipeline.FieldIPProto, 6).Set(pipeline.FieldTCPSrc, 80)
	expectWalk(t, "reply from port 80 (mirrored match)", walk(t, m, "hv2", back), "vnf1-out app1")
}

// VNF ports get no flooded traffic; the broadcast reaches the apps only.
func TestVNFPortsGetNoFlood(t *testing.T) {
	m := seedCase{vnfs: 1, app2On: "hv1"}.model()
	expectWalk(t, "broadcast", walk(t, m, "hv1", sim.Frame(11, macApp1, "ff:ff:ff:ff:ff:ff")), "app2")
}

// Removing the classifier restores the plain path.
func TestClassifierDeleted(t *testing.T) {
	m := seedCase{vnfs: 3, app2On: "hv2"}.model()
	m.Classifiers = nil
	expectWalk(t, "request", walk(t, m, "hv1", request(11)), "app2")
	expectWalk(t, "reply", walk(t, m, "hv2", reply(18)), "app1")
}

// A chain with an empty group steers nothing.
func TestEmptyGroupSteersNothing(t *testing.T) {
	m := seedCase{vnfs: 2, app2On: "hv2"}.model()
	m.PortPairGroups[1].Pairs = nil
	expectWalk(t, "request", walk(t, m, "hv1", request(11)), "app2")
}

func TestGoldenSeedCase3(t *testing.T) {
	m := seedCase{vnfs: 3, app2On: "hv2"}.model()
	for _, ch := range []string{"hv1", "hv2"} {
		ofports := map[string]uint32{}
		for _, p := range m.Ports {
			if p.RequestedChassis() == ch {
				ofports[p.Name] = 10 + p.Key
			}
		}
		golden(t, "case3-"+ch, render(t, pipeline.Input{Model: m, Chassis: ch, OFPorts: ofports, TunnelOFPort: tunPort}))
	}
}

// A VNF port forwards only what its chain hop expects: its own ARP, a
// frame with another workload's MAC outside the classifier's match, or
// one towards a port the chain does not steer are dropped on its
// chassis (vnf1-out is OpenFlow port 13 on hv1).
func TestVNFPortSendsOnlyItsHop(t *testing.T) {
	m := seedCase{vnfs: 1, app2On: "hv2", match: "ip4 && tcp.dst == 80"}.model()
	m.Ports = append(m.Ports, topology.Port{Name: "app3", Switch: "sw0", Key: 9,
		Addresses: []string{"02:00:00:00:00:33 10.0.0.3"}, Options: map[string]string{"requested-chassis": "hv1"}})
	web := func(p sim.Packet) sim.Packet {
		return p.Set(pipeline.FieldIPProto, 6).Set(pipeline.FieldTCPDst, 80)
	}
	expectWalk(t, "the hop's own frame", walk(t, m, "hv1", web(sim.Frame(13, macApp1, macApp2))), "app2")
	garp := sim.Frame(13, "02:00:00:00:00:77", "ff:ff:ff:ff:ff:ff").Set(pipeline.FieldEthType, 0x0806)
	expectWalk(t, "a gratuitous ARP", walk(t, m, "hv1", garp), "{}")
	expectWalk(t, "outside the match", walk(t, m, "hv1", sim.Frame(13, macApp1, macApp2)), "{}")
	expectWalk(t, "another MAC towards app3", walk(t, m, "hv1", web(sim.Frame(13, macApp1, "02:00:00:00:00:33"))), "{}")
	expectWalk(t, "a random source MAC towards app2", walk(t, m, "hv1", sim.Frame(12, "02:00:00:00:00:77", macApp2)), "{}")
}

// ACLs and chains compose as DESIGN §10 says: a from-lport drop on the
// source stops a request before the chain; a to-lport ACL at the
// destination judges it after the chain, once; with stateful ACLs the
// reply crosses the chain back as an established connection of the
// workloads, never of the VNF hops.
func TestACLsAndChains(t *testing.T) {
	tcp80 := func(p sim.Packet) sim.Packet {
		return p.Set(pipeline.FieldIPProto, 6).Set(pipeline.FieldTCPDst, 80).Set(pipeline.FieldTCPFlags, 0x002)
	}
	acl := func(m *topology.Model, dir, match, action string) *topology.Model {
		m.ACLs = append(m.ACLs, topology.ACL{Name: fmt.Sprintf("acl%d", len(m.ACLs)+1), Key: uint32(len(m.ACLs) + 1),
			Switch: "sw0", Direction: dir, Priority: 100 - len(m.ACLs), Match: match, Action: action})
		return m
	}
	m := acl(seedCase{vnfs: 2, app2On: "hv2"}.model(), topology.FromLport, `inport == "app1" && tcp.dst == 80`, topology.ACLDrop)
	expectWalk(t, "dropped at the source", walk(t, m, "hv1", tcp80(request(11))), "{}")

	m = acl(seedCase{vnfs: 2, app2On: "hv2"}.model(), topology.ToLport, `outport == "app2" && tcp.dst == 80`, topology.ACLDrop)
	expectWalk(t, "dropped at the destination, after the chain", walk(t, m, "hv1", tcp80(request(11))), "vnf1-in vnf2-in {}")

	m = acl(seedCase{vnfs: 2, app2On: "hv2"}.model(), topology.ToLport, `outport == "app2" && tcp.dst == 80`, topology.ACLAllowRelated)
	m = acl(m, topology.ToLport, `outport == "app2"`, topology.ACLDrop)
	w := walker(t, m)
	expectWalk(t, "allowed request", w("hv1", tcp80(request(11))), "vnf1-in vnf2-in app2")
	back := reply(18).Set(pipeline.FieldEthType, 0x800).Set(pipeline.FieldIPProto, 6).Set(pipeline.FieldTCPSrc, 80).
		Set(pipeline.FieldTCPFlags, 0x012)
	expectWalk(t, "its reply", w("hv2", back), "vnf2-out vnf1-out app1")
	expectWalk(t, "ssh to app2", walk(t, m, "hv1", request(11).Set(pipeline.FieldIPProto, 6).Set(pipeline.FieldTCPDst, 22).
		Set(pipeline.FieldTCPFlags, 0x002)), "vnf1-in vnf2-in {}")
}
