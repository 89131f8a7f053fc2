package topology_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/chainwire/chainwire/topology"
	"github.com/chainwire/chainwire/topology/expr"
)

// The generator's policy objects (ACLs, port groups, address sets, QoS
// rules, DHCP options and the ports that use them, DNS records, load
// balancers and the switches that use them), made only by a gen with
// policy set, so that the models of the other kinds' tests (and the
// seed's oracle) stay as they were.

var (
	pgPool   = names("pg", 4)
	asPool   = names("as", 4)
	aclPool  = names("acl", 6)
	qosPool  = names("q", 4)
	addrPool = []string{"10.0.0.1", "10.0.0.0/24", "10.0.0.1/32", "10.5.0.0/16", "fd00::1", "fd00::/64", "02:00:00:00:00:01"}
	dhcpPool = names("dhcp", 3)
	hostPool = []string{"vm1", "vm2", "db.example.org"}
	lbPool   = names("lb", 3)
	// vipPool holds VIPs with their backends, some at ports' addresses
	// (ipPool's, and carefulModel's 10.1.0.N); badVIPs break a rule each.
	vipPool = [][2]string{{"10.0.0.1:80", "10.0.0.5:8080,10.0.0.6:8080"}, {"10.0.0.9:80", "10.0.0.5:80"}, {"10.1.0.1", "10.0.0.5"},
		{"10.0.0.9", "10.0.0.6,10.0.0.5"}, {"fd00::1", "fd00::5"}, {"[fd00::9]:53", "[fd00::5]:53"}}
	badVIPs = [][2]string{{"10.0.0.300:80", "10.0.0.5:80"}, {"10.0.0.9:80", "10.0.0.5"}, {"fd00::9", "10.0.0.5"},
		{"[fd00::9]:0", "[fd00::5]:53"}, {"10.0.0.8", ""}, {"[fd00:0::9]:53", "[fd00::6]:53"}}
)

func pgNames(m *topology.Model) []string {
	return nameList(m.PortGroups, func(g topology.PortGroup) string { return g.Name })
}
func asNames(m *topology.Model) []string {
	return nameList(m.AddressSets, func(s topology.AddressSet) string { return s.Name })
}
func aclNames(m *topology.Model) []string {
	return nameList(m.ACLs, func(a topology.ACL) string { return a.Name })
}
func qosNames(m *topology.Model) []string {
	return nameList(m.QoS, func(q topology.QoS) string { return q.Name })
}
func dhcpNames(m *topology.Model) []string {
	return nameList(m.DHCPOptions, func(o topology.DHCPOptions) string { return o.Name })
}
func dnsNames(m *topology.Model) []string {
	return nameList(m.DNSRecords, func(r topology.DNSRecord) string { return r.Name })
}
func lbNames(m *topology.Model) []string {
	return nameList(m.LoadBalancers, func(lb topology.LoadBalancer) string { return lb.Name })
}

// policyMatch is a match naming ports (mostly of switch sw), groups, sets
// and derived sets of m, now and then one that does not exist or does
// not compile.
func (g *gen) policyMatch(m *topology.Model, sw string) string {
	port := g.ref(portsOn(m, sw), portPool)
	if g.chance(0.1) {
		port = g.ref(portNames(m), portPool)
	}
	pg, as := g.ref(pgNames(m), pgPool), g.ref(asNames(m), asPool)
	switch g.r.IntN(10) {
	case 0:
		return pick(g, matchPool)
	case 1:
		return fmt.Sprintf(`inport == %q`, port)
	case 2:
		return fmt.Sprintf(`outport == %q && tcp`, port)
	case 3:
		return fmt.Sprintf("inport == @%s", pg)
	case 4:
		return fmt.Sprintf("outport == @%s && ip4.src == $%s", pg, as)
	case 5:
		return fmt.Sprintf("ip4.dst == $%s_ip4 && udp", pg)
	case 6:
		return fmt.Sprintf("ip6.src == $%s_ip6 || ip6.dst == $%s", pg, as)
	case 7:
		return fmt.Sprintf("ip4.src == $%s || eth.src == $%s", as, as)
	case 8:
		return pick(g, []string{"tcp.dst ==", `inport == "nope"`, "ip4.src == $nope", "outport == @nope", "ct.est && !ct.rpl"})
	}
	return fmt.Sprintf("ip4.src == $%s", as)
}

