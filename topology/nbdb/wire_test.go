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

// The new tables' rows decode in every form too: optional integers empty,
// bare or in a set, sets of one bare string.
func TestWirePolicyRows(t *testing.T) {
	for _, c := range []struct{ json, want string }{
		{`{"name":"q","key":3,"switch":"sw","direction":"to-lport","priority":7,"match":"ip4","dscp":["set",[]],"rate":10,"burst":0}`,
			`{ q 3 sw to-lport 7 ip4 <nil> 10 0}`},
		{`{"name":"q","dscp":46}`, `{ q 0   0  46 0 0}`},
		{`{"name":"q","dscp":["set",[0]]}`, `{ q 0   0  0 0 0}`},
	} {
		r, err := decodeRow[qosRow]([]byte(c.json), "")
		if err != nil {
			t.Fatalf("%s: %v", c.json, err)
		}
		dscp := "<nil>"
		if r.DSCP != nil {
			dscp = fmt.Sprint(*r.DSCP)
		}
		if got := fmt.Sprintf("{%s %s %d %s %s %d %s %s %d %d}", r.UUID, r.Name, r.Key, r.Switch, r.Direction, r.Priority, r.Match,
			dscp, r.Rate, r.Burst); got != c.want {
			t.Errorf("%s\n got %s\nwant %s", c.json, got, c.want)
		}
	}
	a, err := decodeRow[aclRow]([]byte(`{"name":"a","key":9,"port_group":"pg","direction":"from-lport","priority":1,
		"match":"inport == \"p\"","action":"allow-related","log":true}`), "u1")
	if err != nil || fmt.Sprintf("%+v", *a) != `{UUID:u1 Name:a Key:9 Switch: PortGroup:pg Direction:from-lport Priority:1 Match:inport == "p" Action:allow-related Log:true}` {
		t.Errorf("ACL row %+v, %v", a, err)
	}
	g, err := decodeRow[portGroupRow]([]byte(`{"name":"pg","ports":"p1"}`), "")
	if err != nil || fmt.Sprint(g.Ports) != "[p1]" {
		t.Errorf("port group row %+v, %v", g, err)
	}
	s, err := decodeRow[addressSetRow]([]byte(`{"name":"as","addresses":["set",["10.0.0.1","fd00::/64"]]}`), "")
	if err != nil || fmt.Sprint(s.Addresses) != "[10.0.0.1 fd00::/64]" {
		t.Errorf("address set row %+v, %v", s, err)
	}
	if _, err := decodeRow[qosRow]([]byte(`{"dscp":["set",["x"]]}`), ""); err == nil {
		t.Error("a string DSCP decoded")
	}
}

// DHCP options, DNS records and the ports' DHCP columns decode too.
func TestWireServicesRows(t *testing.T) {
	d, err := decodeRow[dhcpOptionsRow]([]byte(`{"_uuid":["uuid","u1"],"name":"d","cidr":"10.0.0.0/24",
		"options":["map",[["dns_server","{10.0.0.1, 10.0.0.2}"],["domain_name","\"example.org\""]]]}`), "")
	if err != nil || fmt.Sprintf("%+v", *d) != `{UUID:u1 Name:d CIDR:10.0.0.0/24 Options:map[dns_server:{10.0.0.1, 10.0.0.2} domain_name:"example.org"]}` {
		t.Errorf("DHCP options row %+v, %v", d, err)
	}
	r, err := decodeRow[dnsRecordRow]([]byte(`{"name":"sw/vm1","switch":"sw","hostname":"vm1","addresses":"10.0.0.1"}`), "u2")
	if err != nil || fmt.Sprintf("%+v", *r) != `{UUID:u2 Name:sw/vm1 Switch:sw Hostname:vm1 Addresses:[10.0.0.1]}` {
		t.Errorf("DNS record row %+v, %v", r, err)
	}
	p, err := decodeRow[portRow]([]byte(`{"name":"p","dhcpv4_options":"d","dhcpv6_options":""}`), "")
	if err != nil || p.DHCPv4Options != "d" || p.DHCPv6Options != "" {
		t.Errorf("port row %+v, %v", p, err)
	}
}

