package controller

import (
	"encoding/binary"
	"fmt"

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
	pipeline.FieldIPDSCP:       {classOXM, 8, 1},
	pipeline.FieldIPECN:        {classOXM, 9, 1},
	pipeline.FieldSCTPSrc:      {classOXM, 17, 2},
	pipeline.FieldSCTPDst:      {classOXM, 18, 2},
	pipeline.FieldICMPv4Code:   {classOXM, 20, 1},
	pipeline.FieldARPOp:        {classOXM, 21, 2},
	pipeline.FieldARPSPA:       {classOXM, 22, 4},
	pipeline.FieldARPTPA:       {classOXM, 23, 4},
	pipeline.FieldARPSHA:       {classOXM, 24, 6},
	pipeline.FieldARPTHA:       {classOXM, 25, 6},
	pipeline.FieldICMPv6Code:   {classOXM, 30, 1},
	pipeline.FieldNDTarget:     {classOXM, 31, 16},
	pipeline.FieldNDSLL:        {classOXM, 32, 6},
	pipeline.FieldNDTLL:        {classOXM, 33, 6},
	pipeline.FieldIPFrag:       {classNXM1, 26, 1},
	pipeline.FieldIPTTL:        {classNXM1, 29, 1},
	pipeline.FieldTCPFlags:     {classNXM1, 34, 2},
	pipeline.FieldCtState:      {classNXM1, 105, 4},
	pipeline.FieldCtZone:       {classNXM1, 106, 2},
	pipeline.FieldCtMark:       {classNXM1, 107, 4},
	pipeline.FieldCtLabel:      {classNXM1, 108, 16},
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
	{classNXM0, 15}: pipeline.FieldARPOp, // the ARP responder's loads come back in NXM
	{classNXM0, 16}: pipeline.FieldARPSPA,
	{classNXM0, 17}: pipeline.FieldARPTPA,
	{classNXM1, 17}: pipeline.FieldARPSHA,
	{classNXM1, 18}: pipeline.FieldARPTHA,
}

const oxmVlanVID = 6 // OXM vlan_vid: OVS's form of our vlan_tci present-bit match

var be = binary.BigEndian

const nxVendor = 0x00002320

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
	if command == openflow13.FC_MODIFY_STRICT {
		// Only our own flow: a foreign one with the same match is left alone.
		fm.CookieMask = ^uint64(0)
	}
	list := f.Actions
	if m, ok := firstMeter(list); ok {
		// OpenFlow 1.3 orders instructions: meter, apply-actions, goto.
		fm.AddInstruction(openflow13.NewInstrMeter(m.ID))
		list = list[1:]
	}
	acts, gotoTable := encodeActions(list)
	if len(acts) > 0 {
		apply := openflow13.NewInstrApplyActions()
		for _, a := range acts {
			apply.AddAction(a, false)
		}
		fm.AddInstruction(apply)
	}
	if gotoTable != nil {
		fm.AddInstruction(gotoTable)
	}
	return fm
}

// firstMeter is a flow's meter: the renderer puts it first.
func firstMeter(acts []pipeline.Action) (pipeline.SetMeter, bool) {
	if len(acts) == 0 {
		return pipeline.SetMeter{}, false
	}
	m, ok := acts[0].(pipeline.SetMeter)
	return m, ok
}