func (g *gen) portGroup(m *topology.Model, name string) topology.PortGroup {
	pg := topology.PortGroup{Name: name}
	for range g.r.IntN(4) {
		pg.Ports = append(pg.Ports, g.ref(portNames(m), portPool))
	}
	return pg
}

func (g *gen) addressSet(name string) topology.AddressSet {
	s := topology.AddressSet{Name: name}
	for range g.r.IntN(4) {
		s.Addresses = append(s.Addresses, pick(g, addrPool))
	}
	if g.chance(0.03) {
		s.Addresses = append(s.Addresses, "10.0.0.300")
	}
	return s
}

func (g *gen) acl(m *topology.Model, name string) topology.ACL {
	a := topology.ACL{Name: name, Key: uint32(1 + g.r.IntN(6)), Direction: pick(g, []string{topology.FromLport, topology.ToLport}),
		Priority: g.r.IntN(3), Action: pick(g, topology.ACLActions), Log: g.chance(0.3)}
	if k, err := m.FreeACLKey(); err == nil && g.chance(0.7) {
		a.Key = k
	}
	if g.chance(0.7) {
		a.Switch = g.ref(switchNames(m), switchPool)
	} else {
		a.PortGroup = g.ref(pgNames(m), pgPool)
	}
	a.Match = g.policyMatch(m, a.Switch)
	switch {
	case g.chance(0.02):
		a.Direction = "inbound"
	case g.chance(0.02):
		a.Priority = topology.MaxACLPriority + 1
	case g.chance(0.02):
		a.Action = "pass"
	case g.chance(0.02):
		a.Key = pick(g, []uint32{0, topology.MaxACLKey + 1})
	case g.chance(0.02):
		a.Switch, a.PortGroup = g.ref(switchNames(m), switchPool), g.ref(pgNames(m), pgPool)
	}
	return a
}

func (g *gen) qos(m *topology.Model, name string) topology.QoS {
	q := topology.QoS{Name: name, Key: uint32(1 + g.r.IntN(4)), Switch: g.ref(switchNames(m), switchPool),
		Direction: pick(g, []string{topology.FromLport, topology.ToLport}), Priority: g.r.IntN(3)}
	if k, err := m.FreeQoSKey(); err == nil && g.chance(0.7) {
		q.Key = k
	}
	q.Match = g.policyMatch(m, q.Switch)
	if g.chance(0.7) {
		q.DSCP = intp(g.r.IntN(64))
	}
	if g.chance(0.5) {
		q.Rate = 1000
		if g.chance(0.3) {
			q.Burst = 100
		}
	}
	switch {
	case g.chance(0.02):
		q.DSCP = intp(64)
	case g.chance(0.02):
		q.Burst, q.Rate = 10, 0
	case g.chance(0.02):
		q.Key = 0
	}
	return q
}

// dhcpOptions are IPv4 or IPv6 options, now and then with a bad CIDR,
// value or key, or without a key they need.
func (g *gen) dhcpOptions(name string) topology.DHCPOptions {
	o := topology.DHCPOptions{Name: name, CIDR: "10.0.0.0/24",
		Options: map[string]string{"server_id": "10.0.0.254", "server_mac": "02:00:00:00:00:fe", "lease_time": "3600"}}
	if g.chance(0.5) {
		o.CIDR, o.Options = pick(g, []string{"fd00::/64", "fd01::/48"}), map[string]string{"server_id": "02:00:00:00:00:fe"}
	}
	switch {
	case g.chance(0.03):
		o.CIDR = pick(g, []string{"10.0.0.1/24", "10.0.0.0/33", "fd00::/0", "x"})
	case g.chance(0.03):
		delete(o.Options, "server_id")
	case g.chance(0.03):
		o.Options["mtu"] = "20"
	case g.chance(0.03):
		o.Options["dns_server"] = "{10.0.0.1, fd00::1}"
	case g.chance(0.3):
		o.Options["dns_server"] = "{10.0.0.1, 10.0.0.2}"
	}
	return o
}

