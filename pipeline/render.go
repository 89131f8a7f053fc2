package pipeline

import (
	"encoding/binary"
	"fmt"
	"net"
	"sort"

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

// view is the model as the renderer needs it: parsed and indexed once.
type view struct {
	in       Input
	switches []*swView
	pairs    map[string]*topology.PortPair
	groups   map[string]*topology.PortPairGroup
	chains   map[string]*topology.PortChain
}

type swView struct {
	sw    *topology.Switch
	ports []*portView
}

type portView struct {
	p      *topology.Port
	dp     uint32
	key    uint32
	ofport uint32 // 0: not bound on this chassis
	// remote is the encap IP of the chassis the port is requested on,
	// when that is another chassis.
	remote net.IP
	macs   []net.HardwareAddr
	secMAC []net.HardwareAddr
	// unknown: the port receives unicast to unknown MACs.
	unknown bool
	// vnf: the port belongs to a port pair. It gets no flooded traffic: a
	// two-armed bridge VNF would send it back in by its other arm.
	vnf bool
}

func (p *portView) local() bool   { return p.ofport != 0 }
func (p *portView) enabled() bool { return p.p.IsEnabled() }

func newView(in Input) (*view, error) {
	m := in.Model
	v := &view{in: in, pairs: map[string]*topology.PortPair{}, groups: map[string]*topology.PortPairGroup{},
		chains: map[string]*topology.PortChain{}}
	vnfPorts := map[string]bool{}
	for i := range m.PortPairs {
		pp := &m.PortPairs[i]
		v.pairs[pp.Name] = pp
		vnfPorts[pp.InPort], vnfPorts[pp.OutPort] = true, true
	}
	for i := range m.PortPairGroups {
		v.groups[m.PortPairGroups[i].Name] = &m.PortPairGroups[i]
	}
	for i := range m.PortChains {
		v.chains[m.PortChains[i].Name] = &m.PortChains[i]
	}
	chassisByName := make(map[string]*topology.Chassis, len(m.Chassis))
	for i := range m.Chassis {
		chassisByName[m.Chassis[i].Name] = &m.Chassis[i]
	}
	portsOf := map[string][]*topology.Port{}
	for i := range m.Ports {
		portsOf[m.Ports[i].Switch] = append(portsOf[m.Ports[i].Switch], &m.Ports[i])
	}
	for i := range in.Model.Switches {
		sw := &in.Model.Switches[i]
		sv := &swView{sw: sw}
		for _, p := range portsOf[sw.Name] {
			pv := &portView{p: p, dp: sw.Key, key: p.Key, vnf: vnfPorts[p.Name]}
			rc := p.RequestedChassis()
			if rc == "" && in.OFPorts[p.Name] == 0 {
				rc = in.Bindings[p.Name] // bound elsewhere, as its agent says
			}
			switch {
			case rc == "" || rc == in.Chassis:
				pv.ofport = in.OFPorts[p.Name]
			default:
				if ch := chassisByName[rc]; ch != nil {
					pv.remote = net.ParseIP(ch.IP).To4()
				}
			}
			for _, a := range p.Addresses {
				addr, err := topology.ParseAddress(a)
				if err != nil {
					return nil, fmt.Errorf("port %q: %v", p.Name, err)
				}
				if addr.Unknown {
					pv.unknown = true
				} else {
					pv.macs = append(pv.macs, addr.MAC)
				}
			}
			for _, s := range p.PortSecurity {
				sec, err := topology.ParseSecurity(s)
				if err != nil {
					return nil, fmt.Errorf("port %q: %v", p.Name, err)
				}
				pv.secMAC = append(pv.secMAC, sec.MAC)
			}
			sv.ports = append(sv.ports, pv)
		}
		v.switches = append(v.switches, sv)
	}
	return v, nil
}

// Tables is the desired state of one bridge: its flows and the groups
// they use.
type Tables struct {
	Flows  []Flow
	Groups []Group
}

// Render computes the complete desired state of one chassis: flows sorted
// by table, priority (high first) and match, groups by name. It fails,
// rendering nothing, if two flows would collide.
func Render(in Input) (*Tables, error) {
	if in.Model == nil {
		in.Model = &topology.Model{}
	}
	v, err := newView(in)
	if err != nil {
		return nil, err
	}
	var flows []Flow
	var groups []Group
	add := func(f []Flow, g []Group) {
		flows = append(flows, f...)
		groups = append(groups, g...)
	}
	flows = append(flows, tableDefaults()...)
	flows = append(flows, ingressSanityDrops()...)
	flows = append(flows, egressMulticastPass(), chainReinject())
	tun := in.TunnelOFPort
	if tun != 0 {
		flows = append(flows, classifyTunnel(tun))
	}
	for _, sw := range v.switches {
		flows = append(flows, l2Lookup(sw)...)
		add(localMulticast(sw))
		if tun != 0 {
			add(remoteMulticast(sw, tun))
		}
		flows = append(flows, v.chainFlows(sw, tun)...)
		for _, p := range sw.ports {
			if p.remote != nil && tun != 0 {
				flows = append(flows, remoteDelivery(p, tun))
			}
			if !p.local() {
				continue
			}
			flows = append(flows, classifyLocalPort(p))
			flows = append(flows, ingressPortSecurity(p)...)
			flows = append(flows, localDelivery(p)...)
			flows = append(flows, egressPortSecurity(p)...)
		}
	}
	flows, err = finish(flows)
	if err != nil {
		return nil, err
	}
	if err := assignGroupIDs(flows, groups); err != nil {
		return nil, err
	}
	return &Tables{Flows: flows, Groups: groups}, nil
}

func finish(in []Flow) ([]Flow, error) {
	type keyed struct {
		flow  Flow
		key   string // Flow.Key(), computed once
		match string
	}
	seen := make(map[string]int, len(in))
	flows := make([]keyed, 0, len(in))
	for _, f := range in {
		match := f.Match.String()
		key := fmt.Sprintf("%d/%d/%s", f.Stage.Table(), f.Priority, match)
		j, dup := seen[key]
		switch {
		case !dup:
			seen[key] = len(flows)
			flows = append(flows, keyed{f, key, match})
		case onlyConjunctions(flows[j].flow.Actions) && onlyConjunctions(f.Actions):
			// One flow serves as a clause of several conjunctive matches.
			flows[j].flow.Actions = append(append([]Action(nil), flows[j].flow.Actions...), f.Actions...)
		default:
			return nil, fmt.Errorf("pipeline: two flows collide: %s and %s", flows[j].flow, f)
		}
	}
	sort.Slice(flows, func(i, j int) bool {
		a, b := flows[i], flows[j]
		if ta, tb := a.flow.Stage.Table(), b.flow.Stage.Table(); ta != tb {
			return ta < tb
		}
		if a.flow.Priority != b.flow.Priority {
			return a.flow.Priority > b.flow.Priority
		}
		return a.match < b.match
	})
	out := make([]Flow, len(flows))
	for i := range flows {
		out[i] = flows[i].flow
	}
	return out, nil
}

func onlyConjunctions(acts []Action) bool {
	for _, a := range acts {
		if _, ok := a.(Conjunction); !ok {
			return false
		}
	}
	return len(acts) > 0
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
	return Flow{Stage: PhyToLog, Priority: prioHigh, Cookie: PortCookie(FeaturePhysical, p.dp, p.key),
		Match: Match{}.With(FieldInPort, uint64(p.ofport)),
		Actions: []Action{
			Load{Dst: LogDatapath, Value: uint64(p.dp)},
			loadReg(LogInport, p.key),
			Goto{InPortSecL2},
		}}
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
	if len(p.secMAC) == 0 {
		return []Flow{{Stage: InPortSecL2, Priority: prioPort, Cookie: cookie, Match: m, Actions: []Action{next(InPortSecL2)}}}
	}
	var out []Flow
	for _, mac := range p.secMAC {
		out = append(out, Flow{Stage: InPortSecL2, Priority: prioPort, Cookie: cookie,
			Match: m.WithMAC(FieldEthSrc, mac), Actions: []Action{next(InPortSecL2)}})
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
	if len(p.secMAC) == 0 {
		return []Flow{{Stage: OutPortSecL2, Priority: prioPort, Cookie: cookie, Match: m, Actions: []Action{Goto{LogToPhy}}}}
	}
	var out []Flow
	for _, mac := range p.secMAC {
		out = append(out, Flow{Stage: OutPortSecL2, Priority: prioPort, Cookie: cookie,
			Match: m.WithMAC(FieldEthDst, mac), Actions: []Action{Goto{LogToPhy}}})
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
			Actions: []Action{Goto{CheckLoopback}}},
		{Stage: CheckLoopback, Priority: prioHigh, Cookie: cookie,
			Match: out.With(LogInport, uint64(p.key)).WithMasked(LogFlags, 0, FlagLoopback)},
		{Stage: LogToPhy, Priority: prioHigh, Cookie: cookie, Match: out,
			Actions: []Action{Output{p.ofport}}},
	}
}

// ---------------------------------------------------------------- L2

// l2Lookup picks the logical outport by destination MAC: broadcast and
// multicast flood, a known MAC goes to its port, anything else goes to the
// ports that accept unknown unicast (or is dropped if there are none).
func l2Lookup(sw *swView) []Flow {
	dp := sw.sw.Key
	cookie := SwitchCookie(FeatureL2, dp)
	out := []Flow{{Stage: InL2Lkup, Priority: prioMcast, Cookie: cookie,
		Match:   dpMatch(dp).WithMACMasked(FieldEthDst, macMulticast, macMulticast),
		Actions: []Action{loadReg(LogOutport, MulticastFlood), Goto{RemoteOutput}}}}
	hasUnknown := false
	for _, p := range sw.ports {
		hasUnknown = hasUnknown || (p.unknown && p.enabled() && !p.vnf)
		for _, mac := range p.macs {
			out = append(out, Flow{Stage: InL2Lkup, Priority: prioPort, Cookie: PortCookie(FeatureL2, dp, p.key),
				Match:   dpMatch(dp).WithMAC(FieldEthDst, mac),
				Actions: []Action{loadReg(LogOutport, p.key), Goto{RemoteOutput}}})
		}
	}
	if hasUnknown {
		out = append(out, Flow{Stage: InL2Lkup, Priority: prioLow, Cookie: cookie, Match: dpMatch(dp),
			Actions: []Action{loadReg(LogOutport, MulticastUnknown), Goto{RemoteOutput}}})
	}
	return out
}

// multicastGroups are OVN's _MC_flood and _MC_unknown: every port, or the
// ports that take unknown unicast. VNF ports are in neither: a two-armed
// bridge VNF would send flooded frames straight back in.
var multicastGroups = []struct {
	key    uint32
	name   string
	member func(*portView) bool
}{
	{MulticastFlood, "flood", func(p *portView) bool { return !p.vnf }},
	{MulticastUnknown, "unknown", func(p *portView) bool { return p.unknown && !p.vnf }},
}

// OVS gives one packet's translation 4,096 table lookups (resubmits and
// gotos alike). Each local member of a flood costs a pass through the
// egress band plus check_loopback and log_to_phy; ingress, chains and
// the remote part use the reserve. A flood with more local members runs
// as several chunks, each a group, with a paused controller action
// between them: chainwired resumes the pipeline at once, and the resumed
// translation starts with a fresh budget (OVN splits large multicast
// groups the same way).
const (
	resubmitBudget = 4096
	ingressReserve = 512
	// remoteChunk bounds the chassis one translation tunnels to: each
	// Geneve push is ~120 bytes of datapath actions, which OVS caps at
	// 64 KiB per translation.
	remoteChunk = 200
)

var floodChunk = (resubmitBudget - ingressReserve) / (egressTables() + 4)

// egressTables is the number of tables a packet visits between
// local_output and its OpenFlow output.
func egressTables() int {
	n := 2 // check_loopback, log_to_phy
	for s := OutChain; s <= OutPortSecL2; s++ {
		n++
	}
	return n
}

// floodMember is one branch of a flood: a local port or a remote chassis,
// keyed by port key or tunnel IP.
type floodMember struct {
	key  uint32
	acts []Action
}

// chunkedGroups renders members as the groups of a flood and returns the
// actions that run them all: one group if they fit in size; else one
// group per range of size keys, run as group:1, controller(pause),
// group:2, ... so that no translation exceeds OVS's limits. Ranges of
// keys (not runs of members) keep a member's change to its own group.
func chunkedGroups(name string, size int, members []floodMember) ([]Group, []Action) {
	sort.Slice(members, func(i, j int) bool { return members[i].key < members[j].key })
	var groups []Group
	var acts []Action
	chunk := func(m floodMember) uint32 {
		if len(members) <= size {
			return 0
		}
		return m.key / uint32(size)
	}
	for i := 0; i < len(members); {
		c := chunk(members[i])
		g := Group{Name: fmt.Sprintf("%s/%d", name, c), Type: GroupAll}
		for ; i < len(members) && chunk(members[i]) == c; i++ {
			g.Buckets = append(g.Buckets, Bucket{Actions: members[i].acts})
		}
		if len(groups) > 0 {
			acts = append(acts, Controller{Pause: true, Userdata: []byte{OpContinue}})
		}
		groups = append(groups, g)
		acts = append(acts, ToGroup{Name: g.Name})
	}
	return groups, acts
}

// localMulticast fans the flood and unknown groups out to the local ports
// that belong to them, one egress pass each (OVN's multicast groups).
func localMulticast(sw *swView) ([]Flow, []Group) {
	dp := sw.sw.Key
	var flows []Flow
	var groups []Group
	for _, mg := range multicastGroups {
		var members []floodMember
		for _, p := range sw.ports {
			if p.local() && p.enabled() && mg.member(p) {
				members = append(members, floodMember{p.key, []Action{loadReg(LogOutport, p.key), Resubmit{CheckLoopback}}})
			}
		}
		if len(members) == 0 {
			continue
		}
		gs, acts := chunkedGroups(fmt.Sprintf("%s-local/%d", mg.name, dp), floodChunk, members)
		groups = append(groups, gs...)
		flows = append(flows, Flow{Stage: LocalOutput, Priority: prioHigh, Cookie: SwitchCookie(FeatureL2, dp),
			Match: dpMatch(dp).With(LogOutport, uint64(mg.key)), Actions: acts})
	}
	return flows, groups
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

func toChassis(ip net.IP, tun uint32) []Action {
	return []Action{Load{Dst: FieldTunDst, Value: uint64(binary.BigEndian.Uint32(ip))}, Output{tun}}
}

// remoteDelivery sends a packet for a port on another chassis through the
// tunnel; that chassis runs the egress pipeline.
func remoteDelivery(p *portView, tun uint32) Flow {
	return Flow{Stage: RemoteOutput, Priority: prioHigh, Cookie: PortCookie(FeatureTunnel, p.dp, p.key),
		Match:   dpMatch(p.dp).With(LogOutport, uint64(p.key)),
		Actions: append(encapsulate(p.dp, p.key), toChassis(p.remote, tun)...)}
}

// remoteMulticast sends one copy of a flooded (or unknown-unicast) packet
// to each other chassis that hosts members of the group, then delivers
// to the local members.
func remoteMulticast(sw *swView, tun uint32) ([]Flow, []Group) {
	dp := sw.sw.Key
	var flows []Flow
	var groups []Group
	for _, mg := range multicastGroups {
		seen := map[string]bool{}
		var ips []net.IP
		for _, p := range sw.ports {
			if p.remote != nil && p.enabled() && mg.member(p) && !seen[p.remote.String()] {
				seen[p.remote.String()] = true
				ips = append(ips, p.remote)
			}
		}
		if len(ips) == 0 {
			continue
		}
		members := make([]floodMember, len(ips))
		for i, ip := range ips {
			members[i] = floodMember{binary.BigEndian.Uint32(ip), toChassis(ip, tun)}
		}
		gs, acts := chunkedGroups(fmt.Sprintf("%s-remote/%d", mg.name, dp), remoteChunk, members)
		groups = append(groups, gs...)
		acts = append(encapsulate(dp, mg.key), acts...)
		flows = append(flows, Flow{Stage: RemoteOutput, Priority: prioHigh, Cookie: SwitchCookie(FeatureTunnel, dp),
			Match: dpMatch(dp).With(LogOutport, uint64(mg.key)), Actions: append(acts, Goto{LocalOutput})})
	}
	return flows, groups
}
