package pipeline

import (
	"fmt"
	"sort"

	"github.com/chainwire/chainwire/topology"
)

// Renderer keeps the desired state of one chassis and changes it at the
// cost of what changed. The state is made by units: one for what every
// chassis has, one per switch, per port and per classifier. A unit
// renders its flows from what it reads of the model and of the chassis
// (see reader); an Update renders again exactly the units that read
// something the update changed, and reports the difference in desired
// flows and groups. A full render is every unit rendered once, so the
// incremental state is by construction the one a full render computes
// (a property test checks it).
//
// A Renderer is not safe for concurrent use. After an error it must be
// replaced by a full render: its state is then undefined.
type Renderer struct {
	ix  *topology.Index
	env Env

	units      map[unitID]*unit
	dependents map[dep]map[*unit]bool
	slots      map[string]*slot
	groups     map[string]*groupSlot
	meters     map[uint32]meterSlot
	floods     map[floodKey]*flood
	localPorts map[uint32]int // local ports by switch key
	// pairPorts remembers the ports of each pair as last rendered: when a
	// pair changes, both its old and its new ports change VNF status.
	pairPorts map[string][2]string
	// lrpRouter and routerLSPs remember each router port's router and
	// each router-type switch port's switch and router port, for the same
	// reason.
	lrpRouter  map[string]string
	routerLSPs map[string][2]string

	groupIDs map[string]uint32
	usedIDs  map[uint32]bool

	aclPlaces map[string]aclPlace // see aclunits.go
	related   map[string]int

	dirty [numPhases]map[*unit]bool
	// touched: flow keys and group names changed by the running update,
	// with what they held before it (nil: nothing).
	// A full render tracks nothing: everything is new.
	touchedFlows  map[string]*Flow
	touchedGroups map[string]*Group
	touchedMeters map[uint32]*Meter
	tracking      bool
	broken        error
}

// Env is what a chassis knows besides the model.
type Env struct {
	Chassis string            // this agent's chassis name
	OFPorts map[string]uint32 // logical port name -> local OpenFlow port (from iface-id)
	// Bindings says where ports without requested-chassis are bound
	// (port -> chassis), as other agents published it.
	Bindings map[string]string
	// TunnelOFPort is the Geneve port's OpenFlow port; 0 while it has none.
	TunnelOFPort uint32
	// Zones is the conntrack zone of each local port (the agent keeps
	// them across restarts); 0 for none yet.
	Zones map[string]uint16
	// PacketInRate is the controller meter's rate, packets/s (0:
	// DefaultPacketInRate).
	PacketInRate int
	// Down holds the health-checked pairs a probe found down (by this
	// chassis or the pair's own, as it published).
	Down map[string]bool
	// Neighbours are the next hops learned behind router ports, by any
	// chassis: router port -> IP -> MAC.
	Neighbours map[string]map[string]string
}

// unit is one object's part of the desired state.
type unit struct {
	id     unitID
	flows  []keyedFlow // sorted by key
	joins  map[memberKey]membership
	groups []string // names
	meters []Meter
	deps   []dep
	local  uint32 // a local port: its switch key + 1
}

type unitID struct {
	kind unitKind
	name string
}

type unitKind uint8

const (
	unitGlobal unitKind = iota
	unitSwitch
	unitPort
	unitClassifier
	unitFlood
	unitACL
	unitQoS
	unitLB
	unitRouter
)

// Units render in phases: classifiers read what ports decide (whether a
// switch has local ports).
const (
	phasePorts = iota
	phaseClassifiers
	numPhases
)

func (k unitKind) phase() int {
	if k == unitClassifier {
		return phaseClassifiers
	}
	return phasePorts
}

type memberKey struct {
	flood floodKey
	key   uint32
}

// output is what a unit renders.
type output struct {
	flows  []Flow
	groups []Group
	meters []Meter
	joins  []membership
	local  bool // a port bound on this chassis
	dp     uint32
}

type groupSlot struct {
	group Group
	owner *unit
}

