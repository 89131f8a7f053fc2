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
// so a workload cannot forge one.

// ProbeSrcMAC and ProbeDstMAC address the probe frame: locally
// administered, with chainwire's marker byte, never a port's (multicast
// bit clear, so a VNF's bridge forwards it as unknown unicast).
var (
	ProbeSrcMAC = net.HardwareAddr{0x0a, 0xc7, 0, 0, 0, 1}
	ProbeDstMAC = net.HardwareAddr{0x0a, 0xc7, 0, 0, 0, 2}
)

// OpProbe: a probe back from a VNF port (userdata [OpProbe]); the
// packet-in's in_port says which.
const OpProbe byte = 8

// prioProbe is above every port's classification in the physical table.
const prioProbe = prioHigh + 10

// trapProbes sends probes coming back out of a local VNF port to
// chainwired.
func trapProbes(p *portView) Flow {
	return Flow{Stage: PhyToLog, Priority: prioProbe, Cookie: PortCookie(FeatureChain, p.dp, p.key),
		Match:   Match{}.With(FieldInPort, uint64(p.ofport)).WithMAC(FieldEthSrc, ProbeSrcMAC),
		Actions: []Action{toChainwired(false, OpProbe)}}
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
