package controller

import (
	"context"
	"fmt"

	"github.com/chainwire/chainwire/pipeline"
)

// Reconciler keeps one bridge's flows equal to a desired set. It remembers
// what it believes is installed, learns it from the switch on every
// (re)connect, and sends only differences, as one atomic bundle. It never
// flushes a table, and never touches flows whose cookie is not ours.
type Reconciler struct {
	installed map[string]pipeline.Flow // by Flow.Key()
	// undecodable flows of ours, by key: always replaced or deleted.
	stale map[string]pipeline.Flow
	// StaleReason says why the first undecodable flow was (for logs).
	StaleReason string
}

// Changes counts what one Apply sent.
type Changes struct {
	Added, Modified, Deleted int
}

func (c Changes) Total() int { return c.Added + c.Modified + c.Deleted }

func (c Changes) String() string {
	return fmt.Sprintf("%d added, %d modified, %d deleted", c.Added, c.Modified, c.Deleted)
}

// NewReconciler returns a reconciler that knows nothing yet; call Resync
// before the first Apply on a connection.
func NewReconciler() *Reconciler {
	return &Reconciler{installed: map[string]pipeline.Flow{}, stale: map[string]pipeline.Flow{}}
}

// Installed is the number of our flows believed installed.
func (r *Reconciler) Installed() int { return len(r.installed) }

// Stale is the number of flows read back that could not be decoded; the
// next Apply replaces or deletes them.
func (r *Reconciler) Stale() int { return len(r.stale) }

// Resync reads back every flow carrying our cookie marker.
func (r *Reconciler) Resync(ctx context.Context, cn *Conn) error {
	flows, err := cn.ReadFlows(ctx, pipeline.CookieMarker, pipeline.CookieMarkerMask)
	if err != nil {
		return fmt.Errorf("read back installed flows: %w", err)
	}
	r.installed = make(map[string]pipeline.Flow, len(flows))
	r.stale = map[string]pipeline.Flow{}
	r.StaleReason = ""
	for _, f := range flows {
		if f.decodeErr != nil {
			if r.StaleReason == "" {
				r.StaleReason = fmt.Sprintf("table %d priority %d: %v", f.table, f.priority, f.decodeErr)
			}
			if f.match == nil {
				// Without its match the flow cannot even be deleted strictly.
				return fmt.Errorf("installed flow in table %d priority %d (%s) cannot be decoded: %v",
					f.table, f.priority, pipeline.DescribeCookie(f.cookie), f.decodeErr)
			}
			stage, _ := pipeline.StageOfTable(f.table)
			sf := pipeline.Flow{Stage: stage, Priority: f.priority, Cookie: f.cookie, Match: f.match}
			r.stale[sf.Key()] = sf
			continue
		}
		r.installed[f.flow.Key()] = f.flow
	}
	return nil
}

// Diff computes the operations that turn the installed flows into desired:
// deletes first, then adds (an add replaces a flow with the same key).
func (r *Reconciler) Diff(desired []pipeline.Flow) ([]FlowOp, Changes) {
	var ops []FlowOp
	var ch Changes
	keys := make([]string, len(desired))
	want := make(map[string]bool, len(desired))
	for i, f := range desired {
		keys[i] = f.Key()
		want[keys[i]] = true
	}
	for _, m := range []map[string]pipeline.Flow{r.installed, r.stale} {
		for k, f := range m {
			if !want[k] {
				ops = append(ops, FlowOp{Delete: true, Flow: f})
				ch.Deleted++
			}
		}
	}
	for i, f := range desired {
		k := keys[i]
		cur, have := r.installed[k]
		_, stale := r.stale[k]
		switch {
		case have && cur.Cookie == f.Cookie && pipeline.ActionsString(cur.Actions, false) == pipeline.ActionsString(f.Actions, false):
			continue
		case have || stale:
			ch.Modified++
		default:
			ch.Added++
		}
		ops = append(ops, FlowOp{Flow: f})
	}
	return ops, ch
}

// Apply makes the bridge's flows equal to desired in one atomic bundle. On
// error nothing changed on the switch, and nothing changes here.
func (r *Reconciler) Apply(ctx context.Context, cn *Conn, desired []pipeline.Flow) (Changes, error) {
	ops, ch := r.Diff(desired)
	if len(ops) == 0 {
		return ch, nil
	}
	if err := cn.Bundle(ctx, ops); err != nil {
		return Changes{}, err
	}
	r.installed = make(map[string]pipeline.Flow, len(desired))
	for _, f := range desired {
		r.installed[f.Key()] = f
	}
	r.stale = map[string]pipeline.Flow{}
	return ch, nil
}
