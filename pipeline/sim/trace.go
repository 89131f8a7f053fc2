package sim

import (
	"fmt"
	"net"
	"strings"

	"github.com/chainwire/chainwire/pipeline"
)

// StepKind is what happened at one step of a traced run.
type StepKind uint8

const (
	// StepFlow: a lookup in Table hit Flow.
	StepFlow StepKind = iota
	// StepMiss: a lookup in Table matched no flow (OVS drops).
	StepMiss
	// StepOutput: an output to Port, with the packet as it left
	// (Skipped: the port was the packet's in_port, which OpenFlow never
	// outputs to; no packet left).
	StepOutput
	// StepController: a controller action, with its userdata (Pause: the
	// pipeline paused, as chainwired resumes it).
	StepController
	// StepBucket: a group's bucket runs (Bucket -1: a select group with
	// no live bucket, which drops).
	StepBucket
	// StepRecirc: a ct() action recirculates the packet into its table.
	StepRecirc
)

// Step is one event of a traced run. Depth is the resubmit depth: a
// resubmit, a group bucket's resubmit or a recirculation runs one deeper.
type Step struct {
	Kind     StepKind
	Table    uint8 // 0xff: in a group bucket
	Depth    int
	Flow     *pipeline.Flow  // StepFlow
	Port     uint32          // StepOutput
	Packet   Packet          // StepOutput: the packet that left
	Skipped  bool            // StepOutput to the in_port
	Userdata []byte          // StepController
	Pause    bool            // StepController
	Group    *pipeline.Group // StepBucket
	Bucket   int             // StepBucket
}

// RunTraced is Run that also records every step (Result.Steps).
func (s *Switch) RunTraced(p Packet) (Result, error) {
	r := Result{tracing: true}
	err := s.table(0, p.clone(), &r, 0)
	return r, err
}

func (r *Result) step(s Step) {
	if r.tracing {
		r.Steps = append(r.Steps, s)
	}
}

// StageName is a table's stage name, or "tableN" for a table the
// pipeline does not use.
func StageName(t uint8) string { return stageName(t) }

// Frame is the packet's own headers, without metadata, registers or
// tunnel fields: what a VM receives, and what it sends back when it
// forwards the frame unchanged.
func (p Packet) Frame() Packet {
	q := Packet{}
	for _, f := range frameFields {
		if v, ok := p[f]; ok {
			q[f] = append([]byte(nil), v...)
		}
	}
	return q
}

// Arrival is the packet a tunnel output o delivers to the chassis that
// owns its tun_dst, entering there by that chassis' tunnel port tun: the
// frame, tun_id and tun_metadata0, as in Network.Run. It returns the
// destination IP too.
func Arrival(o Output, tun uint32) (dst string, p Packet) {
	dst = net.IP(o.Packet.bytes(pipeline.FieldTunDst)).String()
	p = Packet{}.Set(pipeline.FieldInPort, uint64(tun))
	for _, f := range append(append([]pipeline.Field(nil), tunnelFields...), frameFields...) {
		if v, ok := o.Packet[f]; ok {
			p[f] = append([]byte(nil), v...)
		}
	}
	return dst, p
}

// RanIngress reports whether a run went through a logical switch's
// ingress pipeline (a packet from a tunnel that did not must not be
// tunnelled again: Network.Run's loop rule).
func RanIngress(r Result) bool { return ranIngress(r) }

