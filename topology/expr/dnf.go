package expr

import (
	"fmt"
	"slices"
)

// cons is the constraint on one field within a conjunction: the values in
// s that also match the value/mask pattern v/m (m zero: no pattern).
// Prefix-shaped patterns are folded into s, so a pattern is only ever an
// arbitrary mask (a bit such as eth.mcast or ct.new, or a masked value).
// A cons is never modified once made: terms share them.
type cons struct {
	s    set
	v, m u128
	h    uint64 // hash of s, v and m, for grouping terms
}

func newCons(s set, v, m u128, width int) *cons {
	if !m.isZero() && isPrefixMask(m, width) {
		s = intersect(s, set{{v, v.or(ones(width).andNot(m))}})
		v, m = u128{}, u128{}
	}
	c := &cons{s: s, v: v, m: m}
	c.h = c.hash()
	return c
}

func isPrefixMask(m u128, width int) bool {
	return m == ones(width).andNot(ones(width-m.onesCount()))
}

func (c *cons) hash() uint64 {
	h := uint64(14695981039346656037)
	mix := func(x uint64) {
		h ^= x
		h *= 1099511628211
		h ^= h >> 29
	}
	for _, sp := range c.s {
		mix(sp.lo.hi)
		mix(sp.lo.lo)
		mix(sp.hi.hi)
		mix(sp.hi.lo)
	}
	mix(c.v.hi)
	mix(c.v.lo)
	mix(c.m.hi)
	mix(c.m.lo)
	return h
}

func (c *cons) equal(o *cons) bool {
	return c == o || (c.h == o.h && c.v == o.v && c.m == o.m && slices.Equal(c.s, o.s))
}

// unconstrained tells a constraint that every value meets.
func (c *cons) unconstrained(width int) bool { return c.m.isZero() && c.s.isFull(width) }

// compatible tells whether a prefix block (value b with free low bits)
// holds a value that matches the pattern; if so it returns the block
// narrowed by the pattern, as value/mask.
func (c *cons) compatible(b u128, free, width int) (v, m u128, ok bool) {
	bm := ones(width).andNot(ones(free))
	if b.and(bm).and(c.m) != c.v.and(bm) {
		return u128{}, u128{}, false
	}
	return b.and(bm).or(c.v), bm.or(c.m), true
}

// each calls fn with every value/mask of the constraint's cover: the
// prefix cover of s, each block narrowed by the pattern. It stops when
// fn returns false.
func (c *cons) each(width int, fn func(v, m u128) bool) {
	for _, sp := range c.s {
		stop := false
		sp.blocks(width, func(b u128, free int) bool {
			if v, m, ok := c.compatible(b, free, width); ok && !fn(v, m) {
				stop = true
			}
			return !stop
		})
		if stop {
			return
		}
	}
}

func (c *cons) nonEmpty(width int) bool {
	if c.m.isZero() {
		return len(c.s) > 0
	}
	found := false
	c.each(width, func(u128, u128) bool { found = true; return false })
	return found
}

// count is how many value/masks the constraint's cover takes.
func (c *cons) count(width int) int {
	if c.m.isZero() {
		return c.s.coverCount(width)
	}
	n := 0
	c.each(width, func(u128, u128) bool { n++; return true })
	return n
}

// and intersects two constraints of one field; false if nothing meets
// both.
func (c *cons) and(o *cons, width int) (*cons, bool) {
	if c.equal(o) {
		return c, true
	}
	if (c.v.xor(o.v)).and(c.m).and(o.m) != (u128{}) {
		return nil, false
	}
	r := newCons(intersect(c.s, o.s), c.v.or(o.v), c.m.or(o.m), width)
	return r, r.nonEmpty(width)
}

// meets tells whether some value meets both constraints, building
// nothing when neither has a pattern.
func (c *cons) meets(o *cons, width int) bool {
	if c.m.isZero() && o.m.isZero() {
		return intersects(c.s, o.s)
	}
	_, ok := c.and(o, width)
	return ok
}

// fc is one field's constraint in a term.
type fc struct {
	f Field
	c *cons
}

// term is one conjunction, sorted by field; fields it does not name are
// unconstrained. Terms are never modified once made.
type term []fc

