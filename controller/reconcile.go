package controller

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"sort"

	"github.com/chainwire/chainwire/pipeline"
)

// Reconciler keeps one bridge's flows, groups and meters equal to a
// desired set.
// It remembers what it believes is installed, learns it from the switch
// on every (re)connect and from the flow monitor in between, and sends
// only differences, as one atomic bundle. It never flushes a table, never
// touches a flow whose cookie is not ours, and never takes the place of
// a foreign flow that holds a match we want (it reports the conflict).
//
// What it compares is pending work: everything after a read-back or a
// whole new desired state, otherwise only the flows and groups an Update
// changed or the flow monitor reported, so a change of k flows costs
// O(k) whatever the size of the tables.
type Reconciler struct {
	flows map[string]pipeline.Flow // ours, by Flow.Key()
	// perTable counts flows by table, kept with flows (setFlow, dropFlow).
	perTable [256]int
	// stale: flows of ours that could not be decoded, by key; always
	// replaced or deleted.
	stale map[string]pipeline.Flow
	// foreign: flows with another cookie, by key.
	foreign map[string]uint64
	// strays: flows of ours in tables outside the pipeline.
	strays []installedFlow
	groups map[uint32]pipeline.Group // ours, by ID
	// staleGroups: groups of ours that could not be decoded.
	staleGroups map[uint32]bool
	meters      map[uint32]pipeline.Meter // ours, by ID
	// staleMeters: meters of ours that are not what chainwire makes.
	staleMeters map[uint32]bool
	// StaleReason says why the first undecodable flow or group was (for
	// logs).
	StaleReason string
	// ReadSeq is the Seq of the last flow monitor event the last read-back
	// already reflects: Observe ignores events up to it.
	ReadSeq uint64

	want       map[string]pipeline.Flow
	wantGroups map[uint32]pipeline.Group
	wantMeters map[uint32]pipeline.Meter
	// pending: the keys and group and meter IDs to compare on the next
	// Sync; all, allGroups and allMeters: compare everything.
	pending                   map[string]bool
	pendingGroups             map[uint32]bool
	pendingMeters             map[uint32]bool
	all, allGroups, allMeters bool
	conflicts                 map[string]string // by key: a foreign flow holds the place
}

// Changes counts what one Sync sent.
type Changes struct {
	Added, Modified, Deleted                   int
	GroupsAdded, GroupsModified, GroupsDeleted int
	MetersAdded, MetersModified, MetersDeleted int
}

// Total is the number of flow, group and meter mods.
func (c Changes) Total() int {
	return c.Added + c.Modified + c.Deleted + c.GroupsAdded + c.GroupsModified + c.GroupsDeleted +
		c.MetersAdded + c.MetersModified + c.MetersDeleted
}

func (c Changes) String() string {
	s := fmt.Sprintf("%d added, %d modified, %d deleted", c.Added, c.Modified, c.Deleted)
	if g := c.GroupsAdded + c.GroupsModified + c.GroupsDeleted; g > 0 {
		s += fmt.Sprintf("; groups %d added, %d modified, %d deleted", c.GroupsAdded, c.GroupsModified, c.GroupsDeleted)
	}
	if m := c.MetersAdded + c.MetersModified + c.MetersDeleted; m > 0 {
		s += fmt.Sprintf("; meters %d added, %d modified, %d deleted", c.MetersAdded, c.MetersModified, c.MetersDeleted)
	}
	return s
}

// NewReconciler returns a reconciler that knows nothing yet; call Resync
// before the first Sync on a connection.
func NewReconciler() *Reconciler {
	return &Reconciler{flows: map[string]pipeline.Flow{}, stale: map[string]pipeline.Flow{},
		foreign: map[string]uint64{}, groups: map[uint32]pipeline.Group{}, staleGroups: map[uint32]bool{},
		meters: map[uint32]pipeline.Meter{}, staleMeters: map[uint32]bool{},
		want: map[string]pipeline.Flow{}, wantGroups: map[uint32]pipeline.Group{}, wantMeters: map[uint32]pipeline.Meter{},
		pending: map[string]bool{}, pendingGroups: map[uint32]bool{}, pendingMeters: map[uint32]bool{},
		conflicts: map[string]string{}}
}

