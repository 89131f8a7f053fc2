package topology_test

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/chainwire/chainwire/topology"
)

// gen makes small random models and changes to them: few names and
// values, so that keys, MACs and references collide, and a few bad
// values of every field, so that every rule gets broken.
type gen struct {
	r *rand.Rand
	n int // a counter for fresh names
	// policy: models and changes have ACLs, port groups, address sets,
	// QoS rules, DHCP options, DNS records and load balancers too
	// (gen_policy_test.go).
	policy bool
}

func newGen(seed uint64) *gen { return &gen{r: rand.New(rand.NewPCG(seed, 1))} }

var (
	chassisPool = []string{"hv1", "hv2", "hv3"}
	switchPool  = []string{"sw1", "sw2", "sw3"}
	portPool    = names("p", 12)
	pairPool    = names("pp", 6)
	groupPool   = names("g", 6)
	chainPool   = names("c", 4)
	clsPool     = names("k", 6)
	macPool     = []string{"02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03", "02:00:00:00:00:04",
		"02:00:00:00:00:05", "02:00:00:00:00:06", "02:00:00:00:00:07", "02:00:00:00:00:08"}
	ipPool    = []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "fd00::1", "::ffff:10.0.0.1"}
	matchPool = []string{"", "tcp", "udp", "ip4 && tcp.dst == 80", "tcp.dst == 80", "tcp.dst == 443",
		"ip4.src == 10.0.0.0/24", "udp.dst == 53", "icmp4"}
	badNames = []string{"", "bad name", ".", "a/b"}
)

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i+1)
	}
	return out
}

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }

func pick[T any](g *gen, list []T) T { return list[g.r.IntN(len(list))] }

// name picks from the pool, now and then a bad name.
func (g *gen) name(pool []string) string {
	if g.chance(0.01) {
		return pick(g, badNames)
	}
	return pick(g, pool)
}

func (g *gen) fresh(prefix string) string {
	g.n++
	return fmt.Sprintf("%s-%d", prefix, g.n)
}

// ref picks a name among existing ones mostly, from the pool sometimes.
func (g *gen) ref(existing, pool []string) string {
	if len(existing) > 0 && g.chance(0.9) {
		return pick(g, existing)
	}
	return pick(g, pool)
}

func nameList[T any](list []T, name func(T) string) []string {
	out := make([]string, len(list))
	for i, o := range list {
		out[i] = name(o)
	}
	return out
}

func chassisNames(m *topology.Model) []string {
	return nameList(m.Chassis, func(c topology.Chassis) string { return c.Name })
}
func switchNames(m *topology.Model) []string {
	return nameList(m.Switches, func(s topology.Switch) string { return s.Name })
}
func portNames(m *topology.Model) []string {
	return nameList(m.Ports, func(p topology.Port) string { return p.Name })
}
func pairNames(m *topology.Model) []string {
	return nameList(m.PortPairs, func(p topology.PortPair) string { return p.Name })
}
func groupNames(m *topology.Model) []string {
	return nameList(m.PortPairGroups, func(g topology.PortPairGroup) string { return g.Name })
}
func chainNames(m *topology.Model) []string {
	return nameList(m.PortChains, func(c topology.PortChain) string { return c.Name })
}

func (g *gen) chassis(name string) topology.Chassis {
	c := topology.Chassis{Name: name, Encap: "geneve", IP: fmt.Sprintf("192.0.2.%d", 1+g.r.IntN(4))}
	switch {
	case g.chance(0.02):
		c.Encap = "vxlan"
	case g.chance(0.02):
		c.IP = pick(g, []string{"::1", "x", "", "::ffff:192.0.2.1"})
	}
	return c
}

func (g *gen) switch_(m *topology.Model, name string) topology.Switch {
	s := topology.Switch{Name: name, Key: uint32(1 + g.r.IntN(4))}
	if k, err := m.FreeSwitchKey(); err == nil && g.chance(0.7) {
		s.Key = k
	}
	if g.chance(0.02) {
		s.Key = pick(g, []uint32{0, topology.MaxSwitchKey + 1})
	}
	return s
}

func (g *gen) address() string {
	switch {
	case g.chance(0.03):
		return pick(g, []string{"zz", "ff:ff:ff:ff:ff:ff", "", "02:00:00:00:00:01 10.0.0.300"})
	case g.chance(0.1):
		return "unknown"
	case g.chance(0.5):
		return pick(g, macPool) + " " + pick(g, ipPool)
	}
	return pick(g, macPool)
}

