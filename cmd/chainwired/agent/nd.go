package agent

import (
	"fmt"
	"net"
)

// Neighbour advertisements for solicitations ls_in_arp_rsp sends up
// (userdata: OpNDAdvert, the MAC and the address), built as
// ovn-controller's nd_na builds them: solicited and override set, the
// target link-layer address option carrying the MAC, sent to the
// soliciting address and MAC.

const (
	icmp6NS        = 135
	icmp6NA        = 136
	ndFlagSolicit  = 0x40000000
	ndFlagOverride = 0x20000000
	ndOptTargetLL  = 2
)

// ndAdvert answers the solicitation b with the advertisement userdata
// asks for, or says why it gets none.
func ndAdvert(b, userdata []byte) ([]byte, error) {
	if len(userdata) != 1+6+16 {
		return nil, fmt.Errorf("userdata of %d bytes", len(userdata))
	}
	mac, target := net.HardwareAddr(userdata[1:7]), net.IP(userdata[7:23])
	if len(b) < ethHeader+ipv6Header+24 || be.Uint16(b[12:]) != 0x86dd {
		return nil, fmt.Errorf("not an IPv6 frame of a solicitation's size")
	}
	ip := b[ethHeader:]
	src := net.IP(ip[8:24])
	icmp := ip[ipv6Header:]
	switch {
	case ip[6] != protoICMPv6 || icmp[0] != icmp6NS:
		return nil, fmt.Errorf("not a neighbour solicitation")
	case !net.IP(icmp[8:24]).Equal(target):
		return nil, fmt.Errorf("solicits %s, not %s", net.IP(icmp[8:24]), target)
	case src.IsUnspecified() || src.IsMulticast():
		return nil, fmt.Errorf("from %s", src)
	}
	na := make([]byte, 32)
	na[0] = icmp6NA
	be.PutUint32(na[4:], ndFlagSolicit|ndFlagOverride)
	copy(na[8:24], target.To16())
	na[24], na[25] = ndOptTargetLL, 1
	copy(na[26:32], mac)
	return ipFrame(mac, net.HardwareAddr(b[6:12]), target, src, protoICMPv6, na), nil
}
