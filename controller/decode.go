package controller

import (
	"fmt"
	"math/bits"
	"net"
	"slices"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/contiv/libOpenflow/openflow13"
)

// Decoding of what the switch sends. Read-back decodes flows and groups
// itself rather than through libOpenflow's parsers, which reject fields
// they do not model (tun_id, for one): a flow we cannot decode exactly
// must still be seen, so that it is replaced. Everything here treats its
// input as untrusted: every length is checked before it is used, and a
// malformed message is an error, never a panic (see the fuzz tests).

// decodeMatch parses an ofp_match (type OXM); it returns the match and the
// number of bytes consumed, padding included.
func decodeMatch(b []byte) (pipeline.Match, int, error) {
	if len(b) < 4 {
		return nil, 0, fmt.Errorf("short match")
	}
	mlen := int(be.Uint16(b[2:]))
	padded := (mlen + 7) / 8 * 8
	if be.Uint16(b) != 1 || mlen < 4 || len(b) < padded {
		return nil, 0, fmt.Errorf("bad match (type %d, length %d)", be.Uint16(b), mlen)
	}
	m := pipeline.Match{} // non-nil: decoded, if empty
	oxm := b[4:mlen]
	for len(oxm) > 0 {
		if len(oxm) < 4 {
			return nil, 0, fmt.Errorf("truncated OXM")
		}
		class, fh, plen := be.Uint16(oxm), oxm[2], int(oxm[3])
		if len(oxm) < 4+plen {
			return nil, 0, fmt.Errorf("truncated OXM payload")
		}
		payload := oxm[4 : 4+plen]
		oxm = oxm[4+plen:]
		hasMask := fh&1 == 1
		field := uint16(fh >> 1)
		val, mask := payload, []byte(nil)
		if hasMask {
			if plen%2 != 0 {
				return nil, 0, fmt.Errorf("masked OXM with odd length %d", plen)
			}
			val, mask = payload[:plen/2], payload[plen/2:]
		}
		f, known := fromWire[[2]uint16{class, field}]
		if known && f == pipeline.FieldTunMetadata0 {
			if val, mask = fitTunMetadata(val, mask); val == nil {
				return nil, 0, fmt.Errorf("tun_metadata0 of %d bytes", plen)
			}
		}
		if class == classOXM && field == oxmVlanVID {
			// OVS answers our vlan_tci match in OXM form; the VID and
			// present bits sit at the same positions.
			known, f = true, pipeline.FieldVlanTCI
		}
		if !known || len(val) != f.Bytes() {
			return nil, 0, fmt.Errorf("unsupported match field class 0x%04x field %d", class, field)
		}
		if _, dup := m.Get(f); dup {
			return nil, 0, fmt.Errorf("match field %s twice", f)
		}
		m = m.WithBytes(f, append([]byte(nil), val...), cloneBytes(mask))
	}
	return m, padded, nil
}

// fitTunMetadata widens a tun_metadata0 value to the mapped 4 bytes: OVS
// encodes variable-length fields with as few bytes as the value needs
// (0x04 rather than 0x00000004), the bytes left out being zero. It returns
// nil for a value wider than the field.
func fitTunMetadata(val, mask []byte) ([]byte, []byte) {
	const n = 4
	if len(val) > n || len(mask) > n {
		return nil, nil
	}
	if len(val) == n {
		return val, mask
	}
	v := append(make([]byte, n-len(val)), val...)
	if mask == nil {
		return v, nil
	}
	return v, append(bytesOf(0xff, n-len(mask)), mask...)
}

func bytesOf(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

func fieldFromNXM(h uint32) (pipeline.Field, error) {
	f, ok := fromWire[[2]uint16{uint16(h >> 16), uint16(h >> 9 & 0x7f)}]
	if !ok {
		return 0, fmt.Errorf("unsupported NXM field 0x%08x", h)
	}
	return f, nil
}

// decodeInstructions parses the instructions of a flow back into actions.
func decodeInstructions(b []byte) ([]pipeline.Action, error) {
	var acts []pipeline.Action
	var gotoAct, meter pipeline.Action
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, fmt.Errorf("truncated instruction")
		}
		typ, ilen := be.Uint16(b), int(be.Uint16(b[2:]))
		if ilen < 8 || ilen > len(b) {
			return nil, fmt.Errorf("bad instruction length %d", ilen)
		}
		body := b[:ilen]
		b = b[ilen:]
		switch typ {
		case openflow13.InstrType_GOTO_TABLE:
			s, ok := pipeline.StageOfTable(body[4])
			if !ok {
				return nil, fmt.Errorf("goto_table:%d is not a pipeline table", body[4])
			}
			gotoAct = pipeline.Goto{Stage: s}
		case openflow13.InstrType_METER:
			meter = pipeline.SetMeter{ID: be.Uint32(body[4:])}
		case openflow13.InstrType_APPLY_ACTIONS:
			a, err := decodeActions(body[8:])
			if err != nil {
				return nil, err
			}
			acts = append(acts, a...)
		default:
			return nil, fmt.Errorf("unsupported instruction type %d", typ)
		}
	}
	if meter != nil {
		acts = append([]pipeline.Action{meter}, acts...)
	}
	if gotoAct != nil {
		acts = append(acts, gotoAct)
	}
	return acts, nil
}

