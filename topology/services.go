package topology

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// DHCPOptions is a set of DHCP options for ports of one subnet (OVN's
// DHCP_Options).
type DHCPOptions struct {
	Name    string            `json:"name"` // its id: a UUID chainctl generates (ovn-nbctl prints one too)
	CIDR    string            `json:"cidr"` // IPv4 or IPv6 prefix, e.g. 10.0.0.0/24 or fd00::/64
	Options map[string]string `json:"options,omitempty"`
}

// DNSRecord is one host name of a switch and its addresses (OVN's DNS
// records).
type DNSRecord struct {
	Name      string   `json:"name"` // "SWITCH/HOSTNAME" (unique; derived)
	Switch    string   `json:"switch"`
	Hostname  string   `json:"hostname"`  // lower-case DNS name, e.g. vm1 or vm1.example.org
	Addresses []string `json:"addresses"` // IPv4/IPv6 addresses, sorted by Normalize
}

// DHCPOption and DNSRecord return the named object, or nil.
func (m *Model) DHCPOption(name string) *DHCPOptions { return find(m.DHCPOptions, name) }
func (m *Model) DNSRecord(name string) *DNSRecord    { return find(m.DNSRecords, name) }

// DNSRecordName is the name of a switch's record of a host name.
func DNSRecordName(sw, hostname string) string { return sw + "/" + hostname }

// IsIPv6 reports whether the options are for an IPv6 prefix (DHCPv6);
// false for IPv4 ones and for a CIDR that does not parse.
func (o *DHCPOptions) IsIPv6() bool {
	p, err := netip.ParsePrefix(o.CIDR)
	return err == nil && p.Addr().Is6()
}

// DHCPv4Keys and DHCPv6Keys are the option keys chainwire knows (OVN's,
// a subset), sorted.
var (
	DHCPv4Keys = slices.Sorted(maps.Keys(dhcpv4Values))
	DHCPv6Keys = slices.Sorted(maps.Keys(dhcpv6Values))
)

// The keys a set of options must have: OVN answers no request without
// them.
var (
	dhcpv4Required = []string{"server_id", "server_mac", "lease_time"}
	dhcpv6Required = []string{"server_id"}
)

// dhcpv4Values and dhcpv6Values check the value of each known key.
var (
	dhcpv4Values = map[string]func(string) error{
		"server_id":   func(v string) error { return checkIP(v, false) },
		"server_mac":  checkServerMAC,
		"lease_time":  func(v string) error { return checkRange(v, 1, 1<<32-1) },
		"router":      func(v string) error { return checkIP(v, false) },
		"dns_server":  func(v string) error { return checkIPSet(v, false) },
		"domain_name": checkDomainName,
		"mtu":         func(v string) error { return checkRange(v, 68, 65535) },
	}
	dhcpv6Values = map[string]func(string) error{
		"server_id":        checkServerMAC, // OVN makes the server's DUID of it
		"dns_server":       func(v string) error { return checkIPSet(v, true) },
		"dhcpv6_stateless": checkBool,
	}
)

// MaxHostname is the longest DNS name written out (RFC 1035's 255 bytes
// on the wire).
const MaxHostname = 253

var dhcpOptionsKind = &kind[DHCPOptions]{id: KindDHCPOptions, name: "DHCP options",
	model:   func(m *Model) *[]DHCPOptions { return &m.DHCPOptions },
	changes: func(c *Changes) *map[string]*DHCPOptions { return &c.DHCPOptions },
	objects: func(ix *Index) *map[string]*DHCPOptions { return &ix.dhcpOptions },
	equal: func(a, b *DHCPOptions) bool {
		return a.Name == b.Name && a.CIDR == b.CIDR && maps.Equal(a.Options, b.Options)
	},
	clone:  func(o DHCPOptions) DHCPOptions { o.Options = maps.Clone(o.Options); return o },
	refs:   func(*DHCPOptions, func(Kind, string)) {},
	claims: func(*DHCPOptions, func(claim)) {},
}

