package pipeline_test

import (
	"bytes"
	"net"
	"testing"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/pipeline/sim"
	"github.com/chainwire/chainwire/topology"
)

// lbModel: aclModel's switches with load balancer web (10.0.0.100:80 over
// p2 and p3 on port 8080) on switch A.
func lbModel() pipeline.Input {
	in := aclModel()
	in.Model.LoadBalancers = []topology.LoadBalancer{{Name: "web", Key: 1, Protocol: topology.LBTCP,
		VIPs: map[string]string{"10.0.0.100:80": "10.0.0.2:8080,10.0.0.3:8080"}}}
	in.Model.Switches[0].LoadBalancers = []string{"web"}
	in.Model.Normalize()
	return in
}

const vipMAC = "0a:00:0a:00:00:64"

func TestGoldenLoadBalancer(t *testing.T) {
	golden(t, "lb", render(t, lbModel()))
}

// A VIP in the switch's subnet: its ARP is answered with its MAC; a new
// connection goes to one backend, translated (address, port, MAC); the
// reply comes back as the VIP's, with the VIP's MAC; the connection's
// next packets go to the same backend.
func TestLoadBalancerConnection(t *testing.T) {
	in := lbModel()
	sw, err := sim.New(render(t, in))
	if err != nil {
		t.Fatal(err)
	}
	r, err := sw.Run(arp(1, mac1, mac1, "10.0.0.1", "10.0.0.100"))
	if err != nil || !equalPorts(r.Ports(), []uint32{1}) || !bytes.Equal(r.Outputs[0].Packet[pipeline.FieldARPSHA], mustMAC(vipMAC)) {
		t.Fatalf("ARP for the VIP: %v %v\n%s", r.Ports(), err, r)
	}
	first := tcpSeg(1, mac1, vipMAC, "10.0.0.1", "10.0.0.100", 40000, 80, syn)
	r, err = sw.Run(first)
	if err != nil || len(r.Outputs) != 1 {
		t.Fatalf("SYN to the VIP: %v\n%s", err, r)
	}
	out := r.Outputs[0]
	backend, bmac := map[uint32]string{2: "10.0.0.2", 3: "10.0.0.3"}[out.Port], map[uint32]string{2: mac2, 3: mac3}[out.Port]
	if backend == "" || !net.IP(out.Packet[pipeline.FieldIPv4Dst]).Equal(net.ParseIP(backend)) ||
		out.Packet.Get(pipeline.FieldTCPDst) != 8080 || !bytes.Equal(out.Packet[pipeline.FieldEthDst], mustMAC(bmac)) {
		t.Fatalf("SYN to the VIP delivered to port %d as %v\n%s", out.Port, out.Packet, r)
	}
	reply := tcpSeg(out.Port, bmac, mac1, backend, "10.0.0.1", 8080, 40000, synAck)
	r, err = sw.Run(reply)
	if err != nil || !equalPorts(r.Ports(), []uint32{1}) {
		t.Fatalf("the backend's SYN-ACK: %v\n%s", err, r)
	}
	back := r.Outputs[0].Packet
	if !net.IP(back[pipeline.FieldIPv4Src]).Equal(net.ParseIP("10.0.0.100")) || back.Get(pipeline.FieldTCPSrc) != 80 ||
		!bytes.Equal(back[pipeline.FieldEthSrc], mustMAC(vipMAC)) {
		t.Fatalf("the reply reached p1 as %v, want from the VIP 10.0.0.100:80 and its MAC\n%s", back, r)
	}
	r, err = sw.Run(tcpSeg(1, mac1, vipMAC, "10.0.0.1", "10.0.0.100", 40000, 80, ack))
	if err != nil || !equalPorts(r.Ports(), []uint32{out.Port}) {
		t.Fatalf("the connection's ACK went to %v, not the backend %d: %v\n%s", r.Ports(), out.Port, err, r)
	}
	// Another source port: the hash may pick either backend, but always one.
	if r, err := sw.Run(tcpSeg(1, mac1, vipMAC, "10.0.0.1", "10.0.0.100", 40001, 80, syn)); err != nil || len(r.Outputs) != 1 {
		t.Fatalf("a second connection: %v %v", r.Ports(), err)
	}
}

// A backend's connection to the VIP that lands on itself (hairpin)
// reaches it from the VIP, and its replies come back to it as the VIP's.
func TestLoadBalancerHairpin(t *testing.T) {
	sw, err := sim.New(render(t, lbModel()))
	if err != nil {
		t.Fatal(err)
	}
	for sport := uint64(40000); sport < 40100; sport++ {
		r, err := sw.Run(tcpSeg(2, mac2, vipMAC, "10.0.0.2", "10.0.0.100", sport, 80, syn))
		if err != nil || len(r.Outputs) != 1 {
			t.Fatalf("p2's SYN to the VIP: %v\n%s", err, r)
		}
		if r.Outputs[0].Port != 2 {
			continue // landed on p3
		}
		in := r.Outputs[0].Packet
		if !net.IP(in[pipeline.FieldIPv4Src]).Equal(net.ParseIP("10.0.0.100")) || !net.IP(in[pipeline.FieldIPv4Dst]).Equal(net.ParseIP("10.0.0.2")) ||
			in.Get(pipeline.FieldTCPDst) != 8080 || !bytes.Equal(in[pipeline.FieldEthSrc], mustMAC(vipMAC)) {
			t.Fatalf("the hairpinned SYN reached p2 as %v\n%s", in, r)
		}
		r, err = sw.Run(tcpSeg(2, mac2, vipMAC, "10.0.0.2", "10.0.0.100", 8080, sport, synAck))
		if err != nil || !equalPorts(r.Ports(), []uint32{2}) {
			t.Fatalf("p2's SYN-ACK to the VIP: %v\n%s", err, r)
		}
		back := r.Outputs[0].Packet
		if !net.IP(back[pipeline.FieldIPv4Src]).Equal(net.ParseIP("10.0.0.100")) || back.Get(pipeline.FieldTCPSrc) != 80 ||
			!net.IP(back[pipeline.FieldIPv4Dst]).Equal(net.ParseIP("10.0.0.2")) || back.Get(pipeline.FieldTCPDst) != sport {
			t.Fatalf("the SYN-ACK reached p2 as %v, want from 10.0.0.100:80 to its port %d\n%s", back, sport, r)
		}
		return
	}
	t.Fatal("no connection of 100 landed on p2 itself")
}
