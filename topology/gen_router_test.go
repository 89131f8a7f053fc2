package topology_test

import (
	"fmt"
	"slices"
	"strings"

	"github.com/chainwire/chainwire/topology"
)

// The generator's routers, router ports and router-type switch ports,
// made only by a gen with policy set (as the policy objects are).

var (
	routerPool = names("lr", 3)
	lrpPool    = names("lrp", 5)
	// lrpMACs: some are VMs' (macPool's), so that they collide.
	lrpMACs = []string{"02:00:00:00:ff:01", "02:00:00:00:ff:02", "02:00:00:00:00:01", "02:00:00:00:00:02"}
	// networkPool: some overlap, some hold VMs' IPs (ipPool's, and
	// carefulModel's 10.1.0.N), badNetworks break a rule each.
	networkPool = []string{"10.0.0.1/24", "10.0.0.254/24", "10.0.5.1/24", "10.0.5.129/25", "10.0.6.1/24", "fd00::1/64",
		"fd00:6::1/64", "10.1.0.1/16", "10.9.0.1/24"}
	badNetworks = []string{"10.0.5.0/24", "10.0.5.255/24", "x", "10.0.7.1", "224.0.0.1/24"}
	// routePool: prefixes with next hops, some on no network, some not
	// canonical, one of the wrong family.
	routePool = [][2]string{{"10.0.3.0/24", "10.0.5.9"}, {"10.0.4.0/24", "10.0.6.9"}, {"0.0.0.0/0", "10.0.0.9"},
		{"fd00:9::/64", "fd00::9"}, {"10.0.3.0/24", "10.0.6.9"}, {"10.0.8.0/24", "10.0.8.1"}}
	badRoutes = [][2]string{{"10.0.3.1/24", "10.0.5.9"}, {"10.0.3.0/24", "fd00::9"}, {"x", "10.0.5.9"}, {"10.0.3.0/24", "x"}}
)

func routerNames(m *topology.Model) []string {
	return nameList(m.Routers, func(r topology.Router) string { return r.Name })
}
func lrpNames(m *topology.Model) []string {
	return nameList(m.RouterPorts, func(rp topology.RouterPort) string { return rp.Name })
}

func (g *gen) router(m *topology.Model, name string) topology.Router {
	r := topology.Router{Name: name, Key: uint32(1 + g.r.IntN(5))}
	if k, err := m.FreeRouterKey(); err == nil && g.chance(0.7) {
		r.Key = k
	}
	if g.chance(0.02) {
		r.Key = pick(g, []uint32{0, topology.MaxSwitchKey + 1})
	}
	for range g.r.IntN(3) {
		g.addRoute(m, &r)
	}
	return r
}

// addRoute gives a router a route of the pool, through one of its ports
// now and then, rarely a bad one.
func (g *gen) addRoute(m *topology.Model, r *topology.Router) {
	rt := pick(g, routePool)
	if g.chance(0.05) {
		rt = pick(g, badRoutes)
	}
	route := topology.StaticRoute{Prefix: rt[0], NextHop: rt[1]}
	if g.chance(0.3) {
		route.Port = g.ref(lrpNames(m), lrpPool)
	}
	r.Routes = append(slices.Clone(r.Routes), route)
}

func (g *gen) routerPort(m *topology.Model, name string) topology.RouterPort {
	rp := topology.RouterPort{Name: name, Router: g.ref(routerNames(m), routerPool), Key: uint32(1 + g.r.IntN(3)),
		MAC: pick(g, lrpMACs)}
	if k, err := m.FreeRouterPortKey(rp.Router); err == nil && g.chance(0.7) {
		rp.Key = k
	}
	for range 1 + g.r.IntN(2) {
		rp.Networks = append(rp.Networks, pick(g, networkPool))
	}
	switch {
	case g.chance(0.03):
		rp.Networks = append(rp.Networks, pick(g, badNetworks))
	case g.chance(0.02):
		rp.Networks = nil
	case g.chance(0.02):
		rp.MAC = pick(g, []string{"ff:ff:ff:ff:ff:ff", "x", "01:00:5e:00:00:01"})
	case g.chance(0.02):
		rp.Key = pick(g, []uint32{0, topology.MaxPortKey + 1})
	}
	return rp
}

// joinRouter makes a port a router-type one joining a router port, now
// and then with what such a port may not have.
func (g *gen) joinRouter(m *topology.Model, p *topology.Port) {
	p.Type = topology.PortTypeRouter
	p.Options = map[string]string{"router-port": g.ref(lrpNames(m), lrpPool)}
	p.Addresses, p.PortSecurity = nil, nil
	if g.chance(0.5) {
		p.Addresses = []string{"router"}
	}
	switch {
	case g.chance(0.03):
		p.Addresses = []string{g.address()}
	case g.chance(0.02):
		p.PortSecurity = []string{pick(g, macPool)}
	case g.chance(0.02):
		p.Options["requested-chassis"] = g.ref(chassisNames(m), chassisPool)
	case g.chance(0.02):
		delete(p.Options, "router-port")
	case g.chance(0.02):
		p.Type = "patch"
	case g.chance(0.02):
		p.DHCPv4Options = g.ref(dhcpNames(m), dhcpPool)
	}
}

// carelessRouters adds routers and router ports built carelessly, and
// turns some ports into router-type ones.
func (g *gen) carelessRouters(m *topology.Model) {
	for _, n := range routerPool[:g.r.IntN(len(routerPool)+1)] {
		m.Routers = append(m.Routers, g.router(m, n))
	}
	for _, n := range lrpPool[:g.r.IntN(len(lrpPool)+1)] {
		m.RouterPorts = append(m.RouterPorts, g.routerPort(m, n))
	}
	for i := range m.Ports {
		if g.chance(0.15) {
			g.joinRouter(m, &m.Ports[i])
		}
	}
	for i := range m.Routers { // routes through the ports made since
		if g.chance(0.3) {
			g.addRoute(m, &m.Routers[i])
		}
	}
}

