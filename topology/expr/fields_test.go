package expr

import (
	"fmt"
	"strings"
	"testing"
)

var testNames = &Names{
	Ports:      map[string]uint32{"vm1": 1, "vm2": 2, "vnf": 32767},
	PortGroups: map[string][]uint32{"web": {1, 2}, "none": {}},
	AddressSets: map[string][]string{"admins": {"10.0.0.1", "10.0.0.2", "10.0.1.0/24"}, "web_ip4": {"10.0.0.1", "10.0.0.2"},
		"v6": {"fd00::1"}, "macs": {"02:00:00:00:00:01"}},
}

var env = &Env{Resolver: testNames}

// Golden Terms output of each field and predicate OVN defines, with its
// width and prerequisites.
func TestFieldsGolden(t *testing.T) {
	const ip4, ip6 = "eth.type=0x0800", "eth.type=0x86dd"
	for _, tc := range []struct{ expr, want string }{
		{`inport == "vm1"`, "inport=0x0001"},
		{`outport == "vnf"`, "outport=0x7fff"},
		{`inport == @web`, "inport={0x0001,0x0002}"},
		{`inport != "vm1"`, "inport={0x0000,0x0002/0x7ffe,0x0004/0x7ffc,0x0008/0x7ff8,0x0010/0x7ff0,0x0020/0x7fe0,0x0040/0x7fc0,0x0080/0x7f80,0x0100/0x7f00,0x0200/0x7e00,0x0400/0x7c00,0x0800/0x7800,0x1000/0x7000,0x2000/0x6000,0x4000/0x4000}"},
		{`ip4.src == $admins`, ip4 + " ip4.src={0x0a000001,0x0a000002,0x0a000100/0xffffff00}"},
		{`ip4.src == $web_ip4 && ip6`, "false"},
		{`ip6.dst == $v6`, ip6 + " ip6.dst=0xfd000000000000000000000000000001"},
		{`eth.src == $macs`, "eth.src=0x020000000001"},
		{"eth.bcast", "eth.dst=0xffffffffffff"},
		{"eth.mcast", "eth.dst=0x010000000000/0x010000000000"},
		{"!eth.mcast", "eth.dst=0x000000000000/0x010000000000"},
		{"vlan.present", "vlan.tci=0x1000/0x1000"},
		{"ip4 && ip.ttl == 1", ip4 + " ip.ttl=0x01"},
		{"ip4 && ip.dscp == 46", ip4 + " ip.dscp=0x2e"},
		{"ip4 && ip.frag == 1", ip4 + " ip.frag=0x01"},
		{"ip4 && ip.is_frag", ip4 + " ip.frag=0x01/0x01"},
		{"icmp4.code == 3", ip4 + " ip.proto=0x01 icmp4.code=0x03"},
		{"icmp6.code == 0", ip6 + " ip.proto=0x3a icmp6.code=0x00"},
		{"arp.op == 1", "eth.type=0x0806 arp.op=0x0001"},
		{"arp.sha == 02:00:00:00:00:01", "eth.type=0x0806 arp.sha=0x020000000001"},
		{"arp.tha == 02:00:00:00:00:01", "eth.type=0x0806 arp.tha=0x020000000001"},
		{"arp.spa == 10.0.0.0/8", "eth.type=0x0806 arp.spa=0x0a000000/0xff000000"},
		{"arp.tpa == 10.0.0.1", "eth.type=0x0806 arp.tpa=0x0a000001"},
		{"nd", ip6 + " ip.proto=0x3a icmp6.type=0x87 ip.ttl=0xff icmp6.code=0x00 | " + ip6 + " ip.proto=0x3a icmp6.type=0x88 ip.ttl=0xff icmp6.code=0x00"},
		{"nd_ns", ip6 + " ip.proto=0x3a icmp6.type=0x87 ip.ttl=0xff icmp6.code=0x00"},
		{"nd_na", ip6 + " ip.proto=0x3a icmp6.type=0x88 ip.ttl=0xff icmp6.code=0x00"},
		{"nd_rs", ip6 + " ip.proto=0x3a icmp6.type=0x85 ip.ttl=0xff icmp6.code=0x00"},
		{"nd_ra", ip6 + " ip.proto=0x3a icmp6.type=0x86 ip.ttl=0xff icmp6.code=0x00"},
		{"nd.target == fd00::1", ip6 + " ip.proto=0x3a icmp6.type=0x87 ip.ttl=0xff icmp6.code=0x00 nd.target=0xfd000000000000000000000000000001 | " +
			ip6 + " ip.proto=0x3a icmp6.type=0x88 ip.ttl=0xff icmp6.code=0x00 nd.target=0xfd000000000000000000000000000001"},
		{"nd.sll == 02:00:00:00:00:01", ip6 + " ip.proto=0x3a icmp6.type=0x87 ip.ttl=0xff icmp6.code=0x00 nd.sll=0x020000000001"},
		{"nd.tll == 02:00:00:00:00:01", ip6 + " ip.proto=0x3a icmp6.type=0x88 ip.ttl=0xff icmp6.code=0x00 nd.tll=0x020000000001"},
		{"ip4.mcast", "eth.dst=0x010000000000/0x010000000000 " + ip4 + " ip4.dst=0xe0000000/0xf0000000"},
		{"ip6.mcast", "eth.dst=0x333300000000/0xffff00000000 " + ip6 + " ip6.dst=0xff000000000000000000000000000000/0xff000000000000000000000000000000"},
		{"ip4 && sctp.dst == 80", ip4 + " ip.proto=0x84 sctp.dst=0x0050"},
		{"ip4 && tcp.flags == 0x002/0x017", ip4 + " ip.proto=0x06 tcp.flags=0x0002/0x0017"},
		{"ct.new", "ct_state=0x00000021/0x00000021"},
		{"!ct.new", "ct_state=0x00000020/0x00000021"},
		{"ct.est && !ct.rpl", "ct_state=0x00000022/0x0000002a"},
		{"ct.trk && !ct.inv", "ct_state=0x00000020/0x00000030"},
		{"ct.rel", "ct_state=0x00000024/0x00000024"},
		{"!ct.trk", "ct_state=0x00000000/0x00000020"},
		{"ct_mark.blocked", "ct_mark=0x00000001/0x00000001"},
		{"ct_mark.blocked == 0", "ct_mark=0x00000000/0x00000001"},
		{"ct_mark == 7", "ct_mark=0x00000007"},
		{"ct_label == 0x10000000000000000/0x10000000000000000", "ct_label=0x00000000000000010000000000000000/0x00000000000000010000000000000000"},
	} {
		e, err := CompileEnv(tc.expr, &Env{Resolver: testNames, EmptyOK: true})
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if got := e.String(); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.expr, got, tc.want)
		}
	}
}

