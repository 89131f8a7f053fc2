package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/chainwire/chainwire/topology"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

const (
	v4Opts = "server_id=10.0.0.254 server_mac=02:00:00:00:00:fe lease_time=3600"
	v6Opts = "server_id=02:00:00:00:00:fe"
)

// create runs dhcp-options-create and returns the id it printed.
func create(t *testing.T, db, cidr, opts string) string {
	t.Helper()
	id := strings.TrimSuffix(mustCtl(t, db, append([]string{"dhcp-options-create", cidr}, strings.Fields(opts)...)...), "\n")
	if !uuidV4.MatchString(id) {
		t.Fatalf("dhcp-options-create printed %q, want a UUID", id)
	}
	return id
}

// servicesModel: two switches with ports, DHCPv4 and DHCPv6 options used
// by ports of sw0, DNS records on both switches. It returns the file and
// the options' ids.
func servicesModel(t *testing.T) (db, id4, id6 string) {
	db = filepath.Join(t.TempDir(), "nb.json")
	for _, args := range [][]string{{"ls-add", "sw0"}, {"ls-add", "sw1"}, {"lsp-add", "sw0", "p1"}, {"lsp-add", "sw0", "p2"}, {"lsp-add", "sw1", "p3"}} {
		mustCtl(t, db, args...)
	}
	id4 = create(t, db, "10.0.0.0/24", v4Opts+` router=10.0.0.1 dns_server={10.0.0.53,10.0.1.53} domain_name="example.org"`)
	id6 = create(t, db, "fd00::/64", v6Opts)
	for _, args := range [][]string{
		{"lsp-set-dhcpv4-options", "p1", id4}, {"lsp-set-dhcpv6-options", "p1", id6}, {"lsp-set-dhcpv4-options", "p2", id4},
		{"dns-add", "sw0", "VM1", "fd00::1", "10.0.0.1"}, {"dns-add", "sw0", "db.example.org", "10.0.0.9"},
		{"dns-add", "sw1", "vm3", "10.0.1.3"},
	} {
		mustCtl(t, db, args...)
	}
	return db, id4, id6
}

// dhcp-options-create prints a new random UUID, once per command, also
// in a transaction; a refused one prints nothing.
func TestDHCPOptionsCreate(t *testing.T) {
	db, id4, id6 := servicesModel(t)
	if id4 == id6 {
		t.Fatalf("two creates printed one id %s", id4)
	}
	out := mustCtl(t, db, append(append([]string{"dhcp-options-create", "10.1.0.0/16"}, strings.Fields(v4Opts)...),
		"--", "dhcp-options-create", "fd01::/64", v6Opts)...)
	ids := strings.Fields(out)
	if len(ids) != 2 || !uuidV4.MatchString(ids[0]) || !uuidV4.MatchString(ids[1]) || ids[0] == ids[1] {
		t.Fatalf("two creates in one transaction printed %q", out)
	}
	if out, err := ctl(t, db, "dhcp-options-create", "10.2.0.0/16"); err == nil || out != "" {
		t.Fatalf("a refused create: %v, printed %q", err, out)
	}
}

