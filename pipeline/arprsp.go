package pipeline

import "net"

// ls_in_arp_rsp answers ARP requests and IPv6 neighbour solicitations for
// the known addresses of a switch's ports on the sender's own chassis, as
// ovn-northd's responder does: nothing crosses the tunnel to be answered.
// Every chassis with the switch has the flows of all its ports.
//
//   - ARP is answered in OpenFlow (seed 003): the request is rewritten into
//     the reply and sent back out of its port.
//   - A neighbour solicitation goes to chainwired (userdata: OpNDAdvert,
//     the MAC and the address), which sends the advertisement by
//     packet-out, as ovn-controller's nd_na does: turning a solicitation
//     into an advertisement in OpenFlow would need OVS's Ericsson
//     experimenter fields.
//
// Not answered: requests the owning port sends itself (its own address
// probes, p100 passes them on), duplicate address detection (from ::), a
// disabled port's or an `unknown` port's addresses, and frames from VNF
// ports (a VNF forwards requests; the owner answers them).

const (
	prioRspOwn  = 100 // the owner's own request goes on
	prioRspDAD  = 90  // a DAD probe goes on
	prioRspAnsw = 50  // answer
)

var macBroadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// responder renders the answers for a port's addresses.
func responder(p *portView) []Flow {
	if !p.enabled() || p.unknown || p.vnf {
		return nil
	}
	var out []Flow
	for _, a := range p.addrs {
		for _, ip := range a.IPs {
			if v4 := ip.To4(); v4 != nil {
				out = append(out, arpAnswer(p, a.MAC, v4)...)
			} else {
				out = append(out, ndAnswer(p, a.MAC, ip)...)
			}
		}
	}
	return out
}

func arpRequest(dp uint32, ip net.IP) Match {
	return dpMatch(dp).With(FieldEthType, ethARP).With(FieldARPOp, 1).WithBytes(FieldARPTPA, ip.To4(), nil)
}

// arpAnswer turns a broadcast request for ip into mac's reply, back out
// of the port it came in by (its in_port cleared, as OpenFlow never
// outputs to the in_port otherwise).
func arpAnswer(p *portView, mac net.HardwareAddr, ip net.IP) []Flow {
	cookie := PortCookie(FeatureARPRsp, p.dp, p.key)
	req := arpRequest(p.dp, ip)
	return []Flow{
		{Stage: InARPRsp, Priority: prioRspOwn, Cookie: cookie, Match: req.With(LogInport, uint64(p.key)),
			Actions: []Action{next(InARPRsp)}},
		{Stage: InARPRsp, Priority: prioRspAnsw, Cookie: cookie,
			Match: req.WithMAC(FieldEthDst, macBroadcast).WithMasked(LogFlags, 0, FlagFromVNF), Actions: arpReply(mac, ip)},
	}
}

// arpReply rewrites an ARP request into mac's reply for ip.
func arpReply(mac net.HardwareAddr, ip net.IP) []Action {
	return []Action{
		Move{Src: FieldEthSrc, Dst: FieldEthDst, Bits: 48},
		Load{Dst: FieldEthSrc, Value: macValue(mac)},
		Load{Dst: FieldARPOp, Value: 2},
		Move{Src: FieldARPSHA, Dst: FieldARPTHA, Bits: 48},
		Load{Dst: FieldARPSHA, Value: macValue(mac)},
		Move{Src: FieldARPSPA, Dst: FieldARPTPA, Bits: 32},
		Load{Dst: FieldARPSPA, Value: uint64(be32(ip))},
		Move{Src: LogInport, Dst: LogOutport, Bits: 32},
		setFlag(FlagLoopback),
		Load{Dst: FieldLoadInPort, Value: OFPPNone},
		Goto{RemoteOutput},
	}
}

// ndAnswer sends a solicitation for ip to chainwired, which answers it
// with mac.
func ndAnswer(p *portView, mac net.HardwareAddr, ip net.IP) []Flow {
	cookie := PortCookie(FeatureARPRsp, p.dp, p.key)
	ns := solicitation(p.dp, ip)
	return []Flow{
		{Stage: InARPRsp, Priority: prioRspOwn, Cookie: cookie, Match: ns.With(LogInport, uint64(p.key)),
			Actions: []Action{next(InARPRsp)}},
		{Stage: InARPRsp, Priority: prioRspDAD, Cookie: cookie, Match: ns.WithBytes(FieldIPv6Src, net.IPv6unspecified, nil),
			Actions: []Action{next(InARPRsp)}},
		ndAnswerFlow(p.dp, cookie, mac, ip),
	}
}

func solicitation(dp uint32, ip net.IP) Match {
	return ndMatch(dpMatch(dp).With(FieldEthType, ethIPv6), icmp6NS).WithBytes(FieldNDTarget, ip.To16(), nil)
}

// ndAnswerFlow asks chainwired to answer a solicitation for ip with mac.
func ndAnswerFlow(dp uint32, cookie uint64, mac net.HardwareAddr, ip net.IP) Flow {
	userdata := append(append([]byte{OpNDAdvert}, mac...), ip.To16()...)
	return Flow{Stage: InARPRsp, Priority: prioRspAnsw, Cookie: cookie, Match: solicitation(dp, ip).WithMasked(LogFlags, 0, FlagFromVNF),
		Actions: []Action{toChainwired(false, userdata...)}}
}

// ReplyToInportActions inject chainwired's answer to a packet that came in
// by port in on datapath dp: it leaves by that port, through the egress
// pipeline but its ACLs.
func ReplyToInportActions(dp, in uint32) []Action {
	return []Action{Load{Dst: LogDatapath, Value: uint64(dp)}, loadReg(LogInport, in), loadReg(LogOutport, in),
		setFlag(FlagLoopback), setFlag(FlagAnswer), Resubmit{RemoteOutput}}
}

func macValue(mac net.HardwareAddr) uint64 { return bytesUint(mac) }

func be32(ip net.IP) uint32 { return uint32(bytesUint(ip.To4())) }
