package expr

import (
	"fmt"
	"testing"
)

// References lists each name once, in order, without resolving it; a
// string compared with a non-port field is no port.
func TestReferences(t *testing.T) {
	for _, c := range []struct{ match, want string }{
		{"", "&{[] [] []}"},
		{`inport == "vm1" && ip4.src == $as1 || !(outport == {"vm2", "vm1", @pg}) && ip6.dst != $as1`, "&{[vm1 vm2] [pg] [as1]}"},
		{`outport == @b && (inport == @a || eth.src == $macs) && ip4.dst == {$x, $y_ip4, 10.0.0.1}`, "&{[] [b a] [macs x y_ip4]}"},
		{`tcp.dst == "vm1"`, "&{[] [] []}"},
	} {
		r, err := References(c.match)
		if err != nil {
			t.Fatalf("%s: %v", c.match, err)
		}
		if got := fmt.Sprint(r); got != c.want {
			t.Errorf("%s: %s, want %s", c.match, got, c.want)
		}
	}
	if _, err := References("inport =="); err == nil || err.Error() != `column 10: expected a value after "=="` {
		t.Errorf("a syntax error: %v", err)
	}
	a, _ := References(`inport == "x"`)
	if b, _ := References(`inport == "x"`); a != b {
		t.Error("the same match parsed twice")
	}
}