// Load balancers and the switches' lists of them decode too.
func TestWireLoadBalancerRows(t *testing.T) {
	lb, err := decodeRow[loadBalancerRow]([]byte(`{"_uuid":["uuid","u1"],"name":"web","key":7,"protocol":"udp",
		"vips":["map",[["10.0.0.100:80","10.0.0.1:80,10.0.0.2:80"],["[fd00::100]:53","[fd00::1]:53"]]]}`), "")
	if err != nil || fmt.Sprintf("%+v", *lb) != `{UUID:u1 Name:web Key:7 Protocol:udp VIPs:map[10.0.0.100:80:10.0.0.1:80,10.0.0.2:80 [fd00::100]:53:[fd00::1]:53]}` {
		t.Errorf("load balancer row %+v, %v", lb, err)
	}
	for _, c := range []struct{ json, want string }{
		{`{"name":"sw","tunnel_key":1,"load_balancer":"web"}`, "[web]"},
		{`{"name":"sw","tunnel_key":1,"load_balancer":["set",["web","dns"]]}`, "[web dns]"},
		{`{"name":"sw","tunnel_key":1,"load_balancer":["set",[]]}`, "[]"},
		{`{"name":"sw","tunnel_key":1}`, "[]"}, // a 1.2.0 row
	} {
		if s, err := decodeRow[switchRow]([]byte(c.json), ""); err != nil || fmt.Sprint(s.LoadBalancers) != c.want {
			t.Errorf("%s: switch row %+v, %v; want load balancers %s", c.json, s, err, c.want)
		}
	}
}

// The options of pairs and groups and the chassis' health and (1.6.0)
// neighbours decode, and rows of 1.3.0, without them, too.
func TestWireOptionsAndHealthRows(t *testing.T) {
	p, err := decodeRow[pairRow]([]byte(`{"_uuid":["uuid","u1"],"name":"pp","switch":"sw","inport":"v1","outport":"v2","weight":3,
		"options":["map",[["health-check","true"],["health-interval","0.5"]]]}`), "")
	if err != nil || fmt.Sprintf("%+v", *p) != `{UUID:u1 Name:pp Switch:sw Inport:v1 Outport:v2 Weight:3 Options:map[health-check:true health-interval:0.5]}` {
		t.Errorf("pair row %+v, %v", p, err)
	}
	g, err := decodeRow[groupRow]([]byte(`{"name":"pg","port_pairs":["map",[[0,"pp"]]],"options":["map",[["fail-mode","open"],["tap","false"]]]}`), "u2")
	if err != nil || fmt.Sprintf("%+v", *g) != `{UUID:u2 Name:pg PortPairs:map[0:pp] Options:map[fail-mode:open tap:false]}` {
		t.Errorf("group row %+v, %v", g, err)
	}
	c, err := decodeRow[chassisRow]([]byte(`{"name":"hv1","encap_type":"geneve","encap_ip":"192.0.2.1","heartbeat":5,
		"health":["map",[["pp","up"],["pp2","down"]]],
		"neighbours":["map",[["r2 10.0.2.12","02:00:00:00:02:0c"],["r2 fd00:2::12","02:00:00:00:02:0c"]]]}`), "")
	if err != nil || fmt.Sprint(c.Health) != "map[pp:up pp2:down]" || c.Heartbeat != 5 ||
		fmt.Sprint(c.Neighbours) != "map[r2 10.0.2.12:02:00:00:00:02:0c r2 fd00:2::12:02:00:00:00:02:0c]" {
		t.Errorf("chassis row %+v, %v", c, err)
	}
	if st := statusOf(c); fmt.Sprint(st.Health) != "map[pp:up pp2:down]" || fmt.Sprint(st.Neighbours) != fmt.Sprint(c.Neighbours) {
		t.Errorf("status %+v", st)
	}
	for _, old := range []string{`{"name":"pp","weight":1}`, `{"name":"pp","weight":1,"options":["map",[]]}`} {
		p, err := decodeRow[pairRow]([]byte(old), "")
		if err != nil || len(p.Options) != 0 || pairOf(p).Options != nil {
			t.Errorf("%s: pair row %+v, %v; want no options", old, p, err)
		}
	}
	if g, err := decodeRow[groupRow]([]byte(`{"name":"pg"}`), ""); err != nil || groupOf(g).Options != nil {
		t.Errorf("a 1.3.0 group row: %+v, %v", g, err)
	}
	if c, err := decodeRow[chassisRow]([]byte(`{"name":"hv1","heartbeat":5}`), ""); err != nil || statusOf(c).Health != nil || statusOf(c).Neighbours != nil {
		t.Errorf("a 1.3.0 chassis row: %+v, %v", c, err)
	}
	if c, err := decodeRow[chassisRow]([]byte(`{"name":"hv1","heartbeat":5,"neighbours":["map",[]]}`), ""); err != nil || statusOf(c).Neighbours != nil {
		t.Errorf("a chassis row with no neighbours: %+v, %v", c, err)
	}
	if _, err := decodeRow[pairRow]([]byte(`{"name":"pp","options":["set",[]]}`), ""); err == nil {
		t.Error("a set as a pair's options decoded")
	}
}

