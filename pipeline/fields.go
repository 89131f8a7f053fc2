package pipeline

import "fmt"

// Field is a packet or metadata field that flows match on or write to.
// The constant order is the order fields are encoded in a match, which puts
// every prerequisite (eth_type before IP fields, ip_proto before L4 ports)
// ahead of the fields that need it.
type Field uint8

const (
	FieldInPort Field = iota
	FieldMetadata
	FieldReg0
	FieldReg1
	FieldReg2
	FieldReg3
	FieldReg4
	FieldReg5
	FieldReg6
	FieldReg7
	FieldReg8
	FieldReg9
	FieldReg10
	FieldReg11
	FieldReg12
	FieldReg13
	FieldReg14
	FieldReg15
	FieldTunID
	FieldTunDst
	FieldTunMetadata0
	// Conntrack: the state of the last ct() the packet went through, the
	// zone, and the connection's mark and label (the label's low 64 bits
	// are all chainwire uses).
	FieldCtState
	FieldCtZone
	FieldCtMark
	FieldCtLabel
	FieldVlanTCI
	FieldEthSrc
	FieldEthDst
	FieldEthType
	FieldIPProto
	FieldIPDSCP // the 6-bit DSCP, not shifted into the TOS byte
	FieldIPECN
	FieldIPTTL
	FieldIPFrag
	FieldIPv4Src
	FieldIPv4Dst
	FieldIPv6Src
	FieldIPv6Dst
	FieldARPOp
	FieldARPSPA
	FieldARPTPA
	FieldARPSHA
	FieldARPTHA
	FieldTCPSrc
	FieldTCPDst
	FieldTCPFlags
	FieldUDPSrc
	FieldUDPDst
	FieldSCTPSrc
	FieldSCTPDst
	FieldICMPv4Type
	FieldICMPv4Code
	FieldICMPv6Type
	FieldICMPv6Code
	FieldNDTarget
	FieldNDSLL
	FieldNDTLL
	// FieldLoadInPort is in_port in the 16-bit form a load can write.
	FieldLoadInPort
	// FieldConjID is the id of a conjunctive match that completed.
	FieldConjID
	numFields
)

// ---------------------------------------------------------------------
// The register map. Every logical field of the pipeline is named here and
// nowhere else; the layout follows OVN so that its documentation applies.
//
//	metadata    logical datapath (switch) tunnel key, 24 bits used.
//	reg0..reg9  scratch registers of one pipeline; check_loopback zeroes
//	            them between ingress and egress, as OVN does.
//	reg9        service chains: [8..31] the chain hop whose load-balanced
//	            group is being chosen, [0..5] the connection's bucket
//	            (symmetric hash); set and matched within ls_in_chain.
//	reg0        ACL bits: [0] track the packet (pre_acl, pre_lb ->
//	            pre_stateful), [1] commit its connection (acl ->
//	            stateful), [2] translate it (lb -> stateful), as OVN's.
//	reg10       logical flags (bit layout below).
//	reg13       [0..15] the conntrack zone of the port a pipeline works
//	            for: the inport's in ingress, the outport's in egress.
//	reg14       logical input port key (15 bits used, 1..32767).
//	reg15       logical output port key (16 bits; 32768+ are multicast).
//
// Only metadata, reg14 and reg15 cross a tunnel, carried in the Geneve VNI
// and option (see package geneve); everything else is local to a chassis.
// ---------------------------------------------------------------------
const (
	LogDatapath = FieldMetadata
	LogInport   = FieldReg14
	LogOutport  = FieldReg15
	LogFlags    = FieldReg10
	LogCtZone   = FieldReg13
	ACLBits     = FieldReg0
)

// Bits of ACLBits.
const (
	ACLTrack  = 1 << 0 // through conntrack in pre_stateful
	ACLCommit = 1 << 1 // commit in stateful
	LBNAT     = 1 << 2 // a load-balanced connection: ct(nat) in stateful
)

