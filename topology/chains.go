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
func (m *Model) validateChains(ix *index, dup func(kind, name string) bool) error {
	inOut := map[[2]string]string{}
	for i := range m.PortPairs {
		pp := &m.PortPairs[i]
		if err := CheckName("port pair", pp.Name); err != nil {
			return err
		}
		what := fmt.Sprintf("port pair %q", pp.Name)
		if dup("pair", pp.Name) {
			return errf(what, "already exists")
		}
		if ix.switches[pp.Switch] == nil {
			return errf(what, "switch %q does not exist", pp.Switch)
		}
		for _, role := range []struct{ name, port string }{{"in port", pp.InPort}, {"out port", pp.OutPort}} {
			p := ix.ports[role.port]
			if p == nil {
				return errf(what, "%s %q does not exist", role.name, role.port)
			}
			if p.Switch != pp.Switch {
				return errf(what, "%s %q is on switch %q, not %q", role.name, role.port, p.Switch, pp.Switch)
			}
			if len(p.PortSecurity) > 0 {
				return errf(what, "%s %q has port security, but a VNF port forwards frames with other ports' MACs", role.name, role.port)
			}
		}
		if pp.Weight < 1 || pp.Weight > MaxWeight {
			return errf(what, "weight %d is out of range 1..%d", pp.Weight, MaxWeight)
		}
		k := [2]string{pp.InPort, pp.OutPort}
		if other, ok := inOut[k]; ok {
			return errf(what, "port pair %q already has in port %q and out port %q", other, pp.InPort, pp.OutPort)
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
		what := fmt.Sprintf("chain %q", c.Name)
		if dup("chain", c.Name) {
			return errf(what, "already exists")
		}
		if ix.switches[c.Switch] == nil {
			return errf(what, "switch %q does not exist", c.Switch)
		}
		if c.Key < 1 || c.Key > MaxChainKey {
			return errf(what, "key %d is out of range 1..%d", c.Key, MaxChainKey)
		}
		if len(c.Groups) > MaxChainGroups {
			return errf(what, "has %d port pair groups; at most %d are supported", len(c.Groups), MaxChainGroups)
		}
		if other, ok := chainKeys[c.Key]; ok {
			return errf(what, "key %d is already used by chain %q", c.Key, other)
		}
		chainKeys[c.Key] = c.Name
		for _, g := range c.Groups {
			if ix.groups[g] == nil {
				return errf(what, "port pair group %q does not exist", g)
			}
			if other, ok := groupChain[g]; ok {
				return errf(what, "port pair group %q already belongs to chain %q", g, other)
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
		what := fmt.Sprintf("port pair group %q", g.Name)
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
				return errf(what, "port pair %q does not exist", p)
			}
			if other, ok := pairGroup[p]; ok {
				return errf(what, "port pair %q is already in group %q", p, other)
			}
			pairGroup[p] = g.Name
			if pp.Switch != chain.Switch {
				return errf(what, "port pair %q is on switch %q, but chain %q is on %q", p, pp.Switch, chain.Name, chain.Switch)
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
						return errf(fmt.Sprintf("chain %q", c.Name), "port %q is used by port pairs %q and %q: traffic would loop", port, other, p)
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
		what := fmt.Sprintf("classifier %q", c.Name)
		if dup("classifier", c.Name) {
			return errf(what, "already exists")
		}
		if ix.switches[c.Switch] == nil {
			return errf(what, "switch %q does not exist", c.Switch)
		}
		chain := ix.chains[c.Chain]
		if chain == nil {
			return errf(what, "chain %q does not exist", c.Chain)
		}
		if chain.Switch != c.Switch {
			return errf(what, "chain %q is on switch %q, not %q", c.Chain, chain.Switch, c.Switch)
		}
		p := ix.ports[c.Port]
		if p == nil {
			return errf(what, "port %q does not exist", c.Port)
		}
		if p.Switch != c.Switch {
			return errf(what, "port %q is on switch %q, not %q", c.Port, p.Switch, c.Switch)
		}
		if pp := ix.pairOfPort[c.Port]; pp != nil {
			return errf(what, "port %q is a VNF port (port pair %q) and cannot be classified", c.Port, pp.Name)
		}
		if mac := m.portMAC(p); mac == "" {
			return errf(what, "port %q has no MAC address (lsp-set-addresses): chains steer by the port's MAC", c.Port)
		}
		if c.Direction != EntryLport && c.Direction != ExitLport {
			return errf(what, "direction %q: want %s or %s", c.Direction, EntryLport, ExitLport)
		}
		if c.Path != Bidirectional && c.Path != Unidirectional {
			return errf(what, "path %q: want %s or %s", c.Path, Bidirectional, Unidirectional)
		}
		if err := expr.Check(c.Match); err != nil {
			return errf(what, "match %q: %v", c.Match, err)
		}
		if c.Priority < 0 || c.Priority > MaxClassifierPriority {
			return errf(what, "priority %d is out of range 0..%d", c.Priority, MaxClassifierPriority)
		}
		if c.Key < 1 || c.Key > MaxChainKey {
			return errf(what, "key %d is out of range 1..%d", c.Key, MaxChainKey)
		}
		if other, ok := clsKeys[c.Key]; ok {
			return errf(what, "key %d is already used by classifier %q", c.Key, other)
		}
		clsKeys[c.Key] = c.Name
	}
	return m.checkOverlaps()
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
// classifier on one port must select disjoint traffic too.
func (m *Model) checkOverlaps() error {
	for i := range m.Classifiers {
		a := &m.Classifiers[i]
		for j := i + 1; j < len(m.Classifiers); j++ {
			b := &m.Classifiers[j]
			if a.Port != b.Port || a.Priority != b.Priority {
				continue
			}
			for _, sa := range a.steerings() {
				for _, sb := range b.steerings() {
					if sa.toward != sb.toward || !sa.expr.Overlaps(sb.expr) {
						continue
					}
					dir := "from"
					if sa.toward {
						dir = "towards"
					}
					return errf(fmt.Sprintf("classifier %q", b.Name),
						"overlaps classifier %q: both steer traffic %s port %q at priority %d; use disjoint matches or a different --priority",
						a.Name, dir, a.Port, a.Priority)
				}
			}
		}
	}
	return nil
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
