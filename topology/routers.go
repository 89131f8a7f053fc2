package topology

import (
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
)

// Router is a logical router (OVN's Logical_Router): distributed, every
// hypervisor routes its own VMs' traffic (DESIGN.md §11).
type Router struct {
	Name   string        `json:"name"`
	Key    uint32        `json:"tunnel_key"`              // datapath key: shares the switches' key space (1..MaxSwitchKey), unique across switches and routers
	Routes []StaticRoute `json:"static_routes,omitempty"` // Normalize sorts them by prefix
}

// StaticRoute is one static route of a router (OVN's
// Logical_Router_Static_Route, policy dst-ip).
type StaticRoute struct {
	Prefix  string `json:"ip_prefix"`             // CIDR in canonical form ("10.0.3.0/24")
	NextHop string `json:"nexthop"`               // an IP of the same family
	Port    string `json:"output_port,omitempty"` // a router port of this router; "" = the one whose network holds NextHop
}

// RouterPort is a port of a logical router (OVN's Logical_Router_Port).
// A switch joins the router through one of its ports of type router
// whose option router-port names the router port.
type RouterPort struct {
	Name     string   `json:"name"`
	Router   string   `json:"router"`
	Key      uint32   `json:"tunnel_key"` // 1..MaxPortKey, unique per router
	MAC      string   `json:"mac"`
	Networks []string `json:"networks"` // "10.0.1.1/24", "fd00:1::1/64": the port's address with its network's length; Normalize sorts
}

// RouterAddress is one network of a router port: its address and the network.
type RouterAddress struct {
	IP  net.IP
	Net *net.IPNet
}

// PortTypeRouter is the type of a switch port that joins a router: its
// option router-port names the router port.
const PortTypeRouter = "router"

// OptRouterPort is the option of a router-type port that names its
// router port.
const OptRouterPort = "router-port"

// RouterPort is the router port a port of type router joins its switch
// to, "" for any other port.
func (p *Port) RouterPort() string {
	if p.Type != PortTypeRouter {
		return ""
	}
	return p.Options[OptRouterPort]
}

func (r Router) objName() string      { return r.Name }
func (rp RouterPort) objName() string { return rp.Name }

// Router and RouterPort return the named object, or nil.
func (m *Model) Router(name string) *Router         { return find(m.Routers, name) }
func (m *Model) RouterPort(name string) *RouterPort { return find(m.RouterPorts, name) }

// RouterPortsOf returns the ports of a router, sorted by name.
func (m *Model) RouterPortsOf(router string) []*RouterPort {
	var out []*RouterPort
	for i := range m.RouterPorts {
		if m.RouterPorts[i].Router == router {
			out = append(out, &m.RouterPorts[i])
		}
	}
	return out
}

// FreeRouterKey returns the smallest datapath key that no switch and no
// router uses: routers share the switches' key space.
func (m *Model) FreeRouterKey() (uint32, error) { return m.freeDatapathKey() }

// FreeRouterPortKey returns the smallest unused port key of a router.
func (m *Model) FreeRouterPortKey(router string) (uint32, error) {
	used := map[uint32]bool{}
	for _, rp := range m.RouterPortsOf(router) {
		used[rp.Key] = true
	}
	for k := uint32(1); k <= MaxPortKey; k++ {
		if !used[k] {
			return k, nil
		}
	}
	return 0, fmt.Errorf("every port tunnel key of router %s is in use", Quote(router))
}

// freeDatapathKey is the smallest key no switch or router has.
func (m *Model) freeDatapathKey() (uint32, error) {
	used := make(map[uint32]bool, len(m.Switches)+len(m.Routers))
	for _, s := range m.Switches {
		used[s.Key] = true
	}
	for _, r := range m.Routers {
		used[r.Key] = true
	}
	for k := uint32(1); k <= MaxSwitchKey; k++ {
		if !used[k] {
			return k, nil
		}
	}
	return 0, fmt.Errorf("every datapath tunnel key (switches and routers) is in use")
}