// Bits of LogFlags.
const (
	// FlagLoopback lets a packet leave by the port it came in on (ARP
	// responder style replies set it).
	FlagLoopback = 1 << 0
	// FlagChainReinject marks a packet leaving a service chain that is to
	// restart ingress after ls_in_chain as if its inport had sent it.
	FlagChainReinject = 1 << 1
	// FlagFromVNF marks a packet a VNF port sent: only its chain hop may
	// forward it, and it skips the ACL stages (it was checked on its
	// workload's hop).
	FlagFromVNF = 1 << 2
	// FlagAnswer marks chainwired's own answers (packet-out: to a
	// rejected packet, a solicitation, a DHCP request, a DNS query): they
	// skip the egress ACL stages, as OVN's do.
	FlagAnswer = 1 << 3
)

// OFPPNone is the port number a packet gets when it must be free to leave
// by the port it came in on (OpenFlow never outputs to in_port).
const OFPPNone = 0xffff

// Multicast logical output keys, as in OVN (_MC_flood, _MC_unknown).
const (
	MulticastFlood   = 32768
	MulticastUnknown = 32769
)

// Chain load balancing (see chain.go): reg9 holds hop id << 8 | bucket.
const (
	ChainHashReg     = FieldReg9
	ChainBucketBits  = 6 // 64 buckets per group
	chainHopShift    = 8
	chainHopMask     = 0xffffff00
	chainBucketCount = 1 << ChainBucketBits
)

// Scratch registers cleared between the ingress and egress pipelines.
var scratchRegs = []Field{FieldReg0, FieldReg1, FieldReg2, FieldReg3, FieldReg4,
	FieldReg5, FieldReg6, FieldReg7, FieldReg8, FieldReg9}

type fieldInfo struct {
	match string // name in an ovs-ofctl match
	nxm   string // name in a load/move action
	bits  int
	// variable: OVS sizes the field by the TLV map, so it always prints
	// an explicit bit range for it.
	variable bool
}

