package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chainwire/chainwire/topology"
)

// lbModel: two switches with ports, a TCP load balancer on both, a UDP
// one on sw0.
func lbModel(t *testing.T) string {
	db := filepath.Join(t.TempDir(), "nb.json")
	for _, args := range [][]string{
		{"ls-add", "sw0"}, {"ls-add", "sw1"},
		{"lsp-add", "sw0", "p1"}, {"lsp-set-addresses", "p1", "02:00:00:00:00:01 10.0.0.1"},
		{"lsp-add", "sw0", "p2"}, {"lsp-set-addresses", "p2", "02:00:00:00:00:02 10.0.0.2 fd00::2"},
		{"lsp-add", "sw1", "p3"}, {"lsp-set-addresses", "p3", "02:00:00:00:01:03 10.0.1.3"},
		{"lb-add", "web", "10.0.0.100:80", "10.0.0.1:8080,10.0.0.2:8080"},
		{"lb-add", "web", "10.0.0.100:443", "10.0.0.2:443"},
		{"lb-add", "web", "[fd00:0::100]:443", "[fd00::2]:443"}, // written as ovn-nbctl writes it
		{"lb-add", "dns", "fd00::53", "fd00::2", "udp"},
		{"lb-add", "dns", "10.0.0.53", "10.0.0.1,10.0.0.2"},
		{"ls-lb-add", "sw0", "web", "--", "ls-lb-add", "sw0", "dns", "--", "ls-lb-add", "sw1", "web"},
	} {
		mustCtl(t, db, args...)
	}
	return db
}

const (
	lbListAll = `NAME  PROTO  VIP              BACKENDS
dns   udp    10.0.0.53        10.0.0.1,10.0.0.2
dns   udp    fd00::53         fd00::2
web   tcp    10.0.0.100:443   10.0.0.2:443
web   tcp    10.0.0.100:80    10.0.0.1:8080,10.0.0.2:8080
web   tcp    [fd00::100]:443  [fd00::2]:443
`
	lbListWeb = `NAME  PROTO  VIP              BACKENDS
web   tcp    10.0.0.100:443   10.0.0.2:443
web   tcp    10.0.0.100:80    10.0.0.1:8080,10.0.0.2:8080
web   tcp    [fd00::100]:443  [fd00::2]:443
`
)

// lb-list and ls-lb-list print ovn-nbctl's table without its UUID
// column: a line per VIP, by load balancer then VIP.
func TestLBLists(t *testing.T) {
	db := lbModel(t)
	mustCtl(t, db, "ls-add", "sw2")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"lb-list"}, lbListAll},
		{[]string{"lb-list", "web"}, lbListWeb},
		{[]string{"lb-list", "dns"}, "NAME  PROTO  VIP        BACKENDS\ndns   udp    10.0.0.53  10.0.0.1,10.0.0.2\ndns   udp    fd00::53   fd00::2\n"},
		{[]string{"ls-lb-list", "sw0"}, lbListAll},
		{[]string{"ls-lb-list", "sw1"}, lbListWeb},
		{[]string{"ls-lb-list", "sw2"}, ""},
	} {
		if got := mustCtl(t, db, c.args...); got != c.want {
			t.Errorf("chainctl %v:\n%s\nwant\n%s", c.args, got, c.want)
		}
	}
	var lbs []topology.LoadBalancer
	json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "lb-list")), &lbs)
	if len(lbs) != 2 || lbs[1].Name != "web" || lbs[1].Key != 1 || lbs[1].Protocol != "tcp" || lbs[1].VIPs["[fd00::100]:443"] != "[fd00::2]:443" ||
		lbs[0].Key != 2 || lbs[0].Protocol != "udp" {
		t.Errorf("lb-list -o json: %+v", lbs)
	}
	var used []topology.LoadBalancer
	json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "ls-lb-list", "sw1")), &used)
	if len(used) != 1 || used[0].Name != "web" || len(used[0].VIPs) != 3 {
		t.Errorf("ls-lb-list -o json: %+v", used)
	}
	if out := mustCtl(t, db, "-o", "json", "ls-lb-list", "sw2"); strings.TrimSpace(out) != "[]" {
		t.Errorf("ls-lb-list -o json of none: %q", out)
	}
}

// show lists a switch's load balancers, and every load balancer with
// its VIPs.
func TestShowLBs(t *testing.T) {
	db := lbModel(t)
	out := mustCtl(t, db, "show")
	for _, want := range []string{
		"        addresses: [\"02:00:00:00:00:02 10.0.0.2 fd00::2\"]\n    load balancer dns (key 2)\n    load balancer web (key 1)\nswitch sw1 (key 2)\n",
		"        addresses: [\"02:00:00:00:01:03 10.0.1.3\"]\n    load balancer web (key 1)\n",
		"load balancer dns (key 2): udp\n    vip 10.0.0.53: 10.0.0.1,10.0.0.2\n    vip fd00::53: fd00::2\n",
		"load balancer web (key 1): tcp\n    vip 10.0.0.100:443: 10.0.0.2:443\n    vip 10.0.0.100:80: 10.0.0.1:8080,10.0.0.2:8080\n    vip [fd00::100]:443: [fd00::2]:443\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks\n%s\nin\n%s", want, out)
		}
	}
	var m topology.Model
	json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "show")), &m)
	if len(m.LoadBalancers) != 2 || !slices.Equal(m.Switch("sw0").LoadBalancers, []string{"dns", "web"}) {
		t.Errorf("show -o json: %+v, sw0 %+v", m.LoadBalancers, m.Switch("sw0"))
	}
}

