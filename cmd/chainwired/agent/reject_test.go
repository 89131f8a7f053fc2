package agent

import (
	"bytes"
	"net"
	"testing"
)

var (
	macA = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	macB = net.HardwareAddr{2, 0, 0, 0, 0, 2}
)

// ipv4Frame is an Ethernet frame with an IPv4 packet from 10.0.0.1 to
// 10.0.0.2 (checksums are not checked by rejectReply: zero).
func ipv4Frame(proto byte, l4 []byte) []byte {
	b := append(append(append([]byte{}, macB...), macA...), 0x08, 0x00)
	h := make([]byte, 20)
	h[0], h[8], h[9] = 0x45, 64, proto
	be.PutUint16(h[2:], uint16(20+len(l4)))
	copy(h[12:], net.IPv4(10, 0, 0, 1).To4())
	copy(h[16:], net.IPv4(10, 0, 0, 2).To4())
	return append(append(b, h...), l4...)
}

func tcpSegment(sport, dport uint16, seq, ack uint32, flags byte, payload int) []byte {
	s := make([]byte, 20+payload)
	be.PutUint16(s, sport)
	be.PutUint16(s[2:], dport)
	be.PutUint32(s[4:], seq)
	be.PutUint32(s[8:], ack)
	s[12], s[13] = 5<<4, flags
	return s
}

// valid checks the reply's addresses and its IPv4 and L4 checksums.
func valid(t *testing.T, reply []byte, proto byte) []byte {
	t.Helper()
	if !bytes.Equal(reply[0:6], macA) || !bytes.Equal(reply[6:12], macB) {
		t.Fatalf("reply goes %x -> %x, want back to the sender", reply[6:12], reply[0:6])
	}
	ip := reply[14:]
	if checksum(ip[:20], 0) != 0 {
		t.Error("bad IPv4 header checksum")
	}
	if !net.IP(ip[12:16]).Equal(net.IPv4(10, 0, 0, 2)) || !net.IP(ip[16:20]).Equal(net.IPv4(10, 0, 0, 1)) || ip[9] != proto {
		t.Fatalf("reply %v -> %v proto %d", net.IP(ip[12:16]), net.IP(ip[16:20]), ip[9])
	}
	l4 := ip[20:]
	var pseudo uint32
	if proto == protoTCP {
		pseudo = pseudoSum(net.IP(ip[12:16]), net.IP(ip[16:20]), proto, len(l4))
	}
	if checksum(l4, pseudo) != 0 {
		t.Error("bad L4 checksum")
	}
	return l4
}

func TestRejectAnswersTCPWithRST(t *testing.T) {
	reply, err := rejectReply(ipv4Frame(protoTCP, tcpSegment(40000, 22, 1000, 0, tcpSYN, 0)))
	if err != nil {
		t.Fatal(err)
	}
	seg := valid(t, reply, protoTCP)
	if be.Uint16(seg) != 22 || be.Uint16(seg[2:]) != 40000 || seg[13] != tcpRST|tcpACK || be.Uint32(seg[8:]) != 1001 {
		t.Errorf("RST for a SYN: ports %d->%d flags %#x ack %d", be.Uint16(seg), be.Uint16(seg[2:]), seg[13], be.Uint32(seg[8:]))
	}
	reply, err = rejectReply(ipv4Frame(protoTCP, tcpSegment(40000, 22, 1000, 777, tcpACK, 10)))
	if err != nil {
		t.Fatal(err)
	}
	if seg := valid(t, reply, protoTCP); seg[13] != tcpRST || be.Uint32(seg[4:]) != 777 {
		t.Errorf("RST for an ACK: flags %#x seq %d, want RST at 777", seg[13], be.Uint32(seg[4:]))
	}
}

func TestRejectAnswersUDPWithPortUnreachable(t *testing.T) {
	udp := []byte{0x9c, 0x40, 0, 53, 0, 12, 0, 0, 'q', 'u', 'e', 'r'}
	reply, err := rejectReply(ipv4Frame(protoUDP, udp))
	if err != nil {
		t.Fatal(err)
	}
	icmp := valid(t, reply, protoICMP)
	if icmp[0] != 3 || icmp[1] != 3 || !bytes.Equal(icmp[8+20:8+28], udp[:8]) {
		t.Errorf("ICMP %d/%d quoting %x", icmp[0], icmp[1], icmp[8:])
	}
}

func TestRejectNeverAnswersErrorsOrBroadcast(t *testing.T) {
	for what, f := range map[string][]byte{
		"a RST":         ipv4Frame(protoTCP, tcpSegment(1, 2, 3, 4, tcpRST, 0)),
		"an ICMP error": ipv4Frame(protoICMP, []byte{3, 3, 0, 0, 0, 0, 0, 0}),
		"broadcast":     append(append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, macA...), ipv4Frame(protoUDP, make([]byte, 8))[12:]...),
		"short":         ipv4Frame(protoTCP, []byte{1, 2, 3})[:30],
		"ARP":           append(append(append([]byte{}, macB...), macA...), 0x08, 0x06, 0, 1),
	} {
		if reply, err := rejectReply(f); err == nil {
			t.Errorf("%s got an answer: %x", what, reply)
		}
	}
}