// ParsedNetworks parses the port's networks, in their order: each an
// address with its network's prefix length ("10.0.1.1/24").
func (rp *RouterPort) ParsedNetworks() ([]RouterAddress, error) {
	out := make([]RouterAddress, 0, len(rp.Networks))
	for _, s := range rp.Networks {
		a, err := parseRouterNetwork(s)
		if err != nil {
			return nil, fail(KindRouterPort, rp.Name, "network %s: %v", Quote(s), err)
		}
		out = append(out, a)
	}
	return out, nil
}

// parseRouterNetwork parses "IP/PLEN": an address of the network that is
// not the network's own address (nor, in IPv4 below /31, its broadcast).
func parseRouterNetwork(s string) (RouterAddress, error) {
	ip, n, err := net.ParseCIDR(s)
	if err != nil {
		return RouterAddress{}, fmt.Errorf("not an IP address with a prefix length (give e.g. 10.0.1.1/24)")
	}
	if ip4 := ip.To4(); ip4 != nil {
		ip = ip4
		n.IP = n.IP.To4()
	}
	ones, bits := n.Mask.Size()
	if bits-ones >= 2 || bits == 128 && ones < 127 {
		if ip.Equal(n.IP) {
			return RouterAddress{}, fmt.Errorf("%s is the network's own address, not a host address", ip)
		}
		if bits == 32 && ip.Equal(broadcast(n)) {
			return RouterAddress{}, fmt.Errorf("%s is the network's broadcast address, not a host address", ip)
		}
	}
	if ip.IsMulticast() || ip.IsUnspecified() || ip.Equal(net.IPv4bcast) {
		return RouterAddress{}, fmt.Errorf("%s is not a unicast address", ip)
	}
	return RouterAddress{IP: ip, Net: n}, nil
}

// broadcast is an IPv4 network's last address.
func broadcast(n *net.IPNet) net.IP {
	b := make(net.IP, len(n.IP))
	for i := range b {
		b[i] = n.IP[i] | ^n.Mask[i]
	}
	return b
}

// HardwareAddr parses the port's MAC, a unicast one.
func (rp *RouterPort) HardwareAddr() (net.HardwareAddr, error) {
	mac, err := ParseUnicastMAC(rp.MAC)
	if err != nil {
		return nil, fail(KindRouterPort, rp.Name, "MAC %s: %v", Quote(rp.MAC), err)
	}
	return mac, nil
}

// Parsed parses the route's prefix and next hop.
func (r StaticRoute) Parsed() (prefix *net.IPNet, nexthop net.IP, err error) {
	_, prefix, err = net.ParseCIDR(r.Prefix)
	if err != nil {
		if ip := net.ParseIP(r.Prefix); ip != nil { // a host route, as ovn-nbctl takes it
			bits := 128
			if ip4 := ip.To4(); ip4 != nil {
				ip, bits = ip4, 32
			}
			prefix = &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}
		} else {
			return nil, nil, fmt.Errorf("prefix %s is not an IP prefix (give e.g. 10.0.3.0/24)", Quote(r.Prefix))
		}
	}
	if ip4 := prefix.IP.To4(); ip4 != nil {
		prefix.IP = ip4
	}
	nexthop = net.ParseIP(r.NextHop)
	if nexthop == nil {
		return nil, nil, fmt.Errorf("nexthop %s is not an IP address", Quote(r.NextHop))
	}
	if ip4 := nexthop.To4(); ip4 != nil {
		nexthop = ip4
	}
	if (len(prefix.IP) == net.IPv4len) != (len(nexthop) == net.IPv4len) {
		return nil, nil, fmt.Errorf("nexthop %s is %s, the prefix %s %s (a route's nexthop is of its prefix's family)",
			r.NextHop, ipFamily(len(nexthop) != net.IPv4len), prefix, ipFamily(len(prefix.IP) != net.IPv4len))
	}
	return prefix, nexthop, nil
}

// CanonicalPrefix is a route prefix as the model stores it ("10.0.3.0/24"
// for "10.0.3.7/24"; "10.0.0.1/32" for "10.0.0.1"), or s if it does not
// parse.
func CanonicalPrefix(s string) string {
	p, _, err := StaticRoute{Prefix: s, NextHop: "0.0.0.0"}.Parsed()
	if err != nil {
		if p, _, err = (StaticRoute{Prefix: s, NextHop: "::"}).Parsed(); err != nil {
			return s
		}
	}
	return p.String()
}

// IsIPv6 reports whether the route's prefix is an IPv6 one.
func (r StaticRoute) IsIPv6() bool { return strings.Contains(r.Prefix, ":") }

// normalizeRouters sorts the routers, their routes, the router ports and
// their networks.
func (m *Model) normalizeRouters() {
	sortByName(m.Routers)
	for i := range m.Routers {
		sortRoutes(m.Routers[i].Routes)
	}
	sortByName(m.RouterPorts)
	for i := range m.RouterPorts {
		sort.Strings(m.RouterPorts[i].Networks)
	}
}

func sortRoutes(routes []StaticRoute) {
	slices.SortFunc(routes, func(a, b StaticRoute) int {
		if c := strings.Compare(a.Prefix, b.Prefix); c != 0 {
			return c
		}
		if c := strings.Compare(a.NextHop, b.NextHop); c != 0 {
			return c
		}
		return strings.Compare(a.Port, b.Port)
	})
}

var routerKind = &kind[Router]{id: KindRouter, name: "router",
	model:   func(m *Model) *[]Router { return &m.Routers },
	changes: func(c *Changes) *map[string]*Router { return &c.Routers },
	objects: func(ix *Index) *map[string]*Router { return &ix.routers },
	equal: func(a, b *Router) bool {
		return a.Name == b.Name && a.Key == b.Key && slices.Equal(a.Routes, b.Routes)
	},
	clone: func(r Router) Router { r.Routes = slices.Clone(r.Routes); return r },
	refs: func(r *Router, ref func(Kind, string)) {
		for _, rt := range r.Routes {
			if rt.Port != "" {
				ref(KindRouterPort, rt.Port)
			}
		}
	},
	claims: func(r *Router, claim func(claim)) { claim(routerKeyClaim(r.Key)) },
}

var routerPortKind = &kind[RouterPort]{id: KindRouterPort, name: "router port",
	model:   func(m *Model) *[]RouterPort { return &m.RouterPorts },
	changes: func(c *Changes) *map[string]*RouterPort { return &c.RouterPorts },
	objects: func(ix *Index) *map[string]*RouterPort { return &ix.routerPorts },
	equal: func(a, b *RouterPort) bool {
		return a.Name == b.Name && a.Router == b.Router && a.Key == b.Key && a.MAC == b.MAC &&
			slices.Equal(a.Networks, b.Networks)
	},
	clone:  func(rp RouterPort) RouterPort { rp.Networks = slices.Clone(rp.Networks); return rp },
	refs:   func(rp *RouterPort, ref func(Kind, string)) { ref(KindRouter, rp.Router) },
	claims: lrpClaims,
}

// lrpClaims claims a router port's key, its place among its router's
// ports and, up to the first that does not parse (the rule refuses it),
// its MAC and addresses.
func lrpClaims(rp *RouterPort, claim func(claim)) {
	claim(routerPortKeyClaim(rp.Router, rp.Key))
	claim(routerPortOfClaim(rp.Router))
	mac, err := ParseUnicastMAC(rp.MAC)
	if err != nil {
		return
	}
	claim(routerMACClaim(mac))
	for _, s := range rp.Networks {
		a, err := parseRouterNetwork(s)
		if err != nil {
			return
		}
		claim(routerIPClaim(a.IP))
	}
}

func checkRouter(v *validation, r *Router) error {
	if r.Key < 1 || r.Key > MaxSwitchKey {
		return fail(KindRouter, r.Name, "tunnel key %d is out of range 1..%d", r.Key, MaxSwitchKey)
	}
	if sw, taken := v.firstHolder(switchKeyClaim(r.Key)); taken {
		if v.blame(Ref{KindRouter, r.Name}, Ref{KindSwitch, sw}) {
			return fail(KindSwitch, sw, "tunnel key %d is already used by router %s", r.Key, Quote(r.Name))
		}
		return fail(KindRouter, r.Name, "tunnel key %d is already used by switch %s", r.Key, Quote(sw))
	}
	if other, taken := v.takenBy(routerKeyClaim(r.Key), r.Name); taken {
		return fail(KindRouter, r.Name, "tunnel key %d is already used by router %s", r.Key, Quote(other))
	}
	return nil
}

