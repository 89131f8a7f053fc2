package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chainwire/chainwire/topology"
)

// policyModel: two switches with ports, a port group across them, an
// address set, ACLs on a switch and on the group, QoS rules.
func policyModel(t *testing.T) string {
	db := filepath.Join(t.TempDir(), "nb.json")
	for _, args := range [][]string{
		{"ls-add", "sw0"}, {"ls-add", "sw1"},
		{"lsp-add", "sw0", "p1"}, {"lsp-set-addresses", "p1", "02:00:00:00:00:01 10.0.0.1"},
		{"lsp-add", "sw0", "p2"}, {"lsp-add", "sw1", "p3"}, {"lsp-set-addresses", "p3", "02:00:00:00:00:03 10.0.1.3"},
		{"pg-add", "web", "p3", "p1"},
		{"address-set-add", "admins", "10.9.0.0/16", "10.1.1.1"},
		{"acl-add", "sw0", "to-lport", "1001", `outport == "p2" && ip4.src == $admins && tcp.dst == 22`, "allow-related", "--log"},
		{"acl-add", "sw0", "from-lport", "1001", "ip4 && tcp.dst == 80", "drop"},
		{"acl-add", "sw0", "to-lport", "1001", "arp", "allow"},
		{"acl-add", "sw0", "to-lport", "2000", "ip6", "reject"},
		{"acl-add", "--name=web-in", "web", "to-lport", "1000", "outport == @web && ip4.src == $web_ip4", "allow-stateless"},
		{"qos-add", "sw0", "from-lport", "100", `inport == "p1"`, "dscp=46"},
		{"qos-add", "sw0", "to-lport", "100", "ip4", "dscp=10", "rate=2000", "burst=200"},
	} {
		mustCtl(t, db, args...)
	}
	return db
}

// acl-list and qos-list print as ovn-nbctl does: from-lport first, then
// by priority (highest first), then by match.
func TestPolicyLists(t *testing.T) {
	db := policyModel(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"acl-list", "sw0"}, `from-lport  1001 (ip4 && tcp.dst == 80) drop
  to-lport  2000 (ip6) reject
  to-lport  1001 (arp) allow
  to-lport  1001 (outport == "p2" && ip4.src == $admins && tcp.dst == 22) allow-related log(name=acl1)
`},
		{[]string{"acl-list", "web"}, "  to-lport  1000 (outport == @web && ip4.src == $web_ip4) allow-stateless\n"},
		{[]string{"acl-list", "sw1"}, ""},
		{[]string{"qos-list", "sw0"}, `from-lport   100 (inport == "p1") dscp=46
  to-lport   100 (ip4) rate=2000 burst=200 dscp=10
`},
		{[]string{"pg-list"}, `web: ["p1", "p3"]` + "\n"},
		{[]string{"address-set-list"}, `admins: ["10.1.1.1", "10.9.0.0/16"]` + "\n"},
	} {
		if got := mustCtl(t, db, c.args...); got != c.want {
			t.Errorf("chainctl %v:\n%s\nwant\n%s", c.args, got, c.want)
		}
	}
}

// -o json prints the listed objects with every field, keys included.
func TestPolicyListsJSON(t *testing.T) {
	db := policyModel(t)
	var acls []topology.ACL
	if err := json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "acl-list", "sw0")), &acls); err != nil {
		t.Fatal(err)
	}
	if len(acls) != 4 || acls[3].Name != "acl1" || acls[3].Key != 1 || !acls[3].Log || acls[3].Switch != "sw0" || acls[0].Action != "drop" {
		t.Errorf("acl-list -o json: %+v", acls)
	}
	var pgACLs []map[string]any
	json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "acl-list", "web")), &pgACLs)
	if len(pgACLs) != 1 || pgACLs[0]["port_group"] != "web" || pgACLs[0]["key"].(float64) != 5 || pgACLs[0]["name"] != "web-in" {
		t.Errorf("acl-list web -o json: %v", pgACLs)
	}
	var qos []topology.QoS
	json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "qos-list", "sw0")), &qos)
	if len(qos) != 2 || qos[0].Name != "qos1" || *qos[0].DSCP != 46 || qos[1].Key != 2 || *qos[1].DSCP != 10 {
		t.Errorf("qos-list -o json: %+v", qos)
	}
	var groups []topology.PortGroup
	json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "pg-list")), &groups)
	if len(groups) != 1 || strings.Join(groups[0].Ports, ",") != "p1,p3" {
		t.Errorf("pg-list -o json: %+v", groups)
	}
	var sets []topology.AddressSet
	json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "address-set-list")), &sets)
	if len(sets) != 1 || len(sets[0].Addresses) != 2 {
		t.Errorf("address-set-list -o json: %+v", sets)
	}
	if out := mustCtl(t, db, "-o", "json", "acl-list", "sw1"); strings.TrimSpace(out) != "[]" {
		t.Errorf("an empty acl-list -o json: %q", out)
	}
	var m topology.Model
	json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "show")), &m)
	if len(m.ACLs) != 5 || len(m.QoS) != 2 || len(m.PortGroups) != 1 || len(m.AddressSets) != 1 {
		t.Errorf("show -o json: %d ACLs, %d QoS rules, %d groups, %d sets", len(m.ACLs), len(m.QoS), len(m.PortGroups), len(m.AddressSets))
	}
}

