package pipeline_test

import (
	"bytes"
	"net"
	"testing"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/pipeline/sim"
	"github.com/chainwire/chainwire/topology"
)

// routedUnknownC is routed() with the router VM C's port knowing only
// its MAC: the static route's next hop 10.0.2.12 must be learned.
func routedUnknownC() *topology.Model {
	m := routed()
	for i := range m.Ports {
		if m.Ports[i].Name == "C" {
			m.Ports[i].Addresses = []string{macC}
		}
	}
	return m
}

// A next hop without a known MAC goes to chainwired, which asks from the
// router port's address in the next hop's network; the packet goes no
// further.
func TestUnknownNextHopResolved(t *testing.T) {
	sw := routedNetwork(t, routedUnknownC()).Chassis
	r, err := sw["hv1"].Run(ip4Packet(12, macA, macR1, "10.0.1.10", "10.0.3.7", 64))
	if err != nil {
		t.Fatal(err)
	}
	mr2, _ := net.ParseMAC(macR2)
	want := pipeline.RouterAnswerUserdata(pipeline.OpResolve, 2, 1, mr2, net.ParseIP("10.0.2.1"))
	if len(r.Outputs) != 0 || len(r.ToController) != 1 || !bytes.Equal(r.ToController[0], want) {
		t.Fatalf("outputs %v, to chainwired %x; want only %x; trace:\n%s", r.Ports(), r.ToController, want, r)
	}
}

// A learned neighbour (by any chassis) is the next hop's MAC, below a
// port's own address; one outside the port's networks is ignored.
func TestLearnedNeighbour(t *testing.T) {
	n := routedNetworkWith(t, routedUnknownC(), map[string]map[string]string{"r2": {"10.0.2.12": macC, "10.9.9.9": macB}})
	ds, err := n.Run("hv1", ip4Packet(12, macA, macR1, "10.0.1.10", "10.0.3.7", 64))
	if err != nil || len(ds) != 1 || ds[0].Chassis != "hv2" || ds[0].Port != 23 || mac(ds[0].Packet.Get(pipeline.FieldEthDst)) != macC {
		t.Fatalf("10.0.3.7 delivered %+v (%v), want the router VM C (hv2:23)", ds, err)
	}
	// A port's own address wins over a learned one.
	sw := routedNetworkWith(t, routed(), map[string]map[string]string{"r2": {"10.0.2.11": macC}}).Chassis
	r, err := sw["hv1"].Run(ip4Packet(12, macA, macR1, "10.0.1.10", "10.0.2.11", 64))
	if err != nil || len(r.Outputs) != 1 || r.Outputs[0].Packet.Get(pipeline.FieldTunMetadata0) != 1<<16|2 {
		t.Fatalf("10.0.2.11 went to %v (%v), want B by its port; trace:\n%s", r.Ports(), err, r)
	}
	for _, f := range render(t, pipeline.Input{Model: routedUnknownC(), Chassis: "hv1", TunnelOFPort: tunPort,
		Neighbours: map[string]map[string]string{"r2": {"10.9.9.9": macB}}}).Flows {
		if f.Stage == pipeline.LrInARPResolve && bytes.Contains([]byte(f.String()), []byte(macB)) {
			t.Errorf("a neighbour outside r2's networks made %s", f)
		}
	}
}

// ARP replies and neighbour advertisements to a router port go to
// chainwired, naming the port; other ARP does not.
func TestNeighbourRepliesLearned(t *testing.T) {
	sw := routedNetwork(t, routedUnknownC()).Chassis
	reply := sim.Frame(23, macC, macR2).Set(pipeline.FieldEthType, 0x806).Set(pipeline.FieldARPOp, 2).
		Set(pipeline.FieldARPSPA, uint64(be32("10.0.2.12"))).Set(pipeline.FieldARPTPA, uint64(be32("10.0.2.1"))).
		SetMAC(pipeline.FieldARPSHA, macC)
	r, err := sw["hv2"].Run(reply)
	if err != nil {
		t.Fatal(err)
	}
	if want := pipeline.LearnUserdata("r2"); len(r.ToController) != 1 || !bytes.Equal(r.ToController[0], want) || len(r.Outputs) != 0 {
		t.Fatalf("ARP reply: to chainwired %x, outputs %v; want %x; trace:\n%s", r.ToController, r.Ports(), want, r)
	}
	na := sim.Frame(23, macC, macR2).Set(pipeline.FieldEthType, 0x86dd).Set(pipeline.FieldIPProto, 58).
		Set(pipeline.FieldIPTTL, 255).Set(pipeline.FieldICMPv6Type, 136)
	na[pipeline.FieldIPv6Src] = net.ParseIP("fd00:2::12").To16()
	na[pipeline.FieldIPv6Dst] = net.ParseIP("fd00:2::1").To16()
	if r, err = sw["hv2"].Run(na); err != nil || len(r.ToController) != 1 || r.ToController[0][0] != pipeline.OpLearnNeighbour {
		t.Fatalf("NA: to chainwired %x (%v); trace:\n%s", r.ToController, err, r)
	}
	// A request to the router's MAC is no reply.
	req := reply.Set(pipeline.FieldARPOp, 1)
	if r, err = sw["hv2"].Run(req); err != nil || len(r.ToController) != 0 {
		t.Fatalf("ARP request: to chainwired %x (%v)", r.ToController, err)
	}
}

func TestNextHopFromRegisters(t *testing.T) {
	regs := map[pipeline.Field]uint32{pipeline.FieldReg0: 0xfd000002, pipeline.FieldReg1: 0, pipeline.FieldReg2: 0, pipeline.FieldReg3: 0x12}
	get := func(f pipeline.Field) uint32 { return regs[f] }
	if got := pipeline.NextHop(get, true); !got.Equal(net.ParseIP("fd00:2::12")) {
		t.Errorf("IPv6 next hop %s", got)
	}
	regs[pipeline.FieldReg0] = 0x0a00020c
	if got := pipeline.NextHop(get, false); !got.Equal(net.ParseIP("10.0.2.12")) {
		t.Errorf("IPv4 next hop %s", got)
	}
}

// A load balancer of S2 balances S1's clients too, in S1 (the client's
// switch): its VIP's new connections go to the VIP's group there; the
// VIP's ARP answer stays on S2.
func TestRoutedLoadBalancerFlows(t *testing.T) {
	m := routed()
	m.LoadBalancers = []topology.LoadBalancer{{Name: "web", Key: 1, Protocol: topology.LBTCP,
		VIPs: map[string]string{"10.0.2.100:80": "10.0.2.11:8080"}}}
	m.Switches[1].LoadBalancers = []string{"web"}
	vip := net.ParseIP("10.0.2.100").To4()
	balanced, answered := map[uint64]bool{}, map[uint64]bool{}
	for _, f := range render(t, pipeline.Input{Model: m, Chassis: "hv1", TunnelOFPort: tunPort}).Flows {
		dp, _ := f.Match.Get(pipeline.LogDatapath)
		if v, ok := f.Match.Get(pipeline.FieldIPv4Dst); ok && f.Stage == pipeline.InStateful && bytes.Equal(v.Value, vip) {
			balanced[dp.Uint()] = true
		}
		if v, ok := f.Match.Get(pipeline.FieldARPTPA); ok && f.Stage == pipeline.InARPRsp && bytes.Equal(v.Value, vip) {
			answered[dp.Uint()] = true
		}
	}
	if !balanced[1] || !balanced[2] || answered[1] || !answered[2] {
		t.Errorf("VIP balanced on switches %v, its ARP answered on %v; want both balanced, answered on S2 (2) only", balanced, answered)
	}
}
