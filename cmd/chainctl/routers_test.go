package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chainwire/chainwire/topology"
)

// routerModel: switches sw0 and sw1, a VM on each, router lr0 joining
// both (lrp0 on sw0, lrp1 on sw1 with IPv4 and IPv6 networks), three
// static routes.
func routerModel(t *testing.T) string {
	db := filepath.Join(t.TempDir(), "nb.json")
	for _, args := range [][]string{
		{"ls-add", "sw0"}, {"ls-add", "sw1"},
		{"lsp-add", "sw0", "vm0"}, {"lsp-set-addresses", "vm0", "02:00:00:00:00:01 10.0.0.10"},
		{"lsp-add", "sw1", "vm1"}, {"lsp-set-addresses", "vm1", "02:00:00:00:01:01 10.0.1.10 fd00:1::10"},
		{"lr-add", "lr0"},
		{"lrp-add", "lr0", "lrp0", "02:00:00:00:FF:00", "10.0.0.1/24"}, // written in one spelling
		{"lrp-add", "lr0", "lrp1", "02:00:00:00:ff:01", "fd00:1:0::1/64", "10.0.1.1/24"},
		{"lsp-add", "sw0", "sw0-lr0", "--", "lsp-set-type", "sw0-lr0", "router", "--", "lsp-set-addresses", "sw0-lr0", "router",
			"--", "lsp-set-options", "sw0-lr0", "router-port=lrp0"},
		{"lsp-add", "sw1", "sw1-lr0", "--", "lsp-set-type", "sw1-lr0", "router", "--", "lsp-set-addresses", "sw1-lr0", "router",
			"--", "lsp-set-options", "sw1-lr0", "router-port=lrp1"},
		{"lr-route-add", "lr0", "10.0.3.7/24", "10.0.1.5", "lrp1"}, // the prefix as ovn-nbctl stores it
		{"lr-route-add", "lr0", "0.0.0.0/0", "10.0.0.254"},
		{"lr-route-add", "lr0", "fd00:9::/64", "fd00:1:0::9"},
	} {
		mustCtl(t, db, args...)
	}
	return db
}

func TestRouterLists(t *testing.T) {
	db := routerModel(t)
	mustCtl(t, db, "lr-add", "lr1")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"lr-list"}, "lr0 (key 3)\nlr1 (key 4)\n"},
		{[]string{"lrp-list", "lr0"}, "lrp0 (key 1)\nlrp1 (key 2)\n"},
		{[]string{"lrp-list", "lr1"}, ""},
		{[]string{"lr-route-list", "lr0"}, "IPv4 Routes\n" +
			"              10.0.3.0/24                  10.0.1.5 dst-ip lrp1\n" +
			"                0.0.0.0/0                10.0.0.254 dst-ip\n" +
			"\nIPv6 Routes\n" +
			"              fd00:9::/64                 fd00:1::9 dst-ip\n"},
		{[]string{"lr-route-list", "lr1"}, ""},
		{[]string{"lsp-get-type", "sw0-lr0"}, "router\n"},
		{[]string{"lsp-get-type", "vm0"}, "\n"},
	} {
		if got := mustCtl(t, db, c.args...); got != c.want {
			t.Errorf("chainctl %v:\n%q\nwant\n%q", c.args, got, c.want)
		}
	}
	var routers []topology.Router
	json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "lr-list")), &routers)
	if len(routers) != 2 || routers[0].Name != "lr0" || routers[0].Key != 3 || len(routers[0].Routes) != 3 {
		t.Errorf("lr-list -o json: %+v", routers)
	}
	var lrps []topology.RouterPort
	json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "lrp-list", "lr0")), &lrps)
	if len(lrps) != 2 || lrps[0].MAC != "02:00:00:00:ff:00" || strings.Join(lrps[1].Networks, " ") != "10.0.1.1/24 fd00:1::1/64" ||
		lrps[1].Router != "lr0" || lrps[1].Key != 2 {
		t.Errorf("lrp-list -o json: %+v", lrps)
	}
	var routes []topology.StaticRoute
	json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "lr-route-list", "lr0")), &routes)
	if len(routes) != 3 || routes[0] != (topology.StaticRoute{Prefix: "10.0.3.0/24", NextHop: "10.0.1.5", Port: "lrp1"}) ||
		routes[2].NextHop != "fd00:1::9" {
		t.Errorf("lr-route-list -o json: %+v", routes)
	}
	for _, args := range [][]string{{"lrp-list", "lr1"}, {"lr-route-list", "lr1"}} {
		if out := mustCtl(t, db, append([]string{"-o", "json"}, args...)...); strings.TrimSpace(out) != "[]" {
			t.Errorf("%v -o json of none: %q", args, out)
		}
	}
}

