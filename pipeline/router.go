package pipeline

import (
	"encoding/binary"
	"net"

	"github.com/chainwire/chainwire/topology"
)

// Logical routers (seed 003, DESIGN.md §11), distributed: every chassis
// routes its own VMs' packets in OpenFlow. A switch port of type router
// is on every chassis at once: the switch delivers to it by going into
// the router's pipeline (log_to_phy), with the router's datapath and the
// router port as inport. The router admits frames for its MAC, answers
// pings to its own IPv4 addresses by rewriting them (IPv6 ones and
// expired TTLs through chainwired), routes by longest prefix over its
// connected networks and static routes (dec_ttl, source MAC), sets the
// next hop's MAC from the port that has its address, and delivers into
// the peer switch's ingress as from its router-type port. That switch
// then sends the packet on as any: at most one tunnel hop, with its VNI
// and keys. The gateway's ARP and ND are answered by the switch's
// responder, as for any port address: no ARP for the gateway leaves the
// chassis.
//
// Routed traffic skips the switches' ACL and load-balancer stages on the
// router ports, as OVN's does (conntrack cannot follow a connection
// whose directions are routed on different chassis): each VM's ACLs
// apply at its own port, in its zone, on its chassis, and load
// balancers in the client's switch (lb.go). Chains of the destination
// switch apply.

const (
	protoICMP        = 1
	icmp4EchoRequest = 8
	icmp4EchoReply   = 0
	icmp6EchoRequest = 128
)

// Opcodes of the router's packet-ins (userdata: RouterAnswerUserdata).
const (
	// OpTimeExceeded: a packet whose TTL routing would expire; chainwired
	// answers ICMP time exceeded from the router port's address.
	OpTimeExceeded byte = 9
	// OpRouterEcho6: an IPv6 ping to a router address; chainwired
	// answers it.
	OpRouterEcho6 byte = 10
)

const (
	prioRouterEcho  = 100 // lr_in_ip_input: a ping to a router IP
	prioRouterOwnIP = 60  // lr_in_ip_input: anything else to a router IP
	prioRouterTTL   = 30  // lr_in_ip_input: a TTL that routing would expire
	prioResolved    = 100 // lr_in_arp_resolve: a known next hop
)

// The next hop, from lr_in_ip_routing to lr_in_arp_resolve: IPv4 in reg0,
// IPv6 in reg0..reg3 (the high word in reg0).
var nextHopRegs = [4]Field{FieldReg0, FieldReg1, FieldReg2, FieldReg3}

// routerPortView is a router port as its flows need it.
type routerPortView struct {
	name  string
	key   uint32
	mac   net.HardwareAddr
	addrs []topology.RouterAddress
	peer  *portView // the router-type switch port on the other side, nil if none
}

// routerView is a router with its ports.
type routerView struct {
	name  string
	dp    uint32
	r     *topology.Router
	ports []routerPortView
}

func (rd *reader) router(name string) *topology.Router {
	rd.use(depRouter, name)
	return rd.r.ix.Router(name)
}

// routerPorts lists a router's ports (the set is part of the router).
func (rd *reader) routerPorts(router string) []*topology.RouterPort {
	rd.use(depRouter, router)
	return rd.r.ix.RouterPortsOf(router)
}

// peerOf is the switch port peered with a router port, if any.
func (rd *reader) peerOf(lrp string) *topology.Port {
	rd.use(depRouterPort, lrp)
	return rd.r.ix.PeerOf(lrp)
}

// routersOf lists the routers a switch is attached to.
func (rd *reader) routersOf(sw string) []string {
	rd.use(depRouted, sw)
	return rd.r.ix.RoutersOf(sw)
}

func (rd *reader) routerView(name string) (*routerView, error) {
	r := rd.router(name)
	if r == nil {
		return nil, nil
	}
	rv := &routerView{name: name, dp: r.Key, r: r}
	for _, lrp := range rd.routerPorts(name) {
		p, err := routerPortOf(lrp)
		if err != nil {
			return nil, err
		}
		if peer := rd.peerOf(lrp.Name); peer != nil {
			if p.peer, err = rd.port(peer.Name); err != nil {
				return nil, err
			}
		}
		rv.ports = append(rv.ports, p)
	}
	return rv, nil
}

