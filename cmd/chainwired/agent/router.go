package agent

import (
	"fmt"
	"net"
)

// Answers for logical routers (pipeline/router.go): ICMP time exceeded
// for a packet whose TTL the router would expire, and IPv6 echo replies
// from a router address. Both go back into the switch the packet came
// from, by its router-type port (pipeline.RouterAnswerActions).

// routerUserdata is a router packet-in's userdata: the peer switch's
// datapath and router-type port, and for time exceeded the router
// port's MAC and address.
type routerUserdata struct {
	dp, port uint32
	mac      net.HardwareAddr
	ip       net.IP
}

func parseRouterUserdata(u []byte) (routerUserdata, error) {
	if len(u) < 9 {
		return routerUserdata{}, fmt.Errorf("router userdata of %d bytes", len(u))
	}
	r := routerUserdata{dp: be.Uint32(u[1:]), port: be.Uint32(u[5:])}
	switch rest := u[9:]; len(rest) {
	case 0:
	case 6 + 4, 6 + 16:
		r.mac, r.ip = net.HardwareAddr(rest[:6]), net.IP(rest[6:])
	default:
		return routerUserdata{}, fmt.Errorf("router userdata of %d bytes", len(u))
	}
	return r, nil
}

// timeExceeded is ICMP time exceeded (in transit) from the router port
// for the packet, quoting its start as unreachable does; never for an
// ICMP error or a later fragment.
func timeExceeded(b []byte, u routerUserdata) ([]byte, error) {
	f, err := parseFrame(b)
	if err != nil {
		return nil, err
	}
	if u.ip == nil || (u.ip.To4() == nil) != f.v6 {
		return nil, fmt.Errorf("the router port has no address of the packet's family")
	}
	if f.fragmented {
		return nil, fmt.Errorf("a later fragment")
	}
	if (f.proto == protoICMP && !f.v6 || f.proto == protoICMPv6 && f.v6) && (len(f.l4) < 1 || isICMPError(f.l4[0], f.v6)) {
		return nil, fmt.Errorf("an ICMP error")
	}
	if f.v6 {
		quote := f.ip[:min(len(f.ip), 1280-ipv6Header-8)]
		return ipFrame(u.mac, f.src, u.ip, f.ipSrc, protoICMPv6, append([]byte{3, 0, 0, 0, 0, 0, 0, 0}, quote...)), nil
	}
	ihl := int(f.ip[0]&0x0f) * 4
	quote := f.ip[:min(len(f.ip), ihl+8)]
	return ipFrame(u.mac, f.src, u.ip, f.ipSrc, protoICMP, append([]byte{11, 0, 0, 0, 0, 0, 0, 0}, quote...)), nil
}

// echo6Reply answers an ICMPv6 echo request to a router address.
func echo6Reply(b []byte) ([]byte, error) {
	f, err := parseFrame(b)
	if err != nil {
		return nil, err
	}
	if !f.v6 || f.proto != protoICMPv6 || len(f.l4) < 8 || f.l4[0] != 128 {
		return nil, fmt.Errorf("not an ICMPv6 echo request")
	}
	msg := append([]byte{129, 0, 0, 0}, f.l4[4:]...)
	return f.reply(protoICMPv6, msg), nil
}
