package pipeline_test

import (
	"fmt"
	"net"
	"testing"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/pipeline/sim"
	"github.com/chainwire/chainwire/topology"
)

// Router R joins switch S1 (10.0.1.0/24, fd00:1::/64; A on hv1) and S2
// (10.0.2.0/24, fd00:2::/64; B and the router VM C on hv2); a static route
// sends 10.0.3.0/24 to C. Switch ports: key 1 the router's, then the VMs.
// OpenFlow ports: 10 + key on S1, 20 + key on S2.
const (
	macA, macB, macC = "02:00:00:00:01:0a", "02:00:00:00:02:0b", "02:00:00:00:02:0c"
	macR1, macR2     = "02:00:00:00:ff:01", "02:00:00:00:ff:02"
)

func routed() *topology.Model {
	on := func(ch string) map[string]string { return map[string]string{"requested-chassis": ch} }
	m := &topology.Model{
		Chassis:  []topology.Chassis{{Name: "hv1", Encap: "geneve", IP: "192.0.2.1"}, {Name: "hv2", Encap: "geneve", IP: "192.0.2.2"}},
		Switches: []topology.Switch{{Name: "S1", Key: 1}, {Name: "S2", Key: 2}},
		Routers: []topology.Router{{Name: "R", Key: 3,
			Routes: []topology.StaticRoute{{Prefix: "10.0.3.0/24", NextHop: "10.0.2.12"}}}},
		RouterPorts: []topology.RouterPort{
			{Name: "r1", Router: "R", Key: 1, MAC: macR1, Networks: []string{"10.0.1.1/24", "fd00:1::1/64"}},
			{Name: "r2", Router: "R", Key: 2, MAC: macR2, Networks: []string{"10.0.2.1/24", "fd00:2::1/64"}},
		},
		Ports: []topology.Port{
			{Name: "rp1", Switch: "S1", Key: 1, Type: topology.PortTypeRouter, Addresses: []string{"router"}, Options: map[string]string{"router-port": "r1"}},
			{Name: "rp2", Switch: "S2", Key: 1, Type: topology.PortTypeRouter, Addresses: []string{"router"}, Options: map[string]string{"router-port": "r2"}},
			{Name: "A", Switch: "S1", Key: 2, Addresses: []string{macA + " 10.0.1.10 fd00:1::10"}, Options: on("hv1")},
			{Name: "B", Switch: "S2", Key: 2, Addresses: []string{macB + " 10.0.2.11 fd00:2::11"}, Options: on("hv2")},
			{Name: "C", Switch: "S2", Key: 3, Addresses: []string{macC + " 10.0.2.12"}, Options: on("hv2")},
		},
	}
	m.Normalize()
	if err := m.Validate(); err != nil {
		panic(err)
	}
	return m
}

func routedNetwork(t *testing.T, m *topology.Model) *sim.Network { return routedNetworkWith(t, m, nil) }

// routedNetworkWith is routedNetwork with learned neighbours.
func routedNetworkWith(t *testing.T, m *topology.Model, neighbours map[string]map[string]string) *sim.Network {
	t.Helper()
	n := &sim.Network{Chassis: map[string]*sim.Switch{}, IPs: map[string]string{}, TunnelPort: tunPort}
	for _, ch := range m.Chassis {
		ofports := map[string]uint32{}
		for _, p := range m.Ports {
			if p.RequestedChassis() == ch.Name {
				ofports[p.Name] = map[string]uint32{"S1": 10, "S2": 20}[p.Switch] + p.Key
			}
		}
		sw, err := sim.New(render(t, pipeline.Input{Model: m, Chassis: ch.Name, OFPorts: ofports, TunnelOFPort: tunPort, Neighbours: neighbours}))
		if err != nil {
			t.Fatal(err)
		}
		n.Chassis[ch.Name], n.IPs[ch.IP] = sw, ch.Name
	}
	return n
}

func ip4Packet(in uint32, src, dst, ipSrc, ipDst string, ttl uint64) sim.Packet {
	return sim.Frame(in, src, dst).Set(pipeline.FieldEthType, 0x800).
		Set(pipeline.FieldIPv4Src, uint64(be32(ipSrc))).Set(pipeline.FieldIPv4Dst, uint64(be32(ipDst))).
		Set(pipeline.FieldIPProto, 17).Set(pipeline.FieldIPTTL, ttl)
}

func be32(s string) uint32 {
	ip := net.ParseIP(s).To4()
	return uint32(ip[0])<<24 | uint32(ip[1])<<16 | uint32(ip[2])<<8 | uint32(ip[3])
}

func mac(v uint64) string {
	return net.HardwareAddr{byte(v >> 40), byte(v >> 32), byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}.String()
}

