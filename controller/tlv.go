package controller

import (
	"context"
	"errors"
	"fmt"

	"github.com/contiv/libOpenflow/common"
	"github.com/contiv/libOpenflow/openflow13"
)

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
	barrier := barrierMsg(cn.nextXID())
	mb, _ := mod.MarshalBinary()
	r, err := cn.exchange(ctx, []uint32{modXID, xidOf(barrier)}, [][]byte{mb, barrier})
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
	return tlvReplyMaps(reply)
}

// tlvReplyMaps reads an NXT_TLV_TABLE_REPLY: header, experimenter and
// subtype (16 bytes), max_option_space u32, max_fields u16, pad[10], then
// 8-byte maps.
func tlvReplyMaps(reply []byte) (bool, error) {
	if len(reply) < 32 || !isNX(reply, nxtTLVTableReq+1) {
		return false, fmt.Errorf("bad TLV table reply (%d bytes)", len(reply))
	}
	for m := reply[32:]; len(m) >= 8; m = m[8:] {
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
