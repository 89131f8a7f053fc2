package topology

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
)

// Kind is a kind of model object.
type Kind uint8

// The kinds, in the order of the Model's fields.
const (
	KindChassis Kind = iota
	KindSwitch
	KindPort
	KindPortPair
	KindPortPairGroup
	KindPortChain
	KindClassifier
	KindACL
	KindPortGroup
	KindAddressSet
	KindQoS
	KindDHCPOptions
	KindDNSRecord
	KindLoadBalancer
	KindRouter
	KindRouterPort
	numKinds
)

// String is the kind as errors name it ("port pair").
func (k Kind) String() string {
	if k >= numKinds {
		return fmt.Sprintf("kind %d", k)
	}
	return kinds[k].noun()
}

// Ref names one object.
type Ref struct {
	Kind Kind
	Name string
}

func (r Ref) String() string { return r.Kind.String() + " " + Quote(r.Name) }

// kind tells the index everything it needs about one kind of object:
// where its objects live in a Model, a Changes and an Index, how to
// compare and copy one, what it references and what it claims. The
// machinery of the index (loading, staging, rolling back, diffing,
// accessors' bookkeeping) is written once against this description;
// a kind's rules live in the rules list.
type kind[T named] struct {
	id   Kind
	name string // as errors say it: "port pair"
	// model, changes and objects locate the kind's objects.
	model   func(*Model) *[]T
	changes func(*Changes) *map[string]*T
	objects func(*Index) *map[string]*T
	// equal compares two objects field by field (nil and empty slices and
	// maps are equal); clone copies one deeply.
	equal func(a, b *T) bool
	clone func(T) T
	// refs lists the objects it names; the index keeps the reverse
	// (who references X) for accessors and to recheck referrers.
	refs func(o *T, ref func(Kind, string))
	// claims lists the values it holds that a rule may reserve; the
	// kind's rules claim the same values as they check it.
	claims func(o *T, claim func(claim))
	// nearby, if set, marks the objects whose rules read this one other
	// than by referencing it (a pair's ports' classifiers, say).
	nearby func(ix *Index, o *T, mark func(Ref))
	// derivedName: the name is made of other fields (a DNS record's
	// SWITCH/HOSTNAME), which the kind's rule checks, not CheckName.
	derivedName bool
}

// kindOps is a kind, whatever its type: what the index does with every
// kind alike.
type kindOps interface {
	noun() string
	presize(ix *Index, m *Model) int
	load(ix *Index, m *Model)
	stage(tx *txn, c *Changes) error
	export(ix *Index, m *Model)
	copyObjects(from, to *Model)
	deepCopy(from, to *Model)
	diff(a, b *Model, c *Changes)
	count(c *Changes) int
	merge(into, from *Changes)
	appendRefs(c *Changes, out []Ref) []Ref
	has(c *Changes, name string) bool
}

// kinds is every kind, indexed by Kind. Adding a kind: its Kind, its
// fields in Model, Changes and Index, its kind description here (where
// it lives, equal and clone, refs, claims, nearby), its rules in the
// rules list, and the accessors the renderer needs. Loading, staging,
// rolling back, Diff, Merge, Model and the referrer bookkeeping need
// nothing.
var kinds = [numKinds]kindOps{
	KindChassis:       chassisKind,
	KindSwitch:        switchKind,
	KindPort:          portKind,
	KindPortPair:      pairKind,
	KindPortPairGroup: groupKind,
	KindPortChain:     chainKind,
	KindClassifier:    classifierKind,
	KindACL:           aclKind,
	KindPortGroup:     portGroupKind,
	KindAddressSet:    addressSetKind,
	KindQoS:           qosKind,
	KindDHCPOptions:   dhcpOptionsKind,
	KindDNSRecord:     dnsRecordKind,
	KindLoadBalancer:  loadBalancerKind,
	KindRouter:        routerKind,
	KindRouterPort:    routerPortKind,
}

var chassisKind = &kind[Chassis]{id: KindChassis, name: "chassis",
	model:   func(m *Model) *[]Chassis { return &m.Chassis },
	changes: func(c *Changes) *map[string]*Chassis { return &c.Chassis },
	objects: func(ix *Index) *map[string]*Chassis { return &ix.chassis },
	equal:   same[Chassis], clone: copyOf[Chassis],
	refs: func(*Chassis, func(Kind, string)) {},
	claims: func(c *Chassis, claim func(claim)) {
		if ip := net.ParseIP(c.IP).To4(); ip != nil {
			claim(chassisIPClaim(ip))
		}
	},
}

