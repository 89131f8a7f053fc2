package topology

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// LoadBalancer is a set of virtual IPs, each spread over backends (OVN's
// Load_Balancer).
type LoadBalancer struct {
	Name     string            `json:"name"`
	Key      uint32            `json:"key"`      // 1..MaxLBKey, unique, smallest free; names it in flow cookies and group names
	Protocol string            `json:"protocol"` // tcp | udp (default tcp, as ovn-nbctl)
	VIPs     map[string]string `json:"vips"`     // "VIP" or "VIP:PORT" -> "IP[:PORT],IP[:PORT]..." as ovn-nbctl lb-add writes them
}

// LBVIP is one parsed VIP of a load balancer.
type LBVIP struct {
	VIP      netip.Addr
	Port     uint16 // 0: all ports (an IP-only VIP)
	Backends []LBBackend
}

// LBBackend is one backend of a VIP; its Port is 0 for an IP-only VIP.
type LBBackend struct {
	IP   netip.Addr
	Port uint16
}

// The protocols of a load balancer's VIPs with a port; an IP-only VIP
// takes all traffic to its address, as in OVN.
const (
	LBTCP = "tcp"
	LBUDP = "udp"
)

// Bounds of a load balancer. Every VIP is flows and an OpenFlow select
// group of its own on every chassis, with a bucket per backend.
const (
	MaxLBKey      = 1<<16 - 1
	MaxLBVIPs     = 256
	MaxLBBackends = 64
)

// LoadBalancer returns the named load balancer, or nil.
func (m *Model) LoadBalancer(name string) *LoadBalancer { return find(m.LoadBalancers, name) }

// FreeLBKey returns the smallest unused load balancer key.
func (m *Model) FreeLBKey() (uint32, error) {
	used := map[uint32]bool{}
	for _, lb := range m.LoadBalancers {
		used[lb.Key] = true
	}
	return smallestFree(MaxLBKey, "load balancer", func(k uint32) bool { return used[k] })
}

var loadBalancerKind = &kind[LoadBalancer]{id: KindLoadBalancer, name: "load balancer",
	model:   func(m *Model) *[]LoadBalancer { return &m.LoadBalancers },
	changes: func(c *Changes) *map[string]*LoadBalancer { return &c.LoadBalancers },
	objects: func(ix *Index) *map[string]*LoadBalancer { return &ix.loadBalancers },
	equal: func(a, b *LoadBalancer) bool {
		return a.Name == b.Name && a.Key == b.Key && a.Protocol == b.Protocol && maps.Equal(a.VIPs, b.VIPs)
	},
	clone:  func(lb LoadBalancer) LoadBalancer { lb.VIPs = maps.Clone(lb.VIPs); return lb },
	refs:   func(*LoadBalancer, func(Kind, string)) {},
	claims: lbClaims,
}

// lbClaims claims the key and the address of every VIP that parses (the
// rule refuses the others): a port's rule looks its addresses up there.
func lbClaims(lb *LoadBalancer, claim func(claim)) {
	claim(lbKeyClaim(lb.Key))
	for key := range lb.VIPs {
		if ip, _, err := parseEndpoint(key); err == nil {
			claim(lbVIPClaim(ip))
		}
	}
}

// ParsedVIPs parses the VIPs with their backends, sorted by VIP then
// port, the backends in the order given. An error names the load
// balancer and the VIP, as validation's do.
func (lb *LoadBalancer) ParsedVIPs() ([]LBVIP, error) { return lb.parseVIPs(true) }

