// Package expr parses OVN-style match expressions (ovn-sb(5), Logical_Flow
// match) and compiles them into disjunctions of field constraints that map
// onto OpenFlow matches.
//
//	ip4 && tcp.dst == 80
//	ip4.src == 10.0.0.0/24 && !(udp.dst == {53, 123})
//	tcp.dst >= 1000 && tcp.dst <= 1999
//	inport == @web && ip4.src == $admins && ct.est && !ct.rpl
//
// The empty expression matches everything. Fields, predicates and their
// prerequisites are OVN's (lib/logical-fields.c); prerequisites stay
// outside negations: !(tcp.dst == 80) is tcp && tcp.dst != 80.
//
// Within each conjunction the values a field may take are one set: a
// sorted list of intervals (integers, and addresses written as addresses
// or prefixes, so x != a && x != b && ... is one interval set, never a
// product of alternatives), narrowed by at most one value/mask for
// arbitrary masks (a bit such as eth.mcast or ct.new). Terms turns each
// set into its minimal prefix cover.
//
// Bounds: a match may expand to at most MaxFlows (65536) OpenFlow flows,
// counted as the renderer makes them (Term.Flows: a term whose fields
// have several value/masks becomes a conjunctive match, one flow per
// value/mask plus one). The bound holds for every subexpression as it is
// compiled (and one && may combine at most 65536 pairs of alternatives),
// so a match over the bound is refused early and cheaply, with the column
// where it grew too big. Parentheses and negations nest at most 128 deep.
//
// Compile serves matches that name header fields only (chain
// classifiers); CompileEnv with a Resolver also takes inport, outport,
// @port_group and $address_set (ACLs).
package expr

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// VM is a value and mask, big-endian, as wide as the field; a nil Mask is
// an exact match.
type VM struct {
	Value, Mask []byte
}

// Match is one conjunction of field matches: one OpenFlow match.
type Match map[Field]VM

// Fields lists the fields of a match in a fixed order.
func (m Match) Fields() []Field {
	fs := make([]Field, 0, len(m))
	for f := range m {
		fs = append(fs, f)
	}
	slices.Sort(fs)
	return fs
}

func (m Match) String() string {
	var parts []string
	for _, f := range m.Fields() {
		parts = append(parts, f.String()+"="+m[f].String())
	}
	return strings.Join(parts, ",")
}

func (v VM) String() string {
	s := fmt.Sprintf("0x%x", v.Value)
	if v.Mask != nil {
		s += fmt.Sprintf("/0x%x", v.Mask)
	}
	return s
}

// Term is one conjunction of field matches. Fixed fields have one
// value/mask; each Alt field may take any of several (the prefix cover of
// its set of values). A term with one Alt or none is a set of plain
// OpenFlow matches; with more, it is a conjunctive match (one clause per
// Alt) rather than the cross product of the covers.
type Term struct {
	Fixed Match
	Alts  []Alt
}

// Alt is a field that matches any of several value/masks.
type Alt struct {
	Field  Field
	Values []VM
}

// Expr is a compiled expression: a disjunction of terms. It is immutable
// and safe to share.
type Expr struct {
	d dnf

	termsOnce  sync.Once
	terms      []Term
	mirrorOnce sync.Once
	mirror     *Expr
}

// Compile compiles a match of header fields (no port names, port groups
// or address sets). The empty expression is one empty term (everything);
// an expression that can never match is an error. Results are memoized
// by the expression's text, so a match is compiled once per process.
func Compile(s string) (*Expr, error) {
	memoMu.Lock()
	r, ok := memo[s]
	memoMu.Unlock()
	if ok {
		return r.e, r.err
	}
	e, err := CompileEnv(s, nil)
	memoMu.Lock()
	if len(memo) >= maxMemo {
		clear(memo) // matches come and go; a process keeps only recent ones
	}
	memo[s] = memoized{e, err}
	memoMu.Unlock()
	return e, err
}

type memoized struct {
	e   *Expr
	err error
}

const maxMemo = 4096

var (
	memoMu sync.Mutex
	memo   = map[string]memoized{}
)

