package pipeline_test

import (
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand"
	"net"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/topology"
	"github.com/chainwire/chainwire/topology/fixture"
)

// canon prints desired state for comparison: group IDs, which depend on
// the order groups came in, are replaced by a function of their names.
func canon(t *pipeline.Tables) []string {
	names := map[uint32]string{}
	for _, g := range t.Groups {
		names[g.ID] = g.Name
	}
	fix := func(acts []pipeline.Action) string {
		out := make([]pipeline.Action, len(acts))
		for i, a := range acts {
			if tg, ok := a.(pipeline.ToGroup); ok {
				h := fnv.New32()
				h.Write([]byte(names[tg.ID]))
				a = pipeline.ToGroup{ID: h.Sum32()}
			}
			out[i] = a
		}
		return pipeline.ActionsString(out, true)
	}
	var lines []string
	for _, f := range t.Flows {
		lines = append(lines, fmt.Sprintf("%d/%d/%s cookie=%x %s", f.Stage.Table(), f.Priority, f.Match, f.Cookie, fix(f.Actions)))
	}
	for _, g := range t.Groups {
		var bs []string
		for _, b := range g.Buckets {
			bs = append(bs, fix(b.Actions))
		}
		lines = append(lines, fmt.Sprintf("group %s %s [%s]", g.Name, g.Type, strings.Join(bs, " | ")))
	}
	for _, m := range t.Meters {
		lines = append(lines, m.String())
	}
	sort.Strings(lines)
	return lines
}

// applied is desired state maintained from deltas alone, as the
// reconciler keeps it.
type applied struct {
	flows  map[string]pipeline.Flow
	groups map[uint32]pipeline.Group
	meters map[uint32]pipeline.Meter
}

func newApplied(t *pipeline.Tables) *applied {
	a := &applied{flows: map[string]pipeline.Flow{}, groups: map[uint32]pipeline.Group{}, meters: map[uint32]pipeline.Meter{}}
	a.apply(&pipeline.Delta{Flows: t.Flows, Groups: t.Groups, Meters: t.Meters})
	return a
}

func (a *applied) apply(d *pipeline.Delta) {
	for _, k := range d.DeletedFlows {
		delete(a.flows, k)
	}
	for _, f := range d.Flows {
		a.flows[f.Key()] = f
	}
	for _, id := range d.DeletedGroups {
		delete(a.groups, id)
	}
	for _, g := range d.Groups {
		a.groups[g.ID] = g
	}
	for _, id := range d.DeletedMeters {
		delete(a.meters, id)
	}
	for _, m := range d.Meters {
		a.meters[m.ID] = m
	}
}

func (a *applied) tables() *pipeline.Tables {
	t := &pipeline.Tables{}
	for _, f := range a.flows {
		t.Flows = append(t.Flows, f)
	}
	for _, g := range a.groups {
		t.Groups = append(t.Groups, g)
	}
	for _, m := range a.meters {
		t.Meters = append(t.Meters, m)
	}
	return t
}

