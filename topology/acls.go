package topology

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/chainwire/chainwire/topology/expr"
)

// ACL is a policy rule (OVN's ACL) on a switch's ports or a port group's.
type ACL struct {
	Name      string `json:"name"`             // --name=N, or "acl<KEY>" when none is given
	Key       uint32 `json:"key"`              // 1..MaxACLKey, unique; names the ACL in flow cookies
	Switch    string `json:"switch,omitempty"` // exactly one of Switch and PortGroup
	PortGroup string `json:"port_group,omitempty"`
	Direction string `json:"direction"` // from-lport | to-lport
	Priority  int    `json:"priority"`  // 0..MaxACLPriority
	Match     string `json:"match"`
	Action    string `json:"action"` // allow | allow-related | allow-stateless | drop | reject
	Log       bool   `json:"log,omitempty"`
}

// PortGroup is a named set of logical ports, possibly on several switches.
type PortGroup struct {
	Name  string   `json:"name"`
	Ports []string `json:"ports,omitempty"` // sorted by Normalize
}

// AddressSet is a named set of IPv4/IPv6 addresses or prefixes, or MACs
// (as OVN's).
type AddressSet struct {
	Name      string   `json:"name"`
	Addresses []string `json:"addresses,omitempty"` // sorted by Normalize
}

// QoS is a DSCP marking and/or a rate limit for a switch's matching
// traffic (OVN's QoS).
type QoS struct {
	Name      string `json:"name"` // "qos<KEY>"
	Key       uint32 `json:"key"`  // 1..MaxQoSKey, unique
	Switch    string `json:"switch"`
	Direction string `json:"direction"` // from-lport | to-lport
	Priority  int    `json:"priority"`  // 0..MaxQoSPriority
	Match     string `json:"match"`
	DSCP      *int   `json:"dscp,omitempty"`  // 0..MaxDSCP
	Rate      uint32 `json:"rate,omitempty"`  // kbps; 0 = no meter
	Burst     uint32 `json:"burst,omitempty"` // kb; only with Rate
}

// Directions of ACLs and QoS rules, as in OVN.
const (
	FromLport = "from-lport" // on the packet as it leaves its source port
	ToLport   = "to-lport"   // on the packet as it is delivered to its port
)

// ACL actions, as in OVN.
const (
	ACLAllow          = "allow"
	ACLAllowRelated   = "allow-related"
	ACLAllowStateless = "allow-stateless"
	ACLDrop           = "drop"
	ACLReject         = "reject"
)

// ACLActions lists the actions in ovn-nbctl's order.
var ACLActions = []string{ACLAllow, ACLAllowRelated, ACLAllowStateless, ACLDrop, ACLReject}

// Ranges, as in OVN's schema.
const (
	MaxACLKey      = 1<<24 - 1
	MaxQoSKey      = 1<<16 - 1
	MaxACLPriority = 32767
	MaxQoSPriority = 32767
	MaxDSCP        = 63
)

// A port group's derived address sets, as OVN makes them: $PG_ip4 holds
// the IPv4 addresses of the group's ports, $PG_ip6 their IPv6 ones.
const (
	derivedIP4 = "_ip4"
	derivedIP6 = "_ip6"
)

// ACL, PortGroup, AddressSet and QoSRule return the named object, or nil.
func (m *Model) ACL(name string) *ACL               { return find(m.ACLs, name) }
func (m *Model) PortGroup(name string) *PortGroup   { return find(m.PortGroups, name) }
func (m *Model) AddressSet(name string) *AddressSet { return find(m.AddressSets, name) }
func (m *Model) QoSRule(name string) *QoS           { return find(m.QoS, name) }

// Target is what an ACL applies to: its port group, or else its switch.
func (a *ACL) Target() Ref {
	if a.PortGroup != "" {
		return Ref{KindPortGroup, a.PortGroup}
	}
	return Ref{KindSwitch, a.Switch}
}

// DefaultACLName and QoSName are the names chainctl gives the ACL or QoS
// rule of a key.
func DefaultACLName(key uint32) string { return fmt.Sprintf("acl%d", key) }
func QoSName(key uint32) string        { return fmt.Sprintf("qos%d", key) }