func (g *gen) port(m *topology.Model, name string) topology.Port {
	p := topology.Port{Name: name, Switch: g.ref(switchNames(m), switchPool), Key: uint32(1 + g.r.IntN(6))}
	if k, err := m.FreePortKey(p.Switch); err == nil && g.chance(0.7) {
		p.Key = k
	}
	if g.chance(0.02) {
		p.Key = pick(g, []uint32{0, topology.MaxPortKey + 1})
	}
	for range g.r.IntN(3) {
		p.Addresses = append(p.Addresses, g.address())
	}
	if g.chance(0.1) {
		p.PortSecurity = []string{pick(g, macPool) + " 10.0.0.0/24"}
		if g.chance(0.1) {
			p.PortSecurity = []string{"bad"}
		}
	}
	if g.chance(0.6) {
		p.Options = map[string]string{"requested-chassis": g.ref(chassisNames(m), chassisPool)}
	}
	if g.chance(0.02) {
		p.Options = map[string]string{"foo": "bar", "requested-chassis": ""}
	}
	if g.chance(0.1) {
		on := g.chance(0.5)
		p.Enabled = &on
	}
	return p
}

func (g *gen) pair(m *topology.Model, name string) topology.PortPair {
	pp := topology.PortPair{Name: name, Switch: g.ref(switchNames(m), switchPool), Weight: uint32(1 + g.r.IntN(3))}
	ports := portsOn(m, pp.Switch)
	pp.InPort = g.ref(ports, portPool)
	pp.OutPort = pp.InPort
	if g.chance(0.7) {
		pp.OutPort = g.ref(ports, portPool)
	}
	if g.chance(0.02) {
		pp.Weight = pick(g, []uint32{0, topology.MaxWeight + 1})
	}
	pp.Options = g.pairOptions()
	return pp
}

// pairOptions are a pair's random health check options: mostly none,
// often valid, now and then an unknown key or a bad value (a timeout
// longer than its interval among them).
func (g *gen) pairOptions() map[string]string {
	if !g.chance(0.2) {
		return nil
	}
	o := map[string]string{topology.OptHealthCheck: pick(g, []string{"true", "false"})}
	if g.chance(0.5) {
		o[topology.OptHealthInterval] = pick(g, []string{"0.1", "1", "2.5", "60"})
	}
	if g.chance(0.3) {
		o[topology.OptHealthTimeout] = pick(g, []string{"0.01", "0.05", "1"})
	}
	if g.chance(0.3) {
		o[topology.OptHealthSuccess] = pick(g, []string{"1", "2", "100"})
	}
	if g.chance(0.3) {
		o[topology.OptHealthFailure] = pick(g, []string{"1", "3", "100"})
	}
	if g.chance(0.1) {
		bad := pick(g, [][2]string{{topology.OptHealthCheck, "yes"}, {topology.OptHealthInterval, "0"},
			{topology.OptHealthInterval, "NaN"}, {topology.OptHealthInterval, "61"}, {topology.OptHealthTimeout, "0.001"},
			{topology.OptHealthSuccess, "0"}, {topology.OptHealthFailure, "101"}, {topology.OptHealthFailure, "x"}, {"probe", "icmp"}})
		o[bad[0]] = bad[1]
	}
	return o
}

// groupOptions are a group's random fail-mode and tap options, now and
// then bad.
func (g *gen) groupOptions() map[string]string {
	if !g.chance(0.2) {
		return nil
	}
	o := map[string]string{}
	if g.chance(0.7) {
		o[topology.OptFailMode] = pick(g, []string{topology.FailModeClose, topology.FailModeOpen})
	}
	if g.chance(0.5) {
		o[topology.OptTap] = pick(g, []string{"true", "false"})
	}
	if g.chance(0.1) {
		bad := pick(g, [][2]string{{topology.OptFailMode, "drop"}, {topology.OptTap, "yes"}, {"mirror", "true"}})
		o[bad[0]] = bad[1]
	}
	return o
}

func portsOn(m *topology.Model, sw string) []string {
	var out []string
	for _, p := range m.Ports {
		if p.Switch == sw {
			out = append(out, p.Name)
		}
	}
	return out
}

