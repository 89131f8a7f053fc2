package topology

import "slices"

// Index is a validated model kept in maps, with the reverse references a
// renderer asks for (the ports of a switch, the classifiers of a chain),
// changed in place by Apply at the cost of the change, not of the model.
//
// Pointers an Index returns are its own: callers must not modify the
// objects (Apply replaces objects, it never changes one in place, so a
// pointer keeps showing the object as it was). An Index is not safe for
// concurrent use.
type Index struct {
	gen           uint64
	chassis       map[string]*Chassis
	switches      map[string]*Switch
	ports         map[string]*Port
	pairs         map[string]*PortPair
	groups        map[string]*PortPairGroup
	chains        map[string]*PortChain
	classifiers   map[string]*Classifier
	acls          map[string]*ACL
	portGroups    map[string]*PortGroup
	addressSets   map[string]*AddressSet
	qos           map[string]*QoS
	dhcpOptions   map[string]*DHCPOptions
	dnsRecords    map[string]*DNSRecord
	loadBalancers map[string]*LoadBalancer
	routers       map[string]*Router
	routerPorts   map[string]*RouterPort

	// claims: the first holder of each claimed value, the one a rule
	// keeps (later ones are refused naming it, which is the order
	// Validate reports in); moreHolders: the later ones, in order, when
	// there are any (the pairs of a VNF port, say).
	claims      map[claim]string
	moreHolders map[claim][]string
	// referrers: who references each object, by kind, sorted by name.
	referrers map[refKey]*nameSet
	// refKinds counts the references from a kind to a kind, so that
	// looking for an object's referrers skips the kinds that have none.
	refKinds [numKinds][numKinds]int
}

// refKey is the objects of one kind that reference an object.
type refKey struct {
	to   Ref
	from Kind
}

// NewIndex validates m, as Validate does, and indexes a copy of its
// objects. The copies share the objects' slices and maps (addresses,
// options, groups...) with m: change m's objects by replacing those, not
// by writing into them, once m is indexed. (Copying them all would cost
// NewIndex a fifth of its time.)
func NewIndex(m *Model) (*Index, error) {
	return newIndex(copyObjects(m), nil, true)
}

// newIndex validates m and indexes it in place. The costly checks run
// for the objects in changed (all if changed is nil). Without refs it
// keeps no reverse references: enough to validate, not to serve.
func newIndex(m *Model, changed *Changes, refs bool) (*Index, error) {
	if m == nil {
		m = &Model{}
	}
	ix := &Index{gen: m.Generation, moreHolders: map[claim][]string{}}
	n := 0
	for _, k := range kinds {
		n += k.presize(ix, m)
	}
	ix.claims = make(map[claim]string, 2*n) // a key and an address or two, mostly
	if refs {
		ix.referrers = make(map[refKey]*nameSet, n)
	}
	for _, k := range kinds {
		k.load(ix, m)
	}
	v := &validation{Index: ix, loading: true, changed: changed}
	if err := v.all(m); err != nil {
		return nil, err
	}
	return ix, nil
}

// copyObjects copies m's lists of objects.
func copyObjects(m *Model) *Model {
	out := &Model{}
	if m == nil {
		return out
	}
	out.Generation = m.Generation
	for _, k := range kinds {
		k.copyObjects(m, out)
	}
	return out
}

// Generation is the generation of the model the index holds.
func (ix *Index) Generation() uint64 { return ix.gen }

// Model returns a copy of the whole model, sorted.
func (ix *Index) Model() *Model {
	m := &Model{Generation: ix.gen}
	for _, k := range kinds {
		k.export(ix, m)
	}
	return m
}

// Apply validates the changes against the index and applies them, all or
// nothing: on error the index is as it was. The error names an object
// and the rule it breaks, as Validate's do; deleting an object that
// something still references is refused naming the referrer. Deleting an
// object that does not exist is nothing to do. The cost is that of the
// changed objects and of the neighbours whose rules read them. On
// success the index takes the changes' generation.
func (ix *Index) Apply(c *Changes) error {
	if c == nil {
		return nil
	}
	tx := &txn{ix: ix}
	err := tx.stage(c)
	if err == nil {
		err = tx.check(c)
	}
	if err != nil {
		tx.rollback()
		return err
	}
	ix.gen = c.Generation
	return nil
}

// txn is one Apply: the changes staged in the index, in order, so that
// they can be checked and, if need be, taken back.
type txn struct {
	ix  *Index
	log []change
}

// change is one staged object, whatever its kind.
type change interface {
	undo(ix *Index)
	touch(ix *Index, mark func(Ref))
}