// Large sets stay one Alt each, whatever their size, so that the
// renderer makes a conjunctive match; != against them is linear too.
func TestLargeSetsStayOneAlt(t *testing.T) {
	names := &Names{Ports: map[string]uint32{}, PortGroups: map[string][]uint32{}, AddressSets: map[string][]string{}}
	var pg []uint32
	var as []string
	for i := 1; i <= 1000; i++ {
		as = append(as, scattered(i))
		if i <= 500 {
			pg = append(pg, uint32(2*i))
		}
	}
	names.PortGroups["pg"], names.AddressSets["as"] = pg, as
	e, err := CompileEnv("inport == @pg && ip4.src == $as && tcp.dst == {80, 443, 8080}", &Env{Resolver: names})
	if err != nil {
		t.Fatal(err)
	}
	terms := e.Terms()
	if len(terms) != 1 || len(terms[0].Alts) != 3 {
		t.Fatalf("%d terms, first with %d alts", len(terms), len(terms[0].Alts))
	}
	for _, a := range terms[0].Alts {
		want := map[Field]int{InPort: 500, IP4Src: 1000, TCPDst: 3}[a.Field]
		if len(a.Values) != want {
			t.Errorf("%s: %d values, want %d", a.Field, len(a.Values), want)
		}
	}
	if n := e.Flows(); n != 1504 {
		t.Errorf("%d flows, want 500+1000+3+1", n)
	}
	ne, err := CompileEnv("ip4.dst != $as", &Env{Resolver: names})
	if err != nil {
		t.Fatal(err)
	}
	if ts := ne.Terms(); len(ts) != 1 || len(ts[0].Alts) != 1 {
		t.Fatalf("ip4.dst != $as: %d terms", len(ts))
	}
}

