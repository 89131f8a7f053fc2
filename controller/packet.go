package controller

import (
	"fmt"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/contiv/libOpenflow/openflow13"
)

// Nicira messages for packet-ins with pipeline state (OVS's
// NXT_PACKET_IN2) and for resuming a paused pipeline.
const (
	nxtSetPacketInFormat = 16
	nxpifPacketIn2       = 2
	nxtResume            = 28
	nxtPacketIn2         = 30

	nxpintPacket       = 0
	nxpintFullLen      = 1
	nxpintBufferID     = 2
	nxpintTableID      = 3
	nxpintCookie       = 4
	nxpintReason       = 5
	nxpintMetadata     = 6
	nxpintUserdata     = 7
	nxpintContinuation = 8
)

// PacketIn is a packet the switch sent to chainwired.
type PacketIn struct {
	Table  uint8
	Reason uint8
	Cookie uint64
	Data   []byte
	// Fields holds the pipeline fields the switch reported with the
	// packet (in_port, metadata, registers, tun_id) that the pipeline
	// package knows.
	Fields pipeline.Match
	// Userdata of the controller action that sent the packet.
	Userdata []byte
	// continuation is the NXT_PACKET_IN2 body of a paused pipeline:
	// sent back verbatim as NXT_RESUME, it continues the pipeline.
	continuation []byte
}

// Paused reports whether the packet's pipeline waits for Resume.
func (p PacketIn) Paused() bool { return p.continuation != nil }

func isNX(msg []byte, subtype uint32) bool {
	return len(msg) >= 16 && be.Uint32(msg[8:]) == nxVendor && be.Uint32(msg[12:]) == subtype
}

// parsePacketIn reads an OpenFlow 1.3 PACKET_IN: the fixed part, the
// match (with the pipeline fields), two bytes of padding, then the frame.
func parsePacketIn(b []byte) (PacketIn, error) {
	if len(b) < 32 {
		return PacketIn{}, fmt.Errorf("short PACKET_IN")
	}
	pi := PacketIn{Reason: b[14], Table: b[15], Cookie: be.Uint64(b[16:])}
	mlen := int(be.Uint16(b[26:]))
	if mlen < 4 {
		return PacketIn{}, fmt.Errorf("bad PACKET_IN match length %d", mlen)
	}
	start := 24 + (mlen+7)/8*8 + 2
	if 24+mlen > len(b) || start > len(b) {
		return PacketIn{}, fmt.Errorf("bad PACKET_IN match length %d", mlen)
	}
	pi.Fields = decodeOXMsLeniently(b[28 : 24+mlen])
	pi.Data = append([]byte(nil), b[start:]...)
	return pi, nil
}

// parsePacketIn2 reads NXT_PACKET_IN2's properties.
func parsePacketIn2(msg []byte) (PacketIn, error) {
	if len(msg) < 16 {
		return PacketIn{}, fmt.Errorf("short NXT_PACKET_IN2")
	}
	var pi PacketIn
	paused := false
	for props := msg[16:]; len(props) > 0; {
		typ, value, rest, err := nextProp(props)
		if err != nil {
			return PacketIn{}, fmt.Errorf("NXT_PACKET_IN2: %w", err)
		}
		props = rest
		switch typ {
		case nxpintPacket:
			pi.Data = append([]byte(nil), value...)
		case nxpintTableID:
			if len(value) >= 1 {
				pi.Table = value[0]
			}
		case nxpintCookie:
			if len(value) >= 12 {
				pi.Cookie = be.Uint64(value[4:])
			}
		case nxpintReason:
			if len(value) >= 1 {
				pi.Reason = value[0]
			}
		case nxpintMetadata:
			pi.Fields = decodeOXMsLeniently(value)
		case nxpintUserdata:
			pi.Userdata = append([]byte(nil), value...)
		case nxpintContinuation:
			paused = true
		}
	}
	if paused {
		pi.continuation = append([]byte(nil), msg[16:]...)
	}
	return pi, nil
}

// decodeOXMsLeniently reads a list of OXM TLVs, keeping the fields the
// pipeline knows and skipping the rest (a packet-in reports whatever is
// set, conntrack state included).
func decodeOXMsLeniently(b []byte) pipeline.Match {
	var m pipeline.Match
	for len(b) >= 4 {
		class, fh, plen := be.Uint16(b), b[2], int(b[3])
		if len(b) < 4+plen {
			break
		}
		val := b[4 : 4+plen]
		b = b[4+plen:]
		if fh&1 == 1 {
			continue // a packet's fields are exact
		}
		f, ok := fromWire[[2]uint16{class, uint16(fh >> 1)}]
		if !ok {
			continue
		}
		if f == pipeline.FieldTunMetadata0 {
			if val, _ = fitTunMetadata(val, nil); val == nil {
				continue
			}
		}
		if len(val) == f.Bytes() {
			m = m.WithBytes(f, append([]byte(nil), val...), nil)
		}
	}
	return m
}

// Resume continues a paused pipeline where it stopped (NXT_RESUME with
// the packet-in's own properties). The switch answers only on error.
func (cn *Conn) Resume(pi PacketIn) error {
	if pi.continuation == nil {
		return fmt.Errorf("packet-in is not paused")
	}
	m := nxMessage(nxtResume, pi.continuation)
	m.setXID(cn.nextXID())
	b, _ := m.MarshalBinary()
	return cn.sendRaw(b)
}

// PortController is OpenFlow's port number for "from the controller".
const PortController = openflow13.P_CONTROLLER

// PacketOut sends a frame through actions (which may load registers and
// resubmit into the pipeline), as if it had come in by inPort
// (PortController for none).
func (cn *Conn) PacketOut(inPort uint32, acts []pipeline.Action, frame []byte) error {
	oacts, gotoTable := encodeActions(acts)
	if gotoTable != nil {
		return fmt.Errorf("packet-out cannot goto_table; resubmit instead")
	}
	var ab []byte
	for _, a := range oacts {
		b, err := a.MarshalBinary()
		if err != nil {
			return err
		}
		ab = append(ab, b...)
	}
	msg := make(rawMsg, 24, 24+len(ab)+len(frame))
	msg[0], msg[1] = 4, openflow13.Type_PacketOut
	be.PutUint32(msg[4:], cn.nextXID())
	be.PutUint32(msg[8:], 0xffffffff)
	be.PutUint32(msg[12:], inPort)
	be.PutUint16(msg[16:], uint16(len(ab)))
	msg = append(append(msg, ab...), frame...)
	if len(msg) > maxMessage {
		return fmt.Errorf("packet-out of %d bytes exceeds OpenFlow's %d", len(msg), maxMessage)
	}
	b, _ := msg.MarshalBinary()
	return cn.sendRaw(b)
}
