package pipeline

import (
	"net"
	"net/netip"
	"strings"

	"github.com/chainwire/chainwire/topology"
)

// ls_in_dhcp_options sends a local port's DHCP requests to chainwired
// with everything the answer needs in the userdata (DHCPv4Userdata,
// DHCPv6Userdata), as ovn-northd's put_dhcp_opts flows do: only a port
// with DHCP options and an address in their subnet, only from its MAC.
// chainwired sends the answer back out of the port; the request itself
// goes no further. A port without options is not answered: its request
// floods as any broadcast does. The port's ARP requests for the DHCPv4
// server's address are answered with the server's MAC: a renewing client
// sends to the server by unicast.
//
// ls_in_dns_lookup pauses DNS queries on a switch with records and asks
// chainwired, which answers the names it knows and lets the rest go on
// unchanged.

const prioDHCP = 100

var ipv6AllDHCP = net.ParseIP("ff02::1:2")

// dhcpFlows renders a local port's DHCPv4 and DHCPv6 requests.
func dhcpFlows(rd *reader, p *portView) []Flow {
	if !p.local() || !p.enabled() || p.vnf {
		return nil
	}
	var out []Flow
	if o := rd.dhcpOptions(p.p.DHCPv4Options); o != nil && !o.IsIPv6() {
		out = append(out, dhcpv4Flows(p, o)...)
	}
	if o := rd.dhcpOptions(p.p.DHCPv6Options); o != nil && o.IsIPv6() {
		out = append(out, dhcpv6Flows(p, o)...)
	}
	return out
}

func (rd *reader) dhcpOptions(name string) *topology.DHCPOptions {
	if name == "" {
		return nil
	}
	rd.use(depDHCP, name)
	return rd.r.ix.DHCPOption(name)
}

// offerOf is the port's first address of the family in the subnet, and
// its MAC.
func offerOf(p *portView, cidr netip.Prefix) (net.HardwareAddr, net.IP, bool) {
	for _, a := range p.addrs {
		for _, ip := range a.IPs {
			if addr, ok := netip.AddrFromSlice(ip); ok && cidr.Contains(addr.Unmap()) {
				return a.MAC, ip, true
			}
		}
	}
	return nil, nil, false
}

func dhcpv4Flows(p *portView, o *topology.DHCPOptions) []Flow {
	cidr, err := netip.ParsePrefix(o.CIDR)
	if err != nil {
		return nil // validation refuses such a model
	}
	mac, ip, ok := offerOf(p, cidr)
	if !ok {
		return nil
	}
	serverMAC, err := net.ParseMAC(o.Options["server_mac"])
	server := net.ParseIP(o.Options["server_id"]).To4()
	if err != nil || server == nil {
		return nil
	}
	ud := DHCPv4Userdata{ServerMAC: serverMAC, ServerIP: server, Offer: ip.To4(), Options: dhcpv4Options(cidr, o.Options)}
	base := dpMatch(p.dp).With(LogInport, uint64(p.key)).WithMAC(FieldEthSrc, mac).With(FieldEthType, ethIPv4).
		With(FieldIPProto, protoUDP).With(FieldUDPSrc, 68).With(FieldUDPDst, 67)
	cookie := PortCookie(FeatureDHCP, p.dp, p.key)
	out := []Flow{{Stage: InARPRsp, Priority: prioRspAnsw, Cookie: cookie,
		Match:   arpRequest(p.dp, server).With(LogInport, uint64(p.key)).WithMasked(LogFlags, 0, FlagFromVNF),
		Actions: arpReply(serverMAC, server)}}
	for _, dst := range []net.IP{server, ipv4Broadcast} {
		out = append(out, Flow{Stage: InDHCPOptions, Priority: prioDHCP, Cookie: cookie,
			Match: base.WithBytes(FieldIPv4Dst, dst, nil), Actions: []Action{toChainwired(false, ud.Bytes()...)}})
	}
	return out
}

func dhcpv6Flows(p *portView, o *topology.DHCPOptions) []Flow {
	cidr, err := netip.ParsePrefix(o.CIDR)
	if err != nil {
		return nil
	}
	serverMAC, err := net.ParseMAC(o.Options["server_id"])
	if err != nil {
		return nil
	}
	ud := DHCPv6Userdata{ServerMAC: serverMAC, Stateless: o.Options["dhcpv6_stateless"] == "true", Options: dhcpv6Options(o.Options)}
	mac, ip, ok := offerOf(p, cidr)
	switch {
	case ok:
		ud.Offer = ip
	case ud.Stateless && len(p.macs) > 0:
		mac = p.macs[0]
	default:
		return nil
	}
	if ud.Stateless {
		ud.Offer = nil
	}
	return []Flow{{Stage: InDHCPOptions, Priority: prioDHCP, Cookie: PortCookie(FeatureDHCP, p.dp, p.key),
		Match: dpMatch(p.dp).With(LogInport, uint64(p.key)).WithMAC(FieldEthSrc, mac).With(FieldEthType, ethIPv6).
			WithBytes(FieldIPv6Dst, ipv6AllDHCP.To16(), nil).With(FieldIPProto, protoUDP).
			With(FieldUDPSrc, 546).With(FieldUDPDst, 547),
		Actions: []Action{toChainwired(false, ud.Bytes()...)}}}
}

// dnsLookup pauses a switch's DNS queries for chainwired while the
// switch has records; VNFs' frames pass (their workload's hop asked).
func dnsLookup(rd *reader, sw *topology.Switch) []Flow {
	rd.use(depDNS, sw.Name)
	if len(rd.r.ix.DNSRecordsOf(sw.Name)) == 0 {
		return nil
	}
	var out []Flow
	for _, ip := range ipFamilies {
		out = append(out, Flow{Stage: InDNSLookup, Priority: prioDHCP, Cookie: SwitchCookie(FeatureDHCP, sw.Key),
			Match: mergeMatch(dpMatch(sw.Key), ip).With(FieldIPProto, protoUDP).With(FieldUDPDst, 53).
				WithMasked(LogFlags, 0, FlagFromVNF),
			Actions: []Action{toChainwired(true, OpDNS), next(InDNSLookup)}})
	}
	return out
}

// dnsSwitch is the switch a DNS record's name ("SWITCH/HOST") belongs to.
func dnsSwitch(record string) string {
	sw, _, _ := strings.Cut(record, "/")
	return sw
}
