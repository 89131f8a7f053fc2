// Package fakeswitch is an in-process OpenFlow 1.3 switch for tests: as
// much of OVS as chainwired relies on, with OVS's semantics where they
// matter (checked against OVS 3.1): the handshake and echo, barriers,
// ONF bundles validated at add time and applied atomically at commit,
// MODIFY_STRICT and DELETE_STRICT honouring the cookie mask, groups (a
// group delete takes the flows that use it along), flow stats and group
// descriptions in several parts, meters (outside bundles; a meter delete
// takes its flows along, as does a group's), the Geneve TLV map, the ONF flow monitor
// (changes made by others are reported, ours are not), packet-ins with a
// continuation and NXT_RESUME. It listens on a unix socket, like a
// bridge's management socket, and survives reconnects; Restart forgets
// everything, as a restarted ovs-vswitchd does.
package fakeswitch

import (
	"encoding/binary"
	"fmt"
	"maps"
	"net"
	"slices"
	"sort"
	"sync"

	"github.com/chainwire/chainwire/controller"
	"github.com/chainwire/chainwire/pipeline"
)

// PoisonPriority: a flow with this priority is refused at bundle-add
// time, as OVS refuses a flow it cannot install.
const PoisonPriority = 666

var be = binary.BigEndian

// Switch is the fake bridge.
type Switch struct {
	l net.Listener

	mu          sync.Mutex
	conns       map[net.Conn]*connState
	flows       map[string]pipeline.Flow
	groups      map[uint32]pipeline.Group
	meters      map[uint32]pipeline.Meter
	tlv         bool
	bundles     map[uint32][]controller.Op
	Commits     int
	Ops         int // flow and group mods committed
	MeterMods   int
	TLVMods     int
	Connects    int
	Resumes     int
	PacketOuts  [][]byte
	refuseFlows bool
}

type connState struct {
	c       net.Conn
	wmu     sync.Mutex
	monitor bool
	async   bool
}

// Listen starts a switch on a unix socket at path.
func Listen(path string) (*Switch, error) {
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	s := &Switch{l: l, conns: map[net.Conn]*connState{}, flows: map[string]pipeline.Flow{},
		groups: map[uint32]pipeline.Group{}, meters: map[uint32]pipeline.Meter{}, bundles: map[uint32][]controller.Op{}}
	go s.accept()
	return s, nil
}

// Close stops the switch and drops every connection.
func (s *Switch) Close() {
	s.l.Close()
	s.Disconnect()
}

func (s *Switch) accept() {
	for {
		c, err := s.l.Accept()
		if err != nil {
			return
		}
		cs := &connState{c: c}
		s.mu.Lock()
		s.conns[c] = cs
		s.Connects++
		s.mu.Unlock()
		go s.serve(cs)
	}
}

// Disconnect drops every connection (the switch keeps its tables).
func (s *Switch) Disconnect() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
		delete(s.conns, c)
	}
}

// Restart forgets every flow, group and the TLV map, and drops the
// connections: a restarted ovs-vswitchd.
func (s *Switch) Restart() {
	s.Disconnect()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flows, s.groups, s.meters, s.tlv = map[string]pipeline.Flow{}, map[uint32]pipeline.Group{}, map[uint32]pipeline.Meter{}, false
	s.bundles = map[uint32][]controller.Op{}
}

// Flows returns a copy of the flow table, by key.
func (s *Switch) Flows() map[string]pipeline.Flow {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]pipeline.Flow, len(s.flows))
	for k, v := range s.flows {
		out[k] = v
	}
	return out
}

// Groups returns a copy of the group table, by ID.
func (s *Switch) Groups() map[uint32]pipeline.Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[uint32]pipeline.Group, len(s.groups))
	for k, v := range s.groups {
		out[k] = v
	}
	return out
}

// Stat returns a counter under the lock.
func (s *Switch) Stat(f func(*Switch) int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return f(s)
}

// ExternalDelete removes a flow as ovs-ofctl del-flows would, reporting it
// to monitors.
func (s *Switch) ExternalDelete(key string) bool {
	s.mu.Lock()
	f, ok := s.flows[key]
	delete(s.flows, key)
	s.mu.Unlock()
	if ok {
		s.notify(1, f)
	}
	return ok
}

