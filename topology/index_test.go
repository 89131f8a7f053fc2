package topology_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chainwire/chainwire/topology"
	"github.com/chainwire/chainwire/topology/fixture"
)

// canon is a model's JSON with nil and empty lists alike, for comparing
// models by value.
func canon(m *topology.Model) string {
	var c topology.Model
	b, _ := json.Marshal(m)
	json.Unmarshal(b, &c)
	c.Chassis, c.Switches, c.Ports = nilIfEmpty(c.Chassis), nilIfEmpty(c.Switches), nilIfEmpty(c.Ports)
	c.PortPairs, c.PortPairGroups = nilIfEmpty(c.PortPairs), nilIfEmpty(c.PortPairGroups)
	c.PortChains, c.Classifiers = nilIfEmpty(c.PortChains), nilIfEmpty(c.Classifiers)
	c.ACLs, c.PortGroups, c.AddressSets, c.QoS = nilIfEmpty(c.ACLs), nilIfEmpty(c.PortGroups), nilIfEmpty(c.AddressSets), nilIfEmpty(c.QoS)
	for i := range c.PortGroups {
		c.PortGroups[i].Ports = nilIfEmpty(c.PortGroups[i].Ports)
	}
	for i := range c.AddressSets {
		c.AddressSets[i].Addresses = nilIfEmpty(c.AddressSets[i].Addresses)
	}
	c.DHCPOptions, c.DNSRecords, c.LoadBalancers = nilIfEmpty(c.DHCPOptions), nilIfEmpty(c.DNSRecords), nilIfEmpty(c.LoadBalancers)
	c.Routers, c.RouterPorts = nilIfEmpty(c.Routers), nilIfEmpty(c.RouterPorts)
	for i := range c.Routers {
		c.Routers[i].Routes = nilIfEmpty(c.Routers[i].Routes)
	}
	for i := range c.Switches {
		c.Switches[i].LoadBalancers = nilIfEmpty(c.Switches[i].LoadBalancers)
	}
	for i := range c.PortPairGroups {
		c.PortPairGroups[i].Pairs = nilIfEmpty(c.PortPairGroups[i].Pairs)
	}
	for i := range c.PortChains {
		c.PortChains[i].Groups = nilIfEmpty(c.PortChains[i].Groups)
	}
	c.Normalize()
	b, _ = json.Marshal(&c)
	return string(b)
}

func nilIfEmpty[T any](list []T) []T {
	if len(list) == 0 {
		return nil
	}
	return list
}

// universe is every name the models use or reference, and the
// generator's pools.
func universe(ms ...*topology.Model) []string {
	var out []string
	for _, pool := range [][]string{chassisPool, switchPool, portPool, pairPool, groupPool, chainPool, clsPool, pgPool, asPool, aclPool, qosPool,
		dhcpPool, lbPool, routerPool, lrpPool} {
		out = append(out, pool...)
	}
	for _, m := range ms {
		for _, p := range m.Ports {
			out = append(out, p.Name, p.Switch, p.RequestedChassis())
		}
		for _, pp := range m.PortPairs {
			out = append(out, pp.Name, pp.Switch, pp.InPort, pp.OutPort)
		}
		for _, g := range m.PortPairGroups {
			out = append(append(out, g.Name), g.Pairs...)
		}
		for _, c := range m.PortChains {
			out = append(append(out, c.Name, c.Switch), c.Groups...)
		}
		for _, c := range m.Classifiers {
			out = append(out, c.Name, c.Switch, c.Chain, c.Port)
		}
		for _, a := range m.ACLs {
			out = append(out, a.Name, a.Switch, a.PortGroup)
		}
		for _, pg := range m.PortGroups {
			out = append(append(out, pg.Name), pg.Ports...)
		}
		for _, s := range m.AddressSets {
			out = append(out, s.Name)
		}
		for _, q := range m.QoS {
			out = append(out, q.Name, q.Switch)
		}
		for _, p := range m.Ports {
			out = append(out, p.DHCPv4Options, p.DHCPv6Options)
		}
		for _, r := range m.DNSRecords {
			out = append(out, r.Name, r.Switch)
		}
		for _, s := range m.Switches {
			out = append(out, s.LoadBalancers...)
		}
		out = append(out, lbNames(m)...)
		out = append(append(out, routerNames(m)...), lrpNames(m)...)
		for _, p := range m.Ports {
			out = append(out, p.Options["router-port"])
		}
		for _, rp := range m.RouterPorts {
			out = append(out, rp.Router)
		}
		out = append(append(out, chassisNames(m)...), switchNames(m)...)
	}
	out = slices.DeleteFunc(out, func(s string) bool { return s == "" }) // no port requests chassis ""
	slices.Sort(out)
	return slices.Compact(out)
}