func (g *gen) group(m *topology.Model, name string) topology.PortPairGroup {
	grp := topology.PortPairGroup{Name: name, Options: g.groupOptions()}
	for range g.r.IntN(3) {
		grp.Pairs = append(grp.Pairs, g.ref(pairNames(m), pairPool))
	}
	return grp
}

func (g *gen) chain(m *topology.Model, name string) topology.PortChain {
	c := topology.PortChain{Name: name, Switch: g.ref(switchNames(m), switchPool), Key: uint32(1 + g.r.IntN(5))}
	if k, err := m.FreeChainKey(); err == nil && g.chance(0.7) {
		c.Key = k
	}
	for range g.r.IntN(3) {
		c.Groups = append(c.Groups, g.ref(groupNames(m), groupPool))
	}
	switch {
	case g.chance(0.02):
		c.Key = pick(g, []uint32{0, topology.MaxChainKey + 1})
	case g.chance(0.01):
		c.Groups = names("many", topology.MaxChainGroups+1)
	}
	return c
}

func (g *gen) classifier(m *topology.Model, name string) topology.Classifier {
	c := topology.Classifier{Name: name, Switch: g.ref(switchNames(m), switchPool), Chain: g.ref(chainNames(m), chainPool),
		Direction: pick(g, []string{topology.EntryLport, topology.ExitLport}),
		Path:      pick(g, []string{topology.Bidirectional, topology.Unidirectional}),
		Match:     pick(g, matchPool), Priority: g.r.IntN(3), Key: uint32(1 + g.r.IntN(6))}
	if ch := m.PortChain(c.Chain); ch != nil && g.chance(0.9) {
		c.Switch = ch.Switch
	}
	c.Port = g.ref(portsOn(m, c.Switch), portPool)
	if k, err := m.FreeClassifierKey(); err == nil && g.chance(0.7) {
		c.Key = k
	}
	switch {
	case g.chance(0.02):
		c.Direction = "sideways"
	case g.chance(0.02):
		c.Path = "both"
	case g.chance(0.02):
		c.Match = pick(g, []string{"tcp.dst ==", "ip4 && ip6", "arp.op == 1", "(("})
	case g.chance(0.02):
		c.Priority = pick(g, []int{-1, topology.MaxClassifierPriority + 1})
	case g.chance(0.02):
		c.Key = pick(g, []uint32{0, topology.MaxChainKey + 1})
	}
	return c
}

// model is a random model, often invalid: half of the time built with
// care and then maybe damaged, else built carelessly.
func (g *gen) model() *topology.Model {
	var m *topology.Model
	if g.chance(0.5) {
		m = g.carefulModel()
		if g.policy {
			g.carefulPolicy(m)
		}
		for range g.r.IntN(3) {
			g.damage(m)
		}
	} else {
		m = g.carelessModel()
		if g.policy {
			g.carelessPolicy(m)
		}
	}
	if g.chance(0.3) {
		g.shuffle(m) // Validate reports in the model's order, sorted or not
	}
	if g.chance(0.05) {
		g.duplicate(m)
	}
	return m
}

// carelessModel is built kind by kind with references that mostly point
// at objects that exist, and values that often collide.
func (g *gen) carelessModel() *topology.Model {
	m := &topology.Model{Generation: uint64(g.r.IntN(10))}
	for _, n := range chassisPool[:g.r.IntN(4)] {
		m.Chassis = append(m.Chassis, g.chassis(n))
	}
	for _, n := range switchPool[:1+g.r.IntN(3)] {
		m.Switches = append(m.Switches, g.switch_(m, n))
	}
	for _, n := range portPool[:g.r.IntN(len(portPool)+1)] {
		m.Ports = append(m.Ports, g.port(m, n))
	}
	for _, n := range pairPool[:g.r.IntN(len(pairPool)+1)] {
		m.PortPairs = append(m.PortPairs, g.pair(m, n))
	}
	for _, n := range groupPool[:g.r.IntN(len(groupPool)+1)] {
		m.PortPairGroups = append(m.PortPairGroups, g.group(m, n))
	}
	for _, n := range chainPool[:g.r.IntN(len(chainPool)+1)] {
		m.PortChains = append(m.PortChains, g.chain(m, n))
	}
	for _, n := range clsPool[:g.r.IntN(len(clsPool)+1)] {
		m.Classifiers = append(m.Classifiers, g.classifier(m, n))
	}
	return m
}