func checkRouterPort(v *validation, rp *RouterPort) error {
	self := Ref{KindRouterPort, rp.Name}
	if v.routers[rp.Router] == nil {
		return v.missing(Ref{KindRouter, rp.Router}, self, "belongs to it")
	}
	if rp.Key < 1 || rp.Key > MaxPortKey {
		return fail(KindRouterPort, rp.Name, "tunnel key %d is out of range 1..%d", rp.Key, MaxPortKey)
	}
	if other, taken := v.takenBy(routerPortKeyClaim(rp.Router, rp.Key), rp.Name); taken {
		return fail(KindRouterPort, rp.Name, "tunnel key %d is already used by router port %s on router %s", rp.Key, Quote(other), Quote(rp.Router))
	}
	v.claim(routerPortOfClaim(rp.Router), rp.Name)
	mac, err := rp.HardwareAddr()
	if err != nil {
		return err
	}
	if len(rp.Networks) == 0 {
		return fail(KindRouterPort, rp.Name, "has no networks (give at least one, e.g. 10.0.1.1/24)")
	}
	if len(rp.Networks) > MaxRouterNetworks {
		return fail(KindRouterPort, rp.Name, "has %d networks, more than %d", len(rp.Networks), MaxRouterNetworks)
	}
	nets, err := rp.ParsedNetworks()
	if err != nil {
		return err
	}
	for i, a := range nets {
		for j := range i {
			if netsOverlap(a.Net, nets[j].Net) {
				if rp.Networks[j] == rp.Networks[i] {
					return fail(KindRouterPort, rp.Name, "network %s is given twice", rp.Networks[i])
				}
				return fail(KindRouterPort, rp.Name, "networks %s and %s overlap", rp.Networks[j], rp.Networks[i])
			}
		}
	}
	// The networks of the router's other ports (those checked before it,
	// while loading): a router routes to each network through one port.
	var clash error
	v.eachHolder(routerPortOfClaim(rp.Router), func(name string) bool {
		other := v.routerPorts[name]
		if name == rp.Name || other == nil {
			return true
		}
		for _, s := range other.Networks {
			o, err := parseRouterNetwork(s)
			if err != nil {
				continue
			}
			for i, a := range nets {
				if netsOverlap(a.Net, o.Net) {
					clash = fail(KindRouterPort, rp.Name, "network %s overlaps network %s of router port %s (the networks of router %s may not overlap)",
						rp.Networks[i], s, Quote(name), Quote(rp.Router))
					return false
				}
			}
		}
		return true
	})
	if clash != nil {
		return clash
	}
	v.claim(routerMACClaim(mac), rp.Name)
	for _, a := range nets {
		v.claim(routerIPClaim(a.IP), rp.Name)
	}
	return nil
}

// MaxRouterNetworks bounds the networks of one router port.
const MaxRouterNetworks = 16

// netsOverlap reports whether two networks share an address.
func netsOverlap(a, b *net.IPNet) bool { return a.Contains(b.IP) || b.Contains(a.IP) }

// checkRoutes checks a router's static routes, once its ports are checked.
func checkRoutes(v *validation, r *Router) error {
	self := Ref{KindRouter, r.Name}
	seen := make(map[string]bool, len(r.Routes))
	for _, rt := range r.Routes {
		prefix, nexthop, err := rt.Parsed()
		if err != nil {
			return fail(KindRouter, r.Name, "static route %s: %v", Quote(rt.Prefix), err)
		}
		if canon := prefix.String(); canon != rt.Prefix {
			return fail(KindRouter, r.Name, "static route %s: the prefix is not in canonical form (give %s)", Quote(rt.Prefix), canon)
		}
		if seen[rt.Prefix] {
			return fail(KindRouter, r.Name, "has two static routes for prefix %s", rt.Prefix)
		}
		seen[rt.Prefix] = true
		if rt.Port != "" {
			lrp := v.routerPorts[rt.Port]
			switch {
			case lrp == nil:
				return v.missing(Ref{KindRouterPort, rt.Port}, self, "routes through it")
			case lrp.Router != r.Name:
				return fail(KindRouter, r.Name, "static route %s: output port %s is a port of router %s", rt.Prefix, Quote(rt.Port), Quote(lrp.Router))
			case !lrp.OnNetwork(nexthop):
				return fail(KindRouter, r.Name, "static route %s: nexthop %s is on no network of router port %s", rt.Prefix, rt.NextHop, Quote(rt.Port))
			}
			continue
		}
		found := false
		v.eachHolder(routerPortOfClaim(r.Name), func(name string) bool {
			lrp := v.routerPorts[name]
			found = lrp != nil && lrp.OnNetwork(nexthop)
			return !found
		})
		if !found {
			return fail(KindRouter, r.Name, "static route %s: nexthop %s is on no network of router %s", rt.Prefix, rt.NextHop, Quote(r.Name))
		}
	}
	return nil
}

