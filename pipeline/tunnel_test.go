package pipeline_test

import (
	"fmt"
	"sort"
	"testing"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/pipeline/sim"
	"github.com/chainwire/chainwire/topology"
)

const tunPort = 100

// threeHosts: switch A with p1 on hv1, p2 on hv2, p3 on hv3 (unknown
// addresses too), p4 unbound; switch B with q1 on hv1 and q2 on hv2.
func threeHosts() *topology.Model {
	on := func(ch string) map[string]string { return map[string]string{"requested-chassis": ch} }
	return &topology.Model{
		Chassis: []topology.Chassis{{Name: "hv1", Encap: "geneve", IP: "192.0.2.1"},
			{Name: "hv2", Encap: "geneve", IP: "192.0.2.2"}, {Name: "hv3", Encap: "geneve", IP: "192.0.2.3"}},
		Switches: []topology.Switch{{Name: "A", Key: 1}, {Name: "B", Key: 2}},
		Ports: []topology.Port{
			{Name: "p1", Switch: "A", Key: 1, Addresses: []string{mac1}, Options: on("hv1")},
			{Name: "p2", Switch: "A", Key: 2, Addresses: []string{mac2}, Options: on("hv2")},
			{Name: "p3", Switch: "A", Key: 3, Addresses: []string{mac3, "unknown"}, Options: on("hv3")},
			{Name: "q1", Switch: "B", Key: 1, Addresses: []string{"02:00:00:00:01:01"}, Options: on("hv1")},
			{Name: "q2", Switch: "B", Key: 2, Addresses: []string{"02:00:00:00:01:02"}, Options: on("hv2")},
		},
	}
}

// network renders each chassis with the ports it hosts bound to OpenFlow
// port 10 + the port key (switch B ports: 20 + key).
func network(t *testing.T, m *topology.Model) *sim.Network {
	t.Helper()
	n := &sim.Network{Chassis: map[string]*sim.Switch{}, IPs: map[string]string{}, TunnelPort: tunPort}
	for _, ch := range m.Chassis {
		ofports := map[string]uint32{}
		for _, p := range m.Ports {
			if p.RequestedChassis() == ch.Name {
				base := uint32(10)
				if p.Switch == "B" {
					base = 20
				}
				ofports[p.Name] = base + p.Key
			}
		}
		sw, err := sim.New(render(t, pipeline.Input{Model: m, Chassis: ch.Name, OFPorts: ofports, TunnelOFPort: tunPort}))
		if err != nil {
			t.Fatal(err)
		}
		n.Chassis[ch.Name] = sw
		n.IPs[ch.IP] = ch.Name
	}
	return n
}

func deliveries(t *testing.T, n *sim.Network, chassis string, p sim.Packet) []string {
	t.Helper()
	ds, err := n.Run(chassis, p)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range ds {
		out = append(out, fmt.Sprintf("%s:%d", d.Chassis, d.Port))
	}
	sort.Strings(out)
	return out
}

func TestTunnelUnicastCarriesOVNMetadata(t *testing.T) {
	m := threeHosts()
	n := network(t, m)
	sw1 := n.Chassis["hv1"]
	r, err := sw1.Run(sim.Frame(11, mac1, mac2))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Outputs) != 1 || r.Outputs[0].Port != tunPort {
		t.Fatalf("outputs %v, want the tunnel; trace:\n%s", r.Ports(), r)
	}
	o := r.Outputs[0].Packet
	if o.Get(pipeline.FieldTunID) != 1 || o.Get(pipeline.FieldTunMetadata0) != 0x00010002 ||
		o.Get(pipeline.FieldTunDst) != 0xc0000202 {
		t.Errorf("tun_id %x, tun_metadata0 %08x, tun_dst %x; want 1, 00010002, 192.0.2.2",
			o.Get(pipeline.FieldTunID), o.Get(pipeline.FieldTunMetadata0), o.Get(pipeline.FieldTunDst))
	}
	if got := deliveries(t, n, "hv1", sim.Frame(11, mac1, mac2)); fmt.Sprint(got) != "[hv2:12]" {
		t.Errorf("delivered to %v, want hv2:12", got)
	}
	if got := deliveries(t, n, "hv2", sim.Frame(12, mac2, mac1)); fmt.Sprint(got) != "[hv1:11]" {
		t.Errorf("reply delivered to %v, want hv1:11", got)
	}
}

// A broadcast reaches every other member once, on every chassis, and no
// receiving chassis tunnels it again (sim.Network fails on that).
func TestTunnelFloodReachesEachChassisOnce(t *testing.T) {
	n := network(t, threeHosts())
	got := deliveries(t, n, "hv1", sim.Frame(11, mac1, "ff:ff:ff:ff:ff:ff"))
	if fmt.Sprint(got) != "[hv2:12 hv3:13]" {
		t.Errorf("broadcast from p1 reached %v, want hv2:12 hv3:13", got)
	}
	got = deliveries(t, n, "hv2", sim.Frame(22, "02:00:00:00:01:02", "ff:ff:ff:ff:ff:ff"))
	if fmt.Sprint(got) != "[hv1:21]" {
		t.Errorf("broadcast on switch B reached %v, want hv1:21 only", got)
	}
	// Unknown unicast goes only to the chassis with an "unknown" port.
	got = deliveries(t, n, "hv1", sim.Frame(11, mac1, "02:00:00:00:00:99"))
	if fmt.Sprint(got) != "[hv3:13]" {
		t.Errorf("unknown unicast reached %v, want hv3:13", got)
	}
}

// Tunnel metadata for a switch's VNI never delivers into another switch.
func TestTunnelIsolation(t *testing.T) {
	n := network(t, threeHosts())
	if got := deliveries(t, n, "hv1", sim.Frame(21, "02:00:00:00:01:01", mac2)); len(got) != 0 {
		t.Errorf("q1 on switch B reached %v", got)
	}
}

// golden files list groups after flows, each as "NAME: group_id=...".
func TestGoldenTunnel(t *testing.T) {
	m := threeHosts()
	golden(t, "tunnel-hv1", render(t, pipeline.Input{Model: m, Chassis: "hv1",
		OFPorts: map[string]uint32{"p1": 11, "q1": 21}, TunnelOFPort: tunPort}))
}
