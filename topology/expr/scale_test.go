package expr

import (
	"fmt"
	"strings"
	"testing"
)

// chain joins n comparisons made by part(i) with op.
func chain(n int, op string, part func(i int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = part(i + 1)
	}
	return strings.Join(parts, op)
}

// allocs is the allocations one compilation (no memo) makes: a measure
// of its work that a busy machine does not change.
func allocs(s string) float64 {
	return testing.AllocsPerRun(2, func() { CompileEnv(s, nil) })
}

// scattered is the i-th of many distinct, unaligned IPv4 addresses.
func scattered(i int) string {
	x := uint32(i) * 2654435761
	return fmt.Sprintf("10.%d.%d.%d", x>>24, x>>16&0xff, x>>8&0xff|1)
}

// Issue 9: 4,000 != terms took 27 s. Compiling must be near-linear: a
// chain four times as long may cost at most about five times the work (a
// quadratic compiler makes sixteen). `make bench` reports the times.
func TestCompileIsNearLinear(t *testing.T) {
	for _, form := range []struct {
		name string
		part func(i int) string
	}{
		{"tcp.dst != i", func(i int) string { return fmt.Sprintf("tcp.dst != %d", i) }},
		{"tcp.dst != 2i", func(i int) string { return fmt.Sprintf("tcp.dst != %d", 2*i) }},
		{"ip4.src != 10.0.x.y", func(i int) string { return fmt.Sprintf("ip4.src != 10.0.%d.%d", i/256, i%256) }},
		{"ip6.src != fd00::i", func(i int) string { return fmt.Sprintf("ip6.src != fd00::%x", i) }},
		{"tcp.dst == i ||", nil},
	} {
		var work [2]float64
		for k, n := range []int{1000, 4000} {
			s := ""
			if form.part != nil {
				s = chain(n, " && ", form.part)
			} else {
				s = chain(n, " || ", func(i int) string { return fmt.Sprintf("tcp.dst == %d", i) })
			}
			e, err := CompileEnv(s, nil)
			if err != nil {
				t.Fatalf("%s, %d terms: %v", form.name, n, err)
			}
			work[k] = allocs(s)
			t.Logf("%s: %d terms compile with %.0f allocations to %d terms, %d flows", form.name, n, work[k], len(e.d), e.Flows())
		}
		if work[1] > 5.5*work[0] {
			t.Errorf("%s: 1000 terms %.0f allocations, 4000 terms %.0f: not near-linear", form.name, work[0], work[1])
		}
	}
}

// TooBig are matches beyond the bound (also timed by BenchmarkRefuse).
var tooBig = []string{
	chain(8000, " && ", func(i int) string { return "ip4.src != " + scattered(i) }),
	chain(4000, " && ", func(i int) string { return fmt.Sprintf("ip6.dst != fd00::%x:%x:1", i*7919&0xffff, i) }),
	chain(24, " && ", func(i int) string {
		return fmt.Sprintf("(ct_mark == %d/%d || ct_label == %d/%d)", 1<<i, 1<<i, 1<<i, 1<<i)
	}),
	"eth.src != {" + chain(3000, ", ", func(i int) string {
		return fmt.Sprintf("%02x:00:00:00:%02x:01/%02x:00:00:00:ff:ff", i%256, i/256, i%256|1)
	}) + "}",
}

// A match beyond the bound is refused, saying which bound and where.
func TestTooBigIsRefused(t *testing.T) {
	for _, s := range tooBig {
		_, err := CompileEnv(s, nil)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("the bound is %d OpenFlow flows per match", MaxFlows)) || !strings.HasPrefix(err.Error(), "column ") {
			t.Errorf("%.60s...: got %v", s, err)
		}
	}
}

// BenchmarkRefuse times the refusal of each too big match (issue 9: in
// well under 100 ms).
func BenchmarkRefuse(b *testing.B) {
	for i, s := range tooBig {
		b.Run(fmt.Sprint(i), func(b *testing.B) {
			for range b.N {
				CompileEnv(s, nil)
			}
		})
	}
}

// BenchmarkCompile4000 times 4,000 != terms (issue 9: 27 s before).
func BenchmarkCompile4000(b *testing.B) {
	s := chain(4000, " && ", func(i int) string { return fmt.Sprintf("tcp.dst != %d", i) })
	for range b.N {
		CompileEnv(s, nil)
	}
}

// Overlaps of two 3,000-term classifiers: per-field interval intersection
// and a sweep, never all pairs of terms (the work does not grow with the
// product of the sizes).
func TestOverlapsOfLargeExpressions(t *testing.T) {
	ne := func(n, off int) string {
		return chain(n, " && ", func(i int) string { return fmt.Sprintf("tcp.dst != %d", 2*i+off) })
	}
	disj := func(n, off int) string {
		return chain(n, " || ", func(i int) string {
			return fmt.Sprintf("(ip4.src == %s && tcp.dst == %d)", scattered(2*i+off), i)
		})
	}
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{ne(3000, 0), ne(3000, 1), true},
		{ne(3000, 0), "tcp.dst == {" + chain(3000, ", ", func(i int) string { return fmt.Sprint(2 * i) }) + "}", false},
		{disj(3000, 0), disj(3000, 1), false},
		{disj(3000, 0), disj(3000, 0), true},
	} {
		a, err := Compile(tc.a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Compile(tc.b)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Overlaps(b); got != tc.want {
			t.Fatalf("%.40s... overlaps %.40s...: %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	small, _ := Compile(disj(750, 0))
	small2, _ := Compile(disj(750, 1))
	big, _ := Compile(disj(3000, 0))
	big2, _ := Compile(disj(3000, 1))
	ws := testing.AllocsPerRun(2, func() { small.Overlaps(small2) })
	wb := testing.AllocsPerRun(2, func() { big.Overlaps(big2) })
	if wb > 6*ws+16 {
		t.Errorf("Overlaps of 750-term expressions %.0f allocations, of 3000-term ones %.0f: grows with the product", ws, wb)
	}
}

// BenchmarkOverlaps times two 3,000-term disjunctions.
func BenchmarkOverlaps(b *testing.B) {
	disj := func(off int) string {
		return chain(3000, " || ", func(i int) string {
			return fmt.Sprintf("(ip4.src == %s && tcp.dst == %d)", scattered(2*i+off), i)
		})
	}
	x, _ := Compile(disj(0))
	y, _ := Compile(disj(1))
	for range b.N {
		x.Overlaps(y)
	}
}
