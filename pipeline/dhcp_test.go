package pipeline_test

import (
	"bytes"
	"net"
	"testing"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/pipeline/sim"
	"github.com/chainwire/chainwire/topology"
)

// dhcpModel: secModel with DHCPv4 and DHCPv6 options on v1 and a DNS
// record on its switch.
func dhcpModel() pipeline.Input {
	in := secModel()
	m := in.Model
	m.DHCPOptions = []topology.DHCPOptions{
		{Name: "d4", CIDR: "10.0.0.0/24", Options: map[string]string{"server_id": "10.0.0.254", "server_mac": "02:00:00:00:00:fe",
			"lease_time": "3600", "router": "10.0.0.254", "dns_server": "{10.0.0.254, 10.0.0.253}"}},
		{Name: "d6", CIDR: "fd00::/64", Options: map[string]string{"server_id": "02:00:00:00:00:fe", "dns_server": "fd00::53"}},
	}
	m.Ports[0].DHCPv4Options, m.Ports[0].DHCPv6Options = "d4", "d6"
	m.DNSRecords = []topology.DNSRecord{{Switch: "A", Hostname: "vm1", Addresses: []string{"10.0.0.1", "fd00::1"}}}
	m.Normalize()
	return in
}

func TestGoldenDHCPAndDNS(t *testing.T) {
	golden(t, "dhcp", render(t, dhcpModel()))
}

func udp4(in uint32, src, dst, ipSrc, ipDst string, sport, dport uint64) sim.Packet {
	return ip4(in, src, dst, ipSrc, ipDst).Set(pipeline.FieldIPProto, 17).Set(pipeline.FieldUDPSrc, sport).Set(pipeline.FieldUDPDst, dport)
}

func TestDHCPRequestsToChainwired(t *testing.T) {
	discover := func(in uint32, mac string) sim.Packet {
		return udp4(in, mac, "ff:ff:ff:ff:ff:ff", "0.0.0.0", "255.255.255.255", 68, 67)
	}
	r := run(t, dhcpModel(), discover(1, mac1))
	if len(r.Outputs) != 0 || len(r.ToController) != 1 {
		t.Fatalf("v1's DISCOVER: delivered to %v, to chainwired %d times, want chainwired only\n%s", r.Ports(), len(r.ToController), r)
	}
	ud, err := pipeline.ParseDHCPv4Userdata(r.ToController[0])
	if err != nil || !ud.Offer.Equal(net.ParseIP("10.0.0.1")) || !ud.ServerIP.Equal(net.ParseIP("10.0.0.254")) ||
		ud.ServerMAC.String() != "02:00:00:00:00:fe" || !bytes.Contains(ud.Options, []byte{6, 8, 10, 0, 0, 254, 10, 0, 0, 253}) {
		t.Fatalf("userdata %+v (%v)", ud, err)
	}
	// v4 has no DHCP options: its DISCOVER floods, unanswered.
	if r := run(t, dhcpModel(), discover(4, mac4)); len(r.ToController) != 0 || len(r.Outputs) != 3 {
		t.Errorf("v4's DISCOVER: to chainwired %d, delivered to %v\n%s", len(r.ToController), r.Ports(), r)
	}
	solicit := ip6(1, mac1, "33:33:00:01:00:02", "fe80::ff:fe00:1", "ff02::1:2").Set(pipeline.FieldIPProto, 17).
		Set(pipeline.FieldUDPSrc, 546).Set(pipeline.FieldUDPDst, 547)
	r = run(t, dhcpModel(), solicit)
	if len(r.ToController) != 1 || len(r.Outputs) != 0 {
		t.Fatalf("v1's SOLICIT: to chainwired %d, delivered to %v\n%s", len(r.ToController), r.Ports(), r)
	}
	if ud, err := pipeline.ParseDHCPv6Userdata(r.ToController[0]); err != nil || !ud.Offer.Equal(net.ParseIP("fd00::1")) || ud.Stateless {
		t.Fatalf("DHCPv6 userdata %+v (%v)", ud, err)
	}
}

// DNS queries on a switch with records ask chainwired first and go on
// when it lets them (the simulator resumes every pause).
func TestDNSQueriesPaused(t *testing.T) {
	q := udp4(2, mac2, mac4, "10.0.0.2", "10.0.0.4", 40000, 53)
	r := run(t, dhcpModel(), q)
	if len(r.ToController) != 1 || r.ToController[0][0] != pipeline.OpDNS || r.Pauses != 1 || !equalPorts(r.Ports(), []uint32{4}) {
		t.Fatalf("query: to chainwired %x, pauses %d, delivered to %v\n%s", r.ToController, r.Pauses, r.Ports(), r)
	}
	if r := run(t, secModel(), q); len(r.ToController) != 0 {
		t.Errorf("a switch without records asked chainwired: %x", r.ToController)
	}
}