// FreeACLKey and FreeQoSKey return the smallest unused key whose default
// name is free too.
func (m *Model) FreeACLKey() (uint32, error) {
	used, names := map[uint32]bool{}, map[string]bool{}
	for _, a := range m.ACLs {
		used[a.Key], names[a.Name] = true, true
	}
	return smallestFree(MaxACLKey, "ACL", func(k uint32) bool { return used[k] || names[DefaultACLName(k)] })
}

func (m *Model) FreeQoSKey() (uint32, error) {
	used, names := map[uint32]bool{}, map[string]bool{}
	for _, q := range m.QoS {
		used[q.Key], names[q.Name] = true, true
	}
	return smallestFree(MaxQoSKey, "QoS rule", func(k uint32) bool { return used[k] || names[QoSName(k)] })
}

func smallestFree(max uint32, kind string, taken func(uint32) bool) (uint32, error) {
	for k := uint32(1); k <= max; k++ {
		if !taken(k) {
			return k, nil
		}
	}
	return 0, fmt.Errorf("every %s key is in use", kind)
}

var aclKind = &kind[ACL]{id: KindACL, name: "ACL",
	model:   func(m *Model) *[]ACL { return &m.ACLs },
	changes: func(c *Changes) *map[string]*ACL { return &c.ACLs },
	objects: func(ix *Index) *map[string]*ACL { return &ix.acls },
	equal:   same[ACL], clone: copyOf[ACL],
	refs: func(a *ACL, ref func(Kind, string)) {
		if a.Switch != "" {
			ref(KindSwitch, a.Switch)
		}
		if a.PortGroup != "" {
			ref(KindPortGroup, a.PortGroup)
		}
	},
	claims: func(a *ACL, claim func(claim)) {
		claim(aclKeyClaim(a.Key))
		claim(aclSlotClaim(a))
		if refs, err := expr.References(a.Match); err == nil {
			matchClaims(KindACL, refs, claim)
		}
	},
}

var portGroupKind = &kind[PortGroup]{id: KindPortGroup, name: "port group",
	model:   func(m *Model) *[]PortGroup { return &m.PortGroups },
	changes: func(c *Changes) *map[string]*PortGroup { return &c.PortGroups },
	objects: func(ix *Index) *map[string]*PortGroup { return &ix.portGroups },
	equal: func(a, b *PortGroup) bool {
		return a.Name == b.Name && slices.Equal(a.Ports, b.Ports)
	},
	clone: func(g PortGroup) PortGroup { g.Ports = slices.Clone(g.Ports); return g },
	refs: func(g *PortGroup, ref func(Kind, string)) {
		for _, p := range g.Ports {
			ref(KindPort, p)
		}
	},
	claims: func(g *PortGroup, claim func(claim)) {
		for _, p := range g.Ports {
			claim(portInGroupClaim(p))
		}
	},
	nearby: func(ix *Index, g *PortGroup, mark func(Ref)) {
		markMatchUsers(ix, Ref{KindPortGroup, g.Name}, mark)
		// The sets whose names its derived sets take.
		mark(Ref{KindAddressSet, g.Name + derivedIP4})
		mark(Ref{KindAddressSet, g.Name + derivedIP6})
	},
}

var addressSetKind = &kind[AddressSet]{id: KindAddressSet, name: "address set",
	model:   func(m *Model) *[]AddressSet { return &m.AddressSets },
	changes: func(c *Changes) *map[string]*AddressSet { return &c.AddressSets },
	objects: func(ix *Index) *map[string]*AddressSet { return &ix.addressSets },
	equal: func(a, b *AddressSet) bool {
		return a.Name == b.Name && slices.Equal(a.Addresses, b.Addresses)
	},
	clone:  func(s AddressSet) AddressSet { s.Addresses = slices.Clone(s.Addresses); return s },
	refs:   func(*AddressSet, func(Kind, string)) {},
	claims: func(*AddressSet, func(claim)) {},
	nearby: func(ix *Index, s *AddressSet, mark func(Ref)) { markMatchUsers(ix, Ref{KindAddressSet, s.Name}, mark) },
}