// carefulModel keeps keys and addresses unique, pairs on unused ports of
// their switch, groups in chains on their pairs' switch and classifiers
// on application ports with a MAC: only overlapping classifiers make it
// invalid.
func (g *gen) carefulModel() *topology.Model {
	m := &topology.Model{Generation: uint64(g.r.IntN(10))}
	for i, n := range chassisPool[:1+g.r.IntN(3)] {
		m.Chassis = append(m.Chassis, topology.Chassis{Name: n, Encap: "geneve", IP: fmt.Sprintf("192.0.2.%d", i+1)})
	}
	for i, n := range switchPool[:1+g.r.IntN(3)] {
		m.Switches = append(m.Switches, topology.Switch{Name: n, Key: uint32(i + 1)})
	}
	free := map[string][]string{} // ports of a switch no pair uses
	for i, n := range portPool[:g.r.IntN(len(portPool)+1)] {
		p := topology.Port{Name: n, Switch: pick(g, switchNames(m))}
		p.Key, _ = m.FreePortKey(p.Switch)
		switch g.r.IntN(4) {
		case 0:
		case 1:
			p.Addresses = []string{"unknown"}
		default:
			p.Addresses = []string{fmt.Sprintf("02:00:00:00:01:%02x 10.1.0.%d", i+1, i+1)}
		}
		if g.chance(0.5) {
			p.Options = map[string]string{"requested-chassis": pick(g, chassisNames(m))}
		}
		m.Ports = append(m.Ports, p)
		free[p.Switch] = append(free[p.Switch], n)
	}
	unused := map[string][]string{} // pairs of a switch no group holds
	for _, n := range pairPool[:g.r.IntN(len(pairPool)+1)] {
		sw := pick(g, switchNames(m))
		ports := free[sw]
		if len(ports) == 0 {
			continue
		}
		pp := topology.PortPair{Name: n, Switch: sw, InPort: ports[0], OutPort: ports[0], Weight: uint32(1 + g.r.IntN(3))}
		if g.chance(0.2) {
			pp.Options = map[string]string{topology.OptHealthCheck: "true", topology.OptHealthInterval: "0.5"}
		}
		ports = ports[1:]
		if len(ports) > 0 && g.chance(0.7) {
			pp.OutPort, ports = ports[0], ports[1:]
		}
		free[sw] = ports
		m.PortPairs = append(m.PortPairs, pp)
		unused[sw] = append(unused[sw], n)
	}
	groups := groupPool
	for j, n := range chainPool[:g.r.IntN(len(chainPool)+1)] {
		c := topology.PortChain{Name: n, Switch: pick(g, switchNames(m)), Key: uint32(j + 1)}
		for range g.r.IntN(3) {
			if len(groups) == 0 {
				break
			}
			grp := topology.PortPairGroup{Name: groups[0]}
			if g.chance(0.2) {
				grp.Options = map[string]string{topology.OptFailMode: topology.FailModeOpen}
			}
			groups = groups[1:]
			for range g.r.IntN(3) {
				if pairs := unused[c.Switch]; len(pairs) > 0 {
					grp.Pairs, unused[c.Switch] = append(grp.Pairs, pairs[0]), pairs[1:]
				}
			}
			m.PortPairGroups = append(m.PortPairGroups, grp)
			c.Groups = append(c.Groups, grp.Name)
		}
		m.PortChains = append(m.PortChains, c)
	}
	if len(m.PortChains) == 0 {
		return m
	}
	for k, n := range clsPool[:g.r.IntN(len(clsPool)+1)] {
		ch := pick(g, m.PortChains)
		var apps []string
		for _, p := range m.Ports {
			if p.Switch == ch.Switch && len(p.Addresses) > 0 && p.Addresses[0] != "unknown" && m.PairOfPort(p.Name) == nil {
				apps = append(apps, p.Name)
			}
		}
		if len(apps) == 0 {
			continue
		}
		m.Classifiers = append(m.Classifiers, topology.Classifier{Name: n, Switch: ch.Switch, Chain: ch.Name, Port: pick(g, apps),
			Direction: pick(g, []string{topology.EntryLport, topology.ExitLport}),
			Path:      pick(g, []string{topology.Bidirectional, topology.Unidirectional}),
			Match:     pick(g, matchPool), Priority: g.r.IntN(3), Key: uint32(k + 1)})
	}
	return m
}

