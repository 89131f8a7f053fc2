package topology

import (
	"encoding/binary"
	"net"
	"net/netip"
	"slices"
)

// claim is a value that an object holds and that a rule may reserve to
// one holder: a tunnel key, a MAC on a switch, a group in a chain...
type claim struct {
	rule  claimRule
	scope string // the switch of a port key or address, the in port of a pair
	value string // a name, or an IP address's 16 bytes
	num   uint64 // a key, a MAC, an IPv4 address, a priority
}

// claimRule says what a claim is about; two claims of different rules
// never collide.
type claimRule uint8

const (
	chassisIPRule claimRule = iota + 1
	switchKeyRule
	portKeyRule
	portMACRule
	portIPRule
	pairPortsRule     // (in port, out port): one pair each
	vnfPortRule       // the ports of pairs: classifiers may not use them
	pairInGroupRule   // a pair serves one group
	groupInChainRule  // a group belongs to one chain
	chainKeyRule      // chain keys are unique
	classifierKeyRule // classifier keys are unique
	portPriorityRule  // classifiers of a port and priority may not overlap
	aclKeyRule        // ACL keys are unique
	qosKeyRule        // QoS rule keys are unique
	aclSlotRule       // one ACL per target, direction, priority and match
	qosSlotRule       // one QoS rule per switch, direction, priority and match
	portInGroupRule   // the port groups of a port
	matchRefRule      // the ACLs and QoS rules whose match names an object
	lbKeyRule         // load balancer keys are unique
	lbVIPRule         // the load balancers with a VIP at an address (ports may not have it)
	routerKeyRule     // router keys are unique (and no switch's)
	routerPortKeyRule // router port keys are unique per router
	routerPortOfRule  // the ports of a router (its networks may not overlap; its routes' next hops)
	routerMACRule     // the router ports with a MAC (a switch port may not have it on a switch the router port joins)
	routerIPRule      // the router ports with an IP address, likewise
	routerPeerRule    // the router-type switch port that joins a router port (one at most)
	routerSwitchRule  // the router-type ports of a switch
)

// Each claim has one constructor, used to claim and to look the claim up.
func chassisIPClaim(ip4 net.IP) claim {
	return claim{rule: chassisIPRule, num: uint64(binary.BigEndian.Uint32(ip4))}
}
func switchKeyClaim(key uint32) claim     { return claim{rule: switchKeyRule, num: uint64(key)} }
func chainKeyClaim(key uint32) claim      { return claim{rule: chainKeyRule, num: uint64(key)} }
func classifierKeyClaim(key uint32) claim { return claim{rule: classifierKeyRule, num: uint64(key)} }
func portKeyClaim(sw string, key uint32) claim {
	return claim{rule: portKeyRule, scope: sw, num: uint64(key)}
}
func macClaim(sw string, mac net.HardwareAddr) claim {
	var b [8]byte
	copy(b[2:], mac)
	return claim{rule: portMACRule, scope: sw, num: binary.BigEndian.Uint64(b[:])}
}
func ipClaim(sw string, ip net.IP) claim {
	return claim{rule: portIPRule, scope: sw, value: string(ip.To16())}
}
func pairPortsClaim(in, out string) claim { return claim{rule: pairPortsRule, scope: in, value: out} }
func vnfPortClaim(port string) claim      { return claim{rule: vnfPortRule, value: port} }
func pairInGroupClaim(pair string) claim  { return claim{rule: pairInGroupRule, value: pair} }
func groupInChainClaim(g string) claim    { return claim{rule: groupInChainRule, value: g} }
func portPriorityClaim(c *Classifier) claim {
	return claim{rule: portPriorityRule, value: c.Port, num: uint64(c.Priority)}
}

func aclKeyClaim(key uint32) claim { return claim{rule: aclKeyRule, num: uint64(key)} }
func qosKeyClaim(key uint32) claim { return claim{rule: qosKeyRule, num: uint64(key)} }
func aclSlotClaim(a *ACL) claim {
	t := a.Target()
	return claim{rule: aclSlotRule, scope: t.Name, value: a.Direction + " " + a.Match, num: uint64(t.Kind)<<32 | uint64(a.Priority)}
}
func qosSlotClaim(q *QoS) claim {
	return claim{rule: qosSlotRule, scope: q.Switch, value: q.Direction + " " + q.Match, num: uint64(q.Priority)}
}
func portInGroupClaim(port string) claim { return claim{rule: portInGroupRule, value: port} }
func lbKeyClaim(key uint32) claim        { return claim{rule: lbKeyRule, num: uint64(key)} }
func routerKeyClaim(key uint32) claim    { return claim{rule: routerKeyRule, num: uint64(key)} }
func routerPortKeyClaim(router string, key uint32) claim {
	return claim{rule: routerPortKeyRule, scope: router, num: uint64(key)}
}
func routerPortOfClaim(router string) claim { return claim{rule: routerPortOfRule, value: router} }
func routerPeerClaim(lrp string) claim      { return claim{rule: routerPeerRule, value: lrp} }
func routerSwitchClaim(sw string) claim     { return claim{rule: routerSwitchRule, value: sw} }

// routerMACClaim and routerIPClaim are keyed as macClaim and ipClaim
// are, without a switch: a router port is on the switch its peer is.
func routerMACClaim(mac net.HardwareAddr) claim {
	c := macClaim("", mac)
	c.rule = routerMACRule
	return c
}
func routerIPClaim(ip net.IP) claim {
	return claim{rule: routerIPRule, value: string(ip.To16())}
}

// lbVIPClaim is keyed as ipClaim is: an IPv4 address in its IPv4-mapped
// form, so that a port's address finds it.
func lbVIPClaim(ip netip.Addr) claim {
	b := ip.As16()
	return claim{rule: lbVIPRule, value: string(b[:])}
}

// matchRefClaim is held by the rules of kind user (ACL, QoS) whose match
// names the object.
func matchRefClaim(user Kind, to Ref) claim {
	return claim{rule: matchRefRule, value: to.Name, num: uint64(user)<<8 | uint64(to.Kind)}
}

// hold and release keep the holders of claims in step with the objects;
// hold returns the claim's first holder. An object that holds a value
// twice is there twice.
func (ix *Index) hold(c claim, name string) string {
	first, ok := ix.claims[c]
	if !ok {
		ix.claims[c] = name
		return name
	}
	ix.moreHolders[c] = append(ix.moreHolders[c], name)
	return first
}

func (ix *Index) release(c claim, name string) {
	first, ok := ix.claims[c]
	if !ok {
		return
	}
	more := ix.moreHolders[c]
	switch i := slices.Index(more, name); {
	case first == name && len(more) == 0:
		delete(ix.claims, c)
		return
	case first == name:
		ix.claims[c] = more[0]
		more = slices.Delete(more, 0, 1)
	case i >= 0:
		more = slices.Delete(more, i, i+1)
	}
	if len(more) == 0 {
		delete(ix.moreHolders, c)
	} else {
		ix.moreHolders[c] = more
	}
}

// firstHolder is the object a claim belongs to, if any holds it.
func (ix *Index) firstHolder(c claim) (string, bool) {
	first, ok := ix.claims[c]
	return first, ok
}

// eachHolder calls fn with the holders of a claim, in order, until fn
// returns false.
func (ix *Index) eachHolder(c claim, fn func(name string) bool) {
	first, ok := ix.claims[c]
	if !ok || !fn(first) {
		return
	}
	for _, name := range ix.moreHolders[c] {
		if !fn(name) {
			return
		}
	}
}