// show prints routers as ovn-nbctl does, with keys and routes, and the
// router-type ports with their type and router port.
func TestShowRouters(t *testing.T) {
	db := routerModel(t)
	out := mustCtl(t, db, "show")
	for _, want := range []string{
		"    port sw0-lr0 (key 2)\n        type: router\n        router-port: lrp0\n        addresses: [\"router\"]\n    port vm0 (key 1)\n",
		"router lr0 (key 3)\n" +
			"    port lrp0 (key 1)\n        mac: \"02:00:00:00:ff:00\"\n        networks: [\"10.0.0.1/24\"]\n" +
			"    port lrp1 (key 2)\n        mac: \"02:00:00:00:ff:01\"\n        networks: [\"10.0.1.1/24\", \"fd00:1::1/64\"]\n" +
			"    route 10.0.3.0/24 via 10.0.1.5 port lrp1\n    route 0.0.0.0/0 via 10.0.0.254\n    route fd00:9::/64 via fd00:1::9\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks\n%s\nin\n%s", want, out)
		}
	}
	if strings.Contains(out, "options: router-port") {
		t.Errorf("show prints router-port twice:\n%s", out)
	}
	var m topology.Model
	json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "show")), &m)
	if len(m.Routers) != 1 || len(m.RouterPorts) != 2 || m.Port("sw1-lr0").Type != "router" || m.Port("sw1-lr0").RouterPort() != "lrp1" {
		t.Errorf("show -o json: %+v %+v", m.Routers, m.RouterPorts)
	}
}

// The edit verbs do what they say, with --may-exist and --if-exists.
func TestRouterEdits(t *testing.T) {
	db := routerModel(t)
	routes := func() string { return mustCtl(t, db, "lr-route-list", "lr0") }
	mustCtl(t, db, "--may-exist", "lr-route-add", "lr0", "10.0.3.0/24", "10.0.0.5") // replaces the route, port and all
	mustCtl(t, db, "lr-route-del", "lr0", "0.0.0.0/0")
	mustCtl(t, db, "lr-route-add", "lr0", "10.0.4.1", "10.0.1.6") // a host route
	if got, want := routes(), "IPv4 Routes\n"+
		"              10.0.4.1/32                  10.0.1.6 dst-ip\n"+
		"              10.0.3.0/24                  10.0.0.5 dst-ip\n"+
		"\nIPv6 Routes\n"+
		"              fd00:9::/64                 fd00:1::9 dst-ip\n"; got != want {
		t.Errorf("after lr-route-add --may-exist, lr-route-del and lr-route-add:\n%s\nwant\n%s", got, want)
	}
	before, _ := os.ReadFile(db)
	for _, nothing := range [][]string{
		{"lr-add", "lr0", "--may-exist"}, {"lr-del", "nope", "--if-exists"}, {"lrp-del", "nope", "--if-exists"},
		{"--may-exist", "lrp-add", "lr0", "lrp0", "02:00:00:00:ff:00", "10.0.0.1/24"},
		{"lr-route-del", "lr0", "10.9.0.0/16", "--if-exists"}, {"lr-route-del", "nope", "--if-exists"},
	} {
		mustCtl(t, db, nothing...)
	}
	if after, _ := os.ReadFile(db); !strings.Contains(string(after), `"generation"`) || string(after) == "" {
		t.Fatal("no model")
	} else if got, was := strings.SplitN(string(after), "\n", 3)[2], strings.SplitN(string(before), "\n", 3)[2]; got != was {
		t.Errorf("--if-exists and --may-exist changed something:\n%s\nwas\n%s", got, was)
	}
	mustCtl(t, db, "lr-route-del", "lr0")
	if got := routes(); got != "" {
		t.Errorf("after lr-route-del of all: %q", got)
	}
	// Taking it all apart, in order; the keys then go to switches again.
	mustCtl(t, db, "lsp-del", "sw0-lr0", "--", "lsp-del", "sw1-lr0", "--", "lrp-del", "lrp0", "--", "lrp-del", "lrp1", "--", "lr-del", "lr0")
	if got := mustCtl(t, db, "lr-list"); got != "" {
		t.Errorf("after lr-del: %q", got)
	}
	mustCtl(t, db, "ls-add", "sw2")
	if got := mustCtl(t, db, "ls-list"); !strings.Contains(got, "sw2 (key 3)") {
		t.Errorf("the router's key is not free again: %s", got)
	}
	// A port becomes a VM's again.
	db = routerModel(t)
	mustCtl(t, db, "lsp-set-type", "sw0-lr0", "", "--", "lsp-set-options", "sw0-lr0", "--", "lsp-set-addresses", "sw0-lr0",
		"02:00:00:00:00:09 10.0.0.9", "--", "lr-route-del", "lr0", "0.0.0.0/0", "--", "lrp-del", "lrp0")
	if got := mustCtl(t, db, "lsp-get-type", "sw0-lr0"); got != "\n" {
		t.Errorf("lsp-get-type after lsp-set-type \"\": %q", got)
	}
}