// dnf is a disjunction of conjunctions; empty = false, [{}] = true.
type dnf []term

func (t term) find(f Field) *cons {
	for _, x := range t {
		if x.f == f {
			return x.c
		}
	}
	return nil
}

// merge is the conjunction of two terms; false if they contradict.
func merge(x, y term) (term, bool) {
	out := make(term, 0, len(x)+len(y))
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case j == len(y) || (i < len(x) && x[i].f < y[j].f):
			out = append(out, x[i])
			i++
		case i == len(x) || y[j].f < x[i].f:
			out = append(out, y[j])
			j++
		default:
			c, ok := x[i].c.and(y[j].c, x[i].f.Bits())
			if !ok {
				return nil, false
			}
			if !c.unconstrained(x[i].f.Bits()) {
				out = append(out, fc{x[i].f, c})
			}
			i++
			j++
		}
	}
	return out, true
}

// meets tells whether some packet matches both terms.
func (t term) meets(o term) bool {
	i, j := 0, 0
	for i < len(t) && j < len(o) {
		switch {
		case t[i].f < o[j].f:
			i++
		case o[j].f < t[i].f:
			j++
		default:
			if !t[i].c.meets(o[j].c, t[i].f.Bits()) {
				return false
			}
			i++
			j++
		}
	}
	return true
}

// accum gathers the constraints of many conjuncts on each field and
// intersects each field's in one step (intersectAll), so a chain of n
// comparisons of one field costs O(n log n), never O(n²).
type accum struct {
	sets map[Field][]set
	pat  map[Field][2]u128
	col  map[Field]int // the column of the last conjunct on the field
	ok   bool
}

func newAccum() *accum {
	return &accum{sets: map[Field][]set{}, pat: map[Field][2]u128{}, col: map[Field]int{}, ok: true}
}

func (a *accum) add(t term, col int) {
	for _, x := range t {
		a.col[x.f] = col
		a.sets[x.f] = append(a.sets[x.f], x.c.s)
		if x.c.m.isZero() {
			continue
		}
		p := a.pat[x.f]
		if p[0].xor(x.c.v).and(p[1]).and(x.c.m) != (u128{}) {
			a.ok = false
		}
		a.pat[x.f] = [2]u128{p[0].or(x.c.v), p[1].or(x.c.m)}
	}
}

// term is the conjunction of everything added; false if it contradicts.
// A field whose set alone takes more than MaxFlows value/masks is an
// error at the column of its last conjunct.
func (a *accum) term() (term, bool, error) {
	if !a.ok {
		return nil, false, nil
	}
	fs := make([]Field, 0, len(a.sets))
	for f := range a.sets {
		fs = append(fs, f)
	}
	slices.Sort(fs)
	out := make(term, 0, len(fs))
	for _, f := range fs {
		w := f.Bits()
		p := a.pat[f]
		c := newCons(intersectAll(a.sets[f], w), p[0], p[1], w)
		if !c.nonEmpty(w) {
			return nil, false, nil
		}
		if n := c.count(w); n > MaxFlows {
			return nil, false, errTooBig(a.col[f], fmt.Sprintf("%s takes %d value/masks here", f, n))
		}
		if !c.unconstrained(w) {
			out = append(out, fc{f, c})
		}
	}
	return out, true, nil
}

// mergeSimilar joins terms that differ in one field's set only (x ∈ A ∧
// R or x ∈ B ∧ R is x ∈ A∪B ∧ R), so that tcp.dst == 1 || tcp.dst == 2
// || ... stays one term per prerequisite instead of one per value.
func mergeSimilar(d dnf) dnf {
	if len(d) < 2 {
		return d
	}
	for _, t := range d {
		if len(t) == 0 {
			return dnf{t} // one term is true: so is the disjunction
		}
	}
	var fields []Field
	seen := map[Field]bool{}
	for _, t := range d {
		for _, x := range t {
			if !seen[x.f] {
				seen[x.f] = true
				fields = append(fields, x.f)
			}
		}
	}
	slices.Sort(fields)
	for _, f := range fields {
		d = mergeOn(d, f)
	}
	return d
}

