package expr

// Field is a header or metadata field an expression can test.
type Field int

// The fields, with OVN's names (ovn-sb(5), Logical_Flow match). New ones
// are appended so that the numbers of the old ones stay put.
const (
	EthSrc Field = iota
	EthDst
	EthType
	IPProto
	IP4Src
	IP4Dst
	IP6Src
	IP6Dst
	TCPSrc
	TCPDst
	UDPSrc
	UDPDst
	ICMP4Type
	ICMP6Type
	InPort  // logical ingress port key (15 bits; reg14)
	OutPort // logical egress port key (16 bits, multicast keys included; reg15)
	VLANTCI
	IPDSCP // the 6-bit DSCP value, not shifted into the TOS byte
	IPECN
	IPTTL
	IPFrag // OVS's 2-bit nw_frag: bit 0 a fragment, bit 1 a later fragment
	ICMP4Code
	ICMP6Code
	ARPOp
	ARPSPA
	ARPTPA
	ARPSHA
	ARPTHA
	NDTarget
	NDSLL
	NDTLL
	TCPFlags // 12 bits
	SCTPSrc
	SCTPDst
	CTState // conntrack state bits, as OVS's ct_state
	CTMark
	CTLabel // 128 bits
	numFields
)

type kind int

const (
	kInt kind = iota
	kMAC
	kIP4
	kIP6
	kPort // a logical port, named by a quoted string or @port_group
)

// fieldDef is one field: its width, how its values are written, and the
// expression every test of it implies (OVN's prerequisites).
type fieldDef struct {
	name   string
	f      Field
	kind   kind
	bits   int
	prereq string
}

var fieldDefs = [numFields]fieldDef{
	{"eth.src", EthSrc, kMAC, 48, ""},
	{"eth.dst", EthDst, kMAC, 48, ""},
	{"eth.type", EthType, kInt, 16, ""},
	{"ip.proto", IPProto, kInt, 8, "ip"},
	{"ip4.src", IP4Src, kIP4, 32, "ip4"},
	{"ip4.dst", IP4Dst, kIP4, 32, "ip4"},
	{"ip6.src", IP6Src, kIP6, 128, "ip6"},
	{"ip6.dst", IP6Dst, kIP6, 128, "ip6"},
	{"tcp.src", TCPSrc, kInt, 16, "tcp"},
	{"tcp.dst", TCPDst, kInt, 16, "tcp"},
	{"udp.src", UDPSrc, kInt, 16, "udp"},
	{"udp.dst", UDPDst, kInt, 16, "udp"},
	{"icmp4.type", ICMP4Type, kInt, 8, "icmp4"},
	{"icmp6.type", ICMP6Type, kInt, 8, "icmp6"},
	{"inport", InPort, kPort, 15, ""},
	{"outport", OutPort, kPort, 16, ""},
	{"vlan.tci", VLANTCI, kInt, 16, ""},
	{"ip.dscp", IPDSCP, kInt, 6, "ip"},
	{"ip.ecn", IPECN, kInt, 2, "ip"},
	{"ip.ttl", IPTTL, kInt, 8, "ip"},
	{"ip.frag", IPFrag, kInt, 2, "ip"},
	{"icmp4.code", ICMP4Code, kInt, 8, "icmp4"},
	{"icmp6.code", ICMP6Code, kInt, 8, "icmp6"},
	{"arp.op", ARPOp, kInt, 16, "arp"},
	{"arp.spa", ARPSPA, kIP4, 32, "arp"},
	{"arp.tpa", ARPTPA, kIP4, 32, "arp"},
	{"arp.sha", ARPSHA, kMAC, 48, "arp"},
	{"arp.tha", ARPTHA, kMAC, 48, "arp"},
	{"nd.target", NDTarget, kIP6, 128, "nd"},
	{"nd.sll", NDSLL, kMAC, 48, "nd_ns"},
	{"nd.tll", NDTLL, kMAC, 48, "nd_na"},
	{"tcp.flags", TCPFlags, kInt, 12, "tcp"},
	{"sctp.src", SCTPSrc, kInt, 16, "sctp"},
	{"sctp.dst", SCTPDst, kInt, 16, "sctp"},
	{"ct_state", CTState, kInt, 32, ""},
	{"ct_mark", CTMark, kInt, 32, ""},
	{"ct_label", CTLabel, kInt, 128, ""},
}

// String is the field's OVN name.
func (f Field) String() string {
	if f < 0 || f >= numFields {
		return "field?"
	}
	return fieldDefs[f].name
}

// Bits is the field's width; values and masks of the field's VMs take
// (Bits+7)/8 bytes.
func (f Field) Bits() int {
	if f < 0 || f >= numFields {
		return 0
	}
	return fieldDefs[f].bits
}