// parseVIPs parses the VIPs, and their backends if asked (the costly
// part: up to MaxLBBackends each).
func (lb *LoadBalancer) parseVIPs(backends bool) ([]LBVIP, error) {
	if len(lb.VIPs) > MaxLBVIPs {
		return nil, fail(KindLoadBalancer, lb.Name, "has %d VIPs, more than %d (each VIP is flows and an OpenFlow group of its own on every chassis)",
			len(lb.VIPs), MaxLBVIPs)
	}
	out := make([]LBVIP, 0, len(lb.VIPs))
	seen := make(map[LBBackend]string, len(lb.VIPs)) // an address and a port, as a backend
	for _, key := range slices.Sorted(maps.Keys(lb.VIPs)) {
		ip, port, err := parseEndpoint(key)
		if err != nil {
			return nil, fail(KindLoadBalancer, lb.Name, "VIP %s: %v", Quote(key), err)
		}
		if first, dup := seen[LBBackend{ip, port}]; dup {
			return nil, fail(KindLoadBalancer, lb.Name, "VIPs %s and %s are the same", Quote(first), Quote(key))
		}
		seen[LBBackend{ip, port}] = key
		vip := LBVIP{VIP: ip, Port: port}
		if backends {
			if vip.Backends, err = parseBackends(&vip, lb.VIPs[key]); err != nil {
				return nil, fail(KindLoadBalancer, lb.Name, "VIP %s: %v", Quote(key), err)
			}
		}
		out = append(out, vip)
	}
	slices.SortFunc(out, func(a, b LBVIP) int { return cmp.Or(a.VIP.Compare(b.VIP), cmp.Compare(a.Port, b.Port)) })
	return out, nil
}

// parseBackends parses a VIP's backends: one or more, comma-separated,
// of the VIP's family, with a port each exactly when the VIP has one (as
// ovn-nbctl lb-add takes them), no two the same.
func parseBackends(vip *LBVIP, list string) ([]LBBackend, error) {
	if list == "" {
		return nil, errors.New("has no backends (give IP[:PORT],...)")
	}
	items := strings.Split(list, ",")
	if len(items) > MaxLBBackends {
		return nil, fmt.Errorf("has %d backends, more than %d (each is a bucket of the VIP's OpenFlow select group)", len(items), MaxLBBackends)
	}
	out := make([]LBBackend, 0, len(items))
	seen := make(map[LBBackend]string, len(items))
	for _, item := range items {
		ip, port, err := parseEndpoint(item)
		switch {
		case err != nil:
			return nil, fmt.Errorf("backend %s: %v", Quote(item), err)
		case ip.Is6() != vip.VIP.Is6():
			return nil, fmt.Errorf("backend %s is %s, the VIP %s (a VIP's backends are of its family)", Quote(item), ipFamily(ip.Is6()), ipFamily(vip.VIP.Is6()))
		case port == 0 && vip.Port != 0:
			return nil, fmt.Errorf("backend %s has no port (a VIP with a port needs IP:PORT backends)", Quote(item))
		case port != 0 && vip.Port == 0:
			return nil, fmt.Errorf("backend %s has a port (an IP-only VIP takes backends without ports)", Quote(item))
		}
		b := LBBackend{ip, port}
		if first, dup := seen[b]; dup {
			return nil, fmt.Errorf("backends %s and %s are the same", Quote(first), Quote(item))
		}
		seen[b] = item
		out = append(out, b)
	}
	return out, nil
}

// parseEndpoint parses a VIP or a backend as ovn-nbctl writes them: an
// IP address, IPv4:PORT or [IPv6]:PORT; the port is 0 when none is given.
func parseEndpoint(s string) (netip.Addr, uint16, error) {
	if _, err := netip.ParseAddr(s); err == nil {
		ip, err := parseIP(s) // not zoned nor IPv4-mapped
		return ip, 0, err
	}
	bad := errors.New("not an IP address, IPv4:PORT or [IPv6]:PORT")
	var host, port string
	rest, bracketed := strings.CutPrefix(s, "[")
	if bracketed {
		var found bool
		if host, port, found = strings.Cut(rest, "]:"); !found {
			return netip.Addr{}, 0, bad
		}
	} else if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, port = s[:i], s[i+1:]
	} else {
		return netip.Addr{}, 0, bad
	}
	ip, err := parseIP(host)
	switch {
	case err != nil, ip.Is4() && bracketed:
		return netip.Addr{}, 0, bad
	case ip.Is6() && !bracketed:
		return netip.Addr{}, 0, errors.New("an IPv6 address with a port is written [IPv6]:PORT")
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return netip.Addr{}, 0, fmt.Errorf("port %s: want a number in 1..65535", Quote(port))
	}
	return ip, uint16(n), nil
}

