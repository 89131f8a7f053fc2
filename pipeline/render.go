package pipeline

import (
	"fmt"
	"net"

	"github.com/chainwire/chainwire/topology"
)

// Input is everything the flows of one chassis depend on.
type Input struct {
	Model   *topology.Model
	Chassis string            // this agent's chassis name
	OFPorts map[string]uint32 // logical port name -> local OpenFlow port (from iface-id)
	// Bindings says where ports without requested-chassis are bound
	// (port -> chassis), as other agents published it; nil without a
	// store that keeps bindings.
	Bindings map[string]string
	// TunnelOFPort is the Geneve port's OpenFlow port; 0 while it has none.
	TunnelOFPort uint32
	// Zones is each local port's conntrack zone (none: 0).
	Zones map[string]uint16
	// PacketInRate is the controller meter's rate, packets/s (0:
	// DefaultPacketInRate).
	PacketInRate int
	// Down holds the health-checked pairs found down (see Env).
	Down map[string]bool
	// Neighbours are the learned next hops (see Env).
	Neighbours map[string]map[string]string
}

// Priorities shared by several flow families.
const (
	prioDefault = 0
	prioLow     = 1
	prioPort    = 50
	prioMcast   = 70
	prioHigh    = 100
	prioDisable = 150
)

var (
	macMulticast = net.HardwareAddr{1, 0, 0, 0, 0, 0}
	vlanPresent  = uint64(0x1000)
)

// Render computes the complete desired state of one chassis: flows sorted
// by table, priority (high first) and match, groups by name. It fails,
// rendering nothing, if the model is invalid or two flows would collide.
func Render(in Input) (*Tables, error) {
	ix, err := topology.NewIndex(in.Model)
	if err != nil {
		return nil, err
	}
	_, t, err := NewRenderer(ix, Env{Chassis: in.Chassis, OFPorts: in.OFPorts, Bindings: in.Bindings,
		TunnelOFPort: in.TunnelOFPort, Zones: in.Zones, PacketInRate: in.PacketInRate, Down: in.Down, Neighbours: in.Neighbours})
	if err != nil {
		return nil, err
	}
	t.Sort()
	return t, nil
}

// Tables is the desired state of one bridge: its flows and the groups
// and meters they use.
type Tables struct {
	Flows  []Flow
	Groups []Group
	Meters []Meter
}

// globalFlows is what every chassis has.
func globalFlows(tun uint32) []Flow {
	flows := tableDefaults()
	flows = append(flows, ingressSanityDrops()...)
	flows = append(flows, egressMulticastPass(), chainReinject(), vnfSkipsACLs(), vnfDropsTheRest())
	flows = append(flows, probeMACsDropped()...)
	flows = append(flows, conntrackFlows()...)
	if tun != 0 {
		flows = append(flows, classifyTunnel(tun))
	}
	return flows
}

// switchFlows is a switch's own part; its floods are made by its ports.
func switchFlows(rd *reader, name string) []Flow {
	sw := rd.sw(name)
	if sw == nil {
		return nil
	}
	flows := append([]Flow{l2Flood(sw.Key)}, dnsLookup(rd, sw)...)
	if rd.balances(sw) {
		flows = append(flows, lbSwitchFlows(sw.Key)...)
	}
	if rd.stateful(name) {
		flows = append(flows, statefulSwitchFlows(sw.Key)...)
	}
	return flows
}