var switchKind = &kind[Switch]{id: KindSwitch, name: "switch",
	model:   func(m *Model) *[]Switch { return &m.Switches },
	changes: func(c *Changes) *map[string]*Switch { return &c.Switches },
	objects: func(ix *Index) *map[string]*Switch { return &ix.switches },
	equal: func(a, b *Switch) bool {
		return a.Name == b.Name && a.Key == b.Key && slices.Equal(a.LoadBalancers, b.LoadBalancers)
	},
	clone: func(s Switch) Switch { s.LoadBalancers = slices.Clone(s.LoadBalancers); return s },
	refs: func(s *Switch, ref func(Kind, string)) {
		for _, lb := range s.LoadBalancers {
			ref(KindLoadBalancer, lb)
		}
	},
	claims: func(s *Switch, claim func(claim)) { claim(switchKeyClaim(s.Key)) },
}

var portKind = &kind[Port]{id: KindPort, name: "port",
	model:   func(m *Model) *[]Port { return &m.Ports },
	changes: func(c *Changes) *map[string]*Port { return &c.Ports },
	objects: func(ix *Index) *map[string]*Port { return &ix.ports },
	equal:   equalPorts, clone: clonePort,
	refs: func(p *Port, ref func(Kind, string)) {
		ref(KindSwitch, p.Switch)
		if rc := p.RequestedChassis(); rc != "" {
			ref(KindChassis, rc)
		}
		for _, id := range [2]string{p.DHCPv4Options, p.DHCPv6Options} {
			if id != "" {
				ref(KindDHCPOptions, id)
			}
		}
		if rp := p.RouterPort(); rp != "" {
			ref(KindRouterPort, rp)
		}
	},
	claims: portClaims,
	nearby: portNearby,
}

var pairKind = &kind[PortPair]{id: KindPortPair, name: "port pair",
	model:   func(m *Model) *[]PortPair { return &m.PortPairs },
	changes: func(c *Changes) *map[string]*PortPair { return &c.PortPairs },
	objects: func(ix *Index) *map[string]*PortPair { return &ix.pairs },
	equal: func(a, b *PortPair) bool {
		return a.Name == b.Name && a.Switch == b.Switch && a.InPort == b.InPort && a.OutPort == b.OutPort &&
			a.Weight == b.Weight && maps.Equal(a.Options, b.Options)
	},
	clone: func(pp PortPair) PortPair { pp.Options = maps.Clone(pp.Options); return pp },
	refs: func(pp *PortPair, ref func(Kind, string)) {
		ref(KindSwitch, pp.Switch)
		ref(KindPort, pp.InPort)
		ref(KindPort, pp.OutPort)
	},
	claims: func(pp *PortPair, claim func(claim)) {
		claim(pairPortsClaim(pp.InPort, pp.OutPort))
		claim(vnfPortClaim(pp.InPort))
		claim(vnfPortClaim(pp.OutPort))
	},
	nearby: pairNearby,
}

var groupKind = &kind[PortPairGroup]{id: KindPortPairGroup, name: "port pair group",
	model:   func(m *Model) *[]PortPairGroup { return &m.PortPairGroups },
	changes: func(c *Changes) *map[string]*PortPairGroup { return &c.PortPairGroups },
	objects: func(ix *Index) *map[string]*PortPairGroup { return &ix.groups },
	equal: func(a, b *PortPairGroup) bool {
		return a.Name == b.Name && slices.Equal(a.Pairs, b.Pairs) && maps.Equal(a.Options, b.Options)
	},
	clone: func(g PortPairGroup) PortPairGroup {
		g.Pairs, g.Options = slices.Clone(g.Pairs), maps.Clone(g.Options)
		return g
	},
	refs: func(g *PortPairGroup, ref func(Kind, string)) {
		for _, p := range g.Pairs {
			ref(KindPortPair, p)
		}
	},
	claims: func(g *PortPairGroup, claim func(claim)) {
		for _, p := range g.Pairs {
			claim(pairInGroupClaim(p))
		}
	},
}

var chainKind = &kind[PortChain]{id: KindPortChain, name: "chain",
	model:   func(m *Model) *[]PortChain { return &m.PortChains },
	changes: func(c *Changes) *map[string]*PortChain { return &c.PortChains },
	objects: func(ix *Index) *map[string]*PortChain { return &ix.chains },
	equal: func(a, b *PortChain) bool {
		return a.Name == b.Name && a.Switch == b.Switch && a.Key == b.Key && slices.Equal(a.Groups, b.Groups)
	},
	clone: func(c PortChain) PortChain { c.Groups = slices.Clone(c.Groups); return c },
	refs: func(c *PortChain, ref func(Kind, string)) {
		ref(KindSwitch, c.Switch)
		for _, g := range c.Groups {
			ref(KindPortPairGroup, g)
		}
	},
	claims: func(c *PortChain, claim func(claim)) {
		claim(chainKeyClaim(c.Key))
		for _, g := range c.Groups {
			claim(groupInChainClaim(g))
		}
	},
}

