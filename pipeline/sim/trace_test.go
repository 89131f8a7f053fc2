package sim_test

import (
	"testing"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/pipeline/sim"
)

// RunTraced records each flow hit, output and miss with its depth; Run
// records none and finds the same outputs.
func TestRunTracedSteps(t *testing.T) {
	tables := &pipeline.Tables{Flows: []pipeline.Flow{
		{Stage: pipeline.PhyToLog, Priority: 100, Match: pipeline.Match{}.With(pipeline.FieldInPort, 1),
			Actions: []pipeline.Action{pipeline.Resubmit{Stage: pipeline.LogToPhy}, pipeline.Output{Port: 1}, pipeline.Goto{Stage: pipeline.InPortSecL2}}},
		{Stage: pipeline.LogToPhy, Priority: 50, Actions: []pipeline.Action{pipeline.Output{Port: 2}}},
	}}
	sw, err := sim.New(tables)
	if err != nil {
		t.Fatal(err)
	}
	p := sim.Frame(1, "02:00:00:00:00:01", "02:00:00:00:00:02")
	r, err := sw.RunTraced(p)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		kind  sim.StepKind
		table uint8
		depth int
		port  uint32
		skip  bool
	}
	ws := []want{{sim.StepFlow, 0, 0, 0, false}, {sim.StepFlow, 64, 1, 0, false}, {sim.StepOutput, 64, 1, 2, false},
		{sim.StepOutput, 0, 0, 1, true}, {sim.StepMiss, 8, 0, 0, false}}
	if len(r.Steps) != len(ws) {
		t.Fatalf("%d steps, want %d: %+v", len(r.Steps), len(ws), r.Steps)
	}
	for i, w := range ws {
		s := r.Steps[i]
		if s.Kind != w.kind || s.Table != w.table || s.Depth != w.depth || s.Port != w.port || s.Skipped != w.skip {
			t.Errorf("step %d: %+v, want %+v", i, s, w)
		}
	}
	plain, err := sw.Run(p)
	if err != nil || len(plain.Steps) != 0 || len(plain.Outputs) != 1 || plain.Outputs[0].Port != 2 {
		t.Errorf("Run: steps %d, outputs %v (%v)", len(plain.Steps), plain.Ports(), err)
	}
}

// OVSFlow puts the protocol before the fields that need it, as
// ofproto/trace parses them in order.
func TestOVSFlow(t *testing.T) {
	p := sim.Frame(3, "02:00:00:00:00:01", "02:00:00:00:00:02").Set(pipeline.FieldIPProto, 17).
		Set(pipeline.FieldIPv4Src, 0x0a000001).Set(pipeline.FieldIPv4Dst, 0x0a000002).Set(pipeline.FieldIPTTL, 64).
		Set(pipeline.FieldUDPDst, 53)
	want := "in_port=3,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,udp,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=0,tp_dst=53"
	if got := p.OVSFlow(); got != want {
		t.Errorf("OVSFlow %s, want %s", got, want)
	}
	if f := p.Frame(); f.Get(pipeline.FieldInPort) != 0 || f.Get(pipeline.FieldUDPDst) != 53 {
		t.Errorf("Frame kept in_port or lost udp.dst: %v", f)
	}
}