// Installed is the number of our flows believed installed.
func (r *Reconciler) Installed() int { return len(r.flows) }

// Stale is the number of flows, groups and meters read back that could
// not be decoded; the next Sync replaces or deletes them.
func (r *Reconciler) Stale() int { return len(r.stale) + len(r.staleGroups) + len(r.staleMeters) }

// Resync reads back every flow, group and meter of ours; the next Sync
// compares everything.
func (r *Reconciler) Resync(ctx context.Context, cn *Conn) error {
	flows, seq, err := cn.ReadFlows(ctx)
	if err != nil {
		return fmt.Errorf("read back installed flows: %w", err)
	}
	r.ReadSeq = seq
	r.flows, r.perTable = make(map[string]pipeline.Flow, len(flows)), [256]int{}
	r.stale, r.foreign, r.strays = map[string]pipeline.Flow{}, map[string]uint64{}, nil
	r.StaleReason = ""
	for _, f := range flows {
		if err := r.learn(f); err != nil {
			return err
		}
	}
	r.all = true
	return r.ResyncGroupsAndMeters(ctx, cn)
}

// ResyncGroupsAndMeters reads the groups and meters back again (after
// drift: OpenFlow deletes the flows that use a deleted group or meter,
// and the monitor reports only those).
func (r *Reconciler) ResyncGroupsAndMeters(ctx context.Context, cn *Conn) error {
	groups, err := cn.ReadGroups(ctx)
	if err != nil {
		return fmt.Errorf("read back installed groups: %w", err)
	}
	r.learnGroups(groups)
	r.allGroups = true
	return r.resyncMeters(ctx, cn)
}

func (r *Reconciler) resyncMeters(ctx context.Context, cn *Conn) error {
	meters, err := cn.ReadMeters(ctx)
	if err != nil {
		return fmt.Errorf("read back installed meters: %w", err)
	}
	r.meters, r.staleMeters = map[uint32]pipeline.Meter{}, map[uint32]bool{}
	for _, m := range meters {
		if !pipeline.IsOurMeter(m.meter.ID) {
			continue
		}
		if m.decodeErr != nil {
			r.staleMeters[m.meter.ID] = true
			r.noteStale(m.decodeErr.Error())
			continue
		}
		r.meters[m.meter.ID] = m.meter
	}
	r.allMeters = true
	return nil
}

func (r *Reconciler) learnGroups(groups []installedGroup) {
	r.groups, r.staleGroups = map[uint32]pipeline.Group{}, map[uint32]bool{}
	for _, g := range groups {
		if !pipeline.IsOurGroup(g.group.ID) {
			continue
		}
		if g.decodeErr != nil {
			r.staleGroups[g.group.ID] = true
			r.noteStale(fmt.Sprintf("group %d: %v", g.group.ID, g.decodeErr))
			continue
		}
		r.groups[g.group.ID] = g.group
	}
}

func (r *Reconciler) noteStale(reason string) {
	if r.StaleReason == "" {
		r.StaleReason = reason
	}
}

// learn records one flow the switch has.
func (r *Reconciler) learn(f installedFlow) error {
	if f.match == nil {
		// Without its match a flow cannot even be deleted strictly.
		return fmt.Errorf("installed flow in table %d priority %d (%s) cannot be decoded: %v",
			f.table, f.priority, pipeline.DescribeCookie(f.cookie), f.decodeErr)
	}
	stage, inPipeline := pipeline.StageOfTable(f.table)
	if !inPipeline {
		if pipeline.IsOurs(f.cookie) {
			// Left by a version with other tables: delete it.
			r.strays = append(r.strays, f)
		}
		return nil
	}
	key := pipeline.Flow{Stage: stage, Priority: f.priority, Match: f.match}.Key()
	r.dropFlow(key)
	delete(r.stale, key)
	delete(r.foreign, key)
	switch {
	case !pipeline.IsOurs(f.cookie):
		r.foreign[key] = f.cookie
	case f.decodeErr != nil:
		r.noteStale(fmt.Sprintf("table %d priority %d: %v", f.table, f.priority, f.decodeErr))
		r.stale[key] = pipeline.Flow{Stage: stage, Priority: f.priority, Cookie: f.cookie, Match: f.match}
	default:
		r.setFlow(key, f.flow)
	}
	return nil
}

