package controller

import (
	"encoding/binary"
	"net"
	"sort"
	"sync"
	"testing"

	"github.com/chainwire/chainwire/pipeline"
)

// fakeSwitch is an in-process OpenFlow 1.3 switch: enough of OVS to test
// the session and the reconciler (handshake, echo, barrier, ONF bundles
// with OVS's add-time validation, flow stats in several parts, the TLV
// map). It rejects any flow whose priority is poisonPriority, as OVS
// rejects a bad flow, with the xid of the message that carried it.
type fakeSwitch struct {
	t  *testing.T
	c  net.Conn
	mu sync.Mutex
	// flows by key; raw holds each flow's match+instructions for replies.
	flows       map[string]pipeline.Flow
	tlv         bool
	tlvRace     bool // another controller maps the option between our request and mod
	tlvRequests int
	tlvMods     int
	bundles     map[uint32][]FlowOp
	commits     int
}

const poisonPriority = 666

func newFakeSwitch(t *testing.T, c net.Conn) *fakeSwitch {
	return &fakeSwitch{t: t, c: c, flows: map[string]pipeline.Flow{}, bundles: map[uint32][]FlowOp{}}
}

func (s *fakeSwitch) send(typ uint8, xid uint32, body []byte) {
	m := make([]byte, 8, 8+len(body))
	m[0], m[1] = 4, typ
	binary.BigEndian.PutUint16(m[2:], uint16(8+len(body)))
	binary.BigEndian.PutUint32(m[4:], xid)
	s.c.Write(append(m, body...))
}

func (s *fakeSwitch) sendError(xid uint32, typ, code uint16, exp uint32) {
	body := make([]byte, 4, 16)
	binary.BigEndian.PutUint16(body, typ)
	binary.BigEndian.PutUint16(body[2:], code)
	if typ == 0xffff {
		body = binary.BigEndian.AppendUint32(body, exp)
	}
	s.send(1, xid, body)
}

// serve runs until the connection closes.
func (s *fakeSwitch) serve() {
	for {
		msg, err := readMessage(s.c)
		if err != nil {
			return
		}
		xid := binary.BigEndian.Uint32(msg[4:])
		switch msg[1] {
		case 0: // HELLO
			s.send(0, xid, nil)
		case 2: // ECHO_REQUEST
			s.send(3, xid, msg[8:])
		case 5: // FEATURES_REQUEST
			body := make([]byte, 24)
			binary.BigEndian.PutUint64(body, 0xfeed)
			s.send(6, xid, body)
		case 20: // BARRIER_REQUEST
			s.send(21, xid, nil)
		case 18: // MULTIPART_REQUEST (flow stats)
			s.replyFlows(xid)
		case 4: // EXPERIMENTER
			s.experimenter(xid, msg)
		}
	}
}

func (s *fakeSwitch) experimenter(xid uint32, msg []byte) {
	vendor, typ := binary.BigEndian.Uint32(msg[8:]), binary.BigEndian.Uint32(msg[12:])
	switch {
	case vendor == nxVendor && typ == nxtTLVTableReq:
		s.mu.Lock()
		mapped := s.tlv && !s.tlvRace
		s.tlvRequests++
		s.mu.Unlock()
		body := make([]byte, 24) // experimenter, subtype, max_option_space, max_fields, pad
		binary.BigEndian.PutUint32(body, nxVendor)
		binary.BigEndian.PutUint32(body[4:], nxtTLVTableReq+1)
		if mapped {
			body = append(body, tlvClass>>8, tlvClass&0xff, tlvType, tlvLen, 0, 0, 0, 0)
		}
		s.send(4, xid, body)
	case vendor == nxVendor && typ == nxtTLVTableMod:
		s.mu.Lock()
		already := s.tlv
		s.tlv = true
		s.tlvMods++
		s.mu.Unlock()
		if already {
			s.sendError(xid, 0xffff, 20, nxVendor)
		}
	case vendor == onfExperimenter && typ == 2300: // bundle control
		id, ctl := binary.BigEndian.Uint32(msg[16:]), binary.BigEndian.Uint16(msg[20:])
		s.mu.Lock()
		switch ctl {
		case 0: // open
			s.bundles[id] = nil
		case 4: // commit
			for _, op := range s.bundles[id] {
				if op.Delete {
					delete(s.flows, op.Flow.Key())
				} else {
					s.flows[op.Flow.Key()] = op.Flow
				}
			}
			s.commits++
			delete(s.bundles, id)
		case 6: // discard
			delete(s.bundles, id)
		}
		s.mu.Unlock()
		reply := append([]byte(nil), msg[8:]...)
		binary.BigEndian.PutUint16(reply[12:], ctl+1)
		s.send(4, xid, reply)
	case vendor == onfExperimenter && typ == 2301: // bundle add
		id := binary.BigEndian.Uint32(msg[16:])
		fm := msg[24:]
		op, ok := s.decodeFlowMod(fm)
		if !ok || op.Flow.Priority == poisonPriority {
			s.sendError(xid, 4, 9, 0) // OFPET_BAD_MATCH / OFPBMC_BAD_PREREQ
			return
		}
		s.mu.Lock()
		s.bundles[id] = append(s.bundles[id], op)
		s.mu.Unlock()
	}
}