// OnNetwork reports whether ip is on a network of the router port.
func (rp *RouterPort) OnNetwork(ip net.IP) bool {
	for _, s := range rp.Networks {
		if a, err := parseRouterNetwork(s); err == nil && a.Net.Contains(ip) {
			return true
		}
	}
	return false
}

// Router and RouterPort return the named object, or nil.
func (ix *Index) Router(name string) *Router         { return ix.routers[name] }
func (ix *Index) RouterPort(name string) *RouterPort { return ix.routerPorts[name] }

// HasRouters reports whether the model has any router.
func (ix *Index) HasRouters() bool { return len(ix.routers) > 0 }

// RouterPortsOf returns the ports of a router, by name.
func (ix *Index) RouterPortsOf(router string) []*RouterPort {
	return referring(ix, ix.routerPorts, Ref{KindRouter, router}, KindRouterPort)
}

// PeerOf returns the switch port of type router whose router-port option
// names the router port, or nil.
func (ix *Index) PeerOf(routerPort string) *Port {
	if name, ok := ix.firstHolder(routerPeerClaim(routerPort)); ok {
		return ix.ports[name]
	}
	return nil
}

// RoutersOf returns the routers with a port joined to switch sw, sorted.
func (ix *Index) RoutersOf(sw string) []string {
	var out []string
	ix.eachHolder(routerSwitchClaim(sw), func(name string) bool {
		if p := ix.ports[name]; p != nil {
			if rp := ix.routerPorts[p.RouterPort()]; rp != nil {
				out = append(out, rp.Router)
			}
		}
		return true
	})
	slices.Sort(out)
	return slices.Compact(out)
}

// checkPortType checks a port's type and, for a router-type port, the
// router port it joins: one that exists and no other port joins, whose
// MAC and IPs no other port of the switch has (they are the port's
// addresses).
func checkPortType(v *validation, p *Port) error {
	switch p.Type {
	case "":
		return nil
	case PortTypeRouter:
	default:
		return fail(KindPort, p.Name, "type %s is not supported (known: router, or none for a VM's port)", Quote(p.Type))
	}
	name := p.RouterPort()
	switch {
	case name == "":
		return fail(KindPort, p.Name, "a port of type router needs option router-port (the router port it joins)")
	case len(p.PortSecurity) > 0:
		return fail(KindPort, p.Name, "a port of type router has no port security")
	case p.DHCPv4Options != "" || p.DHCPv6Options != "":
		return fail(KindPort, p.Name, "a port of type router has no DHCP options")
	}
	self := Ref{KindPort, p.Name}
	lrp := v.routerPorts[name]
	if lrp == nil {
		return v.missing(Ref{KindRouterPort, name}, self, "joins it to its switch")
	}
	if other, taken := v.takenBy(routerPeerClaim(name), p.Name); taken {
		if v.blame(self, Ref{KindPort, other}) {
			return fail(KindPort, other, "router port %s is already joined to switch %s by port %s", Quote(name), Quote(p.Switch), Quote(p.Name))
		}
		return fail(KindPort, p.Name, "router port %s is already joined to switch %s by port %s", Quote(name), Quote(v.ports[other].Switch), Quote(other))
	}
	v.claim(routerSwitchClaim(p.Switch), p.Name)
	mac, err := ParseUnicastMAC(lrp.MAC)
	if err != nil {
		return nil // the router port's rule refuses it
	}
	taken := func(id string, c, rc claim) error {
		mine := v.isChanged(self) || v.isChanged(Ref{KindRouterPort, name})
		if vif, ok := v.firstHolder(c); ok { // a VM's port (checked before, while loading)
			if !mine && v.blame(self, Ref{KindPort, vif}) {
				return fail(KindPort, vif, "address %s already belongs to port %s on switch %s", id, Quote(p.Name), Quote(p.Switch))
			}
			return routerAddressTaken(p, name, id, vif)
		}
		if peer, lrp2, ok := v.routerAddressOwner(rc, p.Switch, p.Name); ok { // another router's port
			if !mine && v.blame(self, Ref{KindPort, peer}) || !mine && v.blame(self, Ref{KindRouterPort, lrp2}) {
				return routerAddressTaken(v.ports[peer], lrp2, id, p.Name)
			}
			return routerAddressTaken(p, name, id, peer)
		}
		return nil
	}
	if err := taken(mac.String(), macClaim(p.Switch, mac), routerMACClaim(mac)); err != nil {
		return err
	}
	for _, s := range lrp.Networks {
		a, err := parseRouterNetwork(s)
		if err != nil {
			return nil
		}
		if err := taken(a.IP.String(), ipClaim(p.Switch, a.IP), routerIPClaim(a.IP)); err != nil {
			return err
		}
	}
	return nil
}

