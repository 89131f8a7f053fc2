package topology

// Changes is a set of changes to a model, object by object: for each kind,
// the new value of each changed object by name, nil for one deleted.
// Generation is the generation of the model the changes lead to.
type Changes struct {
	Generation     uint64
	Chassis        map[string]*Chassis
	Switches       map[string]*Switch
	Ports          map[string]*Port
	PortPairs      map[string]*PortPair
	PortPairGroups map[string]*PortPairGroup
	PortChains     map[string]*PortChain
	Classifiers    map[string]*Classifier
	ACLs           map[string]*ACL
	PortGroups     map[string]*PortGroup
	AddressSets    map[string]*AddressSet
	QoS            map[string]*QoS
	DHCPOptions    map[string]*DHCPOptions
	DNSRecords     map[string]*DNSRecord
	LoadBalancers  map[string]*LoadBalancer
	Routers        map[string]*Router
	RouterPorts    map[string]*RouterPort
}

// Len is the number of objects changed.
func (c *Changes) Len() int {
	n := 0
	for _, k := range kinds {
		n += k.count(c)
	}
	return n
}

// Empty reports whether no object changed (the generation may have).
func (c *Changes) Empty() bool { return c.Len() == 0 }

// Refs lists the changed objects by kind (in the order of Kind), then by
// name.
func (c *Changes) Refs() []Ref {
	out := make([]Ref, 0, c.Len())
	for _, k := range kinds {
		out = k.appendRefs(c, out)
	}
	return out
}

// has reports whether the changes hold the object (changed or deleted).
func (c *Changes) has(r Ref) bool { return r.Kind < numKinds && kinds[r.Kind].has(c, r.Name) }

// Diff returns the changes that turn model a into model b, object by
// object, in O(size of both); a nil model is an empty one. The changes
// point into b.
func Diff(a, b *Model) *Changes {
	if a == nil {
		a = &Model{}
	}
	if b == nil {
		b = &Model{}
	}
	c := &Changes{Generation: b.Generation}
	for _, k := range kinds {
		k.diff(a, b, c)
	}
	return c
}
