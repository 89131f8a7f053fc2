package topology

import (
	"fmt"

	"github.com/chainwire/chainwire/topology/expr"
)

// PortPair is a VNF's pair of ports: traffic enters by InPort and leaves
// by OutPort (the same port for a one-armed VNF).
type PortPair struct {
	Name    string `json:"name"`
	Switch  string `json:"switch"`
	InPort  string `json:"inport"`
	OutPort string `json:"outport"`
	Weight  uint32 `json:"weight"` // share of connections within its group
}

// PortPairGroup is one hop of a chain; its pairs are interchangeable
// instances of the same VNF.
type PortPairGroup struct {
	Name  string   `json:"name"`
	Pairs []string `json:"port_pairs"`
}

// PortChain is an ordered list of groups on one switch.
type PortChain struct {
	Name   string   `json:"name"`
	Switch string   `json:"switch"`
	Key    uint32   `json:"key"` // 1..65535, names the chain in flow cookies
	Groups []string `json:"port_pair_groups"`
}

// Classifier directions and paths.
const (
	EntryLport     = "entry-lport" // traffic to the port goes through the chain
	ExitLport      = "exit-lport"  // traffic from the port goes through the chain
	Bidirectional  = "bi-directional"
	Unidirectional = "uni-directional"
)

// Priority range of classifiers: entry flows use 100+priority and hop
// flows 150+priority, which keeps every hop rule above every entry rule.
const (
	MaxClassifierPriority     = 49
	DefaultClassifierPriority = 0
)

// Classifier steers the traffic of one port that Match selects through a
// chain.
type Classifier struct {
	Name      string `json:"name"`
	Switch    string `json:"switch"`
	Chain     string `json:"chain"`
	Port      string `json:"port"`
	Direction string `json:"direction"`
	Path      string `json:"path"`
	Match     string `json:"match"`
	Priority  int    `json:"priority"`
	Key       uint32 `json:"key"` // 1..65535, names the classifier in flow cookies
}

const (
	MaxWeight      = 1000
	MaxChainKey    = 1<<16 - 1
	MaxChainGroups = 127
)

// PortPair, PortPairGroup, PortChain and Classifier return the named
// object, or nil.
func (m *Model) PortPair(name string) *PortPair           { return find(m.PortPairs, name) }
func (m *Model) PortPairGroup(name string) *PortPairGroup { return find(m.PortPairGroups, name) }
func (m *Model) PortChain(name string) *PortChain         { return find(m.PortChains, name) }
func (m *Model) Classifier(name string) *Classifier       { return find(m.Classifiers, name) }

// ChainOfGroup returns the chain a group belongs to.
func (m *Model) ChainOfGroup(group string) *PortChain {
	for i := range m.PortChains {
		for _, g := range m.PortChains[i].Groups {
			if g == group {
				return &m.PortChains[i]
			}
		}
	}
	return nil
}

// GroupOfPair returns the group a pair belongs to.
func (m *Model) GroupOfPair(pair string) *PortPairGroup {
	for i := range m.PortPairGroups {
		for _, p := range m.PortPairGroups[i].Pairs {
			if p == pair {
				return &m.PortPairGroups[i]
			}
		}
	}
	return nil
}

// PairOfPort returns a pair that uses the port (as in or out port).
func (m *Model) PairOfPort(port string) *PortPair {
	for i := range m.PortPairs {
		if m.PortPairs[i].InPort == port || m.PortPairs[i].OutPort == port {
			return &m.PortPairs[i]
		}
	}
	return nil
}

// FreeChainKey and FreeClassifierKey return the smallest unused key.
func (m *Model) FreeChainKey() (uint32, error) {
	used := map[uint32]bool{}
	for _, c := range m.PortChains {
		used[c.Key] = true
	}
	return freeKey(used, "chain")
}

func (m *Model) FreeClassifierKey() (uint32, error) {
	used := map[uint32]bool{}
	for _, c := range m.Classifiers {
		used[c.Key] = true
	}
	return freeKey(used, "classifier")
}

func freeKey(used map[uint32]bool, kind string) (uint32, error) {
	for k := uint32(1); k <= MaxChainKey; k++ {
		if !used[k] {
			return k, nil
		}
	}
	return 0, fmt.Errorf("every %s key is in use", kind)
}

