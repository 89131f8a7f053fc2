package agent

import (
	"bytes"
	"net"
	"testing"

	"github.com/chainwire/chainwire/pipeline"
)

var (
	serverMAC = net.HardwareAddr{2, 0, 0, 0, 0, 0xfe}
	serverIP  = net.IPv4(10, 0, 0, 254).To4()
	offer     = net.IPv4(10, 0, 0, 1).To4()
)

func dhcpUserdata() []byte {
	opts := []byte{1, 4, 255, 255, 255, 0, 3, 4, 10, 0, 0, 254, 51, 4, 0, 0, 0x0e, 0x10, 54, 4, 10, 0, 0, 254}
	return pipeline.DHCPv4Userdata{ServerMAC: serverMAC, ServerIP: serverIP, Offer: offer, Options: opts}.Bytes()
}

// dhcpMsg is macA's DHCP message of type typ (options 50 and 54 if
// given), from 0.0.0.0 to broadcast, or from ciaddr when set.
func dhcpMsg(typ byte, requested, server, ciaddr net.IP) []byte {
	m := make([]byte, bootpFixed)
	m[0], m[1], m[2] = 1, 1, 6
	copy(m[4:8], []byte{1, 2, 3, 4})
	copy(m[28:34], macA)
	src := net.IPv4zero.To4()
	if ciaddr != nil {
		copy(m[12:16], ciaddr.To4())
		src = ciaddr.To4()
	}
	m = be.AppendUint32(m, dhcpCookie)
	m = append(m, dhcpOptType, 1, typ)
	if requested != nil {
		m = append(append(m, dhcpOptReq, 4), requested.To4()...)
	}
	if server != nil {
		m = append(append(m, dhcpOptSrv, 4), server.To4()...)
	}
	m = append(m, dhcpOptEnd)
	return ipFrame(macA, macBroadcast, src, ipv4Bcast, protoUDP, udpDatagram(68, 67, m))
}

// answer decodes a reply: its type, yiaddr, destination and options.
func answer(t *testing.T, frame []byte) (typ byte, yiaddr, dst net.IP, opts map[byte][]byte) {
	t.Helper()
	f, err := parseUDP4(frame, 67, 68)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(frame[6:12], serverMAC) || !f.ipSrc.Equal(serverIP) {
		t.Fatalf("reply from %s %s, want the server's", net.HardwareAddr(frame[6:12]), f.ipSrc)
	}
	udp := frame[ethHeader+ipv4Header:]
	if checksum(udp, pseudoSum(f.ipSrc, f.ipDst, protoUDP, len(udp))) != 0 {
		t.Error("UDP checksum does not verify")
	}
	if len(f.payload) < bootpMin || f.payload[0] != 2 || !bytes.Equal(f.payload[4:8], []byte{1, 2, 3, 4}) {
		t.Fatalf("not a BOOTP reply to our xid: %x", f.payload[:8])
	}
	opts, err = dhcpOptions(f.payload[bootpFixed+4:])
	if err != nil {
		t.Fatal(err)
	}
	return opts[dhcpOptType][0], net.IP(f.payload[16:20]), f.ipDst, opts
}

func TestDHCPv4OfferAckNak(t *testing.T) {
	ud := dhcpUserdata()
	r, err := dhcpv4Reply(dhcpMsg(dhcpDiscover, nil, nil, nil), ud)
	if err != nil {
		t.Fatal(err)
	}
	typ, yi, dst, opts := answer(t, r)
	if typ != dhcpOffer || !yi.Equal(offer) || !dst.Equal(offer) || !bytes.Equal(opts[1], []byte{255, 255, 255, 0}) ||
		!bytes.Equal(opts[3], serverIP) || !bytes.Equal(opts[54], serverIP) || len(opts[51]) != 4 {
		t.Fatalf("DISCOVER: type %d, yiaddr %s, to %s, options %v", typ, yi, dst, opts)
	}
	r, _ = dhcpv4Reply(dhcpMsg(dhcpRequest, offer, serverIP, nil), ud)
	if typ, yi, _, _ := answer(t, r); typ != dhcpAck || !yi.Equal(offer) {
		t.Fatalf("REQUEST of the offer: type %d, yiaddr %s", typ, yi)
	}
	// A renewal: unicast from the client's address, answered there.
	r, _ = dhcpv4Reply(dhcpMsg(dhcpRequest, nil, nil, offer), ud)
	if typ, _, dst, _ := answer(t, r); typ != dhcpAck || !dst.Equal(offer) {
		t.Fatalf("renewal: type %d to %s", typ, dst)
	}
	r, _ = dhcpv4Reply(dhcpMsg(dhcpRequest, net.IPv4(10, 0, 0, 9), serverIP, nil), ud)
	if typ, yi, dst, _ := answer(t, r); typ != dhcpNak || !yi.Equal(net.IPv4zero) || !dst.Equal(ipv4Bcast) {
		t.Fatalf("REQUEST of another address: type %d, yiaddr %s, to %s", typ, yi, dst)
	}
}