// show lists ACLs and QoS rules under their switch, port groups (with
// their ACLs) and address sets after the chassis.
func TestShowPolicy(t *testing.T) {
	db := policyModel(t)
	out := mustCtl(t, db, "show")
	for _, want := range []string{
		"switch sw0 (key 1)\n    port p1 (key 1)\n        addresses: [\"02:00:00:00:00:01 10.0.0.1\"]\n    port p2 (key 2)\n" +
			"    acl acl2 (key 2): from-lport  1001 (ip4 && tcp.dst == 80) drop\n",
		`    acl acl1 (key 1): to-lport  1001 (outport == "p2" && ip4.src == $admins && tcp.dst == 22) allow-related log(name=acl1)`,
		"    qos qos1 (key 1): from-lport   100 (inport == \"p1\") dscp=46\n    qos qos2 (key 2): to-lport   100 (ip4) rate=2000 burst=200 dscp=10\nswitch sw1 (key 2)\n",
		"port group web\n    ports: [\"p1\", \"p3\"]\n    acl web-in (key 5): to-lport  1000 (outport == @web && ip4.src == $web_ip4) allow-stateless\n",
		"address set admins\n    addresses: [\"10.1.1.1\", \"10.9.0.0/16\"]\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks\n%s\nin\n%s", want, out)
		}
	}
}

// Every edit verb does what ovn-nbctl's does.
func TestPolicyEdits(t *testing.T) {
	db := policyModel(t)
	list := func(args ...string) string { return mustCtl(t, db, args...) }
	mustCtl(t, db, "acl-del", "sw0", "to-lport", "1001", "arp")
	if got := list("acl-list", "sw0"); strings.Contains(got, "(arp)") || strings.Count(got, "\n") != 3 {
		t.Errorf("after acl-del of one ACL:\n%s", got)
	}
	mustCtl(t, db, "acl-del", "sw0", "to-lport")
	if got := list("acl-list", "sw0"); got != "from-lport  1001 (ip4 && tcp.dst == 80) drop\n" {
		t.Errorf("after acl-del of a direction:\n%s", got)
	}
	mustCtl(t, db, "acl-add", "sw0", "to-lport", "1001", "arp", "allow") // the smallest free key again
	var acls []topology.ACL
	json.Unmarshal([]byte(list("-o", "json", "acl-list", "sw0")), &acls)
	if len(acls) != 2 || acls[1].Name != "acl1" || acls[1].Key != 1 {
		t.Errorf("a new ACL took %+v", acls)
	}
	mustCtl(t, db, "acl-del", "sw0")
	mustCtl(t, db, "acl-del", "sw1") // none: nothing to do
	if got := list("acl-list", "sw0"); got != "" {
		t.Errorf("after acl-del of a switch's ACLs:\n%s", got)
	}
	mustCtl(t, db, "qos-del", "sw0", "from-lport", "100", `inport == "p1"`)
	mustCtl(t, db, "qos-add", "sw0", "from-lport", "7", "ip", "dscp=5")
	if got := list("qos-list", "sw0"); got != "from-lport     7 (ip) dscp=5\n  to-lport   100 (ip4) rate=2000 burst=200 dscp=10\n" {
		t.Errorf("after qos-del and qos-add:\n%s", got)
	}
	mustCtl(t, db, "pg-set-ports", "web", "p2", "p3")
	mustCtl(t, db, "lsp-del", "p1") // in no group any more, named by no match
	mustCtl(t, db, "address-set-set", "admins", "10.2.0.0/16")
	if got := list("pg-list") + list("address-set-list"); got != "web: [\"p2\", \"p3\"]\nadmins: [\"10.2.0.0/16\"]\n" {
		t.Errorf("after the set verbs:\n%s", got)
	}
	mustCtl(t, db, "qos-del", "sw0", "to-lport")
	mustCtl(t, db, "qos-del", "sw0")
	mustCtl(t, db, "acl-del", "web", "to-lport")
	mustCtl(t, db, "pg-del", "web")
	mustCtl(t, db, "address-set-del", "admins")
	mustCtl(t, db, "pg-add", "empty")
	mustCtl(t, db, "address-set-add", "none")
	if got := list("pg-list") + list("address-set-list") + list("qos-list", "sw0"); got != "empty: []\nnone: []\n" {
		t.Errorf("after deleting everything:\n%s", got)
	}
	mustCtl(t, db, "lsp-del", "p3", "--", "ls-del", "sw1")
}