func (r *Reconciler) setFlow(key string, f pipeline.Flow) {
	r.dropFlow(key)
	r.flows[key] = f
	r.perTable[f.Stage.Table()]++
}

func (r *Reconciler) dropFlow(key string) {
	if old, ok := r.flows[key]; ok {
		r.perTable[old.Stage.Table()]--
		delete(r.flows, key)
	}
}

// InstalledPerTable is the number of installed flows of ours by table.
func (r *Reconciler) InstalledPerTable() [256]int { return r.perTable }

// Observe updates what the reconciler believes from a change someone
// else made (a flow monitor event). It reports whether the change touched
// a flow of ours, or the place of one, so that a Sync is due; the flow is
// then pending.
func (r *Reconciler) Observe(ev MonitorEvent) (drift bool, err error) {
	if ev.Seq <= r.ReadSeq {
		return false, nil // the read-back has it
	}
	f := ev.Flow
	if f.match == nil {
		return true, nil // cannot tell which flow: assume the worst
	}
	stage, inPipeline := pipeline.StageOfTable(f.table)
	if !inPipeline {
		return false, nil
	}
	key := pipeline.Flow{Stage: stage, Priority: f.priority, Match: f.match}.Key()
	_, ours := r.flows[key]
	_, stale := r.stale[key]
	_, wanted := r.want[key]
	drift = ours || stale || wanted || pipeline.IsOurs(f.cookie)
	if drift {
		r.pending[key] = true
	}
	if ev.Kind == FlowDeleted {
		if r.foreign[key] == f.cookie || !pipeline.IsOurs(f.cookie) {
			delete(r.foreign, key)
		}
		if pipeline.IsOurs(f.cookie) {
			r.dropFlow(key)
			delete(r.stale, key)
		}
		return drift, nil
	}
	return drift, r.learn(f)
}

// SetDesired replaces the whole desired state; the next Sync compares
// everything.
func (r *Reconciler) SetDesired(t *pipeline.Tables) {
	r.want = make(map[string]pipeline.Flow, len(t.Flows))
	for _, f := range t.Flows {
		r.want[f.Key()] = f
	}
	r.wantGroups = make(map[uint32]pipeline.Group, len(t.Groups))
	for _, g := range t.Groups {
		r.wantGroups[g.ID] = g
	}
	r.wantMeters = make(map[uint32]pipeline.Meter, len(t.Meters))
	for _, m := range t.Meters {
		r.wantMeters[m.ID] = m
	}
	r.all, r.allGroups, r.allMeters = true, true, true
}

// Update changes part of the desired state; the next Sync compares just
// that part.
func (r *Reconciler) Update(d *pipeline.Delta) {
	for _, f := range d.Flows {
		k := f.Key()
		r.want[k], r.pending[k] = f, true
	}
	for _, k := range d.DeletedFlows {
		delete(r.want, k)
		r.pending[k] = true
	}
	for _, g := range d.Groups {
		r.wantGroups[g.ID], r.pendingGroups[g.ID] = g, true
	}
	for _, id := range d.DeletedGroups {
		delete(r.wantGroups, id)
		r.pendingGroups[id] = true
	}
	for _, m := range d.Meters {
		r.wantMeters[m.ID], r.pendingMeters[m.ID] = m, true
	}
	for _, id := range d.DeletedMeters {
		delete(r.wantMeters, id)
		r.pendingMeters[id] = true
	}
}

// Pending reports whether a Sync has anything to compare.
func (r *Reconciler) Pending() bool {
	return r.all || r.allGroups || r.allMeters || len(r.pending) > 0 || len(r.pendingGroups) > 0 ||
		len(r.pendingMeters) > 0 || len(r.strays) > 0
}