var classifierKind = &kind[Classifier]{id: KindClassifier, name: "classifier",
	model:   func(m *Model) *[]Classifier { return &m.Classifiers },
	changes: func(c *Changes) *map[string]*Classifier { return &c.Classifiers },
	objects: func(ix *Index) *map[string]*Classifier { return &ix.classifiers },
	equal:   same[Classifier], clone: copyOf[Classifier],
	refs: func(c *Classifier, ref func(Kind, string)) {
		ref(KindSwitch, c.Switch)
		ref(KindPortChain, c.Chain)
		ref(KindPort, c.Port)
	},
	claims: func(c *Classifier, claim func(claim)) {
		claim(classifierKeyClaim(c.Key))
		claim(portPriorityClaim(c))
	},
	nearby: classifierNearby,
}

func same[T comparable](a, b *T) bool { return *a == *b }
func copyOf[T any](o T) T             { return o }

func equalPorts(a, b *Port) bool {
	return a.Name == b.Name && a.Switch == b.Switch && a.Key == b.Key && a.Type == b.Type &&
		slices.Equal(a.Addresses, b.Addresses) && slices.Equal(a.PortSecurity, b.PortSecurity) &&
		(a.Enabled == nil) == (b.Enabled == nil) && (a.Enabled == nil || *a.Enabled == *b.Enabled) &&
		maps.Equal(a.Options, b.Options) && a.DHCPv4Options == b.DHCPv4Options && a.DHCPv6Options == b.DHCPv6Options
}

func clonePort(p Port) Port {
	p.Addresses = slices.Clone(p.Addresses)
	p.PortSecurity = slices.Clone(p.PortSecurity)
	if p.Enabled != nil {
		e := *p.Enabled
		p.Enabled = &e
	}
	p.Options = maps.Clone(p.Options)
	return p
}

// portClaims claims the port's key and, up to the first address that does
// not parse (the port's rule refuses it), its MACs and IPs.
func portClaims(p *Port, claim func(claim)) {
	claim(portKeyClaim(p.Switch, p.Key))
	if p.Type == PortTypeRouter {
		routerPortClaims(p, claim)
		return
	}
	for _, a := range p.Addresses {
		addr, err := ParseAddress(a)
		if err != nil {
			return
		}
		if addr.Unknown {
			continue
		}
		claim(macClaim(p.Switch, addr.MAC))
		for _, ip := range addr.IPs {
			claim(ipClaim(p.Switch, ip))
		}
	}
}

// pairNearby marks the rules that read a pair without naming it: the
// classifiers of its ports (a VNF port cannot be classified) and the
// chain its group is in (a port twice in a chain would loop).
func pairNearby(ix *Index, pp *PortPair, mark func(Ref)) {
	for _, port := range [2]string{pp.InPort, pp.OutPort} {
		ix.eachReferrer(Ref{KindPort, port}, KindClassifier, mark)
	}
	ix.eachReferrer(Ref{KindPortPair, pp.Name}, KindPortPairGroup, func(g Ref) {
		ix.eachReferrer(g, KindPortChain, mark)
	})
}

// classifierNearby marks the classifiers a classifier could overlap: those
// of its port and priority.
func classifierNearby(ix *Index, c *Classifier, mark func(Ref)) {
	ix.eachHolder(portPriorityClaim(c), func(name string) bool {
		mark(Ref{KindClassifier, name})
		return true
	})
}

func (k *kind[T]) noun() string { return k.name }

// checkName is the kind's first check of a name.
func (k *kind[T]) checkName(name string) error {
	if k.derivedName {
		return nil
	}
	return CheckName(k.name, name)
}

func nameOf[T named](o *T) string { return (*o).objName() }

// presize makes the kind's map for m's objects and returns their number.
func (k *kind[T]) presize(ix *Index, m *Model) int {
	n := len(*k.model(m))
	*k.objects(ix) = make(map[string]*T, n)
	return n
}

// load puts every object of m in the index, the first of any that share a
// name (the kind's first rule refuses the others), with its references.
// Its claims are made by the rules, as they check it (see claim).
func (k *kind[T]) load(ix *Index, m *Model) {
	objs := *k.objects(ix)
	list := *k.model(m)
	for i := len(list) - 1; i >= 0; i-- { // the first of a name is put last
		objs[nameOf(&list[i])] = &list[i]
	}
	if ix.referrers == nil {
		return
	}
	dups := len(objs) < len(list)
	for i := range list {
		o := &list[i]
		name := nameOf(o)
		if dups && objs[name] != o {
			continue
		}
		k.refs(o, func(to Kind, target string) { ix.addReferrer(Ref{to, target}, k.id, name) })
	}
}

// put replaces the named object with o (nil: deletes it), keeping the
// references and claims in step.
func (k *kind[T]) put(ix *Index, name string, o *T) {
	objs := *k.objects(ix)
	if old := objs[name]; old != nil {
		k.unregister(ix, name, old)
	}
	if o == nil {
		delete(objs, name)
		return
	}
	objs[name] = o
	k.register(ix, name, o)
}