// OVSFlow prints the packet's headers as an ovs-ofctl flow (the form
// ofproto/trace takes): in_port, the MACs, the protocol shorthand or
// dl_type, then the fields of the protocol, all of them explicitly
// (a field the packet lacks is 0, as in the simulator).
func (p Packet) OVSFlow() string {
	var parts []string
	add := func(k, v string) { parts = append(parts, k+"="+v) }
	addN := func(k string, f pipeline.Field) { add(k, fmt.Sprint(p.Get(f))) }
	mac := func(f pipeline.Field) string { return net.HardwareAddr(p.bytes(f)).String() }
	ip := func(f pipeline.Field) string { return net.IP(p.bytes(f)).String() }
	addN("in_port", pipeline.FieldInPort)
	add("dl_src", mac(pipeline.FieldEthSrc))
	add("dl_dst", mac(pipeline.FieldEthDst))
	if vt := p.Get(pipeline.FieldVlanTCI); vt != 0 {
		add("vlan_tci", fmt.Sprintf("0x%04x", vt))
	}
	et, proto := p.Get(pipeline.FieldEthType), p.Get(pipeline.FieldIPProto)
	l4 := func(v6 bool) {
		switch {
		case proto == 6:
			addN("tp_src", pipeline.FieldTCPSrc)
			addN("tp_dst", pipeline.FieldTCPDst)
			if fl := p.Get(pipeline.FieldTCPFlags); fl != 0 {
				add("tcp_flags", fmt.Sprintf("0x%03x", fl))
			}
		case proto == 17:
			addN("tp_src", pipeline.FieldUDPSrc)
			addN("tp_dst", pipeline.FieldUDPDst)
		case proto == 132:
			addN("tp_src", pipeline.FieldSCTPSrc)
			addN("tp_dst", pipeline.FieldSCTPDst)
		case proto == 1 && !v6:
			addN("icmp_type", pipeline.FieldICMPv4Type)
			addN("icmp_code", pipeline.FieldICMPv4Code)
		case proto == 58 && v6:
			addN("icmp_type", pipeline.FieldICMPv6Type)
			addN("icmp_code", pipeline.FieldICMPv6Code)
			if t := p.Get(pipeline.FieldICMPv6Type); t == 135 || t == 136 {
				add("nd_target", ip(pipeline.FieldNDTarget))
				if t == 135 {
					add("nd_sll", mac(pipeline.FieldNDSLL))
				} else {
					add("nd_tll", mac(pipeline.FieldNDTLL))
				}
			}
		}
	}
	ipCommon := func() {
		addN("nw_ttl", pipeline.FieldIPTTL)
		if d := p.Get(pipeline.FieldIPDSCP); d != 0 {
			add("nw_tos", fmt.Sprint(d<<2))
		}
		if e := p.Get(pipeline.FieldIPECN); e != 0 {
			addN("nw_ecn", pipeline.FieldIPECN)
		}
		if fr := p.Get(pipeline.FieldIPFrag); fr != 0 {
			add("nw_frag", map[uint64]string{1: "first", 3: "later"}[fr&3])
		}
	}
	shorthand := map[uint64]string{1: "icmp", 6: "tcp", 17: "udp", 132: "sctp"}
	switch et {
	case 0x0800:
		if s, ok := shorthand[proto]; ok {
			parts = append(parts, s)
		} else {
			parts = append(parts, "ip")
			addN("nw_proto", pipeline.FieldIPProto)
		}
		add("nw_src", ip(pipeline.FieldIPv4Src))
		add("nw_dst", ip(pipeline.FieldIPv4Dst))
		ipCommon()
		l4(false)
	case 0x86dd:
		if s, ok := map[uint64]string{6: "tcp6", 17: "udp6", 58: "icmp6", 132: "sctp6"}[proto]; ok {
			parts = append(parts, s)
		} else {
			parts = append(parts, "ipv6")
			addN("nw_proto", pipeline.FieldIPProto)
		}
		add("ipv6_src", ip(pipeline.FieldIPv6Src))
		add("ipv6_dst", ip(pipeline.FieldIPv6Dst))
		ipCommon()
		l4(true)
	case 0x0806:
		parts = append(parts, "arp")
		addN("arp_op", pipeline.FieldARPOp)
		add("arp_spa", ip(pipeline.FieldARPSPA))
		add("arp_tpa", ip(pipeline.FieldARPTPA))
		add("arp_sha", mac(pipeline.FieldARPSHA))
		add("arp_tha", mac(pipeline.FieldARPTHA))
	default:
		add("dl_type", fmt.Sprintf("0x%04x", et))
	}
	return strings.Join(parts, ",")
}