// mergeOn joins the terms that are equal but for the set of field f.
func mergeOn(d dnf, f Field) dnf {
	groups := map[uint64][]int{}
	var order []uint64
	for i, t := range d {
		if t.find(f) == nil {
			continue
		}
		k := t.hashExcept(f)
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	if len(groups) == len(d) {
		return d
	}
	drop := make([]bool, len(d))
	var joined dnf
	for _, k := range order {
		idx := groups[k]
		if len(idx) < 2 {
			continue
		}
		first := d[idx[0]]
		sets := []set{first.find(f).s}
		for _, i := range idx[1:] {
			if sameBut(first, d[i], f) {
				sets = append(sets, d[i].find(f).s)
				drop[i] = true
			}
		}
		if len(sets) == 1 {
			continue
		}
		drop[idx[0]] = true
		joined = append(joined, first.with(f, unionAll(sets)))
	}
	out := make(dnf, 0, len(d))
	for i, t := range d {
		if !drop[i] {
			out = append(out, t)
		}
	}
	return append(out, joined...)
}

// hashExcept hashes a term leaving out the set (not the pattern) of f.
func (t term) hashExcept(f Field) uint64 {
	h := uint64(len(t))
	for _, x := range t {
		v := x.c.h
		if x.f == f {
			v = x.c.v.lo ^ x.c.v.hi<<1 ^ x.c.m.lo<<2 ^ x.c.m.hi<<3 ^ 0x9e3779b97f4a7c15
		}
		h = h*31 + uint64(x.f)<<56 ^ v
	}
	return h
}

func sameBut(a, b term, f Field) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].f != b[i].f {
			return false
		}
		if a[i].f == f {
			if a[i].c.v != b[i].c.v || a[i].c.m != b[i].c.m {
				return false
			}
		} else if !a[i].c.equal(b[i].c) {
			return false
		}
	}
	return true
}

// with replaces f's set (keeping its pattern); an unconstrained field
// leaves the term.
func (t term) with(f Field, s set) term {
	out := make(term, 0, len(t))
	for _, x := range t {
		if x.f == f {
			c := newCons(s, x.c.v, x.c.m, f.Bits())
			if c.unconstrained(f.Bits()) {
				continue
			}
			x = fc{f, c}
		}
		out = append(out, x)
	}
	return out
}

// flows is how many OpenFlow flows the renderer makes of a term: one per
// value/mask of its only multi-valued field, or, with several, one per
// value/mask of each (the clauses of a conjunctive match) plus the flow
// on conj_id.
func (t term) flows() int {
	alts, sum := 0, 0
	for _, x := range t {
		if n := x.c.count(x.f.Bits()); n > 1 {
			alts++
			sum += n
		}
	}
	switch alts {
	case 0:
		return 1
	case 1:
		return sum
	}
	return sum + 1
}

// prereqFields are OpenFlow prerequisites of other fields (dl_type of L3,
// nw_proto of L4, icmpv6_type of nd_*): every flow, conjunctive clauses
// included, must fix them, so a term never keeps several of their values
// as an alternative.
var prereqFields = []Field{EthType, IPProto, ICMP6Type}

// splitPrereqs gives each value/mask of a prerequisite field its own term;
// false if that makes more than MaxFlows terms.
func splitPrereqs(d dnf) (dnf, bool) {
	out := make(dnf, 0, len(d))
	for _, t := range d {
		parts := dnf{t}
		for _, f := range prereqFields {
			c := t.find(f)
			if c == nil || c.count(f.Bits()) < 2 {
				continue
			}
			var next dnf
			for _, p := range parts {
				c.each(f.Bits(), func(v, m u128) bool {
					next = append(next, p.put(f, newCons(fullSet(f.Bits()), v, m, f.Bits())))
					return len(out)+len(next) <= MaxFlows
				})
			}
			parts = next
		}
		if out = append(out, parts...); len(out) > MaxFlows {
			return nil, false
		}
	}
	return out, true
}

// put sets f's constraint, in field order.
func (t term) put(f Field, c *cons) term {
	out := make(term, 0, len(t)+1)
	for _, x := range t {
		if x.f != f {
			out = append(out, x)
		}
	}
	out = append(out, fc{f, c})
	slices.SortFunc(out, func(a, b fc) int { return int(a.f) - int(b.f) })
	return out
}
