package sim

import (
	"fmt"

	"github.com/chainwire/chainwire/pipeline"
)

// A minimal connection tracker, enough to walk the ACL stages: per zone,
// connections by their addresses and ports in the direction they were
// committed. A packet of a committed connection is est (and rpl in the
// reply direction); any other is new, except a TCP segment without SYN,
// which is inv. Related traffic (ICMP errors) and NAT are not modelled.
// Connections live as long as the Switch: a test sends a request, then
// its reply.
type conntrack struct {
	conns map[connKey]*conn
}

type conn struct {
	mark  uint32
	label uint64 // ct_label's low 64 bits
}

// connKey is a connection in one zone, in its committed direction.
type connKey struct {
	zone     uint16
	ethType  uint64
	proto    uint64
	src, dst string
	sp, dp   uint64
}

func newConntrack() *conntrack { return &conntrack{conns: map[connKey]*conn{}} }

// tuple is the packet's key in its own direction and reversed.
func tuple(p Packet, zone uint16) (fwd, rev connKey) {
	et := p.Get(pipeline.FieldEthType)
	src, dst := pipeline.FieldIPv4Src, pipeline.FieldIPv4Dst
	if et == 0x86dd {
		src, dst = pipeline.FieldIPv6Src, pipeline.FieldIPv6Dst
	}
	proto := p.Get(pipeline.FieldIPProto)
	var sp, dp uint64
	switch proto {
	case 6:
		sp, dp = p.Get(pipeline.FieldTCPSrc), p.Get(pipeline.FieldTCPDst)
	case 17:
		sp, dp = p.Get(pipeline.FieldUDPSrc), p.Get(pipeline.FieldUDPDst)
	}
	s, d := string(p.bytes(src)), string(p.bytes(dst))
	return connKey{zone, et, proto, s, d, sp, dp}, connKey{zone, et, proto, d, s, dp, sp}
}

const tcpSYN = 0x002

// track runs a ct action's lookup and commit on p, setting its ct_* fields
// as OVS does after ct().
func (ct *conntrack) track(a pipeline.Ct, p Packet) error {
	if et := p.Get(pipeline.FieldEthType); et != 0x0800 && et != 0x86dd {
		return fmt.Errorf("sim: ct on a non-IP packet (eth type 0x%x)", et)
	}
	zone := uint16(p.Get(a.ZoneReg))
	fwd, rev := tuple(p, zone)
	state := uint64(pipeline.CtTrk)
	c, reply := ct.conns[fwd], false
	if c == nil {
		if c = ct.conns[rev]; c != nil {
			reply = true
		}
	}
	switch {
	case c != nil:
		state |= pipeline.CtEst
		if reply {
			state |= pipeline.CtRpl
		}
	case p.Get(pipeline.FieldIPProto) == 6 && p.Get(pipeline.FieldTCPFlags)&tcpSYN == 0:
		state |= pipeline.CtInv
	default:
		state |= pipeline.CtNew
	}
	if a.Commit && state&pipeline.CtInv == 0 {
		if c == nil {
			c = &conn{}
			ct.conns[fwd] = c
		}
		for _, x := range a.Exec {
			l, ok := x.(pipeline.Load)
			if !ok {
				return fmt.Errorf("sim: ct exec runs %T, not a load", x)
			}
			if err := commitLoad(c, l); err != nil {
				return err
			}
		}
	}
	p.Set(pipeline.FieldCtState, state).Set(pipeline.FieldCtZone, uint64(zone))
	if c != nil {
		p.Set(pipeline.FieldCtMark, uint64(c.mark)).Set(pipeline.FieldCtLabel, c.label)
	}
	return nil
}

// commitLoad writes a ct exec load into the connection.
func commitLoad(c *conn, l pipeline.Load) error {
	bits := int(l.Bits)
	if bits == 0 {
		bits = l.Dst.Bits()
	}
	m := mask(bits) << l.Ofs
	switch {
	case l.Dst == pipeline.FieldCtLabel && int(l.Ofs)+bits <= 64:
		c.label = c.label&^m | l.Value<<l.Ofs&m
	case l.Dst == pipeline.FieldCtMark:
		c.mark = uint32(uint64(c.mark)&^m | l.Value<<l.Ofs&m)
	default:
		return fmt.Errorf("sim: ct exec loads %s", pipeline.ActionsString([]pipeline.Action{l}, false))
	}
	return nil
}