var qosKind = &kind[QoS]{id: KindQoS, name: "QoS rule",
	model:   func(m *Model) *[]QoS { return &m.QoS },
	changes: func(c *Changes) *map[string]*QoS { return &c.QoS },
	objects: func(ix *Index) *map[string]*QoS { return &ix.qos },
	equal: func(a, b *QoS) bool {
		x, y := *a, *b
		x.DSCP, y.DSCP = nil, nil
		return x == y && (a.DSCP == nil) == (b.DSCP == nil) && (a.DSCP == nil || *a.DSCP == *b.DSCP)
	},
	clone: func(q QoS) QoS {
		if q.DSCP != nil {
			d := *q.DSCP
			q.DSCP = &d
		}
		return q
	},
	refs: func(q *QoS, ref func(Kind, string)) { ref(KindSwitch, q.Switch) },
	claims: func(q *QoS, claim func(claim)) {
		claim(qosKeyClaim(q.Key))
		claim(qosSlotClaim(q))
		if refs, err := expr.References(q.Match); err == nil {
			matchClaims(KindQoS, refs, claim)
		}
	},
}

// matchClaims lists the objects a match names, as claims of its rule's
// kind (user): each port, group and set once, and the group of a derived
// set ($pg_ip4) as a group, so that a change of any of them finds the
// rules to check again (markMatchUsers) and the deletion of any is
// refused.
func matchClaims(user Kind, refs *expr.Refs, claim func(claim)) {
	for _, p := range refs.Ports {
		claim(matchRefClaim(user, Ref{KindPort, p}))
	}
	groups := refs.PortGroups
	for _, s := range refs.AddressSets {
		claim(matchRefClaim(user, Ref{KindAddressSet, s}))
		if g, _, ok := derivedFrom(s); ok && !slices.Contains(groups, g) {
			groups = append(groups[:len(groups):len(groups)], g) // a copy: refs are shared
		}
	}
	for _, g := range groups {
		claim(matchRefClaim(user, Ref{KindPortGroup, g}))
	}
}

// derivedFrom splits a derived set's name ("web_ip4") into its group's
// name and family, whether or not the group exists.
func derivedFrom(set string) (group string, v6, ok bool) {
	if g, ok := strings.CutSuffix(set, derivedIP4); ok && g != "" {
		return g, false, true
	}
	if g, ok := strings.CutSuffix(set, derivedIP6); ok && g != "" {
		return g, true, true
	}
	return "", false, false
}

// markMatchUsers marks the ACLs and QoS rules whose match names r.
func markMatchUsers(ix *Index, r Ref, mark func(Ref)) {
	for _, user := range [2]Kind{KindACL, KindQoS} {
		ix.eachHolder(matchRefClaim(user, r), func(name string) bool {
			mark(Ref{user, name})
			return true
		})
	}
}

// portNearby marks the rules that read a port without referencing it:
// the ACLs and QoS rules whose match names it or a group that holds it
// (the group's keys and derived addresses are its ports').
func portNearby(ix *Index, p *Port, mark func(Ref)) {
	markMatchUsers(ix, Ref{KindPort, p.Name}, mark)
	ix.eachHolder(portInGroupClaim(p.Name), func(g string) bool {
		markMatchUsers(ix, Ref{KindPortGroup, g}, mark)
		return true
	})
}

// matchNames resolves the names in an ACL's or QoS rule's match: the
// ports of switch sw, or of every switch when sw is "" (a port group's
// ACL, which applies wherever its ports are).
type matchNames struct {
	ix *Index
	sw string
}

// MatchResolver resolves the names in a match compiled for switch sw
// (every switch when sw is "", as the validator checks a port group's
// ACL): ports by their key (a port of another switch has none there, so
// inport == "p" of a group's ACL matches nothing on switches without p),
// port groups as the keys of their ports on sw, address sets as their
// addresses, and a group's derived $PG_ip4 and $PG_ip6 as the IPv4 and
// IPv6 addresses of all its ports.
func (ix *Index) MatchResolver(sw string) expr.Resolver { return matchNames{ix, sw} }

func (r matchNames) onSwitch(p *Port) bool { return r.sw == "" || p.Switch == r.sw }

func (r matchNames) PortKey(name string) (uint32, bool) {
	p := r.ix.ports[name]
	switch {
	case p == nil:
		return 0, false
	case !r.onSwitch(p):
		return 0, true
	}
	return p.Key, true
}

func (r matchNames) PortGroup(name string) ([]uint32, bool) {
	g := r.ix.portGroups[name]
	if g == nil {
		return nil, false
	}
	keys := make([]uint32, 0, len(g.Ports))
	for _, pn := range g.Ports {
		if p := r.ix.ports[pn]; p != nil && r.onSwitch(p) {
			keys = append(keys, p.Key)
		}
	}
	return keys, true
}

