package expr

import (
	"math/bits"
	"slices"
)

// u128 is a field value of up to 128 bits, right-aligned (bit 0 is the
// field's least significant bit, as OVN numbers subfields).
type u128 struct{ hi, lo uint64 }

func ones(n int) u128 {
	switch {
	case n <= 0:
		return u128{}
	case n < 64:
		return u128{0, 1<<n - 1}
	case n == 64:
		return u128{0, ^uint64(0)}
	case n < 128:
		return u128{1<<(n-64) - 1, ^uint64(0)}
	}
	return u128{^uint64(0), ^uint64(0)}
}

func bit(i int) u128 {
	if i < 64 {
		return u128{0, 1 << i}
	}
	return u128{1 << (i - 64), 0}
}

func (a u128) cmp(b u128) int {
	switch {
	case a.hi < b.hi:
		return -1
	case a.hi > b.hi:
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

func (a u128) less(b u128) bool   { return a.cmp(b) < 0 }
func (a u128) and(b u128) u128    { return u128{a.hi & b.hi, a.lo & b.lo} }
func (a u128) or(b u128) u128     { return u128{a.hi | b.hi, a.lo | b.lo} }
func (a u128) andNot(b u128) u128 { return u128{a.hi &^ b.hi, a.lo &^ b.lo} }
func (a u128) xor(b u128) u128    { return u128{a.hi ^ b.hi, a.lo ^ b.lo} }
func (a u128) isZero() bool       { return a.hi == 0 && a.lo == 0 }
func (a u128) has(i int) bool     { return !a.and(bit(i)).isZero() }
func fromUint(v uint64) u128      { return u128{0, v} }

func (a u128) add1() u128 {
	lo, c := bits.Add64(a.lo, 1, 0)
	return u128{a.hi + c, lo}
}

func (a u128) sub(b u128) u128 {
	lo, c := bits.Sub64(a.lo, b.lo, 0)
	return u128{a.hi - b.hi - c, lo}
}

func (a u128) sub1() u128 { return a.sub(u128{0, 1}) }

// trailingZeros is 128 for zero.
func (a u128) trailingZeros() int {
	if a.lo != 0 {
		return bits.TrailingZeros64(a.lo)
	}
	if a.hi != 0 {
		return 64 + bits.TrailingZeros64(a.hi)
	}
	return 128
}

func (a u128) bitLen() int {
	if a.hi != 0 {
		return 64 + bits.Len64(a.hi)
	}
	return bits.Len64(a.lo)
}

func (a u128) shl(n int) u128 {
	switch {
	case n <= 0:
		return a
	case n >= 128:
		return u128{}
	case n >= 64:
		return u128{a.lo << (n - 64), 0}
	}
	return u128{a.hi<<n | a.lo>>(64-n), a.lo << n}
}

// fromBytes reads a big-endian value of up to 16 bytes.
func fromBytes(b []byte) u128 {
	var v u128
	for _, x := range b {
		v = v.shl(8).or(fromUint(uint64(x)))
	}
	return v
}

// bytes writes the value big-endian in n bytes.
func (a u128) bytes(n int) []byte {
	out := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		out[i] = byte(a.lo)
		a = u128{a.hi >> 8, a.lo>>8 | a.hi<<56}
	}
	return out
}

// span is the closed interval [lo, hi].
type span struct{ lo, hi u128 }

// set is a sorted list of disjoint, non-adjacent spans: the values one
// field may take within a conjunction. Sets are never modified in place.
type set []span

func fullSet(width int) set { return set{{u128{}, ones(width)}} }

func (s set) isFull(width int) bool {
	return len(s) == 1 && s[0].lo.isZero() && s[0].hi == ones(width)
}

// complement is the values of the field outside s.
func (s set) complement(width int) set {
	max := ones(width)
	out := make(set, 0, len(s)+1)
	next := u128{}
	for _, sp := range s {
		if next.less(sp.lo) {
			out = append(out, span{next, sp.lo.sub1()})
		}
		if sp.hi == max {
			return out
		}
		next = sp.hi.add1()
	}
	return append(out, span{next, max})
}

// unionAll merges any number of sets in one sort: O(n log n) in their
// total size, however many sets there are.
func unionAll(sets []set) set {
	n := 0
	for _, s := range sets {
		n += len(s)
	}
	if len(sets) == 1 {
		return sets[0]
	}
	all := make(set, 0, n)
	for _, s := range sets {
		all = append(all, s...)
	}
	slices.SortFunc(all, func(a, b span) int { return a.lo.cmp(b.lo) })
	out := all[:0]
	for _, sp := range all {
		if k := len(out) - 1; k >= 0 {
			last := &out[k]
			// overlapping or adjacent (last.hi+1 == sp.lo, unless last.hi is the maximum)
			if !last.hi.less(sp.lo) || last.hi.add1() == sp.lo {
				if last.hi.less(sp.hi) {
					last.hi = sp.hi
				}
				continue
			}
		}
		out = append(out, sp)
	}
	return slices.Clip(out)
}

// intersectAll is the values in every set, computed as the complement of
// the union of the complements (linear after one sort).
func intersectAll(sets []set, width int) set {
	switch len(sets) {
	case 1:
		return sets[0]
	case 2:
		return intersect(sets[0], sets[1])
	}
	comps := make([]set, len(sets))
	for i, s := range sets {
		comps[i] = s.complement(width)
	}
	return unionAll(comps).complement(width)
}

// intersect is the values in both sets, by one merge walk.
func intersect(a, b set) set {
	var out set
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		lo, hi := a[i].lo, a[i].hi
		if lo.less(b[j].lo) {
			lo = b[j].lo
		}
		if b[j].hi.less(hi) {
			hi = b[j].hi
		}
		if !hi.less(lo) {
			out = append(out, span{lo, hi})
		}
		if a[i].hi.less(b[j].hi) {
			i++
		} else {
			j++
		}
	}
	return out
}

// intersects tells whether two sets share a value, without building the
// intersection.
func intersects(a, b set) bool {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if !a[i].hi.less(b[j].lo) && !b[j].hi.less(a[i].lo) {
			return true
		}
		if a[i].hi.less(b[j].hi) {
			i++
		} else {
			j++
		}
	}
	return false
}

// blocks calls fn with each aligned power-of-two block (value, number of
// free low bits) of the minimal prefix cover of [lo, hi], stopping if fn
// returns false.
func (sp span) blocks(width int, fn func(v u128, free int) bool) {
	lo := sp.lo
	for {
		// the largest aligned block that starts at lo and stays within hi
		free := min(lo.trailingZeros(), width)
		if n := sp.hi.sub(lo).add1(); !n.isZero() { // n is 0 only for the whole 128-bit field
			free = min(free, n.bitLen()-1)
		}
		if !fn(lo, free) {
			return
		}
		end := lo.or(ones(free))
		if end == sp.hi {
			return
		}
		lo = end.add1()
	}
}

// coverCount is how many prefixes cover the set.
func (s set) coverCount(width int) int {
	n := 0
	for _, sp := range s {
		sp.blocks(width, func(u128, int) bool { n++; return true })
	}
	return n
}

func (a u128) onesCount() int { return bits.OnesCount64(a.hi) + bits.OnesCount64(a.lo) }