func routerPortOf(lrp *topology.RouterPort) (routerPortView, error) {
	mac, err := lrp.HardwareAddr()
	if err != nil {
		return routerPortView{}, err
	}
	addrs, err := lrp.ParsedNetworks()
	return routerPortView{name: lrp.Name, key: lrp.Key, mac: mac, addrs: addrs}, err
}

// routerUnit is a router's own flows: admission, its IPs, routing and
// delivery. The next hops' MACs come from their ports (routedNeighbours)
// or are learned (neighbour.go).
func routerUnit(rd *reader, name string) ([]Flow, error) {
	rv, err := rd.routerView(name)
	if rv == nil || err != nil {
		return nil, err
	}
	var out []Flow
	for _, p := range rv.ports {
		out = append(out, rv.admission(p))
		out = append(out, rv.ownAddresses(p)...)
		out = append(out, rv.connectedRoutes(p)...)
		if p.peer != nil {
			out = append(out, rv.expiredTTL(p)...)
			out = append(out, rv.echo6(p)...)
			out = append(out, rv.learnNeighbours(p)...)
			out = append(out, rv.learnedNeighbours(rd, p)...)
			out = append(out, rv.resolve(p)...)
			out = append(out, rv.delivery(p))
		}
	}
	return append(out, rv.staticRoutes()...), nil
}

func (rv *routerView) cookie(port uint32) uint64 {
	return MakeCookie(FeatureRouter, KindRouter, uint64(rv.dp)<<16|uint64(port))
}

func (rv *routerView) match() Match { return dpMatch(rv.dp) }

// admission takes the frames sent to the port's MAC.
func (rv *routerView) admission(p routerPortView) Flow {
	return Flow{Stage: LrInAdmission, Priority: prioPort, Cookie: rv.cookie(p.key),
		Match:   rv.match().With(LogInport, uint64(p.key)).WithMAC(FieldEthDst, p.mac),
		Actions: []Action{next(LrInAdmission)}}
}

func ethTypeOf(ip net.IP) uint64 {
	if ip.To4() != nil {
		return ethIPv4
	}
	return ethIPv6
}

func withIPDst(m Match, ip net.IP, n *net.IPNet) Match {
	if v4 := ip.To4(); v4 != nil {
		if n == nil {
			return m.With(FieldEthType, ethIPv4).WithBytes(FieldIPv4Dst, v4, nil)
		}
		return m.With(FieldEthType, ethIPv4).WithBytes(FieldIPv4Dst, n.IP.To4(), net.IP(n.Mask).To4())
	}
	if n == nil {
		return m.With(FieldEthType, ethIPv6).WithBytes(FieldIPv6Dst, ip.To16(), nil)
	}
	return m.With(FieldEthType, ethIPv6).WithBytes(FieldIPv6Dst, n.IP.To16(), net.IP(n.Mask).To16())
}

// ownAddresses answers an IPv4 ping to one of the router's addresses in
// OpenFlow (the request turned into its reply and routed back, as seed
// 003 turns an ARP request into its reply) and drops anything else sent
// to them. IPv6 pings go to chainwired (echo6).
func (rv *routerView) ownAddresses(p routerPortView) []Flow {
	var out []Flow
	for _, a := range p.addrs {
		to := withIPDst(rv.match(), a.IP, nil)
		out = append(out, Flow{Stage: LrInIPInput, Priority: prioRouterOwnIP, Cookie: rv.cookie(p.key), Match: to})
		if a.IP.To4() == nil {
			continue
		}
		out = append(out, Flow{Stage: LrInIPInput, Priority: prioRouterEcho, Cookie: rv.cookie(p.key),
			Match: to.With(FieldIPProto, protoICMP).With(FieldICMPv4Type, icmp4EchoRequest),
			Actions: []Action{
				Move{Src: FieldIPv4Src, Dst: FieldReg1, Bits: 32},
				Move{Src: FieldIPv4Dst, Dst: FieldIPv4Src, Bits: 32},
				Move{Src: FieldReg1, Dst: FieldIPv4Dst, Bits: 32},
				Load{Dst: FieldIPTTL, Value: 255},
				Load{Dst: FieldICMPv4Type, Value: icmp4EchoReply},
				next(LrInIPInput),
			}})
	}
	return out
}