// dnsRecord is a host name of a switch, now and then a bad one or one
// without addresses; its name is always the derived one (Normalize
// makes it so).
func (g *gen) dnsRecord(m *topology.Model) topology.DNSRecord {
	sw, host := g.ref(switchNames(m), switchPool), pick(g, hostPool)
	if g.chance(0.03) {
		host = pick(g, []string{"VM1", "-vm", "a..b"})
	}
	r := topology.DNSRecord{Name: topology.DNSRecordName(sw, host), Switch: sw, Hostname: host}
	for range g.r.IntN(3) {
		r.Addresses = append(r.Addresses, pick(g, ipPool))
	}
	return r
}

// useDHCP points a port at options, as IPv4 or IPv6 ones, or at none.
func (g *gen) useDHCP(m *topology.Model, p *topology.Port) {
	id := ""
	if g.chance(0.8) {
		id = g.ref(dhcpNames(m), dhcpPool)
	}
	if g.chance(0.5) {
		p.DHCPv4Options = id
	} else {
		p.DHCPv6Options = id
	}
}

// loadBalancer has a few VIPs of the pool, now and then a bad one, a
// bad protocol or key.
func (g *gen) loadBalancer(m *topology.Model, name string) topology.LoadBalancer {
	lb := topology.LoadBalancer{Name: name, Key: uint32(1 + g.r.IntN(4)), Protocol: pick(g, []string{topology.LBTCP, topology.LBUDP}),
		VIPs: map[string]string{}}
	if k, err := m.FreeLBKey(); err == nil && g.chance(0.7) {
		lb.Key = k
	}
	for range g.r.IntN(4) {
		v := pick(g, vipPool)
		lb.VIPs[v[0]] = v[1]
	}
	switch {
	case g.chance(0.05):
		v := pick(g, badVIPs)
		lb.VIPs[v[0]] = v[1]
	case g.chance(0.02):
		lb.Protocol = "sctp"
	case g.chance(0.02):
		lb.Key = pick(g, []uint32{0, topology.MaxLBKey + 1})
	}
	return lb
}

// useLBs changes the load balancers a switch uses: one more (maybe one
// that does not exist, or one it has), one less, or another.
func (g *gen) useLBs(m *topology.Model, s *topology.Switch) {
	names := lbNames(m)
	if len(names) == 0 || g.chance(0.1) {
		names = lbPool
	}
	s.LoadBalancers = g.editList(s.LoadBalancers, names)
}

// carelessPolicy adds policy objects built as carelessModel builds the
// others.
func (g *gen) carelessPolicy(m *topology.Model) {
	for _, n := range pgPool[:g.r.IntN(len(pgPool)+1)] {
		m.PortGroups = append(m.PortGroups, g.portGroup(m, n))
	}
	for _, n := range asPool[:g.r.IntN(len(asPool)+1)] {
		m.AddressSets = append(m.AddressSets, g.addressSet(n))
	}
	for _, n := range aclPool[:g.r.IntN(len(aclPool)+1)] {
		m.ACLs = append(m.ACLs, g.acl(m, n))
	}
	for _, n := range qosPool[:g.r.IntN(len(qosPool)+1)] {
		m.QoS = append(m.QoS, g.qos(m, n))
	}
	for _, n := range dhcpPool[:g.r.IntN(len(dhcpPool)+1)] {
		m.DHCPOptions = append(m.DHCPOptions, g.dhcpOptions(n))
	}
	for i := range m.Ports {
		if g.chance(0.3) {
			g.useDHCP(m, &m.Ports[i])
		}
	}
	for range g.r.IntN(3) {
		m.DNSRecords = append(m.DNSRecords, g.dnsRecord(m))
	}
	for _, n := range lbPool[:g.r.IntN(len(lbPool)+1)] {
		m.LoadBalancers = append(m.LoadBalancers, g.loadBalancer(m, n))
	}
	for i := range m.Switches {
		for range g.r.IntN(3) {
			g.useLBs(m, &m.Switches[i])
		}
	}
	g.carelessRouters(m)
}