// Every edit verb does what it says, with ovn-nbctl's --may-exist and
// --if-exists.
func TestLBEdits(t *testing.T) {
	db := lbModel(t)
	list := func(args ...string) string { return mustCtl(t, db, append([]string{"lb-list"}, args...)...) }
	mustCtl(t, db, "--may-exist", "lb-add", "web", "10.0.0.100:80", "10.0.0.3:8080")
	mustCtl(t, db, "lb-add", "web", "10.0.0.101:80", "10.0.0.3:80", "tcp") // the load balancer's protocol
	mustCtl(t, db, "lb-del", "web", "[fd00:0::100]:443")                   // as lb-add normalized it
	if got, want := list("web"), `NAME  PROTO  VIP             BACKENDS
web   tcp    10.0.0.100:443  10.0.0.2:443
web   tcp    10.0.0.100:80   10.0.0.3:8080
web   tcp    10.0.0.101:80   10.0.0.3:80
`; got != want {
		t.Errorf("after --may-exist lb-add, lb-add and lb-del of a VIP:\n%s\nwant\n%s", got, want)
	}
	state := func() string {
		return list() + mustCtl(t, db, "ls-lb-list", "sw0") + mustCtl(t, db, "ls-lb-list", "sw1")
	}
	before := state()
	for _, nothing := range [][]string{
		{"lb-del", "--if-exists", "web", "10.9.9.9:80"}, {"lb-del", "nope", "--if-exists"},
		{"ls-lb-del", "--if-exists", "sw1", "dns"}, {"--may-exist", "ls-lb-add", "sw0", "web"},
	} {
		mustCtl(t, db, nothing...)
	}
	if got := state(); got != before {
		t.Errorf("--if-exists and --may-exist changed something:\n%s\nwas\n%s", got, before)
	}
	// The last VIP takes its load balancer along, once no switch uses it.
	mustCtl(t, db, "ls-lb-del", "sw0", "--", "lb-del", "dns", "10.0.0.53", "--", "lb-del", "dns", "fd00::53")
	if got := mustCtl(t, db, "ls-lb-list", "sw0") + list("web") + mustCtl(t, db, "-o", "json", "lb-list"); strings.Contains(got, "dns") ||
		!strings.Contains(got, "10.0.0.101:80") {
		t.Errorf("after ls-lb-del and lb-del of dns's VIPs:\n%s", got)
	}
	mustCtl(t, db, "ls-lb-del", "sw1", "web", "--", "lb-del", "web")
	if got := list(); got != "" {
		t.Errorf("after lb-del: %q", got)
	}
}

