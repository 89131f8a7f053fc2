package topology

// The validator before the index, kept as the oracle that Validate's
// verdicts and errors did not change (TestValidateAsTheSeedDid). A rule
// of these kinds changed on purpose is changed here too.

import (
	"fmt"
	"net"
)

// index finds objects by name in one step; Validate builds one so that
// checking a model of tens of thousands of objects stays linear.
type seedIndex struct {
	switches   map[string]*Switch
	ports      map[string]*Port
	chassis    map[string]*Chassis
	pairs      map[string]*PortPair
	groups     map[string]*PortPairGroup
	chains     map[string]*PortChain
	pairOfPort map[string]*PortPair
}

func (m *Model) seedIndex() *seedIndex {
	ix := &seedIndex{switches: map[string]*Switch{}, ports: map[string]*Port{}, chassis: map[string]*Chassis{},
		pairs: map[string]*PortPair{}, groups: map[string]*PortPairGroup{}, chains: map[string]*PortChain{},
		pairOfPort: map[string]*PortPair{}}
	for i := range m.Switches {
		ix.switches[m.Switches[i].Name] = &m.Switches[i]
	}
	for i := range m.Ports {
		ix.ports[m.Ports[i].Name] = &m.Ports[i]
	}
	for i := range m.Chassis {
		ix.chassis[m.Chassis[i].Name] = &m.Chassis[i]
	}
	for i := range m.PortPairs {
		pp := &m.PortPairs[i]
		ix.pairs[pp.Name] = pp
		for _, port := range []string{pp.InPort, pp.OutPort} {
			if ix.pairOfPort[port] == nil {
				ix.pairOfPort[port] = pp
			}
		}
	}
	for i := range m.PortPairGroups {
		ix.groups[m.PortPairGroups[i].Name] = &m.PortPairGroups[i]
	}
	for i := range m.PortChains {
		ix.chains[m.PortChains[i].Name] = &m.PortChains[i]
	}
	return ix
}

// Validate checks the whole model; the first violation is returned.
func SeedValidate(m *Model) error { return m.seedValidate(nil) }

// validate checks the model; the costly checks of classifiers (compiling
// the match, overlaps with the classifiers of the same port and priority)
// run only for those changed says changed (all if changed is nil): the
// others passed them when they were stored.
func (m *Model) seedValidate(changed map[string]bool) error {
	ix := m.seedIndex()
	seen := map[string]bool{}
	dup := func(kind, name string) bool {
		k := kind + "\x00" + name
		d := seen[k]
		seen[k] = true
		return d
	}
	chassisIP := map[string]string{}
	for i := range m.Chassis {
		c := &m.Chassis[i]
		if err := CheckName("chassis", c.Name); err != nil {
			return err
		}
		what := fmt.Sprintf("chassis %s", Quote(c.Name))
		if dup("chassis", c.Name) {
			return errf(what, "already exists")
		}
		if c.Encap != "geneve" {
			return errf(what, "encapsulation %s is not supported (only geneve)", Quote(c.Encap))
		}
		ip := net.ParseIP(c.IP)
		if ip == nil || ip.To4() == nil {
			return errf(what, "encap IP %s is not an IPv4 address", Quote(c.IP))
		}
		if other, dup := chassisIP[ip.String()]; dup {
			return errf(what, "encap IP %s is already used by chassis %s", c.IP, Quote(other))
		}
		chassisIP[ip.String()] = c.Name
	}

	switchKeys := map[uint32]string{}
	for i := range m.Switches {
		s := &m.Switches[i]
		if err := CheckName("switch", s.Name); err != nil {
			return err
		}
		what := fmt.Sprintf("switch %s", Quote(s.Name))
		if dup("switch", s.Name) {
			return errf(what, "already exists")
		}
		if s.Key < 1 || s.Key > MaxSwitchKey {
			return errf(what, "tunnel key %d is out of range 1..%d", s.Key, MaxSwitchKey)
		}
		if other, dup := switchKeys[s.Key]; dup {
			return errf(what, "tunnel key %d is already used by switch %s", s.Key, Quote(other))
		}
		switchKeys[s.Key] = s.Name
	}

	type swScoped struct{ sw, id string }
	portKeys := map[swScoped]string{}
	owners := map[swScoped]string{} // MAC or IP within a switch -> port
	for i := range m.Ports {
		p := &m.Ports[i]
		if err := CheckName("port", p.Name); err != nil {
			return err
		}
		what := fmt.Sprintf("port %s", Quote(p.Name))
		if dup("port", p.Name) {
			return errf(what, "already exists")
		}
		if ix.switches[p.Switch] == nil {
			return errf(what, "switch %s does not exist", Quote(p.Switch))
		}
		if p.Key < 1 || p.Key > MaxPortKey {
			return errf(what, "tunnel key %d is out of range 1..%d", p.Key, MaxPortKey)
		}
		k := swScoped{p.Switch, fmt.Sprint(p.Key)}
		if other, dup := portKeys[k]; dup {
			return errf(what, "tunnel key %d is already used by port %s on switch %s", p.Key, Quote(other), Quote(p.Switch))
		}
		portKeys[k] = p.Name
		claim := func(id string) error {
			k := swScoped{p.Switch, id}
			if other, dup := owners[k]; dup && other != p.Name {
				return errf(what, "address %s already belongs to port %s on switch %s", id, Quote(other), Quote(p.Switch))
			}
			owners[k] = p.Name
			return nil
		}
		for _, a := range p.Addresses {
			addr, err := ParseAddress(a)
			if err != nil {
				return errf(what, "address %s: %v", Quote(a), err)
			}
			if addr.Unknown {
				continue
			}
			if err := claim(addr.MAC.String()); err != nil {
				return err
			}
			for _, ip := range addr.IPs {
				if err := claim(ip.String()); err != nil {
					return err
				}
			}
		}
		for _, s := range p.PortSecurity {
			if _, err := ParseSecurity(s); err != nil {
				return errf(what, "port security %s: %v", Quote(s), err)
			}
		}
		for k := range p.Options {
			if k != "requested-chassis" {
				return errf(what, "option %s is not supported (known: requested-chassis)", Quote(k))
			}
		}
		if rc := p.RequestedChassis(); rc != "" && ix.chassis[rc] == nil {
			return errf(what, "requested-chassis %s does not exist", Quote(rc))
		}
	}
	return m.seedValidateChains(ix, dup, changed)
}

// validateChains checks port pairs, groups, chains and classifiers.
func (m *Model) seedValidateChains(ix *seedIndex, dup func(kind, name string) bool, changed map[string]bool) error {
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
		if err := checkPairOptions(pp); err != nil {
			return err
		}
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
		if err := checkGroupOptions(g); err != nil {
			return err
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
		if mac := m.seedPortMAC(p); mac == "" {
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
	return m.seedCheckOverlaps(changed)
}

// checkOverlaps refuses two classifiers of one port and priority that
// would both steer some packet in the same direction (towards or from
// the port): the switch could pick either chain. A bi-directional
// classifier's reply direction counts, so an entry-lport and an exit-lport
// classifier on one port must select disjoint traffic too. Only
// classifiers of one port and priority are paired, and, when changed is
// not nil, only pairs with a changed classifier.
func (m *Model) seedCheckOverlaps(changed map[string]bool) error {
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

// portMAC is the port's first MAC address, if it has one.
func (m *Model) seedPortMAC(p *Port) string {
	for _, a := range p.Addresses {
		if addr, err := ParseAddress(a); err == nil && !addr.Unknown {
			return addr.MAC.String()
		}
	}
	return ""
}