// echo6 sends IPv6 pings to the router's addresses to chainwired, which
// answers them out of the port they came in by.
func (rv *routerView) echo6(p routerPortView) []Flow {
	var out []Flow
	for _, q := range rv.ports {
		for _, a := range q.addrs {
			if a.IP.To4() != nil {
				continue
			}
			out = append(out, Flow{Stage: LrInIPInput, Priority: prioRouterEcho, Cookie: rv.cookie(p.key),
				Match: withIPDst(rv.match(), a.IP, nil).With(LogInport, uint64(p.key)).
					With(FieldIPProto, protoICMPv6).With(FieldICMPv6Type, icmp6EchoRequest),
				Actions: []Action{toChainwired(false, RouterAnswerUserdata(OpRouterEcho6, p.peer.dp, p.peer.key, nil, nil)...)}})
		}
	}
	return out
}

// expiredTTL sends a packet whose TTL (hop limit) routing would take to
// 0 to chainwired, which answers with ICMP time exceeded from the port's
// address of the packet's family (dropped if it has none).
// (OVS cannot mask nw_ttl: one flow for 0, one for 1.)
func (rv *routerView) expiredTTL(p routerPortView) []Flow {
	var out []Flow
	for _, et := range []uint64{ethIPv4, ethIPv6} {
		var acts []Action
		for _, a := range p.addrs {
			if ethTypeOf(a.IP) == et {
				acts = []Action{toChainwired(false, RouterAnswerUserdata(OpTimeExceeded, p.peer.dp, p.peer.key, p.mac, a.IP)...)}
				break
			}
		}
		for ttl := uint64(0); ttl <= 1; ttl++ {
			out = append(out, Flow{Stage: LrInIPInput, Priority: prioRouterTTL, Cookie: rv.cookie(p.key),
				Match: rv.match().With(LogInport, uint64(p.key)).With(FieldEthType, et).With(FieldIPTTL, ttl), Actions: acts})
		}
	}
	return out
}

// route sends a packet out of port p towards nextHop (nil: its own
// destination), TTL decremented and source MAC rewritten.
func route(p routerPortView, family uint64, nextHop net.IP) []Action {
	acts := []Action{DecTTL{}, loadReg(LogOutport, p.key), Load{Dst: FieldEthSrc, Value: macValue(p.mac)}}
	switch {
	case family == ethIPv4 && nextHop == nil:
		acts = append(acts, Move{Src: FieldIPv4Dst, Dst: nextHopRegs[0], Bits: 32})
	case family == ethIPv4:
		acts = append(acts, Load{Dst: nextHopRegs[0], Value: uint64(be32(nextHop))})
	case nextHop == nil:
		for i, r := range nextHopRegs {
			acts = append(acts, Move{Src: FieldIPv6Dst, SrcOfs: uint8(96 - 32*i), Dst: r, Bits: 32})
		}
	default:
		for i, r := range nextHopRegs {
			acts = append(acts, Load{Dst: r, Value: uint64(binary.BigEndian.Uint32(nextHop.To16()[4*i:]))})
		}
	}
	return append(acts, next(LrInIPRouting))
}

// routePriority puts longer prefixes first, and a connected network
// before a static route of the same length.
func routePriority(n *net.IPNet, connected bool) uint16 {
	ones, _ := n.Mask.Size()
	prio := uint16(2 * ones)
	if connected {
		prio++
	}
	return prio
}

