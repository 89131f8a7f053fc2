package expr

import (
	"encoding/binary"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// Field is a header field an expression can test.
type Field int

const (
	EthSrc Field = iota
	EthDst
	EthType
	IPProto
	IP4Src
	IP4Dst
	IP6Src
	IP6Dst
	TCPSrc
	TCPDst
	UDPSrc
	UDPDst
	ICMP4Type
	ICMP6Type
)

type kind int

const (
	kInt kind = iota
	kMAC
	kIP4
	kIP6
)

type fieldDef struct {
	f      Field
	kind   kind
	bits   int
	prereq string // expression the field implies, as in OVN
}

var fields = map[string]fieldDef{
	"eth.src":    {EthSrc, kMAC, 48, ""},
	"eth.dst":    {EthDst, kMAC, 48, ""},
	"eth.type":   {EthType, kInt, 16, ""},
	"ip.proto":   {IPProto, kInt, 8, "ip"},
	"ip4.src":    {IP4Src, kIP4, 32, "ip4"},
	"ip4.dst":    {IP4Dst, kIP4, 32, "ip4"},
	"ip6.src":    {IP6Src, kIP6, 128, "ip6"},
	"ip6.dst":    {IP6Dst, kIP6, 128, "ip6"},
	"tcp.src":    {TCPSrc, kInt, 16, "tcp"},
	"tcp.dst":    {TCPDst, kInt, 16, "tcp"},
	"udp.src":    {UDPSrc, kInt, 16, "udp"},
	"udp.dst":    {UDPDst, kInt, 16, "udp"},
	"icmp4.type": {ICMP4Type, kInt, 8, "icmp4"},
	"icmp6.type": {ICMP6Type, kInt, 8, "icmp6"},
}

var fieldBits = func() map[Field]int {
	m := map[Field]int{}
	for _, d := range fields {
		m[d.f] = d.bits
	}
	return m
}()

// predicates are symbols defined by other expressions, as in OVN.
var predicates = map[string]string{
	"ip4":   "eth.type == 0x800",
	"ip6":   "eth.type == 0x86dd",
	"ip":    "ip4 || ip6",
	"arp":   "eth.type == 0x806",
	"tcp":   "ip.proto == 6",
	"udp":   "ip.proto == 17",
	"icmp4": "ip4 && ip.proto == 1",
	"icmp6": "ip6 && ip.proto == 58",
	"icmp":  "icmp4 || icmp6",
}

// VM is a value and mask, big-endian, as wide as the field; a nil Mask is
// an exact match.
type VM struct {
	Value, Mask []byte
}

// Match is one conjunction of field matches: one OpenFlow match.
type Match map[Field]VM

// Fields lists the fields of a match in a fixed order.
func (m Match) Fields() []Field {
	var fs []Field
	for f := range m {
		fs = append(fs, f)
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i] < fs[j] })
	return fs
}