func TestServicesLists(t *testing.T) {
	db, id4, id6 := servicesModel(t)
	id16 := create(t, db, "10.0.0.0/16", v4Opts)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"dhcp-options-list"}, id16 + "\n" + id4 + "\n" + id6 + "\n"},
		{[]string{"dhcp-options-get-options", id4},
			"dns_server={10.0.0.53,10.0.1.53}\ndomain_name=\"example.org\"\nlease_time=3600\nrouter=10.0.0.1\nserver_id=10.0.0.254\nserver_mac=02:00:00:00:00:fe\n"},
		{[]string{"dhcp-options-get-options", id6}, "server_id=02:00:00:00:00:fe\n"},
		{[]string{"lsp-get-dhcpv4-options", "p1"}, id4 + " (10.0.0.0/24)\n"},
		{[]string{"lsp-get-dhcpv6-options", "p1"}, id6 + " (fd00::/64)\n"},
		{[]string{"lsp-get-dhcpv6-options", "p2"}, ""},
		{[]string{"lsp-get-dhcpv4-options", "p3"}, ""},
		{[]string{"dns-list", "sw0"}, "db.example.org 10.0.0.9\nvm1 10.0.0.1 fd00::1\n"},
		{[]string{"dns-list", "sw1"}, "vm3 10.0.1.3\n"},
	} {
		if got := mustCtl(t, db, c.args...); got != c.want {
			t.Errorf("chainctl %v:\n%s\nwant\n%s", c.args, got, c.want)
		}
	}
	var list []topology.DHCPOptions
	json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "dhcp-options-list")), &list)
	if len(list) != 3 || list[1].Name != id4 || list[1].CIDR != "10.0.0.0/24" || list[1].Options["lease_time"] != "3600" {
		t.Errorf("dhcp-options-list -o json: %+v", list)
	}
	var opts map[string]string
	json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "dhcp-options-get-options", id6)), &opts)
	if len(opts) != 1 || opts["server_id"] != "02:00:00:00:00:fe" {
		t.Errorf("dhcp-options-get-options -o json: %v", opts)
	}
	var o *topology.DHCPOptions
	json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "lsp-get-dhcpv6-options", "p1")), &o)
	if o == nil || o.Name != id6 || o.CIDR != "fd00::/64" {
		t.Errorf("lsp-get-dhcpv6-options -o json: %+v", o)
	}
	if out := mustCtl(t, db, "-o", "json", "lsp-get-dhcpv6-options", "p2"); strings.TrimSpace(out) != "null" {
		t.Errorf("lsp-get-dhcpv6-options -o json of none: %q", out)
	}
	var records []topology.DNSRecord
	json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "dns-list", "sw0")), &records)
	if len(records) != 2 || records[1].Name != "sw0/vm1" || records[1].Hostname != "vm1" || strings.Join(records[1].Addresses, " ") != "10.0.0.1 fd00::1" {
		t.Errorf("dns-list -o json: %+v", records)
	}
}

// show lists a port's DHCP options, a switch's DNS records, and every
// DHCP options set with its options.
func TestShowServices(t *testing.T) {
	db, id4, id6 := servicesModel(t)
	out := mustCtl(t, db, "show")
	for _, want := range []string{
		"    port p1 (key 1)\n        dhcpv4_options: " + id4 + " (10.0.0.0/24)\n        dhcpv6_options: " + id6 + " (fd00::/64)\n    port p2 (key 2)\n",
		"    dns db.example.org: 10.0.0.9\n    dns vm1: 10.0.0.1 fd00::1\nswitch sw1 (key 2)\n    port p3 (key 1)\n    dns vm3: 10.0.1.3\n",
		"dhcp options " + id4 + " (10.0.0.0/24)\n    options: dns_server={10.0.0.53,10.0.1.53}\n",
		"    options: server_mac=02:00:00:00:00:fe\ndhcp options " + id6 + " (fd00::/64)\n    options: server_id=02:00:00:00:00:fe\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks\n%s\nin\n%s", want, out)
		}
	}
	var m topology.Model
	json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "show")), &m)
	if len(m.DHCPOptions) != 2 || len(m.DNSRecords) != 3 || m.Port("p1").DHCPv6Options != id6 {
		t.Errorf("show -o json: %d DHCP options, %d DNS records, p1 %+v", len(m.DHCPOptions), len(m.DNSRecords), m.Port("p1"))
	}
}

