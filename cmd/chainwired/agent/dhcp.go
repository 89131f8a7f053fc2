package agent

import (
	"bytes"
	"fmt"
	"net"

	"github.com/chainwire/chainwire/pipeline"
)

// DHCPv4 answers, built as ovn-controller's put_dhcp_opts builds them:
// the flow that sends a port's request up carries the answer's data
// (pipeline.DHCPv4Userdata: server MAC and address, the port's address,
// the options in wire form), so answering reads no model. DISCOVER gets
// OFFER, REQUEST for the port's address ACK and for another NAK; requests
// for another server, RELEASE, DECLINE and INFORM get nothing.

const (
	bootpFixed  = 236 // op .. file
	bootpMin    = 300 // what BOOTP relays and old clients expect at least
	dhcpCookie  = 0x63825363
	dhcpOptType = 53
	dhcpOptReq  = 50 // requested address
	dhcpOptSrv  = 54 // server identifier
	dhcpOptEnd  = 255
	dhcpOptPad  = 0

	dhcpDiscover = 1
	dhcpOffer    = 2
	dhcpRequest  = 3
	dhcpAck      = 5
	dhcpNak      = 6
)

var ipv4Bcast = net.IPv4bcast.To4()

// dhcpv4Reply answers the request frame b with what userdata holds, or
// says why it gets no answer.
func dhcpv4Reply(b, userdata []byte) ([]byte, error) {
	ud, err := pipeline.ParseDHCPv4Userdata(userdata)
	if err != nil {
		return nil, err
	}
	f, err := parseUDP4(b, 68, 67)
	if err != nil {
		return nil, err
	}
	req := f.payload
	if len(req) < bootpFixed+4 || req[0] != 1 || req[1] != 1 || req[2] != 6 || be.Uint32(req[bootpFixed:]) != dhcpCookie {
		return nil, fmt.Errorf("not a DHCP request")
	}
	if !bytes.Equal(req[28:34], f.ethSrc) {
		return nil, fmt.Errorf("client hardware address %s is not the sender %s", net.HardwareAddr(req[28:34]), f.ethSrc)
	}
	opts, err := dhcpOptions(req[bootpFixed+4:])
	if err != nil {
		return nil, err
	}
	if srv, ok := opts[dhcpOptSrv]; ok && !bytes.Equal(srv, ud.ServerIP) {
		return nil, fmt.Errorf("for server %s", net.IP(srv))
	}
	ciaddr := net.IP(req[12:16])
	var typ byte
	switch t := opts[dhcpOptType]; {
	case len(t) != 1:
		return nil, fmt.Errorf("no DHCP message type")
	case t[0] == dhcpDiscover:
		typ = dhcpOffer
	case t[0] == dhcpRequest:
		want := net.IP(opts[dhcpOptReq])
		if len(want) != 4 {
			want = ciaddr // renewing or rebinding
		}
		typ = dhcpAck
		if !want.Equal(ud.Offer) {
			typ = dhcpNak
		}
	default:
		return nil, fmt.Errorf("DHCP message type %d is not answered", t[0])
	}

	rep := make([]byte, bootpFixed, bootpMin)
	rep[0], rep[1], rep[2] = 2, 1, 6
	copy(rep[4:8], req[4:8])     // xid
	copy(rep[10:12], req[10:12]) // flags
	copy(rep[12:16], req[12:16]) // ciaddr
	copy(rep[24:44], req[24:44]) // giaddr, chaddr
	rep = be.AppendUint32(rep, dhcpCookie)
	rep = append(rep, dhcpOptType, 1, typ)
	if typ == dhcpNak {
		rep = append(rep, dhcpOptSrv, 4)
		rep = append(rep, ud.ServerIP...)
	} else {
		copy(rep[16:20], ud.Offer) // yiaddr
		rep = append(rep, ud.Options...)
	}
	rep = append(rep, dhcpOptEnd)
	for len(rep) < bootpMin {
		rep = append(rep, dhcpOptPad)
	}

	// RFC 2131 4.1: to a renewing client's address; broadcast for a NAK
	// or when the client asks for it; else to the address it is offered.
	dst, ethDst := ud.Offer, f.ethSrc
	switch {
	case typ == dhcpNak || req[10]&0x80 != 0:
		dst, ethDst = ipv4Bcast, macBroadcast
	case !ciaddr.IsUnspecified():
		dst = ciaddr
	}
	return ipFrame(ud.ServerMAC, ethDst, ud.ServerIP, dst, protoUDP, udpDatagram(67, 68, rep)), nil
}

var macBroadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// dhcpOptions reads DHCP options up to the end option; a repeated
// option keeps its first value.
func dhcpOptions(b []byte) (map[byte][]byte, error) {
	out := map[byte][]byte{}
	for len(b) > 0 {
		code := b[0]
		switch code {
		case dhcpOptPad:
			b = b[1:]
			continue
		case dhcpOptEnd:
			return out, nil
		}
		if len(b) < 2 || len(b) < 2+int(b[1]) {
			return nil, fmt.Errorf("truncated DHCP option %d", code)
		}
		if _, seen := out[code]; !seen {
			out[code] = b[2 : 2+int(b[1])]
		}
		b = b[2+int(b[1]):]
	}
	return nil, fmt.Errorf("DHCP options without an end")
}

// udp4 is an IPv4 UDP datagram's parts.
type udp4 struct {
	ethSrc       net.HardwareAddr
	ipSrc, ipDst net.IP
	payload      []byte
}

// parseUDP4 reads an IPv4 UDP frame between the given ports.
func parseUDP4(b []byte, sport, dport uint16) (*udp4, error) {
	if len(b) < ethHeader+ipv4Header+8 || be.Uint16(b[12:]) != 0x0800 {
		return nil, fmt.Errorf("not an IPv4 frame")
	}
	ip := b[ethHeader:]
	ihl, total := int(ip[0]&0x0f)*4, int(be.Uint16(ip[2:]))
	if ip[0]>>4 != 4 || ihl < ipv4Header || total < ihl+8 || total > len(ip) || ip[9] != protoUDP {
		return nil, fmt.Errorf("not a well-formed IPv4 UDP packet")
	}
	udp := ip[ihl:total]
	if be.Uint16(udp) != sport || be.Uint16(udp[2:]) != dport || int(be.Uint16(udp[4:])) < 8 || int(be.Uint16(udp[4:])) > len(udp) {
		return nil, fmt.Errorf("not UDP %d to %d", sport, dport)
	}
	return &udp4{ethSrc: net.HardwareAddr(b[6:12]), ipSrc: net.IP(ip[12:16]), ipDst: net.IP(ip[16:20]),
		payload: udp[8:be.Uint16(udp[4:])]}, nil
}

// udpDatagram is a UDP header and payload; ipFrame fills the checksum.
func udpDatagram(sport, dport uint16, payload []byte) []byte {
	d := make([]byte, 8, 8+len(payload))
	be.PutUint16(d, sport)
	be.PutUint16(d[2:], dport)
	be.PutUint16(d[4:], uint16(8+len(payload)))
	return append(d, payload...)
}

// DHCPv6 answers (RFC 8415), from pipeline.DHCPv6Userdata: SOLICIT gets
// ADVERTISE, REQUEST, RENEW and REBIND get REPLY with the port's address
// in the client's IA_NA (none when stateless), INFORMATION-REQUEST gets
// REPLY with the options only. The server's DUID is DUID-LL of its MAC;
// it sends from that MAC's link-local address.

const (
	dhcp6Solicit   = 1
	dhcp6Advertise = 2
	dhcp6Request   = 3
	dhcp6Renew     = 5
	dhcp6Rebind    = 6
	dhcp6Reply     = 7
	dhcp6InfoReq   = 11

	dhcp6OptClientID = 1
	dhcp6OptServerID = 2
	dhcp6OptIANA     = 3
	dhcp6OptIAAddr   = 5

	// Address lifetimes: preferred and valid an hour, T1 and T2 at the
	// usual 0.5 and 0.8 of it.
	dhcp6Lifetime = 3600
	dhcp6T1       = 1800
	dhcp6T2       = 2880
)

