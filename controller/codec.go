package controller

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/contiv/libOpenflow/openflow13"
)

// oxmHeader is where a field lives on the wire: OXM/NXM class, field
// number and payload length (without mask).
type oxmHeader struct {
	class uint16
	field uint8
	len   uint8
}

const (
	classNXM0 = 0x0000
	classNXM1 = 0x0001
	classOXM  = 0x8000
)

// wire is the encoding of every pipeline field.
var wire = map[pipeline.Field]oxmHeader{
	pipeline.FieldInPort:       {classOXM, 0, 4},
	pipeline.FieldMetadata:     {classOXM, 2, 8},
	pipeline.FieldTunID:        {classNXM1, 16, 8},
	pipeline.FieldTunDst:       {classNXM1, 32, 4},
	pipeline.FieldTunMetadata0: {classNXM1, 40, 4}, // needs the TLV map: len is the option's 4 bytes
	pipeline.FieldVlanTCI:      {classNXM0, 4, 2},
	pipeline.FieldEthDst:       {classOXM, 3, 6},
	pipeline.FieldEthSrc:       {classOXM, 4, 6},
	pipeline.FieldEthType:      {classOXM, 5, 2},
	pipeline.FieldIPProto:      {classOXM, 10, 1},
	pipeline.FieldIPv4Src:      {classOXM, 11, 4},
	pipeline.FieldIPv4Dst:      {classOXM, 12, 4},
	pipeline.FieldTCPSrc:       {classOXM, 13, 2},
	pipeline.FieldTCPDst:       {classOXM, 14, 2},
	pipeline.FieldUDPSrc:       {classOXM, 15, 2},
	pipeline.FieldUDPDst:       {classOXM, 16, 2},
	pipeline.FieldICMPv4Type:   {classOXM, 19, 1},
	pipeline.FieldIPv6Src:      {classOXM, 26, 16},
	pipeline.FieldIPv6Dst:      {classOXM, 27, 16},
	pipeline.FieldICMPv6Type:   {classOXM, 29, 1},
	pipeline.FieldLoadInPort:   {classNXM0, 0, 2},
	pipeline.FieldConjID:       {classNXM1, 37, 4},
}

// fromWire maps what OVS may send back (it prefers OXM where one exists)
// to pipeline fields.
var fromWire = map[[2]uint16]pipeline.Field{
	{classOXM, 38}:  pipeline.FieldTunID, // OXM tunnel_id
	{classNXM0, 1}:  pipeline.FieldEthDst,
	{classNXM0, 2}:  pipeline.FieldEthSrc,
	{classNXM0, 3}:  pipeline.FieldEthType,
	{classNXM0, 6}:  pipeline.FieldIPProto,
	{classNXM0, 7}:  pipeline.FieldIPv4Src,
	{classNXM0, 8}:  pipeline.FieldIPv4Dst,
	{classNXM1, 19}: pipeline.FieldIPv6Src,
	{classNXM1, 20}: pipeline.FieldIPv6Dst,
}

const oxmVlanVID = 6 // OXM vlan_vid: OVS's form of our vlan_tci present-bit match

func init() {
	for i := 0; i < 16; i++ {
		wire[pipeline.Reg(i)] = oxmHeader{classNXM1, uint8(i), 4}
	}
	for f, h := range wire {
		fromWire[[2]uint16{h.class, uint16(h.field)}] = f
	}
}

func headerOf(f pipeline.Field) oxmHeader {
	h, ok := wire[f]
	if !ok {
		panic(fmt.Sprintf("controller: no wire encoding for field %s", f))
	}
	return h
}

// nxmHeader32 is the 32-bit NXM header used inside NX actions.
func nxmHeader32(f pipeline.Field) uint32 {
	h := headerOf(f)
	return uint32(h.class)<<16 | uint32(h.field)<<9 | uint32(h.len)
}

func fieldHeader(f pipeline.Field) *openflow13.MatchField {
	h := headerOf(f)
	return &openflow13.MatchField{Class: h.class, Field: h.field, Length: h.len}
}