// ExternalDeleteAll empties the flow table (ovs-ofctl del-flows).
func (s *Switch) ExternalDeleteAll() {
	s.mu.Lock()
	var gone []pipeline.Flow
	for k, f := range s.flows {
		gone = append(gone, f)
		delete(s.flows, k)
	}
	s.mu.Unlock()
	for _, f := range gone {
		s.notify(1, f)
	}
}

// ExternalAdd adds (or replaces) a flow as ovs-ofctl add-flow would.
func (s *Switch) ExternalAdd(f pipeline.Flow) {
	s.mu.Lock()
	_, had := s.flows[f.Key()]
	s.flows[f.Key()] = f
	s.mu.Unlock()
	event := uint16(0)
	if had {
		event = 2
	}
	s.notify(event, f)
}

// notify sends a flow monitor update to every monitoring connection.
func (s *Switch) notify(event uint16, f pipeline.Flow) {
	body := mpHeader(0xffff, 0)
	body = append(body, onfHeader(1870)...)
	body = append(body, controller.FlowUpdateEntry(event, f)...)
	s.mu.Lock()
	var targets []*connState
	for _, cs := range s.conns {
		if cs.monitor {
			targets = append(targets, cs)
		}
	}
	s.mu.Unlock()
	for _, cs := range targets {
		cs.send(19, 0, body)
	}
}

// SendPacketIn sends every connection that asked for packet-ins an
// NXT_PACKET_IN2 with the frame, fields and userdata; paused adds a
// continuation, which the switch later counts in Resumes.
func (s *Switch) SendPacketIn(frame []byte, fields pipeline.Match, userdata []byte, paused bool) {
	body := append(onNX(30), prop(0, frame)...)
	body = append(body, prop(5, []byte{1})...) // reason: action
	var oxm []byte
	for _, mf := range fields {
		oxm = append(oxm, oxmOf(mf)...)
	}
	body = append(body, prop(6, oxm)...)
	if len(userdata) > 0 {
		body = append(body, prop(7, userdata)...)
	}
	if paused {
		body = append(body, prop(8, []byte{0, 0, 0, 0, 1, 2, 3, 4})...)
	}
	s.mu.Lock()
	var targets []*connState
	for _, cs := range s.conns {
		if cs.async {
			targets = append(targets, cs)
		}
	}
	s.mu.Unlock()
	for _, cs := range targets {
		cs.send(4, 0, body)
	}
}

func (cs *connState) send(typ uint8, xid uint32, body []byte) {
	m := make([]byte, 8, 8+len(body))
	m[0], m[1] = 4, typ
	be.PutUint16(m[2:], uint16(8+len(body)))
	be.PutUint32(m[4:], xid)
	cs.wmu.Lock()
	cs.c.Write(append(m, body...))
	cs.wmu.Unlock()
}

func (cs *connState) sendError(xid uint32, typ, code uint16, exp uint32, offending []byte) {
	body := make([]byte, 4, 16)
	be.PutUint16(body, typ)
	be.PutUint16(body[2:], code)
	if typ == 0xffff {
		body = be.AppendUint32(body, exp)
	}
	if len(offending) > 64 {
		offending = offending[:64]
	}
	cs.send(1, xid, append(body, offending...))
}