func (k *kind[T]) register(ix *Index, name string, o *T) {
	k.claims(o, func(c claim) { ix.hold(c, name) })
	k.refs(o, func(to Kind, target string) { ix.addReferrer(Ref{to, target}, k.id, name) })
}

func (k *kind[T]) unregister(ix *Index, name string, o *T) {
	k.claims(o, func(c claim) { ix.release(c, name) })
	k.refs(o, func(to Kind, target string) { ix.removeReferrer(Ref{to, target}, k.id, name) })
}

// stage puts the kind's changes in the index, by name, logging what each
// replaced. A change keyed by another name than its object's is refused.
func (k *kind[T]) stage(tx *txn, c *Changes) error {
	changes := *k.changes(c)
	if len(changes) == 0 {
		return nil
	}
	objs := *k.objects(tx.ix)
	for _, name := range slices.Sorted(maps.Keys(changes)) {
		next, old := changes[name], objs[name]
		switch {
		case next != nil && nameOf(next) != name:
			return &Error{What: k.name + " " + Quote(name), Why: fmt.Sprintf("the change holds %s %s", k.name, Quote(nameOf(next)))}
		case next == nil && old == nil, next != nil && old != nil && k.equal(next, old):
			continue // nothing to do
		case next != nil:
			copied := k.clone(*next)
			next = &copied
		}
		k.put(tx.ix, name, next)
		tx.log = append(tx.log, &staged[T]{k: k, name: name, old: old, next: next})
	}
	return nil
}

// staged is one change put in the index: enough to take it back, and to
// find the rules it may break.
type staged[T named] struct {
	k         *kind[T]
	name      string
	old, next *T
}

func (s *staged[T]) undo(ix *Index) { s.k.put(ix, s.name, s.old) }

// touch marks the objects whose rules may now fail: the object itself,
// what references it, what it references (before and after: a group's
// rule reads its chain) and its kind's nearby objects.
func (s *staged[T]) touch(ix *Index, mark func(Ref)) {
	self := Ref{s.k.id, s.name}
	mark(self)
	for from := range numKinds {
		ix.eachReferrer(self, from, mark)
	}
	for _, o := range [2]*T{s.old, s.next} {
		if o == nil {
			continue
		}
		s.k.refs(o, func(to Kind, name string) { mark(Ref{to, name}) })
		if s.k.nearby != nil {
			s.k.nearby(ix, o, mark)
		}
	}
}

// export appends the kind's objects to m, copied and sorted by name.
func (k *kind[T]) export(ix *Index, m *Model) {
	objs := *k.objects(ix)
	if len(objs) == 0 {
		return
	}
	list := make([]T, 0, len(objs))
	for _, o := range objs {
		list = append(list, k.clone(*o))
	}
	slices.SortFunc(list, func(a, b T) int { return strings.Compare(a.objName(), b.objName()) })
	*k.model(m) = list
}

func (k *kind[T]) copyObjects(from, to *Model) {
	*k.model(to) = slices.Clone(*k.model(from))
}

// deepCopy copies the kind's objects and everything they hold.
func (k *kind[T]) deepCopy(from, to *Model) {
	list := *k.model(from)
	if list == nil {
		return
	}
	out := make([]T, len(list))
	for i, o := range list {
		out[i] = k.clone(o)
	}
	*k.model(to) = out
}

// diff records the objects of the kind that b adds, changes or removes.
func (k *kind[T]) diff(a, b *Model, c *Changes) {
	listA, listB := *k.model(a), *k.model(b)
	old := make(map[string]*T, len(listA))
	for i := range listA {
		old[nameOf(&listA[i])] = &listA[i]
	}
	changes := k.changes(c)
	put := func(name string, o *T) {
		if *changes == nil {
			*changes = map[string]*T{}
		}
		(*changes)[name] = o
	}
	for i := range listB {
		o := &listB[i]
		name := nameOf(o)
		if was, ok := old[name]; ok {
			delete(old, name)
			if k.equal(was, o) {
				continue
			}
		}
		put(name, o)
	}
	for name := range old {
		put(name, nil)
	}
}

func (k *kind[T]) count(c *Changes) int { return len(*k.changes(c)) }

func (k *kind[T]) merge(into, from *Changes) { mergeKind(k.changes(into), *k.changes(from)) }

func (k *kind[T]) appendRefs(c *Changes, out []Ref) []Ref {
	for _, name := range slices.Sorted(maps.Keys(*k.changes(c))) {
		out = append(out, Ref{k.id, name})
	}
	return out
}

func (k *kind[T]) has(c *Changes, name string) bool {
	_, ok := (*k.changes(c))[name]
	return ok
}
