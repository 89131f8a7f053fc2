package pipeline

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// The data a DHCP answer needs travels in the userdata of the flow that
// sends a port's request to chainwired, as ovn-northd's put_dhcp_opts
// carries it: chainwired answers from the packet alone.

// DHCPv4Userdata is what a port's DHCPv4 flow carries: [OpDHCPv4, server
// MAC (6), server address (4), the port's address (4), options in wire
// form (code, length, value; message type excluded)].
type DHCPv4Userdata struct {
	ServerMAC       net.HardwareAddr
	ServerIP, Offer net.IP
	Options         []byte
}

// Bytes encodes the userdata.
func (u DHCPv4Userdata) Bytes() []byte {
	b := append([]byte{OpDHCPv4}, u.ServerMAC...)
	b = append(append(b, u.ServerIP.To4()...), u.Offer.To4()...)
	return append(b, u.Options...)
}

// ParseDHCPv4Userdata reads a DHCPv4 flow's userdata.
func ParseDHCPv4Userdata(b []byte) (DHCPv4Userdata, error) {
	if len(b) < 15 || b[0] != OpDHCPv4 {
		return DHCPv4Userdata{}, fmt.Errorf("DHCPv4 userdata of %d bytes", len(b))
	}
	return DHCPv4Userdata{ServerMAC: net.HardwareAddr(b[1:7]), ServerIP: net.IP(b[7:11]), Offer: net.IP(b[11:15]), Options: b[15:]}, nil
}

// DHCPv6Userdata is what a port's DHCPv6 flow carries: [OpDHCPv6, server
// MAC (6), stateless (1), the port's address (16; zero when stateless),
// options in wire form (code, length, value: DNS servers)].
type DHCPv6Userdata struct {
	ServerMAC net.HardwareAddr
	Stateless bool
	Offer     net.IP
	Options   []byte
}

// Bytes encodes the userdata.
func (u DHCPv6Userdata) Bytes() []byte {
	b := append([]byte{OpDHCPv6}, u.ServerMAC...)
	st := byte(0)
	if u.Stateless {
		st = 1
	}
	b = append(b, st)
	offer := make([]byte, 16)
	if u.Offer != nil {
		copy(offer, u.Offer.To16())
	}
	return append(append(b, offer...), u.Options...)
}

// ParseDHCPv6Userdata reads a DHCPv6 flow's userdata.
func ParseDHCPv6Userdata(b []byte) (DHCPv6Userdata, error) {
	if len(b) < 24 || b[0] != OpDHCPv6 {
		return DHCPv6Userdata{}, fmt.Errorf("DHCPv6 userdata of %d bytes", len(b))
	}
	return DHCPv6Userdata{ServerMAC: net.HardwareAddr(b[1:7]), Stateless: b[7] == 1, Offer: net.IP(b[8:24]), Options: b[24:]}, nil
}

// DHCPv4 option codes (RFC 2132).
const (
	dhcp4Mask       = 1
	dhcp4Router     = 3
	dhcp4DNS        = 6
	dhcp4DomainName = 15
	dhcp4MTU        = 26
	dhcp4LeaseTime  = 51
	dhcp4ServerID   = 54
	dhcp4Renewal    = 58
	dhcp4Rebinding  = 59
)

// dhcpv4Options encodes a set's options for a port in the subnet cidr,
// in code order. Validation has checked every value.
func dhcpv4Options(cidr netip.Prefix, opts map[string]string) []byte {
	var b []byte
	put := func(code byte, v []byte) { b = append(append(b, code, byte(len(v))), v...) }
	put(dhcp4Mask, net.CIDRMask(cidr.Bits(), 32))
	if r, ok := opts["router"]; ok {
		put(dhcp4Router, addrList(r))
	}
	if d, ok := opts["dns_server"]; ok {
		put(dhcp4DNS, addrList(d))
	}
	if n, ok := opts["domain_name"]; ok {
		put(dhcp4DomainName, []byte(strings.Trim(n, `"`)))
	}
	if m, ok := opts["mtu"]; ok {
		v, _ := strconv.ParseUint(m, 10, 16)
		put(dhcp4MTU, []byte{byte(v >> 8), byte(v)})
	}
	lease, _ := strconv.ParseUint(opts["lease_time"], 10, 32)
	put(dhcp4LeaseTime, be32Bytes(uint32(lease)))
	put(dhcp4ServerID, net.ParseIP(opts["server_id"]).To4())
	put(dhcp4Renewal, be32Bytes(uint32(lease/2)))
	put(dhcp4Rebinding, be32Bytes(uint32(lease*7/8)))
	return b
}

// DHCPv6 option codes (RFC 8415, 3646).
const dhcp6DNS = 23

// dhcpv6Options encodes a v6 set's options (DNS servers).
func dhcpv6Options(opts map[string]string) []byte {
	d, ok := opts["dns_server"]
	if !ok {
		return nil
	}
	v := addrList(d)
	return append([]byte{0, dhcp6DNS, byte(len(v) >> 8), byte(len(v))}, v...)
}

// addrList is OVN's `{a, b}` (or a single address) as consecutive
// addresses in wire form, in the order given.
func addrList(s string) []byte {
	var b []byte
	for _, f := range strings.FieldsFunc(strings.Trim(s, "{}"), func(r rune) bool { return r == ',' || r == ' ' }) {
		ip := net.ParseIP(f)
		if v4 := ip.To4(); v4 != nil {
			b = append(b, v4...)
		} else if ip != nil {
			b = append(b, ip.To16()...)
		}
	}
	return b
}

func be32Bytes(v uint32) []byte { return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }
