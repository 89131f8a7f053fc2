package main

import (
	"crypto/rand"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/chainwire/chainwire/topology"
)

// The switch services' verbs: DHCP options, the ports that use them, and
// DNS records, with ovn-nbctl's names where it has the verb (its
// dhcp-options-create takes external ids where this one takes the
// options).
func init() {
	for name, v := range map[string]verb{
		"dhcp-options-create": {usage: "CIDR [KEY=VALUE...]", help: "create DHCP options for a subnet and print their id (" + dhcpKeysHelp + ")",
			min: 1, max: -1, write: dhcpCreate},
		"dhcp-options-set-options": {usage: "ID KEY=VALUE...", help: "replace all of the DHCP options' options", min: 2, max: -1, write: dhcpSetOptions},
		"dhcp-options-get-options": {usage: "ID", help: "print the DHCP options' options, KEY=VALUE", min: 1, max: 1, read: dhcpGetOptions},
		"dhcp-options-del":         {usage: "ID", help: "delete DHCP options (no port may use them)", min: 1, max: 1, write: dhcpDel},
		"dhcp-options-list":        {usage: "", help: "list the ids of all DHCP options, by CIDR", min: 0, max: 0, read: dhcpList},
		"lsp-set-dhcpv4-options": {usage: "PORT [ID]", help: "set the DHCP options (IPv4 ones) for the port's requests; no ID clears them",
			min: 1, max: 2, write: lspSetDHCP(false)},
		"lsp-set-dhcpv6-options": {usage: "PORT [ID]", help: "set the DHCP options (IPv6 ones) for the port's requests; no ID clears them",
			min: 1, max: 2, write: lspSetDHCP(true)},
		"lsp-get-dhcpv4-options": {usage: "PORT", help: "print the port's DHCPv4 options, ID (CIDR)", min: 1, max: 1, read: lspGetDHCP(false)},
		"lsp-get-dhcpv6-options": {usage: "PORT", help: "print the port's DHCPv6 options, ID (CIDR)", min: 1, max: 1, read: lspGetDHCP(true)},
		"dns-add": {usage: "SWITCH HOSTNAME ADDR...", help: "add (or replace) a host name of a switch and its IPv4/IPv6 addresses",
			min: 3, max: -1, write: dnsAdd},
		"dns-del":  {usage: "SWITCH HOSTNAME", help: "delete a host name of a switch", min: 2, max: 2, write: dnsDel},
		"dns-list": {usage: "SWITCH", help: "list a switch's host names with their addresses", min: 1, max: 1, read: dnsList},
	} {
		verbs[name] = v
	}
}

var dhcpKeysHelp = "IPv4: " + strings.Join(topology.DHCPv4Keys, ", ") + "; IPv6: " + strings.Join(topology.DHCPv6Keys, ", ")

// newUUID is a random (version 4) UUID, as ovn-nbctl prints for new rows.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// parseOptions reads KEY=VALUE arguments; a key given twice is refused.
func parseOptions(args []string) (map[string]string, error) {
	opts := map[string]string{}
	for _, kv := range args {
		k, v, ok := strings.Cut(kv, "=")
		switch _, seen := opts[k]; {
		case !ok || k == "":
			return nil, &topology.Error{What: "option " + topology.Quote(kv), Why: "want KEY=VALUE"}
		case seen:
			return nil, &topology.Error{What: "option " + topology.Quote(kv), Why: k + " is given twice"}
		}
		opts[k] = v
	}
	if len(opts) == 0 {
		return nil, nil
	}
	return opts, nil
}

func dhcpOptions(m *topology.Model, id string) (*topology.DHCPOptions, error) {
	o := m.DHCPOption(id)
	if o == nil {
		return nil, notFound("DHCP options", id)
	}
	return o, nil
}

func dhcpCreate(c *call, m *topology.Model) error {
	opts, err := parseOptions(c.args[1:])
	if err != nil {
		return err
	}
	if c.created == "" { // one id however often the transaction is tried
		c.created = newUUID()
	}
	m.DHCPOptions = append(m.DHCPOptions, topology.DHCPOptions{Name: c.created, CIDR: c.args[0], Options: opts})
	return nil
}

func dhcpSetOptions(c *call, m *topology.Model) error {
	o, err := dhcpOptions(m, c.args[0])
	if err != nil {
		return err
	}
	o.Options, err = parseOptions(c.args[1:])
	return err
}