func (r matchNames) AddressSet(name string) ([]string, bool) {
	if s := r.ix.addressSets[name]; s != nil {
		return s.Addresses, true
	}
	group, v6, ok := derivedFrom(name)
	g := r.ix.portGroups[group]
	if !ok || g == nil {
		return nil, false
	}
	return r.ix.groupAddresses(g, v6), true
}

// groupAddresses lists the IPv4 (or IPv6) addresses of a group's ports,
// from their addresses ("MAC IP..."), as OVN derives $PG_ip4 ($PG_ip6).
func (ix *Index) groupAddresses(g *PortGroup, v6 bool) []string {
	var out []string
	for _, pn := range g.Ports {
		p := ix.ports[pn]
		if p == nil {
			continue
		}
		for _, a := range p.Addresses {
			f := strings.Fields(a)
			if len(f) < 2 || f[0] == "unknown" {
				continue
			}
			for _, ip := range f[1:] {
				if strings.Contains(ip, ":") == v6 {
					out = append(out, ip)
				}
			}
		}
	}
	return out
}

// setExists reports whether $name resolves: an address set, or a
// group's derived set.
func (v *validation) setExists(name string) bool {
	if v.addressSets[name] != nil {
		return true
	}
	g, _, ok := derivedFrom(name)
	return ok && v.portGroups[g] != nil
}

// deleted reports whether the change being checked names an object its
// caller found missing: the change deleted it.
func (v *validation) deleted(r Ref) bool { return v.changed != nil && v.changed.has(r) }

// missing is the error of a rule (user) that needs an object which does
// not exist: said of the object when the change deleted it (the deletion
// is refused, naming who still needs it), else of the rule.
func (v *validation) missing(obj, user Ref, role string) error {
	if v.deleted(obj) {
		return fail(obj.Kind, obj.Name, "%s %s", user, role)
	}
	return fail(user.Kind, user.Name, "%s does not exist", obj)
}

// missingInMatch is the same for an object a match names.
func (v *validation) missingInMatch(obj, user Ref) error {
	if v.deleted(obj) {
		return fail(obj.Kind, obj.Name, "%s names it in its match", user)
	}
	return fail(user.Kind, user.Name, "its match names %s, which does not exist", obj)
}

// groupChanged reports whether the change may have changed what a group
// resolves to in a match: the group, or one of its ports (a key, an
// address).
func (v *validation) groupChanged(g string) bool {
	if v.changed == nil {
		return true
	}
	if v.dirtyGroups == nil {
		v.dirtyGroups = map[string]bool{}
		for name := range v.changed.PortGroups {
			v.dirtyGroups[name] = true
		}
		for port := range v.changed.Ports {
			v.eachHolder(portInGroupClaim(port), func(name string) bool {
				v.dirtyGroups[name] = true
				return true
			})
		}
	}
	return v.dirtyGroups[g]
}

// matchChanged reports whether a rule's match must be compiled again:
// the rule changed, or something its match names may resolve otherwise.
func (v *validation) matchChanged(self Ref, refs *expr.Refs) bool {
	if v.isCostly(self) {
		return true
	}
	for _, p := range refs.Ports {
		if v.changed.has(Ref{KindPort, p}) {
			return true
		}
	}
	for _, g := range refs.PortGroups {
		if v.groupChanged(g) {
			return true
		}
	}
	for _, s := range refs.AddressSets {
		if v.changed.has(Ref{KindAddressSet, s}) {
			return true
		}
		if g, _, ok := derivedFrom(s); ok && v.groupChanged(g) {
			return true
		}
	}
	return false
}

