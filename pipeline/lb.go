package pipeline

import (
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/chainwire/chainwire/topology"
)

// Load balancers, as ovn-northd rendered them (2017: pre_lb, lb,
// stateful), on every chassis of a switch that has them:
//
//   - ls_in_pre_lb marks IP to a VIP for conntrack (the zone of the
//     sender's port, as ACLs); ls_out_pre_lb marks all IP of the switch,
//     so that replies meet their connection in the zone of the port they
//     go to (the client's, where the DNAT was committed).
//   - ls_in_lb / ls_out_lb: an established connection gets reg0[2]
//     (translate).
//   - ls_in_stateful: a new connection to a VIP (and port) goes to the
//     VIP's select group, one bucket per backend, each
//     ct(commit, nat(dst=BACKEND)); reg0[2] applies the connection's
//     translation (ct(nat)) in ingress and egress alike. Ingress
//     translations come back to ls_in_stateful, so that what follows
//     (chains, l2_lkup) sees the backend.
//
// A VIP is reachable without a router (DESIGN.md §10): ARP (ND) for it is
// answered with a MAC derived from the VIP (vipMAC); a DNATed frame
// still carries that MAC, and ls_in_stateful gives a frame to a VIP MAC
// with a port's IP as destination that port's MAC (lbBackend, one flow
// per port address on such a switch): a chain on the backend's port
// takes it, l2_lkup delivers it. On replies ls_out_port_sec_ip puts the
// VIP's MAC back as eth.src.
//
// Routed clients (DESIGN.md §11): a switch attached by routers to one
// that has a load balancer balances its ports' connections to the VIPs
// too, in the client's zone, as its own (OVN balances east/west traffic
// in the client's switch): the reply, routed back wherever the backend
// is, meets the connection in the client's egress. Only the VIP's ARP
// and MAC stay on the switches that have it.
//
// Hairpin (a backend whose connection to a VIP lands on itself): the
// frame, now from and to the backend, is translated in HairpinZone to
// come from the VIP (its MAC too) and may leave by its own port; the
// backend's replies to the VIP meet that zone first in ls_in_pre_lb,
// which takes the translation back, and then the VIP's connection as any
// reply does.

// HairpinZone is the conntrack zone of hairpin source translation, kept
// out of the ports' zones.
const HairpinZone = 65535

const (
	prioLBPort    = 120 // stateful: a VIP with a port
	prioLBIP      = 110 // stateful: an IP-only VIP
	prioLBNAT     = 101 // stateful: translate (above the commit of ACLs, p100)
	prioLBHairpin = 110 // pre_lb: a reply to a hairpinned VIP?
	prioLBUnSNAT  = 105 // pre_lb: it was
	prioLBTrack   = 100 // pre_lb
	prioLBState   = 65535
	prioLBSNAT    = 135 // stateful: a hairpin
	prioLBBackend = 130 // stateful: a translated frame's MAC
	prioLBRestore = 200 // out_port_sec_ip
)

// vipMAC is the locally administered MAC a VIP answers ARP/ND with:
// 0a:00 and the IPv4 address, or 0a:06 and the IPv6 address's last four
// bytes.
func vipMAC(vip netip.Addr) net.HardwareAddr {
	b := vip.AsSlice()
	if vip.Is4() {
		return net.HardwareAddr{0x0a, 0x00, b[0], b[1], b[2], b[3]}
	}
	return net.HardwareAddr{0x0a, 0x06, b[12], b[13], b[14], b[15]}
}

var vipMACMask = net.HardwareAddr{0xff, 0xff, 0, 0, 0, 0}

func ethOf(a netip.Addr) uint64 {
	if a.Is4() {
		return ethIPv4
	}
	return ethIPv6
}

func ipDst(a netip.Addr) Field {
	if a.Is4() {
		return FieldIPv4Dst
	}
	return FieldIPv6Dst
}

func ipSrc(a netip.Addr) Field {
	if a.Is4() {
		return FieldIPv4Src
	}
	return FieldIPv6Src
}

