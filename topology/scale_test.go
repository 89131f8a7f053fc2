package topology_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chainwire/chainwire/topology"
	"github.com/chainwire/chainwire/topology/expr"
	"github.com/chainwire/chainwire/topology/fixture"
)

// unrelatedWrite is what chainctl lsp-add does to a model holding a
// classifier with match(i): a fresh store reads, validates and writes.
// Each run has a model with a new match, as a new chainctl process has
// nothing compiled yet.
func unrelatedWrite(t testing.TB, match func(i int) string) float64 {
	const runs = 3
	var paths []string
	for i := 0; i <= runs; i++ {
		m := fixture.Build(fixture.Spec{Chassis: 4, Switches: 1, PortsPerSwitch: 1000, Chains: 2, GroupsPerChain: 1, PairsPerGroup: 1,
			Match: match(i)})
		m.Generation = 1
		path := filepath.Join(t.TempDir(), "nb.json")
		// Written as a file, not through a store: nothing compiled yet.
		if err := os.WriteFile(path, topology.Encode(m), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	i := 0
	return testing.AllocsPerRun(runs, func() {
		s := topology.NewFileStore(paths[i])
		i++
		if _, err := s.Snapshot(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Update(func(n *topology.Model) error {
			n.Ports = append(n.Ports, topology.Port{Name: "new", Switch: "sw1", Key: 2000})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	})
}

// bigMatch is a 3,000-term match, a little different for each i.
func bigMatch(i int) string {
	terms := make([]string, 3000)
	for k := range terms {
		terms[k] = fmt.Sprintf("tcp.dst != %d", 2*k+1+2*i)
	}
	return strings.Join(terms, " && ")
}

// Issue 9: with a 3,000-term classifier in the model, every unrelated
// write took 38 s. Now the big match is compiled once per process (the
// read's validation), in near-linear time, and not again for a write that
// does not touch it. (`make bench` times it.)
func TestUnrelatedWriteIsCheap(t *testing.T) {
	small := unrelatedWrite(t, func(i int) string { return fmt.Sprintf("tcp.dst != %d", i) })
	big := unrelatedWrite(t, bigMatch)
	j := 100
	once := testing.AllocsPerRun(3, func() { j++; expr.Compile(bigMatch(j)) })
	t.Logf("unrelated write: %.0f allocations with a one-term classifier, %.0f with a 3000-term one; one compile of it: %.0f", small, big, once)
	if big-small > 1.5*once {
		t.Errorf("the 3000-term classifier adds %.0f allocations to an unrelated write, more than one compile (%.0f)", big-small, once)
	}
}

// BenchmarkUnrelatedWrite times that write.
func BenchmarkUnrelatedWrite(b *testing.B) {
	m := fixture.Build(fixture.Spec{Chassis: 4, Switches: 1, PortsPerSwitch: 1000, Chains: 2, GroupsPerChain: 1, PairsPerGroup: 1,
		Match: bigMatch(0)})
	path := filepath.Join(b.TempDir(), "nb.json")
	topology.NewFileStore(path).Update(func(n *topology.Model) error { *n = *m; return nil })
	b.ResetTimer()
	for i := range b.N {
		s := topology.NewFileStore(path)
		s.Snapshot()
		s.Update(func(n *topology.Model) error {
			n.Ports = append(n.Ports, topology.Port{Name: fmt.Sprintf("new%d", i), Switch: "sw1", Key: uint32(2000 + i%20000)})
			return nil
		})
	}
}

// Overlap checks pair only classifiers of one port and priority: twice
// the classifiers, about twice the work (all pairs would be four times).
func TestManyClassifiersValidateLinearly(t *testing.T) {
	work := func(n int) float64 {
		m := fixture.Build(fixture.Spec{Chassis: 4, Switches: 1, PortsPerSwitch: n, Chains: n, GroupsPerChain: 1, PairsPerGroup: 1,
			Match: "ip4 && tcp.dst == 80"})
		if err := m.Validate(); err != nil {
			t.Fatal(err)
		}
		return testing.AllocsPerRun(2, func() { m.Validate() })
	}
	w1, w2 := work(1500), work(3000)
	if w2 > 2.6*w1 {
		t.Errorf("validating 1500 classifiers: %.0f allocations, 3000: %.0f", w1, w2)
	}
}