// checkMatchNames checks that every name a match uses exists, and that
// the ports of a switch's rule (sw) are on that switch.
func (v *validation) checkMatchNames(self Ref, sw string, refs *expr.Refs) error {
	for _, pn := range refs.Ports {
		p := v.ports[pn]
		if p == nil {
			return v.missingInMatch(Ref{KindPort, pn}, self)
		}
		if sw != "" && p.Switch != sw {
			return fail(self.Kind, self.Name, "its match names port %s, which is on switch %s, not %s", Quote(pn), Quote(p.Switch), Quote(sw))
		}
	}
	for _, g := range refs.PortGroups {
		if v.portGroups[g] == nil {
			return v.missingInMatch(Ref{KindPortGroup, g}, self)
		}
	}
	for _, s := range refs.AddressSets {
		if v.setExists(s) {
			continue
		}
		if g, _, ok := derivedFrom(s); ok && v.deleted(Ref{KindPortGroup, g}) {
			return v.missingInMatch(Ref{KindPortGroup, g}, self)
		}
		return v.missingInMatch(Ref{KindAddressSet, s}, self)
	}
	return nil
}

// checkPolicyMatch checks the match of an ACL or QoS rule (self) of
// switch sw ("" for a port group's ACL): what it names exists, and, if
// it or what it names changed, it compiles within the bounds on flows
// and tests outport only where outport is known (to-lport).
func (v *validation) checkPolicyMatch(self Ref, sw, direction, match string) error {
	refs, err := expr.References(match)
	if err != nil {
		return fail(self.Kind, self.Name, "match %s: %v", Quote(match), err)
	}
	if err := v.checkMatchNames(self, sw, refs); err != nil {
		return err
	}
	matchClaims(self.Kind, refs, func(c claim) { v.claim(c, self.Name) })
	if !v.matchChanged(self, refs) {
		return nil
	}
	// An empty group or set is a match of nothing, as in OVN: not an error.
	e, err := expr.CompileEnv(match, &expr.Env{Resolver: matchNames{v.Index, sw}, EmptyOK: true})
	if err != nil {
		return fail(self.Kind, self.Name, "match %s: %v", Quote(match), err)
	}
	if direction == FromLport && slices.Contains(e.Fields(), expr.OutPort) {
		return fail(self.Kind, self.Name, "match %s: outport is not known yet when a from-lport rule runs (test it in a to-lport one)", Quote(match))
	}
	return nil
}

func checkDirection(self Ref, dir string) error {
	if dir != FromLport && dir != ToLport {
		return fail(self.Kind, self.Name, "direction %s: want %s or %s", Quote(dir), FromLport, ToLport)
	}
	return nil
}

func checkPriority(self Ref, prio, max int) error {
	if prio < 0 || prio > max {
		return fail(self.Kind, self.Name, "priority %d is out of range 0..%d", prio, max)
	}
	return nil
}

func checkACL(v *validation, a *ACL) error {
	self := Ref{KindACL, a.Name}
	if err := v.checkACLTarget(self, a); err != nil {
		return err
	}
	if a.Key < 1 || a.Key > MaxACLKey {
		return fail(KindACL, a.Name, "key %d is out of range 1..%d", a.Key, MaxACLKey)
	}
	if other, taken := v.takenBy(aclKeyClaim(a.Key), a.Name); taken {
		return fail(KindACL, a.Name, "key %d is already used by ACL %s", a.Key, Quote(other))
	}
	if err := checkDirection(self, a.Direction); err != nil {
		return err
	}
	if err := checkPriority(self, a.Priority, MaxACLPriority); err != nil {
		return err
	}
	if !slices.Contains(ACLActions, a.Action) {
		return fail(KindACL, a.Name, "action %s: want one of %s", Quote(a.Action), strings.Join(ACLActions, ", "))
	}
	if err := v.checkPolicyMatch(self, a.Switch, a.Direction, a.Match); err != nil {
		return err
	}
	if other, taken := v.takenBy(aclSlotClaim(a), a.Name); taken {
		return fail(KindACL, a.Name, "already exists as ACL %s: same %s, direction, priority and match", Quote(other), a.Target())
	}
	return nil
}

// checkACLTarget: an ACL applies to one switch or one port group, which
// exists.
func (v *validation) checkACLTarget(self Ref, a *ACL) error {
	switch {
	case a.Switch != "" && a.PortGroup != "":
		return fail(KindACL, a.Name, "applies to switch %s and to port group %s: give one of them", Quote(a.Switch), Quote(a.PortGroup))
	case a.Switch == "" && a.PortGroup == "":
		return fail(KindACL, a.Name, "applies to no switch and no port group")
	case a.Switch != "" && v.switches[a.Switch] == nil, a.PortGroup != "" && v.portGroups[a.PortGroup] == nil:
		return v.missing(a.Target(), self, "applies to it")
	}
	return nil
}