func readMessage(c net.Conn) ([]byte, error) {
	hdr := make([]byte, 8)
	if _, err := readFull(c, hdr); err != nil {
		return nil, err
	}
	n := int(be.Uint16(hdr[2:]))
	if n < 8 {
		return nil, fmt.Errorf("bad length %d", n)
	}
	msg := make([]byte, n)
	copy(msg, hdr)
	_, err := readFull(c, msg[8:])
	return msg, err
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := c.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (s *Switch) serve(cs *connState) {
	defer func() {
		cs.c.Close()
		s.mu.Lock()
		delete(s.conns, cs.c)
		s.mu.Unlock()
	}()
	for {
		msg, err := readMessage(cs.c)
		if err != nil {
			return
		}
		xid := be.Uint32(msg[4:])
		switch msg[1] {
		case 0: // HELLO
			cs.send(0, xid, nil)
		case 2: // ECHO_REQUEST
			cs.send(3, xid, msg[8:])
		case 5: // FEATURES_REQUEST
			body := make([]byte, 24)
			be.PutUint64(body, 0xfeed)
			cs.send(6, xid, body)
		case 13: // PACKET_OUT
			s.mu.Lock()
			s.PacketOuts = append(s.PacketOuts, msg)
			s.mu.Unlock()
		case 20: // BARRIER_REQUEST
			cs.send(21, xid, nil)
		case 28: // SET_ASYNC
			s.mu.Lock()
			cs.async = be.Uint32(msg[8:])&2 != 0
			s.mu.Unlock()
		case 29: // METER_MOD
			s.meterMod(cs, xid, msg)
		case 18: // MULTIPART_REQUEST
			s.multipart(cs, xid, msg)
		case 4: // EXPERIMENTER
			s.experimenter(cs, xid, msg)
		default:
			cs.sendError(xid, 1, 1, 0, msg) // OFPBRC_BAD_TYPE
		}
	}
}

func (s *Switch) multipart(cs *connState, xid uint32, msg []byte) {
	switch be.Uint16(msg[8:]) {
	case 1: // OFPMP_FLOW
		s.mu.Lock()
		var entries [][]byte
		for _, k := range sortedKeys(s.flows) {
			entries = append(entries, controller.FlowStatsEntry(s.flows[k]))
		}
		s.mu.Unlock()
		s.replyParts(cs, xid, 1, entries)
	case 7: // OFPMP_GROUP_DESC
		s.mu.Lock()
		entries := entriesByID(s.groups, controller.GroupDescEntry)
		s.mu.Unlock()
		s.replyParts(cs, xid, 7, entries)
	case 10: // OFPMP_METER_CONFIG
		s.mu.Lock()
		entries := entriesByID(s.meters, controller.MeterConfigEntry)
		s.mu.Unlock()
		s.replyParts(cs, xid, 10, entries)
	case 0xffff:
		if len(msg) >= 24 && be.Uint32(msg[16:]) == 0x4f4e4600 && be.Uint32(msg[20:]) == 1870 {
			s.mu.Lock()
			cs.monitor = true
			s.mu.Unlock()
			body := append(mpHeader(0xffff, 0), onfHeader(1870)...)
			cs.send(19, xid, body)
			return
		}
		cs.sendError(xid, 1, 2, 0, msg) // OFPBRC_BAD_MULTIPART
	default:
		cs.sendError(xid, 1, 2, 0, msg)
	}
}

// entriesByID encodes groups or meters in ID order.
func entriesByID[V any](m map[uint32]V, entry func(V) []byte) [][]byte {
	var out [][]byte
	for _, id := range slices.Sorted(maps.Keys(m)) {
		out = append(out, entry(m[id]))
	}
	return out
}

// replyParts answers a multipart request in parts of two entries each.
func (s *Switch) replyParts(cs *connState, xid uint32, typ uint16, entries [][]byte) {
	for i := 0; i == 0 || i < len(entries); i += 2 {
		flags := uint16(0)
		if i+2 < len(entries) {
			flags = 1 // OFPMPF_REPLY_MORE
		}
		body := mpHeader(typ, flags)
		for j := i; j < i+2 && j < len(entries); j++ {
			body = append(body, entries[j]...)
		}
		cs.send(19, xid, body)
	}
}

func mpHeader(typ, flags uint16) []byte {
	b := make([]byte, 8)
	be.PutUint16(b, typ)
	be.PutUint16(b[2:], flags)
	return b
}

func onfHeader(expType uint32) []byte {
	b := make([]byte, 8)
	be.PutUint32(b, 0x4f4e4600)
	be.PutUint32(b[4:], expType)
	return b
}

func onNX(subtype uint32) []byte {
	b := make([]byte, 8)
	be.PutUint32(b, 0x2320)
	be.PutUint32(b[4:], subtype)
	return b
}

func prop(typ uint16, v []byte) []byte {
	n := 4 + len(v)
	b := be.AppendUint16(nil, typ)
	b = be.AppendUint16(b, uint16(n))
	b = append(b, v...)
	return append(b, make([]byte, (n+7)/8*8-n)...)
}

// oxmOf encodes an exact field the way a packet-in reports it (registers
// as NXM1, metadata and in_port as OXM).
func oxmOf(mf pipeline.MatchField) []byte {
	var class uint16
	var field uint8
	if r, ok := mf.Field.IsReg(); ok {
		class, field = 1, uint8(r)
	} else {
		switch mf.Field {
		case pipeline.FieldMetadata:
			class, field = 0x8000, 2
		case pipeline.FieldInPort:
			class, field = 0x8000, 0
		default:
			return nil
		}
	}
	b := be.AppendUint16(nil, class)
	b = append(b, field<<1, uint8(len(mf.Value)))
	return append(b, mf.Value...)
}

func (s *Switch) experimenter(cs *connState, xid uint32, msg []byte) {
	if len(msg) < 16 {
		cs.sendError(xid, 1, 6, 0, msg)
		return
	}
	vendor, typ := be.Uint32(msg[8:]), be.Uint32(msg[12:])
	switch {
	case vendor == 0x2320 && typ == 16: // NXT_SET_PACKET_IN_FORMAT
	case vendor == 0x2320 && typ == 25: // NXT_TLV_TABLE_REQUEST
		s.mu.Lock()
		mapped := s.tlv
		s.mu.Unlock()
		body := append(onNX(26), make([]byte, 16)...)
		if mapped {
			body = append(body, 0x01, 0x02, 0x80, 4, 0, 0, 0, 0)
		}
		cs.send(4, xid, body)
	case vendor == 0x2320 && typ == 24: // NXT_TLV_TABLE_MOD
		s.mu.Lock()
		already := s.tlv
		s.tlv = true
		s.TLVMods++
		s.mu.Unlock()
		if already {
			cs.sendError(xid, 0xffff, 20, 0x2320, msg) // NXTTMFC_ALREADY_MAPPED
		}
	case vendor == 0x2320 && typ == 28: // NXT_RESUME
		s.mu.Lock()
		s.Resumes++
		s.mu.Unlock()
	case vendor == 0x4f4e4600 && typ == 2300: // bundle control
		s.bundleControl(cs, xid, msg)
	case vendor == 0x4f4e4600 && typ == 2301: // bundle add
		if len(msg) < 24+16 {
			cs.sendError(xid, 1, 6, 0, msg)
			return
		}
		id := be.Uint32(msg[16:])
		op, err := controller.ParseMod(msg[24:])
		if err != nil || (op.Flow != nil && op.Flow.Priority == PoisonPriority) || (op.Flow != nil && s.refuse()) {
			cs.sendError(xid, 4, 9, 0, msg[24:]) // OFPET_BAD_MATCH / OFPBMC_BAD_PREREQ
			return
		}
		s.mu.Lock()
		s.bundles[id] = append(s.bundles[id], op)
		s.mu.Unlock()
	default:
		cs.sendError(xid, 1, 3, 0, msg) // OFPBRC_BAD_EXPERIMENTER
	}
}

// meterMod applies a meter mod as OVS does: add of an existing meter and
// modify or delete of a missing one fail; a delete takes the flows that
// use the meter along.
func (s *Switch) meterMod(cs *connState, xid uint32, msg []byte) {
	op, err := controller.ParseMeterMod(msg)
	if err != nil {
		cs.sendError(xid, 12, 6, 0, msg) // OFPMMFC_BAD_RATE stands in for any bad meter
		return
	}
	s.mu.Lock()
	_, exists := s.meters[op.Meter.ID]
	code := uint16(0)
	switch {
	case op.Cmd == controller.Add && exists:
		code = 1 // OFPMMFC_METER_EXISTS
	case op.Cmd != controller.Add && !exists:
		code = 3 // OFPMMFC_UNKNOWN_METER
	case op.Cmd == controller.Delete:
		delete(s.meters, op.Meter.ID)
		for k, f := range s.flows {
			if usesMeter(f, op.Meter.ID) {
				delete(s.flows, k)
			}
		}
	default:
		s.meters[op.Meter.ID] = op.Meter
	}
	if code == 0 {
		s.MeterMods++
	}
	s.mu.Unlock()
	if code != 0 {
		cs.sendError(xid, 12, code, 0, msg)
	}
}

// Meters returns a copy of the installed meters.
func (s *Switch) Meters() map[uint32]pipeline.Meter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.meters)
}