// connectedRoutes send packets for the port's networks out of it, to
// their own destination.
func (rv *routerView) connectedRoutes(p routerPortView) []Flow {
	var out []Flow
	for _, a := range p.addrs {
		out = append(out, Flow{Stage: LrInIPRouting, Priority: routePriority(a.Net, true), Cookie: rv.cookie(p.key),
			Match: withIPDst(rv.match(), a.IP, a.Net), Actions: route(p, ethTypeOf(a.IP), nil)})
	}
	return out
}

// staticRoutes send packets for a route's prefix out of its port (given,
// or the one whose network holds the next hop) towards the next hop.
func (rv *routerView) staticRoutes() []Flow {
	var out []Flow
	for _, sr := range rv.r.Routes {
		prefix, nh, err := sr.Parsed()
		if err != nil {
			continue // validation refuses such a route
		}
		p, ok := rv.portFor(sr.Port, nh)
		if !ok {
			continue
		}
		out = append(out, Flow{Stage: LrInIPRouting, Priority: routePriority(prefix, false), Cookie: rv.cookie(0),
			Match: withIPDst(rv.match(), prefix.IP, prefix), Actions: route(p, ethTypeOf(nh), nh)})
	}
	return out
}

func (rv *routerView) portFor(name string, nh net.IP) (routerPortView, bool) {
	for _, p := range rv.ports {
		if p.name == name {
			return p, true
		}
		if name != "" {
			continue
		}
		for _, a := range p.addrs {
			if a.Net.Contains(nh) {
				return p, true
			}
		}
	}
	return routerPortView{}, false
}

// delivery hands a routed packet to the peer switch's ingress, as its
// router-type port's: a new datapath, with nothing of the router's
// registers, and no OpenFlow in_port (a ping's reply goes back out of the
// port its request came in by, which OpenFlow would not do otherwise).
func (rv *routerView) delivery(p routerPortView) Flow {
	return Flow{Stage: LrOutDelivery, Priority: prioPort, Cookie: rv.cookie(p.key),
		Match: rv.match().With(LogOutport, uint64(p.key)),
		Actions: append(enterDatapath(p.peer.dp, p.peer.key),
			Load{Dst: FieldLoadInPort, Value: OFPPNone}, Resubmit{InPortSecL2})}
}

// enterDatapath starts a datapath's pipeline afresh with inport in.
func enterDatapath(dp, in uint32) []Action {
	acts := []Action{Load{Dst: LogDatapath, Value: uint64(dp)}, loadReg(LogInport, in), loadReg(LogOutport, 0),
		Load{Dst: LogFlags}, Load{Dst: LogCtZone}}
	for _, r := range scratchRegs {
		acts = append(acts, Load{Dst: r})
	}
	return acts
}

// routedNeighbours resolve next hops on the routers p's switch is
// attached to: a packet routed out of the router port on p's switch
// towards one of p's addresses gets p's MAC.
func routedNeighbours(rd *reader, p *portView) []Flow {
	if p.router != nil || len(p.addrs) == 0 {
		return nil
	}
	var out []Flow
	for _, name := range rd.routersOf(p.p.Switch) {
		r := rd.router(name)
		if r == nil {
			continue
		}
		for _, lrp := range rd.routerPorts(name) {
			if peer := rd.peerOf(lrp.Name); peer == nil || peer.Switch != p.p.Switch {
				continue
			}
			for _, a := range p.addrs {
				for _, ip := range a.IPs {
					out = append(out, Flow{Stage: LrInARPResolve, Priority: prioResolved, Cookie: PortCookie(FeatureRouter, p.dp, p.key),
						Match:   nextHopMatch(dpMatch(r.Key).With(LogOutport, uint64(lrp.Key)), ip),
						Actions: []Action{Load{Dst: FieldEthDst, Value: macValue(a.MAC)}, Goto{LrOutDelivery}}})
				}
			}
		}
	}
	return out
}