// encodeActions turns an action list into OpenFlow actions and, for a
// Goto, the goto_table instruction.
func encodeActions(list []pipeline.Action) ([]openflow13.Action, *openflow13.InstrGotoTable) {
	var out []openflow13.Action
	var gotoTable *openflow13.InstrGotoTable
	for _, a := range list {
		switch a := a.(type) {
		case pipeline.Load:
			bits := a.Bits
			if bits == 0 {
				bits = uint8(a.Dst.Bits())
			}
			out = append(out, openflow13.NewNXActionRegLoad(uint16(a.Ofs)<<6|uint16(bits-1), fieldHeader(a.Dst), a.Value))
		case pipeline.Move:
			out = append(out, openflow13.NewNXActionRegMove(uint16(a.Bits), uint16(a.SrcOfs), uint16(a.DstOfs),
				fieldHeader(a.Src), fieldHeader(a.Dst)))
		case pipeline.Resubmit:
			out = append(out, openflow13.NewNXActionResubmitTableAction(openflow13.OFPP_IN_PORT, a.Stage.Table()))
		case pipeline.Output:
			out = append(out, openflow13.NewActionOutput(a.Port))
		case pipeline.Multipath:
			out = append(out, multipathAction(a))
		case pipeline.Conjunction:
			out = append(out, openflow13.NewNXActionConjunction(a.Clause-1, a.NClause, a.ID))
		case pipeline.ToGroup:
			out = append(out, openflow13.NewActionGroup(a.ID))
		case pipeline.Controller:
			out = append(out, controllerAction(a))
		case pipeline.Ct:
			out = append(out, ctAction(a))
		case pipeline.Clone:
			out = append(out, cloneAction(a))
		case pipeline.DecTTL:
			out = append(out, openflow13.NewActionDecNwTtl())
		case pipeline.Goto:
			gotoTable = openflow13.NewInstrGotoTable(a.Stage.Table())
		default:
			panic(fmt.Sprintf("controller: cannot encode action %T", a))
		}
	}
	return out, gotoTable
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

// NXAST_CONTROLLER2: a controller action with properties.
const (
	nxastController2  = 37
	nxac2ptMaxLen     = 0
	nxac2ptController = 1
	nxac2ptReason     = 2
	nxac2ptUserdata   = 3
	nxac2ptPause      = 4
	nxac2ptMeterID    = 5
)

// controllerAction encodes NXAST_CONTROLLER2 with the properties OVS
// itself writes for it, in its order (userdata, pause, meter), so that a
// read-back compares equal.
func controllerAction(a pipeline.Controller) rawAction {
	b := make([]byte, 16)
	be.PutUint16(b, openflow13.ActionType_Experimenter)
	be.PutUint32(b[4:], nxVendor)
	be.PutUint16(b[8:], nxastController2)
	if len(a.Userdata) > 0 {
		b = appendProp(b, nxac2ptUserdata, a.Userdata)
	}
	if a.Pause {
		b = appendProp(b, nxac2ptPause, nil)
	}
	if a.Meter != 0 {
		b = appendProp(b, nxac2ptMeterID, be.AppendUint32(nil, a.Meter))
	}
	be.PutUint16(b[2:], uint16(len(b)))
	return b
}

// appendProp appends an OpenFlow property (type, length without padding,
// value, zero padding to 8 bytes).
func appendProp(b []byte, typ uint16, value []byte) []byte {
	n := 4 + len(value)
	b = be.AppendUint16(b, typ)
	b = be.AppendUint16(b, uint16(n))
	b = append(b, value...)
	return append(b, make([]byte, (n+7)/8*8-n)...)
}

// NXAST_CT (nx_action_conntrack).
const (
	nxastCt         = 35
	nxCtFlagCommit  = 1 << 0
	nxCtRecircNone  = 0xff
	nxActionCtFixed = 24
)

// ctAction encodes ct(): flags, the zone (a constant, or a register's
// low 16 bits), the recirculation table, and the nested nat and exec
// actions.
func ctAction(a pipeline.Ct) rawAction {
	b := make([]byte, nxActionCtFixed)
	if a.Commit {
		be.PutUint16(b[10:], nxCtFlagCommit)
	}
	if a.Zone != 0 {
		be.PutUint16(b[16:], a.Zone) // zone_src 0: an immediate zone
	} else {
		be.PutUint32(b[12:], nxmHeader32(a.ZoneReg))
		be.PutUint16(b[16:], 0<<6|15) // bits 0..15
	}
	b[18] = nxCtRecircNone
	if a.Recirc {
		b[18] = a.Table.Table()
	}
	if a.NAT != nil {
		b = append(b, natAction(*a.NAT)...)
	}
	nested, _ := encodeActions(a.Exec)
	for _, x := range nested {
		raw, err := x.MarshalBinary()
		if err != nil {
			panic(fmt.Sprintf("controller: ct exec action: %v", err))
		}
		b = append(b, raw...)
	}
	return nxAction(nxastCt, b[10:])
}

// NXAST_CLONE: six bytes of padding, then the nested actions.
const (
	nxastClone         = 42
	nxActionCloneFixed = 16
)

func cloneAction(a pipeline.Clone) rawAction {
	b := make([]byte, nxActionCloneFixed)
	nested, gotoTable := encodeActions(a.Actions)
	if gotoTable != nil {
		panic("controller: goto_table inside clone")
	}
	for _, x := range nested {
		raw, err := x.MarshalBinary()
		if err != nil {
			panic(fmt.Sprintf("controller: clone action: %v", err))
		}
		b = append(b, raw...)
	}
	return nxAction(nxastClone, b[10:])
}

// NXAST_NAT (nx_action_nat), nested in ct.
const (
	nxastNat        = 36
	nxNatFlagSrc    = 1 << 0
	nxNatFlagDst    = 1 << 1
	nxNatRangeIPv4  = 1 << 0 // the minimum only: one address
	nxNatRangeIPv6  = 1 << 2
	nxNatRangeProto = 1 << 4
)

// natAction encodes nat, or nat(src|dst=IP[:PORT]) as OVS does: the
// minimum of each range only.
func natAction(n pipeline.NAT) rawAction {
	body := make([]byte, 6) // pad, flags, range_present
	if n.IP != nil {
		flags, present := uint16(nxNatFlagDst), uint16(0)
		if n.Src {
			flags = nxNatFlagSrc
		}
		var addrs []byte
		if v4 := n.IP.To4(); v4 != nil {
			present, addrs = nxNatRangeIPv4, v4
		} else {
			present, addrs = nxNatRangeIPv6, n.IP.To16()
		}
		body = append(body, addrs...)
		if n.Port != 0 {
			present |= nxNatRangeProto
			body = be.AppendUint16(body, n.Port)
		}
		be.PutUint16(body[2:], flags)
		be.PutUint16(body[4:], present)
	}
	return nxAction(nxastNat, body)
}

// nxAction frames a Nicira action: header, vendor, subtype, body (padded
// to 8 bytes).
func nxAction(subtype uint16, body []byte) rawAction {
	n := (10 + len(body) + 7) / 8 * 8
	b := make([]byte, n)
	be.PutUint16(b, openflow13.ActionType_Experimenter)
	be.PutUint16(b[2:], uint16(n))
	be.PutUint32(b[4:], nxVendor)
	be.PutUint16(b[8:], subtype)
	copy(b[10:], body)
	return b
}
