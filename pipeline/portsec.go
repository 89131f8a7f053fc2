package pipeline

import "net"

// IP and neighbour port security, as ovn-northd builds ls_in_port_sec_ip,
// ls_in_port_sec_nd and ls_out_port_sec_ip. Only a port whose
// port_security lists IPs is restricted at L3, per entry (MAC and its
// IPs): an entry with only IPv4 addresses allows no IPv6 from its MAC and
// the other way round. ARP and ND are restricted for every entry: the
// sender's hardware address must be the entry's MAC, and its protocol
// addresses the entry's IPs. A port without port_security gets none of
// these flows: the stages' defaults pass its packets.

const (
	prioSecAllow = 90
	prioSecDrop  = 80
)

const (
	ethIPv4 = 0x0800
	ethIPv6 = 0x86dd
	ethARP  = 0x0806

	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58

	icmp6MLDv2Report = 143
	icmp6MLDReport   = 131
	icmp6NS          = 135
	icmp6NA          = 136
)

var (
	ipv4Broadcast = net.IPv4(255, 255, 255, 255).To4()
	ipv4Multicast = &net.IPNet{IP: net.IPv4(224, 0, 0, 0).To4(), Mask: net.CIDRMask(4, 32)}
	ipv6Multicast = &net.IPNet{IP: net.ParseIP("ff00::"), Mask: net.CIDRMask(8, 128)}
	ipv6AllNodes  = &net.IPNet{IP: net.ParseIP("ff02::"), Mask: net.CIDRMask(16, 128)}
	zeroMAC       = net.HardwareAddr{0, 0, 0, 0, 0, 0}
)

// secEntry is one port_security entry split by family.
type secEntry struct {
	mac    net.HardwareAddr
	v4, v6 []*net.IPNet
	lla    net.IP // the MAC's IPv6 link-local address
	hasIPs bool
}

func secEntries(p *portView) []secEntry {
	var out []secEntry
	for _, s := range p.sec {
		e := secEntry{mac: s.MAC, lla: linkLocal(s.MAC), hasIPs: len(s.Nets) > 0}
		for _, n := range s.Nets {
			if n.IP.To4() != nil {
				e.v4 = append(e.v4, n)
			} else {
				e.v6 = append(e.v6, n)
			}
		}
		out = append(out, e)
	}
	return out
}

// ingressIPSecurity lets a port send IP only from its entries' addresses
// (and DHCP discovery, and IPv6 duplicate address detection).
func ingressIPSecurity(p *portView) []Flow {
	cookie := PortCookie(FeaturePortSec, p.dp, p.key)
	var out []Flow
	for _, e := range secEntries(p) {
		if !e.hasIPs || !p.enabled() {
			continue
		}
		src := dpMatch(p.dp).With(LogInport, uint64(p.key)).WithMAC(FieldEthSrc, e.mac)
		allow := func(m Match) {
			out = append(out, Flow{Stage: InPortSecIP, Priority: prioSecAllow, Cookie: cookie, Match: m,
				Actions: []Action{next(InPortSecIP)}})
		}
		if len(e.v4) > 0 {
			ip4 := src.With(FieldEthType, ethIPv4)
			allow(dhcpDiscover(ip4))
			for _, n := range e.v4 {
				allow(withNet(ip4, FieldIPv4Src, sourceNet(n)))
			}
		}
		if len(e.v6) > 0 {
			ip6 := src.With(FieldEthType, ethIPv6)
			for _, t := range []uint64{icmp6MLDReport, icmp6NS, icmp6MLDv2Report} {
				allow(withNet(ip6, FieldIPv6Src, hostNet(net.IPv6unspecified)).
					WithBytes(FieldIPv6Dst, ipv6AllNodes.IP.To16(), ipv6AllNodes.Mask).
					With(FieldIPProto, protoICMPv6).With(FieldICMPv6Type, t))
			}
			for _, n := range append([]*net.IPNet{hostNet(e.lla)}, e.v6...) {
				allow(withNet(ip6, FieldIPv6Src, sourceNet(n)))
			}
		}
		for _, et := range []uint64{ethIPv4, ethIPv6} {
			out = append(out, Flow{Stage: InPortSecIP, Priority: prioSecDrop, Cookie: cookie,
				Match: src.With(FieldEthType, et)})
		}
	}
	return out
}

// dhcpDiscover matches a DHCP client that has no address yet.
func dhcpDiscover(ip4 Match) Match {
	return withNet(ip4, FieldIPv4Src, hostNet(net.IPv4zero.To4())).
		WithBytes(FieldIPv4Dst, ipv4Broadcast, nil).With(FieldIPProto, protoUDP).
		With(FieldUDPSrc, 68).With(FieldUDPDst, 67)
}