// subfieldDef is a bit range of a field, named as OVN names it (eth.mcast
// is eth.dst[40], ct.new is ct_state[0]). One-bit subfields are also
// booleans: "ct.new" is "ct.new == 1".
type subfieldDef struct {
	parent Field
	lsb    int
	bits   int
	prereq string // on top of the parent's
}

var subfields = map[string]subfieldDef{
	"eth.mcast":       {EthDst, 40, 1, ""},
	"vlan.present":    {VLANTCI, 12, 1, ""},
	"vlan.pcp":        {VLANTCI, 13, 3, "vlan.present"},
	"vlan.vid":        {VLANTCI, 0, 12, "vlan.present"},
	"ip.is_frag":      {IPFrag, 0, 1, ""},
	"ip.later_frag":   {IPFrag, 1, 1, ""},
	"ct.new":          {CTState, 0, 1, "ct.trk"},
	"ct.est":          {CTState, 1, 1, "ct.trk"},
	"ct.rel":          {CTState, 2, 1, "ct.trk"},
	"ct.rpl":          {CTState, 3, 1, "ct.trk"},
	"ct.inv":          {CTState, 4, 1, "ct.trk"},
	"ct.trk":          {CTState, 5, 1, ""},
	"ct.snat":         {CTState, 6, 1, "ct.trk"},
	"ct.dnat":         {CTState, 7, 1, "ct.trk"},
	"ct_mark.blocked": {CTMark, 0, 1, ""},
}

// predicates are symbols defined by other expressions, as in OVN's
// ovn_init_symtab.
var predicates = map[string]string{
	"eth.bcast":     "eth.dst == ff:ff:ff:ff:ff:ff",
	"eth.mcastv6":   "eth.dst == 33:33:00:00:00:00/ff:ff:00:00:00:00",
	"ip4":           "eth.type == 0x800",
	"ip6":           "eth.type == 0x86dd",
	"ip":            "ip4 || ip6",
	"arp":           "eth.type == 0x806",
	"tcp":           "ip.proto == 6",
	"udp":           "ip.proto == 17",
	"sctp":          "ip.proto == 132",
	"icmp4":         "ip4 && ip.proto == 1",
	"icmp6":         "ip6 && ip.proto == 58",
	"icmp":          "icmp4 || icmp6",
	"ip4.mcast":     "eth.mcast && ip4.dst == 224.0.0.0/4",
	"ip4.src_mcast": "ip4.src == 224.0.0.0/4",
	"ip6.mcast":     "eth.mcastv6 && ip6.dst == ff00::/8",
	"igmp":          "ip4.mcast && ip.proto == 2",
	"ip.first_frag": "ip.is_frag && !ip.later_frag",
	"nd":            "icmp6.type == {135, 136} && icmp6.code == 0 && ip.ttl == 255",
	"nd_ns":         "icmp6.type == 135 && icmp6.code == 0 && ip.ttl == 255",
	"nd_na":         "icmp6.type == 136 && icmp6.code == 0 && ip.ttl == 255",
	"nd_rs":         "icmp6.type == 133 && icmp6.code == 0 && ip.ttl == 255",
	"nd_ra":         "icmp6.type == 134 && icmp6.code == 0 && ip.ttl == 255",
}

// symbol is what a name in an expression stands for.
type symbol struct {
	def    *fieldDef // the field tested (the parent of a subfield)
	sub    *subfieldDef
	prereq []string // every prerequisite, the field's and the subfield's
	pred   string   // a predicate's definition
}

var symbols = func() map[string]symbol {
	m := map[string]symbol{}
	for i := range fieldDefs {
		d := &fieldDefs[i]
		if d.f != Field(i) {
			panic("expr: fieldDefs out of order at " + d.name)
		}
		m[d.name] = symbol{def: d, prereq: nonEmpty(d.prereq)}
	}
	for name, sf := range subfields {
		d := &fieldDefs[sf.parent]
		m[name] = symbol{def: d, sub: &sf, prereq: nonEmpty(d.prereq, sf.prereq)}
	}
	for name, p := range predicates {
		m[name] = symbol{pred: p}
	}
	return m
}()

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// width is how many bits a comparison's value has.
func (s symbol) width() int {
	if s.sub != nil {
		return s.sub.bits
	}
	return s.def.bits
}

// boolean tells a symbol that may stand alone: a predicate or a one-bit
// (sub)field.
func (s symbol) boolean() bool { return s.pred != "" || (s.def != nil && s.width() == 1) }

// mirrored pairs source and destination fields.
var mirrored = map[Field]Field{EthSrc: EthDst, EthDst: EthSrc, IP4Src: IP4Dst, IP4Dst: IP4Src,
	IP6Src: IP6Dst, IP6Dst: IP6Src, TCPSrc: TCPDst, TCPDst: TCPSrc, UDPSrc: UDPDst, UDPDst: UDPSrc,
	SCTPSrc: SCTPDst, SCTPDst: SCTPSrc}