// RefuseFlows makes every later flow add fail (a switch that rejects the
// desired state).
func (s *Switch) RefuseFlows(on bool) {
	s.mu.Lock()
	s.refuseFlows = on
	s.mu.Unlock()
}

func (s *Switch) refuse() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refuseFlows
}

func (s *Switch) bundleControl(cs *connState, xid uint32, msg []byte) {
	id, ctl := be.Uint32(msg[16:]), be.Uint16(msg[20:])
	s.mu.Lock()
	var failed *controller.Op
	switch ctl {
	case 0: // open
		s.bundles[id] = nil
	case 4: // commit
		flows, groups := copyFlows(s.flows), copyGroups(s.groups)
		for _, op := range s.bundles[id] {
			if !apply(flows, groups, s.meters, op) {
				failed = &op
				break
			}
		}
		if failed == nil {
			s.flows, s.groups = flows, groups
			s.Commits++
			s.Ops += len(s.bundles[id])
		}
		delete(s.bundles, id)
	case 6: // discard
		delete(s.bundles, id)
	}
	s.mu.Unlock()
	if failed != nil {
		cs.sendError(xid, 0xffff, 2313, 0x4f4e4600, msg) // OFPBFC_MSG_FAILED
		return
	}
	reply := append([]byte(nil), msg[8:]...)
	be.PutUint16(reply[12:], ctl+1)
	cs.send(4, xid, reply)
}