// encodeFlowMod turns a flow into an OpenFlow 1.3 FLOW_MOD.
func encodeFlowMod(f pipeline.Flow, command uint8) *openflow13.FlowMod {
	fm := openflow13.NewFlowMod()
	fm.TableId = f.Stage.Table()
	fm.Priority = f.Priority
	fm.Cookie = f.Cookie
	fm.Command = command
	if command == openflow13.FC_DELETE_STRICT {
		fm.CookieMask = ^uint64(0)
	}
	for _, mf := range f.Match {
		h := headerOf(mf.Field)
		field := openflow13.MatchField{Class: h.class, Field: h.field, Length: h.len,
			Value: &openflow13.ByteArrayField{Data: mf.Value, Length: uint8(len(mf.Value))}}
		if mf.Mask != nil {
			field.HasMask = true
			field.Length = h.len * 2
			field.Mask = &openflow13.ByteArrayField{Data: mf.Mask, Length: uint8(len(mf.Mask))}
		}
		fm.Match.AddField(field)
	}
	if command == openflow13.FC_DELETE_STRICT {
		return fm
	}
	apply := openflow13.NewInstrApplyActions()
	var gotoTable *openflow13.InstrGotoTable
	for _, a := range f.Actions {
		switch a := a.(type) {
		case pipeline.Load:
			bits := a.Bits
			if bits == 0 {
				bits = uint8(a.Dst.Bits())
			}
			apply.AddAction(openflow13.NewNXActionRegLoad(uint16(a.Ofs)<<6|uint16(bits-1), fieldHeader(a.Dst), a.Value), false)
		case pipeline.Move:
			apply.AddAction(openflow13.NewNXActionRegMove(uint16(a.Bits), uint16(a.SrcOfs), uint16(a.DstOfs),
				fieldHeader(a.Src), fieldHeader(a.Dst)), false)
		case pipeline.Resubmit:
			apply.AddAction(openflow13.NewNXActionResubmitTableAction(openflow13.OFPP_IN_PORT, a.Stage.Table()), false)
		case pipeline.Output:
			apply.AddAction(openflow13.NewActionOutput(a.Port), false)
		case pipeline.Multipath:
			apply.AddAction(multipathAction(a), false)
		case pipeline.Conjunction:
			apply.AddAction(openflow13.NewNXActionConjunction(a.Clause-1, a.NClause, a.ID), false)
		case pipeline.Goto:
			gotoTable = openflow13.NewInstrGotoTable(a.Stage.Table())
		default:
			panic(fmt.Sprintf("controller: cannot encode action %T", a))
		}
	}
	if len(apply.Actions) > 0 {
		fm.AddInstruction(apply)
	}
	if gotoTable != nil {
		fm.AddInstruction(gotoTable)
	}
	return fm
}

// ---------------------------------------------------------------- decoding
//
// Read-back decodes flow stats itself rather than through libOpenflow's
// parsers, which reject fields they do not model (tun_id, for one): a flow
// we cannot decode exactly must still be seen, so that it is replaced.

var be = binary.BigEndian

// decodeMatch parses an ofp_match (type OXM); it returns the match and the
// number of bytes consumed, padding included.
func decodeMatch(b []byte) (pipeline.Match, int, error) {
	if len(b) < 4 {
		return nil, 0, fmt.Errorf("short match")
	}
	mlen := int(be.Uint16(b[2:]))
	padded := (mlen + 7) / 8 * 8
	if mlen < 4 || len(b) < padded {
		return nil, 0, fmt.Errorf("bad match length %d", mlen)
	}
	var m pipeline.Match
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
			val, mask = payload[:plen/2], payload[plen/2:]
		}
		if f, ok := fromWire[[2]uint16{class, field}]; ok && f == pipeline.FieldTunMetadata0 {
			val, mask = fitTunMetadata(val, mask)
		}
		if class == classOXM && field == oxmVlanVID {
			// OVS answers our vlan_tci match in OXM form; the VID and
			// present bits sit at the same positions.
			m = m.WithBytes(pipeline.FieldVlanTCI, append([]byte(nil), val...), cloneBytes(mask))
			continue
		}
		f, ok := fromWire[[2]uint16{class, field}]
		if !ok || len(val) != f.Bytes() {
			return nil, 0, fmt.Errorf("unsupported match field class 0x%04x field %d", class, field)
		}
		m = m.WithBytes(f, append([]byte(nil), val...), cloneBytes(mask))
	}
	return m, padded, nil
}

