package agent

import "testing"

func TestZonesStayWithTheirPorts(t *testing.T) {
	z := newZones(map[string]uint16{"a": 7, "b": 7, "c": 0})
	if !z.assign(map[string]uint32{"a": 1, "b": 2, "c": 3}) {
		t.Fatal("new ports got no zones")
	}
	got := z.snapshot()
	if got["a"] != 7 {
		t.Errorf("a lost its saved zone 7: %v", got)
	}
	if got["b"] == 0 || got["b"] == 7 || got["c"] == 0 || got["b"] == got["c"] {
		t.Errorf("b (whose saved zone a holds) and c need zones of their own: %v", got)
	}
	if z.assign(map[string]uint32{"a": 1, "b": 2, "c": 3}) {
		t.Error("the same ports changed the zones")
	}
	z.assign(map[string]uint32{"a": 1, "d": 4})
	got = z.snapshot()
	if len(got) != 2 || got["a"] != 7 || got["d"] == 0 || got["d"] == 7 {
		t.Fatalf("after b and c left and d came: %v", got)
	}
}

// A freed zone is given out again only after every other.
func TestFreedZonesAreReusedLast(t *testing.T) {
	z := newZones(nil)
	z.assign(map[string]uint32{"a": 1})
	first := z.snapshot()["a"]
	z.assign(map[string]uint32{"b": 2})
	if z.snapshot()["b"] == first {
		t.Errorf("b got the zone a just freed (%d)", first)
	}
}