// Every refused command names what and why, and leaves the file as it was.
func TestPolicyErrors(t *testing.T) {
	db := policyModel(t)
	mustCtl(t, db, "pg-add", "sw1") // a group named like a switch
	before, _ := os.ReadFile(db)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"acl-add", "nosuch", "to-lport", "1", "ip", "drop"}, `switch or port group "nosuch": does not exist`},
		{[]string{"acl-add", "sw1", "to-lport", "1", "ip", "drop"}, `switch or port group "sw1": both a switch and a port group have this name (ambiguous)`},
		{[]string{"acl-list", "sw1"}, `both a switch and a port group have this name`},
		{[]string{"acl-del", "sw1"}, `both a switch and a port group have this name`},
		{[]string{"acl-add", "sw0", "inbound", "1", "ip", "drop"}, `direction "inbound": want from-lport or to-lport`},
		{[]string{"acl-add", "sw0", "to-lport", "32768", "ip", "drop"}, `priority "32768": must be a number in 0..32767`},
		{[]string{"acl-add", "sw0", "to-lport", "x", "ip", "drop"}, `priority "x": must be a number in 0..32767`},
		{[]string{"acl-add", "sw0", "to-lport", "1", "ip", "pass"}, `action "pass": want one of allow, allow-related, allow-stateless, drop, reject`},
		{[]string{"acl-add", "sw0", "to-lport", "1", "ip", "drop", "--name=acl1"}, `ACL "acl1": already exists`},
		{[]string{"acl-add", "sw0", "to-lport", "1", "ip", "drop", "--name", "bad name"}, `ACL "bad name": a name may hold only`},
		{[]string{"acl-add", "sw0", "to-lport", "1", "ip", "drop", "--log=yes"}, `--log: takes no value`},
		{[]string{"acl-add", "sw0", "to-lport", "1", "ip", "drop", "--weight", "2"}, `option --weight does not apply`},
		{[]string{"acl-add", "sw0", "to-lport", "1001", "arp", "drop"}, `ACL "acl6": already exists as ACL "acl3": same switch "sw0", direction, priority and match`},
		{[]string{"acl-add", "sw0", "to-lport", "1", "tcp.dst = 1", "drop"}, `ACL "acl6": match "tcp.dst = 1": column 9: unexpected character "="`},
		{[]string{"acl-add", "sw0", "to-lport", "1", `outport == "p9"`, "drop"}, `ACL "acl6": its match names port "p9", which does not exist`},
		{[]string{"acl-add", "sw0", "to-lport", "1", `outport == "p3"`, "drop"}, `ACL "acl6": its match names port "p3", which is on switch "sw1", not "sw0"`},
		{[]string{"acl-add", "sw0", "to-lport", "1", `ip4.src == $nope`, "drop"}, `ACL "acl6": its match names address set "nope", which does not exist`},
		{[]string{"acl-add", "sw0", "to-lport", "1", `outport == @nope`, "drop"}, `ACL "acl6": its match names port group "nope", which does not exist`},
		{[]string{"acl-add", "sw0", "from-lport", "1", `outport == @web`, "drop"}, `outport is not known yet when a from-lport rule runs`},
		{[]string{"acl-add", "sw0", "to-lport", "1"}, `usage: chainctl acl-add SWITCH|PG`},
		{[]string{"acl-del", "sw0", "to-lport", "1001"}, `priority "1001": needs a match after it`},
		{[]string{"acl-del", "sw0", "to-lport", "1001", "nope"}, `ACL on switch "sw0": none has direction to-lport, priority 1001 and match "nope"`},
		{[]string{"acl-del", "sw0", "sideways"}, `direction "sideways": want from-lport or to-lport`},
		{[]string{"pg-add", "web"}, `port group "web": already exists`},
		{[]string{"pg-add", "new", "p9"}, `port group "new": port "p9" does not exist`},
		{[]string{"pg-add", "new", "p1", "p1"}, `port group "new": port "p1" is listed twice`},
		{[]string{"pg-add", "a/b"}, `port group "a/b": a name may hold only`},
		{[]string{"pg-set-ports", "nope", "p1"}, `port group "nope": does not exist`},
		{[]string{"pg-set-ports", "web"}, `usage: chainctl pg-set-ports PG PORT...`},
		{[]string{"pg-del", "web"}, `port group "web": ACL "web-in" applies to it`},
		{[]string{"pg-del", "nope"}, `port group "nope": does not exist`},
		{[]string{"address-set-add", "admins"}, `address set "admins": already exists`},
		{[]string{"address-set-add", "x", "10.0.0.1", "10.0.0.1/32"}, `address set "x": addresses "10.0.0.1" and "10.0.0.1/32" are the same`},
		{[]string{"address-set-add", "x", "10.0.0.256"}, `address set "x": address "10.0.0.256": not an IPv4 or IPv6 address or prefix, nor an Ethernet address`},
		{[]string{"address-set-add", "web_ip4"}, `address set "web_ip4": port group "web" derives a set of that name ($web_ip4): rename one of them`},
		{[]string{"address-set-add", "db_ip6", "--", "pg-add", "db"}, `address set "db_ip6": port group "db" derives a set of that name`},
		{[]string{"address-set-set", "admins", "fd00::1"}, `ACL "acl1": match "outport == \"p2\" && ip4.src == $admins && tcp.dst == 22": column 31: address set "admins" holds "fd00::1", which is not an IPv4 address or prefix`},
		{[]string{"address-set-set", "nope", "10.0.0.1"}, `address set "nope": does not exist`},
		{[]string{"address-set-del", "admins"}, `address set "admins": ACL "acl1" names it in its match`},
		{[]string{"address-set-del", "nope"}, `address set "nope": does not exist`},
		{[]string{"lsp-del", "p1"}, `port "p1": port group "web" holds it`},
		{[]string{"lsp-del", "p2"}, `port "p2": ACL "acl1" names it in its match`},
		{[]string{"ls-del", "sw0"}, `switch "sw0": port "p1" still uses it`},
		{[]string{"qos-add", "nosw", "to-lport", "1", "ip"}, `switch "nosw": does not exist`},
		{[]string{"qos-add", "sw0", "to-lport", "1", "ip"}, `QoS rule "qos3": marks no DSCP and limits no rate: give dscp=N, rate=KBPS or both`},
		{[]string{"qos-add", "sw0", "to-lport", "1", "ip", "burst=5"}, `QoS rule "qos3": a burst (5 kb) needs a rate`},
		{[]string{"qos-add", "sw0", "to-lport", "1", "ip", "dscp=64"}, `dscp "64": must be a number in 0..63`},
		{[]string{"qos-add", "sw0", "to-lport", "1", "ip", "rate=0"}, `rate "0": must be a number in 1..4294967295`},
		{[]string{"qos-add", "sw0", "to-lport", "1", "ip", "rate=4294967296"}, `rate "4294967296": must be a number in 1..4294967295`},
		{[]string{"qos-add", "sw0", "to-lport", "1", "ip", "dscp=1", "dscp=2"}, `"dscp=2": dscp is given twice`},
		{[]string{"qos-add", "sw0", "to-lport", "1", "ip", "mark=1"}, `"mark=1": want dscp=N, rate=KBPS or burst=KB`},
		{[]string{"qos-add", "sw0", "to-lport", "100", "ip4", "dscp=1"}, `QoS rule "qos3": already exists as QoS rule "qos2": same switch "sw0", direction, priority and match`},
		{[]string{"qos-add", "sw0", "to-lport", "1", `outport == "p3"`, "dscp=1"}, `its match names port "p3", which is on switch "sw1", not "sw0"`},
		{[]string{"qos-del", "sw0", "to-lport", "100", "ip6"}, `QoS rule on switch "sw0": none has direction to-lport, priority 100 and match "ip6"`},
		{[]string{"qos-del", "nosw"}, `switch "nosw": does not exist`},
		{[]string{"qos-list", "nosw"}, `switch "nosw": does not exist`},
		{[]string{"pg-list", "x"}, `usage: chainctl pg-list`},
	} {
		_, err, ok := refusedCmd(t, db, before, tc.args)
		if ok && (!strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n")) {
			t.Errorf("chainctl %v: error %q, want one line containing %q", tc.args, err, tc.want)
		}
	}
}