// validateChains checks port pairs, groups, chains and classifiers.
func (m *Model) validateChains(ix *index, dup func(kind, name string) bool, changed map[string]bool) error {
	inOut := map[[2]string]string{}
	for i := range m.PortPairs {
		pp := &m.PortPairs[i]
		if err := CheckName("port pair", pp.Name); err != nil {
			return err
		}
		what := fmt.Sprintf("port pair %s", Quote(pp.Name))
		if dup("pair", pp.Name) {
			return errf(what, "already exists")
		}
		if ix.switches[pp.Switch] == nil {
			return errf(what, "switch %s does not exist", Quote(pp.Switch))
		}
		for _, role := range []struct{ name, port string }{{"in port", pp.InPort}, {"out port", pp.OutPort}} {
			p := ix.ports[role.port]
			if p == nil {
				return errf(what, "%s %s does not exist", role.name, Quote(role.port))
			}
			if p.Switch != pp.Switch {
				return errf(what, "%s %s is on switch %s, not %s", role.name, Quote(role.port), Quote(p.Switch), Quote(pp.Switch))
			}
			if len(p.PortSecurity) > 0 {
				return errf(what, "%s %s has port security, but a VNF port forwards frames with other ports' MACs", role.name, Quote(role.port))
			}
		}
		if pp.Weight < 1 || pp.Weight > MaxWeight {
			return errf(what, "weight %d is out of range 1..%d", pp.Weight, MaxWeight)
		}
		k := [2]string{pp.InPort, pp.OutPort}
		if other, ok := inOut[k]; ok {
			return errf(what, "port pair %s already has in port %s and out port %s", Quote(other), Quote(pp.InPort), Quote(pp.OutPort))
		}
		inOut[k] = pp.Name
	}

	groupChain := map[string]string{}
	chainKeys := map[uint32]string{}
	for i := range m.PortChains {
		c := &m.PortChains[i]
		if err := CheckName("chain", c.Name); err != nil {
			return err
		}
		what := fmt.Sprintf("chain %s", Quote(c.Name))
		if dup("chain", c.Name) {
			return errf(what, "already exists")
		}
		if ix.switches[c.Switch] == nil {
			return errf(what, "switch %s does not exist", Quote(c.Switch))
		}
		if c.Key < 1 || c.Key > MaxChainKey {
			return errf(what, "key %d is out of range 1..%d", c.Key, MaxChainKey)
		}
		if len(c.Groups) > MaxChainGroups {
			return errf(what, "has %d port pair groups; at most %d are supported", len(c.Groups), MaxChainGroups)
		}
		if other, ok := chainKeys[c.Key]; ok {
			return errf(what, "key %d is already used by chain %s", c.Key, Quote(other))
		}
		chainKeys[c.Key] = c.Name
		for _, g := range c.Groups {
			if ix.groups[g] == nil {
				return errf(what, "port pair group %s does not exist", Quote(g))
			}
			if other, ok := groupChain[g]; ok {
				return errf(what, "port pair group %s already belongs to chain %s", Quote(g), Quote(other))
			}
			groupChain[g] = c.Name
		}
	}

	pairGroup := map[string]string{}
	for i := range m.PortPairGroups {
		g := &m.PortPairGroups[i]
		if err := CheckName("port pair group", g.Name); err != nil {
			return err
		}
		what := fmt.Sprintf("port pair group %s", Quote(g.Name))
		if dup("group", g.Name) {
			return errf(what, "already exists")
		}
		chain := ix.chains[groupChain[g.Name]]
		if chain == nil {
			return errf(what, "belongs to no chain")
		}
		for _, p := range g.Pairs {
			pp := ix.pairs[p]
			if pp == nil {
				return errf(what, "port pair %s does not exist", Quote(p))
			}
			if other, ok := pairGroup[p]; ok {
				return errf(what, "port pair %s is already in group %s", Quote(p), Quote(other))
			}
			pairGroup[p] = g.Name
			if pp.Switch != chain.Switch {
				return errf(what, "port pair %s is on switch %s, but chain %s is on %s", Quote(p), Quote(pp.Switch), Quote(chain.Name), Quote(chain.Switch))
			}
		}
	}

	// A VNF port twice in one chain would send traffic round in a loop.
	for _, c := range m.PortChains {
		seen := map[string]string{}
		for _, g := range c.Groups {
			for _, p := range ix.groups[g].Pairs {
				pp := ix.pairs[p]
				ports := []string{pp.InPort}
				if pp.OutPort != pp.InPort {
					ports = append(ports, pp.OutPort)
				}
				for _, port := range ports {
					if other, ok := seen[port]; ok {
						return errf(fmt.Sprintf("chain %s", Quote(c.Name)), "port %s is used by port pairs %s and %s: traffic would loop", Quote(port), Quote(other), Quote(p))
					}
					seen[port] = p
				}
			}
		}
	}

	clsKeys := map[uint32]string{}
	for i := range m.Classifiers {
		c := &m.Classifiers[i]
		if err := CheckName("classifier", c.Name); err != nil {
			return err
		}
		what := fmt.Sprintf("classifier %s", Quote(c.Name))
		if dup("classifier", c.Name) {
			return errf(what, "already exists")
		}
		if ix.switches[c.Switch] == nil {
			return errf(what, "switch %s does not exist", Quote(c.Switch))
		}
		chain := ix.chains[c.Chain]
		if chain == nil {
			return errf(what, "chain %s does not exist", Quote(c.Chain))
		}
		if chain.Switch != c.Switch {
			return errf(what, "chain %s is on switch %s, not %s", Quote(c.Chain), Quote(chain.Switch), Quote(c.Switch))
		}
		p := ix.ports[c.Port]
		if p == nil {
			return errf(what, "port %s does not exist", Quote(c.Port))
		}
		if p.Switch != c.Switch {
			return errf(what, "port %s is on switch %s, not %s", Quote(c.Port), Quote(p.Switch), Quote(c.Switch))
		}
		if pp := ix.pairOfPort[c.Port]; pp != nil {
			return errf(what, "port %s is a VNF port (port pair %s) and cannot be classified", Quote(c.Port), Quote(pp.Name))
		}
		if mac := m.portMAC(p); mac == "" {
			return errf(what, "port %s has no MAC address (lsp-set-addresses): chains steer by the port's MAC", Quote(c.Port))
		}
		if c.Direction != EntryLport && c.Direction != ExitLport {
			return errf(what, "direction %s: want %s or %s", Quote(c.Direction), EntryLport, ExitLport)
		}
		if c.Path != Bidirectional && c.Path != Unidirectional {
			return errf(what, "path %s: want %s or %s", Quote(c.Path), Bidirectional, Unidirectional)
		}
		if changed == nil || changed[c.Name] {
			if err := checkMatch(c.Match); err != nil {
				return errf(what, "match %s: %v", Quote(c.Match), err)
			}
		}
		if c.Priority < 0 || c.Priority > MaxClassifierPriority {
			return errf(what, "priority %d is out of range 0..%d", c.Priority, MaxClassifierPriority)
		}
		if c.Key < 1 || c.Key > MaxChainKey {
			return errf(what, "key %d is out of range 1..%d", c.Key, MaxChainKey)
		}
		if other, ok := clsKeys[c.Key]; ok {
			return errf(what, "key %d is already used by classifier %s", c.Key, Quote(other))
		}
		clsKeys[c.Key] = c.Name
	}
	return m.checkOverlaps(changed)
}