func objJSON[T any](o *T) string {
	if o == nil {
		return "-"
	}
	b, _ := json.Marshal(o)
	return string(b)
}

func joined[T any](list []*T, name func(*T) string) string {
	out := make([]string, len(list))
	for i, o := range list {
		out[i] = name(o)
	}
	return strings.Join(out, ",")
}

func nameOrNone[T any](o *T, name func(*T) string) string {
	if o == nil {
		return "-"
	}
	return name(o)
}

func portName(p *topology.Port) string             { return p.Name }
func pairName(p *topology.PortPair) string         { return p.Name }
func groupName(g *topology.PortPairGroup) string   { return g.Name }
func chainName(c *topology.PortChain) string       { return c.Name }
func classifierName(c *topology.Classifier) string { return c.Name }

// dump is what a renderer could ask the index about each name: the
// objects of that name, then the answers of every accessor.
func dump(ix *topology.Index, names []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "generation %d\n", ix.Generation())
	for _, n := range names {
		fields := []string{n,
			objJSON(ix.Chassis(n)), objJSON(ix.Switch(n)), objJSON(ix.Port(n)), objJSON(ix.PortPair(n)),
			objJSON(ix.PortPairGroup(n)), objJSON(ix.PortChain(n)), objJSON(ix.Classifier(n)),
			joined(ix.PortsOf(n), portName), joined(ix.PortsRequesting(n), portName),
			joined(ix.PairsOfPort(n), pairName), joined(ix.ChainsOf(n), chainName),
			nameOrNone(ix.GroupOfPair(n), groupName), nameOrNone(ix.ChainOfGroup(n), chainName),
			joined(ix.ClassifiersOf(n), classifierName), joined(ix.ClassifiersOfChain(n), classifierName),
			joined(ix.ClassifiersOfPort(n), classifierName)}
		fields = append(fields, policyDump(ix, n)...)
		b.WriteString(strings.Join(fields, " | ") + "\n")
	}
	return b.String()
}

// dumpModel is the same, found by going through a sorted model.
func dumpModel(m *topology.Model, names []string) string {
	ports, requesting, pairs, chains := map[string][]string{}, map[string][]string{}, map[string][]string{}, map[string][]string{}
	groupOf, chainOf := map[string]string{}, map[string]string{}
	cls, clsOfChain, clsOfPort := map[string][]string{}, map[string][]string{}, map[string][]string{}
	for _, p := range m.Ports {
		ports[p.Switch] = append(ports[p.Switch], p.Name)
		requesting[p.RequestedChassis()] = append(requesting[p.RequestedChassis()], p.Name)
	}
	for _, pp := range m.PortPairs {
		pairs[pp.InPort] = append(pairs[pp.InPort], pp.Name)
		if pp.OutPort != pp.InPort {
			pairs[pp.OutPort] = append(pairs[pp.OutPort], pp.Name)
		}
	}
	for _, g := range m.PortPairGroups {
		for _, p := range g.Pairs {
			if groupOf[p] == "" {
				groupOf[p] = g.Name
			}
		}
	}
	for _, c := range m.PortChains {
		chains[c.Switch] = append(chains[c.Switch], c.Name)
		for _, g := range c.Groups {
			if chainOf[g] == "" {
				chainOf[g] = c.Name
			}
		}
	}
	for _, c := range m.Classifiers {
		cls[c.Switch] = append(cls[c.Switch], c.Name)
		clsOfChain[c.Chain] = append(clsOfChain[c.Chain], c.Name)
		clsOfPort[c.Port] = append(clsOfPort[c.Port], c.Name)
	}
	orNone := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	var b strings.Builder
	fmt.Fprintf(&b, "generation %d\n", m.Generation)
	for _, n := range names {
		fields := []string{n,
			objJSON(m.ChassisByName(n)), objJSON(m.Switch(n)), objJSON(m.Port(n)), objJSON(m.PortPair(n)),
			objJSON(m.PortPairGroup(n)), objJSON(m.PortChain(n)), objJSON(m.Classifier(n)),
			strings.Join(ports[n], ","), strings.Join(requesting[n], ","),
			strings.Join(pairs[n], ","), strings.Join(chains[n], ","),
			orNone(groupOf[n]), orNone(chainOf[n]),
			strings.Join(cls[n], ","), strings.Join(clsOfChain[n], ","), strings.Join(clsOfPort[n], ",")}
		fields = append(fields, policyDumpModel(m, n)...)
		b.WriteString(strings.Join(fields, " | ") + "\n")
	}
	return b.String()
}