// CompileEnv compiles a match that may also name logical ports (inport,
// outport), port groups (@pg) and address sets ($as), resolved by
// env.Resolver. A nil env is Compile's context.
func CompileEnv(s string, env *Env) (*Expr, error) {
	n, err := parse(s)
	if err != nil {
		return nil, err
	}
	d, err := (&compiler{env: env}).compile(n, false)
	if err != nil {
		return nil, err
	}
	if len(d) == 0 && (env == nil || !env.EmptyOK) {
		return nil, errAt(1, "the expression can never match")
	}
	d, ok := splitPrereqs(d)
	if !ok {
		return nil, errTooBig(1, "its prerequisite fields take too many values")
	}
	e := &Expr{d: d}
	if e.Flows() > MaxFlows {
		return nil, errTooBig(1, fmt.Sprintf("its terms together take more than %d OpenFlow flows", MaxFlows))
	}
	return e, nil
}

// Check reports whether an expression of header fields compiles.
func Check(s string) error {
	_, err := Compile(s)
	return err
}

// Flows is how many OpenFlow flows the renderer makes of the expression
// in one context: the sum of its terms' Flows.
func (e *Expr) Flows() int {
	n := 0
	for _, t := range e.d {
		if n += t.flows(); n > MaxFlows {
			return n // enough to refuse; the rest need not be counted
		}
	}
	return n
}

// Flows is how many OpenFlow flows the renderer makes of a term: the
// product of nothing (1) with no Alt, the Alt's values with one, and the
// conjunctive match (every Alt's values, plus the conj_id flow) with
// more.
func (t Term) Flows() int {
	switch len(t.Alts) {
	case 0:
		return 1
	case 1:
		return len(t.Alts[0].Values)
	}
	n := 1
	for _, a := range t.Alts {
		n += len(a.Values)
	}
	return n
}

// Terms returns the expression's conjunctions: a field with one
// value/mask is Fixed, one with several is an Alt (its values' prefix
// cover). The result is shared: do not modify it.
func (e *Expr) Terms() []Term {
	e.termsOnce.Do(func() {
		e.terms = make([]Term, 0, len(e.d))
		for _, t := range e.d {
			e.terms = append(e.terms, t.export())
		}
	})
	return e.terms
}

func (t term) export() Term {
	out := Term{Fixed: Match{}}
	for _, x := range t {
		w := x.f.Bits()
		n := (w + 7) / 8
		var vms []VM
		x.c.each(w, func(v, m u128) bool {
			vm := VM{Value: v.bytes(n), Mask: m.bytes(n)}
			if m == ones(w) {
				vm.Mask = nil
			}
			vms = append(vms, vm)
			return true
		})
		if len(vms) == 1 {
			out.Fixed[x.f] = vms[0]
		} else {
			out.Alts = append(out.Alts, Alt{Field: x.f, Values: vms})
		}
	}
	return out
}

// Fields lists the fields the expression tests, prerequisites included.
func (e *Expr) Fields() []Field {
	var fs []Field
	for _, t := range e.d {
		for _, x := range t {
			if !slices.Contains(fs, x.f) {
				fs = append(fs, x.f)
			}
		}
	}
	slices.Sort(fs)
	return fs
}

// String renders the terms, for tests and debugging:
// "eth.type=0x0800 ip.proto=0x06 tcp.dst={0x0050,0x01bb} | ...".
func (e *Expr) String() string {
	var terms []string
	for _, t := range e.Terms() {
		var parts []string
		for _, f := range t.Fixed.Fields() {
			parts = append(parts, f.String()+"="+t.Fixed[f].String())
		}
		for _, a := range t.Alts {
			vs := make([]string, len(a.Values))
			for i, v := range a.Values {
				vs[i] = v.String()
			}
			parts = append(parts, a.Field.String()+"={"+strings.Join(vs, ",")+"}")
		}
		if len(parts) == 0 {
			parts = []string{"true"}
		}
		terms = append(terms, strings.Join(parts, " "))
	}
	if len(terms) == 0 {
		return "false"
	}
	return strings.Join(terms, " | ")
}

