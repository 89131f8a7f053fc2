package expr

import (
	"encoding/binary"
	"math/rand"
	"strings"
	"testing"
)

func vmMatches(vm VM, v uint64, bits int) bool {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	b = b[8-(bits+7)/8:]
	for i := range b {
		m := byte(0xff)
		if vm.Mask != nil {
			m = vm.Mask[i]
		}
		if b[i]&m != vm.Value[i]&m {
			return false
		}
	}
	return true
}

// prefixCount is the size of the minimal prefix cover, computed the slow way.
func prefixCount(lo, hi uint64) int {
	n := 0
	for lo <= hi {
		size := uint64(1)
		for lo%(size*2) == 0 && lo+size*2-1 <= hi {
			size *= 2
		}
		n++
		if lo+size-1 == hi {
			break
		}
		lo += size
	}
	return n
}

func TestRangeCoverIsExactAndMinimal(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	cases := [][2]uint64{{1000, 1999}, {0, 65535}, {80, 80}, {1, 65535}, {0, 1023}, {1024, 65535}, {65535, 65535}}
	for i := 0; i < 200; i++ {
		a, b := uint64(r.Intn(65536)), uint64(r.Intn(65536))
		if a > b {
			a, b = b, a
		}
		cases = append(cases, [2]uint64{a, b})
	}
	for _, c := range cases {
		vms := RangeCover(c[0], c[1], 16)
		if len(vms) != prefixCount(c[0], c[1]) {
			t.Errorf("[%d,%d]: %d masks, minimal prefix cover has %d", c[0], c[1], len(vms), prefixCount(c[0], c[1]))
		}
		for v := uint64(0); v < 65536; v += 1 + uint64(r.Intn(7)) {
			hits := 0
			for _, vm := range vms {
				if vmMatches(vm, v, 16) {
					hits++
				}
			}
			in := v >= c[0] && v <= c[1]
			if (hits == 1) != in || hits > 1 {
				t.Fatalf("[%d,%d]: value %d matched by %d masks", c[0], c[1], v, hits)
			}
		}
	}
	if n := len(RangeCover(1000, 1999, 16)); n != 7 {
		t.Errorf("tcp.dst 1000-1999 takes %d masks, want 7", n)
	}
}

func TestCompile(t *testing.T) {
	for _, tc := range []struct {
		expr  string
		count int
	}{
		{"", 1},
		{"ip4", 1},
		{"ip", 2},
		{"tcp", 2},                  // ip4 or ip6
		{"ip4 && tcp.dst == 80", 1}, // prerequisites merge
		{"tcp.dst == {80, 443}", 4}, // 2 values x (ip4, ip6)
		{"ip4 && tcp.dst >= 1000 && tcp.dst <= 1999", 7},
		{"ip4.src == 10.0.0.0/24", 1},
		{"ip4 && ip4.dst != 10.0.0.1", 32}, // one per bit
		{"ip4 && !(udp.dst == 53)", 16},    // udp && udp.dst != 53
		{"eth.src == 02:00:00:00:00:01 || eth.dst == 02:00:00:00:00:01", 2},
		{"icmp4", 1},
		{"(ip4 && tcp) || (ip6 && udp)", 2},
	} {
		e, err := Compile(tc.expr)
		if err != nil {
			t.Errorf("%q: %v", tc.expr, err)
			continue
		}
		if ms := e.Matches(); len(ms) != tc.count {
			t.Errorf("%q compiles to %d matches, want %d: %v", tc.expr, len(ms), tc.count, ms)
		}
	}
}

func TestSyntaxErrorsSayWhere(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"ip4 &&", "column 7: unexpected end of expression"},
		{"ip4 && tcp.dst ==", "column 18: expected a value after \"==\""},
		{"ip5", "column 1: unknown symbol \"ip5\""},
		{"tcp.port == 1", "column 1: unknown field \"tcp.port\""},
		{"tcp.dst == 70000", "column 12: \"70000\" is not a number in 0..65535"},
		{"ip4.src == 10.0.0.300", "column 12: \"10.0.0.300\" is not an IPv4 address or prefix"},
		{"ip4.src < 10.0.0.1", "addresses compare with == or != only"},
		{"(ip4 && tcp", "column 12: expected ')' to close the '(' at column 1"},
		{"ip4 tcp", "column 5: unexpected \"tcp\""},
		{"ip4 && ip6", "can never match"},
		{"tcp.dst", "needs a comparison"},
		{"ip4 # x", `column 5: unexpected character "#"`},
	} {
		err := Check(tc.expr)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.expr, err, tc.want)
		}
	}
}

func TestMirror(t *testing.T) {
	e, _ := Compile("ip4 && tcp.dst == 80 && ip4.src == 10.0.0.0/8")
	m := e.Mirror().Matches()[0]
	if _, ok := m[TCPSrc]; !ok {
		t.Error("tcp.dst did not become tcp.src")
	}
	if _, ok := m[IP4Dst]; !ok {
		t.Error("ip4.src did not become ip4.dst")
	}
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{"ip4 && tcp.dst == 80", "!(udp.src <= 1000) || ip6", "eth.src == {02:00:00:00:00:01, 02:00:00:00:00:02}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 200 {
			return
		}
		Compile(s) // must not panic or hang
		CompileEnv(s, env)
	})
}

// Two ranges on different fields stay two clauses (a conjunctive match):
// 7 + 7 OpenFlow flows rather than 7 x 7.
func TestRangesStayApart(t *testing.T) {
	e, err := Compile("ip4 && tcp.src >= 1000 && tcp.src <= 1999 && tcp.dst >= 1000 && tcp.dst <= 1999")
	if err != nil {
		t.Fatal(err)
	}
	terms := e.Terms()
	if len(terms) != 1 || len(terms[0].Alts) != 2 || len(terms[0].Alts[0].Values) != 7 || len(terms[0].Alts[1].Values) != 7 {
		t.Fatalf("terms %+v", terms)
	}
	if n := len(e.Matches()); n != 49 {
		t.Errorf("the full expansion has %d matches, want 49", n)
	}
}

func TestOverlaps(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"", "ip4", true},
		{"tcp.dst == 80", "tcp.dst == 443", false},
		{"tcp.dst == 80", "udp.dst == 80", false},
		{"ip4 && tcp.dst >= 1000 && tcp.dst <= 1999", "ip4 && tcp.dst == 1999", true},
		{"ip4 && tcp.dst >= 1000 && tcp.dst <= 1999", "ip4 && tcp.dst == 2000", false},
		{"ip4.src == 10.0.0.0/8", "ip4.src == 10.1.0.0/16", true},
		{"ip4.src == 10.0.0.0/8", "ip4.src == 11.0.0.0/8", false},
		{"ip4", "ip6", false},
		{"tcp", "ip6", true},
		{"ip4 && tcp.dst != 80", "ip4 && tcp.dst == 80", false},
		{"icmp4", "tcp", false},
	} {
		a, _ := Compile(tc.a)
		b, _ := Compile(tc.b)
		if got := a.Overlaps(b); got != tc.want {
			t.Errorf("%q overlaps %q: %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := b.Overlaps(a); got != tc.want {
			t.Errorf("overlap is not symmetric for %q, %q", tc.a, tc.b)
		}
	}
}
