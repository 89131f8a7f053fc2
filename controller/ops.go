package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/contiv/libOpenflow/common"
	"github.com/contiv/libOpenflow/openflow13"
)

// FlowOp is one change in a bundle.
type FlowOp struct {
	Delete bool // false: add (or replace the flow with the same key)
	Flow   pipeline.Flow
}

func (op FlowOp) String() string {
	verb := "add"
	if op.Delete {
		verb = "delete"
	}
	return verb + " " + op.Flow.String()
}

// BundleError is a bundle the switch refused; nothing of it was applied.
type BundleError struct {
	Failed []*OFError // per-flow errors, each naming its flow
	Cause  *OFError   // the bundle-level error, if any
}

func (e *BundleError) Error() string {
	var parts []string
	for _, f := range e.Failed {
		parts = append(parts, f.Error())
	}
	if e.Cause != nil && len(parts) == 0 {
		parts = append(parts, "bundle: "+e.Cause.Name())
	}
	return fmt.Sprintf("atomic bundle rejected, nothing applied: %s", strings.Join(parts, "; "))
}

var bundleIDs atomic.Uint32

// Bundle applies ops as one atomic, ordered bundle: every packet sees the
// flow table from before or from after the whole change. The adds are
// checked by a barrier before the commit; if any was refused, the bundle
// is discarded, so a partial bundle is never committed.
func (cn *Conn) Bundle(ctx context.Context, ops []FlowOp) error {
	if len(ops) == 0 {
		return nil
	}
	id := bundleIDs.Add(1)
	const flags = openflow13.OFPBCT_ATOMIC | openflow13.OFPBCT_ORDERED
	control := func(typ uint16) ([]byte, uint32) {
		m := openflow13.NewBundleControl(&openflow13.BundleControl{BundleID: id, Type: typ, Flags: flags})
		x := cn.nextXID()
		m.Header.Xid = x
		b, _ := m.MarshalBinary()
		return b, x
	}
	byXID := make(map[uint32]FlowOp, len(ops))
	addXIDs := make([]uint32, 0, len(ops))
	bufs := make([][]byte, 0, len(ops)+2)
	open, openXID := control(openflow13.OFPBCT_OPEN_REQUEST)
	bufs = append(bufs, open)
	for _, op := range ops {
		cmd := uint8(openflow13.FC_ADD)
		if op.Delete {
			cmd = openflow13.FC_DELETE_STRICT
		}
		fm := encodeFlowMod(op.Flow, cmd)
		x := cn.nextXID()
		fm.Xid = x // the inner xid must equal the bundle-add's
		add := openflow13.NewBundleAdd(&openflow13.BundleAdd{BundleID: id, Flags: flags, Message: fm})
		add.Header.Xid = x
		b, err := add.MarshalBinary()
		if err != nil {
			return fmt.Errorf("encode %s: %w", op, err)
		}
		byXID[x] = op
		addXIDs = append(addXIDs, x)
		bufs = append(bufs, b)
	}
	barrier := openflow13.NewOfp13Header()
	barrier.Type = openflow13.Type_BarrierRequest
	barrier.Xid = cn.nextXID()
	bb, _ := barrier.MarshalBinary()
	bufs = append(bufs, bb)

	xids := append(append([]uint32{openXID}, addXIDs...), barrier.Xid)
	r, err := cn.exchange(ctx, xids, bufs)
	if err != nil {
		return err
	}
	if len(r.errs) > 0 {
		discard, dx := control(openflow13.OFPBCT_DISCARD_REQUEST)
		cn.exchange(ctx, []uint32{dx}, [][]byte{discard})
		return bundleError(r.errs, byXID)
	}
	commit, cx := control(openflow13.OFPBCT_COMMIT_REQUEST)
	r, err = cn.exchange(ctx, append(addXIDs, cx), [][]byte{commit})
	if err != nil {
		return err
	}
	if len(r.errs) > 0 {
		return bundleError(r.errs, byXID)
	}
	return nil
}

func bundleError(errs []*OFError, byXID map[uint32]FlowOp) error {
	be := &BundleError{}
	for _, e := range errs {
		if op, ok := byXID[e.xid]; ok {
			e.Flow = op.String()
			be.Failed = append(be.Failed, e)
		} else {
			be.Cause = e
		}
	}
	return be
}