func (tx *txn) stage(c *Changes) error {
	for _, k := range kinds {
		if err := k.stage(tx, c); err != nil {
			return err
		}
	}
	return nil
}

func (tx *txn) rollback() {
	for i := len(tx.log) - 1; i >= 0; i-- {
		tx.log[i].undo(tx.ix)
	}
}

// check runs the rules on every object the staged changes may affect;
// the changed objects get the costly checks too.
func (tx *txn) check(c *Changes) error {
	marked := map[Ref]bool{}
	mark := func(r Ref) { marked[r] = true }
	for _, s := range tx.log {
		s.touch(tx.ix, mark)
	}
	var touched [numKinds][]string
	for r := range marked {
		touched[r.Kind] = append(touched[r.Kind], r.Name)
	}
	for k := range touched {
		slices.Sort(touched[k])
	}
	v := &validation{Index: tx.ix, changed: c}
	return v.some(&touched)
}

func (ix *Index) addReferrer(to Ref, from Kind, name string) {
	k := refKey{to, from}
	s := ix.referrers[k]
	if s == nil {
		s = &nameSet{}
		ix.referrers[k] = s
	}
	if s.add(name) {
		ix.refKinds[from][to.Kind]++
	}
}

func (ix *Index) removeReferrer(to Ref, from Kind, name string) {
	k := refKey{to, from}
	s := ix.referrers[k]
	if s == nil || !s.remove(name) {
		return
	}
	ix.refKinds[from][to.Kind]--
	if s.n == 0 {
		delete(ix.referrers, k)
	}
}

// eachReferrer calls fn with every object of kind from that references
// to, in name order.
func (ix *Index) eachReferrer(to Ref, from Kind, fn func(Ref)) {
	if to.Kind >= numKinds || ix.refKinds[from][to.Kind] == 0 {
		return
	}
	if s := ix.referrers[refKey{to, from}]; s != nil {
		s.each(func(name string) { fn(Ref{from, name}) })
	}
}

// referring returns the objects of a kind that reference to, by name.
func referring[T any](ix *Index, objs map[string]*T, to Ref, from Kind) []*T {
	s := ix.referrers[refKey{to, from}]
	if s == nil {
		return nil
	}
	out := make([]*T, 0, s.n)
	s.each(func(name string) { out = append(out, objs[name]) })
	return out
}

// firstReferring is the object of a kind that references to (the rules
// allow one at most), or nil.
func firstReferring[T any](ix *Index, objs map[string]*T, to Ref, from Kind) *T {
	if s := ix.referrers[refKey{to, from}]; s != nil {
		if name, ok := s.first(); ok {
			return objs[name]
		}
	}
	return nil
}

// Chassis, Switch, Port, PortPair, PortPairGroup, PortChain and
// Classifier return the named object, or nil.
func (ix *Index) Chassis(name string) *Chassis             { return ix.chassis[name] }
func (ix *Index) Switch(name string) *Switch               { return ix.switches[name] }
func (ix *Index) Port(name string) *Port                   { return ix.ports[name] }
func (ix *Index) PortPair(name string) *PortPair           { return ix.pairs[name] }
func (ix *Index) PortPairGroup(name string) *PortPairGroup { return ix.groups[name] }
func (ix *Index) PortChain(name string) *PortChain         { return ix.chains[name] }
func (ix *Index) Classifier(name string) *Classifier       { return ix.classifiers[name] }

// PortsOf returns the ports of a switch, by name.
func (ix *Index) PortsOf(sw string) []*Port {
	return referring(ix, ix.ports, Ref{KindSwitch, sw}, KindPort)
}

// PortsRequesting returns the ports whose requested-chassis is chassis,
// by name.
func (ix *Index) PortsRequesting(chassis string) []*Port {
	return referring(ix, ix.ports, Ref{KindChassis, chassis}, KindPort)
}

// PairsOfPort returns the port pairs that use a port (in or out), by name.
func (ix *Index) PairsOfPort(port string) []*PortPair {
	return referring(ix, ix.pairs, Ref{KindPort, port}, KindPortPair)
}

// GroupOfPair returns the group a pair is in, or nil.
func (ix *Index) GroupOfPair(pair string) *PortPairGroup {
	return firstReferring(ix, ix.groups, Ref{KindPortPair, pair}, KindPortPairGroup)
}

// ChainOfGroup returns the chain a group belongs to, or nil.
func (ix *Index) ChainOfGroup(group string) *PortChain {
	return firstReferring(ix, ix.chains, Ref{KindPortPairGroup, group}, KindPortChain)
}