// portUnit is a port's part: its MACs in l2_lkup everywhere; where it is
// bound, its pipeline entry, port security and delivery; elsewhere, the
// tunnel towards it; and its places in its switch's floods.
func portUnit(rd *reader, name string, tun uint32) (output, error) {
	p, err := rd.port(name)
	if p == nil || err != nil {
		return output{}, err
	}
	if p.router != nil {
		return output{flows: append(append(l2Unicast(p), responder(p)...), routerPortFlows(p)...), dp: p.dp}, nil
	}
	out := output{flows: append(append(l2Unicast(p), responder(p)...), dhcpFlows(rd, p)...), local: p.local(), dp: p.dp}
	out.flows = append(out.flows, routedNeighbours(rd, p)...)
	if p.lbs {
		out.flows = append(out.flows, lbBackend(p)...)
	}
	if p.unknown && p.enabled() && !p.vnf {
		out.flows = append(out.flows, l2Unknown(p.dp))
	}
	if p.remote != nil && tun != 0 {
		out.flows = append(out.flows, remoteDelivery(p, tun))
	}
	if p.local() {
		out.flows = append(out.flows, classifyLocalPort(p))
		out.flows = append(out.flows, ingressPortSecurity(p)...)
		out.flows = append(out.flows, ingressIPSecurity(p)...)
		out.flows = append(out.flows, ingressNDSecurity(p)...)
		out.flows = append(out.flows, localDelivery(p)...)
		out.flows = append(out.flows, egressIPSecurity(p)...)
		out.flows = append(out.flows, egressPortSecurity(p)...)
		if p.vnf {
			out.flows = append(out.flows, vnfDeliverySkipsACLs(p), trapProbes(p))
		}
	}
	if !p.enabled() {
		return out, nil
	}
	for g, mg := range multicastGroups {
		switch {
		case !mg.member(p):
		case p.local():
			out.joins = append(out.joins, localMember(p, uint8(g)))
		case p.remote != nil && tun != 0:
			out.joins = append(out.joins, remoteMember(p, uint8(g), tun))
		}
	}
	return out, nil
}

// next continues in the following stage of the same band.
func next(s Stage) Action {
	n, ok := s.Next()
	if !ok {
		panic(fmt.Sprintf("pipeline: %s has no next stage", s))
	}
	return Goto{n}
}

func dpMatch(dp uint32) Match { return Match{}.With(LogDatapath, uint64(dp)) }

func loadReg(f Field, v uint32) Action { return Load{Dst: f, Value: uint64(v)} }

// ---------------------------------------------------------------- base

// dropByDefault lists the stages whose table-miss drops; every other stage
// passes packets on with `next;`.
var dropByDefault = map[Stage]bool{
	PhyToLog: true, InPortSecL2: true, InL2Lkup: true,
	LocalOutput: true, OutPortSecL2: true, LogToPhy: true,
	LrInAdmission: true, LrInIPRouting: true, LrInARPResolve: true, LrOutDelivery: true,
}

// tableDefaults gives every stage its priority-0 flow: drop where traffic
// must be allowed explicitly, `next;` for stages that have no rules yet.
func tableDefaults() []Flow {
	var out []Flow
	cookie := MakeCookie(FeatureBase, KindGlobal, 0)
	for _, s := range Stages() {
		f := Flow{Stage: s, Priority: prioDefault, Cookie: cookie}
		switch {
		case dropByDefault[s]:
		case s == RemoteOutput:
			f.Actions = []Action{Goto{LocalOutput}}
		case s == CheckLoopback:
			for _, r := range scratchRegs {
				f.Actions = append(f.Actions, Load{Dst: r})
			}
			f.Actions = append(f.Actions, Goto{OutChain})
		default:
			f.Actions = []Action{next(s)}
		}
		out = append(out, f)
	}
	return out
}

// ingressSanityDrops drops VLAN-tagged frames and frames with a multicast
// source MAC, whatever the port (OVN's ls_in_port_sec_l2 priority 100).
func ingressSanityDrops() []Flow {
	cookie := MakeCookie(FeatureBase, KindGlobal, 0)
	return []Flow{
		{Stage: InPortSecL2, Priority: prioHigh, Cookie: cookie,
			Match: Match{}.WithMasked(FieldVlanTCI, vlanPresent, vlanPresent)},
		{Stage: InPortSecL2, Priority: prioHigh, Cookie: cookie,
			Match: Match{}.WithMACMasked(FieldEthSrc, macMulticast, macMulticast)},
	}
}

