package nbdb

import (
	"fmt"
	"testing"
)

// Rows in every form ovsdb-server writes them decode to the same values.
func TestWireRows(t *testing.T) {
	for _, c := range []struct {
		json, want string
	}{
		{`{"_uuid":["uuid","u1"],"name":"p1","switch":"sw","tunnel_key":3,"addresses":"02:00:00:00:00:01 10.0.0.1",
		  "port_security":["set",[]],"enabled":["set",[]],"options":["map",[]]}`,
			`{u1 p1 sw 3 [02:00:00:00:00:01 10.0.0.1] [] <nil> map[]}`},
		{`{"name":"p\"2","switch":"sw","tunnel_key":4,"addresses":["set",["unknown","02:00:00:00:00:02"]],
		  "port_security":"02:00:00:00:00:02","enabled":false,"options":["map",[["requested-chassis","hv1"],["k","v,]"]]]}`,
			`{ p"2 sw 4 [unknown 02:00:00:00:00:02] [02:00:00:00:00:02] false map[k:v,] requested-chassis:hv1]}`},
		{`{"name":"p3", "enabled" : ["set", [true]] , "addresses": [ "set" , [ "a" , "b" ] ]}`,
			`{ p3  0 [a b] [] true map[]}`},
	} {
		r, err := decodeRow[portRow]([]byte(c.json), "")
		if err != nil {
			t.Fatalf("%s: %v", c.json, err)
		}
		enabled := "<nil>"
		if r.Enabled != nil {
			enabled = fmt.Sprint(*r.Enabled)
		}
		got := fmt.Sprintf("{%s %s %s %d %v %v %s %v}", r.UUID, r.Name, r.Switch, r.TunnelKey, r.Addresses,
			r.PortSecurity, enabled, r.Options)
		if got != c.want {
			t.Errorf("%s\n got %s\nwant %s", c.json, got, c.want)
		}
	}
	g, err := decodeRow[groupRow]([]byte(`{"name":"g","port_pairs":["map",[[1,"b"],[0,"a"]]]}`), "u9")
	if err != nil || g.UUID != "u9" || fmt.Sprint(g.PortPairs) != "map[0:a 1:b]" {
		t.Fatalf("group %+v, %v", g, err)
	}
	for _, bad := range []string{`{"addresses":["map",[]]}`, `{"options":["set",[]]}`, `{"enabled":["set",[1]]}`,
		`{"addresses":["set",["a"]`, `{"_uuid":"u1"}`} {
		if _, err := decodeRow[portRow]([]byte(bad), ""); err == nil {
			t.Errorf("%s: decoded without error", bad)
		}
	}
}
