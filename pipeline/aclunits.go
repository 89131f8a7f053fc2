package pipeline

import (
	"slices"

	"github.com/chainwire/chainwire/topology"
	"github.com/chainwire/chainwire/topology/expr"
)

// The renderer's ACL state: where each ACL applies, and per switch how
// many allow-related ACLs apply there (the switch is stateful while that
// is positive). A change of an ACL or of a port group moves the counts of
// the switches it touches only; a switch that turns stateful or stateless
// re-renders its own flows and those of its ACLs (they depend on it).

// aclPlace is where an ACL applied when last counted.
type aclPlace struct {
	switches []string
	related  bool
}

// placeACL recounts one ACL after it (or its port group) changed.
func (r *Renderer) placeACL(name string) {
	old := r.aclPlaces[name]
	if old.related {
		for _, sw := range old.switches {
			r.countRelated(sw, -1)
		}
	}
	delete(r.aclPlaces, name)
	a := r.ix.ACL(name)
	if a == nil {
		return
	}
	now := aclPlace{switches: r.switchesOf(a), related: a.Action == topology.ACLAllowRelated}
	r.aclPlaces[name] = now
	if now.related {
		for _, sw := range now.switches {
			r.countRelated(sw, +1)
		}
	}
}

func (r *Renderer) countRelated(sw string, d int) {
	was := r.related[sw] > 0
	r.related[sw] += d
	if r.related[sw] == 0 {
		delete(r.related, sw)
	}
	if was != (r.related[sw] > 0) {
		r.changed(dep{kind: depStateful, name: sw})
		r.mark(unitID{unitSwitch, sw})
	}
}

// switchesOf are the switches an ACL applies to, sorted.
func (r *Renderer) switchesOf(a *topology.ACL) []string {
	if a.Switch != "" {
		return []string{a.Switch}
	}
	pg := r.ix.PortGroup(a.PortGroup)
	if pg == nil {
		return nil
	}
	var out []string
	for _, pn := range pg.Ports {
		if p := r.ix.Port(pn); p != nil && !slices.Contains(out, p.Switch) {
			out = append(out, p.Switch)
		}
	}
	slices.Sort(out)
	return out
}

// markACLs marks what changed ACLs, QoS rules, port groups and address
// sets touch.
func (r *Renderer) markACLs(c *topology.Changes) {
	for name := range c.ACLs {
		r.mark(unitID{unitACL, name})
		r.placeACL(name)
	}
	for name := range c.PortGroups {
		r.changed(dep{kind: depPortGroup, name: name})
		for _, a := range r.ix.ACLsOfPortGroup(name) {
			r.mark(unitID{unitACL, a.Name})
			r.placeACL(a.Name)
		}
	}
	for name := range c.AddressSets {
		r.changed(dep{kind: depAddressSet, name: name})
	}
	for name := range c.QoS {
		r.mark(unitID{unitQoS, name})
	}
}

// aclUnit renders an ACL on every switch it applies to.
func aclUnit(rd *reader, name string) ([]Flow, error) {
	a := rd.r.ix.ACL(name)
	if a == nil {
		return nil, nil
	}
	if a.PortGroup != "" {
		rd.portGroup(a.PortGroup)
	}
	var out []Flow
	for _, swName := range rd.r.aclPlaces[name].switches {
		sw := rd.sw(swName)
		if sw == nil {
			continue
		}
		e, err := expr.CompileEnv(a.Match, &expr.Env{Resolver: aclResolver{rd, swName}, EmptyOK: true})
		if err != nil {
			continue // validation refuses such a model; never render half of it
		}
		out = append(out, aclFlows(a, sw.Key, e, rd.stateful(swName))...)
	}
	return out, nil
}

func (rd *reader) portGroup(name string) *topology.PortGroup {
	rd.use(depPortGroup, name)
	return rd.r.ix.PortGroup(name)
}

func (rd *reader) addressSet(name string) *topology.AddressSet {
	rd.use(depAddressSet, name)
	return rd.r.ix.AddressSet(name)
}

// stateful reports whether an allow-related ACL applies to the switch.
func (rd *reader) stateful(sw string) bool {
	rd.use(depStateful, sw)
	return rd.r.related[sw] > 0
}
