package main

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/chainwire/chainwire/topology"
)

// The logical routers' verbs, with ovn-nbctl's names, arguments, list
// formats, --may-exist and --if-exists (DESIGN.md §4, docs/model.md).
func init() {
	for name, v := range map[string]verb{
		"lr-add": {usage: "ROUTER [--tunnel-key N] [--may-exist]", help: "create a logical router (its key shares the switches' key space)",
			min: 1, max: 1, flags: []string{"tunnel-key", "may-exist"}, write: lrAdd},
		"lr-del": {usage: "ROUTER [--if-exists]", help: "delete a logical router (it must have no ports)", min: 1, max: 1,
			flags: []string{"if-exists"}, write: lrDel},
		"lr-list": {usage: "", help: "list logical routers", min: 0, max: 0, read: lrList},
		"lrp-add": {usage: "ROUTER PORT MAC NETWORK... [--tunnel-key N] [--may-exist]",
			help: "add a port to a router: its MAC and networks (IP/PLEN: the port's address with its network's length)",
			min:  4, max: -1, flags: []string{"tunnel-key", "may-exist"}, write: lrpAdd},
		"lrp-del": {usage: "PORT [--if-exists]", help: "delete a router port (no switch port may join it)", min: 1, max: 1,
			flags: []string{"if-exists"}, write: lrpDel},
		"lrp-list": {usage: "ROUTER", help: "list a router's ports", min: 1, max: 1, read: lrpList},
		"lr-route-add": {usage: "ROUTER PREFIX NEXTHOP [PORT] [--may-exist]",
			help: "add a static route (policy dst-ip); PORT: the router port it leaves by, else the one whose network holds NEXTHOP; --may-exist replaces the prefix's route",
			min:  3, max: 4, flags: []string{"may-exist"}, write: lrRouteAdd},
		"lr-route-del": {usage: "ROUTER [PREFIX] [--if-exists]", help: "delete a router's static route for a prefix, or all of them",
			min: 1, max: 2, flags: []string{"if-exists"}, write: lrRouteDel},
		"lr-route-list": {usage: "ROUTER", help: "list a router's static routes, as ovn-nbctl: IPv4 then IPv6, longest prefix first",
			min: 1, max: 1, read: lrRouteList},
		"lsp-set-type": {usage: "PORT TYPE", help: `set a port's type: router (it joins the router port its option router-port names) or "" (a VM's port)`,
			min: 2, max: 2, write: lspSetType},
		"lsp-get-type": {usage: "PORT", help: "print a port's type (an empty line for a VM's port)", min: 1, max: 1, read: lspGetType},
	} {
		verbs[name] = v
	}
}

func router(m *topology.Model, name string) (*topology.Router, error) {
	r := m.Router(name)
	if r == nil {
		return nil, notFound("router", name)
	}
	return r, nil
}

func lrAdd(c *call, m *topology.Model) error {
	name := c.args[0]
	if err := topology.CheckName("router", name); err != nil {
		return err
	}
	if m.Router(name) != nil {
		if c.flag("may-exist") {
			return nil
		}
		return exists("router", name)
	}
	key, given, err := c.keyFlag(topology.MaxSwitchKey)
	if err != nil {
		return err
	}
	if !given {
		if key, err = m.FreeRouterKey(); err != nil {
			return err
		}
	}
	m.Routers = append(m.Routers, topology.Router{Name: name, Key: key})
	return nil
}

// lrDel deletes a router; the model's rules refuse it while it has
// ports, naming one.
func lrDel(c *call, m *topology.Model) error {
	name := c.args[0]
	if m.Router(name) == nil {
		if c.flag("if-exists") {
			return nil
		}
		return notFound("router", name)
	}
	m.Routers = remove(m.Routers, func(r topology.Router) bool { return r.Name == name })
	return nil
}

func lrList(c *call, m *topology.Model, _ topology.Store) error {
	if c.output == "json" {
		return c.printJSON(nonNil(m.Routers))
	}
	for _, r := range m.Routers {
		fmt.Fprintf(c.out, "%s (key %d)\n", r.Name, r.Key)
	}
	return nil
}

// canonicalMAC and canonicalNetwork write a MAC and a network in one
// spelling (lower case; fd00:0::1/64 is fd00::1/64); what does not parse
// is kept as given, for the model's rules to refuse.
func canonicalMAC(s string) string {
	if mac, err := net.ParseMAC(s); err == nil && len(mac) == 6 {
		return mac.String()
	}
	return s
}

func canonicalNetwork(s string) string {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.String()
	}
	return s
}

func canonicalIP(s string) string {
	if ip, err := netip.ParseAddr(s); err == nil {
		return ip.String()
	}
	return s
}

