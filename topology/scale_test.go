package topology_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
// write took 38 s. Now the big match compiles in near-linear time, and a
// write that does not touch it does not compile it (its read runs the
// cheap rules only: ValidateStored). (`make bench` times it.)
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

// policyScale is the ACL benchmarks' model: 1,000 ports, 1,000 ACLs and
// 100 address sets of 1,000 addresses.
func policyScale() *topology.Model {
	return fixture.WithPolicy(fixture.Build(fixture.Spec{Chassis: 4, Switches: 4, PortsPerSwitch: 250}), 100, 1000, 1000)
}

// oneACL is acl1 with a new match (naming a set of 1,000 addresses), and
// back.
func oneACL(m *topology.Model, i int) *topology.Changes {
	a := *m.ACL("acl1")
	a.Match = fmt.Sprintf("%s && tcp.src != %d", a.Match, i)
	return &topology.Changes{ACLs: map[string]*topology.ACL{a.Name: &a}}
}

// BenchmarkPolicyChange times the validation of one changed ACL in the
// policy model: Apply to an agent's index, and ValidateChanged of the
// whole model (what a store's write does after its read).
func BenchmarkPolicyChange(b *testing.B) {
	m := policyScale()
	b.Run("Apply", func(b *testing.B) {
		ix, err := topology.NewIndex(m)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if err := ix.Apply(oneACL(m, i)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ValidateChanged", func(b *testing.B) {
		if err := m.Validate(); err != nil { // the unchanged matches were checked once
			b.Fatal(err)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			next := *m
			c := oneACL(m, i)
			next.ACLs = slices.Clone(m.ACLs)
			*next.ACL("acl1") = *c.ACLs["acl1"]
			if err := topology.ValidateChanged(&next, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	// For scale: what a read checks, and everything (an agent's start).
	for _, v := range []struct {
		name     string
		validate func(*topology.Model) error
	}{{"ValidateStored", topology.ValidateStored}, {"Validate", (*topology.Model).Validate}} {
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

// BenchmarkPolicyWrite times chainctl acl-add on the policy model with
// a file store: a fresh store reads (and validates) the model, adds one
// ACL and writes.
func BenchmarkPolicyWrite(b *testing.B) {
	path := filepath.Join(b.TempDir(), "nb.json")
	m := policyScale()
	if _, err := topology.NewFileStore(path).Update(func(n *topology.Model) error { *n = *m; return nil }); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		s := topology.NewFileStore(path)
		if _, err := s.Update(func(n *topology.Model) error {
			key, _ := n.FreeACLKey()
			n.ACLs = append(n.ACLs, topology.ACL{Name: topology.DefaultACLName(key), Key: key, Switch: "sw1",
				Direction: topology.FromLport, Priority: i % 30000, Action: topology.ACLDrop, Match: fmt.Sprintf("ip4.dst == $as7 && udp.dst == %d", i%60000)})
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
}