func diffLines(a, b []string) string {
	in := func(xs []string) map[string]bool {
		m := map[string]bool{}
		for _, x := range xs {
			m[x] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	var out []string
	for _, x := range a {
		if !mb[x] {
			out = append(out, "- "+x)
		}
	}
	for _, x := range b {
		if !ma[x] {
			out = append(out, "+ "+x)
		}
	}
	if len(out) > 12 {
		out = append(out[:12], fmt.Sprintf("... %d more", len(out)-12))
	}
	return strings.Join(out, "\n")
}

// mutator makes random changes to a model and to the chassis' view.
type mutator struct {
	rnd      *rand.Rand
	n        int
	ofports  map[string]uint32
	bindings map[string]string
	zones    map[string]uint16
	down     map[string]bool
	// neighbours learned behind router ports: port -> IP -> MAC
	neighbours map[string]map[string]string
}

var matches = []string{"", "tcp", "tcp.dst == 80", "udp && udp.dst >= 1000 && udp.dst <= 2000 && udp.src >= 5 && udp.src <= 9",
	"ip4.src == 10.1.0.0/16", "tcp.dst == {80, 443}"}

func (mu *mutator) pick(n int) int { return mu.rnd.Intn(n) }

// model changes m in place, one random edit.
func (mu *mutator) model(m *topology.Model) string {
	mu.n++
	switch mu.pick(19) {
	case 18: // routers: switches attached and detached, static routes
		return mu.routers(m)
	case 17: // health checks, fail-mode and taps
		return mu.resilience(m)
	case 0: // a new port, maybe bound nowhere by request
		sw := m.Switches[mu.pick(len(m.Switches))]
		key := uint32(0)
		for _, p := range m.Ports {
			if p.Switch == sw.Name && p.Key > key {
				key = p.Key
			}
		}
		p := topology.Port{Name: fmt.Sprintf("new%d", mu.n), Switch: sw.Name, Key: key + 1 + uint32(mu.pick(300)),
			Addresses: []string{fmt.Sprintf("02:aa:00:00:%02x:%02x", mu.n>>8&0xff, mu.n&0xff)}}
		if mu.pick(2) == 0 {
			p.Options = map[string]string{"requested-chassis": m.Chassis[mu.pick(len(m.Chassis))].Name}
		}
		m.Ports = append(m.Ports, p)
		return "add port " + p.Name
	case 1: // delete a port
		i := mu.pick(len(m.Ports))
		name := m.Ports[i].Name
		m.Ports = append(m.Ports[:i], m.Ports[i+1:]...)
		return "delete port " + name
	case 2: // enable / disable
		p := &m.Ports[mu.pick(len(m.Ports))]
		v := mu.pick(2) == 0
		p.Enabled = &v
		return fmt.Sprintf("port %s enabled=%v", p.Name, v)
	case 3: // addresses: unknown, another MAC, none
		p := &m.Ports[mu.pick(len(m.Ports))]
		switch mu.pick(3) {
		case 0:
			p.Addresses = append(append([]string(nil), p.Addresses...), "unknown")
		case 1:
			p.Addresses = []string{fmt.Sprintf("02:bb:00:00:%02x:%02x", mu.n>>8&0xff, mu.n&0xff)}
		default:
			p.Addresses = nil
		}
		return fmt.Sprintf("port %s addresses %q", p.Name, p.Addresses)
	case 4: // port security
		p := &m.Ports[mu.pick(len(m.Ports))]
		if len(p.PortSecurity) > 0 || len(p.Addresses) == 0 || p.Addresses[0] == "unknown" {
			p.PortSecurity = nil
		} else {
			p.PortSecurity = []string{strings.Fields(p.Addresses[0])[0]}
		}
		return fmt.Sprintf("port %s port-security %q", p.Name, p.PortSecurity)
	case 5: // requested chassis
		p := &m.Ports[mu.pick(len(m.Ports))]
		opts := map[string]string{}
		if mu.pick(3) > 0 {
			opts["requested-chassis"] = m.Chassis[mu.pick(len(m.Chassis))].Name
		}
		p.Options = opts
		return fmt.Sprintf("port %s options %v", p.Name, opts)
	case 6: // a chassis moves
		c := &m.Chassis[mu.pick(len(m.Chassis))]
		c.IP = fmt.Sprintf("192.0.2.%d", 100+mu.n%100)
		return fmt.Sprintf("chassis %s ip %s", c.Name, c.IP)
	case 7: // a switch takes another key
		s := &m.Switches[mu.pick(len(m.Switches))]
		s.Key = uint32(1000 + mu.n)
		return fmt.Sprintf("switch %s key %d", s.Name, s.Key)
	case 8: // classifier edits
		if len(m.Classifiers) == 0 {
			return "nothing"
		}
		c := &m.Classifiers[mu.pick(len(m.Classifiers))]
		switch mu.pick(4) {
		case 0:
			c.Match = matches[mu.pick(len(matches))]
		case 1:
			c.Priority = mu.pick(5)
		case 2:
			c.Direction = []string{topology.EntryLport, topology.ExitLport}[mu.pick(2)]
		default:
			c.Path = []string{topology.Bidirectional, topology.Unidirectional}[mu.pick(2)]
		}
		return fmt.Sprintf("classifier %s %+v", c.Name, *c)
	case 9: // a classifier goes
		if len(m.Classifiers) == 0 {
			return "nothing"
		}
		i := mu.pick(len(m.Classifiers))
		name := m.Classifiers[i].Name
		m.Classifiers = append(m.Classifiers[:i], m.Classifiers[i+1:]...)
		return "delete classifier " + name
	case 10: // a classifier on another port of the chain's switch
		if len(m.PortChains) == 0 {
			return "nothing"
		}
		ch := m.PortChains[mu.pick(len(m.PortChains))]
		var ports []string
		for _, p := range m.Ports {
			if p.Switch == ch.Switch {
				ports = append(ports, p.Name)
			}
		}
		c := topology.Classifier{Name: fmt.Sprintf("cls%d", mu.n), Switch: ch.Switch, Chain: ch.Name,
			Port: ports[mu.pick(len(ports))], Direction: topology.ExitLport, Path: topology.Bidirectional,
			Match: matches[mu.pick(len(matches))], Key: uint32(500 + mu.n)}
		m.Classifiers = append(m.Classifiers, c)
		return "add classifier " + c.Name
	case 11: // a pair leaves its group, or the group takes one back
		if len(m.PortPairGroups) == 0 {
			return "nothing"
		}
		g := &m.PortPairGroups[mu.pick(len(m.PortPairGroups))]
		if len(g.Pairs) > 0 && mu.pick(2) == 0 {
			g.Pairs = g.Pairs[:len(g.Pairs)-1]
			return "group " + g.Name + " loses a pair"
		}
		used := map[string]bool{}
		for _, gg := range m.PortPairGroups {
			for _, p := range gg.Pairs {
				used[p] = true
			}
		}
		for _, pp := range m.PortPairs {
			if !used[pp.Name] {
				g.Pairs = append(append([]string(nil), g.Pairs...), pp.Name)
				return "group " + g.Name + " takes " + pp.Name
			}
		}
		return "nothing"
	case 13: // QoS: a rule comes, changes rate or key, or goes
		return mu.qos(m)
	case 14: // DHCP options and DNS records
		return mu.services(m)
	case 15: // load balancers: VIPs change, switches take them or leave them
		return mu.loadBalancers(m)
	case 12: // a pair's weight or a pair goes
		if len(m.PortPairs) == 0 {
			return "nothing"
		}
		i := mu.pick(len(m.PortPairs))
		if mu.pick(2) == 0 {
			m.PortPairs[i].Weight = uint32(1 + mu.pick(5))
			return "pair weight"
		}
		name := m.PortPairs[i].Name
		m.PortPairs = append(m.PortPairs[:i], m.PortPairs[i+1:]...)
		return "delete pair " + name
	default: // a new pair of two ports not yet in one
		inPair := map[string]bool{}
		for _, pp := range m.PortPairs {
			inPair[pp.InPort], inPair[pp.OutPort] = true, true
		}
		sw := m.Switches[mu.pick(len(m.Switches))]
		var free []string
		for _, p := range m.Ports {
			if p.Switch == sw.Name && !inPair[p.Name] {
				free = append(free, p.Name)
			}
		}
		if len(free) < 2 {
			return "nothing"
		}
		in, out := free[mu.pick(len(free))], free[mu.pick(len(free))]
		m.PortPairs = append(m.PortPairs, topology.PortPair{Name: fmt.Sprintf("pp%d", mu.n), Switch: sw.Name, InPort: in, OutPort: out, Weight: 1})
		return "add pair " + in + "/" + out
	}
}

// routers attaches a switch to router R or detaches it (the fixture's
// switch n has its ports in 10.n.0.0/16), or adds or removes a static
// route via a port of an attached switch.
func (mu *mutator) routers(m *topology.Model) string {
	if len(m.Routers) == 0 {
		key, err := m.FreeRouterKey()
		if err != nil {
			return "nothing"
		}
		m.Routers = []topology.Router{{Name: "R", Key: key}}
	}
	i := 1 + mu.pick(len(m.Switches))
	sw := fixture.SwitchName(i)
	lrp, lsp := "r-"+sw, "rp-"+sw
	if mu.pick(3) == 0 {
		r := &m.Routers[0]
		if len(r.Routes) > 0 {
			r.Routes = nil
			return "static routes removed"
		}
		if m.RouterPort(lrp) == nil {
			return "nothing"
		}
		r.Routes = []topology.StaticRoute{{Prefix: "192.168.0.0/24", NextHop: fmt.Sprintf("10.%d.0.2", i)}}
		return "static route via " + sw
	}
	if m.RouterPort(lrp) != nil {
		if len(m.Routers[0].Routes) > 0 {
			return "nothing" // the route's next hop is on it
		}
		m.Ports = slices.DeleteFunc(m.Ports, func(p topology.Port) bool { return p.Name == lsp })
		m.RouterPorts = slices.DeleteFunc(m.RouterPorts, func(p topology.RouterPort) bool { return p.Name == lrp })
		return "detach " + sw
	}
	key, err := m.FreeRouterPortKey("R")
	if err != nil {
		return "nothing"
	}
	pkey := uint32(0)
	for _, p := range m.Ports {
		if p.Switch == sw && p.Key > pkey {
			pkey = p.Key
		}
	}
	m.RouterPorts = append(m.RouterPorts, topology.RouterPort{Name: lrp, Router: "R", Key: key,
		MAC: fmt.Sprintf("02:ee:00:00:00:%02x", i), Networks: []string{fmt.Sprintf("10.%d.255.254/16", i)}})
	m.Ports = append(m.Ports, topology.Port{Name: lsp, Switch: sw, Key: pkey + 1, Type: topology.PortTypeRouter,
		Addresses: []string{"router"}, Options: map[string]string{"router-port": lrp}})
	return "attach " + sw
}

// resilience turns a pair's health check on or off, or a group's
// fail-mode or tap.
func (mu *mutator) resilience(m *topology.Model) string {
	if len(m.PortPairs) > 0 && mu.pick(2) == 0 {
		pp := &m.PortPairs[mu.pick(len(m.PortPairs))]
		if pp.Options[topology.OptHealthCheck] == "true" {
			pp.Options = nil
		} else {
			pp.Options = map[string]string{topology.OptHealthCheck: "true"}
		}
		return fmt.Sprintf("pair %s options %v", pp.Name, pp.Options)
	}
	if len(m.PortPairGroups) == 0 {
		return "nothing"
	}
	g := &m.PortPairGroups[mu.pick(len(m.PortPairGroups))]
	g.Options = [](map[string]string){nil, {topology.OptFailMode: "open"}, {topology.OptTap: "true"},
		{topology.OptFailMode: "close"}}[mu.pick(4)]
	return fmt.Sprintf("group %s options %v", g.Name, g.Options)
}

// qos edits the QoS rules: meters come, change and go; two rules may
// trade keys (meter IDs) in one change.
func (mu *mutator) qos(m *topology.Model) string {
	if len(m.QoS) == 0 || mu.pick(3) == 0 {
		sw := m.Switches[mu.pick(len(m.Switches))]
		q := topology.QoS{Name: fmt.Sprintf("qos%d", mu.n), Key: uint32(1 + mu.pick(20)), Switch: sw.Name,
			Direction: []string{topology.FromLport, topology.ToLport}[mu.pick(2)], Priority: mu.n % 100,
			Match: []string{"tcp", "udp", "ip4"}[mu.pick(3)], Rate: uint32(100 * (1 + mu.pick(5)))}
		if mu.pick(2) == 0 {
			dscp := 10
			q.DSCP = &dscp
		}
		m.QoS = append(m.QoS, q)
		return fmt.Sprintf("add qos %+v", q)
	}
	i := mu.pick(len(m.QoS))
	q := &m.QoS[i]
	switch mu.pick(4) {
	case 0:
		q.Rate, q.Burst = uint32(100*(1+mu.pick(5))), uint32(mu.pick(3)*10)
		return fmt.Sprintf("qos %s rate %d burst %d", q.Name, q.Rate, q.Burst)
	case 1:
		o := &m.QoS[mu.pick(len(m.QoS))]
		q.Key, o.Key = o.Key, q.Key
		return fmt.Sprintf("qos %s and %s trade keys", q.Name, o.Name)
	case 2:
		q.Rate, q.Burst = 0, 0
		if q.DSCP == nil {
			dscp := 12
			q.DSCP = &dscp
		}
		return fmt.Sprintf("qos %s limits no rate", q.Name)
	default:
		name := q.Name
		m.QoS = append(m.QoS[:i], m.QoS[i+1:]...)
		return "delete qos " + name
	}
}

// services edits DHCP options (their values, the ports using them) and
// DNS records.
func (mu *mutator) services(m *topology.Model) string {
	if len(m.DHCPOptions) == 0 {
		m.DHCPOptions = []topology.DHCPOptions{{Name: "d1", CIDR: "10.0.0.0/8", Options: map[string]string{}}}
	}
	o := &m.DHCPOptions[0]
	switch mu.pick(4) {
	case 0:
		o.Options = map[string]string{"server_id": "10.0.0.254", "server_mac": "02:00:00:00:00:fe",
			"lease_time": fmt.Sprint(60 + mu.n)}
		return "dhcp options lease " + o.Options["lease_time"]
	case 1:
		p := &m.Ports[mu.pick(len(m.Ports))]
		if p.DHCPv4Options == "" {
			p.DHCPv4Options = o.Name
		} else {
			p.DHCPv4Options = ""
		}
		return fmt.Sprintf("port %s dhcpv4 options %q", p.Name, p.DHCPv4Options)
	case 2:
		sw := m.Switches[mu.pick(len(m.Switches))].Name
		m.DNSRecords = append(m.DNSRecords, topology.DNSRecord{Switch: sw, Hostname: fmt.Sprintf("h%d", mu.n),
			Addresses: []string{fmt.Sprintf("10.9.%d.%d", mu.n>>8&0xff, mu.n&0xff)}})
		return "dns record on " + sw
	default:
		if len(m.DNSRecords) == 0 {
			return "nothing"
		}
		i := mu.pick(len(m.DNSRecords))
		name := m.DNSRecords[i].Name
		m.DNSRecords = append(m.DNSRecords[:i], m.DNSRecords[i+1:]...)
		return "delete dns record " + name
	}
}

// loadBalancers edits load balancer lb1's VIPs and the switches that
// have it.
func (mu *mutator) loadBalancers(m *topology.Model) string {
	if len(m.LoadBalancers) == 0 {
		m.LoadBalancers = []topology.LoadBalancer{{Name: "lb1", Key: 1, Protocol: topology.LBTCP,
			VIPs: map[string]string{"10.200.0.1:80": "10.0.0.1:80"}}}
	}
	lb := &m.LoadBalancers[0]
	switch mu.pick(3) {
	case 0:
		vips := map[string]string{}
		for i := 0; i <= mu.pick(3); i++ {
			vips[fmt.Sprintf("10.200.0.%d:%d", 1+mu.pick(3), 80+mu.pick(2))] = fmt.Sprintf("10.0.0.%d:80,10.0.1.%d:80", 1+mu.pick(9), 1+mu.pick(9))
		}
		lb.VIPs = vips
		return fmt.Sprintf("lb1 VIPs %v", vips)
	default:
		sw := &m.Switches[mu.pick(len(m.Switches))]
		if len(sw.LoadBalancers) > 0 {
			sw.LoadBalancers = nil
		} else {
			sw.LoadBalancers = []string{"lb1"}
		}
		return fmt.Sprintf("switch %s load balancers %v", sw.Name, sw.LoadBalancers)
	}
}

// env changes what the chassis sees: a local port comes or goes, or
// another agent reports a binding.
func (mu *mutator) env(m *topology.Model) (pipeline.Update, string) {
	mu.n++
	if len(m.RouterPorts) > 0 && mu.pick(3) == 0 {
		return mu.neighbour(m)
	}
	if len(m.PortPairs) > 0 && mu.pick(4) == 0 {
		pp := m.PortPairs[mu.pick(len(m.PortPairs))].Name
		mu.down[pp] = !mu.down[pp]
		if !mu.down[pp] {
			delete(mu.down, pp)
		}
		return pipeline.Update{Down: map[string]bool{pp: mu.down[pp]}}, fmt.Sprintf("pair %s down: %v", pp, mu.down[pp])
	}
	p := m.Ports[mu.pick(len(m.Ports))].Name
	if len(mu.ofports) > 0 && mu.pick(2) == 0 {
		// Unbinding what is bound empties switches of local ports.
		var bound []string
		for name := range mu.ofports {
			bound = append(bound, name)
		}
		sort.Strings(bound)
		p = bound[mu.pick(len(bound))]
	}
	if mu.pick(4) == 0 {
		zones := maps.Clone(mu.zones)
		if zones[p] != 0 {
			delete(zones, p)
		} else {
			zones[p] = uint16(1 + mu.n)
		}
		mu.zones = zones
		return pipeline.Update{Zones: zones}, fmt.Sprintf("zone of %s: %d", p, zones[p])
	}
	if mu.pick(2) == 0 {
		ports := map[string]uint32{}
		for k, v := range mu.ofports {
			ports[k] = v
		}
		if ports[p] != 0 {
			delete(ports, p)
		} else {
			ports[p] = uint32(100 + mu.n)
		}
		mu.ofports = ports
		return pipeline.Update{OFPorts: ports}, fmt.Sprintf("local port %s: %d", p, ports[p])
	}
	ch := ""
	if mu.pick(3) > 0 {
		ch = m.Chassis[mu.pick(len(m.Chassis))].Name
	}
	if ch == "" {
		delete(mu.bindings, p)
	} else {
		mu.bindings[p] = ch
	}
	return pipeline.Update{Bindings: map[string]string{p: ch}}, fmt.Sprintf("binding %s: %q", p, ch)
}

// neighbour learns or forgets a next hop behind a router port: one of
// its networks' first addresses, or one outside them all.
func (mu *mutator) neighbour(m *topology.Model) (pipeline.Update, string) {
	lrp := m.RouterPorts[mu.pick(len(m.RouterPorts))]
	ip := "203.0.113.7"
	if len(lrp.Networks) > 0 && mu.pick(4) > 0 {
		if _, n, err := net.ParseCIDR(lrp.Networks[mu.pick(len(lrp.Networks))]); err == nil {
			a := slices.Clone(n.IP)
			a[len(a)-1] += byte(10 + mu.pick(3))
			ip = a.String()
		}
	}
	mac := ""
	if mu.neighbours[lrp.Name][ip] == "" || mu.pick(2) == 0 {
		mac = fmt.Sprintf("02:00:00:00:aa:%02x", mu.n%256)
	}
	ns := maps.Clone(mu.neighbours[lrp.Name])
	if ns == nil {
		ns = map[string]string{}
	}
	if mac == "" {
		delete(ns, ip)
	} else {
		ns[ip] = mac
	}
	mu.neighbours = maps.Clone(mu.neighbours)
	mu.neighbours[lrp.Name] = ns
	return pipeline.Update{Neighbours: map[string]map[string]string{lrp.Name: {ip: mac}}},
		fmt.Sprintf("neighbour %s behind %s: %q", ip, lrp.Name, mac)
}

// TestIncrementalEqualsFull applies random change sequences and checks,
// after each, that the incremental state equals a full render of the new
// model, and that the deltas it returned lead to it.
func TestIncrementalEqualsFull(t *testing.T) {
	steps, seeds := 150, 8
	if testing.Short() {
		steps, seeds = 60, 3
	}
	for seed := int64(1); seed <= int64(seeds); seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			if seed%2 == 0 {
				// Floods of a few members split into chunks.
				defer pipeline.SetChunks(3, 2)()
			}
			m := fixture.Build(fixture.Spec{Chassis: 3, Switches: 2, PortsPerSwitch: 10, Chains: 4, GroupsPerChain: 2, PairsPerGroup: 2,
				Match: "tcp"})
			mu := &mutator{rnd: rand.New(rand.NewSource(seed)), ofports: map[string]uint32{}, bindings: map[string]string{},
				zones: map[string]uint16{}, down: map[string]bool{}, neighbours: map[string]map[string]string{}}
			// A few local ports, so that switches gain and lose their last.
			for name, ofp := range fixture.LocalPorts(m, "hv1") {
				if ofp%4 == 0 {
					mu.ofports[name] = ofp
				}
			}
			ix, err := topology.NewIndex(m)
			if err != nil {
				t.Fatal(err)
			}
			env := pipeline.Env{Chassis: "hv1", OFPorts: mu.ofports, TunnelOFPort: 60000}
			r, tables, err := pipeline.NewRenderer(ix, env)
			if err != nil {
				t.Fatal(err)
			}
			state := newApplied(tables)
			applied, refused := 0, 0
			for step := 0; step < steps; step++ {
				var u pipeline.Update
				var what string
				if mu.pick(4) == 0 {
					u, what = mu.env(ix.Model())
				} else {
					next, err := topology.Copy(ix.Model())
					if err != nil {
						t.Fatal(err)
					}
					what = mu.model(next)
					next.Generation++
					next.Normalize()
					ch := topology.Diff(ix.Model(), next)
					if err := ix.Apply(ch); err != nil {
						refused++
						continue
					}
					u.Model = ch
				}
				applied++
				d, err := r.Update(u)
				if err != nil {
					t.Fatalf("step %d (%s): %v", step, what, err)
				}
				state.apply(d)
				full, err := pipeline.Render(pipeline.Input{Model: ix.Model(), Chassis: "hv1", OFPorts: mu.ofports,
					Bindings: mu.bindings, TunnelOFPort: 60000, Zones: mu.zones, Down: mu.down, Neighbours: mu.neighbours})
				if err != nil {
					t.Fatalf("step %d (%s): full render: %v", step, what, err)
				}
				want, got := canon(full), canon(r.Tables())
				if diff := diffLines(want, got); diff != "" {
					t.Fatalf("step %d (%s): incremental state differs from a full render:\n%s", step, what, diff)
				}
				if diff := diffLines(want, canon(state.tables())); diff != "" {
					t.Fatalf("step %d (%s): the deltas lead elsewhere than the state:\n%s", step, what, diff)
				}
			}
			t.Logf("%d changes applied, %d refused as invalid", applied, refused)
			if applied < steps/3 {
				t.Fatalf("only %d of %d random changes were valid (%d refused): the test exercises too little", applied, steps, refused)
			}
		})
	}
}