// A port group and its ACL, or a port leaving its groups and going, are
// one transaction with --.
func TestPolicyTransactions(t *testing.T) {
	db := policyModel(t)
	mustCtl(t, db, "pg-add", "db", "p2", "--", "acl-add", "db", "to-lport", "10", "outport == @db", "allow-related")
	if got := mustCtl(t, db, "acl-list", "db"); got != "  to-lport    10 (outport == @db) allow-related\n" {
		t.Errorf("acl-list db: %q", got)
	}
	mustCtl(t, db, "pg-set-ports", "web", "p1", "--", "lsp-del", "p3")
}

// -h and --help print the help too, wherever they stand.
func TestHelpFlags(t *testing.T) {
	help := mustCtl(t, "unused", "help")
	for _, args := range [][]string{{"-h"}, {"--help"}, {"lsp-add", "--help"}} {
		if got := mustCtl(t, "unused", args...); got != help {
			t.Errorf("chainctl %v printed %q, not the help", args, got)
		}
	}
}

func TestHelpListsPolicyVerbs(t *testing.T) {
	out := mustCtl(t, "unused", "help")
	for _, v := range []string{"acl-add SWITCH|PG from-lport|to-lport PRIORITY MATCH allow|allow-related|allow-stateless|drop|reject [--name=N] [--log]",
		"acl-del SWITCH|PG [DIRECTION [PRIORITY MATCH]]", "acl-list SWITCH|PG", "pg-add PG [PORT...]", "pg-set-ports PG PORT...", "pg-del PG",
		"pg-list", "address-set-add AS [ADDRESS...]", "address-set-set AS ADDRESS...", "address-set-del AS", "address-set-list",
		"qos-add SWITCH from-lport|to-lport PRIORITY MATCH [dscp=N] [rate=KBPS [burst=KB]]", "qos-del SWITCH [DIRECTION [PRIORITY MATCH]]", "qos-list SWITCH",
		"dhcp-options-create CIDR [KEY=VALUE...]", "dhcp-options-set-options ID KEY=VALUE...", "dhcp-options-get-options ID",
		"dhcp-options-del ID", "dhcp-options-list", "lsp-set-dhcpv4-options PORT [ID]", "lsp-set-dhcpv6-options PORT [ID]",
		"lsp-get-dhcpv4-options PORT", "lsp-get-dhcpv6-options PORT", "dns-add SWITCH HOSTNAME ADDR...", "dns-del SWITCH HOSTNAME",
		"dns-list SWITCH", "lb-add LB VIP[:PORT] IP[:PORT],... [tcp|udp] [--may-exist]", "lb-del LB [VIP] [--if-exists]", "lb-list [LB]",
		"ls-lb-add SWITCH LB [--may-exist]", "ls-lb-del SWITCH [LB] [--if-exists]", "ls-lb-list SWITCH"} {
		if !strings.Contains(out, v) {
			t.Errorf("help lacks %q", v)
		}
	}
}