// Every refused command names what and why, and leaves the file as it was.
func TestRouterErrors(t *testing.T) {
	db := routerModel(t)
	before, _ := os.ReadFile(db)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"lr-add", "lr0"}, `router "lr0": already exists`},
		{[]string{"lr-add", "bad name"}, `router "bad name": a name may hold only`},
		{[]string{"lr-add", "lr9", "--tunnel-key", "1"}, `router "lr9": tunnel key 1 is already used by switch "sw0"`},
		{[]string{"lr-add", "lr9", "--tunnel-key", "16777216"}, `--tunnel-key "16777216": must be a number in 1..16777215`},
		{[]string{"ls-add", "sw9", "--tunnel-key", "3"}, `switch "sw9": tunnel key 3 is already used by router "lr0"`},
		{[]string{"lr-del", "nope"}, `router "nope": does not exist`},
		{[]string{"lr-del", "lr0"}, `router "lr0": router port "lrp0" belongs to it`},
		{[]string{"lrp-add", "nope", "lrp9", "02:00:00:00:ff:09", "10.0.9.1/24"}, `router "nope": does not exist`},
		{[]string{"lrp-add", "lr0", "lrp0", "02:00:00:00:ff:09", "10.0.9.1/24"}, `router port "lrp0": already exists on router "lr0"`},
		{[]string{"--may-exist", "lrp-add", "lr0", "lrp0", "02:00:00:00:ff:09", "10.0.9.1/24"},
			`router port "lrp0": exists with MAC 02:00:00:00:ff:00 and networks 10.0.0.1/24`},
		{[]string{"lrp-add", "lr0", "lrp9", "02:00:00:00:ff:09"}, `usage: chainctl lrp-add ROUTER PORT MAC NETWORK... [--tunnel-key N] [--may-exist]`},
		{[]string{"lrp-add", "lr0", "lrp9", "ff:ff:ff:ff:ff:ff", "10.0.9.1/24"}, `router port "lrp9": MAC "ff:ff:ff:ff:ff:ff": `},
		{[]string{"lrp-add", "lr0", "lrp9", "02:00:00:00:ff:09", "10.0.9.0/24"}, `router port "lrp9": network "10.0.9.0/24": 10.0.9.0 is the network's own address`},
		{[]string{"lrp-add", "lr0", "lrp9", "02:00:00:00:ff:09", "10.0.9.1"}, `router port "lrp9": network "10.0.9.1": not an IP address with a prefix length`},
		{[]string{"lrp-add", "lr0", "lrp9", "02:00:00:00:ff:09", "10.0.1.200/25"},
			`router port "lrp9": network 10.0.1.200/25 overlaps network 10.0.1.1/24 of router port "lrp1" (the networks of router "lr0" may not overlap)`},
		{[]string{"lrp-add", "lr0", "lrp9", "02:00:00:00:ff:09", "10.0.9.1/24", "--tunnel-key", "1"},
			`router port "lrp9": tunnel key 1 is already used by router port "lrp0" on router "lr0"`},
		{[]string{"lrp-del", "nope"}, `router port "nope": does not exist`},
		{[]string{"lrp-del", "lrp0"}, `router port "lrp0": port "sw0-lr0" joins it to its switch`},
		{[]string{"lsp-del", "sw1-lr0", "--", "lrp-del", "lrp1"}, `router port "lrp1": router "lr0" routes through it`},
		{[]string{"lrp-list", "nope"}, `router "nope": does not exist`},
		{[]string{"lr-route-add", "lr0", "10.0.3.0/24", "10.0.1.9"}, `router "lr0": already has a route for prefix 10.0.3.0/24 (--may-exist replaces it)`},
		{[]string{"lr-route-add", "lr0", "10.0.8.0/24", "10.0.7.1"}, `router "lr0": static route 10.0.8.0/24: nexthop 10.0.7.1 is on no network of router "lr0"`},
		{[]string{"lr-route-add", "lr0", "10.0.8.0/24", "10.0.1.7", "lrp0"}, `router "lr0": static route 10.0.8.0/24: nexthop 10.0.1.7 is on no network of router port "lrp0"`},
		{[]string{"lr-route-add", "lr0", "10.0.8.0/24", "fd00:1::7"}, `router "lr0": static route "10.0.8.0/24": nexthop fd00:1::7 is IPv6, the prefix 10.0.8.0/24 IPv4`},
		{[]string{"lr-route-add", "lr0", "10.0.8.0/33", "10.0.1.7"}, `router "lr0": static route "10.0.8.0/33": prefix "10.0.8.0/33" is not an IP prefix`},
		{[]string{"lr-route-add", "lr0", "10.0.8.0/24", "10.0.1.7", "nope"}, `router port "nope": does not exist`},
		{[]string{"lr-route-add", "nope", "10.0.8.0/24", "10.0.1.7"}, `router "nope": does not exist`},
		{[]string{"lr-route-del", "lr0", "10.0.8.0/24"}, `router "lr0": has no route for prefix "10.0.8.0/24"`},
		{[]string{"lr-route-del", "nope"}, `router "nope": does not exist`},
		{[]string{"lr-route-list", "nope"}, `router "nope": does not exist`},
		{[]string{"lsp-set-type", "vm0", "patch"}, `port "vm0": type "patch" is not supported`},
		{[]string{"lsp-set-type", "vm0", "router"}, `port "vm0": a port of type router has addresses "router" or none`},
		{[]string{"lsp-set-type", "nope", "router"}, `port "nope": does not exist`},
		{[]string{"lsp-set-options", "sw0-lr0", "router-port=lrp1"}, `port "sw0-lr0": router port "lrp1" is already joined to switch "sw1" by port "sw1-lr0"`},
		{[]string{"lsp-set-options", "sw0-lr0", "router-port=nope"}, `port "sw0-lr0": router port "nope" does not exist`},
		{[]string{"lsp-set-options", "sw0-lr0", "router-port=lrp0", "requested-chassis=hv1"},
			`port "sw0-lr0": option "requested-chassis" is not supported on a port of type router (known: router-port)`},
		{[]string{"lsp-set-options", "vm0", "router-port=lrp0"}, `port "vm0": option "router-port" is not supported (known: requested-chassis)`},
		{[]string{"lsp-set-addresses", "vm0", "router"}, `port "vm0": address "router": `},
		{[]string{"lsp-set-addresses", "sw0-lr0", "02:00:00:00:ff:00 10.0.0.1"}, `port "sw0-lr0": a port of type router has addresses "router" or none`},
		{[]string{"lsp-set-addresses", "vm0", "02:00:00:00:00:01 10.0.0.1"}, `port "vm0": address 10.0.0.1 already belongs to port "sw0-lr0" on switch "sw0"`},
		{[]string{"lsp-add", "sw1", "vm9", "--", "lsp-set-addresses", "vm9", "02:00:00:00:ff:01"},
			`port "vm9": address 02:00:00:00:ff:01 already belongs to port "sw1-lr0" on switch "sw1"`},
		{[]string{"lsp-set-port-security", "sw0-lr0", "02:00:00:00:ff:00"}, `port "sw0-lr0": a port of type router has no port security`},
		{[]string{"lsp-pair-add", "sw0", "sw0-lr0", "sw0-lr0", "pp"}, `port pair "pp": in port "sw0-lr0" is of type router: a router's port cannot be a VNF port`},
		{[]string{"lr-list", "--", "lr-add", "x"}, `only commands that change the model can be joined with --`},
		{[]string{"lr-list", "--if-exists"}, `lr-list: option --if-exists does not apply`},
	} {
		out, err, ok := refusedCmd(t, db, before, tc.args)
		if ok && (!strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") || out != "") {
			t.Errorf("chainctl %v: error %q, printed %q; want one line containing %q", tc.args, err, out, tc.want)
		}
	}
}

// --wait waits for every switch joined to a changed router, and a
// change on one of them reaches the others (the source's chassis
// routes).
func TestRouterChangedSwitches(t *testing.T) {
	db := routerModel(t)
	mustCtl(t, db, "ls-add", "sw2", "--", "lsp-add", "sw2", "vm2")
	base, err := topology.NewFileStore(db).Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		edit func(m *topology.Model)
		want string
	}{
		{func(m *topology.Model) { m.Router("lr0").Routes = nil }, "sw0 sw1"},
		{func(m *topology.Model) { m.RouterPort("lrp1").MAC = "02:00:00:00:ff:09" }, "sw0 sw1"},
		{func(m *topology.Model) { m.Port("vm1").Addresses = []string{"02:00:00:00:01:01 10.0.1.11"} }, "sw0 sw1"},
		{func(m *topology.Model) { m.Port("vm2").Addresses = []string{"02:00:00:00:02:01"} }, "sw2"},
		{func(m *topology.Model) {
			m.Routers = append(m.Routers, topology.Router{Name: "new", Key: 9})
		}, ""},
	} {
		if got := changedAfter(base, c.edit); got != c.want {
			t.Errorf("changed switches %v, want %s", got, c.want)
		}
	}
}