// Conflicts lists the desired flows whose place a foreign flow holds,
// sorted.
func (r *Reconciler) Conflicts() []string {
	out := make([]string, 0, len(r.conflicts))
	for _, c := range r.conflicts {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// Plan computes the operations that turn what is installed into what is
// desired, for what is pending, in the order a bundle applies them: flow
// deletes, group adds and modifies, flow adds and modifies, group
// deletes (OpenFlow deletes the flows that use a group along with it).
// Desired flows whose place a foreign flow holds are left out (see
// Conflicts).
func (r *Reconciler) Plan() (ops []Op, ch Changes) {
	for i := range r.strays {
		ops = append(ops, Op{Cmd: Delete, stray: &r.strays[i]})
		ch.Deleted++
	}
	keys := r.pendingKeys()
	for _, k := range keys {
		if _, wanted := r.want[k]; wanted {
			continue
		}
		delete(r.conflicts, k)
		if f, ok := r.flows[k]; ok {
			ops = append(ops, FlowOp(Delete, f))
			ch.Deleted++
		} else if f, ok := r.stale[k]; ok {
			ops = append(ops, FlowOp(Delete, f))
			ch.Deleted++
		}
	}
	var gone []uint32
	for _, id := range r.pendingGroupIDs() {
		g, wanted := r.wantGroups[id]
		cur, have := r.groups[id]
		switch {
		case !wanted:
			if have || r.staleGroups[id] {
				gone = append(gone, id)
			}
		case have && cur.Type == g.Type && cur.Format(false) == g.Format(false):
		case have || r.staleGroups[id]:
			ops = append(ops, GroupOp(Modify, g))
			ch.GroupsModified++
		default:
			ops = append(ops, GroupOp(Add, g))
			ch.GroupsAdded++
		}
	}
	for _, k := range keys {
		f, wanted := r.want[k]
		if !wanted {
			continue
		}
		if cookie, taken := r.foreign[k]; taken {
			r.conflicts[k] = fmt.Sprintf("a foreign flow (cookie 0x%x) holds the place of %s", cookie, f)
			continue
		}
		delete(r.conflicts, k)
		cur, have := r.flows[k]
		_, stale := r.stale[k]
		switch {
		case have && cur.Cookie == f.Cookie && pipeline.ActionsEqual(cur.Actions, f.Actions):
		case have && cur.Cookie == f.Cookie:
			// New actions for the same flow: counters and age survive.
			ops = append(ops, FlowOp(Modify, f))
			ch.Modified++
		case have || stale:
			ops = append(ops, FlowOp(Add, f))
			ch.Modified++
		default:
			ops = append(ops, FlowOp(Add, f))
			ch.Added++
		}
	}
	for _, id := range gone {
		ops = append(ops, GroupOp(Delete, pipeline.Group{ID: id}))
		ch.GroupsDeleted++
	}
	return ops, ch
}

// pendingKeys lists the flow keys to compare, sorted.
func (r *Reconciler) pendingKeys() []string {
	if !r.all {
		return sortedKeys(r.pending)
	}
	all := make(map[string]bool, len(r.want)+len(r.flows))
	for _, m := range []map[string]pipeline.Flow{r.want, r.flows, r.stale} {
		for k := range m {
			all[k] = true
		}
	}
	for k := range r.pending {
		all[k] = true
	}
	return sortedKeys(all)
}

// pendingGroupIDs lists the group IDs to compare, in order.
func (r *Reconciler) pendingGroupIDs() []uint32 {
	if !r.allGroups {
		return sortedIDs(maps.Keys(r.pendingGroups))
	}
	return sortedIDs(maps.Keys(r.wantGroups), maps.Keys(r.groups), maps.Keys(r.staleGroups))
}

// pendingMeterIDs lists the meter IDs to compare, in order.
func (r *Reconciler) pendingMeterIDs() []uint32 {
	if !r.allMeters {
		return sortedIDs(maps.Keys(r.pendingMeters))
	}
	return sortedIDs(maps.Keys(r.wantMeters), maps.Keys(r.meters), maps.Keys(r.staleMeters))
}

// sortedIDs lists the IDs of the sets, in order, each once.
func sortedIDs(sets ...iter.Seq[uint32]) []uint32 {
	ids := map[uint32]bool{}
	for _, set := range sets {
		for id := range set {
			ids[id] = true
		}
	}
	return slices.Sorted(maps.Keys(ids))
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// planMeters computes the meter mods for what is pending: adds and
// modifies go before the bundle, deletes after it.
func (r *Reconciler) planMeters(ch *Changes) (before, after []MeterOp) {
	for _, id := range r.pendingMeterIDs() {
		m, wanted := r.wantMeters[id]
		cur, have := r.meters[id]
		switch {
		case !wanted:
			if have || r.staleMeters[id] {
				after = append(after, MeterOp{Cmd: Delete, Meter: pipeline.Meter{ID: id}})
				ch.MetersDeleted++
			}
		case have && cur.Same(m):
		case have || r.staleMeters[id]:
			before = append(before, MeterOp{Cmd: Modify, Meter: m})
			ch.MetersModified++
		default:
			before = append(before, MeterOp{Cmd: Add, Meter: m})
			ch.MetersAdded++
		}
	}
	return before, after
}

// Sync sends what is pending: the meters the flows will use, then one
// bundle, then the deletion of meters no flow uses any more. On error
// the flows and groups did not change on the switch, and the work stays
// pending for the next Sync.
func (r *Reconciler) Sync(ctx context.Context, cn *Conn) (Changes, error) {
	ops, ch := r.Plan()
	before, after := r.planMeters(&ch)
	if err := r.sendMeters(ctx, cn, before); err != nil {
		return Changes{}, err
	}
	if err := r.send(ctx, cn, ops); err != nil {
		return Changes{}, err
	}
	if err := r.sendMeters(ctx, cn, after); err != nil {
		return Changes{}, err
	}
	r.pending, r.pendingGroups, r.pendingMeters = map[string]bool{}, map[uint32]bool{}, map[uint32]bool{}
	r.all, r.allGroups, r.allMeters = false, false, false
	return ch, nil
}

// sendMeters applies meter mods and records the ones the switch took.
func (r *Reconciler) sendMeters(ctx context.Context, cn *Conn, ops []MeterOp) error {
	err := cn.MeterMods(ctx, ops)
	var refused *MeterError
	if err != nil && !errors.As(err, &refused) {
		r.allMeters = true // unknown which went through: compare all next time
		return err
	}
	for _, op := range ops {
		id := op.Meter.ID
		switch {
		case refused != nil && refused.Refused(id):
			r.allMeters = true
		case op.Cmd == Delete:
			delete(r.meters, id)
			delete(r.staleMeters, id)
		default:
			r.meters[id] = op.Meter
			delete(r.staleMeters, id)
		}
	}
	return err
}

// Apply makes the bridge's flows and groups equal to desired in one atomic
// bundle and returns the conflicts with foreign flows: everything else
// was applied.
func (r *Reconciler) Apply(ctx context.Context, cn *Conn, desired *pipeline.Tables) (Changes, []string, error) {
	r.SetDesired(desired)
	ch, err := r.Sync(ctx, cn)
	return ch, r.Conflicts(), err
}

// send applies ops as one bundle and records their effect.
func (r *Reconciler) send(ctx context.Context, cn *Conn, ops []Op) error {
	if len(ops) == 0 {
		return nil
	}
	if err := cn.Bundle(ctx, ops); err != nil {
		return err
	}
	r.strays = nil
	for _, op := range ops {
		switch {
		case op.stray != nil:
		case op.Group != nil && op.Cmd == Delete:
			delete(r.groups, op.Group.ID)
			delete(r.staleGroups, op.Group.ID)
		case op.Group != nil:
			r.groups[op.Group.ID] = *op.Group
			delete(r.staleGroups, op.Group.ID)
		case op.Cmd == Delete:
			k := op.Flow.Key()
			r.dropFlow(k)
			delete(r.stale, k)
		default:
			k := op.Flow.Key()
			r.setFlow(k, *op.Flow)
			delete(r.stale, k)
		}
	}
	return nil
}
