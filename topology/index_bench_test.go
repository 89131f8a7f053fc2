package topology_test

import (
	"fmt"
	"testing"

	"github.com/chainwire/chainwire/topology"
	"github.com/chainwire/chainwire/topology/fixture"
)

// scale is the benchmark fixture at 1k or 10k ports.
func scale(ports int) fixture.Spec {
	return fixture.Spec{Chassis: 10, Switches: 4, PortsPerSwitch: ports / 4, Chains: ports / 10, GroupsPerChain: 3, PairsPerGroup: 1}
}

// onePort adds a port to a switch of the fixture, and removes it.
func onePort(s fixture.Spec) (add, del *topology.Changes) {
	p := &topology.Port{Name: "new", Switch: fixture.SwitchName(1), Key: topology.MaxPortKey,
		Addresses: []string{"02:ff:00:00:00:01 10.200.0.1"}, Options: map[string]string{"requested-chassis": fixture.ChassisName(1)}}
	return &topology.Changes{Ports: map[string]*topology.Port{p.Name: p}},
		&topology.Changes{Ports: map[string]*topology.Port{p.Name: nil}}
}

// oneChain adds a chain as the fixture makes them (three groups of one
// pair of new VNF ports, a classifier on a free application port), and
// removes it.
func oneChain(s fixture.Spec) (add, del *topology.Changes) {
	sw := fixture.SwitchName(1)
	add = &topology.Changes{Ports: map[string]*topology.Port{}, PortPairs: map[string]*topology.PortPair{},
		PortPairGroups: map[string]*topology.PortPairGroup{}}
	del = &topology.Changes{Ports: map[string]*topology.Port{}, PortPairs: map[string]*topology.PortPair{},
		PortPairGroups: map[string]*topology.PortPairGroup{}}
	chain := &topology.PortChain{Name: "new", Switch: sw, Key: topology.MaxChainKey}
	for g := range 3 {
		grp := &topology.PortPairGroup{Name: fmt.Sprintf("new-g%d", g)}
		in, out := fmt.Sprintf("new-g%d-in", g), fmt.Sprintf("new-g%d-out", g)
		for i, name := range []string{in, out} {
			add.Ports[name] = &topology.Port{Name: name, Switch: sw, Key: uint32(topology.MaxPortKey - 1 - 2*g - i),
				Options: map[string]string{"requested-chassis": fixture.ChassisName(1)}}
			del.Ports[name] = nil
		}
		pair := &topology.PortPair{Name: grp.Name + "-p", Switch: sw, InPort: in, OutPort: out, Weight: 1}
		add.PortPairs[pair.Name], del.PortPairs[pair.Name] = pair, nil
		grp.Pairs = []string{pair.Name}
		add.PortPairGroups[grp.Name], del.PortPairGroups[grp.Name] = grp, nil
		chain.Groups = append(chain.Groups, grp.Name)
	}
	add.PortChains = map[string]*topology.PortChain{chain.Name: chain}
	del.PortChains = map[string]*topology.PortChain{chain.Name: nil}
	cls := &topology.Classifier{Name: "new", Switch: sw, Chain: chain.Name, Port: fmt.Sprintf("s1p%d", s.PortsPerSwitch),
		Direction: topology.EntryLport, Path: topology.Bidirectional, Match: "tcp.dst == 80", Key: topology.MaxChainKey}
	add.Classifiers = map[string]*topology.Classifier{cls.Name: cls}
	del.Classifiers = map[string]*topology.Classifier{cls.Name: nil}
	return add, del
}

func applyBoth(t testing.TB, ix *topology.Index, add, del *topology.Changes) {
	if err := ix.Apply(add); err != nil {
		t.Fatal(err)
	}
	if err := ix.Apply(del); err != nil {
		t.Fatal(err)
	}
}

// A change of one port or one chain costs the same in a model ten times
// bigger.
func TestApplyCostIndependentOfSize(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 10k-port model")
	}
	cost := func(ports int, change func(fixture.Spec) (add, del *topology.Changes)) float64 {
		s := scale(ports)
		ix, err := topology.NewIndex(fixture.Build(s))
		if err != nil {
			t.Fatal(err)
		}
		add, del := change(s)
		applyBoth(t, ix, add, del) // compiles the match once
		return testing.AllocsPerRun(50, func() { applyBoth(t, ix, add, del) })
	}
	for _, c := range []struct {
		name   string
		change func(fixture.Spec) (add, del *topology.Changes)
	}{{"port", onePort}, {"chain", oneChain}} {
		small, big := cost(1000, c.change), cost(10000, c.change)
		t.Logf("one %s added and removed: %.0f allocations at 1k ports, %.0f at 10k", c.name, small, big)
		if big > 1.5*small || big < 0.5*small {
			t.Errorf("one %s: %.0f allocations at 1k ports but %.0f at 10k", c.name, small, big)
		}
	}
}

func BenchmarkApply(b *testing.B) {
	for _, c := range []struct {
		name   string
		change func(fixture.Spec) (add, del *topology.Changes)
	}{{"port", onePort}, {"chain", oneChain}} {
		for _, ports := range []int{1000, 10000} {
			b.Run(fmt.Sprintf("%s/%dk", c.name, ports/1000), func(b *testing.B) {
				s := scale(ports)
				ix, err := topology.NewIndex(fixture.Build(s))
				if err != nil {
					b.Fatal(err)
				}
				add, del := c.change(s)
				b.ReportAllocs()
				for b.Loop() {
					applyBoth(b, ix, add, del) // ns/op is an add and a remove
				}
			})
		}
	}
}

func BenchmarkNewIndex10k(b *testing.B) {
	m := fixture.Build(scale(10000))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := topology.NewIndex(m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate10k times Validate, and the validator it replaced.
func BenchmarkValidate10k(b *testing.B) {
	m := fixture.Build(scale(10000))
	for _, v := range []struct {
		name     string
		validate func(*topology.Model) error
	}{{"index", (*topology.Model).Validate}, {"seed", topology.SeedValidate}} {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := v.validate(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