// carefulRouters adds a router joining some of the switches through new
// ports, with networks no port has and routes via its ports' networks.
func (g *gen) carefulRouters(m *topology.Model) {
	if g.chance(0.4) {
		return
	}
	key, _ := m.FreeRouterKey()
	r := topology.Router{Name: routerPool[0], Key: key}
	for i, sw := range switchNames(m) {
		if i > 0 && g.chance(0.3) {
			continue
		}
		lrp := topology.RouterPort{Name: lrpPool[i], Router: r.Name, Key: uint32(i + 1),
			MAC: fmt.Sprintf("02:00:00:00:fe:%02x", i+1), Networks: []string{fmt.Sprintf("10.2.%d.1/24", i)}}
		if g.chance(0.5) {
			lrp.Networks = append(lrp.Networks, fmt.Sprintf("fd02:%d::1/64", i))
		}
		m.RouterPorts = append(m.RouterPorts, lrp)
		p := topology.Port{Name: "rp-" + sw, Switch: sw, Type: topology.PortTypeRouter,
			Options: map[string]string{"router-port": lrp.Name}}
		p.Key, _ = m.FreePortKey(sw)
		if g.chance(0.5) {
			p.Addresses = []string{"router"}
		}
		m.Ports = append(m.Ports, p)
		if g.chance(0.5) {
			route := topology.StaticRoute{Prefix: fmt.Sprintf("10.3.%d.0/24", i), NextHop: fmt.Sprintf("10.2.%d.9", i)}
			if g.chance(0.5) {
				route.Port = lrp.Name
			}
			r.Routes = append(r.Routes, route)
		}
	}
	m.Routers = append(m.Routers, r)
}

// routerChange is a random change of routers, their ports and the
// router-type ports: puts, edits and removals, often of what something
// references.
func (g *gen) routerChange(m *topology.Model, c *topology.Changes) {
	switch n := g.r.IntN(14); {
	case n < 2:
		o := g.router(m, g.name(routerPool))
		set(&c.Routers, o.Name, &o)
	case n < 4:
		o := g.routerPort(m, g.name(lrpPool))
		set(&c.RouterPorts, o.Name, &o)
	case n < 6:
		if len(m.Ports) > 0 {
			o := pick(g, m.Ports)
			if o.Type == topology.PortTypeRouter && g.chance(0.5) {
				o.Type, o.Options = "", nil // a router-type port becomes a VM's
				if g.chance(0.5) {
					o.Addresses = []string{g.address()}
				}
			} else {
				g.joinRouter(m, &o)
			}
			set(&c.Ports, o.Name, &o)
		}
	case n < 8:
		if len(m.RouterPorts) > 0 {
			o := pick(g, m.RouterPorts)
			switch g.r.IntN(5) {
			case 0:
				o.MAC = pick(g, lrpMACs)
			case 1:
				o.Networks = g.editList(o.Networks, networkPool)
			case 2:
				o.Key = pick(g, m.RouterPorts).Key
			case 3:
				o.Router = g.ref(routerNames(m), routerPool)
			default:
				o.Networks = []string{pick(g, networkPool)}
			}
			set(&c.RouterPorts, o.Name, &o)
		}
	case n < 10:
		if len(m.Routers) > 0 {
			o := pick(g, m.Routers)
			switch {
			case g.chance(0.3):
				o.Key = uint32(1 + g.r.IntN(5)) // maybe a switch's or another router's
			case len(o.Routes) > 0 && g.chance(0.4):
				i := g.r.IntN(len(o.Routes))
				o.Routes = slices.Delete(slices.Clone(o.Routes), i, i+1)
			default:
				g.addRoute(m, &o)
			}
			set(&c.Routers, o.Name, &o)
		}
	case n < 11:
		if len(m.Switches) > 0 {
			o := pick(g, m.Switches)
			o.Key = uint32(1 + g.r.IntN(5)) // maybe a router's
			set(&c.Switches, o.Name, &o)
		}
	case n < 13:
		set(&c.RouterPorts, g.ref(lrpNames(m), lrpPool), nil)
	default:
		set(&c.Routers, g.ref(routerNames(m), routerPool), nil)
	}
}

// routerDump is what the index answers about a name for the router
// kinds, and routerDumpModel the same found in a model.
func routerDump(ix *topology.Index, n string) []string {
	peer := "-"
	if p := ix.PeerOf(n); p != nil {
		peer = p.Name
	}
	return []string{objJSON(ix.Router(n)), objJSON(ix.RouterPort(n)),
		joined(ix.RouterPortsOf(n), func(rp *topology.RouterPort) string { return rp.Name }), peer,
		strings.Join(ix.RoutersOf(n), ",")}
}

func routerDumpModel(m *topology.Model, n string) []string {
	var lrps []string
	for _, rp := range m.RouterPortsOf(n) {
		lrps = append(lrps, rp.Name)
	}
	peer := "-"
	var routers []string
	for _, p := range m.Ports {
		if p.RouterPort() == n {
			peer = p.Name
		}
		if rp := m.RouterPort(p.RouterPort()); rp != nil && p.Switch == n {
			routers = append(routers, rp.Router)
		}
	}
	slices.Sort(routers)
	return []string{objJSON(m.Router(n)), objJSON(m.RouterPort(n)), strings.Join(lrps, ","), peer,
		strings.Join(slices.Compact(routers), ",")}
}
