package pipeline_test

import (
	"testing"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/topology/fixture"
)

// BenchSpecs are the models `make bench` renders (and programs).
var benchSpecs = []struct {
	name string
	spec fixture.Spec
}{
	{"ports=1k", fixture.Spec{Chassis: 10, Switches: 4, PortsPerSwitch: 250}},
	{"ports=10k", fixture.Spec{Chassis: 10, Switches: 4, PortsPerSwitch: 2500}},
	{"ports=1k/chains=100", fixture.Spec{Chassis: 10, Switches: 4, PortsPerSwitch: 250, Chains: 100, GroupsPerChain: 3, PairsPerGroup: 1}},
	{"ports=10k/chains=1000", fixture.Spec{Chassis: 10, Switches: 4, PortsPerSwitch: 2500, Chains: 1000, GroupsPerChain: 3, PairsPerGroup: 1}},
}

// BenchmarkRender renders hv1's flows (a tenth of the ports are bound
// there) and reports the cost per flow and the flows per port and chain.
func BenchmarkRender(b *testing.B) {
	for _, bs := range benchSpecs {
		b.Run(bs.name, func(b *testing.B) {
			m := fixture.Build(bs.spec)
			in := pipeline.Input{Model: m, Chassis: "hv1", OFPorts: fixture.LocalPorts(m, "hv1"), TunnelOFPort: 60000}
			tables, err := pipeline.Render(in)
			if err != nil {
				b.Fatal(err)
			}
			flows := tables.Flows
			chainFlows := 0
			for _, f := range flows {
				if f.Cookie>>48&0xff == uint64(pipeline.FeatureChain) {
					chainFlows++
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := pipeline.Render(in); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(flows)), "ns/flow")
			b.ReportMetric(float64(len(flows)), "flows")
			b.ReportMetric(float64(len(flows))/float64(len(m.Ports)), "flows/port")
			if bs.spec.Chains > 0 {
				b.ReportMetric(float64(chainFlows)/float64(bs.spec.Chains), "flows/chain")
			}
		})
	}
}

func TestBenchSpecsRender(t *testing.T) {
	for _, bs := range benchSpecs[:1] {
		m := fixture.Build(bs.spec)
		tables, err := pipeline.Render(pipeline.Input{Model: m, Chassis: "hv1", OFPorts: fixture.LocalPorts(m, "hv1"), TunnelOFPort: 60000})
		if err != nil || len(tables.Flows) == 0 {
			t.Fatal(err)
		}
	}
}
