package controller

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/contiv/libOpenflow/openflow13"
	"github.com/contiv/libOpenflow/util"
)

// Command is what an Op does.
type Command uint8

const (
	Add    Command = iota // a new flow (or group)
	Modify                // new actions (buckets) for one of ours with the same key (id); counters kept
	Delete                // remove one of ours
)

func (c Command) String() string { return [...]string{"add", "modify", "delete"}[c] }

// Op is one change in a bundle: of a flow, or of a group.
type Op struct {
	Cmd   Command
	Flow  *pipeline.Flow
	Group *pipeline.Group
	// stray: a flow of ours in a table outside the pipeline, to delete.
	stray *installedFlow
}

// FlowOp and GroupOp build Ops.
func FlowOp(cmd Command, f pipeline.Flow) Op   { return Op{Cmd: cmd, Flow: &f} }
func GroupOp(cmd Command, g pipeline.Group) Op { return Op{Cmd: cmd, Group: &g} }

func (op Op) String() string {
	if op.stray != nil {
		return fmt.Sprintf("delete table=%d, priority=%d,%s (%s)", op.stray.table, op.stray.priority, op.stray.match, pipeline.DescribeCookie(op.stray.cookie))
	}
	if op.Group != nil {
		return op.Cmd.String() + " group " + op.Group.String()
	}
	return op.Cmd.String() + " " + op.Flow.String()
}

// message encodes the op as the flow mod or group mod it is.
func (op Op) message() util.Message {
	if op.stray != nil {
		fm := encodeFlowMod(pipeline.Flow{Priority: op.stray.priority, Cookie: op.stray.cookie, Match: op.stray.match}, openflow13.FC_DELETE_STRICT)
		fm.TableId = op.stray.table
		return fm
	}
	if op.Group != nil {
		return encodeGroupMod(*op.Group, op.Cmd)
	}
	cmd := map[Command]uint8{Add: openflow13.FC_ADD, Modify: openflow13.FC_MODIFY_STRICT, Delete: openflow13.FC_DELETE_STRICT}[op.Cmd]
	return encodeFlowMod(*op.Flow, cmd)
}

// BundleError is a bundle the switch refused; nothing of it was applied.
type BundleError struct {
	Failed []*OFError // per-message errors, each naming its flow or group
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

// TooLargeError is a flow or group whose encoding exceeds OpenFlow's 64 KiB
// message size.
type TooLargeError struct {
	Op    string
	Bytes int
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s encodes to %d bytes, more than an OpenFlow message can carry (%d)", e.Op, e.Bytes, maxMessage)
}

var bundleIDs atomic.Uint32

// bundleAddOverhead is what the bundle-add wrapper adds to a message.
const bundleAddOverhead = 24

// Bundle applies ops as one atomic, ordered bundle: every packet sees the
// tables from before or from after the whole change. The adds are checked
// by a barrier before the commit; if any was refused, the bundle is
// discarded, so a partial bundle is never committed.
func (cn *Conn) Bundle(ctx context.Context, ops []Op) error {
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
	byXID := make(map[uint32]Op, len(ops))
	addXIDs := make([]uint32, 0, len(ops))
	bufs := make([][]byte, 0, len(ops)+2)
	open, openXID := control(openflow13.OFPBCT_OPEN_REQUEST)
	bufs = append(bufs, open)
	for _, op := range ops {
		msg := op.message()
		if n := int(msg.Len()) + bundleAddOverhead; n > maxMessage {
			return &TooLargeError{Op: op.String(), Bytes: n}
		}
		x := cn.nextXID()
		setXID(msg, x) // the inner xid must equal the bundle-add's
		add := openflow13.NewBundleAdd(&openflow13.BundleAdd{BundleID: id, Flags: flags, Message: msg})
		add.Header.Xid = x
		b, err := add.MarshalBinary()
		if err != nil {
			return fmt.Errorf("encode %s: %w", op, err)
		}
		byXID[x] = op
		addXIDs = append(addXIDs, x)
		bufs = append(bufs, b)
	}
	barrier := barrierMsg(cn.nextXID())
	bufs = append(bufs, barrier)

	xids := append(append([]uint32{openXID}, addXIDs...), xidOf(barrier))
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

func setXID(m util.Message, x uint32) {
	switch m := m.(type) {
	case *openflow13.FlowMod:
		m.Xid = x
	case *openflow13.GroupMod:
		m.Xid = x
	}
}

func bundleError(errs []*OFError, byXID map[uint32]Op) error {
	be := &BundleError{}
	for _, e := range errs {
		if op, ok := byXID[e.xid]; ok {
			e.Op = op.String()
			be.Failed = append(be.Failed, e)
		} else {
			be.Cause = e
		}
	}
	return be
}

// encodeGroupMod turns a group into an OpenFlow 1.3 GROUP_MOD.
func encodeGroupMod(g pipeline.Group, cmd Command) *openflow13.GroupMod {
	gm := openflow13.NewGroupMod()
	gm.GroupId = g.ID
	gm.Type = uint8(g.Type)
	gm.Command = map[Command]uint16{Add: openflow13.OFPGC_ADD, Modify: openflow13.OFPGC_MODIFY, Delete: openflow13.OFPGC_DELETE}[cmd]
	if cmd == Delete {
		return gm
	}
	for _, b := range g.Buckets {
		bk := openflow13.NewBucket()
		bk.Weight = b.Weight
		acts, _ := encodeActions(b.Actions)
		for _, a := range acts {
			bk.AddAction(a)
		}
		gm.AddBucket(*bk)
	}
	return gm
}

// ReadFlows returns every installed flow, ours and foreign, and the Seq
// of the last flow monitor event received before the reply: the flows
// read already reflect every event up to it.
func (cn *Conn) ReadFlows(ctx context.Context) ([]installedFlow, uint64, error) {
	req := openflow13.NewFlowStatsRequest()
	req.TableId = openflow13.OFPTT_ALL
	mp := &openflow13.MultipartRequest{Header: openflow13.NewOfp13Header(), Type: openflow13.MultipartType_Flow, Body: req}
	mp.Header.Type = openflow13.Type_MultiPartRequest
	mp.Header.Xid = cn.nextXID()
	b, err := mp.MarshalBinary()
	if err != nil {
		return nil, 0, err
	}
	r, err := cn.exchange(ctx, []uint32{mp.Header.Xid}, [][]byte{b})
	if err != nil {
		return nil, 0, err
	}
	if len(r.errs) > 0 {
		return nil, 0, r.errs[0]
	}
	flows, err := decodeFlowStats(r.body)
	return flows, r.monitorSeq, err
}

// ReadGroups returns every installed group (OFPMP_GROUP_DESC).
func (cn *Conn) ReadGroups(ctx context.Context) ([]installedGroup, error) {
	m := make(rawMsg, 16)
	m[0], m[1] = 4, openflow13.Type_MultiPartRequest
	be.PutUint16(m[8:], openflow13.MultipartType_GroupDesc)
	body, err := cn.request(ctx, m)
	if err != nil {
		return nil, err
	}
	return decodeGroupDesc(body)
}
