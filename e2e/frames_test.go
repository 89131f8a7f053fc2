package e2e

import (
	"encoding/binary"
	"encoding/hex"
	"net"
)

// Raw frames for the spoofing tests, sent with the "frame" helper.

func mac(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

// arpFrame is an ARP reply (op 2) or request (op 1), broadcast.
func arpFrame(src string, op uint16, sha, spa, tpa string) string {
	b := append(append([]byte{}, mac("ff:ff:ff:ff:ff:ff")...), mac(src)...)
	b = append(b, 0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4)
	b = binary.BigEndian.AppendUint16(b, op)
	b = append(b, mac(sha)...)
	b = append(b, net.ParseIP(spa).To4()...)
	b = append(b, make([]byte, 6)...)
	b = append(b, net.ParseIP(tpa).To4()...)
	return hex.EncodeToString(b)
}

// echoFrame is an IPv4 ICMP echo request (checksums zero: the receiver's
// capture sees it all the same).
func echoFrame(src, dst, ipSrc, ipDst string) string {
	b := append(append([]byte{}, mac(dst)...), mac(src)...)
	b = append(b, 0x08, 0x00)
	h := make([]byte, 20)
	h[0], h[8], h[9] = 0x45, 64, 1
	binary.BigEndian.PutUint16(h[2:], 28)
	copy(h[12:], net.ParseIP(ipSrc).To4())
	copy(h[16:], net.ParseIP(ipDst).To4())
	b = append(b, h...)
	return hex.EncodeToString(append(b, 8, 0, 0, 0, 0, 1, 0, 1))
}

// naFrame is an unsolicited neighbour advertisement to all nodes:
// target's link-layer address is tll.
func naFrame(src, ipSrc, target, tll string) string {
	b := append(append([]byte{}, mac("33:33:00:00:00:01")...), mac(src)...)
	b = append(b, 0x86, 0xdd)
	icmp := []byte{136, 0, 0, 0, 0x20, 0, 0, 0} // override
	icmp = append(icmp, net.ParseIP(target).To16()...)
	icmp = append(icmp, 2, 1)
	icmp = append(icmp, mac(tll)...)
	s, d := net.ParseIP(ipSrc).To16(), net.ParseIP("ff02::1").To16()
	var sum uint32
	for _, part := range [][]byte{s, d, icmp} {
		for i := 0; i+1 < len(part); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(part[i:]))
		}
	}
	sum += uint32(len(icmp)) + 58
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(icmp[2:], ^uint16(sum))
	h := make([]byte, 40)
	h[0], h[6], h[7] = 0x60, 58, 255
	binary.BigEndian.PutUint16(h[4:], uint16(len(icmp)))
	copy(h[8:], s)
	copy(h[24:], d)
	return hex.EncodeToString(append(append(b, h...), icmp...))
}
