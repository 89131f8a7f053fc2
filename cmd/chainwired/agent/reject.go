package agent

import (
	"encoding/binary"
	"fmt"
	"net"
)

// Replies to packets a reject ACL matched, built as OVN's tcp_reset and
// icmp4/icmp6 unreachable actions build them: a TCP segment gets a RST,
// anything else an ICMP destination unreachable (port unreachable for
// UDP, administratively prohibited otherwise) quoting its start. The
// reply goes from the packet's destination to its source. Packets that
// must never be answered (a RST, ICMP errors, broadcast or multicast, not
// IP) get nothing.

var be = binary.BigEndian

const (
	ethHeader  = 14
	ipv4Header = 20 // what the replies carry: no options
	ipv6Header = 40
	tcpHeader  = 20

	protoTCP    = 6
	protoUDP    = 17
	protoICMP   = 1
	protoICMPv6 = 58

	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpACK = 0x10
)

// frame is the parts of a packet a reply needs.
type frame struct {
	src, dst   net.HardwareAddr
	v6         bool
	ipSrc      net.IP
	ipDst      net.IP
	proto      byte
	ip         []byte // the IP packet, header included
	l4         []byte // what follows the IP header
	fragmented bool
}

func parseFrame(b []byte) (*frame, error) {
	if len(b) < ethHeader {
		return nil, fmt.Errorf("frame of %d bytes", len(b))
	}
	f := &frame{dst: net.HardwareAddr(b[0:6]), src: net.HardwareAddr(b[6:12])}
	if f.dst[0]&1 == 1 || f.src[0]&1 == 1 {
		return nil, fmt.Errorf("multicast or broadcast frame")
	}
	ip := b[ethHeader:]
	switch be.Uint16(b[12:]) {
	case 0x0800:
		if len(ip) < ipv4Header || ip[0]>>4 != 4 {
			return nil, fmt.Errorf("short or bad IPv4 header")
		}
		ihl := int(ip[0]&0x0f) * 4
		total := int(be.Uint16(ip[2:]))
		if ihl < ipv4Header || total < ihl || total > len(ip) {
			return nil, fmt.Errorf("bad IPv4 lengths")
		}
		f.ip, f.proto, f.l4 = ip[:total], ip[9], ip[ihl:total]
		f.ipSrc, f.ipDst = net.IP(ip[12:16]), net.IP(ip[16:20])
		f.fragmented = be.Uint16(ip[6:])&0x1fff != 0 // not the first fragment
	case 0x86dd:
		if len(ip) < ipv6Header || ip[0]>>4 != 6 {
			return nil, fmt.Errorf("short or bad IPv6 header")
		}
		plen := int(be.Uint16(ip[4:]))
		if ipv6Header+plen > len(ip) {
			return nil, fmt.Errorf("bad IPv6 length")
		}
		f.v6, f.ip, f.proto, f.l4 = true, ip[:ipv6Header+plen], ip[6], ip[ipv6Header:ipv6Header+plen]
		f.ipSrc, f.ipDst = net.IP(ip[8:24]), net.IP(ip[24:40])
	default:
		return nil, fmt.Errorf("not IP")
	}
	if f.ipSrc.IsMulticast() || f.ipDst.IsMulticast() || f.ipSrc.IsUnspecified() {
		return nil, fmt.Errorf("multicast or unspecified address")
	}
	return f, nil
}

// rejectReply is the answer to a rejected frame, or an error saying why
// it gets none.
func rejectReply(b []byte) ([]byte, error) {
	f, err := parseFrame(b)
	if err != nil {
		return nil, err
	}
	if f.fragmented {
		return nil, fmt.Errorf("a later fragment")
	}
	if f.proto == protoTCP {
		return f.tcpReset()
	}
	if (f.proto == protoICMP && !f.v6 || f.proto == protoICMPv6 && f.v6) && (len(f.l4) < 1 || isICMPError(f.l4[0], f.v6)) {
		return nil, fmt.Errorf("an ICMP error")
	}
	return f.unreachable(), nil
}

func isICMPError(typ byte, v6 bool) bool {
	if v6 {
		return typ < 128
	}
	return typ == 3 || typ == 4 || typ == 5 || typ == 11 || typ == 12
}