func lrpAdd(c *call, m *topology.Model) error {
	rname, name := c.args[0], c.args[1]
	if _, err := router(m, rname); err != nil {
		return err
	}
	if err := topology.CheckName("router port", name); err != nil {
		return err
	}
	mac := canonicalMAC(c.args[2])
	networks := make([]string, 0, len(c.args)-3)
	for _, n := range c.args[3:] {
		networks = append(networks, canonicalNetwork(n))
	}
	slices.Sort(networks)
	if rp := m.RouterPort(name); rp != nil {
		switch {
		case !c.flag("may-exist"):
			return &topology.Error{What: fmt.Sprintf("router port %s", topology.Quote(name)), Why: fmt.Sprintf("already exists on router %s", topology.Quote(rp.Router))}
		case rp.Router != rname:
			return inUse("router port", name, fmt.Sprintf("is a port of router %s, not %s", topology.Quote(rp.Router), topology.Quote(rname)))
		case rp.MAC != mac || !slices.Equal(rp.Networks, networks):
			return inUse("router port", name, fmt.Sprintf("exists with MAC %s and networks %s", rp.MAC, strings.Join(rp.Networks, " ")))
		}
		return nil
	}
	key, given, err := c.keyFlag(topology.MaxPortKey)
	if err != nil {
		return err
	}
	if !given {
		if key, err = m.FreeRouterPortKey(rname); err != nil {
			return err
		}
	}
	m.RouterPorts = append(m.RouterPorts, topology.RouterPort{Name: name, Router: rname, Key: key, MAC: mac, Networks: networks})
	return nil
}

// lrpDel deletes a router port; the model's rules refuse it while a
// switch port joins it or a route leaves by it.
func lrpDel(c *call, m *topology.Model) error {
	name := c.args[0]
	if m.RouterPort(name) == nil {
		if c.flag("if-exists") {
			return nil
		}
		return notFound("router port", name)
	}
	m.RouterPorts = remove(m.RouterPorts, func(rp topology.RouterPort) bool { return rp.Name == name })
	return nil
}

func lrpList(c *call, m *topology.Model, _ topology.Store) error {
	if _, err := router(m, c.args[0]); err != nil {
		return err
	}
	ports := m.RouterPortsOf(c.args[0])
	if c.output == "json" {
		return c.printJSON(nonNil(ports))
	}
	for _, rp := range ports {
		fmt.Fprintf(c.out, "%s (key %d)\n", rp.Name, rp.Key)
	}
	return nil
}

func lrRouteAdd(c *call, m *topology.Model) error {
	r, err := router(m, c.args[0])
	if err != nil {
		return err
	}
	route := topology.StaticRoute{Prefix: topology.CanonicalPrefix(c.args[1]), NextHop: canonicalIP(c.args[2])}
	if len(c.args) == 4 {
		route.Port = c.args[3]
		rp := m.RouterPort(route.Port)
		switch {
		case rp == nil:
			return notFound("router port", route.Port)
		case rp.Router != r.Name:
			return inUse("router port", route.Port, fmt.Sprintf("is a port of router %s, not %s", topology.Quote(rp.Router), topology.Quote(r.Name)))
		}
	}
	for i, rt := range r.Routes {
		if rt.Prefix != route.Prefix {
			continue
		}
		if !c.flag("may-exist") {
			return inUse("router", r.Name, fmt.Sprintf("already has a route for prefix %s (--may-exist replaces it)", route.Prefix))
		}
		r.Routes = slices.Clone(r.Routes)
		r.Routes[i] = route
		return nil
	}
	r.Routes = append(slices.Clone(r.Routes), route)
	return nil
}

func lrRouteDel(c *call, m *topology.Model) error {
	r := m.Router(c.args[0])
	if r == nil {
		if c.flag("if-exists") {
			return nil
		}
		return notFound("router", c.args[0])
	}
	if len(c.args) == 1 {
		r.Routes = nil
		return nil
	}
	prefix := topology.CanonicalPrefix(c.args[1])
	i := slices.IndexFunc(r.Routes, func(rt topology.StaticRoute) bool { return rt.Prefix == prefix })
	switch {
	case i < 0 && c.flag("if-exists"):
		return nil
	case i < 0:
		return inUse("router", r.Name, fmt.Sprintf("has no route for prefix %s", topology.Quote(prefix)))
	}
	r.Routes = slices.Delete(slices.Clone(r.Routes), i, i+1)
	return nil
}

// routeOrder is ovn-nbctl's: IPv4 routes, then IPv6 ones, each longest
// prefix first, then by address.
func routeOrder(a, b topology.StaticRoute) int {
	pa, errA := netip.ParsePrefix(a.Prefix)
	pb, errB := netip.ParsePrefix(b.Prefix)
	if errA != nil || errB != nil {
		return strings.Compare(a.Prefix, b.Prefix)
	}
	family := func(p netip.Prefix) int { return map[bool]int{true: 4, false: 6}[p.Addr().Is4()] }
	return cmp.Or(cmp.Compare(family(pa), family(pb)), cmp.Compare(pb.Bits(), pa.Bits()), pa.Addr().Compare(pb.Addr()))
}

