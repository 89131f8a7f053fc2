package expr

import (
	"fmt"
	"hash/fnv"
	"math/rand"
	"testing"
)

// genExpr builds an expression from fuzz bytes over a small vocabulary,
// so that most inputs are valid and exercise sets, complements, masks,
// bits and prerequisites.
func genExpr(b []byte) string {
	pos := 0
	next := func() int {
		if pos >= len(b) {
			return 0
		}
		pos++
		return int(b[pos-1])
	}
	v := func() int { return next() % 16 }
	atoms := []func() string{
		func() string { return fmt.Sprintf("tcp.dst == %d", v()) },
		func() string { return fmt.Sprintf("tcp.dst != %d", v()) },
		func() string { return fmt.Sprintf("tcp.dst < %d", v()) },
		func() string { return fmt.Sprintf("tcp.dst >= %d", v()) },
		func() string { return fmt.Sprintf("tcp.src == {%d, %d}", v(), v()) },
		func() string { return fmt.Sprintf("tcp.src != {%d, %d, %d}", v(), v(), v()) },
		func() string { return fmt.Sprintf("tcp.dst == %d/%d", v(), v()) },
		func() string { return fmt.Sprintf("ip4.src == 10.0.0.%d", v()) },
		func() string { return fmt.Sprintf("ip4.src != 10.0.0.%d/30", v()) },
		func() string { return fmt.Sprintf("ip4.src == 10.0.0.%d/255.255.255.%d", v(), v()) },
		func() string { return "tcp" },
		func() string { return "udp" },
		func() string { return "ip4" },
		func() string { return "ip6" },
		func() string { return "nd" },
		func() string { return "ct.new" },
		func() string { return "ct.est" },
		func() string { return "eth.mcast" },
		func() string { return fmt.Sprintf("ct_state == %d/%d", v(), v()) },
		func() string { return fmt.Sprintf("eth.dst == 0%d:00:00:00:00:00/0%d:00:00:00:00:00", v()%10, v()%10) },
	}
	var gen func(depth int) string
	gen = func(depth int) string {
		c := next()
		if depth > 4 || c < 128 {
			return atoms[c%len(atoms)]()
		}
		switch c % 3 {
		case 0:
			return "!(" + gen(depth+1) + ")"
		case 1:
			return "(" + gen(depth+1) + " && " + gen(depth+1) + ")"
		}
		return "(" + gen(depth+1) + " || " + gen(depth+1) + ")"
	}
	return gen(0)
}

type packet map[Field]u128

// eval is the reference semantics, straight from the syntax tree: OVN's,
// with prerequisites outside negations.
func eval(n node, neg bool, p packet) bool {
	switch n := n.(type) {
	case andNode:
		for _, k := range n.kids {
			if eval(k, neg, p) == neg {
				return neg
			}
		}
		return !neg
	case orNode:
		for _, k := range n.kids {
			if eval(k, neg, p) != neg {
				return !neg
			}
		}
		return neg
	case notNode:
		return eval(n.kid, !neg, p)
	case predNode:
		sym := symbols[n.name]
		if sym.pred == "" {
			return eval(boolCmp(n), neg, p)
		}
		def, _ := parse(sym.pred)
		return eval(def, neg, p)
	case cmpNode:
		sym := symbols[n.name]
		for _, pre := range sym.prereq {
			if !eval(predNode{pre, 1}, false, p) {
				return false
			}
		}
		return rel(sym, n, p) != neg
	}
	panic("eval")
}

func rel(sym symbol, n cmpNode, p packet) bool {
	x := p[sym.def.f]
	vals, err := (&compiler{}).values(sym, n)
	if err != nil {
		panic(err)
	}
	in := false
	for _, v := range vals {
		in = in || x.and(v.m) == v.v
	}
	switch n.op {
	case "==":
		return in
	case "!=":
		return !in
	}
	y := vals[0].v
	return map[string]bool{"<": x.less(y), "<=": !y.less(x), ">": y.less(x), ">=": !x.less(y)}[n.op]
}

func vmHolds(vm VM, x u128, f Field) bool {
	m := ones(f.Bits())
	if vm.Mask != nil {
		m = fromBytes(vm.Mask)
	}
	return x.and(m) == fromBytes(vm.Value)
}

// holds is whether the compiled terms match the packet.
func holds(e *Expr, p packet) bool {
	for _, t := range e.Terms() {
		ok := true
		for f, vm := range t.Fixed {
			ok = ok && vmHolds(vm, p[f], f)
		}
		for _, a := range t.Alts {
			any := false
			for _, vm := range a.Values {
				any = any || vmHolds(vm, p[a.Field], a.Field)
			}
			ok = ok && any
		}
		if ok {
			return true
		}
	}
	return false
}

func randomPacket(r *rand.Rand) packet {
	pick := func(vs ...uint64) u128 { return fromUint(vs[r.Intn(len(vs))]) }
	return packet{
		EthType:   pick(0x800, 0x86dd, 0x806, 0x1234),
		IPProto:   pick(6, 17, 1, 58, 0),
		TCPDst:    pick(uint64(r.Intn(16)), uint64(r.Intn(16)), 65535),
		TCPSrc:    fromUint(uint64(r.Intn(16))),
		IP4Src:    pick(0x0a000000|uint64(r.Intn(16)), uint64(r.Uint32())),
		EthDst:    fromUint(uint64(r.Intn(256)) << 40),
		CTState:   fromUint(uint64(r.Intn(64))),
		ICMP6Type: pick(135, 136, 1),
		ICMP6Code: pick(0, 1),
		IPTTL:     pick(255, 1),
	}
}

// Compiled terms agree with the syntax tree's meaning on random packets
// over a small domain.
func FuzzSemantics(f *testing.F) {
	for _, s := range []string{"\x90\x01\x02\x03", "\x81\x05\x82\x06\x07", "\xff\x0f\x10\x11\x12\x13\x14", "\x92\x81\x0a\x0b\x0c"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := genExpr(b)
		e, err := CompileEnv(s, &Env{EmptyOK: true})
		if err != nil {
			return
		}
		n, _ := parse(s)
		h := fnv.New64a()
		h.Write(b)
		r := rand.New(rand.NewSource(int64(h.Sum64())))
		for range 300 {
			p := randomPacket(r)
			if want, got := eval(n, false, p), holds(e, p); want != got {
				t.Fatalf("%s on %v: compiled %v, meaning %v\nterms %v", s, p, got, want, e)
			}
			if e.Overlaps(e) != (len(e.d) > 0) {
				t.Fatalf("%s does not overlap itself", s)
			}
		}
	})
}

// The fuzz seeds plus a few hundred generated expressions, in every run.
func TestSemanticsOnGeneratedExpressions(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	for range 500 {
		b := make([]byte, 24)
		r.Read(b)
		s := genExpr(b)
		e, err := CompileEnv(s, &Env{EmptyOK: true})
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		n, _ := parse(s)
		for range 200 {
			p := randomPacket(r)
			if want, got := eval(n, false, p), holds(e, p); want != got {
				t.Fatalf("%s on %v: compiled %v, meaning %v\nterms %v", s, p, got, want, e)
			}
		}
	}
}