// damage replaces, removes or adds one object, carelessly.
func (g *gen) damage(m *topology.Model) {
	c := &topology.Changes{}
	if g.policy && g.chance(0.4) {
		g.policyChange(m, c)
	} else if g.chance(0.3) {
		g.remove(m, c)
	} else {
		g.put(m, c)
	}
	*m = *applyTo(m, c)
}

func (g *gen) shuffle(m *topology.Model) {
	shuffle(g, m.Chassis)
	shuffle(g, m.Switches)
	shuffle(g, m.Ports)
	shuffle(g, m.PortPairs)
	shuffle(g, m.PortPairGroups)
	shuffle(g, m.PortChains)
	shuffle(g, m.Classifiers)
	shuffle(g, m.ACLs)
	shuffle(g, m.PortGroups)
	shuffle(g, m.AddressSets)
	shuffle(g, m.QoS)
	shuffle(g, m.DHCPOptions)
	shuffle(g, m.DNSRecords)
	shuffle(g, m.LoadBalancers)
	shuffle(g, m.Routers)
	shuffle(g, m.RouterPorts)
}

func shuffle[T any](g *gen, list []T) {
	g.r.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
}

// duplicate repeats an object of some kind under its own name.
func (g *gen) duplicate(m *topology.Model) {
	switch g.r.IntN(4) {
	case 0:
		if len(m.Switches) > 0 {
			m.Switches = append(m.Switches, m.Switches[0])
		}
	case 1:
		if len(m.Ports) > 0 {
			m.Ports = append(m.Ports, m.Ports[len(m.Ports)-1])
		}
	case 2:
		if len(m.PortPairGroups) > 0 {
			m.PortPairGroups = append(m.PortPairGroups, m.PortPairGroups[0])
		}
	case 3:
		if len(m.Classifiers) > 0 {
			m.Classifiers = append(m.Classifiers, m.Classifiers[0])
		}
	}
}

// change is a random change to m: one to three edits of objects
// (replacements, field edits, deletions, renames, whole chains added or
// removed), built as the store would deliver them.
func (g *gen) change(m *topology.Model) *topology.Changes {
	c := &topology.Changes{Generation: m.Generation + 1}
	for range 1 + g.r.IntN(3) {
		if g.policy && g.chance(0.4) {
			g.policyChange(m, c)
			continue
		}
		switch n := g.r.IntN(20); {
		case n < 6:
			g.put(m, c)
		case n < 11:
			g.edit(m, c)
		case n < 14:
			g.remove(m, c)
		case n < 16:
			g.rename(m, c)
		case n < 18:
			g.addChain(m, c)
		default:
			g.removeChain(m, c)
		}
	}
	return c
}

// put adds or replaces one object of a random kind.
func (g *gen) put(m *topology.Model, c *topology.Changes) {
	switch g.r.IntN(7) {
	case 0:
		o := g.chassis(g.name(chassisPool))
		set(&c.Chassis, o.Name, &o)
	case 1:
		o := g.switch_(m, g.name(switchPool))
		set(&c.Switches, o.Name, &o)
	case 2:
		o := g.port(m, g.name(portPool))
		set(&c.Ports, o.Name, &o)
	case 3:
		o := g.pair(m, g.name(pairPool))
		set(&c.PortPairs, o.Name, &o)
	case 4:
		o := g.group(m, g.name(groupPool))
		if g.chance(0.5) { // a group needs a chain: give it one
			ch := g.chain(m, g.ref(chainNames(m), chainPool))
			ch.Groups = append(slices.Clone(ch.Groups), o.Name)
			set(&c.PortChains, ch.Name, &ch)
		}
		set(&c.PortPairGroups, o.Name, &o)
	case 5:
		o := g.chain(m, g.name(chainPool))
		set(&c.PortChains, o.Name, &o)
	default:
		o := g.classifier(m, g.name(clsPool))
		set(&c.Classifiers, o.Name, &o)
	}
}