// Every edit verb does what it says: set-options replaces all options,
// no id clears a port's, dns-add replaces a record.
func TestServicesEdits(t *testing.T) {
	db, id4, id6 := servicesModel(t)
	get := func(args ...string) string { return mustCtl(t, db, args...) }
	mustCtl(t, db, "dhcp-options-set-options", id4, "server_id=10.0.0.1", "server_mac=02:00:00:00:00:01", "lease_time=60", "mtu=1400")
	if got := get("dhcp-options-get-options", id4); got != "lease_time=60\nmtu=1400\nserver_id=10.0.0.1\nserver_mac=02:00:00:00:00:01\n" {
		t.Errorf("after set-options:\n%s", got)
	}
	mustCtl(t, db, "lsp-set-dhcpv6-options", "p1")
	mustCtl(t, db, "lsp-set-dhcpv6-options", "p2", id6)
	if got := get("lsp-get-dhcpv6-options", "p1") + get("lsp-get-dhcpv6-options", "p2"); got != id6+" (fd00::/64)\n" {
		t.Errorf("after moving the IPv6 options: %q", got)
	}
	mustCtl(t, db, "dns-add", "sw0", "vm1", "10.0.0.11")
	mustCtl(t, db, "dns-del", "sw0", "DB.example.org")
	if got := get("dns-list", "sw0"); got != "vm1 10.0.0.11\n" {
		t.Errorf("after dns-add over a record and dns-del:\n%s", got)
	}
	mustCtl(t, db, "lsp-set-dhcpv6-options", "p2", "--", "dhcp-options-del", id6)
	if got := get("dhcp-options-list"); got != id4+"\n" {
		t.Errorf("after dhcp-options-del: %q", got)
	}
	mustCtl(t, db, "lsp-del", "p3", "--", "dns-del", "sw1", "vm3", "--", "ls-del", "sw1")
}