// carefulPolicy adds groups of distinct existing ports, IPv4 sets, and
// ACLs and QoS rules with their own keys and priorities whose matches
// name what exists: only a match that does not compile (a port of
// another switch, outport in from-lport...) makes it invalid.
func (g *gen) carefulPolicy(m *topology.Model) {
	for _, n := range pgPool[:g.r.IntN(len(pgPool)+1)] {
		ports := portNames(m)
		g.r.Shuffle(len(ports), func(i, j int) { ports[i], ports[j] = ports[j], ports[i] })
		m.PortGroups = append(m.PortGroups, topology.PortGroup{Name: n, Ports: ports[:g.r.IntN(min(3, len(ports))+1)]})
	}
	for i, n := range asPool[:g.r.IntN(len(asPool)+1)] {
		m.AddressSets = append(m.AddressSets, topology.AddressSet{Name: n, Addresses: []string{fmt.Sprintf("10.%d.0.0/16", 50+i), "10.9.9.9"}})
	}
	for i, n := range aclPool[:g.r.IntN(len(aclPool)+1)] {
		a := g.acl(m, n)
		a.Key, a.Priority, a.Action = uint32(i+1), i, pick(g, topology.ACLActions)
		if a.Switch != "" && a.PortGroup != "" || a.Direction == "inbound" {
			a.PortGroup, a.Direction = "", topology.ToLport
		}
		m.ACLs = append(m.ACLs, a)
	}
	for i, n := range qosPool[:g.r.IntN(len(qosPool)+1)] {
		q := g.qos(m, n)
		q.Key, q.Priority, q.DSCP, q.Burst = uint32(i+1), i, intp(i), 0
		m.QoS = append(m.QoS, q)
	}
	if len(m.Ports) > 0 && g.chance(0.5) {
		m.DHCPOptions = append(m.DHCPOptions, topology.DHCPOptions{Name: dhcpPool[0], CIDR: "10.0.0.0/24",
			Options: map[string]string{"server_id": "10.0.0.254", "server_mac": "02:00:00:00:00:fe", "lease_time": "3600"}})
		m.Ports[0].DHCPv4Options = dhcpPool[0]
	}
	for i, sw := range switchNames(m)[:g.r.IntN(len(m.Switches)+1)] {
		m.DNSRecords = append(m.DNSRecords, topology.DNSRecord{Name: topology.DNSRecordName(sw, hostPool[i%len(hostPool)]),
			Switch: sw, Hostname: hostPool[i%len(hostPool)], Addresses: []string{"10.0.0.1", "fd00::1"}})
	}
	// Load balancers with VIPs no careful port has, on some switches.
	for i, n := range lbPool[:g.r.IntN(len(lbPool)+1)] {
		m.LoadBalancers = append(m.LoadBalancers, topology.LoadBalancer{Name: n, Key: uint32(i + 1), Protocol: topology.LBUDP,
			VIPs: map[string]string{vipPool[1][0]: vipPool[1][1], vipPool[5][0]: vipPool[5][1]}})
		for j := range m.Switches {
			if g.chance(0.5) {
				m.Switches[j].LoadBalancers = append(m.Switches[j].LoadBalancers, n)
			}
		}
	}
	g.carefulRouters(m)
}

// putPolicy adds or replaces one policy object.
func (g *gen) putPolicy(m *topology.Model, c *topology.Changes) {
	switch g.r.IntN(7) {
	case 6:
		o := g.loadBalancer(m, g.name(lbPool))
		set(&c.LoadBalancers, o.Name, &o)
	case 4:
		o := g.dhcpOptions(g.name(dhcpPool))
		set(&c.DHCPOptions, o.Name, &o)
	case 5:
		o := g.dnsRecord(m)
		set(&c.DNSRecords, o.Name, &o)
	case 0:
		o := g.portGroup(m, g.name(pgPool))
		set(&c.PortGroups, o.Name, &o)
	case 1:
		o := g.addressSet(g.name(asPool))
		set(&c.AddressSets, o.Name, &o)
	case 2:
		o := g.acl(m, g.name(aclPool))
		set(&c.ACLs, o.Name, &o)
	default:
		o := g.qos(m, g.name(qosPool))
		set(&c.QoS, o.Name, &o)
	}
}

