package pipeline_test

import (
	"bytes"
	"net"
	"testing"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/pipeline/sim"
	"github.com/chainwire/chainwire/topology"
)

// rspModel: secModel's switch, v4 on another chassis (hv2), a port that
// takes unknown unicast (v5, 10.0.0.5) and a disabled one (v6, 10.0.0.6).
func rspModel() pipeline.Input {
	in := secModel()
	off := false
	in.Model.Chassis = []topology.Chassis{{Name: "hv2", Encap: "geneve", IP: "192.0.2.2"}}
	in.Model.Ports[3].Options = map[string]string{"requested-chassis": "hv2"}
	in.Model.Ports = append(in.Model.Ports,
		topology.Port{Name: "v5", Switch: "A", Key: 5, Addresses: []string{"02:00:00:00:00:05 10.0.0.5", "unknown"}},
		topology.Port{Name: "v6", Switch: "A", Key: 6, Addresses: []string{"02:00:00:00:00:06 10.0.0.6"}, Enabled: &off})
	in.OFPorts = map[string]uint32{"v1": 1, "v2": 2, "v3": 3, "v5": 5, "v6": 6}
	in.TunnelOFPort = 10
	return in
}

func TestGoldenResponder(t *testing.T) {
	golden(t, "arprsp", render(t, rspModel()))
}

// A broadcast ARP request for a known address is answered on the
// sender's chassis, back out of its port, whoever owns the address and
// wherever it is bound; the reply is the request rewritten.
func TestARPAnsweredLocally(t *testing.T) {
	r := run(t, rspModel(), arp(1, mac1, mac1, "10.0.0.1", "10.0.0.4")) // v4 is on hv2
	if !equalPorts(r.Ports(), []uint32{1}) {
		t.Fatalf("ARP for v4 delivered to %v, want the answer back to v1 only\n%s", r.Ports(), r)
	}
	p := r.Outputs[0].Packet
	for _, c := range []struct {
		f    pipeline.Field
		want []byte
	}{
		{pipeline.FieldEthDst, mustMAC(mac1)}, {pipeline.FieldEthSrc, mustMAC(mac4)},
		{pipeline.FieldARPSHA, mustMAC(mac4)}, {pipeline.FieldARPTHA, mustMAC(mac1)},
		{pipeline.FieldARPSPA, net.ParseIP("10.0.0.4").To4()}, {pipeline.FieldARPTPA, net.ParseIP("10.0.0.1").To4()},
	} {
		if got := p[c.f]; !bytes.Equal(got, c.want) {
			t.Errorf("answer's %s = %x, want %x", c.f, got, c.want)
		}
	}
	if op := p.Get(pipeline.FieldARPOp); op != 2 {
		t.Errorf("answer's arp_op = %d, want 2", op)
	}
}

func TestARPNotAnswered(t *testing.T) {
	unicast := arp(1, mac1, mac1, "10.0.0.1", "10.0.0.2").SetMAC(pipeline.FieldEthDst, mac2)
	for _, tc := range []struct {
		name string
		pkt  sim.Packet
		want []uint32
	}{
		{"the owner's own request (an address probe) floods", arp(2, mac2, mac2, "10.0.0.2", "10.0.0.2"), []uint32{10, 1, 3, 5}},
		{"a unicast request goes to its target", unicast, []uint32{2}},
		{"a request for an unknown address floods", arp(1, mac1, mac1, "10.0.0.1", "10.0.0.99"), []uint32{10, 2, 3, 5}},
		{"a port taking unknown unicast answers itself", arp(1, mac1, mac1, "10.0.0.1", "10.0.0.5"), []uint32{10, 2, 3, 5}},
		{"a disabled port's address is not answered", arp(1, mac1, mac1, "10.0.0.1", "10.0.0.6"), []uint32{10, 2, 3, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, rspModel(), tc.pkt)
			if got := r.Ports(); !equalPorts(got, tc.want) {
				t.Fatalf("delivered to %v, want %v\n%s", got, tc.want, r)
			}
		})
	}
}

// A solicitation for a known IPv6 address goes to chainwired with the
// answer's MAC and address, and nowhere else; DAD probes and the owner's
// own solicitations go on.
func TestNDSolicitationToChainwired(t *testing.T) {
	ns := func(in uint32, src, ip6src, target string) sim.Packet {
		p := ip6(in, src, "33:33:ff:00:00:04", ip6src, "ff02::1:ff00:4").Set(pipeline.FieldIPProto, 58).
			Set(pipeline.FieldIPTTL, 255).Set(pipeline.FieldICMPv6Type, 135).SetMAC(pipeline.FieldNDSLL, src)
		p[pipeline.FieldNDTarget] = net.ParseIP(target).To16()
		return p
	}
	in := rspModel()
	in.Model.Ports[3].Addresses = []string{mac4 + " 10.0.0.4 fd00::4"}
	r := run(t, in, ns(1, mac1, "fd00::1", "fd00::4"))
	want := append(append([]byte{pipeline.OpNDAdvert}, mustMAC(mac4)...), net.ParseIP("fd00::4").To16()...)
	if len(r.Outputs) != 0 || len(r.ToController) != 1 || !bytes.Equal(r.ToController[0], want) {
		t.Fatalf("NS for v4: delivered to %v, to chainwired %x, want only chainwired with %x\n%s", r.Ports(), r.ToController, want, r)
	}
	if r := run(t, in, ns(1, mac1, "::", "fd00::4")); len(r.ToController) != 0 || len(r.Outputs) == 0 {
		t.Errorf("a DAD probe went to chainwired %x or nowhere (%v)\n%s", r.ToController, r.Ports(), r)
	}
}

func mustMAC(s string) []byte {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}
