package pipeline_test

import (
	"fmt"
	"testing"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/pipeline/sim"
	"github.com/chainwire/chainwire/topology"
)

// aclModel: switch A with p1, p2, p3 (local, zones 1..3) and switch B with
// p4; ACLs as given.
func aclModel(acls ...topology.ACL) pipeline.Input {
	m := &topology.Model{
		Switches: []topology.Switch{{Name: "A", Key: 1}, {Name: "B", Key: 2}},
		Ports: []topology.Port{
			{Name: "p1", Switch: "A", Key: 1, Addresses: []string{mac1 + " 10.0.0.1"}},
			{Name: "p2", Switch: "A", Key: 2, Addresses: []string{mac2 + " 10.0.0.2"}},
			{Name: "p3", Switch: "A", Key: 3, Addresses: []string{mac3 + " 10.0.0.3"}},
			{Name: "p4", Switch: "B", Key: 1, Addresses: []string{mac4 + " 10.0.0.4"}},
		},
		PortGroups:  []topology.PortGroup{{Name: "web", Ports: []string{"p2", "p3"}}},
		AddressSets: []topology.AddressSet{{Name: "admins", Addresses: []string{"10.0.0.1", "10.9.0.0/16"}}},
		ACLs:        acls,
	}
	for i := range m.ACLs {
		m.ACLs[i].Key = uint32(i + 1)
		if m.ACLs[i].Name == "" {
			m.ACLs[i].Name = "acl" + string(rune('a'+i))
		}
	}
	m.Normalize()
	return pipeline.Input{Model: m, Chassis: "hv1", OFPorts: map[string]uint32{"p1": 1, "p2": 2, "p3": 3, "p4": 4},
		Zones: map[string]uint16{"p1": 1, "p2": 2, "p3": 3, "p4": 4}}
}

// sshOnlyToWeb: the web group takes TCP from admins on port 22 only;
// replies come back; nothing else reaches it.
var sshOnlyToWeb = []topology.ACL{
	{PortGroup: "web", Direction: topology.ToLport, Priority: 1000, Match: `outport == @web && ip4.src == $admins && tcp.dst == 22`,
		Action: topology.ACLAllowRelated},
	{PortGroup: "web", Direction: topology.ToLport, Priority: 900, Match: `outport == @web && ip4`, Action: topology.ACLDrop},
}

func TestGoldenACLs(t *testing.T) {
	golden(t, "acls", render(t, aclModel(sshOnlyToWeb...)))
}

func tcpSeg(in uint32, src, dst, ipSrc, ipDst string, sport, dport, flags uint64) sim.Packet {
	return ip4(in, src, dst, ipSrc, ipDst).Set(pipeline.FieldIPProto, 6).
		Set(pipeline.FieldTCPSrc, sport).Set(pipeline.FieldTCPDst, dport).Set(pipeline.FieldTCPFlags, flags)
}

const (
	syn    = 0x002
	ack    = 0x010
	synAck = syn | ack
)