// ingressNDSecurity lets a port's ARP and ND claim only its own
// addresses: ARP's sender hardware (and protocol) address, a
// solicitation's source link-layer address, an advertisement's target
// link-layer address and target. Every other ARP or ND it sends is
// dropped.
func ingressNDSecurity(p *portView) []Flow {
	entries := secEntries(p)
	if len(entries) == 0 || !p.enabled() {
		return nil
	}
	in := dpMatch(p.dp).With(LogInport, uint64(p.key))
	cookie := PortCookie(FeaturePortSec, p.dp, p.key)
	var out []Flow
	allow := func(m Match) {
		out = append(out, Flow{Stage: InPortSecND, Priority: prioSecAllow, Cookie: cookie, Match: m,
			Actions: []Action{next(InPortSecND)}})
	}
	for _, e := range entries {
		src := in.WithMAC(FieldEthSrc, e.mac)
		if len(e.v4) > 0 || !e.hasIPs {
			arp := src.With(FieldEthType, ethARP).WithMAC(FieldARPSHA, e.mac)
			if !e.hasIPs {
				allow(arp)
			}
			for _, n := range e.v4 {
				allow(withNet(arp, FieldARPSPA, sourceNet(n)))
			}
		}
		if len(e.v6) > 0 || !e.hasIPs {
			for _, sll := range []net.HardwareAddr{zeroMAC, e.mac} {
				allow(ndMatch(src, icmp6NS).WithMAC(FieldNDSLL, sll))
			}
			targets := []*net.IPNet(nil)
			if e.hasIPs {
				targets = append([]*net.IPNet{hostNet(e.lla)}, e.v6...)
			}
			for _, tll := range []net.HardwareAddr{zeroMAC, e.mac} {
				na := ndMatch(src, icmp6NA).WithMAC(FieldNDTLL, tll)
				if targets == nil {
					allow(na)
				}
				for _, n := range targets {
					allow(withNet(na, FieldNDTarget, sourceNet(n)))
				}
			}
		}
	}
	out = append(out, Flow{Stage: InPortSecND, Priority: prioSecDrop, Cookie: cookie, Match: in.With(FieldEthType, ethARP)})
	for _, t := range []uint64{icmp6NS, icmp6NA} {
		out = append(out, Flow{Stage: InPortSecND, Priority: prioSecDrop, Cookie: cookie, Match: ndMatch(in, t)})
	}
	return out
}

// ndMatch matches a neighbour solicitation or advertisement as OVN's
// `nd` does: ICMPv6 code 0 with hop limit 255.
func ndMatch(m Match, typ uint64) Match {
	return m.With(FieldEthType, ethIPv6).With(FieldIPProto, protoICMPv6).With(FieldIPTTL, 255).
		With(FieldICMPv6Type, typ).With(FieldICMPv6Code, 0)
}

// egressIPSecurity lets IP out of a port only towards its entries'
// addresses, broadcast and multicast.
func egressIPSecurity(p *portView) []Flow {
	cookie := PortCookie(FeaturePortSec, p.dp, p.key)
	var out []Flow
	for _, e := range secEntries(p) {
		if !e.hasIPs || !p.enabled() {
			continue
		}
		dst := dpMatch(p.dp).With(LogOutport, uint64(p.key)).WithMAC(FieldEthDst, e.mac)
		allow := func(m Match) {
			out = append(out, Flow{Stage: OutPortSecIP, Priority: prioSecAllow, Cookie: cookie, Match: m,
				Actions: []Action{next(OutPortSecIP)}})
		}
		if len(e.v4) > 0 {
			ip4 := dst.With(FieldEthType, ethIPv4)
			nets := []*net.IPNet{hostNet(ipv4Broadcast), ipv4Multicast}
			for _, n := range e.v4 {
				nets = append(nets, sourceNet(n))
				if b := broadcastOf(n); b != nil {
					nets = append(nets, hostNet(b))
				}
			}
			for _, n := range nets {
				allow(withNet(ip4, FieldIPv4Dst, n))
			}
		}
		if len(e.v6) > 0 {
			ip6 := dst.With(FieldEthType, ethIPv6)
			for _, n := range append([]*net.IPNet{hostNet(e.lla), ipv6Multicast}, e.v6...) {
				allow(withNet(ip6, FieldIPv6Dst, sourceNet(n)))
			}
		}
		for _, et := range []uint64{ethIPv4, ethIPv6} {
			out = append(out, Flow{Stage: OutPortSecIP, Priority: prioSecDrop, Cookie: cookie,
				Match: dst.With(FieldEthType, et)})
		}
	}
	return out
}

// sourceNet is what an entry's address allows, as OVN reads it: a prefix
// whose host part is zero is the whole subnet; an address with a prefix
// length is just that address.
func sourceNet(n *net.IPNet) *net.IPNet {
	ones, bits := n.Mask.Size()
	if ones == bits || !n.IP.Mask(n.Mask).Equal(n.IP) {
		return hostNet(n.IP)
	}
	return n
}

// broadcastOf is the subnet broadcast address of an address given with a
// prefix length (nil for a host address or a whole subnet).
func broadcastOf(n *net.IPNet) net.IP {
	ip := n.IP.To4()
	ones, bits := n.Mask.Size()
	if ip == nil || ones == bits || ip.Mask(n.Mask).Equal(ip) {
		return nil
	}
	b := make(net.IP, 4)
	for i := range b {
		b[i] = ip[i] | ^n.Mask[i]
	}
	return b
}

func hostNet(ip net.IP) *net.IPNet {
	if v4 := ip.To4(); v4 != nil {
		return &net.IPNet{IP: v4, Mask: net.CIDRMask(32, 32)}
	}
	return &net.IPNet{IP: ip.To16(), Mask: net.CIDRMask(128, 128)}
}

// withNet matches an address field on a prefix.
func withNet(m Match, f Field, n *net.IPNet) Match {
	ip := n.IP.To4()
	if f.Bytes() == 16 {
		ip = n.IP.To16()
	}
	mask := []byte(n.Mask)
	if len(mask) != len(ip) {
		mask = nil
	}
	v := make([]byte, len(ip))
	for i := range v {
		v[i] = ip[i]
		if mask != nil {
			v[i] &= mask[i]
		}
	}
	return m.WithBytes(f, v, mask)
}

// linkLocal is the EUI-64 link-local IPv6 address of a MAC.
func linkLocal(mac net.HardwareAddr) net.IP {
	ip := make(net.IP, 16)
	ip[0], ip[1] = 0xfe, 0x80
	ip[8], ip[9], ip[10] = mac[0]^0x02, mac[1], mac[2]
	ip[11], ip[12] = 0xff, 0xfe
	ip[13], ip[14], ip[15] = mac[3], mac[4], mac[5]
	return ip
}