// Routers (their routes a map prefix -> "NEXTHOP [PORT]"), router ports
// and the ports' type decode, and a 1.4.0 port row, without a type, too.
func TestWireRouterRows(t *testing.T) {
	r, err := decodeRow[routerRow]([]byte(`{"_uuid":["uuid","u1"],"name":"lr0","tunnel_key":16777215,
		"static_routes":["map",[["10.0.3.0/24","10.0.1.5 lrp1"],["0.0.0.0/0","10.0.0.254"]]]}`), "")
	if err != nil || r.UUID != "u1" || r.TunnelKey != 16777215 {
		t.Fatalf("router row %+v, %v", r, err)
	}
	if got := fmt.Sprintf("%+v", routerOf(r)); got != `{Name:lr0 Key:16777215 Routes:[{Prefix:0.0.0.0/0 NextHop:10.0.0.254 Port:} {Prefix:10.0.3.0/24 NextHop:10.0.1.5 Port:lrp1}]}` {
		t.Errorf("router %s", got)
	}
	if back := routerRowOf(routerOf(r), "u1"); fmt.Sprint(back.StaticRoutes) != fmt.Sprint(r.StaticRoutes) {
		t.Errorf("router row back: %+v", back)
	}
	if r, err := decodeRow[routerRow]([]byte(`{"name":"lr1","tunnel_key":2,"static_routes":["map",[]]}`), "u2"); err != nil ||
		routerOf(r).Routes != nil || r.UUID != "u2" {
		t.Errorf("a router without routes: %+v, %v", r, err)
	}
	rp, err := decodeRow[routerPortRow]([]byte(`{"_uuid":["uuid","u3"],"name":"lrp1","router":"lr0","tunnel_key":2,
		"mac":"02:00:00:00:ff:01","networks":["set",["fd00:1::1/64","10.0.1.1/24"]]}`), "")
	if err != nil || fmt.Sprintf("%+v", routerPortOf(rp)) != `{Name:lrp1 Router:lr0 Key:2 MAC:02:00:00:00:ff:01 Networks:[10.0.1.1/24 fd00:1::1/64]}` {
		t.Errorf("router port row %+v, %v", rp, err)
	}
	if rp, err := decodeRow[routerPortRow]([]byte(`{"name":"lrp0","router":"lr0","tunnel_key":1,"mac":"02:00:00:00:ff:00","networks":"10.0.0.1/24"}`), ""); err != nil ||
		fmt.Sprint(rp.Networks) != "[10.0.0.1/24]" {
		t.Errorf("a router port with one network: %+v, %v", rp, err)
	}
	p, err := decodeRow[portRow]([]byte(`{"name":"sw0-lr0","switch":"sw0","tunnel_key":2,"type":"router","addresses":"router",
		"options":["map",[["router-port","lrp0"]]]}`), "")
	if err != nil {
		t.Fatal(err)
	}
	if port := portOf(p); port.Type != "router" || port.RouterPort() != "lrp0" {
		t.Errorf("a router-type port row %+v", p)
	}
	if p, err := decodeRow[portRow]([]byte(`{"name":"p1","switch":"sw0","tunnel_key":1}`), ""); err != nil || portOf(p).Type != "" {
		t.Errorf("a 1.4.0 port row %+v, %v", p, err)
	}
}