// isChanged reports whether the change being checked holds the object;
// with no change (a whole model), every object is new.
func (v *validation) isChanged(r Ref) bool { return v.changed == nil || v.changed.has(r) }

// blame reports whether a clash between self and other found while
// loading a changed model (each object is checked against those before
// it) is better said of other: the change holds other, not self.
func (v *validation) blame(self, other Ref) bool {
	return v.loading && v.changed != nil && v.changed.has(other) && !v.changed.has(self)
}

// routerAddressClash is the error of a VM's port p with an address id
// that the router port of a router-type port (peer) on its switch has:
// said of p, or of the peer when the change holds it or its router port
// and not p.
func (v *validation) routerAddressClash(p *Port, id, peer, lrp string) error {
	self := Ref{KindPort, p.Name}
	if v.blame(self, Ref{KindPort, peer}) || v.blame(self, Ref{KindRouterPort, lrp}) {
		return routerAddressTaken(v.ports[peer], lrp, id, p.Name)
	}
	return addressTaken(p, id, peer)
}

func routerAddressTaken(p *Port, lrp, id, other string) error {
	return fail(KindPort, p.Name, "address %s (of router port %s) already belongs to port %s on switch %s", id, Quote(lrp), Quote(other), Quote(p.Switch))
}

// routerAddressOwner is the router-type port on switch sw, other than
// self, that joins a router port holding c (a MAC or an IP), with that
// router port: the switch port whose address that is. While loading,
// only the ports checked before are found.
func (v *validation) routerAddressOwner(c claim, sw, self string) (port, lrp string, ok bool) {
	v.eachHolder(c, func(name string) bool {
		if peer, held := v.firstHolder(routerPeerClaim(name)); held && peer != self {
			if p := v.ports[peer]; p != nil && p.Switch == sw {
				port, lrp, ok = peer, name, true
			}
		}
		return !ok
	})
	return port, lrp, ok
}

// checkRouterAddresses checks the addresses of a router-type port: none,
// or "router" (the router port's MAC and IPs, as ovn-nbctl sets them).
func checkRouterAddresses(v *validation, p *Port) error {
	switch {
	case len(p.Addresses) == 0, len(p.Addresses) == 1 && p.Addresses[0] == PortTypeRouter:
		return nil
	default:
		return fail(KindPort, p.Name, "a port of type router has addresses %s or none, not %s", Quote("router"), Quote(strings.Join(p.Addresses, " ")))
	}
}

// routerPortClaims claims what a router-type port holds beyond its key:
// its router port (one switch port joins it) and its place among the
// switch's router-type ports.
func routerPortClaims(p *Port, claim func(claim)) {
	if rp := p.RouterPort(); rp != "" {
		claim(routerPeerClaim(rp))
	}
	claim(routerSwitchClaim(p.Switch))
}