func dhcpGetOptions(c *call, m *topology.Model, _ topology.Store) error {
	o, err := dhcpOptions(m, c.args[0])
	if err != nil {
		return err
	}
	if c.output == "json" {
		return c.printJSON(nonNilMap(o.Options))
	}
	for _, k := range slices.Sorted(maps.Keys(o.Options)) {
		fmt.Fprintf(c.out, "%s=%s\n", k, o.Options[k])
	}
	return nil
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func dhcpDel(c *call, m *topology.Model) error {
	id := c.args[0]
	if _, err := dhcpOptions(m, id); err != nil {
		return err
	}
	m.DHCPOptions = remove(m.DHCPOptions, func(o topology.DHCPOptions) bool { return o.Name == id })
	return nil
}

// byCIDR lists the DHCP options by subnet (IPv4 first), then by id (the
// model's order, which a stable sort keeps).
func byCIDR(m *topology.Model) []topology.DHCPOptions {
	out := slices.Clone(m.DHCPOptions)
	slices.SortStableFunc(out, func(a, b topology.DHCPOptions) int {
		pa, _ := netip.ParsePrefix(a.CIDR)
		pb, _ := netip.ParsePrefix(b.CIDR)
		return pa.Compare(pb)
	})
	return out
}

func dhcpList(c *call, m *topology.Model, _ topology.Store) error {
	list := byCIDR(m)
	if c.output == "json" {
		return c.printJSON(nonNil(list))
	}
	for _, o := range list {
		fmt.Fprintln(c.out, o.Name)
	}
	return nil
}

// dhcpField is the port's DHCPv4 or DHCPv6 options field.
func dhcpField(p *topology.Port, v6 bool) *string {
	if v6 {
		return &p.DHCPv6Options
	}
	return &p.DHCPv4Options
}

// lspSetDHCP sets (or, without an id, clears) a port's options; the
// model's rules check that they exist and are of the right family.
func lspSetDHCP(v6 bool) func(*call, *topology.Model) error {
	return func(c *call, m *topology.Model) error {
		p, err := c.port(m)
		if err != nil {
			return err
		}
		id := ""
		if len(c.args) == 2 {
			id = c.args[1]
		}
		*dhcpField(p, v6) = id
		return nil
	}
}

func lspGetDHCP(v6 bool) func(*call, *topology.Model, topology.Store) error {
	return func(c *call, m *topology.Model, _ topology.Store) error {
		p, err := c.port(m)
		if err != nil {
			return err
		}
		o := m.DHCPOption(*dhcpField(p, v6))
		if c.output == "json" {
			return c.printJSON(o)
		}
		if o != nil {
			fmt.Fprintln(c.out, dhcpLabel(o))
		}
		return nil
	}
}

// dhcpLabel is DHCP options as ovn-nbctl names them: "ID (CIDR)".
func dhcpLabel(o *topology.DHCPOptions) string { return fmt.Sprintf("%s (%s)", o.Name, o.CIDR) }

// dnsRecord is the record dns-add and dns-del name, without addresses:
// of an existing switch, the host name in lower case (names are looked
// up without case).
func dnsRecord(c *call, m *topology.Model) (topology.DNSRecord, error) {
	sw, host := c.args[0], strings.ToLower(c.args[1])
	if m.Switch(sw) == nil {
		return topology.DNSRecord{}, notFound("switch", sw)
	}
	return topology.DNSRecord{Name: topology.DNSRecordName(sw, host), Switch: sw, Hostname: host}, nil
}

func dnsAdd(c *call, m *topology.Model) error {
	r, err := dnsRecord(c, m)
	if err != nil {
		return err
	}
	r.Addresses = slices.Clone(c.args[2:])
	m.DNSRecords = append(remove(m.DNSRecords, func(o topology.DNSRecord) bool { return o.Name == r.Name }), r)
	return nil
}

func dnsDel(c *call, m *topology.Model) error {
	r, err := dnsRecord(c, m)
	if err != nil {
		return err
	}
	if m.DNSRecord(r.Name) == nil {
		return notFound("DNS record", r.Name)
	}
	m.DNSRecords = remove(m.DNSRecords, func(o topology.DNSRecord) bool { return o.Name == r.Name })
	return nil
}

// dnsOf lists a switch's records by host name.
func dnsOf(m *topology.Model, sw string) []topology.DNSRecord {
	var out []topology.DNSRecord
	for _, r := range m.DNSRecords {
		if r.Switch == sw {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b topology.DNSRecord) int { return strings.Compare(a.Hostname, b.Hostname) })
	return out
}

func dnsList(c *call, m *topology.Model, _ topology.Store) error {
	sw := c.args[0]
	if m.Switch(sw) == nil {
		return notFound("switch", sw)
	}
	records := dnsOf(m, sw)
	if c.output == "json" {
		return c.printJSON(nonNil(records))
	}
	for _, r := range records {
		fmt.Fprintln(c.out, r.Hostname, strings.Join(r.Addresses, " "))
	}
	return nil
}
