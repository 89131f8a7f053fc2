package pipeline_test

import (
	"fmt"
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
			m := bs.model()
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

// BenchmarkChainAddIncremental adds a chain of three groups (ports,
// pairs, groups, chain, classifier: 13 objects) to the 10k-port model
// and removes it again, through the index and the renderer.
func BenchmarkChainAddIncremental(b *testing.B) {
	m := fixture.Build(fixture.Spec{Chassis: 10, Switches: 4, PortsPerSwitch: 2500, Chains: 1000, GroupsPerChain: 3, PairsPerGroup: 1})
	ix, err := topology.NewIndex(m)
	if err != nil {
		b.Fatal(err)
	}
	env := pipeline.Env{Chassis: "hv1", OFPorts: fixture.LocalPorts(m, "hv1"), TunnelOFPort: 60000}
	r, _, err := pipeline.NewRenderer(ix, env)
	if err != nil {
		b.Fatal(err)
	}
	add := &topology.Changes{Ports: map[string]*topology.Port{}, PortPairs: map[string]*topology.PortPair{},
		PortPairGroups: map[string]*topology.PortPairGroup{}, PortChains: map[string]*topology.PortChain{},
		Classifiers: map[string]*topology.Classifier{}}
	del := &topology.Changes{Ports: map[string]*topology.Port{}, PortPairs: map[string]*topology.PortPair{},
		PortPairGroups: map[string]*topology.PortPairGroup{}, PortChains: map[string]*topology.PortChain{},
		Classifiers: map[string]*topology.Classifier{}}
	chain := &topology.PortChain{Name: "bench", Switch: "sw1", Key: 60000}
	for g := 0; g < 3; g++ {
		in, out := fmt.Sprintf("bench-%d-in", g), fmt.Sprintf("bench-%d-out", g)
		for i, p := range []string{in, out} {
			add.Ports[p] = &topology.Port{Name: p, Switch: "sw1", Key: uint32(9000 + 2*g + i), Options: map[string]string{"requested-chassis": "hv1"}}
			del.Ports[p] = nil
		}
		pp := fmt.Sprintf("bench-pp%d", g)
		add.PortPairs[pp] = &topology.PortPair{Name: pp, Switch: "sw1", InPort: in, OutPort: out, Weight: 1}
		grp := fmt.Sprintf("bench-pg%d", g)
		add.PortPairGroups[grp] = &topology.PortPairGroup{Name: grp, Pairs: []string{pp}}
		chain.Groups = append(chain.Groups, grp)
		del.PortPairs[pp], del.PortPairGroups[grp] = nil, nil
	}
	add.PortChains["bench"], del.PortChains["bench"] = chain, nil
	add.Classifiers["bench"] = &topology.Classifier{Name: "bench", Switch: "sw1", Chain: "bench", Port: "s1p2000",
		Direction: topology.EntryLport, Path: topology.Bidirectional, Match: "ip4 && tcp.dst == 80", Key: 60000}
	del.Classifiers["bench"] = nil
	b.ReportAllocs()
	b.ResetTimer()
	mods := 0
	for i := 0; i < b.N; i++ {
		for _, ch := range []*topology.Changes{add, del} {
			ch.Generation = ix.Generation() + 1
			if err := ix.Apply(ch); err != nil {
				b.Fatal(err)
			}
			d, err := r.Update(pipeline.Update{Model: ch})
			if err != nil {
				b.Fatal(err)
			}
			mods += d.Len()
		}
	}
	b.ReportMetric(float64(mods)/float64(2*b.N), "flow-mods/change")
}
