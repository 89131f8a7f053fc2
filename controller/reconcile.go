package controller

import (
	"context"
	"fmt"
	"sort"

	"github.com/chainwire/chainwire/pipeline"
)

// Reconciler keeps one bridge's flows and groups equal to a desired set.
// It remembers what it believes is installed, learns it from the switch
// on every (re)connect and from the flow monitor in between, and sends
// only differences, as one atomic bundle. It never flushes a table, never
// touches a flow whose cookie is not ours, and never takes the place of
// a foreign flow that holds a match we want (it reports the conflict).
type Reconciler struct {
	flows map[string]pipeline.Flow // ours, by Flow.Key()
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
	// StaleReason says why the first undecodable flow or group was (for
	// logs).
	StaleReason string
	// ReadSeq is the Seq of the last flow monitor event the last read-back
	// already reflects: Observe ignores events up to it.
	ReadSeq uint64
	// want is the desired state of the last Apply, by key; drifted lists
	// the keys someone else changed since, for Repair.
	want    map[string]pipeline.Flow
	wantAll *pipeline.Tables
	drifted map[string]bool
}

// Changes counts what one Apply sent.
type Changes struct {
	Added, Modified, Deleted                   int
	GroupsAdded, GroupsModified, GroupsDeleted int
}

// Total is the number of flow and group mods.
func (c Changes) Total() int {
	return c.Added + c.Modified + c.Deleted + c.GroupsAdded + c.GroupsModified + c.GroupsDeleted
}

func (c Changes) String() string {
	s := fmt.Sprintf("%d added, %d modified, %d deleted", c.Added, c.Modified, c.Deleted)
	if g := c.GroupsAdded + c.GroupsModified + c.GroupsDeleted; g > 0 {
		s += fmt.Sprintf("; groups %d added, %d modified, %d deleted", c.GroupsAdded, c.GroupsModified, c.GroupsDeleted)
	}
	return s
}

// NewReconciler returns a reconciler that knows nothing yet; call Resync
// before the first Apply on a connection.
func NewReconciler() *Reconciler {
	return &Reconciler{flows: map[string]pipeline.Flow{}, stale: map[string]pipeline.Flow{},
		foreign: map[string]uint64{}, groups: map[uint32]pipeline.Group{}, staleGroups: map[uint32]bool{},
		drifted: map[string]bool{}}
}

// Installed is the number of our flows believed installed.
func (r *Reconciler) Installed() int { return len(r.flows) }

// Stale is the number of flows and groups read back that could not be
// decoded; the next Apply replaces or deletes them.
func (r *Reconciler) Stale() int { return len(r.stale) + len(r.staleGroups) }

// Resync reads back every flow and every group of ours.
func (r *Reconciler) Resync(ctx context.Context, cn *Conn) error {
	flows, seq, err := cn.ReadFlows(ctx)
	if err != nil {
		return fmt.Errorf("read back installed flows: %w", err)
	}
	r.ReadSeq = seq
	groups, err := cn.ReadGroups(ctx)
	if err != nil {
		return fmt.Errorf("read back installed groups: %w", err)
	}
	r.flows = make(map[string]pipeline.Flow, len(flows))
	r.stale, r.foreign, r.strays = map[string]pipeline.Flow{}, map[string]uint64{}, nil
	r.StaleReason = ""
	for _, f := range flows {
		if err := r.learn(f); err != nil {
			return err
		}
	}
	r.learnGroups(groups)
	return nil
}

// ResyncGroups reads the groups back again (after drift: OpenFlow deletes
// the flows that use a deleted group, and the monitor reports only those).
func (r *Reconciler) ResyncGroups(ctx context.Context, cn *Conn) error {
	groups, err := cn.ReadGroups(ctx)
	if err != nil {
		return fmt.Errorf("read back installed groups: %w", err)
	}
	r.learnGroups(groups)
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
	delete(r.flows, key)
	delete(r.stale, key)
	delete(r.foreign, key)
	switch {
	case !pipeline.IsOurs(f.cookie):
		r.foreign[key] = f.cookie
	case f.decodeErr != nil:
		r.noteStale(fmt.Sprintf("table %d priority %d: %v", f.table, f.priority, f.decodeErr))
		r.stale[key] = pipeline.Flow{Stage: stage, Priority: f.priority, Cookie: f.cookie, Match: f.match}
	default:
		r.flows[key] = f.flow
	}
	return nil
}

// Observe updates what the reconciler believes from a change someone
// else made (a flow monitor event). It reports whether the change touched
// a flow of ours, or the place of one, so that a reconcile is due.
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
		r.drifted[key] = true
	}
	if ev.Kind == FlowDeleted {
		if r.foreign[key] == f.cookie || !pipeline.IsOurs(f.cookie) {
			delete(r.foreign, key)
		}
		if pipeline.IsOurs(f.cookie) {
			delete(r.flows, key)
			delete(r.stale, key)
		}
		return drift, nil
	}
	return drift, r.learn(f)
}