// egressMulticastPass lets broadcast and multicast out of any port that
// the egress pipeline has not dropped already (OVN ls_out_port_sec_l2).
func egressMulticastPass() Flow {
	return Flow{Stage: OutPortSecL2, Priority: prioHigh, Cookie: MakeCookie(FeatureBase, KindGlobal, 0),
		Match:   Match{}.WithMACMasked(FieldEthDst, macMulticast, macMulticast),
		Actions: []Action{Goto{LogToPhy}}}
}

// ---------------------------------------------------------------- ports

// classifyLocalPort maps a local VIF's packets to the logical datapath and
// input port, then starts the ingress pipeline.
func classifyLocalPort(p *portView) Flow {
	acts := []Action{Load{Dst: LogDatapath, Value: uint64(p.dp)}, loadReg(LogInport, p.key)}
	acts = append(acts, loadZone(p)...)
	if p.vnf {
		acts = append(acts, setFlag(FlagFromVNF))
	}
	return Flow{Stage: PhyToLog, Priority: prioHigh, Cookie: PortCookie(FeaturePhysical, p.dp, p.key),
		Match: Match{}.With(FieldInPort, uint64(p.ofport)), Actions: append(acts, Goto{InPortSecL2})}
}

// loadZone puts the port's conntrack zone where the ct actions of the
// pipeline that works for it find it.
func loadZone(p *portView) []Action {
	if p.zone == 0 {
		return nil
	}
	return []Action{Load{Dst: LogCtZone, Bits: 16, Value: uint64(p.zone)}}
}

// ingressPortSecurity admits an enabled port's frames whose source MAC is
// allowed; a port without port_security may send from any unicast MAC.
// A disabled port gets no flow, so the table default drops its traffic.
func ingressPortSecurity(p *portView) []Flow {
	if !p.enabled() {
		return nil
	}
	m := dpMatch(p.dp).With(LogInport, uint64(p.key))
	cookie := PortCookie(FeaturePortSec, p.dp, p.key)
	if len(p.sec) == 0 {
		return []Flow{{Stage: InPortSecL2, Priority: prioPort, Cookie: cookie, Match: m, Actions: []Action{next(InPortSecL2)}}}
	}
	var out []Flow
	for _, e := range p.sec {
		out = append(out, Flow{Stage: InPortSecL2, Priority: prioPort, Cookie: cookie,
			Match: m.WithMAC(FieldEthSrc, e.MAC), Actions: []Action{next(InPortSecL2)}})
	}
	return out
}

// egressPortSecurity lets frames out of an enabled port when they are
// addressed to one of its port-security MACs (any unicast MAC without
// port_security); a disabled port gets nothing at all.
func egressPortSecurity(p *portView) []Flow {
	m := dpMatch(p.dp).With(LogOutport, uint64(p.key))
	cookie := PortCookie(FeaturePortSec, p.dp, p.key)
	if !p.enabled() {
		return []Flow{{Stage: OutPortSecL2, Priority: prioDisable, Cookie: cookie, Match: m}}
	}
	if len(p.sec) == 0 {
		return []Flow{{Stage: OutPortSecL2, Priority: prioPort, Cookie: cookie, Match: m, Actions: []Action{Goto{LogToPhy}}}}
	}
	var out []Flow
	for _, e := range p.sec {
		out = append(out, Flow{Stage: OutPortSecL2, Priority: prioPort, Cookie: cookie,
			Match: m.WithMAC(FieldEthDst, e.MAC), Actions: []Action{Goto{LogToPhy}}})
	}
	return out
}