func checkLoadBalancer(v *validation, lb *LoadBalancer) error {
	if lb.Key < 1 || lb.Key > MaxLBKey {
		return fail(KindLoadBalancer, lb.Name, "key %d is out of range 1..%d", lb.Key, MaxLBKey)
	}
	if other, taken := v.takenBy(lbKeyClaim(lb.Key), lb.Name); taken {
		return fail(KindLoadBalancer, lb.Name, "key %d is already used by load balancer %s", lb.Key, Quote(other))
	}
	if lb.Protocol != LBTCP && lb.Protocol != LBUDP {
		return fail(KindLoadBalancer, lb.Name, "protocol %s: want %s or %s", Quote(lb.Protocol), LBTCP, LBUDP)
	}
	vips, err := lb.parseVIPs(v.isCostly(Ref{KindLoadBalancer, lb.Name}))
	if err != nil {
		return err
	}
	for _, vip := range vips {
		v.claim(lbVIPClaim(vip.VIP), lb.Name)
	}
	return nil
}

// checkSwitchLBs checks the load balancers a switch names: they exist,
// each once, and, when the switch or one of them changed, no VIP is the
// address of one of its ports. It runs after the load balancers' rule,
// so their VIPs parse.
func checkSwitchLBs(v *validation, s *Switch) error {
	self := Ref{KindSwitch, s.Name}
	if !v.loading && !v.isCostly(self) && len(v.changed.LoadBalancers) == 0 {
		return nil // a change beside (a port's): the list and what it names are as they were
	}
	again := firstRepeat(s.LoadBalancers)
	for i, name := range s.LoadBalancers {
		lb := v.loadBalancers[name]
		switch {
		case lb == nil:
			return v.missing(Ref{KindLoadBalancer, name}, self, "uses it")
		case i == again:
			return fail(KindSwitch, s.Name, "load balancer %s is listed twice", Quote(name))
		case v.isCostly(self) || v.isCostly(Ref{KindLoadBalancer, name}):
			if err := v.checkVIPsFree(s.Name, lb); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkVIPsFree refuses a VIP of lb that a port of switch sw has as an
// address: traffic to it would be ambiguous (the port's, or the
// backends').
func (v *validation) checkVIPsFree(sw string, lb *LoadBalancer) error {
	vips, _ := lb.parseVIPs(false) // checked by the load balancer's rule
	for _, vip := range vips {
		if port, taken := v.firstHolder(ipClaim(sw, net.IP(vip.VIP.AsSlice()))); taken {
			return fail(KindLoadBalancer, lb.Name, "VIP %s is the address of port %s on switch %s, which uses the load balancer (traffic to it would be ambiguous)",
				vip.VIP, Quote(port), Quote(sw))
		}
	}
	return nil
}

// checkPortVIPs refuses an address of a port that is a VIP of a load
// balancer of its switch, at the cost of the port's addresses. It runs
// after the port's and the load balancers' rules, so its addresses parse
// and the VIPs are claimed.
func checkPortVIPs(v *validation, p *Port) error {
	lbs := v.switches[p.Switch].LoadBalancers
	if len(lbs) == 0 {
		return nil // the usual case
	}
	for _, a := range p.Addresses {
		addr, _ := ParseAddress(a)
		for _, ip := range addr.IPs {
			var err error
			v.eachHolder(lbVIPClaim(netip.AddrFrom16([16]byte(ip.To16()))), func(lb string) bool {
				if slices.Contains(lbs, lb) {
					err = fail(KindPort, p.Name, "address %s is a VIP of load balancer %s on switch %s (traffic to it would be ambiguous)",
						ip, Quote(lb), Quote(p.Switch))
				}
				return err == nil
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}