// Diff computes the operations that turn what is installed into desired,
// in the order a bundle applies them: flow deletes, group adds and
// modifies, flow adds and modifies, group deletes (OpenFlow deletes the
// flows that use a group along with it). Desired flows whose place a
// foreign flow holds are left out and reported as conflicts.
func (r *Reconciler) Diff(desired *pipeline.Tables) (ops []Op, ch Changes, conflicts []string) {
	want := make(map[string]bool, len(desired.Flows))
	keys := make([]string, len(desired.Flows))
	for i, f := range desired.Flows {
		keys[i] = f.Key()
		want[keys[i]] = true
	}
	wantGroup := make(map[uint32]bool, len(desired.Groups))
	for _, g := range desired.Groups {
		wantGroup[g.ID] = true
	}
	for _, f := range r.strays {
		ops = append(ops, Op{Cmd: Delete, stray: &f})
		ch.Deleted++
	}
	for _, m := range []map[string]pipeline.Flow{r.flows, r.stale} {
		for _, k := range sortedKeys(m) {
			if !want[k] {
				ops = append(ops, FlowOp(Delete, m[k]))
				ch.Deleted++
			}
		}
	}
	for _, g := range desired.Groups {
		cur, have := r.groups[g.ID]
		switch {
		case have && cur.Type == g.Type && cur.Format(false) == g.Format(false):
			continue
		case have || r.staleGroups[g.ID]:
			ops = append(ops, GroupOp(Modify, g))
			ch.GroupsModified++
		default:
			ops = append(ops, GroupOp(Add, g))
			ch.GroupsAdded++
		}
	}
	for i, f := range desired.Flows {
		k := keys[i]
		if cookie, taken := r.foreign[k]; taken {
			conflicts = append(conflicts, fmt.Sprintf("a foreign flow (cookie 0x%x) holds the place of %s", cookie, f))
			continue
		}
		cur, have := r.flows[k]
		_, stale := r.stale[k]
		switch {
		case have && cur.Cookie == f.Cookie && pipeline.ActionsEqual(cur.Actions, f.Actions):
			continue
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
	var gone []uint32
	for id := range r.groups {
		if !wantGroup[id] {
			gone = append(gone, id)
		}
	}
	for id := range r.staleGroups {
		if !wantGroup[id] {
			gone = append(gone, id)
		}
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i] < gone[j] })
	for _, id := range gone {
		ops = append(ops, GroupOp(Delete, pipeline.Group{ID: id}))
		ch.GroupsDeleted++
	}
	return ops, ch, conflicts
}

func sortedKeys(m map[string]pipeline.Flow) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Apply makes the bridge's flows and groups equal to desired in one atomic
// bundle. On error nothing changed on the switch, and nothing changes
// here. Conflicts with foreign flows are returned alongside: everything
// else was applied.
func (r *Reconciler) Apply(ctx context.Context, cn *Conn, desired *pipeline.Tables) (Changes, []string, error) {
	ops, ch, conflicts := r.Diff(desired)
	if err := r.send(ctx, cn, ops); err != nil {
		return Changes{}, conflicts, err
	}
	r.wantAll = desired
	r.want = make(map[string]pipeline.Flow, len(desired.Flows))
	for _, f := range desired.Flows {
		r.want[f.Key()] = f
	}
	r.drifted = map[string]bool{}
	return ch, conflicts, nil
}

// Repair puts back what someone else changed since the last Apply: only
// the flows the monitor reported (and the groups, which it does not
// report, compared whole), against the desired state of that Apply.
func (r *Reconciler) Repair(ctx context.Context, cn *Conn) (Changes, []string, error) {
	if r.wantAll == nil {
		return Changes{}, nil, fmt.Errorf("nothing applied yet to repair against")
	}
	part := &pipeline.Tables{Groups: r.wantAll.Groups}
	for k := range r.drifted {
		if f, ok := r.want[k]; ok {
			part.Flows = append(part.Flows, f)
		}
	}
	sort.Slice(part.Flows, func(i, j int) bool { return part.Flows[i].Key() < part.Flows[j].Key() })
	// Diff against the drifted keys only: what is installed elsewhere is
	// not in question.
	saved := r.flows
	r.flows = make(map[string]pipeline.Flow, len(r.drifted))
	for k := range r.drifted {
		if f, ok := saved[k]; ok {
			r.flows[k] = f
		}
	}
	ops, ch, conflicts := r.Diff(part)
	installed := r.flows
	r.flows = saved
	for k := range r.drifted {
		delete(r.flows, k)
		if f, ok := installed[k]; ok {
			r.flows[k] = f
		}
	}
	if err := r.send(ctx, cn, ops); err != nil {
		return Changes{}, conflicts, err
	}
	r.drifted = map[string]bool{}
	return ch, conflicts, nil
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
			delete(r.flows, k)
			delete(r.stale, k)
		default:
			k := op.Flow.Key()
			r.flows[k] = *op.Flow
			delete(r.stale, k)
		}
	}
	return nil
}