// lrRouteList prints the routes as ovn-nbctl lr-route-list does: an
// "IPv4 Routes" block, then "IPv6 Routes", each route a line of prefix
// and nexthop (right-aligned in 25 columns), policy and output port.
func lrRouteList(c *call, m *topology.Model, _ topology.Store) error {
	r, err := router(m, c.args[0])
	if err != nil {
		return err
	}
	routes := slices.Clone(r.Routes)
	slices.SortStableFunc(routes, routeOrder)
	if c.output == "json" {
		return c.printJSON(nonNil(routes))
	}
	var v4, v6 []topology.StaticRoute
	for _, rt := range routes {
		if rt.IsIPv6() {
			v6 = append(v6, rt)
		} else {
			v4 = append(v4, rt)
		}
	}
	for i, block := range [2]struct {
		title  string
		routes []topology.StaticRoute
	}{{"IPv4 Routes", v4}, {"IPv6 Routes", v6}} {
		if len(block.routes) == 0 {
			continue
		}
		if i == 1 && len(v4) > 0 {
			fmt.Fprintln(c.out)
		}
		fmt.Fprintln(c.out, block.title)
		for _, rt := range block.routes {
			line := fmt.Sprintf("%25s %25s dst-ip", rt.Prefix, rt.NextHop)
			if rt.Port != "" {
				line += " " + rt.Port
			}
			fmt.Fprintln(c.out, line)
		}
	}
	return nil
}

func lspSetType(c *call, m *topology.Model) error {
	p, err := c.port(m)
	if err != nil {
		return err
	}
	p.Type = c.args[1]
	return nil
}

func lspGetType(c *call, m *topology.Model, _ topology.Store) error {
	p, err := c.port(m)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(c.out, p.Type)
	return err
}

// printRouters prints the routers for show, as ovn-nbctl does, with
// their keys and static routes.
func printRouters(c *call, m *topology.Model) {
	for _, r := range m.Routers {
		fmt.Fprintf(c.out, "router %s (key %d)\n", r.Name, r.Key)
		for _, rp := range m.RouterPortsOf(r.Name) {
			fmt.Fprintf(c.out, "    port %s (key %d)\n", rp.Name, rp.Key)
			fmt.Fprintf(c.out, "        mac: %q\n", rp.MAC)
			fmt.Fprintf(c.out, "        networks: %s\n", quoteList(rp.Networks))
		}
		routes := slices.Clone(r.Routes)
		slices.SortStableFunc(routes, routeOrder)
		for _, rt := range routes {
			fmt.Fprintf(c.out, "    route %s via %s", rt.Prefix, rt.NextHop)
			if rt.Port != "" {
				fmt.Fprintf(c.out, " port %s", rt.Port)
			}
			fmt.Fprintln(c.out)
		}
	}
}

// routerSwitches adds the switches a router change touches. Routing is
// distributed: the source's chassis routes, so every switch joined to a
// router holds flows of the router and of the other switches joined to
// it. The changed routers (their routes, ports, the switch ports joining
// them) and the routers of changed switches spread to all the switches
// joined to them, until nothing more changes (a switch joined to two
// routers carries the change on).
func routerSwitches(changed map[string]bool, before, after *topology.Model) {
	models := [2]*topology.Model{before, after}
	if len(before.Routers)+len(after.Routers) == 0 {
		return
	}
	routers := changedNames(before.Routers, after.Routers, func(r topology.Router) string { return r.Name })
	lrps := changedNames(before.RouterPorts, after.RouterPorts, func(rp topology.RouterPort) string { return rp.Name })
	joined := map[string]map[string]bool{} // router -> the switches joined to it, in either model
	for _, m := range models {
		for _, rp := range m.RouterPorts {
			if lrps[rp.Name] {
				routers[rp.Router] = true
			}
		}
		for _, p := range m.Ports {
			if rp := m.RouterPort(p.RouterPort()); rp != nil {
				if joined[rp.Router] == nil {
					joined[rp.Router] = map[string]bool{}
				}
				joined[rp.Router][p.Switch] = true
			}
		}
	}
	for more := true; more; {
		more = false
		for r, switches := range joined {
			if !routers[r] {
				for sw := range switches {
					if changed[sw] {
						routers[r], more = true, true
						break
					}
				}
			}
			if routers[r] {
				for sw := range switches {
					if !changed[sw] {
						changed[sw], more = true, true
					}
				}
			}
		}
	}
}
