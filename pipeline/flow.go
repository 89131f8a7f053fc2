package pipeline

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"sort"
	"strings"
)

// Flow is one OpenFlow flow as a plain value. Flows are built by the
// renderer and encoded by package controller; nothing else needs to know
// the wire format.
type Flow struct {
	Stage    Stage
	Priority uint16
	Cookie   uint64
	Match    Match
	Actions  []Action // empty means drop
}

// Key identifies a flow the way OVS does: table, priority and match. Two
// flows with the same key cannot coexist in a switch. It is a compact
// binary string (matches are kept canonical: sorted, exact masks
// dropped), cheap to build and to hash; String is for people.
func (f Flow) Key() string {
	n := 3
	for _, mf := range f.Match {
		n += 2 + len(mf.Value) + len(mf.Mask)
	}
	b := make([]byte, 3, n)
	b[0], b[1], b[2] = f.Stage.Table(), byte(f.Priority>>8), byte(f.Priority)
	for _, mf := range f.Match {
		masked := byte(0)
		if mf.Mask != nil {
			masked = 1
		}
		b = append(b, byte(mf.Field), masked)
		b = append(b, mf.Value...)
		b = append(b, mf.Mask...)
	}
	return string(b)
}

// String prints the flow in ovs-ofctl syntax with table names, the form
// used in golden files and docs.
func (f Flow) String() string { return f.Format(false) }

// Format prints the flow in ovs-ofctl syntax; numeric selects table numbers
// instead of names (what `ovs-ofctl ofp-parse` prints).
func (f Flow) Format(numeric bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "cookie=0x%x, table=%s, priority=%d", f.Cookie, tableRef(f.Stage, numeric), f.Priority)
	if m := f.Match.String(); m != "" {
		b.WriteString(",")
		b.WriteString(m)
	}
	b.WriteString(" actions=")
	b.WriteString(ActionsString(f.Actions, numeric))
	return b.String()
}

func tableRef(s Stage, numeric bool) string {
	if numeric {
		return fmt.Sprint(s.Table())
	}
	return s.Name()
}

// ---------------------------------------------------------------- match

// MatchField is one field of a match. Value and Mask are big-endian and as
// wide as the field; a nil Mask is an exact match.
type MatchField struct {
	Field Field
	Value []byte
	Mask  []byte
}

// Match is a set of fields, kept sorted by Field (the encoding order).
type Match []MatchField

