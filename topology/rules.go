package topology

// validation is one run of the rules over an index.
type validation struct {
	*Index
	// changed is what changed since the model was last valid: the objects
	// that get the costly checks (compiling a match, pairing classifiers
	// for overlaps, parsing an address set), with the matches that name
	// them; nil: every object.
	changed *Changes
	// dirtyGroups: the port groups that changed or hold a changed port,
	// found once per run when a match names a group (see groupChanged).
	dirtyGroups map[string]bool
	// loading: the rules make the claims of the objects they check (an
	// index being built); else the objects were staged with theirs.
	loading bool
}

func (v *validation) isCostly(r Ref) bool { return v.changed == nil || v.changed.has(r) }

// claim makes name a holder of c, while loading, and returns the first
// holder: loading checks each object against those before it, in the
// model's order, one claim after the other, as Validate always did.
func (v *validation) claim(c claim, name string) (first string, held bool) {
	if v.loading {
		return v.hold(c, name), true
	}
	return v.firstHolder(c)
}

// takenBy claims c for name and returns its first holder if that is
// another object: the claim's owner, which the rules keep.
func (v *validation) takenBy(c claim, name string) (string, bool) {
	first, held := v.claim(c, name)
	return first, held && first != name
}

// rule is one check of the objects of a kind against the index.
type rule struct {
	kind Kind
	// all checks every object of a model being indexed, in its order;
	// some checks the named objects of the index.
	all  func(v *validation, m *Model, first bool) error
	some func(v *validation, names []string, first bool) error
}

// rules run in this order, which is the order Validate reports the first
// violation in. A kind's first rule checks its names (CheckName, and, in
// a model, duplicates) before the rule itself (a kind with derived names
// checks them in its rule).
var rules = []rule{
	ruleFor(chassisKind, checkChassis),
	ruleFor(switchKind, checkSwitch),
	ruleFor(routerKind, checkRouter),
	ruleFor(routerPortKind, checkRouterPort),
	ruleFor(portKind, checkPort),
	ruleFor(routerKind, checkRoutes), // after the ports: a router port they join is named first
	ruleFor(pairKind, checkPair),
	ruleFor(chainKind, checkChain),
	ruleFor(groupKind, checkGroup),
	ruleFor(chainKind, checkChainLoops),
	ruleFor(classifierKind, checkClassifier),
	ruleFor(classifierKind, checkOverlaps),
	ruleFor(portGroupKind, checkPortGroup),
	ruleFor(addressSetKind, checkAddressSet),
	ruleFor(aclKind, checkACL),
	ruleFor(qosKind, checkQoS),
	ruleFor(dhcpOptionsKind, checkDHCPOptions),
	ruleFor(portKind, checkPortDHCP),
	ruleFor(dnsRecordKind, checkDNSRecord),
	ruleFor(loadBalancerKind, checkLoadBalancer),
	ruleFor(switchKind, checkSwitchLBs),
	ruleFor(portKind, checkPortVIPs),
}

func ruleFor[T named](k *kind[T], check func(v *validation, o *T) error) rule {
	return rule{kind: k.id,
		all: func(v *validation, m *Model, first bool) error {
			objs := *k.objects(v.Index)
			list := *k.model(m)
			dups := len(objs) < len(list)
			for i := range list {
				o := &list[i]
				if first {
					if err := k.checkName(nameOf(o)); err != nil {
						return err
					}
					if dups && objs[nameOf(o)] != o { // the index holds the first of that name
						return fail(k.id, nameOf(o), "already exists")
					}
				}
				if err := check(v, o); err != nil {
					return err
				}
			}
			return nil
		},
		some: func(v *validation, names []string, first bool) error {
			objs := *k.objects(v.Index)
			for _, name := range names {
				o := objs[name]
				if o == nil { // deleted
					continue
				}
				if first {
					if err := k.checkName(name); err != nil {
						return err
					}
				}
				if err := check(v, o); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// all runs every rule on every object of m, which the index holds.
func (v *validation) all(m *Model) error {
	var named [numKinds]bool
	for _, r := range rules {
		first := !named[r.kind]
		named[r.kind] = true
		if err := r.all(v, m, first); err != nil {
			return err
		}
	}
	return nil
}

// some runs every rule on the objects named, by kind, in name order.
func (v *validation) some(names *[numKinds][]string) error {
	var named [numKinds]bool
	for _, r := range rules {
		first := !named[r.kind]
		named[r.kind] = true
		if err := r.some(v, names[r.kind], first); err != nil {
			return err
		}
	}
	return nil
}