// edit changes one field of an existing object, often to a value that
// another object of the model has (a key, an address, a port of a pair,
// a group of a chain), which may or may not be allowed.
func (g *gen) edit(m *topology.Model, c *topology.Changes) {
	switch g.r.IntN(7) {
	case 0:
		if len(m.Chassis) > 0 {
			o := pick(g, m.Chassis)
			o.IP = pick(g, m.Chassis).IP
			if g.chance(0.5) {
				o.IP = fmt.Sprintf("192.0.2.%d", 10+g.r.IntN(4))
			}
			set(&c.Chassis, o.Name, &o)
		}
	case 1:
		if len(m.Switches) > 0 {
			o := pick(g, m.Switches)
			o.Key = pick(g, m.Switches).Key + uint32(g.r.IntN(2))
			set(&c.Switches, o.Name, &o)
		}
	case 2:
		if len(m.Ports) > 0 {
			o := g.editPort(m, pick(g, m.Ports))
			set(&c.Ports, o.Name, &o)
		}
	case 3:
		if len(m.PortPairs) > 0 {
			o := pick(g, m.PortPairs)
			port := g.ref(portsOn(m, o.Switch), portPool)
			if vnf := vnfPortsOn(m, o.Switch); len(vnf) > 0 && g.chance(0.5) {
				port = pick(g, vnf)
			}
			switch n := g.r.IntN(10); {
			case n < 3:
				o.Options = g.pairOptions() // a new map: o shares the model's
			case n < 6:
				o.InPort = port
			default:
				o.OutPort = port
			}
			set(&c.PortPairs, o.Name, &o)
		}
	case 4:
		if len(m.PortPairGroups) > 0 {
			o := pick(g, m.PortPairGroups)
			if g.chance(0.3) {
				o.Options = g.groupOptions()
			} else {
				o.Pairs = g.editList(o.Pairs, pairNames(m))
			}
			set(&c.PortPairGroups, o.Name, &o)
		}
	case 5:
		if len(m.PortChains) > 0 {
			o := pick(g, m.PortChains)
			switch g.r.IntN(4) {
			case 0:
				o.Switch = pick(g, switchNames(m))
			case 1:
				o.Key = pick(g, m.PortChains).Key
			default:
				o.Groups = g.editList(o.Groups, groupNames(m))
			}
			set(&c.PortChains, o.Name, &o)
		}
	default:
		if len(m.Classifiers) > 0 {
			o := pick(g, m.Classifiers)
			switch g.r.IntN(5) {
			case 0:
				o.Port = g.ref(portsOn(m, o.Switch), portPool)
			case 1:
				o.Priority = pick(g, m.Classifiers).Priority
			case 2:
				o.Match = pick(g, matchPool)
			case 3:
				o.Direction, o.Path = pick(g, []string{topology.EntryLport, topology.ExitLport}), pick(g, []string{topology.Bidirectional, topology.Unidirectional})
			default:
				o.Chain = pick(g, chainNames(m))
			}
			set(&c.Classifiers, o.Name, &o)
		}
	}
}

func (g *gen) editPort(m *topology.Model, o topology.Port) topology.Port {
	other := pick(g, m.Ports)
	switch g.r.IntN(6) {
	case 0:
		o.Key = other.Key
		if k, err := m.FreePortKey(o.Switch); err == nil && g.chance(0.3) {
			o.Key = k
		}
	case 1:
		o.Addresses = slices.Clone(other.Addresses)
		if g.chance(0.5) {
			o.Addresses = []string{g.address()}
		}
	case 2:
		o.Addresses = nil // a classified port loses its MAC
	case 3:
		o.PortSecurity = []string{pick(g, macPool)} // a VNF port gains port security
	case 4:
		o.Switch = pick(g, switchNames(m))
	default:
		o.Options = map[string]string{"requested-chassis": g.ref(chassisNames(m), chassisPool)}
	}
	return o
}

// editList appends, removes or replaces a name of a list.
func (g *gen) editList(list, names []string) []string {
	list = slices.Clone(list)
	switch {
	case len(list) > 0 && g.chance(0.4):
		i := g.r.IntN(len(list))
		list = slices.Delete(list, i, i+1)
	case len(list) > 0 && len(names) > 0 && g.chance(0.3):
		list[g.r.IntN(len(list))] = pick(g, names)
	case len(names) > 0:
		list = append(list, pick(g, names))
	}
	return list
}

