package geneve

import (
	"encoding/binary"
	"fmt"
	"io"
)

// ReadPcap returns the frames of a classic pcap file (as written by
// tcpdump -w) whose link type is Ethernet.
func ReadPcap(r io.Reader) ([][]byte, error) {
	var hdr [24]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("pcap: %w", err)
	}
	var order binary.ByteOrder
	switch binary.LittleEndian.Uint32(hdr[:]) {
	case 0xa1b2c3d4, 0xa1b23c4d: // microsecond, nanosecond timestamps
		order = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		order = binary.BigEndian
	default:
		return nil, fmt.Errorf("pcap: not a pcap file (magic %x)", hdr[:4])
	}
	if lt := order.Uint32(hdr[20:]); lt != 1 {
		return nil, fmt.Errorf("pcap: link type %d is not Ethernet", lt)
	}
	var frames [][]byte
	for {
		var rec [16]byte
		if _, err := io.ReadFull(r, rec[:]); err == io.EOF {
			return frames, nil
		} else if err != nil {
			return frames, fmt.Errorf("pcap: truncated record header: %w", err)
		}
		n := order.Uint32(rec[8:])
		if n > 1<<18 {
			return frames, fmt.Errorf("pcap: record of %d bytes", n)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return frames, fmt.Errorf("pcap: truncated record: %w", err)
		}
		frames = append(frames, b)
	}
}
