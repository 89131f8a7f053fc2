package controller

import (
	"fmt"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/contiv/libOpenflow/openflow13"
)

// The switch's side of the codec: what a switch does with our messages
// and how it describes its tables. The fake switch of the tests
// (controller/fakeswitch) is built on these; the encoders they mirror are
// checked against OVS itself (codec_test.go).

// ParseMod decodes a FLOW_MOD or GROUP_MOD message (header included) into
// the Op it carries. Flow mods other than add, modify-strict and
// delete-strict are an error, as chainwired sends no others.
func ParseMod(msg []byte) (Op, error) {
	if len(msg) < 16 {
		return Op{}, fmt.Errorf("short message")
	}
	switch msg[1] {
	case openflow13.Type_FlowMod:
		return parseFlowMod(msg)
	case openflow13.Type_GroupMod:
		return parseGroupMod(msg)
	}
	return Op{}, fmt.Errorf("message type %d is no flow or group mod", msg[1])
}

func parseFlowMod(fm []byte) (Op, error) {
	if len(fm) < 56 {
		return Op{}, fmt.Errorf("short FLOW_MOD")
	}
	stage, ok := pipeline.StageOfTable(fm[24])
	if !ok {
		return Op{}, fmt.Errorf("table %d is not a pipeline table", fm[24])
	}
	cmd, ok := map[uint8]Command{openflow13.FC_ADD: Add, openflow13.FC_MODIFY_STRICT: Modify, openflow13.FC_DELETE_STRICT: Delete}[fm[25]]
	if !ok {
		return Op{}, fmt.Errorf("flow mod command %d", fm[25])
	}
	f := pipeline.Flow{Stage: stage, Cookie: be.Uint64(fm[8:]), Priority: be.Uint16(fm[30:])}
	m, n, err := decodeMatch(fm[48:])
	if err != nil {
		return Op{}, err
	}
	f.Match = m
	if cmd != Delete {
		if f.Actions, err = decodeInstructions(fm[48+n:]); err != nil {
			return Op{}, err
		}
	}
	return FlowOp(cmd, f), nil
}

func parseGroupMod(gm []byte) (Op, error) {
	cmd, ok := map[uint16]Command{openflow13.OFPGC_ADD: Add, openflow13.OFPGC_MODIFY: Modify, openflow13.OFPGC_DELETE: Delete}[be.Uint16(gm[8:])]
	if !ok {
		return Op{}, fmt.Errorf("group mod command %d", be.Uint16(gm[8:]))
	}
	g := pipeline.Group{Type: pipeline.GroupType(gm[10]), ID: be.Uint32(gm[12:])}
	for b := gm[16:]; len(b) > 0; {
		bk, rest, err := decodeBucket(b)
		if err != nil {
			return Op{}, err
		}
		g.Buckets = append(g.Buckets, bk)
		b = rest
	}
	return GroupOp(cmd, g), nil
}

// FlowStatsEntry encodes a flow as an OFPMP_FLOW reply entry.
func FlowStatsEntry(f pipeline.Flow) []byte {
	fm, _ := encodeFlowMod(f, openflow13.FC_ADD).MarshalBinary()
	e := make([]byte, 48)
	e[2] = f.Stage.Table()
	be.PutUint16(e[12:], f.Priority)
	be.PutUint64(e[24:], f.Cookie)
	e = append(e, fm[48:]...)
	be.PutUint16(e, uint16(len(e)))
	return e
}

// FlowUpdateEntry encodes a flow as a full flow monitor update entry
// (event: 0 added, 1 deleted, 2 modified).
func FlowUpdateEntry(event uint16, f pipeline.Flow) []byte {
	fm, _ := encodeFlowMod(f, openflow13.FC_ADD).MarshalBinary()
	body := fm[48:] // match, then instructions
	e := make([]byte, 24)
	be.PutUint16(e[2:], event)
	be.PutUint16(e[6:], f.Priority)
	be.PutUint16(e[12:], be.Uint16(body[2:])) // match length
	e[14] = f.Stage.Table()
	be.PutUint64(e[16:], f.Cookie)
	e = append(e, body...)
	be.PutUint16(e, uint16(len(e)))
	return e
}

// GroupDescEntry encodes a group as an OFPMP_GROUP_DESC reply entry.
func GroupDescEntry(g pipeline.Group) []byte {
	gm, _ := encodeGroupMod(g, Add).MarshalBinary()
	e := make([]byte, 8)
	e[2] = uint8(g.Type)
	be.PutUint32(e[4:], g.ID)
	e = append(e, gm[16:]...)
	be.PutUint16(e, uint16(len(e)))
	return e
}

// ParseMeterMod decodes a METER_MOD message (header included).
func ParseMeterMod(msg []byte) (MeterOp, error) {
	if len(msg) < meterModFixed || msg[1] != openflow13.Type_MeterMod {
		return MeterOp{}, fmt.Errorf("no meter mod")
	}
	cmd, ok := map[uint16]Command{openflow13.OFPMC_ADD: Add, openflow13.OFPMC_MODIFY: Modify, openflow13.OFPMC_DELETE: Delete}[be.Uint16(msg[8:])]
	if !ok {
		return MeterOp{}, fmt.Errorf("meter mod command %d", be.Uint16(msg[8:]))
	}
	op := MeterOp{Cmd: cmd, Meter: pipeline.Meter{ID: be.Uint32(msg[12:])}}
	if cmd == Delete {
		return op, nil
	}
	// A meter mod is a meter configuration entry behind a longer header.
	entry := append([]byte{0, 0}, msg[10:]...)
	be.PutUint16(entry, uint16(len(entry)))
	ms, err := decodeMeterConfig(entry)
	if err != nil {
		return MeterOp{}, err
	}
	if ms[0].decodeErr != nil {
		return MeterOp{}, ms[0].decodeErr
	}
	op.Meter = ms[0].meter
	return op, nil
}

// MeterConfigEntry encodes a meter as an OFPMP_METER_CONFIG reply entry.
func MeterConfigEntry(m pipeline.Meter) []byte {
	mm := encodeMeterMod(MeterOp{Cmd: Add, Meter: m}, 0)
	e := append([]byte{0, 0}, mm[10:]...)
	be.PutUint16(e, uint16(len(e)))
	return e
}