// editPolicy changes one field of a policy object, often to what makes
// other objects' matches fail (a set gains an IPv6 address, a group a
// port of another switch).
func (g *gen) editPolicy(m *topology.Model, c *topology.Changes) {
	switch g.r.IntN(9) {
	case 7:
		if len(m.LoadBalancers) > 0 { // a VIP at a port's address fails the switches that use it
			o := pick(g, m.LoadBalancers)
			o.VIPs = maps.Clone(o.VIPs)
			v := pick(g, vipPool)
			if _, ok := o.VIPs[v[0]]; ok {
				delete(o.VIPs, v[0])
			} else {
				o.VIPs[v[0]] = v[1]
			}
			set(&c.LoadBalancers, o.Name, &o)
		}
	case 8:
		if len(m.Switches) > 0 {
			o := pick(g, m.Switches)
			g.useLBs(m, &o)
			set(&c.Switches, o.Name, &o)
		}
	case 4:
		if len(m.Ports) > 0 {
			o := pick(g, m.Ports)
			g.useDHCP(m, &o)
			set(&c.Ports, o.Name, &o)
		}
	case 5:
		if len(m.DHCPOptions) > 0 { // a family change fails the ports that use them
			o := pick(g, m.DHCPOptions)
			o.CIDR = pick(g, []string{"10.1.0.0/16", "fd02::/64"})
			set(&c.DHCPOptions, o.Name, &o)
		}
	case 6:
		if len(m.DNSRecords) > 0 {
			o := pick(g, m.DNSRecords)
			o.Addresses = g.editList(o.Addresses, ipPool)
			set(&c.DNSRecords, o.Name, &o)
		}
	case 0:
		if len(m.PortGroups) > 0 {
			o := pick(g, m.PortGroups)
			o.Ports = g.editList(o.Ports, portNames(m))
			set(&c.PortGroups, o.Name, &o)
		}
	case 1:
		if len(m.AddressSets) > 0 {
			o := pick(g, m.AddressSets)
			o.Addresses = g.editList(o.Addresses, addrPool)
			set(&c.AddressSets, o.Name, &o)
		}
	case 2:
		if len(m.ACLs) > 0 {
			o := pick(g, m.ACLs)
			switch g.r.IntN(4) {
			case 0:
				o.Match = g.policyMatch(m, o.Switch)
			case 1:
				o.Priority = pick(g, m.ACLs).Priority
			case 2:
				o.Direction = pick(g, []string{topology.FromLport, topology.ToLport})
			default:
				o.Switch, o.PortGroup = "", g.ref(pgNames(m), pgPool)
			}
			set(&c.ACLs, o.Name, &o)
		}
	default:
		if len(m.QoS) > 0 {
			o := pick(g, m.QoS)
			switch g.r.IntN(3) {
			case 0:
				o.Match = g.policyMatch(m, o.Switch)
			case 1:
				o.DSCP, o.Rate = nil, uint32(g.r.IntN(2))
			default:
				o.Key = pick(g, m.QoS).Key
			}
			set(&c.QoS, o.Name, &o)
		}
	}
}

// removePolicy deletes a policy object, often one something uses.
func (g *gen) removePolicy(m *topology.Model, c *topology.Changes) {
	switch g.r.IntN(7) {
	case 6:
		set(&c.LoadBalancers, g.ref(lbNames(m), lbPool), nil)
	case 4:
		set(&c.DHCPOptions, g.ref(dhcpNames(m), dhcpPool), nil)
	case 5:
		if len(m.DNSRecords) > 0 {
			set(&c.DNSRecords, pick(g, m.DNSRecords).Name, nil)
		}
	case 0:
		set(&c.PortGroups, g.ref(pgNames(m), pgPool), nil)
	case 1:
		set(&c.AddressSets, g.ref(asNames(m), asPool), nil)
	case 2:
		set(&c.ACLs, g.ref(aclNames(m), aclPool), nil)
	default:
		set(&c.QoS, g.ref(qosNames(m), qosPool), nil)
	}
}

// policyChange is a random change of the policy objects: one edit, or a
// port leaving every group and the matches that name it, then going.
func (g *gen) policyChange(m *topology.Model, c *topology.Changes) {
	if g.chance(0.3) {
		g.routerChange(m, c)
		return
	}
	switch n := g.r.IntN(10); {
	case n < 3:
		g.putPolicy(m, c)
	case n < 7:
		g.editPolicy(m, c)
	case n < 9:
		g.removePolicy(m, c)
	default:
		if len(m.Ports) == 0 {
			return
		}
		p := pick(g, m.Ports).Name
		for _, pg := range m.PortGroups {
			if slices.Contains(pg.Ports, p) {
				pg.Ports = slices.DeleteFunc(slices.Clone(pg.Ports), func(x string) bool { return x == p })
				set(&c.PortGroups, pg.Name, &pg)
			}
		}
		set(&c.Ports, p, nil)
	}
}

