package pipeline_test

import (
	"testing"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/topology"
	"github.com/chainwire/chainwire/topology/fixture"
)

// BenchSpecs are the models `make bench` renders (and programs).
var benchSpecs = []benchSpec{
	{name: "ports=1k", spec: fixture.Spec{Chassis: 10, Switches: 4, PortsPerSwitch: 250}},
	{name: "ports=10k", spec: fixture.Spec{Chassis: 10, Switches: 4, PortsPerSwitch: 2500}},
	{name: "ports=1k/chains=100", spec: fixture.Spec{Chassis: 10, Switches: 4, PortsPerSwitch: 250, Chains: 100, GroupsPerChain: 3, PairsPerGroup: 1}},
	{name: "ports=10k/chains=1000", spec: fixture.Spec{Chassis: 10, Switches: 4, PortsPerSwitch: 2500, Chains: 1000, GroupsPerChain: 3, PairsPerGroup: 1}},
	// 1,000 allow-related ACLs, each naming a port, one of 100 sets of
	// 10 addresses and a TCP port.
	{name: "ports=1k/acls=1k", spec: fixture.Spec{Chassis: 10, Switches: 4, PortsPerSwitch: 250}, acls: 1000},
}

type benchSpec struct {
	name string
	spec fixture.Spec
	acls int
}

func (bs benchSpec) model() *topology.Model {
	m := fixture.Build(bs.spec)
	if bs.acls > 0 {
		fixture.WithPolicy(m, 100, 10, bs.acls)
	}
	return m
}

// BenchmarkRender renders hv1's flows (a tenth of the ports are bound
// there) and reports the cost per flow and the flows per port and chain.
func BenchmarkRender(b *testing.B) {
	for _, bs := range benchSpecs {
		b.Run(bs.name, func(b *testing.B) {
			m := bs.model()
			in := pipeline.Input{Model: m, Chassis: "hv1", OFPorts: fixture.LocalPorts(m, "hv1"), TunnelOFPort: 60000}
			tables, err := pipeline.Render(in)
			if err != nil {
				b.Fatal(err)
			}
			flows := tables.Flows
			chainFlows, aclFlows := 0, 0
			for _, f := range flows {
				switch {
				case f.Cookie>>48&0xff == uint64(pipeline.FeatureChain):
					chainFlows++
				case f.Cookie>>40&0xffff == uint64(pipeline.FeatureACL)<<8|uint64(pipeline.KindACL):
					aclFlows++
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
			if bs.acls > 0 {
				b.ReportMetric(float64(aclFlows)/float64(bs.acls), "flows/acl")
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