var fields = [numFields]fieldInfo{
	FieldInPort:       {match: "in_port", nxm: "NXM_OF_IN_PORT", bits: 32},
	FieldMetadata:     {match: "metadata", nxm: "OXM_OF_METADATA", bits: 64},
	FieldTunID:        {match: "tun_id", nxm: "NXM_NX_TUN_ID", bits: 64},
	FieldTunDst:       {match: "tun_dst", nxm: "NXM_NX_TUN_IPV4_DST", bits: 32},
	FieldTunMetadata0: {match: "tun_metadata0", nxm: "NXM_NX_TUN_METADATA0", bits: 32, variable: true},
	FieldVlanTCI:      {match: "vlan_tci", nxm: "NXM_OF_VLAN_TCI", bits: 16},
	FieldEthSrc:       {match: "dl_src", nxm: "NXM_OF_ETH_SRC", bits: 48},
	FieldEthDst:       {match: "dl_dst", nxm: "NXM_OF_ETH_DST", bits: 48},
	FieldEthType:      {match: "dl_type", nxm: "NXM_OF_ETH_TYPE", bits: 16},
	FieldIPProto:      {match: "nw_proto", nxm: "NXM_OF_IP_PROTO", bits: 8},
	FieldIPv4Src:      {match: "nw_src", nxm: "NXM_OF_IP_SRC", bits: 32},
	FieldIPv4Dst:      {match: "nw_dst", nxm: "NXM_OF_IP_DST", bits: 32},
	FieldIPv6Src:      {match: "ipv6_src", nxm: "NXM_NX_IPV6_SRC", bits: 128},
	FieldIPv6Dst:      {match: "ipv6_dst", nxm: "NXM_NX_IPV6_DST", bits: 128},
	FieldTCPSrc:       {match: "tp_src", nxm: "NXM_OF_TCP_SRC", bits: 16},
	FieldTCPDst:       {match: "tp_dst", nxm: "NXM_OF_TCP_DST", bits: 16},
	FieldUDPSrc:       {match: "tp_src", nxm: "NXM_OF_UDP_SRC", bits: 16},
	FieldUDPDst:       {match: "tp_dst", nxm: "NXM_OF_UDP_DST", bits: 16},
	FieldICMPv4Type:   {match: "icmp_type", nxm: "NXM_OF_ICMP_TYPE", bits: 8},
	FieldICMPv6Type:   {match: "icmp_type", nxm: "NXM_NX_ICMPV6_TYPE", bits: 8},
	FieldCtState:      {match: "ct_state", nxm: "NXM_NX_CT_STATE", bits: 32},
	FieldCtZone:       {match: "ct_zone", nxm: "NXM_NX_CT_ZONE", bits: 16},
	FieldCtMark:       {match: "ct_mark", nxm: "NXM_NX_CT_MARK", bits: 32},
	FieldCtLabel:      {match: "ct_label", nxm: "NXM_NX_CT_LABEL", bits: 128},
	FieldIPDSCP:       {match: "ip_dscp", nxm: "OXM_OF_IP_DSCP", bits: 6},
	FieldIPECN:        {match: "nw_ecn", nxm: "NXM_NX_IP_ECN", bits: 2},
	FieldIPTTL:        {match: "nw_ttl", nxm: "NXM_NX_IP_TTL", bits: 8},
	FieldIPFrag:       {match: "ip_frag", nxm: "NXM_NX_IP_FRAG", bits: 8},
	FieldARPOp:        {match: "arp_op", nxm: "NXM_OF_ARP_OP", bits: 16},
	FieldARPSPA:       {match: "arp_spa", nxm: "NXM_OF_ARP_SPA", bits: 32},
	FieldARPTPA:       {match: "arp_tpa", nxm: "NXM_OF_ARP_TPA", bits: 32},
	FieldARPSHA:       {match: "arp_sha", nxm: "NXM_NX_ARP_SHA", bits: 48},
	FieldARPTHA:       {match: "arp_tha", nxm: "NXM_NX_ARP_THA", bits: 48},
	FieldTCPFlags:     {match: "tcp_flags", nxm: "NXM_NX_TCP_FLAGS", bits: 16},
	FieldSCTPSrc:      {match: "tp_src", nxm: "OXM_OF_SCTP_SRC", bits: 16},
	FieldSCTPDst:      {match: "tp_dst", nxm: "OXM_OF_SCTP_DST", bits: 16},
	FieldICMPv4Code:   {match: "icmp_code", nxm: "NXM_OF_ICMP_CODE", bits: 8},
	FieldICMPv6Code:   {match: "icmp_code", nxm: "NXM_NX_ICMPV6_CODE", bits: 8},
	FieldNDTarget:     {match: "nd_target", nxm: "NXM_NX_ND_TARGET", bits: 128},
	FieldNDSLL:        {match: "nd_sll", nxm: "NXM_NX_ND_SLL", bits: 48},
	FieldNDTLL:        {match: "nd_tll", nxm: "NXM_NX_ND_TLL", bits: 48},
	FieldLoadInPort:   {match: "in_port", nxm: "NXM_OF_IN_PORT", bits: 16},
	FieldConjID:       {match: "conj_id", nxm: "NXM_NX_CONJ_ID", bits: 32},
}

func init() {
	for i := FieldReg0; i <= FieldReg15; i++ {
		n := int(i - FieldReg0)
		fields[i] = fieldInfo{match: fmt.Sprintf("reg%d", n), nxm: fmt.Sprintf("NXM_NX_REG%d", n), bits: 32}
	}
}

// Reg returns register n (0..15).
func Reg(n int) Field { return FieldReg0 + Field(n) }

// Bits is the field's width.
func (f Field) Bits() int { return fields[f].bits }

// Bytes is the field's width in bytes on the wire.
func (f Field) Bytes() int { return (fields[f].bits + 7) / 8 }

// MatchName is the field's name in an ovs-ofctl match.
func (f Field) MatchName() string { return fields[f].match }

// NXMName is the field's name in ovs-ofctl load/move actions.
func (f Field) NXMName() string { return fields[f].nxm }

func (f Field) String() string { return f.MatchName() }

// IsReg reports whether f is one of reg0..reg15, and which.
func (f Field) IsReg() (int, bool) {
	if f >= FieldReg0 && f <= FieldReg15 {
		return int(f - FieldReg0), true
	}
	return 0, false
}
