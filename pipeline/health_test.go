package pipeline_test

import (
	"testing"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/pipeline/sim"
	"github.com/chainwire/chainwire/topology"
)

// walkDown is walk with pairs a health check found down.
func walkDown(t *testing.T, m *topology.Model, down map[string]bool, chassis string, p sim.Packet) []string {
	t.Helper()
	for i := range m.PortPairs {
		if down[m.PortPairs[i].Name] {
			m.PortPairs[i].Options = map[string]string{topology.OptHealthCheck: "true"}
		}
	}
	return walkerDown(t, m, down)(chassis, p)
}

func TestDownPairFailModeClose(t *testing.T) {
	m := seedCase{vnfs: 1, app2On: "hv2"}.model()
	down := map[string]bool{"PP1": true}
	expectWalk(t, "request", walkDown(t, m, down, "hv1", request(11)), "{}")
	expectWalk(t, "reply", walkDown(t, m, down, "hv2", reply(18)), "{}")
}

func TestDownPairFailModeOpen(t *testing.T) {
	m := seedCase{vnfs: 3, app2On: "hv2"}.model()
	m.PortPairGroups[1].Options = map[string]string{topology.OptFailMode: "open"}
	down := map[string]bool{"PP2": true}
	expectWalk(t, "request", walkDown(t, m, down, "hv1", request(11)), "vnf1-in vnf3-in app2")
	expectWalk(t, "reply", walkDown(t, m, down, "hv2", reply(18)), "vnf3-out vnf1-out app1")
	// A pair without a health check is never down.
	m.PortPairs[1].Options = nil
	expectWalk(t, "unchecked", walkerDown(t, m, down)("hv1", request(11)), "vnf1-in vnf2-in vnf3-in app2")
}

// twoPairGroup is seed Case 1 with two pairs in its one group.
func twoPairGroup() *topology.Model {
	m := seedCase{vnfs: 2, app2On: "hv2"}.model()
	m.PortPairGroups = m.PortPairGroups[:1]
	m.PortPairGroups[0].Pairs = []string{"PP1", "PP2"}
	m.PortChains[0].Groups = []string{"PG1"}
	for i := range m.PortPairs {
		m.PortPairs[i].Options = map[string]string{topology.OptHealthCheck: "true"}
	}
	return m
}

// A down pair's connections move to the survivor; the survivor's stay
// where they are, and come back when it is up again.
func TestDownPairLeavesBuckets(t *testing.T) {
	m := twoPairGroup()
	conn := func(port int) sim.Packet {
		return request(11).Set(pipeline.FieldEthType, 0x800).Set(pipeline.FieldIPProto, 6).Set(pipeline.FieldTCPSrc, uint64(port)).Set(pipeline.FieldTCPDst, 80)
	}
	first := func(w []string) string { return w[0] }
	up, down := walkerDown(t, m, nil), walkerDown(t, m, map[string]bool{"PP2": true})
	on := map[string]int{}
	for port := 1000; port < 1064; port++ {
		before, after := first(up("hv1", conn(port))), first(down("hv1", conn(port)))
		on[before]++
		if after != "vnf1-in" {
			t.Errorf("connection %d crosses %s with PP2 down", port, after)
		}
	}
	if on["vnf1-in"] == 0 || on["vnf2-in"] == 0 {
		t.Fatalf("64 connections did not spread over both pairs: %v", on)
	}
	both := walkerDown(t, m, map[string]bool{"PP1": true, "PP2": true})
	expectWalk(t, "both down, fail-mode close", both("hv1", conn(1000)), "{}")
}

// A tap gets a copy of each packet at its hop, both ways, and the chain
// goes on at once; what the tap sends is dropped.
func TestTapGroup(t *testing.T) {
	m := seedCase{vnfs: 2, app2On: "hv2"}.model()
	m.PortPairGroups[0].Options = map[string]string{topology.OptTap: "true"}
	w := walkerDown(t, m, nil)
	expectWalk(t, "request", w("hv1", request(11)), "{vnf1-in vnf2-in}")
	expectWalk(t, "reply", w("hv2", reply(18)), "vnf2-out {vnf1-out app1}")
	expectWalk(t, "the tap's own output", w("hv1", request(13)), "{}")
	// A tap without a healthy pair is skipped, whatever its fail-mode.
	m.PortPairs[0].Options = map[string]string{topology.OptHealthCheck: "true"}
	w = walkerDown(t, m, map[string]bool{"PP1": true})
	expectWalk(t, "tap down", w("hv1", request(11)), "vnf2-in app2")
}

// Probes come back from VNF ports only, in their exact form; a
// workload's frame from the probe MAC is dropped where it enters, so it
// never reaches a VNF to come back dressed as a probe.
func TestProbesTrappedAtVNFPorts(t *testing.T) {
	m := seedCase{vnfs: 1, app2On: "hv1"}.model()
	tables, err := pipeline.Render(pipeline.Input{Model: m, Chassis: "hv1", OFPorts: map[string]uint32{"vnf1-in": 12, "vnf1-out": 13, "app1": 11, "app2": 18}})
	if err != nil {
		t.Fatal(err)
	}
	sw, err := sim.New(tables)
	if err != nil {
		t.Fatal(err)
	}
	probe := func(in uint32, dst string, udpDst uint64) sim.Result {
		p := sim.Frame(in, pipeline.ProbeSrcMAC.String(), dst).Set(pipeline.FieldEthType, 0x800).
			Set(pipeline.FieldIPv4Src, 0xa9fec701).Set(pipeline.FieldIPv4Dst, 0xa9fec702).
			Set(pipeline.FieldIPProto, 17).Set(pipeline.FieldUDPDst, udpDst)
		r, err := sw.Run(p)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := probe(13, pipeline.ProbeDstMAC.String(), pipeline.ProbePort); len(r.ToController) != 1 || r.ToController[0][0] != pipeline.OpProbe || len(r.Outputs) != 0 {
		t.Errorf("probe from a VNF port: to chainwired %x, outputs %v", r.ToController, r.Outputs)
	}
	if r := probe(13, pipeline.ProbeDstMAC.String(), 53); len(r.ToController) != 0 {
		t.Errorf("a VNF's frame that is not a probe went to chainwired: %x", r.ToController)
	}
	for _, dst := range []string{pipeline.ProbeDstMAC.String(), macApp2} {
		if r := probe(11, dst, pipeline.ProbePort); len(r.ToController) != 0 || len(r.Outputs) != 0 {
			t.Errorf("a workload's frame from the probe MAC to %s: to chainwired %x, outputs %v", dst, r.ToController, r.Outputs)
		}
	}
}