// lbSwitchFlows are a switch's flows while it has load balancers.
func lbSwitchFlows(dp uint32) []Flow {
	cookie := SwitchCookie(FeatureLB, dp)
	est := Match{}.WithMasked(FieldCtState, CtEst|CtTrk, CtNew|CtEst|CtRel|CtInv|CtTrk)
	var out []Flow
	for _, ip := range ipFamilies {
		base := mergeMatch(dpMatch(dp), ip)
		out = append(out,
			Flow{Stage: OutPreLB, Priority: prioLBTrack, Cookie: cookie, Match: base,
				Actions: []Action{Load{Dst: ACLBits, Bits: 1, Value: 1}, next(OutPreLB)}},
			Flow{Stage: InPreLB, Priority: prioLBUnSNAT, Cookie: cookie,
				Match:   base.WithMasked(FieldCtState, CtEst|CtRpl|CtTrk, CtEst|CtRpl|CtTrk).With(FieldCtZone, HairpinZone),
				Actions: []Action{setFlag(FlagLoopback), Load{Dst: FieldLoadInPort, Value: OFPPNone}, next(InPreLB)}})
		for _, st := range []struct{ lb, stateful, after Stage }{{InLB, InStateful, InStateful}, {OutLB, OutStateful, OutPortSecIP}} {
			// In ingress the bit goes (the translated frame comes back
			// here); egress keeps it for the MAC on replies.
			nat := []Action{Ct{ZoneReg: LogCtZone, Recirc: true, Table: st.after, NAT: &NAT{}}}
			if st.after == st.stateful {
				nat = append([]Action{Load{Dst: ACLBits, Ofs: 2, Bits: 1, Value: 0}}, nat...)
			}
			out = append(out,
				Flow{Stage: st.lb, Priority: prioLBState, Cookie: cookie, Match: mergeMatch(base, est),
					Actions: []Action{Load{Dst: ACLBits, Ofs: 2, Bits: 1, Value: 1}, next(st.lb)}},
				Flow{Stage: st.stateful, Priority: prioLBNAT, Cookie: cookie, Match: base.WithMasked(ACLBits, LBNAT, LBNAT), Actions: nat})
		}
	}
	return out
}

// lbBackend gives a DNATed frame (to a VIP's MAC, the port's address as
// destination) the port's MAC.
func lbBackend(p *portView) []Flow {
	var out []Flow
	for _, a := range p.addrs {
		for _, ip := range a.IPs {
			addr, _ := netip.AddrFromSlice(ip)
			addr = addr.Unmap()
			out = append(out, Flow{Stage: InStateful, Priority: prioLBBackend, Cookie: PortCookie(FeatureLB, p.dp, p.key),
				Match: dpMatch(p.dp).WithMACMasked(FieldEthDst, vipMAC(addr), vipMACMask).With(FieldEthType, ethOf(addr)).
					WithBytes(ipDst(addr), addr.AsSlice(), nil),
				Actions: []Action{Load{Dst: FieldEthDst, Value: macValue(a.MAC)}, next(InStateful)}})
		}
	}
	return out
}

// lbUnit renders a load balancer on every switch that has it, and on the
// switches routed to those.
func lbUnit(rd *reader, name string) (output, error) {
	lb := rd.r.ix.LoadBalancer(name)
	if lb == nil {
		return output{}, nil
	}
	vips, err := lb.ParsedVIPs()
	if err != nil {
		return output{}, nil // validation refuses such a model
	}
	var switches []*topology.Switch
	for _, swName := range rd.r.ix.SwitchesUsingLB(name) {
		if sw := rd.sw(swName); sw != nil {
			switches = append(switches, sw)
		}
	}
	if len(switches) == 0 {
		return output{}, nil
	}
	var out output
	for i, v := range vips {
		g := Group{Name: fmt.Sprintf("lb/%d/%d", lb.Key, i), Type: GroupSelect}
		for _, b := range v.Backends {
			ip := net.IP(b.IP.AsSlice())
			g.Buckets = append(g.Buckets, Bucket{Weight: 1, Actions: []Action{Ct{Commit: true, ZoneReg: LogCtZone,
				Recirc: true, Table: InStateful, NAT: &NAT{IP: ip, Port: b.Port},
				Exec: []Action{Load{Dst: FieldCtLabel, Bits: 1, Value: 0}}}}})
		}
		out.groups = append(out.groups, g)
	}
	routed := rd.routedSwitches(switches)
	for _, sw := range append(switches, routed...) {
		direct := !slices.Contains(routed, sw)
		seen := map[[2]netip.Addr]bool{}
		for i, v := range vips {
			out.flows = append(out.flows, lbVIPFlow(lb, sw.Key, v, fmt.Sprintf("lb/%d/%d", lb.Key, i)))
			if !seen[[2]netip.Addr{v.VIP}] {
				seen[[2]netip.Addr{v.VIP}] = true
				out.flows = append(out.flows, vipAddressFlows(sw.Key, v.VIP, direct)...)
			}
			for _, b := range v.Backends {
				if !seen[[2]netip.Addr{v.VIP, b.IP}] {
					seen[[2]netip.Addr{v.VIP, b.IP}] = true
					out.flows = append(out.flows, hairpin(sw.Key, v.VIP, b.IP))
				}
			}
		}
	}
	return out, nil
}

// lbVIPFlow sends a VIP's new connections on one switch to its group.
func lbVIPFlow(lb *topology.LoadBalancer, dp uint32, v topology.LBVIP, group string) Flow {
	cookie := MakeCookie(FeatureLB, KindLB, uint64(lb.Key)<<24|uint64(dp)&0xffffff)
	newConn := dpMatch(dp).With(FieldEthType, ethOf(v.VIP)).WithBytes(ipDst(v.VIP), v.VIP.AsSlice(), nil).
		WithMasked(FieldCtState, CtNew|CtTrk, CtNew|CtEst|CtRel|CtInv|CtTrk)
	prio := uint16(prioLBIP)
	if v.Port != 0 {
		proto, dport := uint64(protoTCP), FieldTCPDst
		if lb.Protocol == topology.LBUDP {
			proto, dport = protoUDP, FieldUDPDst
		}
		newConn, prio = newConn.With(FieldIPProto, proto).With(dport, uint64(v.Port)), prioLBPort
	}
	return Flow{Stage: InStateful, Priority: prio, Cookie: cookie, Match: newConn, Actions: []Action{ToGroup{Name: group}}}
}