// checkMatch compiles a classifier's match (memoized by expr.Compile) and
// refuses fields that the chain renderer cannot match on.
func checkMatch(match string) error {
	e, err := expr.Compile(match)
	if err != nil {
		return err
	}
	for _, f := range e.Fields() {
		if f > expr.ICMP6Type {
			return fmt.Errorf("%s cannot select a chain's traffic (classifiers match Ethernet, IP, TCP, UDP and ICMP type fields)", f)
		}
	}
	return nil
}

// steering is one direction of traffic a classifier steers: towards its
// port or from it, selected by an expression.
type steering struct {
	toward bool
	expr   *expr.Expr
}

// steerings lists what a classifier steers: its own direction with its
// match and, if bi-directional, the other with the match mirrored.
func (c *Classifier) steerings() []steering {
	e, err := expr.Compile(c.Match)
	if err != nil {
		return nil
	}
	fwd := steering{toward: c.Direction == EntryLport, expr: e}
	out := []steering{fwd}
	if c.Path == Bidirectional {
		out = append(out, steering{toward: !fwd.toward, expr: e.Mirror()})
	}
	return out
}

// checkOverlaps refuses two classifiers of one port and priority that
// would both steer some packet in the same direction (towards or from
// the port): the switch could pick either chain. A bi-directional
// classifier's reply direction counts, so an entry-lport and an exit-lport
// classifier on one port must select disjoint traffic too. Only
// classifiers of one port and priority are paired, and, when changed is
// not nil, only pairs with a changed classifier.
func (m *Model) checkOverlaps(changed map[string]bool) error {
	type portPrio struct {
		port string
		prio int
	}
	same := map[portPrio][]int{}
	for i := range m.Classifiers {
		k := portPrio{m.Classifiers[i].Port, m.Classifiers[i].Priority}
		same[k] = append(same[k], i)
	}
	for i := range m.Classifiers {
		a := &m.Classifiers[i]
		for _, j := range same[portPrio{a.Port, a.Priority}] {
			b := &m.Classifiers[j]
			if j <= i || changed != nil && !changed[a.Name] && !changed[b.Name] {
				continue
			}
			if err := overlap(a, b); err != nil {
				return err
			}
		}
	}
	return nil
}

func overlap(a, b *Classifier) error {
	for _, sa := range a.steerings() {
		for _, sb := range b.steerings() {
			if sa.toward != sb.toward || !sa.expr.Overlaps(sb.expr) {
				continue
			}
			dir := "from"
			if sa.toward {
				dir = "towards"
			}
			return errf("classifier "+Quote(b.Name),
				"overlaps classifier %s: both steer traffic %s port %s at priority %d; use disjoint matches or a different --priority",
				Quote(a.Name), dir, Quote(a.Port), a.Priority)
		}
	}
	return nil
}

// changedClassifiers names the classifiers of next that are new or differ
// from before's.
func changedClassifiers(before, next *Model) map[string]bool {
	old := make(map[string]Classifier, len(before.Classifiers))
	for _, c := range before.Classifiers {
		old[c.Name] = c
	}
	out := map[string]bool{}
	for _, c := range next.Classifiers {
		if o, ok := old[c.Name]; !ok || o != c {
			out[c.Name] = true
		}
	}
	return out
}

// portMAC is the port's first MAC address, if it has one.
func (m *Model) portMAC(p *Port) string {
	for _, a := range p.Addresses {
		if addr, err := ParseAddress(a); err == nil && !addr.Unknown {
			return addr.MAC.String()
		}
	}
	return ""
}
