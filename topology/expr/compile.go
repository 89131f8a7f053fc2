package expr

import (
	"errors"
	"fmt"
	"math/big"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Resolver looks up the names a logical-flow match refers to (OVN's
// inport/outport names, @port_group and $address_set).
type Resolver interface {
	// PortKey is the tunnel key of the logical port with that name. A
	// port that exists but not on the datapath being compiled for has
	// key 0: it matches nothing there (as in OVN, where a port group's
	// ACL is compiled for each of its datapaths).
	PortKey(name string) (uint32, bool)
	// PortGroup is the tunnel keys of a port group's ports (on the
	// datapath being compiled for).
	PortGroup(name string) ([]uint32, bool)
	// AddressSet is the addresses (or prefixes) of an address set. OVN's
	// derived sets of a port group's addresses, $PG_ip4 and $PG_ip6, are
	// asked for by those names.
	AddressSet(name string) ([]string, bool)
}

// Env is what a match is compiled against.
type Env struct {
	// Resolver names ports, port groups and address sets; without one,
	// inport, outport, @ and $ are refused.
	Resolver Resolver
	// EmptyOK lets a match that can never match (say, a reference to an
	// empty port group) compile to no terms instead of failing.
	EmptyOK bool
}

// Names is a Resolver backed by maps.
type Names struct {
	Ports       map[string]uint32
	PortGroups  map[string][]uint32
	AddressSets map[string][]string
}

func (n *Names) PortKey(name string) (uint32, bool) {
	k, ok := n.Ports[name]
	return k, ok
}

func (n *Names) PortGroup(name string) ([]uint32, bool) {
	k, ok := n.PortGroups[name]
	return k, ok
}

func (n *Names) AddressSet(name string) ([]string, bool) {
	a, ok := n.AddressSets[name]
	return a, ok
}

// The bounds on what a match may cost.
const (
	// MaxFlows bounds the OpenFlow flows the renderer makes of one match:
	// the sum over its terms of Term.Flows. It applies to every
	// subexpression as it is compiled, so nothing grows past it on the way.
	MaxFlows = 65536
	// maxPairs bounds the pairs of terms that the &&s of one match
	// combine, all together.
	maxPairs = 1 << 16
)

func errTooBig(col int, what string) *SyntaxError {
	return errAt(col, "the expression is too big: %s (the bound is %d OpenFlow flows per match)", what, MaxFlows)
}

// compiler compiles one expression.
type compiler struct {
	env   *Env
	pairs int // pairs of terms combined so far, against maxPairs
}

// op is one operand of a junction, with the negation it is under.
type op struct {
	n   node
	neg bool
}

func (c *compiler) compile(n node, neg bool) (dnf, error) {
	switch n := n.(type) {
	case andNode:
		return c.junction(n.kids, neg, !neg)
	case orNode:
		return c.junction(n.kids, neg, neg)
	case notNode:
		return c.compile(n.kid, !neg)
	case predNode:
		if symbols[n.name].pred == "" {
			return c.compile(boolCmp(n), neg)
		}
		return predicate(n.name, neg)
	case cmpNode:
		pre, lit, err := c.cmp(n, neg)
		if err != nil {
			return nil, err
		}
		for _, p := range pre {
			d, err := predicate(p, false)
			if err != nil {
				return nil, err
			}
			if lit, err = c.and(lit, d, n.col); err != nil {
				return nil, err
			}
		}
		return lit, nil
	}
	panic(fmt.Sprintf("expr: unknown node %T", n))
}

// boolCmp turns a one-bit field used alone (ct.new) into ct.new == 1.
func boolCmp(n predNode) cmpNode {
	return cmpNode{name: n.name, op: "==", values: []token{{"value", "1", n.col}}, col: n.col}
}

// flatten lists the operands of nested junctions of one kind (a && (b
// && !(c || d))), through negations, so that one junction sees them all.
func flatten(kids []node, neg, conj bool, out []op) []op {
	for _, k := range kids {
		kneg := neg
		for {
			nn, ok := k.(notNode)
			if !ok {
				break
			}
			k, kneg = nn.kid, !kneg
		}
		switch kk := k.(type) {
		case andNode:
			if !kneg == conj {
				out = flatten(kk.kids, kneg, conj, out)
				continue
			}
		case orNode:
			if kneg == conj {
				out = flatten(kk.kids, kneg, conj, out)
				continue
			}
		case predNode:
			if symbols[kk.name].pred == "" {
				k = boolCmp(kk)
			}
		}
		out = append(out, op{k, kneg})
	}
	return out
}

func (c *compiler) junction(kids []node, neg, conj bool) (dnf, error) {
	ops := flatten(kids, neg, conj, nil)
	if conj {
		return c.conjunction(ops)
	}
	return c.disjunction(ops)
}

// conjunction: the single-term operands (most comparisons) meet in one
// accum, each prerequisite is joined once however many comparisons
// imply it, and only the operands with several terms multiply.
func (c *compiler) conjunction(ops []op) (dnf, error) {
	acc := newAccum()
	type operand struct {
		d   dnf
		col int
	}
	var multi []operand
	var pres []string
	add := func(d dnf, col int) {
		switch len(d) {
		case 0:
			acc.ok = false
		case 1:
			acc.add(d[0], col)
		default:
			multi = append(multi, operand{d, col})
		}
	}
	for _, o := range ops {
		if n, ok := o.n.(cmpNode); ok {
			pre, lit, err := c.cmp(n, o.neg)
			if err != nil {
				return nil, err
			}
			for _, p := range pre {
				if !slices.Contains(pres, p) {
					pres = append(pres, p)
				}
			}
			add(lit, n.col)
			continue
		}
		d, err := c.compile(o.n, o.neg)
		if err != nil {
			return nil, err
		}
		add(d, colOf(o.n))
	}
	for _, p := range pres {
		d, err := predicate(p, false)
		if err != nil {
			return nil, err
		}
		add(d, 1)
	}
	t, ok, err := acc.term()
	if !ok {
		return dnf{}, err
	}
	out := dnf{t}
	slices.SortStableFunc(multi, func(a, b operand) int { return len(a.d) - len(b.d) })
	for i, m := range multi {
		if i > 0 && &m.d[0] == &multi[i-1].d[0] {
			continue // the same predicate twice
		}
		if out, err = c.and(out, m.d, m.col); err != nil || len(out) == 0 {
			return out, err
		}
	}
	return out, nil
}

func (c *compiler) disjunction(ops []op) (dnf, error) {
	var out dnf
	merged := 0
	for _, o := range ops {
		d, err := c.compile(o.n, o.neg)
		if err != nil {
			return nil, err
		}
		out = append(out, d...)
		if len(out) > 2*merged+64 {
			out = mergeSimilar(out)
			merged = len(out)
			if len(out) > MaxFlows {
				return nil, errTooBig(colOf(o.n), fmt.Sprintf("more than %d alternatives", MaxFlows))
			}
		}
	}
	return mergeSimilar(out), nil
}

func colOf(n node) int {
	switch n := n.(type) {
	case cmpNode:
		return n.col
	case predNode:
		return n.col
	case notNode:
		return colOf(n.kid)
	case andNode:
		if len(n.kids) > 0 {
			return colOf(n.kids[0])
		}
	case orNode:
		return colOf(n.kids[0])
	}
	return 1
}

// and is the conjunction of two disjunctions, bounded before any work.
func (c *compiler) and(a, b dnf, col int) (dnf, error) {
	if c.pairs += len(a) * len(b); c.pairs > maxPairs {
		return nil, errTooBig(col, fmt.Sprintf("its &&s combine more than %d pairs of alternatives", maxPairs))
	}
	var out dnf
	for _, x := range a {
		for _, y := range b {
			if t, ok := merge(x, y); ok {
				out = append(out, t)
			}
		}
	}
	if len(out) > MaxFlows {
		return nil, errTooBig(col, fmt.Sprintf("more than %d alternatives", MaxFlows))
	}
	return out, nil
}

// predicate compiles a predicate (or a one-bit field standing alone),
// once per process and polarity: predicates never change.
func predicate(name string, neg bool) (dnf, error) {
	key := predKey{name, neg}
	predMu.Lock()
	d, ok := predMemo[key]
	predMu.Unlock()
	if ok {
		return d, nil
	}
	sym := symbols[name]
	var n node = predNode{name, 1}
	if sym.pred != "" {
		var err error
		if n, err = parse(sym.pred); err != nil {
			panic(fmt.Sprintf("expr: predicate %s: %v", name, err))
		}
	}
	d, err := (&compiler{}).compile(n, neg)
	if err != nil {
		panic(fmt.Sprintf("expr: predicate %s: %v", name, err))
	}
	predMu.Lock()
	predMemo[key] = d
	predMu.Unlock()
	return d, nil
}

type predKey struct {
	name string
	neg  bool
}

var (
	predMu   sync.Mutex
	predMemo = map[predKey]dnf{}
)

var negOp = map[string]string{"==": "!=", "!=": "==", "<": ">=", ">=": "<", "<=": ">", ">": "<="}

// cmp compiles symbol OP value(s) into the comparison itself (lit) and
// the prerequisites it implies, which stay outside any negation:
// !(tcp.dst == 80) is tcp && tcp.dst != 80, as in OVN.
func (c *compiler) cmp(n cmpNode, neg bool) (pre []string, lit dnf, err error) {
	sym := symbols[n.name]
	def := sym.def
	if def.kind == kPort && (c.env == nil || c.env.Resolver == nil) {
		return nil, nil, errAt(n.col, "%s is not allowed here: this match cannot name logical ports", n.name)
	}
	op := n.op
	if neg {
		op = negOp[op]
	}
	if op != "==" && op != "!=" {
		lit, err := c.ordering(sym, n, op)
		return sym.prereq, lit, err
	}
	vals, err := c.values(sym, n)
	if err != nil {
		return nil, nil, err
	}
	w := def.bits
	var spans []set
	var pats [][2]u128
	for _, v := range vals {
		if isPrefixMask(v.m, w) {
			spans = append(spans, set{{v.v, v.v.or(ones(w).andNot(v.m))}})
		} else {
			pats = append(pats, [2]u128{v.v, v.m})
		}
	}
	if op == "==" {
		if len(spans) > 0 {
			lit = append(lit, single(def.f, newCons(unionAll(spans), u128{}, u128{}, w)))
		}
		for _, p := range pats {
			lit = append(lit, single(def.f, newCons(fullSet(w), p[0], p[1], w)))
		}
		return sym.prereq, lit, nil
	}
	s := fullSet(w)
	if len(spans) > 0 {
		if s = unionAll(spans).complement(w); len(s) == 0 {
			return sym.prereq, dnf{}, nil
		}
	}
	lit = dnf{single(def.f, newCons(s, u128{}, u128{}, w))}
	for _, p := range pats {
		if lit, err = c.and(lit, notPattern(def.f, p[0], p[1]), n.col); err != nil {
			return nil, nil, err
		}
	}
	return sym.prereq, lit, nil
}

// single is the one-field term, or the true term for an unconstrained
// field.
func single(f Field, c *cons) term {
	if c.unconstrained(f.Bits()) {
		return term{}
	}
	return term{{f, c}}
}

// notPattern is x&m != v: some masked bit differs. One term per masked
// bit, highest first: the bits above it equal, it differs. A one-bit
// pattern (!ct.new) is one term: the bit is 0.
func notPattern(f Field, v, m u128) dnf {
	w := f.Bits()
	var d dnf
	above := u128{}
	for i := w - 1; i >= 0; i-- {
		if !m.has(i) {
			continue
		}
		b := bit(i)
		d = append(d, single(f, newCons(fullSet(w), v.and(above).or(b.andNot(v)), above.or(b), w)))
		above = above.or(b)
	}
	return d
}

// ordering compiles <, <=, > and >= on an integer field.
func (c *compiler) ordering(sym symbol, n cmpNode, op string) (dnf, error) {
	switch {
	case sym.def.kind == kPort:
		return nil, errAt(n.col, "ports compare with == or != only, not %s", n.op)
	case sym.def.kind != kInt:
		return nil, errAt(n.col, "addresses compare with == or != only, not %s", n.op)
	case sym.sub != nil:
		return nil, errAt(n.col, "%s compares with == or != only, not %s", n.name, n.op)
	}
	if len(n.values) != 1 {
		return nil, errAt(n.col, "a set of values needs == or !=, not %s", n.op)
	}
	w := sym.def.bits
	v, err := c.value(sym, n.values[0])
	if err != nil {
		return nil, err
	}
	if len(v) != 1 || v[0].m != ones(w) {
		return nil, errAt(n.values[0].col, "%s needs a plain number, not a masked one", n.op)
	}
	x, max := v[0].v, ones(w)
	var s set
	switch op {
	case "<":
		if !x.isZero() {
			s = set{{u128{}, x.sub1()}}
		}
	case "<=":
		s = set{{u128{}, x}}
	case ">":
		if x != max {
			s = set{{x.add1(), max}}
		}
	case ">=":
		s = set{{x, max}}
	}
	if len(s) == 0 {
		return dnf{}, nil
	}
	return dnf{single(sym.def.f, newCons(s, u128{}, u128{}, w))}, nil
}

// vm is a value and mask of a field, right-aligned.
type vm struct{ v, m u128 }

// values resolves the values of a comparison, on the whole field (a
// subfield's value shifted into place).
func (c *compiler) values(sym symbol, n cmpNode) ([]vm, error) {
	var out []vm
	for _, t := range n.values {
		vs, err := c.value(sym, t)
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
	}
	return out, nil
}

func (c *compiler) value(sym symbol, t token) ([]vm, error) {
	def := sym.def
	switch t.kind {
	case "string":
		if def.kind != kPort {
			return nil, errAt(t.col, "%s takes %s, not the string %s", def.name, kindWhat(def), t.show())
		}
		k, ok := c.env.Resolver.PortKey(t.text)
		switch {
		case !ok:
			return nil, errAt(t.col, "unknown port %s", Quote(t.text))
		case k == 0:
			return nil, nil // not on this datapath
		}
		return portKeys(def, t, []uint32{k})
	case "@":
		if def.kind != kPort {
			return nil, errAt(t.col, "%s takes %s, not the port group %s", def.name, kindWhat(def), t.show())
		}
		if c.env == nil || c.env.Resolver == nil {
			return nil, errAt(t.col, "port group %s is not allowed here", t.show())
		}
		keys, ok := c.env.Resolver.PortGroup(t.text)
		if !ok {
			return nil, errAt(t.col, "unknown port group %s", Quote(t.text))
		}
		return portKeys(def, t, keys)
	case "$":
		if c.env == nil || c.env.Resolver == nil {
			return nil, errAt(t.col, "address set %s is not allowed here", t.show())
		}
		if def.kind != kMAC && def.kind != kIP4 && def.kind != kIP6 || sym.sub != nil {
			return nil, errAt(t.col, "%s takes %s, not the address set %s", def.name, kindWhat(def), t.show())
		}
		addrs, ok := c.env.Resolver.AddressSet(t.text)
		if !ok {
			return nil, errAt(t.col, "unknown address set %s", Quote(t.text))
		}
		out := make([]vm, 0, len(addrs))
		for _, a := range addrs {
			v, m, err := parseAddress(def, a)
			if err != nil {
				return nil, errAt(t.col, "address set %s holds %s, which is not %s", Quote(t.text), Quote(a), kindWhat(def))
			}
			out = append(out, vm{v, m})
		}
		return out, nil
	}
	if def.kind == kPort {
		return nil, errAt(t.col, "%s takes a quoted port name or @port_group, not %s", def.name, t.show())
	}
	if sym.sub != nil {
		x, ok := parseInt(t.text, sym.sub.bits)
		if !ok {
			return nil, errAt(t.col, "%s is not a number in 0..%s", t.show(), maxOf(sym.sub.bits))
		}
		m := ones(sym.sub.bits).shl(sym.sub.lsb)
		return []vm{{x.shl(sym.sub.lsb), m}}, nil
	}
	if def.kind == kInt {
		text, mask, masked := strings.Cut(t.text, "/")
		x, ok := parseInt(text, def.bits)
		m := ones(def.bits)
		if ok && masked {
			m, ok = parseInt(mask, def.bits)
		}
		if !ok {
			return nil, errAt(t.col, "%s is not a number in 0..%s", t.show(), maxOf(def.bits))
		}
		return []vm{{x.and(m), m}}, nil
	}
	v, m, err := parseAddress(def, t.text)
	if err != nil {
		return nil, errAt(t.col, "%s is not %s", t.show(), kindWhat(def))
	}
	return []vm{{v, m}}, nil
}

func portKeys(def *fieldDef, t token, keys []uint32) ([]vm, error) {
	out := make([]vm, 0, len(keys))
	for _, k := range keys {
		if k == 0 || uint64(k) > ones(def.bits).lo {
			return nil, errAt(t.col, "%s resolves to key %d, outside %s's 1..%s", t.show(), k, def.name, maxOf(def.bits))
		}
		out = append(out, vm{fromUint(uint64(k)), ones(def.bits)})
	}
	return out, nil
}

func kindWhat(def *fieldDef) string {
	switch def.kind {
	case kMAC:
		return "an Ethernet address"
	case kIP4:
		return "an IPv4 address or prefix"
	case kIP6:
		return "an IPv6 address or prefix"
	case kPort:
		return "a quoted port name or @port_group"
	}
	return "a number"
}

func maxOf(bits int) string {
	b := new(big.Int).Lsh(big.NewInt(1), uint(bits))
	return b.Sub(b, big.NewInt(1)).String()
}

// parseInt reads a decimal, 0x hexadecimal or 0o/0 octal number that fits
// the width.
func parseInt(s string, bits int) (u128, bool) {
	if s == "" || len(s) > 64 {
		return u128{}, false
	}
	x, ok := new(big.Int).SetString(s, 0)
	if !ok || x.Sign() < 0 || x.BitLen() > bits {
		return u128{}, false
	}
	var b [16]byte
	x.FillBytes(b[:])
	return fromBytes(b[:]), true
}

// parseAddress reads an address, a prefix (addr/len) or an address with
// an arbitrary mask (addr/mask) into value and mask.
func parseAddress(def *fieldDef, s string) (value, mask u128, err error) {
	addr, m, hasMask := strings.Cut(s, "/")
	bad := errNotAddress
	if def.kind == kMAC {
		mac, err := net.ParseMAC(addr)
		if err != nil || len(mac) != 6 {
			return u128{}, u128{}, bad
		}
		mask := ones(48)
		if hasMask {
			mm, err := net.ParseMAC(m)
			if err != nil || len(mm) != 6 {
				return u128{}, u128{}, bad
			}
			mask = fromBytes(mm)
		}
		return fromBytes(mac).and(mask), mask, nil
	}
	bits := 32
	if def.kind == kIP6 {
		bits = 128
	}
	ip := parseIP(addr, bits)
	if ip == nil {
		return u128{}, u128{}, bad
	}
	mask = ones(bits)
	switch {
	case !hasMask:
	case isDigits(m):
		n, err := strconv.Atoi(m)
		if err != nil || n > bits {
			return u128{}, u128{}, bad
		}
		mask = ones(bits).andNot(ones(bits - n))
	default:
		mm := parseIP(m, bits)
		if mm == nil {
			return u128{}, u128{}, bad
		}
		mask = fromBytes(mm)
	}
	return fromBytes(ip).and(mask), mask, nil
}

// errNotAddress: callers say which value is not what the field takes (an
// address set parses thousands: no message per value).
var errNotAddress = errors.New("not an address of the field's kind")

// parseIP reads an address of one family (IPv6 is written with colons),
// in 4 or 16 bytes.
func parseIP(s string, bits int) net.IP {
	ip := net.ParseIP(s)
	if ip == nil || strings.Contains(s, ":") != (bits == 128) {
		return nil
	}
	if bits == 32 {
		return ip.To4()
	}
	return ip.To16()
}

func isDigits(s string) bool {
	if s == "" || len(s) > 3 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
