package pipeline

import (
	"fmt"
	"sort"
)

// The renderer's desired state is kept per flow key (table, priority,
// match: what OVS can hold once). Units contribute flows to keys; most
// keys have one contributor. Several units may contribute to one key in
// two ways, each reference-counted by contributor:
//
//   - the same flow (say, the unknown-unicast flow of a switch, which each
//     port that takes unknown unicast asks for): it stays while anyone
//     contributes it;
//   - clauses of conjunctive matches (only conjunction actions): the flow
//     carries the union of their actions, sorted.
//
// Anything else is a collision: two objects want one place for
// different flows.
type slot struct {
	flow  Flow           // what the key holds, from its contributors
	owner *unit          // the only contributor, or nil when there are more
	by    map[*unit]Flow // the contributors, when there are more than one
}

// contribute sets u's flow at key.
func (r *Renderer) contribute(u *unit, key string, f Flow) error {
	r.touchFlow(key)
	s := r.slots[key]
	switch {
	case s == nil:
		r.slots[key] = &slot{flow: f, owner: u}
		return nil
	case s.owner == u:
		s.flow = f
		return nil
	case s.owner != nil:
		s.by = map[*unit]Flow{s.owner: s.flow}
		s.owner = nil
	}
	s.by[u] = f
	return s.settle()
}

// retract removes u's flow at key.
func (r *Renderer) retract(u *unit, key string) error {
	r.touchFlow(key)
	s := r.slots[key]
	switch {
	case s == nil:
		return nil
	case s.owner == u:
		delete(r.slots, key)
		return nil
	case s.owner != nil:
		return nil
	}
	delete(s.by, u)
	if len(s.by) == 1 {
		for o, f := range s.by {
			s.owner, s.flow, s.by = o, f, nil
		}
		return nil
	}
	return s.settle()
}

// settle recomputes the flow of a key with several contributors.
func (s *slot) settle() error {
	var first *Flow
	conj := true
	for _, f := range s.by {
		f := f
		if first == nil {
			first = &f
		}
		conj = conj && onlyConjunctions(f.Actions)
	}
	if !conj {
		for _, f := range s.by {
			if !sameFlow(*first, f) {
				return fmt.Errorf("pipeline: two flows collide: %s and %s", *first, f)
			}
		}
		s.flow = *first
		return nil
	}
	s.flow = mergeConjunctions(*first, s.by)
	return nil
}

// mergeConjunctions is the flow of one conjunctive clause that several
// contributors share: their conjunction actions, sorted, under the
// smallest cookie.
func mergeConjunctions(base Flow, by map[*unit]Flow) Flow {
	var acts []Action
	cookie := base.Cookie
	for _, f := range by {
		acts = append(acts, f.Actions...)
		if f.Cookie < cookie {
			cookie = f.Cookie
		}
	}
	base.Cookie, base.Actions = cookie, sortConjunctions(acts)
	return base
}

func sortConjunctions(acts []Action) []Action {
	sort.Slice(acts, func(i, j int) bool {
		a, b := acts[i].(Conjunction), acts[j].(Conjunction)
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		return a.Clause < b.Clause
	})
	out := acts[:0]
	for i, a := range acts {
		if i == 0 || a != acts[i-1] {
			out = append(out, a)
		}
	}
	return out
}

// sameFlow compares what the switch would hold.
func sameFlow(a, b Flow) bool {
	return a.Cookie == b.Cookie && ActionsEqual(a.Actions, b.Actions)
}

// keyedFlow is one of a unit's flows, with its key.
type keyedFlow struct {
	key  string
	flow Flow
}

// unitFlows keys a unit's flows, sorted by key, merging within the unit
// by the rules of slots.
func unitFlows(flows []Flow) ([]keyedFlow, error) {
	kf := make([]keyedFlow, len(flows))
	for i, f := range flows {
		kf[i] = keyedFlow{f.Key(), f}
	}
	sort.Slice(kf, func(i, j int) bool { return kf[i].key < kf[j].key })
	out := kf[:0]
	for _, e := range kf {
		if len(out) == 0 || out[len(out)-1].key != e.key {
			out = append(out, e)
			continue
		}
		cur := &out[len(out)-1].flow
		switch f := e.flow; {
		case onlyConjunctions(cur.Actions) && onlyConjunctions(f.Actions):
			if f.Cookie < cur.Cookie {
				cur.Cookie = f.Cookie
			}
			cur.Actions = sortConjunctions(append(append([]Action(nil), cur.Actions...), f.Actions...))
		case sameFlow(*cur, f):
		default:
			return nil, fmt.Errorf("pipeline: two flows collide: %s and %s", *cur, f)
		}
	}
	return out, nil
}

func onlyConjunctions(acts []Action) bool {
	for _, a := range acts {
		if _, ok := a.(Conjunction); !ok {
			return false
		}
	}
	return len(acts) > 0
}