func nextHopMatch(m Match, ip net.IP) Match {
	if v4 := ip.To4(); v4 != nil {
		return m.With(FieldEthType, ethIPv4).With(nextHopRegs[0], uint64(be32(v4)))
	}
	m = m.With(FieldEthType, ethIPv6)
	for i, r := range nextHopRegs {
		m = m.With(r, uint64(binary.BigEndian.Uint32(ip.To16()[4*i:])))
	}
	return m
}

// routerPort is what a router-type switch port is: the router port it
// peers with, and that router's datapath.
type routerPort struct {
	lrp routerPortView
	dp  uint32
}

// routerPortFlows are a router-type switch port's flows, on every
// chassis: it admits anything (no port security), skips the ACL and LB
// stages both ways, and delivers into the router.
func routerPortFlows(p *portView) []Flow {
	cookie := PortCookie(FeatureRouter, p.dp, p.key)
	out := dpMatch(p.dp).With(LogOutport, uint64(p.key))
	flows := append(ingressPortSecurity(p), egressPortSecurity(p)...)
	return append(flows,
		Flow{Stage: InPreACL, Priority: prioVNFSkip, Cookie: cookie, Match: dpMatch(p.dp).With(LogInport, uint64(p.key)),
			Actions: []Action{Goto{InChain}}},
		Flow{Stage: OutPreACL, Priority: prioVNFSkip, Cookie: cookie, Match: out, Actions: []Action{Goto{OutPortSecIP}}},
		Flow{Stage: LocalOutput, Priority: prioHigh, Cookie: cookie, Match: out, Actions: []Action{Goto{CheckLoopback}}},
		Flow{Stage: CheckLoopback, Priority: prioHigh, Cookie: cookie,
			Match: out.With(LogInport, uint64(p.key)).WithMasked(LogFlags, 0, FlagLoopback)},
		Flow{Stage: LogToPhy, Priority: prioHigh, Cookie: cookie, Match: out,
			Actions: append(enterDatapath(p.router.dp, p.router.lrp.key), Goto{LrInAdmission})})
}

// RouterAnswerUserdata is the userdata of a packet-in chainwired answers
// for a router port: the opcode, the peer switch's datapath and
// router-type port (where the answer enters), and for time exceeded the
// router port's MAC and address.
func RouterAnswerUserdata(op byte, dp, port uint32, mac net.HardwareAddr, ip net.IP) []byte {
	b := binary.BigEndian.AppendUint32([]byte{op}, dp)
	b = binary.BigEndian.AppendUint32(b, port)
	b = append(b, mac...)
	if v4 := ip.To4(); v4 != nil {
		return append(b, v4...)
	}
	return append(b, ip.To16()...)
}

// RouterAnswerActions send chainwired's answer into the switch by the
// router-type port, as the router's own packet.
func RouterAnswerActions(dp, port uint32) []Action {
	return []Action{Load{Dst: LogDatapath, Value: uint64(dp)}, loadReg(LogInport, port), setFlag(FlagAnswer), Resubmit{InPortSecL2}}
}

// routerTypePort resolves a router-type switch port: the router port's
// MAC and addresses are its own (the switch answers ARP and ND for them),
// it is bound nowhere and local everywhere.
func (rd *reader) routerTypePort(p *topology.Port, sw *topology.Switch) (*portView, error) {
	pv := &portView{p: p, dp: sw.Key, key: p.Key}
	rd.use(depRouterPort, p.RouterPort())
	lrp := rd.r.ix.RouterPort(p.RouterPort())
	if lrp == nil {
		return pv, nil // validation refuses it
	}
	r := rd.router(lrp.Router)
	if r == nil {
		return pv, nil
	}
	view, err := routerPortOf(lrp)
	if err != nil {
		return nil, err
	}
	pv.router = &routerPort{lrp: view, dp: r.Key}
	pv.macs = []net.HardwareAddr{view.mac}
	addr := topology.Address{MAC: view.mac}
	for _, a := range view.addrs {
		addr.IPs = append(addr.IPs, a.IP)
	}
	pv.addrs = []topology.Address{addr}
	return pv, nil
}