func checkQoS(v *validation, q *QoS) error {
	self := Ref{KindQoS, q.Name}
	if v.switches[q.Switch] == nil {
		return v.missing(Ref{KindSwitch, q.Switch}, self, "applies to it")
	}
	if q.Key < 1 || q.Key > MaxQoSKey {
		return fail(KindQoS, q.Name, "key %d is out of range 1..%d", q.Key, MaxQoSKey)
	}
	if other, taken := v.takenBy(qosKeyClaim(q.Key), q.Name); taken {
		return fail(KindQoS, q.Name, "key %d is already used by QoS rule %s", q.Key, Quote(other))
	}
	if err := checkDirection(self, q.Direction); err != nil {
		return err
	}
	if err := checkPriority(self, q.Priority, MaxQoSPriority); err != nil {
		return err
	}
	switch {
	case q.DSCP != nil && (*q.DSCP < 0 || *q.DSCP > MaxDSCP):
		return fail(KindQoS, q.Name, "DSCP %d is out of range 0..%d", *q.DSCP, MaxDSCP)
	case q.Burst != 0 && q.Rate == 0:
		return fail(KindQoS, q.Name, "a burst (%d kb) needs a rate", q.Burst)
	case q.DSCP == nil && q.Rate == 0:
		return fail(KindQoS, q.Name, "marks no DSCP and limits no rate: give dscp=N, rate=KBPS or both")
	}
	if err := v.checkPolicyMatch(self, q.Switch, q.Direction, q.Match); err != nil {
		return err
	}
	if other, taken := v.takenBy(qosSlotClaim(q), q.Name); taken {
		return fail(KindQoS, q.Name, "already exists as QoS rule %s: same switch %s, direction, priority and match", Quote(other), Quote(q.Switch))
	}
	return nil
}

func checkPortGroup(v *validation, g *PortGroup) error {
	self := Ref{KindPortGroup, g.Name}
	again := firstRepeat(g.Ports)
	for i, p := range g.Ports {
		if v.ports[p] == nil {
			return v.missing(Ref{KindPort, p}, self, "holds it")
		}
		if i == again {
			return fail(KindPortGroup, g.Name, "port %s is listed twice", Quote(p))
		}
		v.claim(portInGroupClaim(p), g.Name) // the matches' rules read these
	}
	return nil
}

// checkAddressSet refuses the name of a group's derived set ($pg_ip4
// would be two sets) and, for a changed set (parsing thousands of
// addresses is the costly part), an entry that does not parse or that
// another entry already spells.
func checkAddressSet(v *validation, s *AddressSet) error {
	if g, _, ok := derivedFrom(s.Name); ok && v.portGroups[g] != nil {
		return fail(KindAddressSet, s.Name, "port group %s derives a set of that name ($%s): rename one of them", Quote(g), s.Name)
	}
	if !v.isCostly(Ref{KindAddressSet, s.Name}) {
		return nil
	}
	seen := make(map[string]string, len(s.Addresses))
	for _, a := range s.Addresses {
		c, err := canonicalAddress(a)
		if err != nil {
			return fail(KindAddressSet, s.Name, "address %s: %v", Quote(a), err)
		}
		if first, dup := seen[c]; dup {
			return fail(KindAddressSet, s.Name, "addresses %s and %s are the same", Quote(first), Quote(a))
		}
		seen[c] = a
	}
	return nil
}

// canonicalAddress is an address set entry in one spelling per value: an
// Ethernet address, an IPv4 or IPv6 address, or a prefix with its host
// bits cleared (a full-length prefix is its address), as a match reads it.
func canonicalAddress(a string) (string, error) {
	if mac, err := net.ParseMAC(a); err == nil && len(mac) == 6 {
		return mac.String(), nil
	}
	bad := fmt.Errorf("not an IPv4 or IPv6 address or prefix, nor an Ethernet address")
	if strings.Contains(a, "/") {
		p, err := netip.ParsePrefix(a)
		if err != nil {
			return "", bad
		}
		if p = p.Masked(); p.IsSingleIP() {
			return p.Addr().String(), nil
		}
		return p.String(), nil
	}
	ip, err := netip.ParseAddr(a)
	if err != nil || ip.Zone() != "" {
		return "", bad
	}
	return ip.String(), nil
}