func (m Match) String() string {
	var parts []string
	for _, f := range m.Fields() {
		vm := m[f]
		s := fmt.Sprintf("%d=%x", f, vm.Value)
		if vm.Mask != nil {
			s += fmt.Sprintf("/%x", vm.Mask)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ",")
}

// Expr is a compiled expression: a disjunction of terms.
type Expr struct {
	d dnf
}

// Term is one conjunction of field matches. Fixed fields have one
// value/mask; each Alt field may take any of several (the prefix cover of
// an integer range). A term with one Alt or none is a set of plain
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

// Compile parses and compiles an expression. The empty expression is one
// empty term (everything).
func Compile(s string) (*Expr, error) {
	n, err := parse(s)
	if err != nil {
		return nil, err
	}
	d, err := compile(n, false)
	if err != nil {
		return nil, err
	}
	if len(d) == 0 {
		return nil, &SyntaxError{1, "the expression can never match"}
	}
	e := &Expr{d: d}
	if len(e.Matches()) > maxTerms {
		return nil, errTooBig
	}
	return e, nil
}

// Check reports whether an expression parses and can match.
func Check(s string) error {
	_, err := Compile(s)
	return err
}

// Terms returns the expression's conjunctions with integer ranges covered
// by prefixes.
func (e *Expr) Terms() []Term {
	var out []Term
	for _, t := range e.d {
		term := Term{Fixed: Match{}}
		for _, f := range sortedFields(t) {
			vms := t[f].cover(f)
			if len(vms) == 1 {
				term.Fixed[f] = vms[0]
			} else {
				term.Alts = append(term.Alts, Alt{Field: f, Values: vms})
			}
		}
		out = append(out, term)
	}
	return out
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

var mirrored = map[Field]Field{EthSrc: EthDst, EthDst: EthSrc, IP4Src: IP4Dst, IP4Dst: IP4Src,
	IP6Src: IP6Dst, IP6Dst: IP6Src, TCPSrc: TCPDst, TCPDst: TCPSrc, UDPSrc: UDPDst, UDPDst: UDPSrc}

// Mirror swaps source and destination fields: the expression of the reply
// direction of a bi-directional path.
func (e *Expr) Mirror() *Expr {
	out := &Expr{}
	for _, t := range e.d {
		m := term{}
		for f, c := range t {
			if g, ok := mirrored[f]; ok {
				f = g
			}
			m[f] = c
		}
		out.d = append(out.d, m)
	}
	return out
}

// Overlaps reports whether some packet matches both expressions.
func (e *Expr) Overlaps(o *Expr) bool {
	for _, a := range e.d {
		for _, b := range o.d {
			if _, ok := merge(a, b); ok {
				return true
			}
		}
	}
	return false
}

// ---------------------------------------------------------------- DNF

// constraint on one field within a conjunction: an interval for integer
// fields (so ranges intersect exactly and expand minimally at the end),
// a value/mask for addresses.
type constraint struct {
	lo, hi      uint64
	value, mask []byte
}

type term map[Field]constraint

// dnf is a disjunction of conjunctions; empty = false, [{}] = true.
type dnf []term

// maxTerms bounds the work an expression may cause (each term becomes at
// least one flow per chain hop).
const maxTerms = 4096

var errTooBig = &SyntaxError{1, fmt.Sprintf("the expression expands to more than %d OpenFlow matches", maxTerms)}

func and(a, b dnf) (dnf, error) {
	if len(a)*len(b) > maxTerms*4 {
		return nil, errTooBig
	}
	var out dnf
	for _, x := range a {
		for _, y := range b {
			if t, ok := merge(x, y); ok {
				out = append(out, t)
			}
		}
	}
	return out, nil
}

func merge(x, y term) (term, bool) {
	t := term{}
	for f, c := range x {
		t[f] = c
	}
	for f, c := range y {
		old, ok := t[f]
		if !ok {
			t[f] = c
			continue
		}
		if old.value == nil { // interval
			lo, hi := max(old.lo, c.lo), min(old.hi, c.hi)
			if lo > hi {
				return nil, false
			}
			t[f] = constraint{lo: lo, hi: hi}
			continue
		}
		v, m := make([]byte, len(c.value)), make([]byte, len(c.value))
		for i := range v {
			both := old.mask[i] & c.mask[i]
			if old.value[i]&both != c.value[i]&both {
				return nil, false
			}
			m[i] = old.mask[i] | c.mask[i]
			v[i] = (old.value[i] & old.mask[i]) | (c.value[i] & c.mask[i])
		}
		t[f] = constraint{value: v, mask: m}
	}
	return t, true
}

func compile(n node, neg bool) (dnf, error) {
	switch n := n.(type) {
	case andNode, orNode:
		var kids []node
		isAnd := false
		if a, ok := n.(andNode); ok {
			kids, isAnd = a.kids, true
		} else {
			kids = n.(orNode).kids
		}
		conj := isAnd != neg // De Morgan
		acc := dnf{}
		if conj {
			acc = dnf{term{}}
		}
		for _, k := range kids {
			d, err := compile(k, neg)
			if err != nil {
				return nil, err
			}
			if conj {
				if acc, err = and(acc, d); err != nil {
					return nil, err
				}
			} else {
				acc = append(acc, d...)
			}
			if len(acc) > maxTerms {
				return nil, errTooBig
			}
		}
		return acc, nil
	case notNode:
		return compile(n.kid, !neg)
	case predNode:
		sub, err := parse(predicates[n.name])
		if err != nil {
			panic(err)
		}
		return compile(sub, neg)
	case cmpNode:
		return compileCmp(n, neg)
	}
	panic(fmt.Sprintf("expr: unknown node %T", n))
}

var negOp = map[string]string{"==": "!=", "!=": "==", "<": ">=", ">=": "<", "<=": ">", ">": "<="}

// compileCmp compiles field OP value(s). Prerequisites stay outside a
// negation: !(tcp.dst == 80) is tcp && tcp.dst != 80, as in OVN.
func compileCmp(n cmpNode, neg bool) (dnf, error) {
	def := fields[n.field]
	pre := dnf{term{}}
	if def.prereq != "" {
		p, err := parse(def.prereq)
		if err != nil {
			panic(err)
		}
		if pre, err = compile(p, false); err != nil {
			return nil, err
		}
	}
	op := n.op
	if neg {
		op = negOp[op]
	}
	if len(n.values) > 1 && op != "==" && op != "!=" {
		return nil, &SyntaxError{n.col, fmt.Sprintf("a set of values needs == or !=, not %s", op)}
	}
	var lit dnf
	if op == "==" {
		for _, v := range n.values {
			d, err := atom(def, "==", v)
			if err != nil {
				return nil, err
			}
			lit = append(lit, d...)
		}
	} else {
		lit = dnf{term{}}
		for _, v := range n.values {
			d, err := atom(def, op, v)
			if err != nil {
				return nil, err
			}
			if lit, err = and(lit, d); err != nil {
				return nil, err
			}
		}
	}
	return and(pre, lit)
}

// atom compiles one comparison of a field with one value.
func atom(def fieldDef, op string, v token) (dnf, error) {
	if def.kind == kInt {
		n, err := strconv.ParseUint(v.text, 0, 64)
		maxv := uint64(1)<<def.bits - 1
		if err != nil || n > maxv {
			return nil, &SyntaxError{v.col, fmt.Sprintf("%q is not a number in 0..%d", v.text, maxv)}
		}
		iv := func(lo, hi uint64) term { return term{def.f: {lo: lo, hi: hi}} }
		var d dnf
		switch op {
		case "==":
			d = dnf{iv(n, n)}
		case "!=":
			if n > 0 {
				d = append(d, iv(0, n-1))
			}
			if n < maxv {
				d = append(d, iv(n+1, maxv))
			}
		case "<":
			if n > 0 {
				d = dnf{iv(0, n-1)}
			}
		case "<=":
			d = dnf{iv(0, n)}
		case ">":
			if n < maxv {
				d = dnf{iv(n+1, maxv)}
			}
		case ">=":
			d = dnf{iv(n, maxv)}
		}
		return d, nil
	}
	if op != "==" && op != "!=" {
		return nil, &SyntaxError{v.col, fmt.Sprintf("addresses compare with == or != only, not %s", op)}
	}
	value, mask, err := parseAddress(def, v)
	if err != nil {
		return nil, err
	}
	if op == "==" {
		return dnf{term{def.f: {value: value, mask: mask}}}, nil
	}
	// != value/mask: some masked bit differs. One term per masked bit i:
	// the masked bits before i equal, bit i flipped.
	var d dnf
	prefix := make([]byte, len(mask))
	for bit := 0; bit < len(mask)*8; bit++ {
		byteI, bm := bit/8, byte(0x80>>(bit%8))
		if mask[byteI]&bm == 0 {
			continue
		}
		m := append([]byte(nil), prefix...)
		m[byteI] |= bm
		val := make([]byte, len(value))
		for i := range val {
			val[i] = value[i] & m[i]
		}
		val[byteI] ^= bm
		d = append(d, term{def.f: {value: val, mask: m}})
		prefix[byteI] |= bm
	}
	return d, nil
}

func parseAddress(def fieldDef, v token) (value, mask []byte, err error) {
	bad := func(what string) error { return &SyntaxError{v.col, fmt.Sprintf("%q is not %s", v.text, what)} }
	switch def.kind {
	case kMAC:
		addr, m, hasMask := strings.Cut(v.text, "/")
		mac, err := net.ParseMAC(addr)
		if err != nil || len(mac) != 6 {
			return nil, nil, bad("an Ethernet address")
		}
		mask := net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		if hasMask {
			if mask, err = net.ParseMAC(m); err != nil || len(mask) != 6 {
				return nil, nil, bad("an Ethernet address with a mask")
			}
		}
		return andBytes(mac, mask), mask, nil
	case kIP4, kIP6:
		bits := 32
		what := "an IPv4 address or prefix"
		if def.kind == kIP6 {
			bits, what = 128, "an IPv6 address or prefix"
		}
		text := v.text
		if !strings.Contains(text, "/") {
			text += "/" + strconv.Itoa(bits)
		}
		ip, n, err := net.ParseCIDR(text)
		if err != nil || (def.kind == kIP4) != (ip.To4() != nil) {
			return nil, nil, bad(what)
		}
		if def.kind == kIP4 {
			return []byte(n.IP.To4()), []byte(n.Mask), nil
		}
		return []byte(n.IP.To16()), []byte(n.Mask), nil
	}
	panic("expr: not an address field")
}

func andBytes(a, b []byte) []byte {
	out := make([]byte, len(a))
	for i := range a {
		out[i] = a[i] & b[i]
	}
	return out
}

// ---------------------------------------------------------------- expansion

func sortedFields(t term) []Field {
	fs := make([]Field, 0, len(t))
	for f := range t {
		fs = append(fs, f)
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i] < fs[j] })
	return fs
}

