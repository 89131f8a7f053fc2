package sim

import (
	"fmt"

	"github.com/chainwire/chainwire/pipeline"
)

// A minimal connection tracker, enough to walk the ACL stages: per zone,
// connections by their addresses and ports in the direction they were
// committed. A packet of a committed connection is est (and rpl in the
// reply direction); any other is new, except a TCP segment without SYN,
// which is inv. NAT of one address (and port) is modelled: a commit with
// nat(dst) or nat(src) files the connection under its translated reply
// too, and ct with nat translates a packet of either direction. Related
// traffic (ICMP errors) is not. Connections live as long as the Switch: a
// test sends a request, then its reply.
type conntrack struct {
	conns map[connKey]*conn
}

type conn struct {
	mark  uint32
	label uint64 // ct_label's low 64 bits
	// orig: the connection's committed direction; to: its DNAT target.
	orig connKey
	to   *pipeline.NAT
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
	if a.Zone != 0 {
		zone = a.Zone
	}
	fwd, rev := tuple(p, zone)
	state := uint64(pipeline.CtTrk)
	c, reply := ct.conns[fwd], false
	if c == nil {
		if c = ct.conns[rev]; c != nil {
			reply = true
		}
	}
	if c != nil && c.orig != fwd && !reply {
		reply = true // found under its translated reply
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
			c = &conn{orig: fwd}
			ct.conns[fwd] = c
			if err := ct.fileTranslated(c, a.NAT); err != nil {
				return err
			}
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
	if a.NAT != nil && c != nil && c.to != nil {
		translate(p, c, reply)
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

// fileTranslated sets a new connection's NAT and files it under the
// reply of its translated tuple.
func (ct *conntrack) fileTranslated(c *conn, n *pipeline.NAT) error {
	if n == nil || n.IP == nil {
		return nil
	}
	c.to = n
	k := c.orig
	addr, port := &k.dst, &k.dp
	if n.Src {
		addr, port = &k.src, &k.sp
	}
	*addr = string(ipBytes(n.IP, k.ethType))
	if n.Port != 0 {
		*port = uint64(n.Port)
	}
	ct.conns[connKey{k.zone, k.ethType, k.proto, k.dst, k.src, k.dp, k.sp}] = c
	return nil
}

func ipBytes(ip []byte, ethType uint64) []byte {
	if ethType == 0x0800 {
		return ip[len(ip)-4:]
	}
	return ip
}

// translate applies a connection's translation: to the target in its
// direction, back to the original address in the reply's.
func translate(p Packet, c *conn, reply bool) {
	src, dst := pipeline.FieldIPv4Src, pipeline.FieldIPv4Dst
	if c.orig.ethType == 0x86dd {
		src, dst = pipeline.FieldIPv6Src, pipeline.FieldIPv6Dst
	}
	sport, dport := pipeline.FieldTCPSrc, pipeline.FieldTCPDst
	if c.orig.proto == 17 {
		sport, dport = pipeline.FieldUDPSrc, pipeline.FieldUDPDst
	}
	// DNAT rewrites the destination in the original direction and the
	// source of replies; SNAT the other way round.
	addr, port, was, wasPort := dst, dport, c.orig.dst, c.orig.dp
	if c.to.Src {
		addr, port, was, wasPort = src, sport, c.orig.src, c.orig.sp
	}
	if !reply {
		p[addr] = ipBytes(c.to.IP, c.orig.ethType)
		if c.to.Port != 0 {
			p.Set(port, uint64(c.to.Port))
		}
		return
	}
	if c.to.Src {
		addr, port = dst, dport
	} else {
		addr, port = src, sport
	}
	p[addr] = []byte(was)
	if c.to.Port != 0 {
		p.Set(port, wasPort)
	}
}