func TestStatefulACLs(t *testing.T) {
	sw, err := sim.New(render(t, aclModel(sshOnlyToWeb...)))
	if err != nil {
		t.Fatal(err)
	}
	send := func(what string, p sim.Packet, want ...uint32) {
		t.Helper()
		r, err := sw.Run(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Ports(); !equalPorts(got, want) {
			t.Errorf("%s: delivered to %v, want %v\n%s", what, got, want, r)
		}
	}
	send("ssh from an admin to p2", tcpSeg(1, mac1, mac2, "10.0.0.1", "10.0.0.2", 40000, 22, syn), 2)
	send("p2's answer", tcpSeg(2, mac2, mac1, "10.0.0.2", "10.0.0.1", 22, 40000, synAck), 1)
	send("the admin's ack", tcpSeg(1, mac1, mac2, "10.0.0.1", "10.0.0.2", 40000, 22, ack), 2)
	send("http from an admin to p2", tcpSeg(1, mac1, mac2, "10.0.0.1", "10.0.0.2", 40001, 80, syn))
	send("ssh to p3 from a non-admin", tcpSeg(2, mac2, mac3, "10.0.0.2", "10.0.0.3", 40002, 22, syn))
	send("p2 opens to p1 (no ACL there)", tcpSeg(2, mac2, mac1, "10.0.0.2", "10.0.0.1", 50000, 80, syn), 1)
	send("p1 answers p2", tcpSeg(1, mac1, mac2, "10.0.0.1", "10.0.0.2", 80, 50000, synAck), 2)
	send("a segment of no connection is invalid", tcpSeg(1, mac1, mac2, "10.0.0.1", "10.0.0.2", 40009, 22, ack))
}

// An established connection that a changed ACL now drops stops, in both
// directions; allowing it again restores it. (A third, unrelated
// allow-related ACL keeps the switch stateful throughout: without one, it
// matches statelessly, and replies towards p1 meet no ACL at all.)
func TestDropACLBlocksEstablished(t *testing.T) {
	in := aclModel(append(sshOnlyToWeb[:2:2], topology.ACL{Switch: "A", Direction: topology.FromLport, Priority: 1,
		Match: `inport == "p3" && icmp4`, Action: topology.ACLAllowRelated})...)
	sw, err := sim.New(render(t, in))
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := sw.Run(tcpSeg(1, mac1, mac2, "10.0.0.1", "10.0.0.2", 40000, 22, syn)); len(r.Ports()) != 1 {
		t.Fatalf("ssh not allowed to start:\n%s", r)
	}
	in.Model.ACLs[0].Action = topology.ACLDrop
	if err := sw.Load(render(t, in)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []sim.Packet{tcpSeg(1, mac1, mac2, "10.0.0.1", "10.0.0.2", 40000, 22, ack),
		tcpSeg(2, mac2, mac1, "10.0.0.2", "10.0.0.1", 22, 40000, ack)} {
		if r, _ := sw.Run(p); len(r.Ports()) != 0 {
			t.Errorf("the dropped connection still passes:\n%s", r)
		}
	}
	in.Model.ACLs[0].Action = topology.ACLAllowRelated
	if err := sw.Load(render(t, in)); err != nil {
		t.Fatal(err)
	}
	if r, _ := sw.Run(tcpSeg(1, mac1, mac2, "10.0.0.1", "10.0.0.2", 40000, 22, ack)); len(r.Ports()) != 1 {
		t.Errorf("the connection allowed again does not pass:\n%s", r)
	}
	if r, _ := sw.Run(tcpSeg(2, mac2, mac1, "10.0.0.2", "10.0.0.1", 22, 40000, ack)); len(r.Ports()) != 1 {
		t.Errorf("its replies do not pass:\n%s", r)
	}
}

// Without allow-related ACLs a switch matches statelessly; a from-lport
// drop on the source stops traffic at once.
func TestStatelessACLs(t *testing.T) {
	in := aclModel(
		topology.ACL{Switch: "A", Direction: topology.FromLport, Priority: 10, Match: `inport == "p1" && udp`, Action: topology.ACLDrop},
		topology.ACL{Switch: "A", Direction: topology.FromLport, Priority: 20, Match: `inport == "p1" && udp.dst == 53`, Action: topology.ACLAllow},
	)
	udp := func(dport uint64) sim.Packet {
		return ip4(1, mac1, mac2, "10.0.0.1", "10.0.0.2").Set(pipeline.FieldIPProto, 17).Set(pipeline.FieldUDPDst, dport)
	}
	for _, tc := range []struct {
		what string
		p    sim.Packet
		want []uint32
	}{
		{"udp from p1", udp(9), nil},
		{"dns from p1 (higher priority allow)", udp(53), []uint32{2}},
		{"tcp from p1", tcpSeg(1, mac1, mac2, "10.0.0.1", "10.0.0.2", 1, 2, syn), []uint32{2}},
		{"udp from p3", ip4(3, mac3, mac2, "10.0.0.3", "10.0.0.2").Set(pipeline.FieldIPProto, 17), []uint32{2}},
	} {
		r := run(t, in, tc.p)
		if got := r.Ports(); !equalPorts(got, tc.want) {
			t.Errorf("%s: delivered to %v, want %v\n%s", tc.what, got, tc.want, r)
		}
		for _, hit := range r.Trace {
			if hit == "recirc" {
				t.Errorf("%s went through conntrack on a stateless switch", tc.what)
			}
		}
	}
}

// A VNF's frames skip the ACLs: they were checked on their workload's
// hop (see chain_test.go for the walk).
func TestACLsLeaveOtherSwitchesAlone(t *testing.T) {
	r := run(t, aclModel(sshOnlyToWeb...), tcpSeg(4, mac4, "02:00:00:00:00:99", "10.0.0.4", "10.0.0.9", 1, 22, syn))
	for _, hit := range r.Trace {
		if hit == "recirc" {
			t.Errorf("switch B, which has no ACLs, tracked a packet:\n%s", r)
		}
	}
}

// A reject ACL hands the packet to chainwired (which answers it); --log
// sends a copy with the ACL's name and verdict, and the verdict holds.
func TestRejectAndLog(t *testing.T) {
	in := aclModel(
		topology.ACL{Name: "no-ssh", Switch: "A", Direction: topology.ToLport, Priority: 10, Match: `tcp.dst == 22`,
			Action: topology.ACLReject, Log: true},
		topology.ACL{Name: "web", Switch: "A", Direction: topology.ToLport, Priority: 10, Match: `tcp.dst == 80`,
			Action: topology.ACLAllowRelated, Log: true},
	)
	r := run(t, in, tcpSeg(1, mac1, mac2, "10.0.0.1", "10.0.0.2", 40000, 22, syn))
	if len(r.Ports()) != 0 || len(r.ToController) != 2 || r.ToController[0][0] != pipeline.OpLogACL ||
		string(r.ToController[0][2:]) != "no-ssh" || pipeline.VerdictName(r.ToController[0][1]) != "reject" ||
		r.ToController[1][0] != pipeline.OpReject {
		t.Errorf("rejected ssh: delivered to %v, to chainwired %q\n%s", r.Ports(), r.ToController, r)
	}
	r = run(t, in, tcpSeg(1, mac1, mac2, "10.0.0.1", "10.0.0.2", 40000, 80, syn))
	if !equalPorts(r.Ports(), []uint32{2}) || len(r.ToController) != 1 || string(r.ToController[0][2:]) != "web" {
		t.Errorf("logged http: delivered to %v, to chainwired %q\n%s", r.Ports(), r.ToController, r)
	}
}

// A QoS rule marks DSCP on matching traffic of its direction only; a
// rule with a rate passes its traffic, any protocol, through its meter.
func TestQoSMarksDSCPAndMeters(t *testing.T) {
	dscp := 46
	in := aclModel()
	in.Model.QoS = []topology.QoS{{Name: "qos1", Key: 1, Switch: "A", Direction: topology.FromLport, Priority: 100,
		Match: `inport == "p1" && udp`, DSCP: &dscp},
		{Name: "qos2", Key: 2, Switch: "A", Direction: topology.ToLport, Priority: 10, Match: `outport == "p2"`, Rate: 1000, Burst: 100}}
	tables := render(t, in)
	// The QoS rule's meter, the controller path's and the probes'.
	if len(tables.Meters) != 3 || tables.Meters[0].Rate != 1000 || tables.Meters[0].Burst != 100 || tables.Meters[0].Pktps ||
		tables.Meters[1].ID != pipeline.ControllerMeterID || !tables.Meters[1].Pktps || tables.Meters[2].ID != pipeline.ProbeMeterID {
		t.Fatalf("meters %v, want one of 1000 kbps, burst 100 kb, the controller meter and the probes'", tables.Meters)
	}
	meter := tables.Meters[0].ID
	// A broadcast ARP request (for no known address: it is not answered)
	// floods to p2 and p3; only p2's copy is metered.
	arp := arp(1, mac1, mac1, "10.0.0.1", "10.0.0.99")
	if r := run(t, in, arp); !equalPorts(r.Ports(), []uint32{2, 3}) || len(r.Meters) != 1 || r.Meters[0] != meter {
		t.Fatalf("ARP request: delivered to %v through meters %v, want p2 and p3 through %d once\n%s", r.Ports(), r.Meters, meter, r)
	}
	udp := ip4(1, mac1, mac2, "10.0.0.1", "10.0.0.2").Set(pipeline.FieldIPProto, 17)
	r := run(t, in, udp)
	if len(r.Outputs) != 1 || r.Outputs[0].Packet.Get(pipeline.FieldIPDSCP) != 46 {
		t.Fatalf("udp from p1 left with DSCP %v\n%s", r.Outputs, r)
	}
	r = run(t, in, tcpSeg(1, mac1, mac2, "10.0.0.1", "10.0.0.2", 1, 2, syn))
	if len(r.Outputs) != 1 || r.Outputs[0].Packet.Get(pipeline.FieldIPDSCP) != 0 {
		t.Fatalf("tcp from p1 was marked\n%s", r)
	}
	golden(t, "qos", tables)
}

// An address set of 1,000 IPs against three ports renders as a
// conjunctive match: 1,000 + 3 clause flows and one conj_id flow per ct
// state form, not 3,000 flows each.
func TestLargeAddressSetIsConjunctive(t *testing.T) {
	in := aclModel(topology.ACL{PortGroup: "web", Direction: topology.ToLport, Priority: 100,
		Match: `outport == @web && ip4.src == $big && tcp.dst == {22, 80, 443}`, Action: topology.ACLAllowRelated})
	var big []string
	for i := 0; i < 1000; i++ {
		big = append(big, fmt.Sprintf("10.%d.%d.1", 100+i/250, i%250))
	}
	in.Model.AddressSets = append(in.Model.AddressSets, topology.AddressSet{Name: "big", Addresses: big})
	in.Model.Normalize()
	forms := map[string]int{}
	for _, f := range render(t, in).Flows {
		if f.Cookie == pipeline.MakeCookie(pipeline.FeatureACL, pipeline.KindACL, 1) {
			ct, _ := f.Match.Get(pipeline.FieldCtState)
			label, _ := f.Match.Get(pipeline.FieldCtLabel)
			forms[fmt.Sprintf("ct_state=%#x/%#x,ct_label=%#x/%#x", ct.Uint(), ct.MaskUint(), label.Uint(), label.MaskUint())]++
		}
	}
	// Four forms: new, established (blocked and not), untracked.
	if len(forms) != 4 {
		t.Fatalf("ACL flows by ct_state form: %v, want 4 forms", forms)
	}
	for form, n := range forms {
		if n != 1000+3+1 {
			t.Errorf("%s: %d flows, want 1004 (a conjunction of 1000 sources and 3 ports)", form, n)
		}
	}
}
