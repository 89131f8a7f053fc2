package main

import (
	"reflect"
	"strings"
	"testing"
)

// Two interfaces with one iface-id: the lowest OpenFlow port wins, however
// the rows come, and a warning names both. (The binding used to flip on
// every OVSDB update.)
func TestDuplicateIfaceIDIsDeterministic(t *testing.T) {
	a := iface{Name: "tap-a", OFPort: 7, IfaceID: "p1"}
	b := iface{Name: "tap-b", OFPort: 3, IfaceID: "p1"}
	c := iface{Name: "tap-c", OFPort: 5, IfaceID: "p2"}
	tun := map[string]iface{"t": {Name: geneveName, OFPort: 9}}
	first := bindings(map[string]iface{"u1": a, "u2": b, "u3": c}, tun)
	for i := 0; i < 50; i++ {
		again := bindings(map[string]iface{"u2": b, "u3": c, "u1": a}, tun)
		if !reflect.DeepEqual(again, first) {
			t.Fatalf("bindings differ between calls: %+v vs %+v", again, first)
		}
	}
	if first.Ports["p1"] != 3 || first.Ports["p2"] != 5 || first.Tunnel != 9 {
		t.Fatalf("bindings %+v, want p1 on 3 (the lower port), p2 on 5, tunnel 9", first)
	}
	want := `interfaces tap-b (ofport 3), tap-a (ofport 7) all have iface-id "p1"; using tap-b`
	if len(first.Warnings) != 1 || first.Warnings[0] != want {
		t.Fatalf("warnings %q, want %q", first.Warnings, want)
	}
}

// A config key the agent does not know is refused, listing the known ones.
func TestConfigTypoIsRefused(t *testing.T) {
	var cfg config
	err := decodeConfig([]byte("chasis: hv1\n"), &cfg)
	if err == nil || !strings.Contains(err.Error(), "chasis") || !strings.Contains(err.Error(), "known keys: chassis, bridge") {
		t.Fatalf("got %v", err)
	}
	if err := decodeConfig([]byte("chassis: hv7\nbridge: br-x\n"), &cfg); err != nil || cfg.Chassis != "hv7" {
		t.Fatalf("good config: %v, %+v", err, cfg)
	}
}

// A chassis name is a file name in the status directory: ../../x is refused.
func TestChassisNameIsChecked(t *testing.T) {
	if _, err := loadConfig([]string{"--config", "/dev/null", "--chassis", "../../escaped"}); err == nil {
		t.Fatal("--chassis ../../escaped accepted")
	}
}