// ChainsOf returns the chains of a switch, by name.
func (ix *Index) ChainsOf(sw string) []*PortChain {
	return referring(ix, ix.chains, Ref{KindSwitch, sw}, KindPortChain)
}

// ClassifiersOf, ClassifiersOfChain and ClassifiersOfPort return the
// classifiers of a switch, a chain or a port, by name.
func (ix *Index) ClassifiersOf(sw string) []*Classifier {
	return referring(ix, ix.classifiers, Ref{KindSwitch, sw}, KindClassifier)
}

func (ix *Index) ClassifiersOfChain(chain string) []*Classifier {
	return referring(ix, ix.classifiers, Ref{KindPortChain, chain}, KindClassifier)
}

func (ix *Index) ClassifiersOfPort(port string) []*Classifier {
	return referring(ix, ix.classifiers, Ref{KindPort, port}, KindClassifier)
}

// ACL, PortGroup, AddressSet and QoSRule return the named object, or nil.
func (ix *Index) ACL(name string) *ACL               { return ix.acls[name] }
func (ix *Index) PortGroup(name string) *PortGroup   { return ix.portGroups[name] }
func (ix *Index) AddressSet(name string) *AddressSet { return ix.addressSets[name] }
func (ix *Index) QoSRule(name string) *QoS           { return ix.qos[name] }

// ACLsOf and ACLsOfPortGroup return the ACLs that apply to a switch or to
// a port group, by name.
func (ix *Index) ACLsOf(sw string) []*ACL {
	return referring(ix, ix.acls, Ref{KindSwitch, sw}, KindACL)
}

func (ix *Index) ACLsOfPortGroup(pg string) []*ACL {
	return referring(ix, ix.acls, Ref{KindPortGroup, pg}, KindACL)
}

// PortGroupsOfPort returns the port groups that hold a port, by name.
func (ix *Index) PortGroupsOfPort(port string) []*PortGroup {
	return referring(ix, ix.portGroups, Ref{KindPort, port}, KindPortGroup)
}

// QoSOf returns the QoS rules of a switch, by name.
func (ix *Index) QoSOf(sw string) []*QoS {
	return referring(ix, ix.qos, Ref{KindSwitch, sw}, KindQoS)
}

// ACLsNaming and QoSNaming return the ACLs and QoS rules whose match
// names r (a port, a port group, through @pg or its derived $pg_ip4 and
// $pg_ip6, or an address set), by name: what to render again when r
// changes.
func (ix *Index) ACLsNaming(r Ref) []*ACL { return matchUsers(ix, ix.acls, KindACL, r) }
func (ix *Index) QoSNaming(r Ref) []*QoS  { return matchUsers(ix, ix.qos, KindQoS, r) }

func matchUsers[T any](ix *Index, objs map[string]*T, user Kind, r Ref) []*T {
	var names []string
	ix.eachHolder(matchRefClaim(user, r), func(name string) bool {
		names = append(names, name)
		return true
	})
	if names == nil {
		return nil
	}
	slices.Sort(names)
	out := make([]*T, 0, len(names))
	for _, n := range slices.Compact(names) {
		out = append(out, objs[n])
	}
	return out
}

// DHCPOption and DNSRecord return the named object, or nil.
func (ix *Index) DHCPOption(name string) *DHCPOptions { return ix.dhcpOptions[name] }
func (ix *Index) DNSRecord(name string) *DNSRecord    { return ix.dnsRecords[name] }

// PortsUsingDHCPOptions returns the ports whose DHCPv4 or DHCPv6 options
// are the named ones, by name: what to render again when they change.
func (ix *Index) PortsUsingDHCPOptions(name string) []*Port {
	return referring(ix, ix.ports, Ref{KindDHCPOptions, name}, KindPort)
}

// DNSRecordsOf returns the DNS records of a switch, by host name (their
// names share the switch's prefix).
func (ix *Index) DNSRecordsOf(sw string) []*DNSRecord {
	return referring(ix, ix.dnsRecords, Ref{KindSwitch, sw}, KindDNSRecord)
}

// LoadBalancer returns the named load balancer, or nil.
func (ix *Index) LoadBalancer(name string) *LoadBalancer { return ix.loadBalancers[name] }

// SwitchesUsingLB returns the names of the switches that use a load
// balancer, sorted: what to render again when it changes.
func (ix *Index) SwitchesUsingLB(name string) []string {
	var out []string
	ix.eachReferrer(Ref{KindLoadBalancer, name}, KindSwitch, func(r Ref) { out = append(out, r.Name) })
	return out
}