// Every refused command names what and why, and leaves the file as it was.
func TestServicesErrors(t *testing.T) {
	db, id4, id6 := servicesModel(t)
	before, _ := os.ReadFile(db)
	v4 := strings.Fields(v4Opts)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append([]string{"dhcp-options-create", "10.0.0.1/24"}, v4...), `CIDR "10.0.0.1/24" has host bits set (the subnet is 10.0.0.0/24)`},
		{append([]string{"dhcp-options-create", "10.0.0.0/0"}, v4...), `CIDR "10.0.0.0/0" covers every address (want a prefix length 1..32)`},
		{append([]string{"dhcp-options-create", "10.0.0.0"}, v4...), `CIDR "10.0.0.0" is not an IPv4 or IPv6 prefix`},
		{[]string{"dhcp-options-create", "10.0.0.0/24"}, `option server_id is missing (DHCPv4 options need server_id, server_mac, lease_time)`},
		{[]string{"dhcp-options-create", "fd00::/64", "dns_server=fd00::53"}, `option server_id is missing (DHCPv6 options need server_id)`},
		{append([]string{"dhcp-options-create", "10.0.0.0/24", "lease_time=x"}, v4[:2]...), `option lease_time="x": want a number in 1..4294967295`},
		{append([]string{"dhcp-options-create", "10.0.0.0/24", "T1=5"}, v4...), `option "T1" is not a DHCPv4 option chainwire knows (known: dns_server, domain_name`},
		{append([]string{"dhcp-options-create", "10.0.0.0/24", "mtu"}, v4...), `option "mtu": want KEY=VALUE`},
		{append([]string{"dhcp-options-create", "10.0.0.0/24", "lease_time=5"}, v4...), `option "lease_time=3600": lease_time is given twice`},
		{append([]string{"dhcp-options-create", "10.0.0.0/24", "dns_server={10.0.0.1, fd00::1}"}, v4...), `option dns_server="{10.0.0.1, fd00::1}": "fd00::1": not an IPv4 address`},
		{[]string{"dhcp-options-create", "fd00::/64", "server_id=10.0.0.1"}, `option server_id="10.0.0.1": "10.0.0.1" is not an Ethernet address`},
		{[]string{"dhcp-options-create"}, `usage: chainctl dhcp-options-create CIDR [KEY=VALUE...]`},
		{[]string{"dhcp-options-set-options", "nope", "server_id=02:00:00:00:00:01"}, `DHCP options "nope": does not exist`},
		{[]string{"dhcp-options-set-options", id4, "server_id=10.0.0.1"}, `DHCP options "` + id4 + `": option server_mac is missing`},
		{[]string{"dhcp-options-set-options", id4}, `usage: chainctl dhcp-options-set-options ID KEY=VALUE...`},
		{[]string{"dhcp-options-get-options", "nope"}, `DHCP options "nope": does not exist`},
		{[]string{"dhcp-options-del", id4}, `DHCP options "` + id4 + `": port "p1" uses them`},
		{[]string{"lsp-set-dhcpv4-options", "p1", "--", "dhcp-options-del", id4}, `DHCP options "` + id4 + `": port "p2" uses them`},
		{[]string{"dhcp-options-del", "nope"}, `DHCP options "nope": does not exist`},
		{[]string{"dhcp-options-list", "x"}, `usage: chainctl dhcp-options-list`},
		{[]string{"lsp-set-dhcpv4-options", "p3", id6}, `port "p3": dhcpv4_options: DHCP options "` + id6 + `" are for fd00::/64, not an IPv4 prefix`},
		{[]string{"lsp-set-dhcpv6-options", "p3", id4}, `port "p3": dhcpv6_options: DHCP options "` + id4 + `" are for 10.0.0.0/24, not an IPv6 prefix`},
		{[]string{"lsp-set-dhcpv6-options", "p3", "nope"}, `port "p3": dhcpv6_options: DHCP options "nope" do not exist`},
		{[]string{"lsp-set-dhcpv4-options", "p9", id4}, `port "p9": does not exist`},
		{[]string{"lsp-set-dhcpv4-options", "p1", id4, id4}, `usage: chainctl lsp-set-dhcpv4-options PORT [ID]`},
		{[]string{"lsp-get-dhcpv4-options", "p9"}, `port "p9": does not exist`},
		{[]string{"dns-add", "nosw", "vm1", "10.0.0.1"}, `switch "nosw": does not exist`},
		{[]string{"dns-add", "sw0", "vm_1", "10.0.0.1"}, `DNS record "sw0/vm_1": hostname "vm_1": label "vm_1": want letters, digits and '-'`},
		{[]string{"dns-add", "sw0", "vm1.", "10.0.0.1"}, `DNS record "sw0/vm1.": hostname "vm1.": label "": want 1 to 63 characters between dots`},
		{[]string{"dns-add", "sw0", "vm9", "10.0.0.1/24"}, `DNS record "sw0/vm9": address "10.0.0.1/24": not an IPv4 or IPv6 address`},
		{[]string{"dns-add", "sw0", "vm9", "fd00::9", "fd00:0::9"}, `DNS record "sw0/vm9": addresses "fd00:0::9" and "fd00::9" are the same`},
		{[]string{"dns-add", "sw0", "vm9"}, `usage: chainctl dns-add SWITCH HOSTNAME ADDR...`},
		{[]string{"dns-del", "sw0", "nope"}, `DNS record "sw0/nope": does not exist`},
		{[]string{"dns-del", "nosw", "vm1"}, `switch "nosw": does not exist`},
		{[]string{"dns-list", "nosw"}, `switch "nosw": does not exist`},
		{[]string{"dns-list", "sw0", "--", "dns-list", "sw1"}, `only commands that change the model can be joined with --`},
		{[]string{"lsp-del", "p3", "--", "ls-del", "sw1"}, `switch "sw1": DNS record "sw1/vm3" belongs to it`},
	} {
		out, err, ok := refusedCmd(t, db, before, tc.args)
		if ok && (!strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") || out != "") {
			t.Errorf("chainctl %v: error %q, printed %q; want one line containing %q", tc.args, err, out, tc.want)
		}
	}
}

// --wait waits for the switches whose answers a change touches: a
// record's, those of the ports that use changed options.
func TestServicesChangedSwitches(t *testing.T) {
	db, id4, _ := servicesModel(t)
	mustCtl(t, db, "lsp-add", "sw1", "p4", "--", "lsp-set-dhcpv4-options", "p4", id4)
	base, err := topology.NewFileStore(db).Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		edit func(m *topology.Model)
		want string
	}{
		{func(m *topology.Model) { m.DNSRecord("sw1/vm3").Addresses = []string{"10.0.1.4"} }, "sw1"},
		{func(m *topology.Model) { m.DHCPOption(id4).Options["mtu"] = "1400" }, "sw0 sw1"},
		{func(m *topology.Model) { m.Port("p2").DHCPv4Options = "" }, "sw0"},
	} {
		if got := changedAfter(base, c.edit); got != c.want {
			t.Errorf("changed switches %v, want %s", got, c.want)
		}
	}
}