func decodeActions(b []byte) ([]pipeline.Action, error) {
	var acts []pipeline.Action
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, fmt.Errorf("truncated action")
		}
		typ, alen := be.Uint16(b), int(be.Uint16(b[2:]))
		if alen < 8 || alen%8 != 0 || alen > len(b) {
			return nil, fmt.Errorf("bad action length %d", alen)
		}
		a := b[:alen]
		b = b[alen:]
		switch {
		case typ == openflow13.ActionType_Output && alen == 16:
			acts = append(acts, pipeline.Output{Port: be.Uint32(a[4:])})
		case typ == openflow13.ActionType_DecNwTtl && alen == 8:
			acts = append(acts, pipeline.DecTTL{})
		case typ == openflow13.ActionType_Group && alen == 8:
			acts = append(acts, pipeline.ToGroup{ID: be.Uint32(a[4:])})
		case typ == openflow13.ActionType_SetField:
			l, err := decodeLoadTLV(a[4:])
			if err != nil {
				return nil, err
			}
			acts = append(acts, l)
		case typ == openflow13.ActionType_Experimenter && alen >= 16 && be.Uint32(a[4:]) == nxVendor:
			act, err := decodeNXAction(be.Uint16(a[8:]), a)
			if err != nil {
				return nil, err
			}
			acts = append(acts, act)
		default:
			return nil, fmt.Errorf("unsupported action type %d (%d bytes)", typ, alen)
		}
	}
	return acts, nil
}

// decodeNXAction decodes a Nicira action a (header included, at least 16
// bytes) of the given subtype.
func decodeNXAction(subtype uint16, a []byte) (pipeline.Action, error) {
	need := func(n int) error {
		if len(a) < n {
			return fmt.Errorf("Nicira action %d of %d bytes, want %d", subtype, len(a), n)
		}
		return nil
	}
	switch subtype {
	case openflow13.NXAST_REG_LOAD:
		if err := need(24); err != nil {
			return nil, err
		}
		ofsNbits := be.Uint16(a[10:])
		f, err := fieldFromNXM(be.Uint32(a[12:]))
		if err != nil {
			return nil, err
		}
		ofs, n := int(ofsNbits>>6), int(ofsNbits&0x3f)+1
		if ofs+n > f.Bits() {
			return nil, fmt.Errorf("load into %s[%d..%d] past its %d bits", f, ofs, ofs+n-1, f.Bits())
		}
		return wholeLoad(pipeline.Load{Dst: f, Ofs: uint8(ofs), Bits: uint8(n), Value: be.Uint64(a[16:])}), nil
	case openflow13.NXAST_REG_LOAD2:
		// OVS's form of a load it cannot express as NXAST_REG_LOAD, such
		// as one into tun_metadata0: an OXM with value and mask.
		return decodeLoadTLV(a[10:])
	case openflow13.NXAST_REG_MOVE:
		if err := need(24); err != nil {
			return nil, err
		}
		src, err := fieldFromNXM(be.Uint32(a[16:]))
		if err != nil {
			return nil, err
		}
		dst, err := fieldFromNXM(be.Uint32(a[20:]))
		if err != nil {
			return nil, err
		}
		n, so, do := int(be.Uint16(a[10:])), int(be.Uint16(a[12:])), int(be.Uint16(a[14:]))
		if n == 0 || so+n > src.Bits() || do+n > dst.Bits() || n > 255 {
			return nil, fmt.Errorf("move of %d bits from %s[%d] to %s[%d] is out of range", n, src, so, dst, do)
		}
		return pipeline.Move{Src: src, SrcOfs: uint8(so), Dst: dst, DstOfs: uint8(do), Bits: uint8(n)}, nil
	case nxastMultipath:
		if err := need(nxActionMultipathLength); err != nil {
			return nil, err
		}
		if be.Uint16(a[10:]) != nxHashSymmetricL3L4UDP || be.Uint16(a[16:]) != nxMPModuloN {
			return nil, fmt.Errorf("unsupported multipath fields/algorithm")
		}
		f, err := fieldFromNXM(be.Uint32(a[28:]))
		if err != nil {
			return nil, err
		}
		ofsNbits := be.Uint16(a[26:])
		return pipeline.Multipath{Links: be.Uint16(a[18:]) + 1, Dst: f, Ofs: uint8(ofsNbits >> 6), Bits: uint8(ofsNbits&0x3f) + 1}, nil
	case nxastCt:
		return decodeCt(a)
	case nxastNat:
		return decodeNat(a)
	case nxastClone:
		if err := need(nxActionCloneFixed); err != nil {
			return nil, err
		}
		nested, err := decodeActions(a[nxActionCloneFixed:])
		if err != nil {
			return nil, fmt.Errorf("clone: %w", err)
		}
		return pipeline.Clone{Actions: nested}, nil
	case openflow13.NXAST_CONJUNCTION:
		if a[11] < 2 || a[10] >= a[11] {
			return nil, fmt.Errorf("conjunction clause %d of %d", a[10]+1, a[11])
		}
		return pipeline.Conjunction{Clause: a[10] + 1, NClause: a[11], ID: be.Uint32(a[12:])}, nil
	case openflow13.NXAST_RESUBMIT_TABLE:
		s, ok := pipeline.StageOfTable(a[12])
		if !ok || be.Uint16(a[10:]) != openflow13.OFPP_IN_PORT {
			return nil, fmt.Errorf("resubmit(%d,%d) is not a resubmit to a pipeline table", be.Uint16(a[10:]), a[12])
		}
		return pipeline.Resubmit{Stage: s}, nil
	case nxastController2:
		return decodeController2(a[16:])
	}
	return nil, fmt.Errorf("unsupported Nicira action %d", subtype)
}