// Matches expands every term into plain OpenFlow matches (cross products
// included), without duplicates.
func (e *Expr) Matches() []Match {
	seen := map[string]bool{}
	var out []Match
	for _, t := range e.Terms() {
		for _, m := range t.Expand() {
			if k := m.String(); !seen[k] {
				seen[k] = true
				out = append(out, m)
			}
		}
	}
	return out
}

// Expand is the cross product of a term's alternatives.
func (t Term) Expand() []Match {
	ms := []Match{t.Fixed}
	for _, a := range t.Alts {
		var next []Match
		for _, m := range ms {
			for _, vm := range a.Values {
				n := Match{}
				for k, v := range m {
					n[k] = v
				}
				n[a.Field] = vm
				next = append(next, n)
			}
		}
		ms = next
	}
	return ms
}

// Mirror swaps source and destination fields: the expression of the reply
// direction of a bi-directional path.
func (e *Expr) Mirror() *Expr {
	e.mirrorOnce.Do(func() {
		out := &Expr{d: make(dnf, 0, len(e.d))}
		for _, t := range e.d {
			m := make(term, len(t))
			for i, x := range t {
				if g, ok := mirrored[x.f]; ok {
					x.f = g
				}
				m[i] = x
			}
			slices.SortFunc(m, func(a, b fc) int { return int(a.f) - int(b.f) })
			out.d = append(out.d, m)
		}
		e.mirror = out
	})
	return e.mirror
}

// Overlaps reports exactly whether some packet matches both expressions.
// Terms are paired only when their bounding intervals on the most
// constrained field meet (a sweep), so two large disjunctions of
// disjoint terms cost O(n log n), not O(n·m).
func (e *Expr) Overlaps(o *Expr) bool {
	if len(e.d)*len(o.d) <= 16 {
		for _, a := range e.d {
			for _, b := range o.d {
				if a.meets(b) {
					return true
				}
			}
		}
		return false
	}
	f := busiestField(e.d, o.d)
	type box struct {
		lo, hi u128
		side   int
		t      term
	}
	var boxes []box
	for side, d := range []dnf{e.d, o.d} {
		for _, t := range d {
			lo, hi := u128{}, ones(f.Bits())
			if c := t.find(f); c != nil {
				lo, hi = c.s[0].lo, c.s[len(c.s)-1].hi
			}
			boxes = append(boxes, box{lo, hi, side, t})
		}
	}
	slices.SortFunc(boxes, func(a, b box) int { return a.lo.cmp(b.lo) })
	var active [2][]box
	for _, b := range boxes {
		other := active[1-b.side][:0]
		for _, a := range active[1-b.side] {
			if a.hi.less(b.lo) {
				continue // ends before this and every later box starts
			}
			if a.t.meets(b.t) {
				return true
			}
			other = append(other, a)
		}
		active[1-b.side] = other
		active[b.side] = append(active[b.side], b)
	}
	return false
}

// busiestField is the field on which the terms of both start at the
// most distinct values: the one that tells them apart best.
func busiestField(ds ...dnf) Field {
	var count [numFields]int
	type start struct {
		f  Field
		lo u128
	}
	starts := map[start]bool{}
	for _, d := range ds {
		for _, t := range d {
			for _, x := range t {
				k := start{x.f, x.c.s[0].lo}
				if !starts[k] {
					starts[k] = true
					count[x.f]++
				}
			}
		}
	}
	best := Field(0)
	for f := range count {
		if count[f] > count[best] {
			best = Field(f)
		}
	}
	return best
}

// RangeCover returns the fewest prefix-aligned value/mask pairs whose
// union is exactly [lo, hi] on a field of the given width (a full-width
// exact value has a nil mask; the whole range is one zero mask).
func RangeCover(lo, hi uint64, bits int) []VM {
	n := (bits + 7) / 8
	var out []VM
	span{fromUint(lo), fromUint(hi)}.blocks(bits, func(v u128, free int) bool {
		vm := VM{Value: v.bytes(n), Mask: ones(bits).andNot(ones(free)).bytes(n)}
		if free == 0 {
			vm.Mask = nil
		}
		out = append(out, vm)
		return true
	})
	return out
}
