package pipeline_test

import (
	"net"
	"testing"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/pipeline/sim"
	"github.com/chainwire/chainwire/topology"
)

// secModel: switch A with v1 (port security MAC, one IPv4 and one IPv6
// address), v2 (MAC and a /24 given by a host address), v3 (MAC only) and
// v4 (no port security), all local on OpenFlow ports 1..4.
func secModel() pipeline.Input {
	return pipeline.Input{
		Model: &topology.Model{
			Switches: []topology.Switch{{Name: "A", Key: 1}},
			Ports: []topology.Port{
				{Name: "v1", Switch: "A", Key: 1, Addresses: []string{mac1 + " 10.0.0.1 fd00::1"},
					PortSecurity: []string{mac1 + " 10.0.0.1 fd00::1"}},
				{Name: "v2", Switch: "A", Key: 2, Addresses: []string{mac2 + " 10.0.0.2"},
					PortSecurity: []string{mac2 + " 10.0.0.2/24"}},
				{Name: "v3", Switch: "A", Key: 3, Addresses: []string{mac3 + " 10.0.0.3"}, PortSecurity: []string{mac3}},
				{Name: "v4", Switch: "A", Key: 4, Addresses: []string{mac4 + " 10.0.0.4"}},
			},
		},
		Chassis: "hv1",
		OFPorts: map[string]uint32{"v1": 1, "v2": 2, "v3": 3, "v4": 4},
	}
}

func TestGoldenPortSecurity(t *testing.T) {
	golden(t, "portsec", render(t, secModel()))
}

func ip4(inPort uint32, src, dst, ipSrc, ipDst string) sim.Packet {
	p := sim.Frame(inPort, src, dst)
	p[pipeline.FieldIPv4Src] = net.ParseIP(ipSrc).To4()
	p[pipeline.FieldIPv4Dst] = net.ParseIP(ipDst).To4()
	return p
}

func ip6(inPort uint32, src, dst, ipSrc, ipDst string) sim.Packet {
	p := sim.Frame(inPort, src, dst).Set(pipeline.FieldEthType, 0x86dd)
	p[pipeline.FieldIPv6Src] = net.ParseIP(ipSrc).To16()
	p[pipeline.FieldIPv6Dst] = net.ParseIP(ipDst).To16()
	return p
}

func arp(inPort uint32, src, sha, spa, tpa string) sim.Packet {
	p := sim.Frame(inPort, src, "ff:ff:ff:ff:ff:ff").Set(pipeline.FieldEthType, 0x0806).
		Set(pipeline.FieldARPOp, 1).SetMAC(pipeline.FieldARPSHA, sha)
	p[pipeline.FieldARPSPA] = net.ParseIP(spa).To4()
	p[pipeline.FieldARPTPA] = net.ParseIP(tpa).To4()
	return p
}

// na is a neighbour advertisement to all nodes, from v1's link-local
// address.
func na(inPort uint32, src, tll, target string) sim.Packet {
	p := ip6(inPort, src, "33:33:00:00:00:01", "fe80::ff:fe00:1", "ff02::1").Set(pipeline.FieldIPProto, 58).
		Set(pipeline.FieldIPTTL, 255).Set(pipeline.FieldICMPv6Type, 136).SetMAC(pipeline.FieldNDTLL, tll)
	p[pipeline.FieldNDTarget] = net.ParseIP(target).To16()
	return p
}