func TestDHCPv4NotAnswered(t *testing.T) {
	ud := dhcpUserdata()
	spoofed := dhcpMsg(dhcpDiscover, nil, nil, nil)
	copy(spoofed[6:12], macB) // chaddr is macA
	for name, frame := range map[string][]byte{
		"a request for another server": dhcpMsg(dhcpRequest, offer, net.IPv4(10, 0, 0, 253), nil),
		"a RELEASE":                    dhcpMsg(7, nil, nil, offer),
		"a chaddr not the sender's":    spoofed,
		"truncated":                    dhcpMsg(dhcpDiscover, nil, nil, nil)[:100],
	} {
		if r, err := dhcpv4Reply(frame, ud); err == nil {
			t.Errorf("%s answered: %x", name, r)
		}
	}
}

var offer6 = net.ParseIP("fd00::1")

func dhcp6Userdata(stateless bool) []byte {
	dns := []byte{0, 23, 0, 16}
	dns = append(dns, net.ParseIP("fd00::53").To16()...)
	return pipeline.DHCPv6Userdata{ServerMAC: serverMAC, Stateless: stateless, Offer: offer6, Options: dns}.Bytes()
}

// dhcp6Msg is macA's DHCPv6 message of type typ from its link-local
// address, with a client id, an IA_NA (iaid 7) and a server id if given.
func dhcp6Msg(typ byte, withIA bool, server []byte) []byte {
	m := []byte{typ, 0xa, 0xb, 0xc}
	m = appendOpt6(m, dhcp6OptClientID, []byte{0, 3, 0, 1, 2, 0, 0, 0, 0, 1})
	if withIA {
		m = appendOpt6(m, dhcp6OptIANA, make([]byte, 12))
		m[len(m)-9] = 7
	}
	if server != nil {
		m = appendOpt6(m, dhcp6OptServerID, server)
	}
	return ipFrame(macA, net.HardwareAddr{0x33, 0x33, 0, 1, 0, 2}, linkLocalOf(macA), net.ParseIP("ff02::1:2"), protoUDP, udpDatagram(546, 547, m))
}

func answer6(t *testing.T, frame []byte) (typ byte, opts map[uint16][]byte) {
	t.Helper()
	ip := frame[ethHeader:]
	if !bytes.Equal(frame[0:6], macA) || !net.IP(ip[8:24]).Equal(linkLocalOf(serverMAC)) || !net.IP(ip[24:40]).Equal(linkLocalOf(macA)) {
		t.Fatalf("reply %s > %s", net.IP(ip[8:24]), net.IP(ip[24:40]))
	}
	udp := ip[ipv6Header:]
	if checksum(udp, pseudoSum(net.IP(ip[8:24]), net.IP(ip[24:40]), protoUDP, len(udp))) != 0 {
		t.Error("UDP checksum does not verify")
	}
	msg := udp[8:]
	if !bytes.Equal(msg[1:4], []byte{0xa, 0xb, 0xc}) {
		t.Fatalf("transaction id %x", msg[1:4])
	}
	opts, err := dhcp6Options(msg[4:])
	if err != nil {
		t.Fatal(err)
	}
	return msg[0], opts
}

func TestDHCPv6(t *testing.T) {
	duid := append([]byte{0, 3, 0, 1}, serverMAC...)
	r, err := dhcpv6Reply(dhcp6Msg(dhcp6Solicit, true, nil), dhcp6Userdata(false))
	if err != nil {
		t.Fatal(err)
	}
	typ, opts := answer6(t, r)
	ia := opts[dhcp6OptIANA]
	if typ != dhcp6Advertise || !bytes.Equal(opts[dhcp6OptServerID], duid) || len(ia) != 12+4+24 || ia[3] != 7 ||
		!net.IP(ia[16:32]).Equal(offer6) || len(opts[23]) != 16 {
		t.Fatalf("SOLICIT: type %d, options %x", typ, opts)
	}
	r, err = dhcpv6Reply(dhcp6Msg(dhcp6Request, true, duid), dhcp6Userdata(false))
	if err != nil {
		t.Fatal(err)
	}
	if typ, opts := answer6(t, r); typ != dhcp6Reply || opts[dhcp6OptIANA] == nil {
		t.Fatalf("REQUEST: type %d, options %x", typ, opts)
	}
	r, err = dhcpv6Reply(dhcp6Msg(dhcp6InfoReq, false, nil), dhcp6Userdata(true))
	if err != nil {
		t.Fatal(err)
	}
	if typ, opts := answer6(t, r); typ != dhcp6Reply || opts[dhcp6OptIANA] != nil || len(opts[23]) != 16 {
		t.Fatalf("stateless INFORMATION-REQUEST: type %d, options %x", typ, opts)
	}
	if r, err := dhcpv6Reply(dhcp6Msg(dhcp6Request, true, []byte{0, 3, 0, 1, 9, 9, 9, 9, 9, 9}), dhcp6Userdata(false)); err == nil {
		t.Errorf("a REQUEST for another server answered: %x", r)
	}
}