// fitTunMetadata widens a tun_metadata0 value to the mapped 4 bytes: OVS
// encodes variable-length fields with as few bytes as the value needs
// (0x04 rather than 0x00000004), the bytes left out being zero.
func fitTunMetadata(val, mask []byte) ([]byte, []byte) {
	const n = 4
	if len(val) >= n {
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
	var gotoAct pipeline.Action
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, fmt.Errorf("truncated instruction")
		}
		typ, ilen := be.Uint16(b), int(be.Uint16(b[2:]))
		if ilen < 4 || ilen > len(b) {
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
	if gotoAct != nil {
		acts = append(acts, gotoAct)
	}
	return acts, nil
}

const nxVendor = 0x00002320

func decodeActions(b []byte) ([]pipeline.Action, error) {
	var acts []pipeline.Action
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, fmt.Errorf("truncated action")
		}
		typ, alen := be.Uint16(b), int(be.Uint16(b[2:]))
		if alen < 8 || alen > len(b) {
			return nil, fmt.Errorf("bad action length %d", alen)
		}
		a := b[:alen]
		b = b[alen:]
		switch {
		case typ == openflow13.ActionType_Output:
			acts = append(acts, pipeline.Output{Port: be.Uint32(a[4:])})
		case typ == openflow13.ActionType_SetField:
			l, err := decodeLoadTLV(a[4:])
			if err != nil {
				return nil, err
			}
			acts = append(acts, l)
		case typ == openflow13.ActionType_Experimenter && be.Uint32(a[4:]) == nxVendor:
			act, err := decodeNXAction(be.Uint16(a[8:]), a)
			if err != nil {
				return nil, err
			}
			acts = append(acts, act)
		default:
			return nil, fmt.Errorf("unsupported action type %d", typ)
		}
	}
	return acts, nil
}

func decodeNXAction(subtype uint16, a []byte) (pipeline.Action, error) {
	switch subtype {
	case openflow13.NXAST_REG_LOAD:
		ofsNbits := be.Uint16(a[10:])
		f, err := fieldFromNXM(be.Uint32(a[12:]))
		if err != nil {
			return nil, err
		}
		return pipeline.Load{Dst: f, Ofs: uint8(ofsNbits >> 6), Bits: uint8(ofsNbits&0x3f) + 1, Value: be.Uint64(a[16:])}, nil
	case openflow13.NXAST_REG_LOAD2:
		// OVS's form of a load it cannot express as NXAST_REG_LOAD, such
		// as one into tun_metadata0: an OXM with value and mask.
		return decodeLoadTLV(a[10:])
	case openflow13.NXAST_REG_MOVE:
		src, err := fieldFromNXM(be.Uint32(a[16:]))
		if err != nil {
			return nil, err
		}
		dst, err := fieldFromNXM(be.Uint32(a[20:]))
		if err != nil {
			return nil, err
		}
		return pipeline.Move{Src: src, SrcOfs: uint8(be.Uint16(a[12:])), Dst: dst,
			DstOfs: uint8(be.Uint16(a[14:])), Bits: uint8(be.Uint16(a[10:]))}, nil
	case nxastMultipath:
		if be.Uint16(a[10:]) != nxHashSymmetricL3L4UDP || be.Uint16(a[16:]) != nxMPModuloN {
			return nil, fmt.Errorf("unsupported multipath fields/algorithm")
		}
		f, err := fieldFromNXM(be.Uint32(a[28:]))
		if err != nil {
			return nil, err
		}
		ofsNbits := be.Uint16(a[26:])
		return pipeline.Multipath{Links: be.Uint16(a[18:]) + 1, Dst: f, Ofs: uint8(ofsNbits >> 6), Bits: uint8(ofsNbits&0x3f) + 1}, nil
	case openflow13.NXAST_CONJUNCTION:
		return pipeline.Conjunction{Clause: a[10] + 1, NClause: a[11], ID: be.Uint32(a[12:])}, nil
	case openflow13.NXAST_RESUBMIT_TABLE:
		s, ok := pipeline.StageOfTable(a[12])
		if !ok {
			return nil, fmt.Errorf("resubmit to table %d, not a pipeline table", a[12])
		}
		return pipeline.Resubmit{Stage: s}, nil
	}
	return nil, fmt.Errorf("unsupported Nicira action %d", subtype)
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
	ofpMatch[1], ofpMatch[3] = 1, byte(4+4+plen)
	ofpMatch = append(append(ofpMatch, b[:4+plen]...), make([]byte, 8)...)
	m, _, err := decodeMatch(ofpMatch)
	if err != nil || len(m) != 1 || m[0].Field.Bits() > 64 {
		return nil, fmt.Errorf("unsupported load: %v", err)
	}
	mf := m[0]
	if mf.Mask == nil {
		return pipeline.Load{Dst: mf.Field, Value: mf.Uint()}, nil
	}
	mask := mf.MaskUint()
	ofs := bits.TrailingZeros64(mask)
	n := bits.OnesCount64(mask)
	if mask>>ofs != 1<<n-1 {
		return nil, fmt.Errorf("load with a non-contiguous mask 0x%x", mask)
	}
	return pipeline.Load{Dst: mf.Field, Ofs: uint8(ofs), Bits: uint8(n), Value: mf.Uint() & mask >> ofs}, nil
}