// hairpin makes a frame the VIP sent a backend to itself come from the
// VIP, and lets it go back by its port.
func hairpin(dp uint32, vip, backend netip.Addr) Flow {
	mac := vipMAC(vip)
	return Flow{Stage: InStateful, Priority: prioLBSNAT, Cookie: SwitchCookie(FeatureLB, dp),
		Match: dpMatch(dp).WithMAC(FieldEthDst, mac).With(FieldEthType, ethOf(vip)).
			WithBytes(ipSrc(vip), backend.AsSlice(), nil).WithBytes(ipDst(vip), backend.AsSlice(), nil).
			WithMasked(FieldCtState, CtTrk, CtRpl|CtTrk), // not the backend's reply, un-translated in pre_lb
		Actions: []Action{Load{Dst: FieldEthSrc, Value: macValue(mac)}, setFlag(FlagLoopback), Load{Dst: FieldLoadInPort, Value: OFPPNone},
			Ct{Commit: true, Zone: HairpinZone, Recirc: true, Table: InStateful, NAT: &NAT{Src: true, IP: net.IP(vip.AsSlice())}}}}
}

// vipAddressFlows are a VIP address's flows on a switch (one set per
// address, whatever the load balancers and ports that have it; the
// switch's cookie, so that two load balancers' are one flow): tracked
// towards it and, on a switch that has the load balancer (direct), its
// MAC back on replies and its ARP or ND answered. Clients on a routed
// switch reach the VIP by their gateway, and hear from it by it.
func vipAddressFlows(dp uint32, addr netip.Addr, direct bool) []Flow {
	cookie := SwitchCookie(FeatureLB, dp)
	mac, vip := vipMAC(addr), net.IP(addr.AsSlice())
	toVIP := dpMatch(dp).With(FieldEthType, ethOf(addr)).WithBytes(ipDst(addr), vip, nil)
	out := []Flow{
		{Stage: InPreLB, Priority: prioLBHairpin, Cookie: cookie, Match: toVIP.WithMasked(FieldCtState, 0, CtTrk),
			Actions: []Action{Ct{Zone: HairpinZone, Recirc: true, Table: InPreLB, NAT: &NAT{}}}},
		{Stage: InPreLB, Priority: prioLBTrack, Cookie: cookie, Match: toVIP,
			Actions: []Action{Load{Dst: ACLBits, Bits: 1, Value: 1}, next(InPreLB)}},
	}
	if !direct {
		return out
	}
	out = append(out, []Flow{
		{Stage: OutPortSecIP, Priority: prioLBRestore, Cookie: cookie,
			Match: dpMatch(dp).With(FieldEthType, ethOf(addr)).WithBytes(ipSrc(addr), vip, nil).WithMasked(ACLBits, LBNAT, LBNAT),
			Actions: []Action{Load{Dst: FieldEthSrc, Value: macValue(mac)}, Load{Dst: ACLBits, Ofs: 2, Bits: 1, Value: 0},
				Resubmit{OutPortSecIP}}},
	}...)
	if addr.Is4() {
		out = append(out, Flow{Stage: InARPRsp, Priority: prioRspAnsw, Cookie: cookie,
			Match:   arpRequest(dp, vip).WithMAC(FieldEthDst, macBroadcast).WithMasked(LogFlags, 0, FlagFromVNF),
			Actions: arpReply(mac, vip)})
	} else {
		out = append(out, ndAnswerFlow(dp, cookie, mac, vip))
	}
	return out
}

// routedSwitches are the switches attached to a router of one of
// switches, not among them.
func (rd *reader) routedSwitches(switches []*topology.Switch) []*topology.Switch {
	var out []*topology.Switch
	for _, sw := range switches {
		for _, peer := range rd.routedPeers(sw.Name) {
			if !slices.Contains(switches, peer) && !slices.Contains(out, peer) {
				out = append(out, peer)
			}
		}
	}
	return out
}

// routedPeers are the other switches the routers of switch sw join.
func (rd *reader) routedPeers(sw string) []*topology.Switch {
	var out []*topology.Switch
	for _, r := range rd.routersOf(sw) {
		for _, lrp := range rd.routerPorts(r) {
			if p := rd.peerOf(lrp.Name); p != nil && p.Switch != sw {
				if peer := rd.sw(p.Switch); peer != nil && !slices.Contains(out, peer) {
					out = append(out, peer)
				}
			}
		}
	}
	return out
}

// balances reports whether switch sw balances connections: it has load
// balancers, or a switch routed to it has.
func (rd *reader) balances(sw *topology.Switch) bool {
	if len(sw.LoadBalancers) > 0 {
		return true
	}
	for _, peer := range rd.routedPeers(sw.Name) {
		if len(peer.LoadBalancers) > 0 {
			return true
		}
	}
	return false
}