// --wait waits for the switches a policy change touches: an ACL's or QoS
// rule's switch, a group ACL's ports' switches, and for a changed group,
// set or grouped port every switch with policy.
func TestPolicyChangedSwitches(t *testing.T) {
	db := policyModel(t)
	mustCtl(t, db, "ls-add", "sw2")
	base, err := topology.NewFileStore(db).Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		edit func(m *topology.Model)
		want string
	}{
		{func(m *topology.Model) { m.ACL("acl1").Action = "drop" }, "sw0"},
		{func(m *topology.Model) { m.ACL("web-in").Log = true }, "sw0 sw1"},
		{func(m *topology.Model) { *m.QoSRule("qos1").DSCP = 9 }, "sw0"},
		{func(m *topology.Model) { m.AddressSet("admins").Addresses = nil }, "sw0 sw1"},
		{func(m *topology.Model) { m.Port("p3").Addresses = nil }, "sw0 sw1"},
		{func(m *topology.Model) { m.Switch("sw2").Key = 99 }, "sw2"},
	} {
		if got := changedAfter(base, c.edit); got != c.want {
			t.Errorf("changed switches %v, want %s", got, c.want)
		}
	}
}

// The bash completion offers every verb and is valid bash.
func TestBashCompletion(t *testing.T) {
	out := mustCtl(t, "unused", "completion", "bash")
	for name := range verbs {
		if !strings.Contains(out, " "+name+" ") && !strings.Contains(out, "\""+name+" ") {
			t.Errorf("completion lacks %s", name)
		}
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal("bash is needed to check the completion script")
	}
	cmd := exec.Command(bash, "-n")
	cmd.Stdin = strings.NewReader(out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, b)
	}
}