// tcpReset answers a segment with RST: acknowledging it if it carried no
// ACK, else at the sequence number it acknowledged (RFC 9293 3.10.7.1).
func (f *frame) tcpReset() ([]byte, error) {
	if len(f.l4) < tcpHeader {
		return nil, fmt.Errorf("short TCP header")
	}
	in := f.l4
	flags := in[13]
	if flags&tcpRST != 0 {
		return nil, fmt.Errorf("a RST")
	}
	off := int(in[12]>>4) * 4
	if off < tcpHeader || off > len(in) {
		return nil, fmt.Errorf("bad TCP data offset")
	}
	seg := make([]byte, tcpHeader)
	copy(seg[0:2], in[2:4]) // ports swapped
	copy(seg[2:4], in[0:2])
	if flags&tcpACK != 0 {
		copy(seg[4:8], in[8:12])
		seg[13] = tcpRST
	} else {
		n := uint32(len(in) - off)
		if flags&tcpSYN != 0 {
			n++
		}
		if flags&tcpFIN != 0 {
			n++
		}
		be.PutUint32(seg[8:], be.Uint32(in[4:])+n)
		seg[13] = tcpRST | tcpACK
	}
	seg[12] = tcpHeader / 4 << 4
	return f.reply(protoTCP, seg), nil
}

// unreachable is ICMP destination unreachable quoting the packet: its IP
// header and 8 bytes (IPv4), as much as fits in 1280 bytes (IPv6).
func (f *frame) unreachable() []byte {
	var msg []byte
	if f.v6 {
		code := byte(1) // administratively prohibited
		if f.proto == protoUDP {
			code = 4 // port unreachable
		}
		quote := f.ip[:min(len(f.ip), 1280-ipv6Header-8)]
		msg = append([]byte{1, code, 0, 0, 0, 0, 0, 0}, quote...)
		return f.reply(protoICMPv6, msg)
	}
	code := byte(13) // communication administratively prohibited
	if f.proto == protoUDP {
		code = 3 // port unreachable
	}
	ihl := int(f.ip[0]&0x0f) * 4
	quote := f.ip[:min(len(f.ip), ihl+8)]
	msg = append([]byte{3, code, 0, 0, 0, 0, 0, 0}, quote...)
	return f.reply(protoICMP, msg)
}

// reply wraps an L4 payload from the packet's destination back to its
// source, checksums filled in.
func (f *frame) reply(proto byte, l4 []byte) []byte {
	return ipFrame(f.dst, f.src, f.ipDst, f.ipSrc, proto, l4)
}

// ipFrame builds an Ethernet frame carrying an IPv4 or IPv6 packet (by
// the family of src; TTL or hop limit 255) with l4, checksums filled in.
func ipFrame(ethSrc, ethDst net.HardwareAddr, src, dst net.IP, proto byte, l4 []byte) []byte {
	out := make([]byte, 0, ethHeader+ipv6Header+len(l4))
	out = append(out, ethDst...)
	out = append(out, ethSrc...)
	if src.To4() == nil {
		out = append(out, 0x86, 0xdd)
		h := make([]byte, ipv6Header)
		h[0] = 0x60
		be.PutUint16(h[4:], uint16(len(l4)))
		h[6], h[7] = proto, 255
		copy(h[8:24], src.To16())
		copy(h[24:40], dst.To16())
		out = append(out, h...)
	} else {
		out = append(out, 0x08, 0x00)
		h := make([]byte, ipv4Header)
		h[0] = 0x45
		be.PutUint16(h[2:], uint16(ipv4Header+len(l4)))
		h[8], h[9] = 255, proto
		copy(h[12:16], src.To4())
		copy(h[16:20], dst.To4())
		be.PutUint16(h[10:], checksum(h, 0))
		out = append(out, h...)
	}
	start := len(out)
	out = append(out, l4...)
	seg := out[start:]
	sumAt := map[byte]int{protoTCP: 16, protoUDP: 6, protoICMP: 2, protoICMPv6: 2}[proto]
	var pseudo uint32
	if proto != protoICMP { // ICMPv4 has no pseudo-header
		pseudo = pseudoSum(src, dst, proto, len(seg))
	}
	sum := checksum(seg, pseudo)
	if sum == 0 && proto == protoUDP {
		sum = 0xffff // 0 would say "no checksum"
	}
	be.PutUint16(seg[sumAt:], sum)
	return out
}

// pseudoSum is the IPv4 or IPv6 pseudo-header's sum.
func pseudoSum(src, dst net.IP, proto byte, n int) uint32 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(be.Uint16(b[i:]))
		}
	}
	if v4 := src.To4(); v4 != nil {
		add(v4)
		add(dst.To4())
	} else {
		add(src.To16())
		add(dst.To16())
	}
	return sum + uint32(proto) + uint32(n)
}

// checksum is the Internet checksum of b over an initial sum.
func checksum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(be.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