// decodeFlowStats parses the body of an OFPMP_FLOW reply. Entries that use
// something this codec does not know are returned in unknown (cookie and
// key only), so the reconciler can replace or delete them.
func decodeFlowStats(b []byte) (flows []installedFlow, err error) {
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
		table := e[2]
		stage, ok := pipeline.StageOfTable(table)
		inst := installedFlow{table: table, priority: be.Uint16(e[12:]), cookie: be.Uint64(e[24:])}
		m, n, merr := decodeMatch(e[48:])
		if merr != nil {
			inst.decodeErr = merr
			flows = append(flows, inst)
			continue
		}
		inst.match = m
		if !ok {
			inst.decodeErr = fmt.Errorf("table %d is not a pipeline table", table)
			flows = append(flows, inst)
			continue
		}
		acts, aerr := decodeInstructions(e[48+n:])
		inst.decodeErr = aerr
		inst.flow = pipeline.Flow{Stage: stage, Priority: inst.priority, Cookie: inst.cookie, Match: m, Actions: acts}
		flows = append(flows, inst)
	}
	return flows, nil
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

// NXAST_MULTIPATH, which libOpenflow lacks: nx_action_multipath.
const (
	nxastMultipath          = 10
	nxHashSymmetricL3L4UDP  = 3
	nxMPModuloN             = 0
	nxActionMultipathLength = 32
)

// rawAction is an action libOpenflow cannot build; its bytes are final.
type rawAction []byte

func (r rawAction) Header() *openflow13.ActionHeader {
	return &openflow13.ActionHeader{Type: openflow13.ActionType_Experimenter, Length: uint16(len(r))}
}
func (r rawAction) Len() uint16                    { return uint16(len(r)) }
func (r rawAction) MarshalBinary() ([]byte, error) { return r, nil }
func (r rawAction) UnmarshalBinary([]byte) error   { return fmt.Errorf("rawAction is encode-only") }

func multipathAction(a pipeline.Multipath) rawAction {
	b := make([]byte, nxActionMultipathLength)
	be.PutUint16(b, openflow13.ActionType_Experimenter)
	be.PutUint16(b[2:], nxActionMultipathLength)
	be.PutUint32(b[4:], nxVendor)
	be.PutUint16(b[8:], nxastMultipath)
	be.PutUint16(b[10:], nxHashSymmetricL3L4UDP)
	be.PutUint16(b[16:], nxMPModuloN)
	be.PutUint16(b[18:], a.Links-1)
	bits := a.Bits
	if bits == 0 {
		bits = uint8(a.Dst.Bits())
	}
	be.PutUint16(b[26:], uint16(a.Ofs)<<6|uint16(bits-1))
	be.PutUint32(b[28:], nxmHeader32(a.Dst))
	return b
}