func TestIPAndNeighbourSecurity(t *testing.T) {
	dhcp := ip4(1, mac1, "ff:ff:ff:ff:ff:ff", "0.0.0.0", "255.255.255.255").
		Set(pipeline.FieldIPProto, 17).Set(pipeline.FieldUDPSrc, 68).Set(pipeline.FieldUDPDst, 67)
	dad := ip6(1, mac1, "33:33:ff:00:00:01", "::", "ff02::1:ff00:1").Set(pipeline.FieldIPProto, 58).
		Set(pipeline.FieldIPTTL, 255).Set(pipeline.FieldICMPv6Type, 135)
	for _, tc := range []struct {
		name string
		pkt  sim.Packet
		want []uint32
	}{
		{"v1 from its own IPv4 address", ip4(1, mac1, mac4, "10.0.0.1", "10.0.0.4"), []uint32{4}},
		{"v1 from another IPv4 address is dropped", ip4(1, mac1, mac4, "10.0.0.99", "10.0.0.4"), nil},
		{"v1 from an outside address is dropped", ip4(1, mac1, mac4, "8.8.8.8", "10.0.0.4"), nil},
		{"v1's DHCP discover from 0.0.0.0 floods", dhcp, []uint32{2, 3, 4}},
		{"v1 from its IPv6 address", ip6(1, mac1, mac4, "fd00::1", "fd00::4"), []uint32{4}},
		{"v1 from its link-local address", ip6(1, mac1, mac4, "fe80::ff:fe00:1", "fe80::4"), []uint32{4}},
		{"v1 from another IPv6 address is dropped", ip6(1, mac1, mac4, "fd00::99", "fd00::4"), nil},
		{"v1's duplicate address detection", dad, []uint32{2, 3, 4}},
		{"v2 (10.0.0.2/24) only from 10.0.0.2", ip4(2, mac2, mac4, "10.0.0.2", "10.0.0.4"), []uint32{4}},
		{"v2 not from the rest of its /24", ip4(2, mac2, mac4, "10.0.0.7", "10.0.0.4"), nil},
		{"v2 (IPv4 only) sends no IPv6", ip6(2, mac2, mac4, "fe80::ff:fe00:2", "fe80::4"), nil},
		{"v3 (MAC only) sends from any IP", ip4(3, mac3, mac4, "10.9.9.9", "10.0.0.4"), []uint32{4}},
		{"v4 (no port security) sends from any IP", ip4(4, mac4, mac3, "10.9.9.9", "10.0.0.3"), []uint32{3}},
		{"v1's own ARP", arp(1, mac1, mac1, "10.0.0.1", "10.0.0.99"), []uint32{2, 3, 4}},
		{"a gratuitous ARP for v4's IP from v1 is dropped", arp(1, mac1, mac1, "10.0.0.4", "10.0.0.4"), nil},
		{"an ARP with another sender MAC from v1 is dropped", arp(1, mac1, mac4, "10.0.0.1", "10.0.0.4"), nil},
		{"v3 (MAC only) ARPs for any IP with its MAC", arp(3, mac3, mac3, "10.0.0.77", "10.0.0.99"), []uint32{1, 2, 4}},
		{"v3's ARP with another sender MAC is dropped", arp(3, mac3, mac1, "10.0.0.3", "10.0.0.4"), nil},
		{"v4 (no port security) may ARP anything", arp(4, mac4, mac1, "10.0.0.1", "10.0.0.99"), []uint32{1, 2, 3}},
		{"v1 advertises its own address", na(1, mac1, mac1, "fd00::1"), []uint32{2, 3, 4}},
		{"v1 advertising v4's address is dropped", na(1, mac1, mac1, "fd00::4"), nil},
		{"v1 advertising another MAC is dropped", na(1, mac1, mac4, "fd00::1"), nil},
		{"to v1's address", ip4(4, mac4, mac1, "10.0.0.4", "10.0.0.1"), []uint32{1}},
		{"not to another address behind v1's MAC", ip4(4, mac4, mac1, "10.0.0.4", "10.0.0.50"), nil},
		{"to v2's subnet broadcast", ip4(4, mac4, mac2, "10.0.0.4", "10.0.0.255"), []uint32{2}},
		{"not to the rest of v2's /24", ip4(4, mac4, mac2, "10.0.0.4", "10.0.0.9"), nil},
		{"multicast to v1's MAC", ip4(4, mac4, mac1, "10.0.0.4", "224.0.0.251"), []uint32{1}},
		{"IPv6 to v1's address", ip6(4, mac4, mac1, "fd00::4", "fd00::1"), []uint32{1}},
		{"IPv6 to another address behind v1's MAC", ip6(4, mac4, mac1, "fd00::4", "fd00::2"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, secModel(), tc.pkt)
			if got := r.Ports(); !equalPorts(got, tc.want) {
				t.Fatalf("delivered to %v, want %v\n%s", got, tc.want, r)
			}
		})
	}
}

func equalPorts(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