// WithBytes returns m plus f=value/mask (replacing any earlier f).
func (m Match) WithBytes(f Field, value, mask []byte) Match {
	if len(value) != f.Bytes() || (mask != nil && len(mask) != f.Bytes()) {
		panic(fmt.Sprintf("pipeline: %s takes %d bytes", f, f.Bytes()))
	}
	if mask != nil && allOnes(mask) {
		mask = nil
	}
	out := make(Match, 0, len(m)+1)
	for _, mf := range m {
		if mf.Field != f {
			out = append(out, mf)
		}
	}
	out = append(out, MatchField{f, value, mask})
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

// With returns m plus an exact match of f on v.
func (m Match) With(f Field, v uint64) Match { return m.WithBytes(f, uintBytes(v, f.Bytes()), nil) }

// WithMasked returns m plus f=v/mask.
func (m Match) WithMasked(f Field, v, mask uint64) Match {
	return m.WithBytes(f, uintBytes(v&mask, f.Bytes()), uintBytes(mask, f.Bytes()))
}

// WithMAC returns m plus an exact match of an Ethernet address field.
func (m Match) WithMAC(f Field, mac net.HardwareAddr) Match {
	return m.WithBytes(f, append([]byte(nil), mac...), nil)
}

// WithMACMasked returns m plus a masked match of an Ethernet address field.
func (m Match) WithMACMasked(f Field, mac, mask net.HardwareAddr) Match {
	v := make([]byte, 6)
	for i := range v {
		v[i] = mac[i] & mask[i]
	}
	return m.WithBytes(f, v, append([]byte(nil), mask...))
}

// Get returns the field's entry, if the match has one.
func (m Match) Get(f Field) (MatchField, bool) {
	for _, mf := range m {
		if mf.Field == f {
			return mf, true
		}
	}
	return MatchField{}, false
}

// Uint returns the value of a field of at most 64 bits.
func (mf MatchField) Uint() uint64 { return bytesUint(mf.Value) }

// MaskUint returns the mask of a field of at most 64 bits (all ones if exact).
func (mf MatchField) MaskUint() uint64 {
	if mf.Mask == nil {
		return widthMask(mf.Field.Bits())
	}
	return bytesUint(mf.Mask)
}

// uintBytes is v as n big-endian bytes (a field wider than 64 bits, such
// as ct_label, gets v in its low 64).
func uintBytes(v uint64, n int) []byte {
	buf := make([]byte, max(n, 8))
	binary.BigEndian.PutUint64(buf[len(buf)-8:], v)
	return buf[len(buf)-n:]
}

func bytesUint(b []byte) uint64 {
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v
}

func widthMask(bits int) uint64 {
	if bits >= 64 {
		return ^uint64(0)
	}
	return 1<<bits - 1
}

func allOnes(b []byte) bool { return bytes.Count(b, []byte{0xff}) == len(b) }

// protocol shorthands that ovs-ofctl prints instead of dl_type/nw_proto.
var shorthands = []struct {
	name    string
	ethType uint64
	proto   int // -1: no nw_proto
}{
	{"tcp", 0x0800, 6}, {"udp", 0x0800, 17}, {"icmp", 0x0800, 1},
	{"tcp6", 0x86dd, 6}, {"udp6", 0x86dd, 17}, {"icmp6", 0x86dd, 58}, {"sctp", 0x0800, 132}, {"sctp6", 0x86dd, 132},
	{"ip", 0x0800, -1}, {"ipv6", 0x86dd, -1}, {"arp", 0x0806, -1},
}

// printOrder is the order in which ovs-ofctl prints match fields (conj_id
// comes before the protocol shorthand).
var printOrder = []Field{
	FieldReg0, FieldReg1, FieldReg2, FieldReg3, FieldReg4, FieldReg5, FieldReg6, FieldReg7,
	FieldReg8, FieldReg9, FieldReg10, FieldReg11, FieldReg12, FieldReg13, FieldReg14, FieldReg15,
	FieldTunID, FieldTunDst, FieldTunMetadata0,
	FieldMetadata, FieldInPort, FieldVlanTCI, FieldEthSrc, FieldEthDst, FieldEthType,
	FieldIPv6Src, FieldIPv6Dst, FieldIPv4Src, FieldARPSPA, FieldIPv4Dst, FieldARPTPA, FieldIPProto, FieldARPOp,
	FieldARPSHA, FieldARPTHA, FieldIPDSCP, FieldIPECN, FieldIPTTL, FieldIPFrag,
	FieldTCPSrc, FieldUDPSrc, FieldSCTPSrc, FieldTCPDst, FieldUDPDst, FieldSCTPDst, FieldTCPFlags,
	FieldICMPv4Type, FieldICMPv6Type, FieldICMPv4Code, FieldICMPv6Code, FieldNDTarget, FieldNDSLL, FieldNDTLL,
}

// ctPrintOrder are the conntrack fields, which ovs-ofctl prints before
// the protocol shorthand.
var ctPrintOrder = []Field{FieldCtState, FieldCtZone, FieldCtMark, FieldCtLabel}

// flagNames are the bits of ct_state and tcp_flags as ovs-ofctl names
// them, lowest first.
var flagNames = map[Field][]string{
	FieldCtState:  {"new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat"},
	FieldTCPFlags: {"fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns"},
}

// String prints the match as ovs-ofctl does (field order and spelling).
func (m Match) String() string {
	var parts []string
	if c, ok := m.Get(FieldConjID); ok {
		parts = append(parts, fmt.Sprintf("conj_id=%d", c.Uint()))
	}
	for _, f := range ctPrintOrder {
		if mf, ok := m.Get(f); ok {
			parts = append(parts, f.MatchName()+"="+mf.valueString())
		}
	}
	skip := map[Field]bool{}
	if et, ok := m.Get(FieldEthType); ok && et.Mask == nil {
		proto, hasProto := m.Get(FieldIPProto)
		for _, s := range shorthands {
			if s.ethType != et.Uint() {
				continue
			}
			if s.proto >= 0 && (!hasProto || proto.Mask != nil || int(proto.Uint()) != s.proto) {
				continue
			}
			parts = append(parts, s.name)
			skip[FieldEthType] = true
			if s.proto >= 0 {
				skip[FieldIPProto] = true
			}
			break
		}
	}
	for _, f := range printOrder {
		mf, ok := m.Get(f)
		if !ok || skip[f] {
			continue
		}
		if f == FieldIPDSCP { // printed as the TOS byte
			parts = append(parts, fmt.Sprintf("nw_tos=%d", mf.Uint()<<2))
			continue
		}
		parts = append(parts, f.MatchName()+"="+mf.valueString())
	}
	return strings.Join(parts, ",")
}

func (mf MatchField) valueString() string {
	if names, ok := flagNames[mf.Field]; ok && mf.Mask != nil {
		var b strings.Builder
		v, mask := mf.Uint(), mf.MaskUint()
		for i, n := range names {
			switch bit := uint64(1) << i; {
			case mask&bit == 0:
			case v&bit != 0:
				b.WriteString("+" + n)
			default:
				b.WriteString("-" + n)
			}
		}
		return b.String()
	}
	switch mf.Field {
	case FieldEthSrc, FieldEthDst, FieldARPSHA, FieldARPTHA, FieldNDSLL, FieldNDTLL:
		s := net.HardwareAddr(mf.Value).String()
		if mf.Mask != nil {
			s += "/" + net.HardwareAddr(mf.Mask).String()
		}
		return s
	case FieldIPv4Src, FieldIPv4Dst, FieldIPv6Src, FieldIPv6Dst, FieldTunDst, FieldARPSPA, FieldARPTPA, FieldNDTarget:
		s := net.IP(mf.Value).String()
		if mf.Mask != nil {
			if ones, bits := net.IPMask(mf.Mask).Size(); bits != 0 {
				return fmt.Sprintf("%s/%d", s, ones)
			}
			s += "/" + net.IP(mf.Mask).String()
		}
		return s
	case FieldInPort, FieldIPProto, FieldICMPv4Type, FieldICMPv6Type, FieldICMPv4Code, FieldICMPv6Code,
		FieldARPOp, FieldIPTTL, FieldIPECN:
		return fmt.Sprint(mf.Uint())
	case FieldTCPSrc, FieldTCPDst, FieldUDPSrc, FieldUDPDst:
		if mf.Mask == nil {
			return fmt.Sprint(mf.Uint())
		}
	}
	s := hexValue(mf.Uint())
	if mf.Mask != nil {
		s += "/" + hexValue(mf.MaskUint())
	}
	return s
}

func hexValue(v uint64) string {
	if v == 0 {
		return "0"
	}
	return fmt.Sprintf("0x%x", v)
}

// ---------------------------------------------------------------- actions

// Action is one OpenFlow action (or the goto_table instruction).
type Action interface {
	format(numeric bool) string
}

// Load writes Value into Bits bits of Dst starting at Ofs (NXAST_REG_LOAD;
// OpenFlow 1.3 has no masked set_field). Bits 0 means the whole field.
type Load struct {
	Dst       Field
	Ofs, Bits uint8
	Value     uint64
}

// Move copies Bits bits from Src[SrcOfs..] to Dst[DstOfs..].
type Move struct {
	Src          Field
	SrcOfs       uint8
	Dst          Field
	DstOfs, Bits uint8
}

// Resubmit runs another stage and comes back (OVN's fan-out and the only
// way to go to an earlier table).
type Resubmit struct{ Stage Stage }

// Goto continues in a later stage; it must be the last action.
type Goto struct{ Stage Stage }

// Output sends the packet to an OpenFlow port.
type Output struct{ Port uint32 }

// Multipath stores a symmetric hash of the packet's L3/L4 addresses
// (request and reply hash alike) modulo Links into Dst[Ofs..Ofs+Bits-1].
type Multipath struct {
	Links     uint16
	Dst       Field
	Ofs, Bits uint8
}

// Clone runs Actions on a copy of the packet and its registers
// (NXAST_CLONE), then the list goes on with the original: a tap's copy
// takes its own way through the pipeline. Inside, Resubmit replaces Goto.
type Clone struct{ Actions []Action }

// DecTTL decrements the IPv4 TTL or IPv6 hop limit (OFPAT_DEC_NW_TTL);
// the router's pipeline answers packets it would take to 0 before.
type DecTTL struct{}

// Conjunction marks clause Clause (1-based) of NClauses of conjunctive
// match ID as matched.
type Conjunction struct {
	ID              uint32
	Clause, NClause uint8
}

func (a Load) format(bool) string {
	return fmt.Sprintf("load:%s->%s", hexValue(a.Value), fieldRange(a.Dst, a.Ofs, a.Bits))
}

func (a Move) format(bool) string {
	return fmt.Sprintf("move:%s->%s", fieldRange(a.Src, a.SrcOfs, a.Bits), fieldRange(a.Dst, a.DstOfs, a.Bits))
}

func (a Resubmit) format(numeric bool) string {
	return fmt.Sprintf("resubmit(,%s)", tableRef(a.Stage, numeric))
}

func (a Goto) format(numeric bool) string { return "goto_table:" + tableRef(a.Stage, numeric) }

func (a Output) format(bool) string { return fmt.Sprintf("output:%d", a.Port) }

func (a Multipath) format(bool) string {
	return fmt.Sprintf("multipath(symmetric_l3l4+udp,0,modulo_n,%d,0,%s)", a.Links, fieldRange(a.Dst, a.Ofs, a.Bits))
}

func (DecTTL) format(bool) string { return "dec_ttl" }

func (a Clone) format(numeric bool) string { return "clone(" + ActionsString(a.Actions, numeric) + ")" }

func (a Conjunction) format(bool) string {
	return fmt.Sprintf("conjunction(%d,%d/%d)", a.ID, a.Clause, a.NClause)
}

func fieldRange(f Field, ofs, bits uint8) string {
	switch {
	case fields[f].variable && bits == 0:
		return fmt.Sprintf("%s[0..%d]", f.NXMName(), f.Bits()-1)
	case bits == 0 || (ofs == 0 && int(bits) == f.Bits()) && !fields[f].variable:
		return f.NXMName() + "[]"
	case bits == 1:
		return fmt.Sprintf("%s[%d]", f.NXMName(), ofs)
	default:
		return fmt.Sprintf("%s[%d..%d]", f.NXMName(), ofs, int(ofs)+int(bits)-1)
	}
}

// ActionsString prints an action list as ovs-ofctl does.
func ActionsString(acts []Action, numeric bool) string {
	if len(acts) == 0 {
		return "drop"
	}
	parts := make([]string, len(acts))
	for i, a := range acts {
		parts[i] = a.format(numeric)
	}
	return strings.Join(parts, ",")
}

// ActionsEqual reports whether two action lists do the same (a group is
// compared by ID, as a read-back knows no names; by name while neither
// has an ID yet).
func ActionsEqual(a, b []Action) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		switch x := a[i].(type) {
		case ToGroup:
			y, ok := b[i].(ToGroup)
			if !ok || x.ID != y.ID || x.ID == 0 && x.Name != y.Name {
				return false
			}
		case Controller:
			y, ok := b[i].(Controller)
			if !ok || x.Pause != y.Pause || x.Meter != y.Meter || !bytes.Equal(x.Userdata, y.Userdata) {
				return false
			}
		case Clone:
			y, ok := b[i].(Clone)
			if !ok || !ActionsEqual(x.Actions, y.Actions) {
				return false
			}
		case Ct:
			y, ok := b[i].(Ct)
			if !ok || x.Commit != y.Commit || x.ZoneReg != y.ZoneReg || x.Zone != y.Zone || x.Recirc != y.Recirc ||
				x.Recirc && x.Table != y.Table || !x.NAT.Equal(y.NAT) || !ActionsEqual(x.Exec, y.Exec) {
				return false
			}
		default:
			if a[i] != b[i] {
				return false
			}
		}
	}
	return true
}