// decodeController2 reads NXAST_CONTROLLER2's properties; any property we
// do not write ourselves makes the action unsupported, so the flow is
// rewritten rather than misread.
func decodeController2(props []byte) (pipeline.Action, error) {
	var c pipeline.Controller
	for len(props) > 0 {
		typ, value, rest, err := nextProp(props)
		if err != nil {
			return nil, fmt.Errorf("controller action: %w", err)
		}
		props = rest
		switch typ {
		case nxac2ptUserdata:
			c.Userdata = append([]byte(nil), value...)
		case nxac2ptPause:
			c.Pause = true
		case nxac2ptMeterID:
			if len(value) != 4 {
				return nil, fmt.Errorf("controller action's meter of %d bytes", len(value))
			}
			c.Meter = be.Uint32(value)
		default:
			return nil, fmt.Errorf("controller action with property %d", typ)
		}
	}
	return c, nil
}

// nextProp splits off one OpenFlow property: type, value, and what follows
// its padding.
func nextProp(b []byte) (typ uint16, value, rest []byte, err error) {
	if len(b) < 4 {
		return 0, nil, nil, fmt.Errorf("truncated property")
	}
	typ, n := be.Uint16(b), int(be.Uint16(b[2:]))
	padded := (n + 7) / 8 * 8
	if n < 4 || padded > len(b) {
		return 0, nil, nil, fmt.Errorf("property %d has bad length %d", typ, n)
	}
	return typ, b[4:n], b[padded:], nil
}

// decodeLoadTLV turns an OXM/NXM TLV with a value (and a contiguous mask)
// into the load it performs.
func decodeLoadTLV(b []byte) (pipeline.Action, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("truncated load")
	}
	plen := int(b[3])
	if len(b) < 4+plen {
		return nil, fmt.Errorf("truncated load value")
	}
	// Parse the TLV as a one-field ofp_match (type, length, TLV, padding).
	ofpMatch := make([]byte, 4, 16+plen)
	ofpMatch[1] = 1
	be.PutUint16(ofpMatch[2:], uint16(4+4+plen))
	ofpMatch = append(append(ofpMatch, b[:4+plen]...), make([]byte, 8)...)
	m, _, err := decodeMatch(ofpMatch)
	if err != nil || len(m) != 1 || !fitsUint64(m[0]) {
		return nil, fmt.Errorf("unsupported load: %v", err)
	}
	mf := m[0]
	if mf.Mask == nil {
		return pipeline.Load{Dst: mf.Field, Value: mf.Uint()}, nil
	}
	mask := mf.MaskUint()
	if mask == 0 {
		return nil, fmt.Errorf("load with an empty mask")
	}
	ofs := bits.TrailingZeros64(mask)
	n := bits.OnesCount64(mask)
	if mask>>ofs != 1<<n-1 {
		return nil, fmt.Errorf("load with a non-contiguous mask 0x%x", mask)
	}
	return wholeLoad(pipeline.Load{Dst: mf.Field, Ofs: uint8(ofs), Bits: uint8(n), Value: mf.Uint() & mask >> ofs}), nil
}

