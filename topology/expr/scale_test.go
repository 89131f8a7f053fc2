package expr

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// chain joins n comparisons made by part(i) with op.
func chain(n int, op string, part func(i int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = part(i + 1)
	}
	return strings.Join(parts, op)
}

// fastest is the best of three compilations (no memo), so that a busy
// machine does not make the measurement.
func fastest(t *testing.T, s string) (time.Duration, *Expr, error) {
	t.Helper()
	best := time.Hour
	var e *Expr
	var err error
	for range 3 {
		start := time.Now()
		e, err = CompileEnv(s, nil)
		best = min(best, time.Since(start))
	}
	return best, e, err
}

// scattered is the i-th of many distinct, unaligned IPv4 addresses.
func scattered(i int) string {
	x := uint32(i) * 2654435761
	return fmt.Sprintf("10.%d.%d.%d", x>>24, x>>16&0xff, x>>8&0xff|1)
}

// Issue 9: 4,000 != terms took 27 s. Compiling must be near-linear: a
// chain twice as long takes about twice as long, and 4,000 terms well
// under a second.
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
		var took [3]time.Duration
		for k, n := range []int{1000, 2000, 4000} {
			s := ""
			if form.part != nil {
				s = chain(n, " && ", form.part)
			} else {
				s = chain(n, " || ", func(i int) string { return fmt.Sprintf("tcp.dst == %d", i) })
			}
			d, e, err := fastest(t, s)
			if err != nil {
				t.Fatalf("%s, %d terms: %v", form.name, n, err)
			}
			took[k] = d
			t.Logf("%s: %d terms compile in %v to %d terms, %d flows", form.name, n, d, len(e.d), e.Flows())
		}
		if took[2] > time.Second {
			t.Errorf("%s: 4000 terms took %v", form.name, took[2])
		}
		// 4x the input may cost at most ~10x (n log n and noise), not 16x.
		if took[2] > 10*took[0]+20*time.Millisecond {
			t.Errorf("%s: 1000 terms %v, 4000 terms %v: not near-linear", form.name, took[0], took[2])
		}
	}
}

// A match beyond the bound is refused quickly, saying which bound.
func TestTooBigIsRefusedFast(t *testing.T) {
	for _, s := range []string{
		chain(8000, " && ", func(i int) string { return "ip4.src != " + scattered(i) }),
		chain(4000, " && ", func(i int) string { return fmt.Sprintf("ip6.dst != fd00::%x:%x:1", i*7919&0xffff, i) }),
		chain(24, " && ", func(i int) string {
			return fmt.Sprintf("(ct_mark == %d/%d || ct_label == %d/%d)", 1<<i, 1<<i, 1<<i, 1<<i)
		}),
		"eth.src != {" + chain(3000, ", ", func(i int) string {
			return fmt.Sprintf("%02x:00:00:00:%02x:01/%02x:00:00:00:ff:ff", i%256, i/256, i%256|1)
		}) + "}",
	} {
		d, _, err := fastest(t, s)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("the bound is %d OpenFlow flows per match", MaxFlows)) || !strings.HasPrefix(err.Error(), "column ") {
			t.Errorf("%.60s...: got %v", s, err)
		}
		t.Logf("%.40s...: refused in %v: %v", s, d, err)
		if d > 100*time.Millisecond {
			t.Errorf("%.60s...: refused after %v", s, d)
		}
	}
}

// Overlaps of two 3,000-term classifiers: per-field interval intersection
// and a sweep, never all pairs of terms.
func TestOverlapsOfLargeExpressions(t *testing.T) {
	ne := func(off int) string {
		return chain(3000, " && ", func(i int) string { return fmt.Sprintf("tcp.dst != %d", 2*i+off) })
	}
	disj := func(off int) string {
		return chain(3000, " || ", func(i int) string {
			return fmt.Sprintf("(ip4.src == %s && tcp.dst == %d)", scattered(2*i+off), i)
		})
	}
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{ne(0), ne(1), true},
		{ne(0), "tcp.dst == {" + chain(3000, ", ", func(i int) string { return fmt.Sprint(2 * i) }) + "}", false},
		{disj(0), disj(1), false},
		{disj(0), disj(0), true},
	} {
		a, err := Compile(tc.a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Compile(tc.b)
		if err != nil {
			t.Fatal(err)
		}
		best := time.Hour
		for range 3 {
			start := time.Now()
			if got := a.Overlaps(b); got != tc.want {
				t.Fatalf("%.40s... overlaps %.40s...: %v, want %v", tc.a, tc.b, got, tc.want)
			}
			best = min(best, time.Since(start))
		}
		t.Logf("%d x %d terms: Overlaps in %v", len(a.d), len(b.d), best)
		if best > 100*time.Millisecond {
			t.Errorf("Overlaps of %d and %d terms took %v", len(a.d), len(b.d), best)
		}
	}
}