// ReadFlows returns the flows installed with cookie&mask == cookie&mask,
// across all tables.
func (cn *Conn) ReadFlows(ctx context.Context, cookie, mask uint64) ([]installedFlow, error) {
	req := openflow13.NewFlowStatsRequest()
	req.TableId = openflow13.OFPTT_ALL
	req.Cookie, req.CookieMask = cookie, mask
	mp := &openflow13.MultipartRequest{Header: openflow13.NewOfp13Header(), Type: openflow13.MultipartType_Flow, Body: req}
	mp.Header.Type = openflow13.Type_MultiPartRequest
	body, err := cn.request(ctx, multipartMsg{mp})
	if err != nil {
		return nil, err
	}
	return decodeFlowStats(body)
}

type multipartMsg struct{ *openflow13.MultipartRequest }

func (m multipartMsg) setXID(x uint32) { m.Header.Xid = x }

// Geneve option carrying OVN's logical ports (class 0x0102, type 0x80,
// 4 bytes), mapped to tun_metadata0.
const (
	tlvClass = 0x0102
	tlvType  = 0x80
	tlvLen   = 4
)

const (
	nxtTLVTableMod = 24
	nxtTLVTableReq = 25
)

// EnsureTLVMap maps the OVN Geneve option to tun_metadata0. The map is per
// bridge and lost when ovs-vswitchd restarts, so every connect asks for
// the table (NXT_TLV_TABLE_REQUEST) and adds the mapping if it is
// missing; ALREADY_MAPPED means another session did it in between. A
// successful TLV mod has no reply, so a barrier follows it.
func (cn *Conn) EnsureTLVMap(ctx context.Context) error {
	if mapped, err := cn.TLVMapped(ctx); err != nil || mapped {
		return err
	}
	mod := nxMessage(nxtTLVTableMod, []byte{
		0, 0, 0, 0, 0, 0, 0, 0, // command ADD (0), pad[6]
		tlvClass >> 8, tlvClass & 0xff, tlvType, tlvLen, 0, 0, 0, 0, // class, type, len, index 0, pad[2]
	})
	modXID := cn.nextXID()
	mod.setXID(modXID)
	barrier := openflow13.NewOfp13Header()
	barrier.Type = openflow13.Type_BarrierRequest
	barrier.Xid = cn.nextXID()
	bb, _ := barrier.MarshalBinary()
	mb, _ := mod.MarshalBinary()
	r, err := cn.exchange(ctx, []uint32{modXID, barrier.Xid}, [][]byte{mb, bb})
	if err != nil {
		return err
	}
	for _, e := range r.errs {
		if !errors.Is(e, ErrAlreadyMapped) {
			return fmt.Errorf("Geneve TLV map {class=0x%04x,type=0x%02x,len=%d}->tun_metadata0: %w", tlvClass, tlvType, tlvLen, e)
		}
	}
	return nil
}

// TLVMapped reports whether the switch maps the OVN option to
// tun_metadata0 (NXT_TLV_TABLE_REQUEST).
func (cn *Conn) TLVMapped(ctx context.Context) (bool, error) {
	reply, err := cn.request(ctx, nxMessage(nxtTLVTableReq, nil))
	if err != nil {
		return false, err
	}
	// nx_tlv_table_reply: max_option_space u32, max_fields u16, pad[10], maps.
	maps := reply[16:]
	if len(maps) < 16 {
		return false, nil
	}
	for m := maps[16:]; len(m) >= 8; m = m[8:] {
		if be.Uint16(m) == tlvClass && m[2] == tlvType && m[3] == tlvLen && be.Uint16(m[4:]) == 0 {
			return true, nil
		}
	}
	return false, nil
}

// nxMessage frames a Nicira extension message (OF1.3 experimenter 0x2320).
func nxMessage(subtype uint32, body []byte) rawMsg {
	h := common.Header{Version: 4, Type: openflow13.Type_Experimenter, Length: uint16(16 + len(body))}
	hb, _ := h.MarshalBinary()
	m := append(hb, make([]byte, 8)...)
	be.PutUint32(m[8:], nxVendor)
	be.PutUint32(m[12:], subtype)
	return append(m, body...)
}
