package lab

import (
	"encoding/binary"
	"net"
	"slices"
	"syscall"
	"time"
)

// DHCP load, run inside a VM namespace (chainwire-lab dhcp-load): a flood
// of DHCPDISCOVERs at a given rate, or DISCOVERs one at a time, each
// timed until its OFFER arrives.

// discover is a DHCPDISCOVER from mac with transaction id xid, broadcast
// from 0.0.0.0.
func discover(mac net.HardwareAddr, xid uint32) []byte {
	bootp := make([]byte, 240, 244)
	bootp[0], bootp[1], bootp[2] = 1, 1, 6
	binary.BigEndian.PutUint32(bootp[4:], xid)
	copy(bootp[28:], mac)
	binary.BigEndian.PutUint32(bootp[236:], 0x63825363)
	bootp = append(bootp, 53, 1, 1, 255)
	udp := make([]byte, 8, 8+len(bootp))
	binary.BigEndian.PutUint16(udp, 68)
	binary.BigEndian.PutUint16(udp[2:], 67)
	binary.BigEndian.PutUint16(udp[4:], uint16(8+len(bootp)))
	udp = append(udp, bootp...)
	ip := []byte{0x45, 0, 0, 0, 0, 0, 0, 0, 64, 17, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255}
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(udp)))
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	eth := append(append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, mac...), 0x08, 0x00)
	return append(append(eth, ip...), udp...)
}

func packetSocket(iface string) (int, *syscall.SockaddrLinklayer, net.HardwareAddr, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return 0, nil, nil, err
	}
	const ethPIP = 0x0800
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW, int(htons(ethPIP)))
	if err != nil {
		return 0, nil, nil, err
	}
	sa := &syscall.SockaddrLinklayer{Protocol: htons(ethPIP), Ifindex: ifi.Index, Halen: 6}
	if err := syscall.Bind(fd, sa); err != nil {
		syscall.Close(fd)
		return 0, nil, nil, err
	}
	return fd, sa, ifi.HardwareAddr, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// DHCPFlood sends rate DISCOVERs per second out of iface for the given
// time, in 10 ms batches, and returns how many it sent.
func DHCPFlood(iface string, rate int, d time.Duration) (int, error) {
	fd, sa, mac, err := packetSocket(iface)
	if err != nil {
		return 0, err
	}
	defer syscall.Close(fd)
	sent := 0
	start := time.Now()
	for tick := time.NewTicker(10 * time.Millisecond); time.Since(start) < d; <-tick.C {
		due := int(time.Since(start).Seconds()*float64(rate)) + rate/100
		for ; sent < due; sent++ {
			if err := syscall.Sendto(fd, discover(mac, uint32(sent)), 0, sa); err != nil {
				return sent, err
			}
		}
	}
	return sent, nil
}

// DHCPRoundTrips sends n DISCOVERs out of iface one at a time and times
// each until its OFFER (a BOOTP reply with its transaction id) arrives,
// waiting at most a second; it returns the times of those answered.
func DHCPRoundTrips(iface string, n int) ([]time.Duration, error) {
	fd, sa, mac, err := packetSocket(iface)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	tv := syscall.NsecToTimeval(int64(100 * time.Millisecond))
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		return nil, err
	}
	var rtts []time.Duration
	buf := make([]byte, 2048)
	for i := 0; i < n; i++ {
		xid := uint32(0x5a000000 + i)
		start := time.Now()
		if err := syscall.Sendto(fd, discover(mac, xid), 0, sa); err != nil {
			return rtts, err
		}
		for time.Since(start) < time.Second {
			m, _, err := syscall.Recvfrom(fd, buf, 0)
			if err != nil {
				continue // the read timeout: look at the clock again
			}
			f := buf[:m]
			// Ethernet, IPv4 without options, UDP 67 -> 68, BOOTP reply.
			if m >= 14+20+8+8 && f[23] == 17 && binary.BigEndian.Uint16(f[34:]) == 67 && f[42] == 2 &&
				binary.BigEndian.Uint32(f[46:]) == xid {
				rtts = append(rtts, time.Since(start))
				break
			}
		}
	}
	return rtts, nil
}

// Percentile is the p-th (0..1) of durations, by nearest rank.
func Percentile(v []time.Duration, p float64) time.Duration {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}
