package topology_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/chainwire/chainwire/topology"
)

const (
	dhcp4 = "8d1f0e7c-3b0a-4c2e-9f4d-0a1b2c3d4e5f"
	dhcp6 = "5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c1b"
)

// servicesModel: DHCPv4 and DHCPv6 options, ports using them, DNS
// records on two switches.
func servicesModel() *topology.Model {
	m := &topology.Model{
		Switches: []topology.Switch{{Name: "sw0", Key: 1}, {Name: "sw1", Key: 2}},
		Ports: []topology.Port{
			{Name: "p1", Switch: "sw0", Key: 1, DHCPv4Options: dhcp4, DHCPv6Options: dhcp6},
			{Name: "p2", Switch: "sw0", Key: 2, DHCPv4Options: dhcp4},
			{Name: "p3", Switch: "sw1", Key: 1},
		},
		DHCPOptions: []topology.DHCPOptions{
			{Name: dhcp4, CIDR: "10.0.0.0/24", Options: map[string]string{"server_id": "10.0.0.254", "server_mac": "02:00:00:00:00:fe",
				"lease_time": "3600", "router": "10.0.0.1", "dns_server": "{10.0.0.53, 10.0.1.53}", "domain_name": `"example.org"`, "mtu": "1442"}},
			{Name: dhcp6, CIDR: "fd00::/64", Options: map[string]string{"server_id": "02:00:00:00:00:fe", "dns_server": "fd00::53",
				"dhcpv6_stateless": "true"}},
		},
		DNSRecords: []topology.DNSRecord{
			{Switch: "sw0", Hostname: "vm2.example.org", Addresses: []string{"10.0.0.2"}},
			{Switch: "sw0", Hostname: "vm1", Addresses: []string{"fd00::1", "10.0.0.1"}},
			{Switch: "sw1", Hostname: "vm1", Addresses: []string{"10.0.1.1"}},
		},
	}
	m.Normalize()
	return m
}

func dnsRecordName(r *topology.DNSRecord) string { return r.Name }

