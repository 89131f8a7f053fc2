// Package geneve encodes and decodes OVN's tunnel metadata: the 24-bit VNI
// is the logical datapath key, and one option (class 0x0102, type 0x80,
// 4 bytes) carries the logical ports:
//
//	 1      15            16
//	+-+---------------+----------------+
//	|R| ingress port  |  egress port   |
//	+-+---------------+----------------+
//
// It also decodes whole captured frames (Ethernet/IPv4/UDP/Geneve) for
// tests and troubleshooting.
package geneve

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
)

// OVN's option, as in ovn-architecture(7) "Tunnel Encapsulations".
const (
	OptionClass = 0x0102
	OptionType  = 0x80 // the high bit makes it critical: a receiver that does not know it drops the packet
	OptionLen   = 4
	UDPPort     = 6081
)

// Metadata is what OVN carries across a tunnel.
type Metadata struct {
	Datapath uint32 // 24 bits
	Ingress  uint16 // 15 bits
	Egress   uint16 // 16 bits (32768.. are multicast groups)
}

func (m Metadata) String() string {
	return fmt.Sprintf("vni %d, ingress port %d, egress port %d", m.Datapath, m.Ingress, m.Egress)
}

// OptionData is the 32-bit option value: ingress << 16 | egress.
func (m Metadata) OptionData() uint32 { return uint32(m.Ingress&0x7fff)<<16 | uint32(m.Egress) }

// Check reports values that do not fit their fields.
func (m Metadata) Check() error {
	if m.Datapath > 0xffffff {
		return fmt.Errorf("datapath key %d does not fit the 24-bit VNI", m.Datapath)
	}
	if m.Ingress > 0x7fff {
		return fmt.Errorf("ingress port key %d does not fit 15 bits", m.Ingress)
	}
	return nil
}

// Header is a decoded Geneve header.
type Header struct {
	Version   uint8
	OAM       bool
	Critical  bool // C flag: a critical option is present
	Protocol  uint16
	VNI       uint32
	Options   []Option
	HeaderLen int // bytes, options included
}

// Option is one Geneve option TLV.
type Option struct {
	Class    uint16
	Type     uint8
	Critical bool
	Data     []byte
}

// Encode builds the Geneve header OVN sends: Ethernet payload, critical
// flag set, one OVN option.
func Encode(m Metadata) ([]byte, error) {
	if err := m.Check(); err != nil {
		return nil, err
	}
	b := make([]byte, 16)
	b[0] = 2 // version 0, options length 2 words
	b[1] = 0x40
	binary.BigEndian.PutUint16(b[2:], 0x6558) // transparent Ethernet bridging
	binary.BigEndian.PutUint32(b[4:], m.Datapath<<8)
	binary.BigEndian.PutUint16(b[8:], OptionClass)
	b[10] = OptionType
	b[11] = OptionLen / 4
	binary.BigEndian.PutUint32(b[12:], m.OptionData())
	return b, nil
}

// ErrNoOVNOption means the header lacks OVN's option.
var ErrNoOVNOption = errors.New("geneve: no OVN option (class 0x0102 type 0x80)")

// Decode parses a Geneve header and its options.
func Decode(b []byte) (Header, error) {
	if len(b) < 8 {
		return Header{}, fmt.Errorf("geneve: header needs 8 bytes, have %d", len(b))
	}
	h := Header{Version: b[0] >> 6, OAM: b[1]&0x80 != 0, Critical: b[1]&0x40 != 0,
		Protocol: binary.BigEndian.Uint16(b[2:]), VNI: binary.BigEndian.Uint32(b[4:]) >> 8}
	if h.Version != 0 {
		return Header{}, fmt.Errorf("geneve: version %d", h.Version)
	}
	optLen := int(b[0]&0x3f) * 4
	h.HeaderLen = 8 + optLen
	if len(b) < h.HeaderLen {
		return Header{}, fmt.Errorf("geneve: options need %d bytes, have %d", optLen, len(b)-8)
	}
	opts := b[8:h.HeaderLen]
	for len(opts) > 0 {
		if len(opts) < 4 {
			return Header{}, fmt.Errorf("geneve: truncated option header")
		}
		n := int(opts[3]&0x1f) * 4
		if len(opts) < 4+n {
			return Header{}, fmt.Errorf("geneve: option of %d bytes overruns the options", n)
		}
		h.Options = append(h.Options, Option{Class: binary.BigEndian.Uint16(opts), Type: opts[2],
			Critical: opts[2]&0x80 != 0, Data: append([]byte(nil), opts[4:4+n]...)})
		opts = opts[4+n:]
	}
	return h, nil
}