func TestResolverErrors(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{`inport == "vm9"`, `column 11: unknown port "vm9"`},
		{`ip4 && outport == {"vm1", "nope"}`, `column 27: unknown port "nope"`},
		{`inport == @pg9`, `column 11: unknown port group "pg9"`},
		{`ip4.src == $as9`, `column 12: unknown address set "as9"`},
		{`ip6.src == $admins`, `column 12: address set "admins" holds "10.0.0.1", which is not an IPv6 address or prefix`},
		{`tcp.dst == $admins`, `column 12: tcp.dst takes a number, not the address set "$admins"`},
		{`ip4.src == @web`, `column 12: ip4.src takes an IPv4 address or prefix, not the port group "@web"`},
		{`inport == vm1`, `column 11: inport takes a quoted port name or @port_group, not "vm1"`},
		{`tcp.dst == "vm1"`, `column 12: tcp.dst takes a number, not the string "\"vm1\""`},
		{`inport < "vm1"`, `column 1: ports compare with == or != only, not <`},
		{`inport == @none`, `the expression can never match`},
	} {
		_, err := CompileEnv(tc.expr, env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.expr, err, tc.want)
		}
	}
	if e, err := CompileEnv(`inport == @none`, &Env{Resolver: testNames, EmptyOK: true}); err != nil || len(e.Terms()) != 0 {
		t.Errorf("an empty port group with EmptyOK: %v, %v", e, err)
	}
	if e, err := CompileEnv(`inport != @none`, env); err != nil || e.String() != "true" {
		t.Errorf("inport != an empty port group: %v, %v", e, err)
	}
}

// Classifier matches (Compile) cannot name ports, port groups or
// address sets.
func TestNamesNotAllowedInClassifiers(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{`inport == "vm1"`, `column 1: inport is not allowed here`},
		{`ip4 && outport == "vm1"`, `column 8: outport is not allowed here`},
		{`ip4.src == $as`, `column 12: address set "$as" is not allowed here`},
		{`tcp.dst == 1 || inport == @pg`, `column 17: inport is not allowed here`},
	} {
		if err := Check(tc.expr); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.expr, err, tc.want)
		}
	}
}

// Conntrack bits are bits of ct_state: a negated one is the bit clear,
// never a complement over other fields, and ct.trk comes along.
func TestConntrackBits(t *testing.T) {
	e, err := Compile("ip4 && !ct.new && ct.est")
	if err != nil {
		t.Fatal(err)
	}
	ts := e.Terms()
	if len(ts) != 1 || len(ts[0].Alts) != 0 {
		t.Fatalf("terms %v", e)
	}
	if got := fmt.Sprint(ts[0].Fixed[CTState]); got != "0x00000022/0x00000023" {
		t.Errorf("ct_state %s", got)
	}
}

// A port a Resolver knows without a key (a port of another datapath)
// matches nothing.
func TestPortWithoutKeyMatchesNothing(t *testing.T) {
	names := &Names{Ports: map[string]uint32{"here": 3, "elsewhere": 0}}
	for _, c := range []struct{ expr, want string }{
		{`inport == "elsewhere"`, "false"},
		{`inport == {"here", "elsewhere"}`, "inport=0x0003"},
		{`inport != "elsewhere"`, "true"},
	} {
		e, err := CompileEnv(c.expr, &Env{Resolver: names, EmptyOK: true})
		if err != nil || e.String() != c.want {
			t.Errorf("%s: %v, %v; want %s", c.expr, e, err, c.want)
		}
	}
}