var dnsRecordKind = &kind[DNSRecord]{id: KindDNSRecord, name: "DNS record",
	model:   func(m *Model) *[]DNSRecord { return &m.DNSRecords },
	changes: func(c *Changes) *map[string]*DNSRecord { return &c.DNSRecords },
	objects: func(ix *Index) *map[string]*DNSRecord { return &ix.dnsRecords },
	equal: func(a, b *DNSRecord) bool {
		return a.Name == b.Name && a.Switch == b.Switch && a.Hostname == b.Hostname && slices.Equal(a.Addresses, b.Addresses)
	},
	clone:       func(r DNSRecord) DNSRecord { r.Addresses = slices.Clone(r.Addresses); return r },
	refs:        func(r *DNSRecord, ref func(Kind, string)) { ref(KindSwitch, r.Switch) },
	claims:      func(*DNSRecord, func(claim)) {},
	derivedName: true,
}

func checkDHCPOptions(v *validation, o *DHCPOptions) error {
	p, err := netip.ParsePrefix(o.CIDR)
	switch {
	case err != nil:
		return fail(KindDHCPOptions, o.Name, "CIDR %s is not an IPv4 or IPv6 prefix (e.g. 10.0.0.0/24 or fd00::/64)", Quote(o.CIDR))
	case p.Addr().Is4In6():
		return fail(KindDHCPOptions, o.Name, "CIDR %s is an IPv4-mapped IPv6 prefix: give IPv4 ones in IPv4 form", Quote(o.CIDR))
	case p.Bits() == 0:
		return fail(KindDHCPOptions, o.Name, "CIDR %s covers every address (want a prefix length 1..%d)", Quote(o.CIDR), p.Addr().BitLen())
	case p != p.Masked():
		return fail(KindDHCPOptions, o.Name, "CIDR %s has host bits set (the subnet is %s)", Quote(o.CIDR), p.Masked())
	}
	family, keys, values, required := "DHCPv4", DHCPv4Keys, dhcpv4Values, dhcpv4Required
	if p.Addr().Is6() {
		family, keys, values, required = "DHCPv6", DHCPv6Keys, dhcpv6Values, dhcpv6Required
	}
	for _, k := range slices.Sorted(maps.Keys(o.Options)) {
		check, known := values[k]
		if !known {
			return fail(KindDHCPOptions, o.Name, "option %s is not a %s option chainwire knows (known: %s)", Quote(k), family, strings.Join(keys, ", "))
		}
		if err := check(o.Options[k]); err != nil {
			return fail(KindDHCPOptions, o.Name, "option %s=%s: %v", k, Quote(o.Options[k]), err)
		}
	}
	for _, k := range required {
		if _, ok := o.Options[k]; !ok {
			return fail(KindDHCPOptions, o.Name, "option %s is missing (%s options need %s)", k, family, strings.Join(required, ", "))
		}
	}
	return nil
}

// checkPortDHCP checks the options a port names: they exist and are of
// the family the field is for. It runs after the options' own rule, so
// their CIDR parses.
func checkPortDHCP(v *validation, p *Port) error {
	for _, f := range [2]struct {
		field, id string
		v6        bool
	}{{"dhcpv4_options", p.DHCPv4Options, false}, {"dhcpv6_options", p.DHCPv6Options, true}} {
		if f.id == "" {
			continue
		}
		o := v.dhcpOptions[f.id]
		switch {
		case o == nil && v.deleted(Ref{KindDHCPOptions, f.id}):
			return fail(KindDHCPOptions, f.id, "port %s uses them", Quote(p.Name))
		case o == nil:
			return fail(KindPort, p.Name, "%s: DHCP options %s do not exist", f.field, Quote(f.id))
		case o.IsIPv6() != f.v6:
			return fail(KindPort, p.Name, "%s: DHCP options %s are for %s, not an %s prefix", f.field, Quote(f.id), o.CIDR, ipFamily(f.v6))
		}
	}
	return nil
}

func ipFamily(v6 bool) string {
	if v6 {
		return "IPv6"
	}
	return "IPv4"
}