func vnfPortsOn(m *topology.Model, sw string) []string {
	var out []string
	for _, pp := range m.PortPairs {
		if pp.Switch == sw {
			out = append(out, pp.InPort, pp.OutPort)
		}
	}
	return out
}

func set[T any](changes *map[string]*T, name string, o *T) {
	if *changes == nil {
		*changes = map[string]*T{}
	}
	(*changes)[name] = o
}

// remove deletes an object of a random kind, often one that something
// references, sometimes one that does not exist.
func (g *gen) remove(m *topology.Model, c *topology.Changes) {
	switch g.r.IntN(7) {
	case 0:
		set(&c.Chassis, g.ref(chassisNames(m), chassisPool), nil)
	case 1:
		set(&c.Switches, g.ref(switchNames(m), switchPool), nil)
	case 2:
		set(&c.Ports, g.ref(portNames(m), portPool), nil)
	case 3:
		set(&c.PortPairs, g.ref(pairNames(m), pairPool), nil)
	case 4:
		set(&c.PortPairGroups, g.ref(groupNames(m), groupPool), nil)
	case 5:
		set(&c.PortChains, g.ref(chainNames(m), chainPool), nil)
	default:
		set(&c.Classifiers, g.ref(nameList(m.Classifiers, func(c topology.Classifier) string { return c.Name }), clsPool), nil)
	}
}

// rename deletes a port or a chain and adds it under a new name, with its
// referrers following it, or not (then they dangle).
func (g *gen) rename(m *topology.Model, c *topology.Changes) {
	follow := g.chance(0.6)
	if g.chance(0.5) && len(m.Ports) > 0 {
		old := pick(g, m.Ports)
		p := old
		p.Name = g.fresh("p")
		set(&c.Ports, old.Name, nil)
		set(&c.Ports, p.Name, &p)
		if !follow {
			return
		}
		for _, pp := range m.PortPairs {
			if pp.InPort == old.Name || pp.OutPort == old.Name {
				pp.InPort, pp.OutPort = renamed(pp.InPort, old.Name, p.Name), renamed(pp.OutPort, old.Name, p.Name)
				set(&c.PortPairs, pp.Name, &pp)
			}
		}
		for _, cl := range m.Classifiers {
			if cl.Port == old.Name {
				cl.Port = p.Name
				set(&c.Classifiers, cl.Name, &cl)
			}
		}
		return
	}
	if len(m.PortChains) == 0 {
		return
	}
	old := pick(g, m.PortChains)
	ch := old
	ch.Name = g.fresh("c")
	set(&c.PortChains, old.Name, nil)
	set(&c.PortChains, ch.Name, &ch)
	if !follow {
		return
	}
	for _, cl := range m.Classifiers {
		if cl.Chain == old.Name {
			cl.Chain = ch.Name
			set(&c.Classifiers, cl.Name, &cl)
		}
	}
}

func renamed(name, from, to string) string {
	if name == from {
		return to
	}
	return name
}

// addChain adds a whole chain as chainctl would in one transaction: VNF
// ports, pairs, groups, the chain and a classifier on an application
// port, with fresh names; its keys and addresses may collide.
func (g *gen) addChain(m *topology.Model, c *topology.Changes) {
	sw := g.ref(switchNames(m), switchPool)
	ch := topology.PortChain{Name: g.fresh("chain"), Switch: sw, Key: uint32(1 + g.r.IntN(6))}
	if k, err := m.FreeChainKey(); err == nil && g.chance(0.8) {
		ch.Key = k
	}
	key := uint32(100 + g.n)
	for range 1 + g.r.IntN(2) {
		grp := topology.PortPairGroup{Name: g.fresh("grp")}
		for range 1 + g.r.IntN(2) {
			in, out := g.fresh("vnf"), g.fresh("vnf")
			for _, name := range []string{in, out} {
				key++
				p := topology.Port{Name: name, Switch: sw, Key: key % 40}
				set(&c.Ports, name, &p)
			}
			pp := topology.PortPair{Name: g.fresh("pair"), Switch: sw, InPort: in, OutPort: out, Weight: 1}
			if used := portsOn(m, sw); len(used) > 0 && g.chance(0.05) {
				pp.OutPort = pick(g, used) // maybe a VNF port already, or classified
			}
			set(&c.PortPairs, pp.Name, &pp)
			grp.Pairs = append(grp.Pairs, pp.Name)
		}
		set(&c.PortPairGroups, grp.Name, &grp)
		ch.Groups = append(ch.Groups, grp.Name)
	}
	set(&c.PortChains, ch.Name, &ch)
	cl := g.classifier(m, g.fresh("cls"))
	cl.Switch, cl.Chain = sw, ch.Name
	if g.chance(0.5) {
		app := topology.Port{Name: g.fresh("app"), Switch: sw, Key: 40 + uint32(g.n%40),
			Addresses: []string{g.address()}}
		set(&c.Ports, app.Name, &app)
		cl.Port = app.Name
	}
	set(&c.Classifiers, cl.Name, &cl)
}

