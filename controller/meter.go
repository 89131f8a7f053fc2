package controller

import (
	"context"
	"fmt"
	"strings"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/contiv/libOpenflow/openflow13"
)

// Meters cannot go into a bundle (OVS accepts only flow, group and port
// mods and packet-outs there), so the reconciler sends them around it:
// new and changed meters before the bundle that starts using them,
// deleted ones after the bundle that stopped (OpenFlow deletes the flows
// that use a meter along with it).

// MeterOp is one meter mod.
type MeterOp struct {
	Cmd   Command
	Meter pipeline.Meter
}

func (op MeterOp) String() string {
	if op.Cmd == Delete {
		return fmt.Sprintf("delete meter=%d", op.Meter.ID)
	}
	return op.Cmd.String() + " " + op.Meter.String()
}

// MeterError lists the meter mods the switch refused; the others were
// applied.
type MeterError struct{ Failed []*OFError }

func (e *MeterError) Error() string {
	parts := make([]string, len(e.Failed))
	for i, f := range e.Failed {
		parts[i] = f.Error()
	}
	return strings.Join(parts, "; ")
}

// Refused reports whether the switch refused the mod of meter id.
func (e *MeterError) Refused(id uint32) bool {
	for _, f := range e.Failed {
		if f.meter == id {
			return true
		}
	}
	return false
}

// OpenFlow 1.3 meter mod layout.
const (
	meterModFixed = 16                       // header, command, flags, meter_id
	meterBandLen  = 16                       // type, len, rate, burst_size, pad
	meterFlags    = openflow13.OFPMF13_STATS // and KBPS or PKTPS, and BURST
)

// encodeMeterMod builds an OFPT_METER_MOD with one drop band.
func encodeMeterMod(op MeterOp, xid uint32) []byte {
	m := op.Meter
	b := make([]byte, meterModFixed, meterModFixed+meterBandLen)
	b[0], b[1] = 4, openflow13.Type_MeterMod
	be.PutUint32(b[4:], xid)
	be.PutUint16(b[8:], map[Command]uint16{Add: openflow13.OFPMC_ADD, Modify: openflow13.OFPMC_MODIFY, Delete: openflow13.OFPMC_DELETE}[op.Cmd])
	be.PutUint32(b[12:], m.ID)
	if op.Cmd != Delete {
		flags := uint16(meterFlags | openflow13.OFPMF13_KBPS)
		if m.Pktps {
			flags = meterFlags | openflow13.OFPMF13_PKTPS
		}
		if m.Burst > 0 {
			flags |= openflow13.OFPMF13_BURST
		}
		be.PutUint16(b[10:], flags)
		band := make([]byte, meterBandLen)
		be.PutUint16(band, openflow13.OFPMBT13_DROP)
		be.PutUint16(band[2:], meterBandLen)
		be.PutUint32(band[4:], m.Rate)
		be.PutUint32(band[8:], m.Burst)
		b = append(b, band...)
	}
	be.PutUint16(b[2:], uint16(len(b)))
	return b
}

// MeterMods sends meter mods followed by a barrier and waits for it.
func (cn *Conn) MeterMods(ctx context.Context, ops []MeterOp) error {
	if len(ops) == 0 {
		return nil
	}
	byXID := make(map[uint32]MeterOp, len(ops))
	xids := make([]uint32, 0, len(ops)+1)
	bufs := make([][]byte, 0, len(ops)+1)
	for _, op := range ops {
		x := cn.nextXID()
		byXID[x] = op
		xids = append(xids, x)
		bufs = append(bufs, encodeMeterMod(op, x))
	}
	barrier := barrierMsg(cn.nextXID())
	r, err := cn.exchange(ctx, append(xids, xidOf(barrier)), append(bufs, barrier))
	if err != nil {
		return err
	}
	if len(r.errs) == 0 {
		return nil
	}
	me := &MeterError{}
	for _, e := range r.errs {
		if op, ok := byXID[e.xid]; ok {
			e.Op, e.meter = op.String(), op.Meter.ID
		}
		me.Failed = append(me.Failed, e)
	}
	return me
}

// installedMeter is a meter read back: decodeErr says why it is not one
// chainwire could have made (then it is replaced).
type installedMeter struct {
	meter     pipeline.Meter
	decodeErr error
}

// ReadMeters returns every installed meter (OFPMP_METER_CONFIG).
func (cn *Conn) ReadMeters(ctx context.Context) ([]installedMeter, error) {
	m := make(rawMsg, 24)
	m[0], m[1] = 4, openflow13.Type_MultiPartRequest
	be.PutUint16(m[8:], openflow13.MultipartType_MeterConfig)
	be.PutUint32(m[16:], openflow13.OFPM13_ALL)
	body, err := cn.request(ctx, m)
	if err != nil {
		return nil, err
	}
	return decodeMeterConfig(body)
}

// decodeMeterConfig parses the body of an OFPMP_METER_CONFIG reply.
func decodeMeterConfig(b []byte) ([]installedMeter, error) {
	var out []installedMeter
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, fmt.Errorf("truncated meter configuration")
		}
		n := int(be.Uint16(b))
		if n < 8 || n > len(b) {
			return nil, fmt.Errorf("bad meter configuration length %d", n)
		}
		e := b[:n]
		b = b[n:]
		flags := be.Uint16(e[2:])
		im := installedMeter{meter: pipeline.Meter{ID: be.Uint32(e[4:])}}
		bands := e[8:]
		unit := flags &^ uint16(openflow13.OFPMF13_BURST|meterFlags)
		switch {
		case flags&meterFlags != meterFlags || unit != openflow13.OFPMF13_KBPS && unit != openflow13.OFPMF13_PKTPS:
			im.decodeErr = fmt.Errorf("meter %d has flags 0x%x", im.meter.ID, flags)
		case len(bands) != meterBandLen || be.Uint16(bands) != openflow13.OFPMBT13_DROP:
			im.decodeErr = fmt.Errorf("meter %d is not one drop band", im.meter.ID)
		default:
			im.meter.Pktps = unit == openflow13.OFPMF13_PKTPS
			im.meter.Rate = be.Uint32(bands[4:])
			if flags&openflow13.OFPMF13_BURST != 0 {
				im.meter.Burst = be.Uint32(bands[8:])
			}
		}
		out = append(out, im)
	}
	return out, nil
}