func checkDNSRecord(v *validation, r *DNSRecord) error {
	self := Ref{KindDNSRecord, r.Name}
	if v.switches[r.Switch] == nil {
		return v.missing(Ref{KindSwitch, r.Switch}, self, "belongs to it")
	}
	if err := checkDNSName(r.Hostname, false); err != nil {
		return fail(KindDNSRecord, r.Name, "hostname %s: %v", Quote(r.Hostname), err)
	}
	if want := DNSRecordName(r.Switch, r.Hostname); r.Name != want {
		return fail(KindDNSRecord, r.Name, "the name must be %s (SWITCH/HOSTNAME)", Quote(want))
	}
	if len(r.Addresses) == 0 {
		return fail(KindDNSRecord, r.Name, "has no addresses (give at least one IPv4 or IPv6 address)")
	}
	seen := make(map[netip.Addr]string, len(r.Addresses))
	for _, a := range r.Addresses {
		ip, err := parseIP(a)
		if err != nil {
			return fail(KindDNSRecord, r.Name, "address %s: %v", Quote(a), err)
		}
		if first, dup := seen[ip]; dup {
			return fail(KindDNSRecord, r.Name, "addresses %s and %s are the same", Quote(first), Quote(a))
		}
		seen[ip] = a
	}
	return nil
}

// checkDNSName checks a DNS name: 1..MaxHostname characters in labels
// of 1..63 letters, digits and hyphens, neither first nor last in a
// label. Letters are lower-case unless anyCase: a host name is looked up
// without case, so it has one spelling.
func checkDNSName(name string, anyCase bool) error {
	if len(name) == 0 || len(name) > MaxHostname {
		return fmt.Errorf("want 1 to %d characters", MaxHostname)
	}
	for _, label := range strings.Split(name, ".") {
		switch {
		case len(label) == 0 || len(label) > 63:
			return fmt.Errorf("label %s: want 1 to 63 characters between dots", Quote(label))
		case label[0] == '-' || label[len(label)-1] == '-':
			return fmt.Errorf("label %s begins or ends with '-'", Quote(label))
		}
		for _, c := range label {
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			case c >= 'A' && c <= 'Z' && anyCase:
			case c >= 'A' && c <= 'Z':
				return fmt.Errorf("has upper-case letters (names are looked up without case: write it in lower case)")
			default:
				return fmt.Errorf("label %s: want letters, digits and '-'", Quote(label))
			}
		}
	}
	return nil
}

// parseIP parses one IPv4 or IPv6 address, without zone or IPv4-mapped
// form (each address has one spelling that names it).
func parseIP(s string) (netip.Addr, error) {
	ip, err := netip.ParseAddr(s)
	if err != nil || ip.Zone() != "" || ip.Is4In6() {
		return netip.Addr{}, fmt.Errorf("not an IPv4 or IPv6 address")
	}
	return ip, nil
}

func checkIP(s string, v6 bool) error {
	ip, err := parseIP(s)
	if err != nil || ip.Is6() != v6 {
		return fmt.Errorf("not an %s address", ipFamily(v6))
	}
	return nil
}

// checkIPSet checks one address or OVN's set of them, "{a, b}".
func checkIPSet(s string, v6 bool) error {
	inner, isSet := strings.CutPrefix(s, "{")
	if !isSet {
		return checkIP(s, v6)
	}
	inner, closed := strings.CutSuffix(inner, "}")
	ips := strings.FieldsFunc(inner, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	switch {
	case !closed:
		return fmt.Errorf("a set opened with '{' must end with '}'")
	case len(ips) == 0:
		return fmt.Errorf("an empty set")
	}
	for _, ip := range ips {
		if err := checkIP(ip, v6); err != nil {
			return fmt.Errorf("%s: %v", Quote(ip), err)
		}
	}
	return nil
}

func checkServerMAC(s string) error {
	_, err := ParseUnicastMAC(s)
	return err
}

func checkRange(s string, lo, hi uint64) error {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n < lo || n > hi {
		return fmt.Errorf("want a number in %d..%d", lo, hi)
	}
	return nil
}

func checkBool(s string) error {
	if s != "true" && s != "false" {
		return fmt.Errorf("want true or false")
	}
	return nil
}

// checkDomainName takes a domain name as OVN writes it, quoted
// ("example.org"), or bare.
func checkDomainName(s string) error {
	if q, ok := strings.CutPrefix(s, `"`); ok {
		var closed bool
		if s, closed = strings.CutSuffix(q, `"`); !closed {
			return fmt.Errorf("a quote opened must be closed")
		}
	}
	return checkDNSName(s, true)
}