// apply performs one op with OVS's semantics; false if OVS would refuse it.
func apply(flows map[string]pipeline.Flow, groups map[uint32]pipeline.Group, meters map[uint32]pipeline.Meter, op controller.Op) bool {
	if g := op.Group; g != nil {
		_, exists := groups[g.ID]
		switch op.Cmd {
		case controller.Add:
			if exists {
				return false
			}
			groups[g.ID] = *g
		case controller.Modify:
			if !exists {
				return false
			}
			groups[g.ID] = *g
		case controller.Delete:
			delete(groups, g.ID)
			for k, f := range flows {
				if usesGroup(f, g.ID) {
					delete(flows, k)
				}
			}
		}
		return true
	}
	f := *op.Flow
	k := f.Key()
	cur, exists := flows[k]
	switch op.Cmd {
	case controller.Add:
		for _, a := range f.Actions {
			if tg, ok := a.(pipeline.ToGroup); ok {
				if _, ok := groups[tg.ID]; !ok {
					return false // OFPBAC_BAD_OUT_GROUP
				}
			}
			if sm, ok := a.(pipeline.SetMeter); ok {
				if _, ok := meters[sm.ID]; !ok {
					return false // OFPMMFC_UNKNOWN_METER
				}
			}
		}
		flows[k] = f
	case controller.Modify: // strict, with the sender's cookie as mask
		if exists && cur.Cookie == f.Cookie {
			cur.Actions = f.Actions
			flows[k] = cur
		}
	case controller.Delete:
		if exists && cur.Cookie == f.Cookie {
			delete(flows, k)
		}
	}
	return true
}

func usesMeter(f pipeline.Flow, id uint32) bool {
	for _, a := range f.Actions {
		if sm, ok := a.(pipeline.SetMeter); ok && sm.ID == id {
			return true
		}
	}
	return false
}

func usesGroup(f pipeline.Flow, id uint32) bool {
	for _, a := range f.Actions {
		if tg, ok := a.(pipeline.ToGroup); ok && tg.ID == id {
			return true
		}
	}
	return false
}

func copyFlows(m map[string]pipeline.Flow) map[string]pipeline.Flow {
	out := make(map[string]pipeline.Flow, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func copyGroups(m map[uint32]pipeline.Group) map[uint32]pipeline.Group {
	out := make(map[uint32]pipeline.Group, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sortedKeys(m map[string]pipeline.Flow) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