// NewRenderer renders the full desired state of a chassis for the model
// in ix; Update follows changes of both. The renderer reads ix from then
// on: apply model changes to ix, then pass them to Update.
func NewRenderer(ix *topology.Index, env Env) (*Renderer, *Tables, error) {
	r := &Renderer{ix: ix, units: map[unitID]*unit{}, dependents: map[dep]map[*unit]bool{},
		slots: map[string]*slot{}, groups: map[string]*groupSlot{}, meters: map[uint32]meterSlot{}, floods: map[floodKey]*flood{},
		localPorts: map[uint32]int{}, pairPorts: map[string][2]string{}, lrpRouter: map[string]string{}, routerLSPs: map[string][2]string{},
		groupIDs: map[string]uint32{}, usedIDs: map[uint32]bool{}, aclPlaces: map[string]aclPlace{}, related: map[string]int{}}
	r.env = Env{Chassis: env.Chassis, TunnelOFPort: env.TunnelOFPort, PacketInRate: env.PacketInRate,
		OFPorts: copyMap(env.OFPorts), Bindings: copyMap(env.Bindings), Zones: copyMap(env.Zones), Down: copyMap(env.Down),
		Neighbours: map[string]map[string]string{}}
	for lrp, ns := range env.Neighbours {
		r.env.Neighbours[lrp] = copyMap(ns)
	}
	r.begin()
	m := ix.Model()
	r.mark(unitID{kind: unitGlobal})
	for _, s := range m.Switches {
		r.mark(unitID{unitSwitch, s.Name})
	}
	for _, p := range m.Ports {
		r.mark(unitID{unitPort, p.Name})
		if p.Type == topology.PortTypeRouter {
			r.routerLSPs[p.Name] = [2]string{p.Switch, p.RouterPort()}
		}
	}
	for _, rt := range m.Routers {
		r.mark(unitID{unitRouter, rt.Name})
	}
	for _, lrp := range m.RouterPorts {
		r.lrpRouter[lrp.Name] = lrp.Router
	}
	for _, c := range m.Classifiers {
		r.mark(unitID{unitClassifier, c.Name})
	}
	for _, pp := range m.PortPairs {
		r.pairPorts[pp.Name] = [2]string{pp.InPort, pp.OutPort}
	}
	for _, a := range m.ACLs {
		r.placeACL(a.Name)
		r.mark(unitID{unitACL, a.Name})
	}
	for _, q := range m.QoS {
		r.mark(unitID{unitQoS, q.Name})
	}
	for _, lb := range m.LoadBalancers {
		r.mark(unitID{unitLB, lb.Name})
	}
	if err := r.run(); err != nil {
		return nil, nil, err
	}
	r.assignGroupIDs(sortedNames(r.groups))
	if err := r.checkMeters(keysOf(r.meters)); err != nil {
		return nil, nil, err
	}
	return r, r.Tables(), nil
}