// removeChain deletes a chain with its groups and, mostly, its
// classifiers, pairs and VNF ports.
func (g *gen) removeChain(m *topology.Model, c *topology.Changes) {
	if len(m.PortChains) == 0 {
		return
	}
	ch := pick(g, m.PortChains)
	set(&c.PortChains, ch.Name, nil)
	for _, grp := range ch.Groups {
		set(&c.PortPairGroups, grp, nil)
		gr := m.PortPairGroup(grp)
		if gr == nil || g.chance(0.2) {
			continue
		}
		for _, p := range gr.Pairs {
			set(&c.PortPairs, p, nil)
			if pp := m.PortPair(p); pp != nil && g.chance(0.8) {
				set(&c.Ports, pp.InPort, nil)
				set(&c.Ports, pp.OutPort, nil)
			}
		}
	}
	if g.chance(0.9) {
		for _, cl := range m.Classifiers {
			if cl.Chain == ch.Name {
				set(&c.Classifiers, cl.Name, nil)
			}
		}
	}
}

// applyTo is what a change means, written plainly: the model with the
// changed objects replaced and the deleted ones gone.
func applyTo(m *topology.Model, c *topology.Changes) *topology.Model {
	out := &topology.Model{Generation: c.Generation,
		Chassis:        applyList(m.Chassis, c.Chassis, func(o topology.Chassis) string { return o.Name }),
		Switches:       applyList(m.Switches, c.Switches, func(o topology.Switch) string { return o.Name }),
		Ports:          applyList(m.Ports, c.Ports, func(o topology.Port) string { return o.Name }),
		PortPairs:      applyList(m.PortPairs, c.PortPairs, func(o topology.PortPair) string { return o.Name }),
		PortPairGroups: applyList(m.PortPairGroups, c.PortPairGroups, func(o topology.PortPairGroup) string { return o.Name }),
		PortChains:     applyList(m.PortChains, c.PortChains, func(o topology.PortChain) string { return o.Name }),
		Classifiers:    applyList(m.Classifiers, c.Classifiers, func(o topology.Classifier) string { return o.Name }),
		ACLs:           applyList(m.ACLs, c.ACLs, func(o topology.ACL) string { return o.Name }),
		PortGroups:     applyList(m.PortGroups, c.PortGroups, func(o topology.PortGroup) string { return o.Name }),
		AddressSets:    applyList(m.AddressSets, c.AddressSets, func(o topology.AddressSet) string { return o.Name }),
		QoS:            applyList(m.QoS, c.QoS, func(o topology.QoS) string { return o.Name }),
		DHCPOptions:    applyList(m.DHCPOptions, c.DHCPOptions, func(o topology.DHCPOptions) string { return o.Name }),
		DNSRecords:     applyList(m.DNSRecords, c.DNSRecords, func(o topology.DNSRecord) string { return o.Name }),
		LoadBalancers:  applyList(m.LoadBalancers, c.LoadBalancers, func(o topology.LoadBalancer) string { return o.Name }),
		Routers:        applyList(m.Routers, c.Routers, func(o topology.Router) string { return o.Name }),
		RouterPorts:    applyList(m.RouterPorts, c.RouterPorts, func(o topology.RouterPort) string { return o.Name }),
	}
	out.Normalize()
	return out
}

func applyList[T any](list []T, changes map[string]*T, name func(T) string) []T {
	var out []T
	for _, o := range list {
		if _, changed := changes[name(o)]; !changed {
			out = append(out, o)
		}
	}
	for _, o := range changes {
		if o != nil {
			out = append(out, *o)
		}
	}
	return out
}