// A routed packet crosses one tunnel, with the destination switch's VNI
// and keys, and arrives from the router port's MAC with its TTL one less.
func TestRoutedAcrossHosts(t *testing.T) {
	n := routedNetwork(t, routed())
	r, err := n.Chassis["hv1"].Run(ip4Packet(12, macA, macR1, "10.0.1.10", "10.0.2.11", 64))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Outputs) != 1 || r.Outputs[0].Port != tunPort {
		t.Fatalf("outputs %v, want the tunnel; trace:\n%s", r.Ports(), r)
	}
	if o := r.Outputs[0].Packet; o.Get(pipeline.FieldTunID) != 2 || o.Get(pipeline.FieldTunMetadata0) != 1<<16|2 {
		t.Errorf("tun_id %d, tun_metadata0 %08x: want S2's VNI 2 and rp2 -> B (00010002)", o.Get(pipeline.FieldTunID), o.Get(pipeline.FieldTunMetadata0))
	}
	ds, err := n.Run("hv1", ip4Packet(12, macA, macR1, "10.0.1.10", "10.0.2.11", 64))
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].Chassis != "hv2" || ds[0].Port != 22 || ds[0].Hops != 1 {
		t.Fatalf("delivered %+v, want B (hv2:22) after one tunnel hop", ds)
	}
	p := ds[0].Packet
	if got := fmt.Sprintf("%s > %s ttl %d", mac(p.Get(pipeline.FieldEthSrc)), mac(p.Get(pipeline.FieldEthDst)), p.Get(pipeline.FieldIPTTL)); got != macR2+" > "+macB+" ttl 63" {
		t.Errorf("B received %s", got)
	}
	// And back.
	ds, err = n.Run("hv2", ip4Packet(22, macB, macR2, "10.0.2.11", "10.0.1.10", 64))
	if err != nil || len(ds) != 1 || ds[0].Chassis != "hv1" || ds[0].Port != 12 {
		t.Fatalf("reply delivered %+v (%v), want A (hv1:12)", ds, err)
	}
}

// The gateway's ARP is answered by the switch, on the chassis.
func TestGatewayARPAnsweredLocally(t *testing.T) {
	n := routedNetwork(t, routed())
	req := sim.Frame(12, macA, "ff:ff:ff:ff:ff:ff").Set(pipeline.FieldEthType, 0x806).Set(pipeline.FieldARPOp, 1).
		Set(pipeline.FieldARPSPA, uint64(be32("10.0.1.10"))).Set(pipeline.FieldARPTPA, uint64(be32("10.0.1.1"))).
		SetMAC(pipeline.FieldARPSHA, macA)
	r, err := n.Chassis["hv1"].Run(req)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Outputs) != 1 || r.Outputs[0].Port != 12 {
		t.Fatalf("outputs %v, want the answer back to A only; trace:\n%s", r.Ports(), r)
	}
	if o := r.Outputs[0].Packet; o.Get(pipeline.FieldARPOp) != 2 || mac(o.Get(pipeline.FieldARPSHA)) != macR1 {
		t.Errorf("answer: op %d, sha %s; want a reply from %s", o.Get(pipeline.FieldARPOp), mac(o.Get(pipeline.FieldARPSHA)), macR1)
	}
}

// A ping to a router address is answered in OpenFlow; a packet routing
// would expire goes to chainwired; a static route reaches its next hop.
func TestRouterIPsTTLAndStaticRoutes(t *testing.T) {
	n := routedNetwork(t, routed())
	ping := ip4Packet(12, macA, macR1, "10.0.1.10", "10.0.2.1", 64).Set(pipeline.FieldIPProto, 1).Set(pipeline.FieldICMPv4Type, 8)
	ds, err := n.Run("hv1", ping)
	if err != nil || len(ds) != 1 || ds[0].Port != 12 {
		t.Fatalf("echo reply delivered %+v (%v), want A", ds, err)
	}
	if p := ds[0].Packet; p.Get(pipeline.FieldICMPv4Type) != 0 || p.Get(pipeline.FieldIPv4Src) != uint64(be32("10.0.2.1")) ||
		p.Get(pipeline.FieldIPv4Dst) != uint64(be32("10.0.1.10")) || mac(p.Get(pipeline.FieldEthSrc)) != macR1 {
		t.Errorf("echo reply: type %d, %x > %x from %s", p.Get(pipeline.FieldICMPv4Type), p.Get(pipeline.FieldIPv4Src),
			p.Get(pipeline.FieldIPv4Dst), mac(p.Get(pipeline.FieldEthSrc)))
	}
	r, err := n.Chassis["hv1"].Run(ip4Packet(12, macA, macR1, "10.0.1.10", "10.0.2.11", 1))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.ToController) != 1 || r.ToController[0][0] != pipeline.OpTimeExceeded || len(r.Outputs) != 0 {
		t.Errorf("TTL 1: to chainwired %x, outputs %v", r.ToController, r.Ports())
	}
	ds, err = n.Run("hv1", ip4Packet(12, macA, macR1, "10.0.1.10", "10.0.3.7", 64))
	if err != nil || len(ds) != 1 || ds[0].Port != 23 || mac(ds[0].Packet.Get(pipeline.FieldEthDst)) != macC {
		t.Fatalf("10.0.3.7 delivered %+v (%v), want the router VM C (hv2:23)", ds, err)
	}
	if ds, err := n.Run("hv1", ip4Packet(12, macA, macR1, "10.0.1.10", "192.168.9.9", 64)); err != nil || len(ds) != 0 {
		t.Errorf("no route: delivered %+v (%v)", ds, err)
	}
}

