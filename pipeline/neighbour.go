package pipeline

import (
	"encoding/binary"
	"net"
)

// Next hops no port's addresses name (a router VM, a host behind a port
// without IPs): the router asks with ARP or ND through chainwired and
// learns from the reply, as OVN's MAC_Binding. The reply reaches the
// router on the replier's chassis, so agents publish what they learn
// (Status.Neighbours) and every chassis routes with all of it
// (Env.Neighbours). The packet that found no next hop is dropped.

const (
	// OpResolve: a routed packet whose next hop has no known MAC;
	// chainwired sends an ARP request (IPv6: a neighbour solicitation)
	// from the router port into its switch (userdata:
	// RouterAnswerUserdata with the port's MAC and address; the next hop
	// in the packet-in's registers).
	OpResolve byte = 11
	// OpLearnNeighbour: an ARP reply or a neighbour advertisement to a
	// router port; chainwired learns the sender (userdata:
	// LearnUserdata).
	OpLearnNeighbour byte = 12
)

const (
	prioRouterLearn = 90 // lr_in_ip_input: above prioRouterOwnIP, which drops the rest
	prioLearned     = 80 // lr_in_arp_resolve: below a port's own address
	prioResolve     = 1  // lr_in_arp_resolve: no MAC known
)

// LearnUserdata is the userdata of OpLearnNeighbour: the router port.
func LearnUserdata(routerPort string) []byte { return append([]byte{OpLearnNeighbour}, routerPort...) }

// neighbours returns what the chassis learned behind a router port: IP
// -> MAC, as text.
func (rd *reader) neighbours(lrp string) map[string]string {
	rd.use(depNeighbour, lrp)
	return rd.r.env.Neighbours[lrp]
}

// setNeighbours applies changed neighbours behind a router port (MAC
// "": forgotten).
func (r *Renderer) setNeighbours(lrp string, changed map[string]string) {
	cur := r.env.Neighbours[lrp]
	touched := false
	for ip, mac := range changed {
		if cur[ip] == mac {
			continue
		}
		touched = true
		switch {
		case mac == "":
			delete(cur, ip)
		case cur == nil:
			cur = map[string]string{ip: mac}
			r.env.Neighbours[lrp] = cur
		default:
			cur[ip] = mac
		}
	}
	if len(cur) == 0 {
		delete(r.env.Neighbours, lrp)
	}
	if touched {
		r.changed(dep{kind: depNeighbour, name: lrp})
	}
}

// learnNeighbours sends ARP replies to the port's IPv4 addresses and
// neighbour advertisements to it to chainwired.
func (rv *routerView) learnNeighbours(p routerPortView) []Flow {
	in := rv.match().With(LogInport, uint64(p.key))
	acts := []Action{toChainwired(false, LearnUserdata(p.name)...)}
	var out []Flow
	v6 := false
	for _, a := range p.addrs {
		if a.IP.To4() == nil {
			v6 = true
			continue
		}
		out = append(out, Flow{Stage: LrInIPInput, Priority: prioRouterLearn, Cookie: rv.cookie(p.key),
			Match:   in.With(FieldEthType, ethARP).With(FieldARPOp, 2).WithBytes(FieldARPTPA, a.IP.To4(), nil),
			Actions: acts})
	}
	if v6 {
		out = append(out, Flow{Stage: LrInIPInput, Priority: prioRouterLearn, Cookie: rv.cookie(p.key),
			Match: in.With(FieldEthType, ethIPv6).With(FieldIPProto, protoICMPv6).With(FieldIPTTL, 255).
				With(FieldICMPv6Type, icmp6NA),
			Actions: acts})
	}
	return out
}

// learnedNeighbours set the MAC of next hops learned behind the port
// (by any chassis); an address outside the port's networks is ignored.
func (rv *routerView) learnedNeighbours(rd *reader, p routerPortView) []Flow {
	var out []Flow
	for ipText, macText := range rd.neighbours(p.name) {
		ip, mac := net.ParseIP(ipText), parseMAC(macText)
		if ip == nil || mac == nil || !p.holds(ip) {
			continue
		}
		out = append(out, Flow{Stage: LrInARPResolve, Priority: prioLearned, Cookie: rv.cookie(p.key),
			Match:   nextHopMatch(rv.match().With(LogOutport, uint64(p.key)), ip),
			Actions: []Action{Load{Dst: FieldEthDst, Value: macValue(mac)}, Goto{LrOutDelivery}}})
	}
	return out
}

// resolve asks for a next hop in one of the port's networks that has no
// MAC yet, from the port's address in that network.
func (rv *routerView) resolve(p routerPortView) []Flow {
	var out []Flow
	for _, a := range p.addrs {
		out = append(out, Flow{Stage: LrInARPResolve, Priority: prioResolve, Cookie: rv.cookie(p.key),
			Match:   nextHopInMatch(rv.match().With(LogOutport, uint64(p.key)), a.Net),
			Actions: []Action{toChainwired(false, RouterAnswerUserdata(OpResolve, p.peer.dp, p.peer.key, p.mac, a.IP)...)}})
	}
	return out
}

func (p routerPortView) holds(ip net.IP) bool {
	for _, a := range p.addrs {
		if a.Net.Contains(ip) && (a.IP.To4() == nil) == (ip.To4() == nil) {
			return true
		}
	}
	return false
}

func parseMAC(s string) net.HardwareAddr {
	mac, err := net.ParseMAC(s)
	if err != nil || len(mac) != 6 || mac[0]&1 == 1 {
		return nil
	}
	return mac
}

// nextHopInMatch matches a next hop in network n (the registers of
// nextHopMatch, masked).
func nextHopInMatch(m Match, n *net.IPNet) Match {
	if v4 := n.IP.To4(); v4 != nil {
		mask := n.Mask[len(n.Mask)-net.IPv4len:]
		return m.With(FieldEthType, ethIPv4).WithMasked(nextHopRegs[0], uint64(be32(v4)), uint64(binary.BigEndian.Uint32(mask)))
	}
	m = m.With(FieldEthType, ethIPv6)
	ip := n.IP.To16()
	for i, r := range nextHopRegs {
		mask := binary.BigEndian.Uint32(n.Mask[4*i:])
		if mask == 0 {
			break // masks are contiguous: nothing further is matched
		}
		m = m.WithMasked(r, uint64(binary.BigEndian.Uint32(ip[4*i:])), uint64(mask))
	}
	return m
}

// NextHop reads the next hop of an OpResolve packet-in from its
// registers (reg reads one), IPv6 if v6.
func NextHop(reg func(Field) uint32, v6 bool) net.IP {
	if !v6 {
		return net.IP(binary.BigEndian.AppendUint32(nil, reg(nextHopRegs[0])))
	}
	ip := make(net.IP, 0, net.IPv6len)
	for _, r := range nextHopRegs {
		ip = binary.BigEndian.AppendUint32(ip, reg(r))
	}
	return ip
}