// fitsUint64: a load's field is at most 64 bits wide, or it writes only
// the low 64 (ct_label's, in chainwire).
func fitsUint64(mf pipeline.MatchField) bool {
	hi := len(mf.Value) - 8
	if hi <= 0 {
		return true
	}
	return mf.Mask != nil && !slices.ContainsFunc(mf.Mask[:hi], func(b byte) bool { return b != 0 })
}

// wholeLoad writes a load of a whole field in the renderer's form (Bits
// 0), so that a read-back compares equal.
func wholeLoad(l pipeline.Load) pipeline.Load {
	if l.Ofs == 0 && int(l.Bits) == l.Dst.Bits() {
		l.Bits = 0
	}
	return l
}

// installedFlow is one flow read back from the switch.
type installedFlow struct {
	table     uint8
	priority  uint16
	cookie    uint64
	match     pipeline.Match
	flow      pipeline.Flow // valid when decodeErr == nil
	decodeErr error
}

// decodeFlowStats parses the body of an OFPMP_FLOW reply. Entries that use
// something this codec does not know come back with decodeErr set (and
// their match, if it could be read), so the reconciler can replace or
// delete them.
func decodeFlowStats(b []byte) ([]installedFlow, error) {
	var flows []installedFlow
	for len(b) > 0 {
		if len(b) < 56 {
			return nil, fmt.Errorf("truncated flow stats entry")
		}
		elen := int(be.Uint16(b))
		if elen < 56 || elen > len(b) {
			return nil, fmt.Errorf("bad flow stats length %d", elen)
		}
		e := b[:elen]
		b = b[elen:]
		flows = append(flows, decodeFlowEntry(e[2], be.Uint16(e[12:]), be.Uint64(e[24:]), e[48:]))
	}
	return flows, nil
}

// decodeFlowEntry decodes a flow's match and instructions (as in flow
// stats and flow monitor updates).
func decodeFlowEntry(table uint8, priority uint16, cookie uint64, b []byte) installedFlow {
	inst := installedFlow{table: table, priority: priority, cookie: cookie}
	m, n, err := decodeMatch(b)
	if err != nil {
		inst.decodeErr = err
		return inst
	}
	inst.match = m
	stage, ok := pipeline.StageOfTable(table)
	if !ok {
		inst.decodeErr = fmt.Errorf("table %d is not a pipeline table", table)
		return inst
	}
	acts, err := decodeInstructions(b[n:])
	inst.decodeErr = err
	inst.flow = pipeline.Flow{Stage: stage, Priority: priority, Cookie: cookie, Match: m, Actions: acts}
	return inst
}

// installedGroup is one group read back from the switch.
type installedGroup struct {
	group     pipeline.Group
	decodeErr error
}

// decodeGroupDesc parses the body of an OFPMP_GROUP_DESC reply.
func decodeGroupDesc(b []byte) ([]installedGroup, error) {
	var out []installedGroup
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, fmt.Errorf("truncated group description")
		}
		n := int(be.Uint16(b))
		if n < 8 || n > len(b) {
			return nil, fmt.Errorf("bad group description length %d", n)
		}
		e := b[:n]
		b = b[n:]
		g := installedGroup{group: pipeline.Group{Type: pipeline.GroupType(e[2]), ID: be.Uint32(e[4:])}}
		if e[2] > 1 {
			g.decodeErr = fmt.Errorf("group type %d", e[2])
		}
		for buckets := e[8:]; len(buckets) > 0 && g.decodeErr == nil; {
			var bk pipeline.Bucket
			var err error
			bk, buckets, err = decodeBucket(buckets)
			if err != nil {
				g.decodeErr = err
				break
			}
			g.group.Buckets = append(g.group.Buckets, bk)
		}
		out = append(out, g)
	}
	return out, nil
}