// IPv6 routes by the same tables: the next hop in four registers.
func TestRoutedIPv6(t *testing.T) {
	n := routedNetwork(t, routed())
	p := sim.Frame(12, macA, macR1).Set(pipeline.FieldEthType, 0x86dd).Set(pipeline.FieldIPProto, 17).Set(pipeline.FieldIPTTL, 64)
	p[pipeline.FieldIPv6Src] = net.ParseIP("fd00:1::10").To16()
	p[pipeline.FieldIPv6Dst] = net.ParseIP("fd00:2::11").To16()
	ds, err := n.Run("hv1", p)
	if err != nil || len(ds) != 1 || ds[0].Chassis != "hv2" || ds[0].Port != 22 {
		t.Fatalf("delivered %+v (%v), want B (hv2:22)", ds, err)
	}
	if q := ds[0].Packet; q.Get(pipeline.FieldIPTTL) != 63 || mac(q.Get(pipeline.FieldEthDst)) != macB {
		t.Errorf("B received hop limit %d, to %s", q.Get(pipeline.FieldIPTTL), mac(q.Get(pipeline.FieldEthDst)))
	}
}

// A chain on B's switch carries traffic routed from the other subnet:
// the VNF sees the routed frame, the reply goes back through it.
func TestChainAppliesToRoutedTraffic(t *testing.T) {
	m := routed()
	m.Ports = append(m.Ports,
		topology.Port{Name: "v-in", Switch: "S2", Key: 4, Options: map[string]string{"requested-chassis": "hv2"}},
		topology.Port{Name: "v-out", Switch: "S2", Key: 5, Options: map[string]string{"requested-chassis": "hv2"}})
	m.PortPairs = []topology.PortPair{{Name: "PP", Switch: "S2", InPort: "v-in", OutPort: "v-out", Weight: 1}}
	m.PortPairGroups = []topology.PortPairGroup{{Name: "PG", Pairs: []string{"PP"}}}
	m.PortChains = []topology.PortChain{{Name: "PC", Switch: "S2", Key: 1, Groups: []string{"PG"}}}
	m.Classifiers = []topology.Classifier{{Name: "CL", Switch: "S2", Chain: "PC", Port: "B", Direction: topology.EntryLport,
		Path: topology.Bidirectional, Match: "ip4", Key: 1}}
	m.Normalize()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	n := routedNetwork(t, m)
	ds, err := n.Run("hv1", ip4Packet(12, macA, macR1, "10.0.1.10", "10.0.2.11", 64))
	if err != nil || len(ds) != 1 || ds[0].Port != 24 {
		t.Fatalf("routed request delivered %+v (%v), want the VNF's in port (hv2:24)", ds, err)
	}
	// The VNF hands it on unchanged from its out port: on to B.
	fromVNF := ds[0].Packet.Set(pipeline.FieldInPort, 25)
	if ds, err := n.Run("hv2", fromVNF); err != nil || len(ds) != 1 || ds[0].Port != 22 {
		t.Fatalf("from the VNF: delivered %+v (%v), want B", ds, err)
	}
	// B's reply goes through the VNF (out port first), then to A.
	ds, err = n.Run("hv2", ip4Packet(22, macB, macR2, "10.0.2.11", "10.0.1.10", 64))
	if err != nil || len(ds) != 1 || ds[0].Port != 25 {
		t.Fatalf("reply delivered %+v (%v), want the VNF's out port (hv2:25)", ds, err)
	}
	back := ds[0].Packet.Set(pipeline.FieldInPort, 24)
	if ds, err := n.Run("hv2", back); err != nil || len(ds) != 1 || ds[0].Chassis != "hv1" || ds[0].Port != 12 {
		t.Fatalf("reply from the VNF: delivered %+v (%v), want A (hv1:12)", ds, err)
	}
}