// policyDump is what the index answers about a name for the policy
// kinds, and policyDumpModel the same found in a model.
func policyDump(ix *topology.Index, n string) []string {
	port, pg, as := topology.Ref{Kind: topology.KindPort, Name: n}, topology.Ref{Kind: topology.KindPortGroup, Name: n},
		topology.Ref{Kind: topology.KindAddressSet, Name: n}
	out := []string{objJSON(ix.ACL(n)), objJSON(ix.PortGroup(n)), objJSON(ix.AddressSet(n)), objJSON(ix.QoSRule(n)),
		joined(ix.ACLsOf(n), aclName), joined(ix.ACLsOfPortGroup(n), aclName), joined(ix.PortGroupsOfPort(n), pgName),
		joined(ix.QoSOf(n), qosName), joined(ix.ACLsNaming(port), aclName), joined(ix.ACLsNaming(pg), aclName),
		joined(ix.ACLsNaming(as), aclName), joined(ix.QoSNaming(port), qosName), joined(ix.QoSNaming(pg), qosName),
		joined(ix.QoSNaming(as), qosName),
		objJSON(ix.DHCPOption(n)), objJSON(ix.DNSRecord(n)), joined(ix.DNSRecordsOf(n), dnsName), joined(ix.PortsUsingDHCPOptions(n), portName),
		objJSON(ix.LoadBalancer(n)), strings.Join(ix.SwitchesUsingLB(n), ",")}
	return append(out, routerDump(ix, n)...)
}

func dnsName(r *topology.DNSRecord) string { return r.Name }

func policyDumpModel(m *topology.Model, n string) []string {
	var aclsOf, aclsOfPG, groupsOf, qosOf []string
	var naming [6][]string // ACLs naming port, group, set n; QoS likewise
	named := func(match string, base int, name string) {
		refs, err := expr.References(match)
		if err != nil {
			return
		}
		groups := slices.Clone(refs.PortGroups)
		for _, s := range refs.AddressSets {
			for _, suffix := range []string{"_ip4", "_ip6"} {
				if g, ok := strings.CutSuffix(s, suffix); ok && g != "" {
					groups = append(groups, g)
				}
			}
		}
		for i, list := range [3][]string{refs.Ports, groups, refs.AddressSets} {
			if slices.Contains(list, n) {
				naming[base+i] = append(naming[base+i], name)
			}
		}
	}
	for _, a := range m.ACLs {
		if a.Switch == n {
			aclsOf = append(aclsOf, a.Name)
		}
		if a.PortGroup == n {
			aclsOfPG = append(aclsOfPG, a.Name)
		}
		named(a.Match, 0, a.Name)
	}
	for _, g := range m.PortGroups {
		if slices.Contains(g.Ports, n) {
			groupsOf = append(groupsOf, g.Name)
		}
	}
	for _, q := range m.QoS {
		if q.Switch == n {
			qosOf = append(qosOf, q.Name)
		}
		named(q.Match, 3, q.Name)
	}
	out := []string{objJSON(m.ACL(n)), objJSON(m.PortGroup(n)), objJSON(m.AddressSet(n)), objJSON(m.QoSRule(n)),
		strings.Join(aclsOf, ","), strings.Join(aclsOfPG, ","), strings.Join(groupsOf, ","), strings.Join(qosOf, ",")}
	for _, list := range naming {
		out = append(out, strings.Join(list, ","))
	}
	var records, users []string
	for _, r := range m.DNSRecords {
		if r.Switch == n {
			records = append(records, r.Name)
		}
	}
	for _, p := range m.Ports {
		if p.DHCPv4Options == n || p.DHCPv6Options == n {
			users = append(users, p.Name)
		}
	}
	var lbUsers []string
	for _, sw := range m.Switches {
		if slices.Contains(sw.LoadBalancers, n) {
			lbUsers = append(lbUsers, sw.Name)
		}
	}
	out = append(out, objJSON(m.DHCPOption(n)), objJSON(m.DNSRecord(n)), strings.Join(records, ","), strings.Join(users, ","),
		objJSON(m.LoadBalancer(n)), strings.Join(lbUsers, ","))
	return append(out, routerDumpModel(m, n)...)
}