// Every refused command names what and why, and leaves the file as it was.
func TestLBErrors(t *testing.T) {
	db := lbModel(t)
	before, _ := os.ReadFile(db)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"lb-add", "web", "10.0.0.100:80", "10.0.0.3:80"}, `load balancer "web": VIP 10.0.0.100:80 already exists (--may-exist replaces its backends)`},
		{[]string{"lb-add", "web", "10.0.0.101:80", "10.0.0.3:80", "udp"}, `load balancer "web": its protocol is tcp, not udp (a load balancer has one)`},
		{[]string{"lb-add", "x", "10.0.0.101:80", "10.0.0.3:80", "sctp"}, `protocol "sctp": want tcp or udp`},
		{[]string{"lb-add", "bad name", "10.0.0.101:80", "10.0.0.3:80"}, `load balancer "bad name": a name may hold only`},
		{[]string{"lb-add", "x", "10.0.0.300:80", "10.0.0.3:80"}, `load balancer "x": VIP "10.0.0.300:80": not an IP address, IPv4:PORT or [IPv6]:PORT`},
		{[]string{"lb-add", "x", "fd00::100:99999", "[fd00::1]:80"}, `VIP "fd00::100:99999": an IPv6 address with a port is written [IPv6]:PORT`},
		{[]string{"lb-add", "x", "10.0.0.101:0", "10.0.0.3:80"}, `VIP "10.0.0.101:0": port "0": want a number in 1..65535`},
		{[]string{"lb-add", "x", "10.0.0.101:80", "10.0.0.3"}, `VIP "10.0.0.101:80": backend "10.0.0.3" has no port (a VIP with a port needs IP:PORT backends)`},
		{[]string{"lb-add", "x", "10.0.0.101", "10.0.0.3:80"}, `VIP "10.0.0.101": backend "10.0.0.3:80" has a port (an IP-only VIP takes backends without ports)`},
		{[]string{"lb-add", "x", "[fd00::101]:80", "10.0.0.3:80"}, `backend "10.0.0.3:80" is IPv4, the VIP IPv6`},
		{[]string{"lb-add", "x", "10.0.0.101:80", "10.0.0.3:80,10.0.0.3:80"}, `backends "10.0.0.3:80" and "10.0.0.3:80" are the same`},
		{[]string{"lb-add", "x", "10.0.0.101:80", ""}, `VIP "10.0.0.101:80": has no backends`},
		{[]string{"lb-add", "web", "10.0.1.3:80", "10.0.0.3:80"},
			`load balancer "web": VIP 10.0.1.3 is the address of port "p3" on switch "sw1", which uses the load balancer (traffic to it would be ambiguous)`},
		{[]string{"lsp-set-addresses", "p1", "02:00:00:00:00:01 10.0.0.100"},
			`port "p1": address 10.0.0.100 is a VIP of load balancer "web" on switch "sw0" (traffic to it would be ambiguous)`},
		{[]string{"lsp-add", "sw1", "p4", "--", "lsp-set-addresses", "p4", "02:00:00:00:01:04 10.0.0.100"}, `port "p4": address 10.0.0.100 is a VIP`},
		{[]string{"lb-add", "x", "10.0.1.3", "10.0.0.3", "--", "ls-lb-add", "sw1", "x"}, `load balancer "x": VIP 10.0.1.3 is the address of port "p3"`},
		{[]string{"lb-add", "x", "10.0.0.101:80"}, `usage: chainctl lb-add LB VIP[:PORT] IP[:PORT],... [tcp|udp] [--may-exist]`},
		{[]string{"lb-add", "web", "10.0.0.101:80", "10.0.0.3:80", "--if-exists"}, `lb-add: option --if-exists does not apply`},
		{[]string{"lb-del", "nope"}, `load balancer "nope": does not exist`},
		{[]string{"lb-del", "web", "10.0.0.9:80"}, `load balancer "web": VIP "10.0.0.9:80" is not one of its VIPs`},
		{[]string{"lb-del", "web"}, `load balancer "web": switch "sw0" uses it`},
		{[]string{"ls-lb-del", "sw0", "--", "lb-del", "web"}, `load balancer "web": switch "sw1" uses it`},
		{[]string{"lb-del", "dns", "10.0.0.53", "--", "lb-del", "dns", "fd00::53"}, `load balancer "dns": switch "sw0" uses it`},
		{[]string{"lb-list", "nope"}, `load balancer "nope": does not exist`},
		{[]string{"ls-lb-add", "sw0", "web"}, `switch "sw0": already uses load balancer "web"`},
		{[]string{"ls-lb-add", "sw0", "nope"}, `load balancer "nope": does not exist`},
		{[]string{"ls-lb-add", "nosw", "web"}, `switch "nosw": does not exist`},
		{[]string{"ls-lb-del", "sw1", "dns"}, `switch "sw1": does not use load balancer "dns"`},
		{[]string{"ls-lb-del", "sw1", "nope", "--if-exists"}, `load balancer "nope": does not exist`},
		{[]string{"ls-lb-del", "nosw"}, `switch "nosw": does not exist`},
		{[]string{"ls-lb-list", "nosw"}, `switch "nosw": does not exist`},
		{[]string{"ls-lb-list", "sw0", "--may-exist"}, `ls-lb-list: option --may-exist does not apply`},
		{[]string{"ls-lb-list", "sw0", "--", "lb-list"}, `only commands that change the model can be joined with --`},
	} {
		out, err, ok := refusedCmd(t, db, before, tc.args)
		if ok && (!strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") || out != "") {
			t.Errorf("chainctl %v: error %q, printed %q; want one line containing %q", tc.args, err, out, tc.want)
		}
	}
}

// --wait waits for the switches a load balancer change touches: those
// that use it, and a switch whose list changed.
func TestLBChangedSwitches(t *testing.T) {
	db := lbModel(t)
	mustCtl(t, db, "ls-add", "sw2")
	base, err := topology.NewFileStore(db).Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		edit func(m *topology.Model)
		want string
	}{
		{func(m *topology.Model) { m.LoadBalancer("web").VIPs["10.0.0.100:80"] = "10.0.0.1:8080" }, "sw0 sw1"},
		{func(m *topology.Model) { m.LoadBalancer("dns").Protocol = "tcp" }, "sw0"},
		{func(m *topology.Model) { m.Switch("sw2").LoadBalancers = []string{"dns"} }, "sw2"},
		{func(m *topology.Model) {
			m.LoadBalancers = append(m.LoadBalancers, topology.LoadBalancer{Name: "new", Key: 3, Protocol: "tcp"})
		}, ""},
	} {
		if got := changedAfter(base, c.edit); got != c.want {
			t.Errorf("changed switches %v, want %s", got, c.want)
		}
	}
}