func TestServicesModelIndexed(t *testing.T) {
	m := servicesModel()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if r := m.DNSRecord("sw0/vm1"); r == nil || !slices.Equal(r.Addresses, []string{"10.0.0.1", "fd00::1"}) {
		t.Fatalf("Normalize: the record of vm1 on sw0 is %+v, want its name derived and its addresses sorted", r)
	}
	ix := mustIndex(t, m)
	for _, c := range []struct{ what, got, want string }{
		{"DNSRecordsOf(sw0)", joined(ix.DNSRecordsOf("sw0"), dnsRecordName), "sw0/vm1,sw0/vm2.example.org"},
		{"DNSRecordsOf(sw1)", joined(ix.DNSRecordsOf("sw1"), dnsRecordName), "sw1/vm1"},
		{"PortsUsingDHCPOptions(v4)", joined(ix.PortsUsingDHCPOptions(dhcp4), portName), "p1,p2"},
		{"PortsUsingDHCPOptions(v6)", joined(ix.PortsUsingDHCPOptions(dhcp6), portName), "p1"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if o := ix.DHCPOption(dhcp6); o == nil || !o.IsIPv6() || ix.DHCPOption(dhcp4).IsIPv6() || ix.DNSRecord("sw1/vm1") == nil {
		t.Errorf("lookups: %+v", o)
	}
}

// Every rule of the new kinds refuses what it must, naming the object.
func TestServicesRules(t *testing.T) {
	v4 := func(m *topology.Model) *topology.DHCPOptions { return m.DHCPOption(dhcp4) }
	v6 := func(m *topology.Model) *topology.DHCPOptions { return m.DHCPOption(dhcp6) }
	rec := func(m *topology.Model) *topology.DNSRecord { return m.DNSRecord("sw0/vm1") }
	for _, c := range []struct {
		edit func(m *topology.Model)
		want string
	}{
		{func(m *topology.Model) { v4(m).CIDR = "10.0.0.0" }, `DHCP options "` + dhcp4 + `": CIDR "10.0.0.0" is not an IPv4 or IPv6 prefix (e.g. 10.0.0.0/24 or fd00::/64)`},
		{func(m *topology.Model) { v4(m).CIDR = "10.0.0.0/33" }, `CIDR "10.0.0.0/33" is not an IPv4 or IPv6 prefix`},
		{func(m *topology.Model) { v4(m).CIDR = "10.0.0.1/24" }, `CIDR "10.0.0.1/24" has host bits set (the subnet is 10.0.0.0/24)`},
		{func(m *topology.Model) { v4(m).CIDR = "0.0.0.0/0" }, `CIDR "0.0.0.0/0" covers every address (want a prefix length 1..32)`},
		{func(m *topology.Model) { v6(m).CIDR = "::/0" }, `CIDR "::/0" covers every address (want a prefix length 1..128)`},
		{func(m *topology.Model) { v6(m).CIDR = "::ffff:10.0.0.0/120" }, `is an IPv4-mapped IPv6 prefix: give IPv4 ones in IPv4 form`},
		{func(m *topology.Model) { v4(m).Options["T1"] = "10" },
			`option "T1" is not a DHCPv4 option chainwire knows (known: dns_server, domain_name, lease_time, mtu, router, server_id, server_mac)`},
		{func(m *topology.Model) { v6(m).Options["router"] = "fd00::1" },
			`option "router" is not a DHCPv6 option chainwire knows (known: dhcpv6_stateless, dns_server, server_id)`},
		{func(m *topology.Model) { delete(v4(m).Options, "lease_time") },
			`DHCP options "` + dhcp4 + `": option lease_time is missing (DHCPv4 options need server_id, server_mac, lease_time)`},
		{func(m *topology.Model) { delete(v4(m).Options, "server_mac") }, `option server_mac is missing`},
		{func(m *topology.Model) { v6(m).Options = nil }, `option server_id is missing (DHCPv6 options need server_id)`},
		{func(m *topology.Model) { v4(m).Options["server_id"] = "fd00::1" }, `option server_id="fd00::1": not an IPv4 address`},
		{func(m *topology.Model) { v4(m).Options["server_mac"] = "01:00:00:00:00:01" }, `option server_mac="01:00:00:00:00:01": 01:00:00:00:00:01 is a multicast or broadcast address`},
		{func(m *topology.Model) { v4(m).Options["lease_time"] = "0" }, `option lease_time="0": want a number in 1..4294967295`},
		{func(m *topology.Model) { v4(m).Options["lease_time"] = "4294967296" }, `want a number in 1..4294967295`},
		{func(m *topology.Model) { v4(m).Options["router"] = "10.0.0.300" }, `option router="10.0.0.300": not an IPv4 address`},
		{func(m *topology.Model) { v4(m).Options["dns_server"] = "{10.0.0.53, fd00::53}" }, `option dns_server="{10.0.0.53, fd00::53}": "fd00::53": not an IPv4 address`},
		{func(m *topology.Model) { v4(m).Options["dns_server"] = "{10.0.0.53" }, `a set opened with '{' must end with '}'`},
		{func(m *topology.Model) { v4(m).Options["dns_server"] = "{}" }, `option dns_server="{}": an empty set`},
		{func(m *topology.Model) { v4(m).Options["domain_name"] = `"example.org` }, `option domain_name="\"example.org": a quote opened must be closed`},
		{func(m *topology.Model) { v4(m).Options["domain_name"] = "exa mple.org" }, `label "exa mple": want letters, digits and '-'`},
		{func(m *topology.Model) { v4(m).Options["mtu"] = "67" }, `option mtu="67": want a number in 68..65535`},
		{func(m *topology.Model) { v6(m).Options["server_id"] = "fd00::1" }, `option server_id="fd00::1": "fd00::1" is not an Ethernet address`},
		{func(m *topology.Model) { v6(m).Options["dns_server"] = "10.0.0.53" }, `option dns_server="10.0.0.53": not an IPv6 address`},
		{func(m *topology.Model) { v6(m).Options["dhcpv6_stateless"] = "yes" }, `option dhcpv6_stateless="yes": want true or false`},
		{func(m *topology.Model) { v4(m).Name = "bad name" }, `DHCP options "bad name": a name may hold only`},
		{func(m *topology.Model) { m.Port("p3").DHCPv4Options = "nope" }, `port "p3": dhcpv4_options: DHCP options "nope" do not exist`},
		{func(m *topology.Model) { m.Port("p3").DHCPv4Options = dhcp6 },
			`port "p3": dhcpv4_options: DHCP options "` + dhcp6 + `" are for fd00::/64, not an IPv4 prefix`},
		{func(m *topology.Model) { m.Port("p3").DHCPv6Options = dhcp4 },
			`port "p3": dhcpv6_options: DHCP options "` + dhcp4 + `" are for 10.0.0.0/24, not an IPv6 prefix`},
		{func(m *topology.Model) { rec(m).Switch = "nosw" }, `DNS record "sw0/vm1": switch "nosw" does not exist`},
		{func(m *topology.Model) { rec(m).Name = "sw0/vm9" }, `DNS record "sw0/vm9": the name must be "sw0/vm1" (SWITCH/HOSTNAME)`},
		{func(m *topology.Model) { rec(m).Hostname = "VM1" },
			`DNS record "sw0/vm1": hostname "VM1": has upper-case letters (names are looked up without case: write it in lower case)`},
		{func(m *topology.Model) { rec(m).Hostname = "" }, `hostname "": want 1 to 253 characters`},
		{func(m *topology.Model) { rec(m).Hostname = strings.Repeat("a.", 127) }, `want 1 to 253 characters`},
		{func(m *topology.Model) { rec(m).Hostname = strings.Repeat("a", 64) }, `want 1 to 63 characters between dots`},
		{func(m *topology.Model) { rec(m).Hostname = "vm1..example" }, `hostname "vm1..example": label "": want 1 to 63 characters between dots`},
		{func(m *topology.Model) { rec(m).Hostname = "vm1." }, `label "": want 1 to 63 characters between dots`},
		{func(m *topology.Model) { rec(m).Hostname = "-vm1" }, `label "-vm1" begins or ends with '-'`},
		{func(m *topology.Model) { rec(m).Hostname = "vm_1" }, `label "vm_1": want letters, digits and '-'`},
		{func(m *topology.Model) { rec(m).Addresses = nil }, `DNS record "sw0/vm1": has no addresses (give at least one IPv4 or IPv6 address)`},
		{func(m *topology.Model) { rec(m).Addresses = []string{"10.0.0.1/24"} }, `address "10.0.0.1/24": not an IPv4 or IPv6 address`},
		{func(m *topology.Model) { rec(m).Addresses = []string{"fe80::1%eth0"} }, `address "fe80::1%eth0": not an IPv4 or IPv6 address`},
		{func(m *topology.Model) { rec(m).Addresses = []string{"fd00::1", "fd00:0::01"} }, `addresses "fd00::1" and "fd00:0::01" are the same`},
		{func(m *topology.Model) { m.DNSRecords = append(m.DNSRecords, *rec(m)) }, `DNS record "sw0/vm1": already exists`},
	} {
		m := servicesModel()
		c.edit(m)
		err := m.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v\nwant %s", err, c.want)
		}
		if _, ierr := topology.NewIndex(m); fmt.Sprint(ierr) != fmt.Sprint(err) {
			t.Errorf("NewIndex: %v; Validate: %v", ierr, err)
		}
	}
	// Quoted or bare, in any case, a domain name is taken as given.
	m := servicesModel()
	m.DHCPOption(dhcp4).Options["domain_name"] = "Example.ORG"
	if err := m.Validate(); err != nil {
		t.Error(err)
	}
}

// applyServices is apply (acls_test.go) on the services model.
func applyServices(t *testing.T, edit func(m *topology.Model)) error {
	t.Helper()
	_, err := applyOn(t, servicesModel(), edit)
	return err
}

// Deleting what a port or a record needs is refused, naming the user; a
// change of the options' family is checked in the ports that use them.
func TestServicesReferencesHold(t *testing.T) {
	for _, c := range []struct {
		edit func(m *topology.Model)
		want string
	}{
		{func(m *topology.Model) {
			m.DHCPOptions = slices.DeleteFunc(m.DHCPOptions, func(o topology.DHCPOptions) bool { return o.Name == dhcp4 })
		}, `DHCP options "` + dhcp4 + `": port "p1" uses them`},
		{func(m *topology.Model) {
			m.Port("p1").DHCPv4Options = ""
			m.DHCPOptions = slices.DeleteFunc(m.DHCPOptions, func(o topology.DHCPOptions) bool { return o.Name == dhcp4 })
		}, `DHCP options "` + dhcp4 + `": port "p2" uses them`},
		{func(m *topology.Model) { m.DHCPOptions = m.DHCPOptions[:0] }, `port "p1" uses them`},
		{func(m *topology.Model) {
			o := m.DHCPOption(dhcp4)
			o.CIDR, o.Options = "fd01::/64", map[string]string{"server_id": "02:00:00:00:00:fe"}
		}, `port "p1": dhcpv4_options: DHCP options "` + dhcp4 + `" are for fd01::/64, not an IPv4 prefix`},
		{func(m *topology.Model) {
			m.Ports = slices.DeleteFunc(m.Ports, func(p topology.Port) bool { return p.Switch == "sw1" })
			m.Switches = m.Switches[:1]
		}, `switch "sw1": DNS record "sw1/vm1" belongs to it`},
	} {
		if err := applyServices(t, c.edit); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v\nwant %s", err, c.want)
		}
	}
	// Options no port uses go; a switch goes with its records.
	for _, ok := range []func(m *topology.Model){
		func(m *topology.Model) {
			m.Port("p1").DHCPv6Options = ""
			m.DHCPOptions = slices.DeleteFunc(m.DHCPOptions, func(o topology.DHCPOptions) bool { return o.Name == dhcp6 })
		},
		func(m *topology.Model) {
			m.Ports = slices.DeleteFunc(m.Ports, func(p topology.Port) bool { return p.Switch == "sw1" })
			m.DNSRecords = slices.DeleteFunc(m.DNSRecords, func(r topology.DNSRecord) bool { return r.Switch == "sw1" })
			m.Switches = m.Switches[:1]
		},
	} {
		if err := applyServices(t, ok); err != nil {
			t.Error(err)
		}
	}
}