func (s *fakeSwitch) decodeFlowMod(fm []byte) (FlowOp, bool) {
	stage, ok := pipeline.StageOfTable(fm[24])
	if !ok {
		return FlowOp{}, false
	}
	cmd := fm[25]
	f := pipeline.Flow{Stage: stage, Cookie: binary.BigEndian.Uint64(fm[8:]), Priority: binary.BigEndian.Uint16(fm[30:])}
	m, n, err := decodeMatch(fm[48:])
	if err != nil {
		s.t.Errorf("fake switch: bad match: %v", err)
		return FlowOp{}, false
	}
	f.Match = m
	if cmd == 4 { // DELETE_STRICT
		return FlowOp{Delete: true, Flow: f}, true
	}
	acts, err := decodeInstructions(fm[48+n:])
	if err != nil {
		s.t.Errorf("fake switch: bad instructions: %v", err)
		return FlowOp{}, false
	}
	f.Actions = acts
	return FlowOp{Flow: f}, true
}

// replyFlows answers flow stats in parts of two flows each, all flows of
// the table (cookie filtering is left to the caller's marker check).
func (s *fakeSwitch) replyFlows(xid uint32) {
	s.mu.Lock()
	keys := make([]string, 0, len(s.flows))
	for k := range s.flows {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var entries [][]byte
	for _, k := range keys {
		f := s.flows[k]
		if !pipeline.IsOurs(f.Cookie) {
			continue // the request asked for our marker only
		}
		fm, _ := encodeFlowMod(f, 0).MarshalBinary()
		e := make([]byte, 48)
		e[2] = f.Stage.Table()
		binary.BigEndian.PutUint16(e[12:], f.Priority)
		binary.BigEndian.PutUint64(e[24:], f.Cookie)
		e = append(e, fm[48:]...)
		binary.BigEndian.PutUint16(e, uint16(len(e)))
		entries = append(entries, e)
	}
	s.mu.Unlock()
	for i := 0; i == 0 || i < len(entries); i += 2 {
		body := []byte{0, 1, 0, 0, 0, 0, 0, 0} // OFPMP_FLOW, flags, pad
		if i+2 < len(entries) {
			body[3] = 1 // OFPMPF_REPLY_MORE
		}
		for j := i; j < i+2 && j < len(entries); j++ {
			body = append(body, entries[j]...)
		}
		s.send(19, xid, body)
	}
}

func (s *fakeSwitch) table() map[string]pipeline.Flow {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]pipeline.Flow{}
	for k, v := range s.flows {
		out[k] = v
	}
	return out
}

// sendPacketIn sends a PACKET_IN with an empty match carrying frame.
func (s *fakeSwitch) sendPacketIn(frame []byte) {
	body := make([]byte, 16)
	binary.BigEndian.PutUint32(body, 0xffffffff)
	binary.BigEndian.PutUint16(body[4:], uint16(len(frame)))
	body[6], body[7] = 1, 40 // reason ACTION, table 40
	binary.BigEndian.PutUint64(body[8:], 0xc7)
	body = append(body, 0, 1, 0, 4, 0, 0, 0, 0) // OXM match, length 4, padded
	body = append(body, 0, 0)                   // pad
	s.send(10, 0, append(body, frame...))
}