func mustIndex(t *testing.T, m *topology.Model) *topology.Index {
	t.Helper()
	ix, err := topology.NewIndex(m)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// validBase is a valid model to start a run from.
func validBase(g *gen) *topology.Model {
	if g.chance(0.3) {
		return fixture.Build(fixture.Spec{Chassis: 2, Switches: 2, PortsPerSwitch: 3, Chains: 2, GroupsPerChain: 2, PairsPerGroup: 1,
			Match: pick(g, matchPool)})
	}
	for range 100 {
		if m := g.model(); m.Validate() == nil {
			m.Normalize()
			return m
		}
	}
	return &topology.Model{}
}

// The incremental path and the whole one agree: after every random
// change, Apply succeeds exactly when Validate accepts the changed
// model; then the index holds that model and answers as a fresh index
// of it and as a search of it would; else it is as it was.
func TestApplyAgreesWithValidate(t *testing.T) {
	const runs, steps = 40, 150
	ok, refused, biggest := 0, 0, 0
	for run := range runs {
		g := newGen(uint64(run))
		g.policy = run%2 == 1
		cur := validBase(g)
		ix, err := topology.NewIndex(cur)
		if err != nil {
			t.Fatalf("run %d: a valid model: %v", run, err)
		}
		for step := range steps {
			c := g.change(cur)
			next := applyTo(cur, c)
			want := next.Validate()
			names := universe(cur, next)
			err := ix.Apply(c)
			where := fmt.Sprintf("run %d step %d (%v)", run, step, c.Refs())
			if (err == nil) != (want == nil) {
				t.Fatalf("%s: Apply: %v; Validate of the result: %v", where, err, want)
			}
			if err != nil {
				refused++
				var te *topology.Error
				if !errors.As(err, &te) {
					t.Fatalf("%s: %v is not a topology.Error", where, err)
				}
				if dump(ix, names) != dumpModel(cur, names) || canon(ix.Model()) != canon(cur) {
					t.Fatalf("%s: a refused change (%v) changed the index", where, err)
				}
				if got, want := topology.IndexState(ix), topology.IndexState(mustIndex(t, cur)); got != want {
					t.Fatalf("%s: a refused change (%v) left the bookkeeping\n%s\nnot\n%s", where, err, got, want)
				}
				continue
			}
			ok++
			if got, want := canon(ix.Model()), canon(next); got != want {
				t.Fatalf("%s: the index holds\n%s\nwant\n%s", where, got, want)
			}
			fresh, err := topology.NewIndex(next)
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			got := dump(ix, names)
			if f := dump(fresh, names); got != f {
				t.Fatalf("%s: the index answers\n%s\na fresh one\n%s", where, got, f)
			}
			if s := dumpModel(next, names); got != s {
				t.Fatalf("%s: the index answers\n%s\nthe model says\n%s", where, got, s)
			}
			if got, want := topology.IndexState(ix), topology.IndexState(fresh); got != want {
				t.Fatalf("%s: the bookkeeping is\n%s\nnot\n%s", where, got, want)
			}
			cur = next
			biggest = max(biggest, len(cur.Ports)+len(cur.PortPairs)+len(cur.PortPairGroups)+len(cur.PortChains)+len(cur.Classifiers))
		}
	}
	t.Logf("%d changes applied, %d refused; at most %d objects", ok, refused, biggest)
	if ok < runs*steps/5 || refused < runs*steps/5 {
		t.Errorf("%d changes applied and %d refused: the generator should exercise both", ok, refused)
	}
}

// A model applied whole to an empty index is accepted exactly when
// Validate accepts it, and NewIndex reports Validate's error.
func TestIndexOfRandomModels(t *testing.T) {
	valid := 0
	for seed := range 3000 {
		g := newGen(uint64(1000 + seed))
		g.policy = seed%2 == 1
		m := g.model()
		want := m.Validate()
		_, err := topology.NewIndex(m)
		if fmt.Sprint(err) != fmt.Sprint(want) {
			t.Fatalf("seed %d: NewIndex: %v; Validate: %v", seed, err, want)
		}
		if hasDuplicates(m) {
			continue // a set of changes cannot hold two objects of one name
		}
		ix, _ := topology.NewIndex(&topology.Model{})
		err = ix.Apply(topology.Diff(&topology.Model{}, m))
		if (err == nil) != (want == nil) {
			t.Fatalf("seed %d: Apply of the whole model: %v; Validate: %v", seed, err, want)
		}
		if err == nil {
			valid++
			if canon(ix.Model()) != canon(m) {
				t.Fatalf("seed %d: the index holds another model", seed)
			}
		}
	}
	if valid < 300 {
		t.Errorf("only %d of 3000 random models are valid", valid)
	}
}

func hasDuplicates(m *topology.Model) bool {
	for _, list := range [][]string{chassisNames(m), switchNames(m), portNames(m), pairNames(m), groupNames(m), chainNames(m),
		nameList(m.Classifiers, func(c topology.Classifier) string { return c.Name }), aclNames(m), pgNames(m), asNames(m), qosNames(m),
		dhcpNames(m), dnsNames(m), lbNames(m), routerNames(m), lrpNames(m)} {
		slices.Sort(list)
		if len(slices.Compact(list)) != len(list) {
			return true
		}
	}
	return false
}

// Applying Diff(a, b) to an index of a gives b.
func TestDiffRoundTrip(t *testing.T) {
	models := []*topology.Model{{}}
	for seed := range 2000 {
		g := newGen(uint64(5000 + seed))
		g.policy = seed%2 == 1
		if m := g.model(); m.Validate() == nil {
			models = append(models, m)
		}
	}
	models = append(models, fixture.Build(fixture.Spec{Chassis: 3, Switches: 2, PortsPerSwitch: 5, Chains: 3, GroupsPerChain: 2, PairsPerGroup: 2}))
	g := newGen(1)
	for i := range 2000 {
		a, b := pick(g, models), pick(g, models)
		ix, err := topology.NewIndex(a)
		if err != nil {
			t.Fatal(err)
		}
		d := topology.Diff(a, b)
		if err := ix.Apply(d); err != nil {
			t.Fatalf("pair %d: %v", i, err)
		}
		if canon(ix.Model()) != canon(b) || ix.Generation() != b.Generation {
			t.Fatalf("pair %d: Diff then Apply gives\n%s\nwant\n%s", i, canon(ix.Model()), canon(b))
		}
		if !topology.Diff(b, ix.Model()).Empty() {
			t.Fatalf("pair %d: the applied model differs from b: %v", i, topology.Diff(b, ix.Model()).Refs())
		}
	}
}

// Diff compares by value: nil and empty lists and maps are equal, a
// changed field is a change, and the changes are listed in order.
func TestDiffByValue(t *testing.T) {
	f := false
	a := &topology.Model{Switches: []topology.Switch{{Name: "sw", Key: 1}},
		Ports: []topology.Port{{Name: "p1", Switch: "sw", Key: 1, Addresses: []string{}, Options: map[string]string{}},
			{Name: "p2", Switch: "sw", Key: 2}, {Name: "p3", Switch: "sw", Key: 3}},
		PortChains: []topology.PortChain{{Name: "c", Switch: "sw", Key: 1, Groups: nil}}}
	b := &topology.Model{Generation: 2, Switches: []topology.Switch{{Name: "sw", Key: 1}},
		Ports: []topology.Port{{Name: "p1", Switch: "sw", Key: 1}, {Name: "p2", Switch: "sw", Key: 2, Enabled: &f},
			{Name: "p0", Switch: "sw", Key: 4}},
		PortChains: []topology.PortChain{{Name: "c", Switch: "sw", Key: 1, Groups: []string{}}}}
	d := topology.Diff(a, b)
	want := `[port "p0" port "p2" port "p3"]`
	if got := fmt.Sprint(d.Refs()); got != want || d.Len() != 3 || d.Generation != 2 {
		t.Fatalf("Diff = %s (%d), generation %d; want %s", got, d.Len(), d.Generation, want)
	}
	if d.Ports["p3"] != nil || d.Ports["p0"] == nil {
		t.Errorf("deleted p3 should be nil, added p0 not: %+v", d.Ports)
	}
	if !topology.Diff(a, a).Empty() || !topology.Diff(nil, &topology.Model{}).Empty() {
		t.Error("a model differs from itself")
	}
}

// base is a small valid model for the error tests.
func base() *topology.Model {
	m := fixture.Build(fixture.Spec{Chassis: 2, Switches: 1, PortsPerSwitch: 3, Chains: 1, GroupsPerChain: 1, PairsPerGroup: 1})
	return m
}

// Apply's errors name the changed object and the rule, as Validate's do.
func TestApplyErrors(t *testing.T) {
	port := func(name string, key uint32, addrs ...string) *topology.Port {
		return &topology.Port{Name: name, Switch: "sw1", Key: key, Addresses: addrs}
	}
	for _, tc := range []struct {
		name string
		c    topology.Changes
		want string
	}{
		{"port key", topology.Changes{Ports: map[string]*topology.Port{"new": port("new", 2)}},
			`port "new": tunnel key 2 is already used by port "s1p2" on switch "sw1"`},
		{"MAC", topology.Changes{Ports: map[string]*topology.Port{"new": port("new", 99, fixture.MAC(1, 3))}},
			`port "new": address 02:00:01:00:00:03 already belongs to port "s1p3" on switch "sw1"`},
		{"switch in use", topology.Changes{Switches: map[string]*topology.Switch{"sw1": nil}},
			`port "s1p1": switch "sw1" does not exist`},
		{"chassis in use", topology.Changes{Chassis: map[string]*topology.Chassis{"hv1": nil}},
			`port "s1p1": requested-chassis "hv1" does not exist`},
		{"pair in a group", topology.Changes{PortPairs: map[string]*topology.PortPair{"pc1-g1-p1": nil}},
			`port pair group "pc1-g1": port pair "pc1-g1-p1" does not exist`},
		{"chain with classifier", topology.Changes{PortChains: map[string]*topology.PortChain{"pc1": nil}},
			`port pair group "pc1-g1": belongs to no chain`},
		{"VNF port classified", topology.Changes{PortPairs: map[string]*topology.PortPair{
			"x": {Name: "x", Switch: "sw1", InPort: "s1p1", OutPort: "s1p2", Weight: 1}}},
			`classifier "pcc1": port "s1p1" is a VNF port (port pair "x") and cannot be classified`},
		{"name mismatch", topology.Changes{Switches: map[string]*topology.Switch{"a": {Name: "b", Key: 9}}},
			`switch "a": the change holds switch "b"`},
		{"bad name", topology.Changes{Switches: map[string]*topology.Switch{"a b": {Name: "a b", Key: 9}}},
			`switch "a b": a name may hold only letters`},
		{"overlap", topology.Changes{Classifiers: map[string]*topology.Classifier{"new": {Name: "new", Switch: "sw1",
			Chain: "pc1", Port: "s1p1", Direction: topology.EntryLport, Path: topology.Unidirectional, Match: "tcp", Key: 9}}},
			`classifier "new": overlaps classifier "pcc1": both steer traffic towards port "s1p1" at priority 0`},
	} {
		m := base()
		ix, err := topology.NewIndex(m)
		if err != nil {
			t.Fatal(err)
		}
		before := canon(ix.Model())
		err = ix.Apply(&tc.c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
		if canon(ix.Model()) != before {
			t.Errorf("%s: a refused change changed the index", tc.name)
		}
	}
}

// The index keeps its own objects: changing the objects of the model it
// was made of (replacing their fields), or the changes it applied, or the
// model it returned, does not change it.
func TestIndexOwnsItsObjects(t *testing.T) {
	m := base()
	ix, err := topology.NewIndex(m)
	if err != nil {
		t.Fatal(err)
	}
	want := canon(ix.Model())
	m.Ports[0].Addresses = []string{"changed"}
	m.Switches[0].Key = 99
	m.Classifiers = nil
	ix.Model().Ports[0].Options["requested-chassis"] = "changed"
	p := &topology.Port{Name: "new", Switch: "sw1", Key: 90, Addresses: []string{"02:00:00:00:99:01"}}
	gen := ix.Generation()
	if err := ix.Apply(&topology.Changes{Generation: gen, Ports: map[string]*topology.Port{"new": p}}); err != nil {
		t.Fatal(err)
	}
	p.Addresses[0] = "changed"
	if got := ix.Port("new").Addresses[0]; got != "02:00:00:00:99:01" {
		t.Errorf("the index holds the caller's port: its address is now %q", got)
	}
	ix.Apply(&topology.Changes{Generation: gen, Ports: map[string]*topology.Port{"new": nil}})
	if got := canon(ix.Model()); got != want {
		t.Fatalf("the index changed with its inputs:\n%s\nwant\n%s", got, want)
	}
}
