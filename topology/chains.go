package topology

import (
	"fmt"
	"slices"

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
	// Options: health-check, health-interval, health-timeout,
	// health-success, health-failure (see HealthCheck).
	Options map[string]string `json:"options,omitempty"`
}

// PortPairGroup is one hop of a chain; its pairs are interchangeable
// instances of the same VNF.
type PortPairGroup struct {
	Name  string   `json:"name"`
	Pairs []string `json:"port_pairs"`
	// Options: fail-mode (close|open), tap (true|false).
	Options map[string]string `json:"options,omitempty"`
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

func checkPair(v *validation, pp *PortPair) error {
	if v.switches[pp.Switch] == nil {
		return fail(KindPortPair, pp.Name, "switch %s does not exist", Quote(pp.Switch))
	}
	for _, role := range [2]struct{ name, port string }{{"in port", pp.InPort}, {"out port", pp.OutPort}} {
		p := v.ports[role.port]
		if p == nil {
			return fail(KindPortPair, pp.Name, "%s %s does not exist", role.name, Quote(role.port))
		}
		if p.Switch != pp.Switch {
			return fail(KindPortPair, pp.Name, "%s %s is on switch %s, not %s", role.name, Quote(role.port), Quote(p.Switch), Quote(pp.Switch))
		}
		if p.Type == PortTypeRouter {
			return fail(KindPortPair, pp.Name, "%s %s is of type router: a router's port cannot be a VNF port", role.name, Quote(role.port))
		}
		if len(p.PortSecurity) > 0 {
			return fail(KindPortPair, pp.Name, "%s %s has port security, but a VNF port forwards frames with other ports' MACs", role.name, Quote(role.port))
		}
	}
	if pp.Weight < 1 || pp.Weight > MaxWeight {
		return fail(KindPortPair, pp.Name, "weight %d is out of range 1..%d", pp.Weight, MaxWeight)
	}
	if other, taken := v.takenBy(pairPortsClaim(pp.InPort, pp.OutPort), pp.Name); taken {
		return fail(KindPortPair, pp.Name, "port pair %s already has in port %s and out port %s", Quote(other), Quote(pp.InPort), Quote(pp.OutPort))
	}
	v.claim(vnfPortClaim(pp.InPort), pp.Name) // the classifiers' rule reads these
	v.claim(vnfPortClaim(pp.OutPort), pp.Name)
	return checkPairOptions(pp)
}

func checkChain(v *validation, c *PortChain) error {
	if v.switches[c.Switch] == nil {
		return fail(KindPortChain, c.Name, "switch %s does not exist", Quote(c.Switch))
	}
	if c.Key < 1 || c.Key > MaxChainKey {
		return fail(KindPortChain, c.Name, "key %d is out of range 1..%d", c.Key, MaxChainKey)
	}
	if len(c.Groups) > MaxChainGroups {
		return fail(KindPortChain, c.Name, "has %d port pair groups; at most %d are supported", len(c.Groups), MaxChainGroups)
	}
	if other, taken := v.takenBy(chainKeyClaim(c.Key), c.Name); taken {
		return fail(KindPortChain, c.Name, "key %d is already used by chain %s", c.Key, Quote(other))
	}
	again := firstRepeat(c.Groups)
	for i, g := range c.Groups {
		if v.groups[g] == nil {
			return fail(KindPortChain, c.Name, "port pair group %s does not exist", Quote(g))
		}
		other, taken := v.takenBy(groupInChainClaim(g), c.Name)
		if !taken && i == again {
			other, taken = c.Name, true
		}
		if taken {
			return fail(KindPortChain, c.Name, "port pair group %s already belongs to chain %s", Quote(g), Quote(other))
		}
	}
	return nil
}

func checkGroup(v *validation, g *PortPairGroup) error {
	var chain *PortChain
	if name, ok := v.firstHolder(groupInChainClaim(g.Name)); ok {
		chain = v.chains[name]
	}
	if chain == nil {
		return fail(KindPortPairGroup, g.Name, "belongs to no chain")
	}
	again := firstRepeat(g.Pairs)
	for i, p := range g.Pairs {
		pp := v.pairs[p]
		if pp == nil {
			return fail(KindPortPairGroup, g.Name, "port pair %s does not exist", Quote(p))
		}
		other, taken := v.takenBy(pairInGroupClaim(p), g.Name)
		if !taken && i == again {
			other, taken = g.Name, true
		}
		if taken {
			return fail(KindPortPairGroup, g.Name, "port pair %s is already in group %s", Quote(p), Quote(other))
		}
		if pp.Switch != chain.Switch {
			return fail(KindPortPairGroup, g.Name, "port pair %s is on switch %s, but chain %s is on %s", Quote(p), Quote(pp.Switch), Quote(chain.Name), Quote(chain.Switch))
		}
	}
	return checkGroupOptions(g)
}

// firstRepeat is the index of the first name that list holds twice, -1 if
// none.
func firstRepeat(list []string) int {
	if len(list) <= 16 {
		for i := 1; i < len(list); i++ {
			if slices.Contains(list[:i], list[i]) {
				return i
			}
		}
		return -1
	}
	seen := make(map[string]bool, len(list))
	for i, name := range list {
		if seen[name] {
			return i
		}
		seen[name] = true
	}
	return -1
}

// checkChainLoops refuses a VNF port twice in one chain: traffic would go
// round in a loop. The chain's and its groups' rules ran before, so its
// groups and pairs exist; a missing one is skipped, never a crash.
func checkChainLoops(v *validation, c *PortChain) error {
	seen := map[string]string{} // port -> pair
	for _, g := range c.Groups {
		grp := v.groups[g]
		if grp == nil {
			continue
		}
		for _, p := range grp.Pairs {
			pp := v.pairs[p]
			if pp == nil {
				continue
			}
			ports := [2]string{pp.InPort, pp.OutPort}
			n := 2
			if pp.OutPort == pp.InPort {
				n = 1
			}
			for _, port := range ports[:n] {
				if other, ok := seen[port]; ok {
					return fail(KindPortChain, c.Name, "port %s is used by port pairs %s and %s: traffic would loop", Quote(port), Quote(other), Quote(p))
				}
				seen[port] = p
			}
		}
	}
	return nil
}

func checkClassifier(v *validation, c *Classifier) error {
	if v.switches[c.Switch] == nil {
		return fail(KindClassifier, c.Name, "switch %s does not exist", Quote(c.Switch))
	}
	chain := v.chains[c.Chain]
	if chain == nil {
		return fail(KindClassifier, c.Name, "chain %s does not exist", Quote(c.Chain))
	}
	if chain.Switch != c.Switch {
		return fail(KindClassifier, c.Name, "chain %s is on switch %s, not %s", Quote(c.Chain), Quote(chain.Switch), Quote(c.Switch))
	}
	p := v.ports[c.Port]
	if p == nil {
		return fail(KindClassifier, c.Name, "port %s does not exist", Quote(c.Port))
	}
	if p.Switch != c.Switch {
		return fail(KindClassifier, c.Name, "port %s is on switch %s, not %s", Quote(c.Port), Quote(p.Switch), Quote(c.Switch))
	}
	if pair, ok := v.firstHolder(vnfPortClaim(c.Port)); ok {
		return fail(KindClassifier, c.Name, "port %s is a VNF port (port pair %s) and cannot be classified", Quote(c.Port), Quote(pair))
	}
	if !hasMAC(p) {
		return fail(KindClassifier, c.Name, "port %s has no MAC address (lsp-set-addresses): chains steer by the port's MAC", Quote(c.Port))
	}
	if c.Direction != EntryLport && c.Direction != ExitLport {
		return fail(KindClassifier, c.Name, "direction %s: want %s or %s", Quote(c.Direction), EntryLport, ExitLport)
	}
	if c.Path != Bidirectional && c.Path != Unidirectional {
		return fail(KindClassifier, c.Name, "path %s: want %s or %s", Quote(c.Path), Bidirectional, Unidirectional)
	}
	if v.isCostly(Ref{KindClassifier, c.Name}) {
		if err := checkMatch(c.Match); err != nil {
			return fail(KindClassifier, c.Name, "match %s: %v", Quote(c.Match), err)
		}
	}
	if c.Priority < 0 || c.Priority > MaxClassifierPriority {
		return fail(KindClassifier, c.Name, "priority %d is out of range 0..%d", c.Priority, MaxClassifierPriority)
	}
	if c.Key < 1 || c.Key > MaxChainKey {
		return fail(KindClassifier, c.Name, "key %d is out of range 1..%d", c.Key, MaxChainKey)
	}
	if other, taken := v.takenBy(classifierKeyClaim(c.Key), c.Name); taken {
		return fail(KindClassifier, c.Name, "key %d is already used by classifier %s", c.Key, Quote(other))
	}
	v.claim(portPriorityClaim(c), c.Name) // the overlaps' rule reads it
	return nil
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
// classifier on one port must select disjoint traffic too. A classifier
// is paired with those of its port and priority that came after it, and
// only if one of the two is costly (changed).
func checkOverlaps(v *validation, a *Classifier) error {
	costly := v.isCostly(Ref{KindClassifier, a.Name})
	after := false
	var err error
	v.eachHolder(portPriorityClaim(a), func(name string) bool {
		if !after {
			after = name == a.Name
			return true
		}
		b := v.classifiers[name]
		if b == nil || !costly && !v.isCostly(Ref{KindClassifier, name}) {
			return true
		}
		err = overlap(a, b)
		return err == nil
	})
	return err
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

// hasMAC reports whether the port has a MAC address: chains steer by it.
func hasMAC(p *Port) bool {
	for _, a := range p.Addresses {
		if addr, err := ParseAddress(a); err == nil && !addr.Unknown {
			return true
		}
	}
	return false
}
