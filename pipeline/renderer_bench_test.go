package pipeline_test

import (
	"testing"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/topology"
	"github.com/chainwire/chainwire/topology/fixture"
)

// BenchmarkNewRenderer is a full render from an index (an agent's
// connect), without building the index.
func BenchmarkNewRenderer(b *testing.B) {
	for _, bs := range benchSpecs {
		b.Run(bs.name, func(b *testing.B) {
			m := fixture.Build(bs.spec)
			ix, err := topology.NewIndex(m)
			if err != nil {
				b.Fatal(err)
			}
			env := pipeline.Env{Chassis: "hv1", OFPorts: fixture.LocalPorts(m, "hv1"), TunnelOFPort: 60000}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, _, err := pipeline.NewRenderer(ix, env); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