// Copy, Diff, Merge and the JSON form keep every field of the new kinds.
func TestServicesRoundTrip(t *testing.T) {
	m := servicesModel()
	c, _ := topology.Copy(m)
	c.DHCPOption(dhcp4).Options["mtu"] = "1500"
	c.DNSRecord("sw0/vm1").Addresses[0] = "10.0.0.9"
	c.Port("p2").DHCPv4Options = ""
	if m.DHCPOption(dhcp4).Options["mtu"] != "1442" || m.DNSRecord("sw0/vm1").Addresses[0] != "10.0.0.1" {
		t.Fatal("Copy shares the objects' maps and slices")
	}
	d, err := topology.Decode(topology.Encode(servicesModel()))
	if err != nil || !reflect.DeepEqual(d, servicesModel()) {
		t.Fatalf("decoded %v\n%s", err, topology.Encode(d))
	}
	ch := topology.Diff(servicesModel(), c)
	if got := fmt.Sprint(ch.Refs()); got != `[port "p2" DHCP options "`+dhcp4+`" DNS record "sw0/vm1"]` {
		t.Errorf("diff %s", got)
	}
	ch.Merge(&topology.Changes{DNSRecords: map[string]*topology.DNSRecord{"sw0/vm1": nil}, DHCPOptions: map[string]*topology.DHCPOptions{dhcp6: nil}})
	if ch.DNSRecords["sw0/vm1"] != nil || len(ch.DHCPOptions) != 2 {
		t.Errorf("merged %v", ch.Refs())
	}
	// A stored record named otherwise than it derives is refused as read.
	b := strings.Replace(string(topology.Encode(servicesModel())), `"name": "sw1/vm1"`, `"name": "vm1"`, 1)
	if _, err := topology.Decode([]byte(b)); err == nil || !strings.Contains(err.Error(), `DNS record "vm1": the name must be "sw1/vm1"`) {
		t.Errorf("a record under another name: %v", err)
	}
}