// Metadata extracts OVN's metadata from a decoded header.
func (h Header) Metadata() (Metadata, error) {
	for _, o := range h.Options {
		if o.Class == OptionClass && o.Type == OptionType {
			if len(o.Data) != OptionLen {
				return Metadata{}, fmt.Errorf("geneve: OVN option has %d bytes, want %d", len(o.Data), OptionLen)
			}
			v := binary.BigEndian.Uint32(o.Data)
			return Metadata{Datapath: h.VNI, Ingress: uint16(v >> 16 & 0x7fff), Egress: uint16(v)}, nil
		}
	}
	return Metadata{}, ErrNoOVNOption
}

// Packet is a decoded Ethernet/IPv4/UDP/Geneve frame.
type Packet struct {
	OuterSrc, OuterDst net.IP
	SrcPort, DstPort   uint16
	Geneve             Header
	Meta               Metadata
	Inner              []byte // the encapsulated Ethernet frame
}

// InnerMACs returns the inner frame's destination and source MACs.
func (p Packet) InnerMACs() (dst, src net.HardwareAddr) {
	if len(p.Inner) < 12 {
		return nil, nil
	}
	return net.HardwareAddr(p.Inner[0:6]), net.HardwareAddr(p.Inner[6:12])
}

func (p Packet) String() string {
	dst, src := p.InnerMACs()
	return fmt.Sprintf("%s > %s geneve %s, option data %08x, inner %s > %s",
		p.OuterSrc, p.OuterDst, p.Meta, p.Meta.OptionData(), src, dst)
}

// DecodeFrame decodes an Ethernet frame carrying Geneve over IPv4/UDP.
func DecodeFrame(b []byte) (Packet, error) {
	var p Packet
	if len(b) < 14 {
		return p, fmt.Errorf("frame: %d bytes is shorter than an Ethernet header", len(b))
	}
	et, off := binary.BigEndian.Uint16(b[12:]), 14
	if et == 0x8100 && len(b) >= 18 {
		et, off = binary.BigEndian.Uint16(b[16:]), 18
	}
	if et != 0x0800 {
		return p, fmt.Errorf("frame: ethertype 0x%04x is not IPv4", et)
	}
	ip := b[off:]
	if len(ip) < 20 || ip[0]>>4 != 4 {
		return p, fmt.Errorf("frame: bad IPv4 header")
	}
	ihl := int(ip[0]&0x0f) * 4
	if ihl < 20 || len(ip) < ihl+8 {
		return p, fmt.Errorf("frame: truncated IPv4/UDP header")
	}
	if ip[9] != 17 {
		return p, fmt.Errorf("frame: IP protocol %d is not UDP", ip[9])
	}
	p.OuterSrc, p.OuterDst = net.IP(append([]byte(nil), ip[12:16]...)), net.IP(append([]byte(nil), ip[16:20]...))
	udp := ip[ihl:]
	p.SrcPort, p.DstPort = binary.BigEndian.Uint16(udp), binary.BigEndian.Uint16(udp[2:])
	if p.DstPort != UDPPort {
		return p, fmt.Errorf("frame: UDP port %d is not Geneve's %d", p.DstPort, UDPPort)
	}
	h, err := Decode(udp[8:])
	if err != nil {
		return p, err
	}
	p.Geneve = h
	if p.Meta, err = h.Metadata(); err != nil {
		return p, err
	}
	p.Inner = append([]byte(nil), udp[8+h.HeaderLen:]...)
	return p, nil
}