func decodeBucket(b []byte) (pipeline.Bucket, []byte, error) {
	if len(b) < 16 {
		return pipeline.Bucket{}, nil, fmt.Errorf("truncated bucket")
	}
	n := int(be.Uint16(b))
	if n < 16 || n > len(b) {
		return pipeline.Bucket{}, nil, fmt.Errorf("bad bucket length %d", n)
	}
	acts, err := decodeActions(b[16:n])
	if err != nil {
		return pipeline.Bucket{}, nil, err
	}
	return pipeline.Bucket{Weight: be.Uint16(b[2:]), Actions: acts}, b[n:], nil
}

// parseError decodes an OFPT_ERROR message (at least the header).
func parseError(b []byte) *OFError {
	e := &OFError{xid: be.Uint32(b[4:])}
	if len(b) < 12 {
		e.Type, e.Code = 1, 6 // OFPBRC_BAD_LEN: an error we cannot read
		return e
	}
	e.Type, e.Code = be.Uint16(b[8:]), be.Uint16(b[10:])
	data := b[12:]
	if e.Type == 0xffff && len(b) >= 16 {
		e.Experimenter = be.Uint32(b[12:])
		data = b[16:]
	}
	e.Data = append([]byte(nil), data...)
	return e
}

// decodeCt reads nx_action_conntrack: only the forms chainwire writes (a
// constant zone or one from a register's low 16 bits, no ALG).
func decodeCt(a []byte) (pipeline.Action, error) {
	if len(a) < nxActionCtFixed {
		return nil, fmt.Errorf("ct action of %d bytes, want at least %d", len(a), nxActionCtFixed)
	}
	flags := be.Uint16(a[10:])
	if flags&^nxCtFlagCommit != 0 || be.Uint16(a[20:]) != 0 {
		return nil, fmt.Errorf("ct with flags 0x%x or an ALG is not chainwire's", flags)
	}
	ct := pipeline.Ct{Commit: flags&nxCtFlagCommit != 0}
	if src := be.Uint32(a[12:]); src == 0 {
		if ct.Zone = be.Uint16(a[16:]); ct.Zone == 0 {
			return nil, fmt.Errorf("ct in zone 0 is not chainwire's")
		}
	} else {
		zone, err := fieldFromNXM(src)
		if err != nil {
			return nil, fmt.Errorf("ct zone: %w", err)
		}
		if be.Uint16(a[16:]) != 15 {
			return nil, fmt.Errorf("ct zone from %s bits other than 0..15", zone)
		}
		ct.ZoneReg = zone
	}
	if t := a[18]; t != nxCtRecircNone {
		s, ok := pipeline.StageOfTable(t)
		if !ok {
			return nil, fmt.Errorf("ct(table=%d) is not a pipeline table", t)
		}
		ct.Recirc, ct.Table = true, s
	}
	nested, err := decodeActions(a[nxActionCtFixed:])
	if err != nil {
		return nil, fmt.Errorf("ct exec: %w", err)
	}
	for _, x := range nested {
		if n, ok := x.(pipeline.NAT); ok {
			if ct.NAT != nil {
				return nil, fmt.Errorf("ct with two nat actions")
			}
			ct.NAT = &n
			continue
		}
		ct.Exec = append(ct.Exec, x)
	}
	return ct, nil
}

// decodeNat reads a nat chainwire writes: none, or one address of either
// family and at most one port, of the source or the destination.
func decodeNat(a []byte) (pipeline.Action, error) {
	flags, present := be.Uint16(a[12:]), be.Uint16(a[14:])
	b := a[16:]
	var n pipeline.NAT
	switch {
	case flags == 0 && present == 0:
		return n, nil
	case flags != nxNatFlagSrc && flags != nxNatFlagDst:
		return nil, fmt.Errorf("nat with flags 0x%x", flags)
	case present&^nxNatRangeProto == nxNatRangeIPv4 && len(b) >= 4:
		n.IP, b = net.IP(cloneBytes(b[:4])), b[4:]
	case present&^nxNatRangeProto == nxNatRangeIPv6 && len(b) >= 16:
		n.IP, b = net.IP(cloneBytes(b[:16])), b[16:]
	default:
		return nil, fmt.Errorf("nat with ranges 0x%x", present)
	}
	if present&nxNatRangeProto != 0 {
		if len(b) < 2 {
			return nil, fmt.Errorf("truncated nat port")
		}
		n.Port = be.Uint16(b)
	}
	n.Src = flags == nxNatFlagSrc
	return n, nil
}