func copyMap[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Update says what changed: model changes already applied to the index,
// the new local ports and zones (nil: unchanged), the bindings that
// changed (port -> chassis, "" for none), the pairs whose health
// changed (pair -> down) and the neighbours that changed (router port ->
// IP -> MAC, "" for forgotten).
type Update struct {
	Model      *topology.Changes
	OFPorts    map[string]uint32
	Zones      map[string]uint16
	Bindings   map[string]string
	Down       map[string]bool
	Neighbours map[string]map[string]string
}

// Update renders again what the changes affect and returns the change in
// desired state. The tunnel port is not something Update follows: a new
// one takes a new Renderer.
func (r *Renderer) Update(u Update) (*Delta, error) {
	if r.broken != nil {
		return nil, fmt.Errorf("pipeline: renderer unusable after an earlier error: %w", r.broken)
	}
	r.begin()
	r.tracking = true
	defer func() { r.tracking = false }()
	if u.Model != nil {
		r.markModel(u.Model)
	}
	if u.OFPorts != nil {
		r.env.OFPorts = markChanged(r, depOFPort, r.env.OFPorts, u.OFPorts)
	}
	if u.Zones != nil {
		r.env.Zones = markChanged(r, depZone, r.env.Zones, u.Zones)
	}
	for port, ch := range u.Bindings {
		if r.env.Bindings[port] == ch {
			continue
		}
		if ch == "" {
			delete(r.env.Bindings, port)
		} else {
			r.env.Bindings[port] = ch
		}
		r.changed(dep{kind: depBinding, name: port})
	}
	for pair, down := range u.Down {
		if r.env.Down[pair] == down {
			continue
		}
		if down {
			r.env.Down[pair] = true
		} else {
			delete(r.env.Down, pair)
		}
		r.changed(dep{kind: depHealth, name: pair})
	}
	for lrp, ns := range u.Neighbours {
		r.setNeighbours(lrp, ns)
	}
	if err := r.run(); err != nil {
		return nil, err
	}
	r.assignGroupIDs(sortedNames(r.touchedGroups))
	if err := r.checkMeters(keysOf(r.touchedMeters)); err != nil {
		r.broken = err
		return nil, err
	}
	return r.delta(), nil
}

func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func (r *Renderer) begin() {
	for i := range r.dirty {
		r.dirty[i] = map[*unit]bool{}
	}
	r.touchedFlows, r.touchedGroups, r.touchedMeters = map[string]*Flow{}, map[string]*Group{}, map[uint32]*Meter{}
}

// markModel marks the units that read the changed objects, and the units
// of the objects themselves.
func (r *Renderer) markModel(c *topology.Changes) {
	for name := range c.Chassis {
		r.changed(dep{kind: depChassis, name: name})
	}
	for name := range c.Switches {
		r.changed(dep{kind: depSwitch, name: name})
		r.mark(unitID{unitSwitch, name})
	}
	for name, p := range c.Ports {
		r.changed(dep{kind: depPort, name: name})
		r.mark(unitID{unitPort, name})
		r.markRouterLSP(name, p)
	}
	for name := range c.Routers {
		r.changed(dep{kind: depRouter, name: name})
		r.mark(unitID{unitRouter, name})
	}
	for name, lrp := range c.RouterPorts {
		r.changed(dep{kind: depRouterPort, name: name})
		// The router's unit may be gone (a router without ports renders
		// nothing): mark makes it again.
		if old, ok := r.lrpRouter[name]; ok {
			r.changed(dep{kind: depRouter, name: old})
			r.mark(unitID{unitRouter, old})
		}
		delete(r.lrpRouter, name)
		if lrp != nil {
			r.lrpRouter[name] = lrp.Router
			r.changed(dep{kind: depRouter, name: lrp.Router})
			r.mark(unitID{unitRouter, lrp.Router})
		}
	}
	for name, pp := range c.PortPairs {
		r.changed(dep{kind: depPair, name: name})
		old := r.pairPorts[name]
		for _, p := range old {
			r.changed(dep{kind: depVNF, name: p})
		}
		delete(r.pairPorts, name)
		if pp != nil {
			r.pairPorts[name] = [2]string{pp.InPort, pp.OutPort}
			r.changed(dep{kind: depVNF, name: pp.InPort})
			r.changed(dep{kind: depVNF, name: pp.OutPort})
		}
	}
	for name := range c.PortPairGroups {
		r.changed(dep{kind: depGroup, name: name})
	}
	for name := range c.PortChains {
		r.changed(dep{kind: depChain, name: name})
	}
	for name := range c.Classifiers {
		r.changed(dep{kind: depClassifier, name: name})
		r.mark(unitID{unitClassifier, name})
	}
	r.markACLs(c)
	for name := range c.DHCPOptions {
		r.changed(dep{kind: depDHCP, name: name})
	}
	for name := range c.DNSRecords {
		r.changed(dep{kind: depDNS, name: dnsSwitch(name)})
	}
	for name := range c.LoadBalancers {
		r.mark(unitID{unitLB, name})
	}
	for _, sw := range c.Switches {
		if sw != nil { // a load balancer it takes on (the ones it leaves read it)
			for _, lb := range sw.LoadBalancers {
				r.mark(unitID{unitLB, lb})
			}
		}
	}
}

// markRouterLSP marks what reads a router-type port's peering: its old
// and new router port, and the routers of its old and new switch.
func (r *Renderer) markRouterLSP(name string, p *topology.Port) {
	if old, ok := r.routerLSPs[name]; ok {
		r.changed(dep{kind: depRouted, name: old[0]})
		r.changed(dep{kind: depRouterPort, name: old[1]})
	}
	delete(r.routerLSPs, name)
	if p != nil && p.Type == topology.PortTypeRouter {
		r.routerLSPs[name] = [2]string{p.Switch, p.RouterPort()}
		r.changed(dep{kind: depRouted, name: p.Switch})
		r.changed(dep{kind: depRouterPort, name: p.RouterPort()})
	}
}

// markChanged marks the ports whose value differs between the old and
// the new map, and returns a copy of the new one.
func markChanged[V comparable](r *Renderer, k depKind, old, next map[string]V) map[string]V {
	for name, v := range old {
		if w, ok := next[name]; !ok || w != v {
			r.changed(dep{kind: k, name: name})
		}
	}
	for name := range next {
		if _, had := old[name]; !had {
			r.changed(dep{kind: k, name: name})
		}
	}
	return copyMap(next)
}

// changed marks every unit that read d, and the unit d is about.
func (r *Renderer) changed(d dep) {
	if id, own := d.unit(); own {
		if u := r.units[id]; u != nil {
			r.dirty[id.kind.phase()][u] = true
		}
	}
	for u := range r.dependents[d] {
		r.dirty[u.id.kind.phase()][u] = true
	}
}

// mark makes a unit render again, creating it if need be.
func (r *Renderer) mark(id unitID) {
	u := r.units[id]
	if u == nil {
		u = &unit{id: id}
		r.units[id] = u
	}
	r.dirty[id.kind.phase()][u] = true
}

// run renders the marked units, phase by phase, then the floods they
// changed.
func (r *Renderer) run() error {
	for ph := range r.dirty {
		for len(r.dirty[ph]) > 0 {
			for u := range r.dirty[ph] {
				delete(r.dirty[ph], u)
				if err := r.render(u); err != nil {
					r.broken = err
					return err
				}
			}
		}
	}
	for k, f := range r.floods {
		if len(f.dirty) == 0 && !f.header {
			continue
		}
		if err := r.renderFlood(f); err != nil {
			r.broken = err
			return err
		}
		if len(f.members) == 0 {
			delete(r.floods, k)
		}
	}
	return nil
}

// render renders one unit and replaces its part of the state.
func (r *Renderer) render(u *unit) error {
	rd := &reader{r: r, self: u.id}
	var out output
	var err error
	switch u.id.kind {
	case unitGlobal:
		out.flows = globalFlows(r.env.TunnelOFPort)
		out.meters = []Meter{controllerMeter(r.env.PacketInRate), probeMeter()}
	case unitSwitch:
		out.flows = switchFlows(rd, u.id.name)
	case unitPort:
		out, err = portUnit(rd, u.id.name, r.env.TunnelOFPort)
	case unitClassifier:
		out.flows, err = classifierFlows(rd, u.id.name, r.env.TunnelOFPort)
	case unitACL:
		out.flows, err = aclUnit(rd, u.id.name)
	case unitQoS:
		out, err = qosUnit(rd, u.id.name)
	case unitLB:
		out, err = lbUnit(rd, u.id.name)
	case unitRouter:
		out.flows, err = routerUnit(rd, u.id.name)
	}
	if err != nil {
		return err
	}
	r.setDeps(u, rd.deps)
	r.setJoins(u, out.joins)
	r.setLocal(u, out)
	r.setMeters(u, out.meters)
	if err := r.setUnitGroups(u, out.groups); err != nil {
		return err
	}
	if err := r.setFlows(u, out.flows); err != nil {
		return err
	}
	if len(u.flows) == 0 && len(u.joins) == 0 && len(u.meters) == 0 && len(u.groups) == 0 && len(u.deps) == 0 {
		delete(r.units, u.id)
	}
	return nil
}

func (r *Renderer) setDeps(u *unit, deps []dep) {
	for _, d := range u.deps {
		if us := r.dependents[d]; us != nil {
			delete(us, u)
			if len(us) == 0 {
				delete(r.dependents, d)
			}
		}
	}
	u.deps = deps
	for _, d := range deps {
		us := r.dependents[d]
		if us == nil {
			us = map[*unit]bool{}
			r.dependents[d] = us
		}
		us[u] = true
	}
}

// setFlows replaces u's flows, touching only the keys that change.
func (r *Renderer) setFlows(u *unit, flows []Flow) error {
	next, err := unitFlows(flows)
	if err != nil {
		return err
	}
	old := u.flows
	for i, j := 0, 0; i < len(old) || j < len(next); {
		switch {
		case j == len(next) || i < len(old) && old[i].key < next[j].key:
			err = r.retract(u, old[i].key)
			i++
		case i == len(old) || next[j].key < old[i].key:
			err = r.contribute(u, next[j].key, next[j].flow)
			j++
		default:
			if !sameFlow(old[i].flow, next[j].flow) {
				err = r.contribute(u, next[j].key, next[j].flow)
			}
			i, j = i+1, j+1
		}
		if err != nil {
			return err
		}
	}
	if len(next) == 0 {
		next = nil
	}
	u.flows = next
	return nil
}

// setJoins replaces u's flood memberships.
func (r *Renderer) setJoins(u *unit, joins []membership) {
	next := make(map[memberKey]membership, len(joins))
	for _, m := range joins {
		next[memberKey{m.flood, m.key}] = m
	}
	for k, m := range u.joins {
		if n, keep := next[k]; !keep || !ActionsEqual(n.acts, m.acts) {
			r.floods[k.flood].leave(m)
		}
	}
	for k, m := range next {
		if cur, had := u.joins[k]; had && ActionsEqual(cur.acts, m.acts) {
			continue
		}
		f := r.floods[k.flood]
		if f == nil {
			f = newFlood(k.flood)
			r.floods[k.flood] = f
		}
		f.join(m)
	}
	u.joins = next
}

// setLocal counts u as a local port of its switch, or not; a switch that
// gains its first local port or loses its last changes the chains.
func (r *Renderer) setLocal(u *unit, out output) {
	next := uint32(0)
	if out.local {
		next = out.dp + 1
	}
	if next == u.local {
		return
	}
	if u.local != 0 {
		dp := u.local - 1
		if r.localPorts[dp]--; r.localPorts[dp] == 0 {
			delete(r.localPorts, dp)
			r.changed(dep{kind: depLocalPorts, dp: dp})
		}
	}
	if next != 0 {
		if r.localPorts[out.dp]++; r.localPorts[out.dp] == 1 {
			r.changed(dep{kind: depLocalPorts, dp: out.dp})
		}
	}
	u.local = next
}

// setGroup sets a group of u's.
func (r *Renderer) setGroup(u *unit, g Group) error {
	s := r.groups[g.Name]
	if s != nil && s.owner != u {
		return fmt.Errorf("pipeline: two groups named %q", g.Name)
	}
	r.touchGroup(g.Name)
	r.groups[g.Name] = &groupSlot{group: g, owner: u}
	return nil
}

// setUnitGroups replaces the groups a unit renders itself (floods keep
// theirs apart, see flood.go).
func (r *Renderer) setUnitGroups(u *unit, groups []Group) error {
	next := make(map[string]bool, len(groups))
	for _, g := range groups {
		next[g.Name] = true
	}
	for _, name := range u.groups {
		if !next[name] {
			r.dropGroup(u, name)
		}
	}
	u.groups = u.groups[:0]
	for _, g := range groups {
		if s := r.groups[g.Name]; s != nil && s.owner == u && s.group.Type == g.Type && s.group.Format(false) == g.Format(false) {
			u.groups = append(u.groups, g.Name)
			continue
		}
		if err := r.setGroup(u, g); err != nil {
			return err
		}
		u.groups = append(u.groups, g.Name)
	}
	if len(u.groups) == 0 {
		u.groups = nil
	}
	return nil
}

func (r *Renderer) dropGroup(u *unit, name string) {
	if s := r.groups[name]; s != nil && s.owner == u {
		r.touchGroup(name)
		delete(r.groups, name)
	}
}

func (r *Renderer) touchFlow(key string) {
	if !r.tracking {
		return
	}
	if _, seen := r.touchedFlows[key]; seen {
		return
	}
	var before *Flow
	if s := r.slots[key]; s != nil {
		f := r.resolved(s.flow)
		before = &f
	}
	r.touchedFlows[key] = before
}

func (r *Renderer) touchGroup(name string) {
	if !r.tracking {
		return
	}
	if _, seen := r.touchedGroups[name]; seen {
		return
	}
	var before *Group
	if s := r.groups[name]; s != nil {
		g := s.group
		g.ID = r.groupIDs[name]
		before = &g
	}
	r.touchedGroups[name] = before
}

// assignGroupIDs frees the IDs of groups that went and gives new groups
// one derived from the name (FNV-1a, probing on collision in name
// order): the same names mostly get the same IDs, so a restarted agent
// finds its groups where it left them. A group keeps its ID while it
// lives. names are the groups that may have come or gone, sorted.
func (r *Renderer) assignGroupIDs(names []string) {
	for _, name := range names {
		if _, alive := r.groups[name]; !alive {
			if id, ok := r.groupIDs[name]; ok {
				delete(r.usedIDs, id)
				delete(r.groupIDs, name)
			}
		}
	}
	for _, name := range names {
		if _, alive := r.groups[name]; !alive {
			continue
		}
		if _, ok := r.groupIDs[name]; ok {
			continue
		}
		id := groupHash(name, 0)
		for probe := uint32(1); r.usedIDs[id]; probe++ {
			id = groupHash(name, probe)
		}
		r.groupIDs[name], r.usedIDs[id] = id, true
	}
}

// delta compares what the update touched with what it held before.
func (r *Renderer) delta() *Delta {
	d := &Delta{}
	for k, before := range r.touchedFlows {
		s := r.slots[k]
		switch {
		case s == nil && before != nil:
			d.DeletedFlows = append(d.DeletedFlows, k)
		case s == nil:
		default:
			if f := r.resolved(s.flow); before == nil || !sameFlow(*before, f) {
				d.Flows = append(d.Flows, f)
			}
		}
	}
	for name, before := range r.touchedGroups {
		s := r.groups[name]
		switch {
		case s == nil && before != nil:
			d.DeletedGroups = append(d.DeletedGroups, before.ID)
		case s == nil:
		default:
			g := r.resolvedGroup(s.group)
			if before == nil || before.ID != g.ID || before.Format(false) != g.Format(false) {
				d.Groups = append(d.Groups, g)
			}
		}
	}
	sort.Strings(d.DeletedFlows)
	sort.Slice(d.Flows, func(i, j int) bool { return flowLess(d.Flows[i], d.Flows[j]) })
	sort.Slice(d.DeletedGroups, func(i, j int) bool { return d.DeletedGroups[i] < d.DeletedGroups[j] })
	sort.Slice(d.Groups, func(i, j int) bool { return d.Groups[i].Name < d.Groups[j].Name })
	r.meterDelta(d)
	return d
}

// resolved points a flow's group actions at the groups' IDs.
func (r *Renderer) resolved(f Flow) Flow {
	f.Actions = r.resolveActions(f.Actions)
	return f
}

func (r *Renderer) resolvedGroup(g Group) Group {
	g.ID = r.groupIDs[g.Name]
	bs := make([]Bucket, len(g.Buckets))
	for i, b := range g.Buckets {
		b.Actions = r.resolveActions(b.Actions)
		bs[i] = b
	}
	g.Buckets = bs
	return g
}

func (r *Renderer) resolveActions(acts []Action) []Action {
	var out []Action
	for i, a := range acts {
		tg, ok := a.(ToGroup)
		if !ok {
			continue
		}
		if out == nil {
			out = append([]Action(nil), acts...)
		}
		out[i] = ToGroup{Name: tg.Name, ID: r.groupIDs[tg.Name]}
	}
	if out == nil {
		return acts
	}
	return out
}

// Tables is the whole desired state, in no particular order (Sorted
// orders it).
func (r *Renderer) Tables() *Tables {
	t := &Tables{Flows: make([]Flow, 0, len(r.slots)), Groups: make([]Group, 0, len(r.groups))}
	for _, s := range r.slots {
		t.Flows = append(t.Flows, r.resolved(s.flow))
	}
	for _, s := range r.groups {
		t.Groups = append(t.Groups, r.resolvedGroup(s.group))
	}
	for id := range r.meters {
		m, _ := r.meterOf(id)
		t.Meters = append(t.Meters, m)
	}
	return t
}

// Flows is the number of desired flows.
func (r *Renderer) Flows() int { return len(r.slots) }

// Sort orders flows by table, priority (high first) and match, as
// ovs-ofctl dump-flows does, and groups by name.
func (t *Tables) Sort() {
	type entry struct {
		flow  Flow
		match string
	}
	es := make([]entry, len(t.Flows))
	for i, f := range t.Flows {
		es[i] = entry{f, f.Match.String()}
	}
	sort.Slice(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if ta, tb := a.flow.Stage.Table(), b.flow.Stage.Table(); ta != tb {
			return ta < tb
		}
		if a.flow.Priority != b.flow.Priority {
			return a.flow.Priority > b.flow.Priority
		}
		return a.match < b.match
	})
	for i := range es {
		t.Flows[i] = es[i].flow
	}
	sort.Slice(t.Groups, func(i, j int) bool { return t.Groups[i].Name < t.Groups[j].Name })
	sort.Slice(t.Meters, func(i, j int) bool { return t.Meters[i].ID < t.Meters[j].ID })
}

func flowLess(a, b Flow) bool {
	if ta, tb := a.Stage.Table(), b.Stage.Table(); ta != tb {
		return ta < tb
	}
	if a.Priority != b.Priority {
		return a.Priority > b.Priority
	}
	return a.Match.String() < b.Match.String()
}