// cover turns a constraint into value/masks: an address as it is, an
// integer interval as its minimal cover by prefixes.
func (c constraint) cover(f Field) []VM {
	if c.value != nil {
		vm := VM{Value: c.value, Mask: c.mask}
		if allOnes(c.mask) {
			vm.Mask = nil
		}
		return []VM{vm}
	}
	return RangeCover(c.lo, c.hi, fieldBits[f])
}

func allOnes(b []byte) bool {
	for _, x := range b {
		if x != 0xff {
			return false
		}
	}
	return true
}

// RangeCover returns the fewest prefix-aligned value/mask pairs whose
// union is exactly [lo, hi] on a field of the given width (a full-width
// exact value has a nil mask; the whole range is one zero mask).
func RangeCover(lo, hi uint64, bits int) []VM {
	width := uint64(1)<<bits - 1
	nbytes := (bits + 7) / 8
	enc := func(v uint64) []byte {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], v)
		return append([]byte(nil), b[8-nbytes:]...)
	}
	var out []VM
	for {
		// the largest aligned block starting at lo that stays within hi
		size := uint64(1)
		for size <= width && lo&(size*2-1) == 0 && lo+size*2-1 <= hi && size*2-1 < width {
			size *= 2
		}
		if lo == 0 && hi == width {
			size = width + 1 // the whole field: a zero mask
		}
		mask := width &^ (size - 1)
		vm := VM{Value: enc(lo & mask), Mask: enc(mask)}
		if mask == width {
			vm.Mask = nil
		}
		out = append(out, vm)
		if lo+(size-1) >= hi {
			return out
		}
		lo += size
	}
}