// localDelivery sends a packet whose logical outport is a local port into
// the egress pipeline (unless it would go back where it came from) and,
// after egress, out of the port's OpenFlow port.
func localDelivery(p *portView) []Flow {
	cookie := PortCookie(FeaturePhysical, p.dp, p.key)
	out := dpMatch(p.dp).With(LogOutport, uint64(p.key))
	return []Flow{
		{Stage: LocalOutput, Priority: prioHigh, Cookie: cookie, Match: out,
			Actions: append(loadZone(p), Goto{CheckLoopback})},
		{Stage: CheckLoopback, Priority: prioHigh, Cookie: cookie,
			Match: out.With(LogInport, uint64(p.key)).WithMasked(LogFlags, 0, FlagLoopback)},
		{Stage: LogToPhy, Priority: prioHigh, Cookie: cookie, Match: out,
			Actions: []Action{Output{p.ofport}}},
	}
}

// ---------------------------------------------------------------- L2

// l2_lkup picks the logical outport by destination MAC: broadcast and
// multicast flood, a known MAC goes to its port, anything else goes to the
// ports that accept unknown unicast (or is dropped if there are none).

func l2Flood(dp uint32) Flow {
	return Flow{Stage: InL2Lkup, Priority: prioMcast, Cookie: SwitchCookie(FeatureL2, dp),
		Match:   dpMatch(dp).WithMACMasked(FieldEthDst, macMulticast, macMulticast),
		Actions: []Action{loadReg(LogOutport, MulticastFlood), Goto{RemoteOutput}}}
}

func l2Unicast(p *portView) []Flow {
	var out []Flow
	for _, mac := range p.macs {
		out = append(out, Flow{Stage: InL2Lkup, Priority: prioPort, Cookie: PortCookie(FeatureL2, p.dp, p.key),
			Match:   dpMatch(p.dp).WithMAC(FieldEthDst, mac),
			Actions: []Action{loadReg(LogOutport, p.key), Goto{RemoteOutput}}})
	}
	return out
}

// l2Unknown is the switch's unknown-unicast flow: every port that takes
// unknown unicast contributes it, and it stays while one does.
func l2Unknown(dp uint32) Flow {
	return Flow{Stage: InL2Lkup, Priority: prioLow, Cookie: SwitchCookie(FeatureL2, dp), Match: dpMatch(dp),
		Actions: []Action{loadReg(LogOutport, MulticastUnknown), Goto{RemoteOutput}}}
}

// ---------------------------------------------------------------- tunnels

// classifyTunnel takes datapath, input and output port from the Geneve VNI
// and option, then skips the ingress pipeline: the sending chassis ran it.
// Tunnelled packets enter at local_output, so they are never tunnelled
// again.
func classifyTunnel(tun uint32) Flow {
	return Flow{Stage: PhyToLog, Priority: prioHigh, Cookie: MakeCookie(FeatureTunnel, KindGlobal, 0),
		Match: Match{}.With(FieldInPort, uint64(tun)),
		Actions: []Action{
			Move{Src: FieldTunID, Dst: LogDatapath, Bits: 24},
			Move{Src: FieldTunMetadata0, SrcOfs: 16, Dst: LogInport, Bits: 15},
			Move{Src: FieldTunMetadata0, Dst: LogOutport, Bits: 16},
			Goto{LocalOutput},
		}}
}

// encapsulate sets OVN's tunnel metadata: VNI = datapath, option =
// ingress << 16 | egress (loading the egress key clears the reserved bit
// and the ingress bits first).
func encapsulate(dp, egress uint32) []Action {
	return []Action{
		Load{Dst: FieldTunID, Bits: 24, Value: uint64(dp)},
		Load{Dst: FieldTunMetadata0, Value: uint64(egress)},
		Move{Src: LogInport, Dst: FieldTunMetadata0, DstOfs: 16, Bits: 15},
	}
}

// remoteDelivery sends a packet for a port on another chassis through the
// tunnel; that chassis runs the egress pipeline.
func remoteDelivery(p *portView, tun uint32) Flow {
	return Flow{Stage: RemoteOutput, Priority: prioHigh, Cookie: PortCookie(FeatureTunnel, p.dp, p.key),
		Match:   dpMatch(p.dp).With(LogOutport, uint64(p.key)),
		Actions: append(encapsulate(p.dp, p.key), toChassis(p.remote, tun)...)}
}
