package pipeline

import (
	"net"

	"github.com/chainwire/chainwire/topology"
)

// Health probes (DESIGN.md §12). chainwired on a pair's chassis sends a
// probe frame with packet-out straight into the pair's in port; a
// bump-in-the-wire VNF forwards it like any frame, and it comes back by
// the out port, where a flow sends it to chainwired before the pipeline
// sees it: a probe never reaches a workload. Only VNF ports trap probes,
// and only the probe's exact form (addresses, UDP port); a workload's
// frame from a probe MAC is dropped where it enters (port_sec_l2), so it
// cannot reach a VNF dressed as a probe. Probes pass a meter of their
// own: a flood of other packet-ins cannot crowd them out.

// The probe frame: UDP from ProbeSrcIP to ProbeDstIP, port ProbePort
// both ways, from ProbeSrcMAC to ProbeDstMAC (locally administered, with
// chainwire's marker byte; unicast, so a VNF's bridge floods it as
// unknown unicast).
var (
	ProbeSrcMAC = net.HardwareAddr{0x0a, 0xc7, 0, 0, 0, 1}
	ProbeDstMAC = net.HardwareAddr{0x0a, 0xc7, 0, 0, 0, 2}
	ProbeSrcIP  = net.IPv4(169, 254, 199, 1).To4()
	ProbeDstIP  = net.IPv4(169, 254, 199, 2).To4()
)

// ProbePort is BFD's, which a filtering VNF lets through as it would BFD.
const ProbePort = 3784

// OpProbe: a probe back from a VNF port (userdata [OpProbe]); the
// packet-in's in_port says which.
const OpProbe byte = 8

// The probes' meter: 1,000 a second is a hundred pairs probed at the
// shortest interval.
const (
	ProbeMeterID   = groupMarker | 2<<16
	probeMeterRate = 1000
)

func probeMeter() Meter {
	return Meter{Name: "probes", ID: ProbeMeterID, Pktps: true, Rate: probeMeterRate, Burst: probeMeterRate}
}

// prioProbe is above every port's classification in the physical table.
const prioProbe = prioHigh + 10

// trapProbes sends probes coming back out of a local VNF port to
// chainwired.
func trapProbes(p *portView) Flow {
	return Flow{Stage: PhyToLog, Priority: prioProbe, Cookie: PortCookie(FeatureChain, p.dp, p.key),
		Match: Match{}.With(FieldInPort, uint64(p.ofport)).WithMAC(FieldEthSrc, ProbeSrcMAC).WithMAC(FieldEthDst, ProbeDstMAC).
			With(FieldEthType, ethIPv4).WithBytes(FieldIPv4Src, ProbeSrcIP, nil).WithBytes(FieldIPv4Dst, ProbeDstIP, nil).
			With(FieldIPProto, protoUDP).With(FieldUDPDst, ProbePort),
		Actions: []Action{Controller{Userdata: []byte{OpProbe}, Meter: ProbeMeterID}}}
}

// probeMACsDropped drops frames from the probe MACs wherever they enter
// the pipeline: only chainwired sends them, past it.
func probeMACsDropped() []Flow {
	cookie := MakeCookie(FeatureChain, KindGlobal, 0)
	var out []Flow
	for _, mac := range []net.HardwareAddr{ProbeSrcMAC, ProbeDstMAC} {
		out = append(out, Flow{Stage: InPortSecL2, Priority: prioHigh, Cookie: cookie, Match: Match{}.WithMAC(FieldEthSrc, mac)})
	}
	return out
}

// ProbeActions sends a probe frame out of a local port (the pair's in
// port), past the pipeline.
func ProbeActions(ofport uint32) []Action { return []Action{Output{Port: ofport}} }

// pairUp reports whether the pair may take traffic: it has no health
// check, or the last one found it up.
func (rd *reader) pairUp(pp *topology.PortPair) bool {
	if _, checked := pp.HealthCheck(); !checked {
		return true
	}
	rd.use(depHealth, pp.Name)
	return !rd.r.env.Down[pp.Name]
}
