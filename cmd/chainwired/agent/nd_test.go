package agent

import (
	"bytes"
	"net"
	"testing"
)

// nsFrame is macA's solicitation of target from src, to target's
// solicited-node group, with a source link-layer address option.
func nsFrame(src, target net.IP) []byte {
	ns := make([]byte, 32)
	ns[0] = icmp6NS
	copy(ns[8:24], target.To16())
	ns[24], ns[25] = 1, 1
	copy(ns[26:], macA)
	group := net.ParseIP("ff02::1:ff00:0")
	copy(group[13:], target.To16()[13:])
	return ipFrame(macA, net.HardwareAddr{0x33, 0x33, 0xff, 0, 0, 2}, src, group, protoICMPv6, ns)
}

func TestNDAdvert(t *testing.T) {
	target, src := net.ParseIP("fd00::2"), net.ParseIP("fd00::1")
	userdata := append(append([]byte{4}, macB...), target.To16()...)
	na, err := ndAdvert(nsFrame(src, target), userdata)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(na[0:6], macA) || !bytes.Equal(na[6:12], macB) {
		t.Fatalf("advertisement goes %x -> %x, want macB -> macA", na[6:12], na[0:6])
	}
	ip := na[ethHeader:]
	if !net.IP(ip[8:24]).Equal(target) || !net.IP(ip[24:40]).Equal(src) || ip[7] != 255 {
		t.Fatalf("advertisement from %s to %s, hop limit %d", net.IP(ip[8:24]), net.IP(ip[24:40]), ip[7])
	}
	icmp := ip[ipv6Header:]
	if icmp[0] != icmp6NA || be.Uint32(icmp[4:]) != ndFlagSolicit|ndFlagOverride || !net.IP(icmp[8:24]).Equal(target) ||
		icmp[24] != ndOptTargetLL || !bytes.Equal(icmp[26:32], macB) {
		t.Fatalf("advertisement body %x", icmp)
	}
	if sum := checksum(icmp, pseudoSum(target, src, protoICMPv6, len(icmp))); sum != 0 {
		t.Errorf("ICMPv6 checksum does not verify (%04x)", sum)
	}
}

func TestNDAdvertRefuses(t *testing.T) {
	target := net.ParseIP("fd00::2")
	userdata := append(append([]byte{4}, macB...), target.To16()...)
	for name, frame := range map[string][]byte{
		"DAD (from ::)":      nsFrame(net.IPv6unspecified, target),
		"another target":     nsFrame(net.ParseIP("fd00::1"), net.ParseIP("fd00::3")),
		"a truncated packet": nsFrame(net.ParseIP("fd00::1"), target)[:60],
		"an IPv4 frame":      ipv4Frame(protoICMP, make([]byte, 40)),
	} {
		if na, err := ndAdvert(frame, userdata); err == nil {
			t.Errorf("%s answered: %x", name, na)
		}
	}
	if _, err := ndAdvert(nsFrame(net.ParseIP("fd00::1"), target), userdata[:5]); err == nil {
		t.Error("short userdata accepted")
	}
}