// dhcpv6Reply answers the DHCPv6 frame b with what userdata holds, or
// says why it gets no answer.
func dhcpv6Reply(b, userdata []byte) ([]byte, error) {
	ud, err := pipeline.ParseDHCPv6Userdata(userdata)
	if err != nil {
		return nil, err
	}
	if len(b) < ethHeader+ipv6Header+8+4 || be.Uint16(b[12:]) != 0x86dd {
		return nil, fmt.Errorf("not an IPv6 frame of a DHCPv6 message's size")
	}
	ip := b[ethHeader:]
	plen := int(be.Uint16(ip[4:]))
	if ip[6] != protoUDP || ipv6Header+plen > len(ip) || plen < 12 {
		return nil, fmt.Errorf("not a well-formed IPv6 UDP packet")
	}
	udp := ip[ipv6Header : ipv6Header+plen]
	if be.Uint16(udp) != 546 || be.Uint16(udp[2:]) != 547 || int(be.Uint16(udp[4:])) != plen {
		return nil, fmt.Errorf("not UDP 546 to 547")
	}
	msg := udp[8:]
	opts, err := dhcp6Options(msg[4:])
	if err != nil {
		return nil, err
	}
	duid := append([]byte{0, 3, 0, 1}, ud.ServerMAC...)
	client, ok := opts[dhcp6OptClientID]
	if !ok {
		return nil, fmt.Errorf("no client identifier")
	}
	if srv, ok := opts[dhcp6OptServerID]; ok && !bytes.Equal(srv, duid) {
		return nil, fmt.Errorf("for another server")
	}
	var typ byte
	switch msg[0] {
	case dhcp6Solicit:
		typ = dhcp6Advertise
	case dhcp6Request, dhcp6Renew, dhcp6Rebind, dhcp6InfoReq:
		typ = dhcp6Reply
	default:
		return nil, fmt.Errorf("DHCPv6 message type %d is not answered", msg[0])
	}
	rep := append([]byte{typ}, msg[1:4]...) // transaction id
	rep = appendOpt6(rep, dhcp6OptClientID, client)
	rep = appendOpt6(rep, dhcp6OptServerID, duid)
	if ia, ok := opts[dhcp6OptIANA]; ok && len(ia) >= 12 && !ud.Stateless && msg[0] != dhcp6InfoReq {
		addr := append(append([]byte{}, ud.Offer.To16()...), be32(dhcp6Lifetime)...)
		addr = append(addr, be32(dhcp6Lifetime)...)
		body := append(append(append([]byte{}, ia[:4]...), be32(dhcp6T1)...), be32(dhcp6T2)...)
		rep = appendOpt6(rep, dhcp6OptIANA, appendOpt6(body, dhcp6OptIAAddr, addr))
	}
	rep = append(rep, ud.Options...)
	src := linkLocalOf(ud.ServerMAC)
	return ipFrame(ud.ServerMAC, net.HardwareAddr(b[6:12]), src, net.IP(ip[8:24]), protoUDP, udpDatagram(547, 546, rep)), nil
}

// dhcp6Options reads DHCPv6 options (code and length of 16 bits each);
// a repeated option keeps its first value.
func dhcp6Options(b []byte) (map[uint16][]byte, error) {
	out := map[uint16][]byte{}
	for len(b) > 0 {
		if len(b) < 4 || len(b) < 4+int(be.Uint16(b[2:])) {
			return nil, fmt.Errorf("truncated DHCPv6 option")
		}
		code, n := be.Uint16(b), int(be.Uint16(b[2:]))
		if _, seen := out[code]; !seen {
			out[code] = b[4 : 4+n]
		}
		b = b[4+n:]
	}
	return out, nil
}

func appendOpt6(b []byte, code uint16, v []byte) []byte {
	b = be.AppendUint16(b, code)
	b = be.AppendUint16(b, uint16(len(v)))
	return append(b, v...)
}

func be32(v uint32) []byte { return be.AppendUint32(nil, v) }

// linkLocalOf is a MAC's EUI-64 link-local address.
func linkLocalOf(mac net.HardwareAddr) net.IP {
	ip := make(net.IP, 16)
	ip[0], ip[1] = 0xfe, 0x80
	copy(ip[8:], []byte{mac[0] ^ 2, mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]})
	return ip
}
