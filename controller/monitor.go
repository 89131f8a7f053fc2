package controller

import (
	"context"
	"fmt"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/contiv/libOpenflow/openflow13"
)

// The flow monitor tells chainwired when somebody else changes the flow
// table (ovs-ofctl del-flows, another controller, a flow that expired),
// so that drift is repaired within moments and without reading the whole
// table back. On OpenFlow 1.3 OVS speaks the ONF extension (the Nicira
// form is refused there): a multipart request with experimenter
// 0x4f4e4600 type 1870; updates arrive as multipart replies with xid 0.
// Changes made by this connection are reported only as abbreviated
// entries, which we ignore.
const (
	onfFlowMonitor       = 1870
	onfFlowMonitorPaused = 1871
	onfFlowMonitorResume = 1872

	fmAdd     = 1 << 1
	fmDelete  = 1 << 2
	fmModify  = 1 << 3
	fmActions = 1 << 4

	fmEventAdded    = 0
	fmEventDeleted  = 1
	fmEventModified = 2
	fmEventAbbrev   = 3
)

// MonitorKind says what a monitor event reports.
type MonitorKind uint8

const (
	FlowAdded MonitorKind = iota
	FlowDeleted
	FlowModified
	// MonitorPaused: the switch stopped sending updates because we fell
	// behind; anything may change until MonitorResumed.
	MonitorPaused
	MonitorResumed
)

// MonitorEvent is one change of the flow table made by someone else.
type MonitorEvent struct {
	Kind MonitorKind
	Flow installedFlow
	// Seq numbers the events of a session in arrival order; a read-back
	// already holds every event up to its own ReadSeq.
	Seq uint64
}

// Describe says what happened, for logs.
func (e MonitorEvent) Describe() string {
	verb := map[MonitorKind]string{FlowAdded: "added", FlowDeleted: "deleted", FlowModified: "modified",
		MonitorPaused: "monitor paused", MonitorResumed: "monitor resumed"}[e.Kind]
	if e.Kind >= MonitorPaused {
		return verb
	}
	f := e.Flow
	stage, _ := pipeline.StageOfTable(f.table)
	return fmt.Sprintf("%s: table=%s priority=%d %s (%s)", verb, stage, f.priority, f.match, pipeline.DescribeCookie(f.cookie))
}

// Monitor delivers flow monitor events once StartMonitor succeeded.
func (cn *Conn) Monitor() <-chan MonitorEvent { return cn.monitor }

// MonitorLost reports (and clears) whether updates were dropped because
// the queue was full: the consumer must then read the table back.
func (cn *Conn) MonitorLost() bool { return cn.monitorLost.Swap(false) }

// StartMonitor asks for updates on every table, without the initial dump
// (the reconciler reads the table back itself) and without our own
// changes.
func (cn *Conn) StartMonitor(ctx context.Context) error {
	body := make([]byte, 16)
	be.PutUint32(body, 1) // monitor id
	be.PutUint16(body[4:], fmAdd|fmDelete|fmModify|fmActions)
	be.PutUint16(body[6:], 4) // match length: an empty OXM match
	be.PutUint32(body[8:], openflow13.P_ANY)
	body[12] = openflow13.OFPTT_ALL
	body = append(body, 0, 1, 0, 4, 0, 0, 0, 0) // empty ofp_match
	_, err := cn.request(ctx, onfMultipart(onfFlowMonitor, body))
	if err != nil {
		return fmt.Errorf("start the flow monitor: %w", err)
	}
	return nil
}

// onfMultipart frames an ONF experimenter multipart request.
func onfMultipart(expType uint32, body []byte) rawMsg {
	m := make(rawMsg, 24, 24+len(body))
	m[0], m[1] = 4, openflow13.Type_MultiPartRequest
	be.PutUint16(m[8:], openflow13.MultipartType_Experimenter)
	be.PutUint32(m[16:], onfExperimenter)
	be.PutUint32(m[20:], expType)
	return append(m, body...)
}

func isONF(msg []byte, offset int, expType uint32) bool {
	return len(msg) >= offset+8 && be.Uint32(msg[offset:]) == onfExperimenter && be.Uint32(msg[offset+4:]) == expType
}

// isMonitorUpdate reports whether msg is an asynchronous flow monitor
// message: an update (a multipart reply with xid 0), or the notice that
// updates paused or resumed.
func isMonitorUpdate(msg []byte) bool {
	switch msg[1] {
	case openflow13.Type_MultiPartReply:
		return be.Uint32(msg[4:]) == 0 && len(msg) >= 16 &&
			be.Uint16(msg[8:]) == openflow13.MultipartType_Experimenter && isONF(msg, 16, onfFlowMonitor)
	case openflow13.Type_Experimenter:
		return isONF(msg, 8, onfFlowMonitorPaused) || isONF(msg, 8, onfFlowMonitorResume)
	}
	return false
}

// queueMonitor turns a monitor message into events; what does not fit
// in the queue is lost, and MonitorLost says so.
func (cn *Conn) queueMonitor(msg []byte) {
	var events []MonitorEvent
	switch {
	case isONF(msg, 8, onfFlowMonitorPaused):
		events = []MonitorEvent{{Kind: MonitorPaused}}
	case isONF(msg, 8, onfFlowMonitorResume):
		events = []MonitorEvent{{Kind: MonitorResumed}}
	default:
		var err error
		if events, err = decodeFlowUpdates(msg[24:]); err != nil {
			cn.monitorLost.Store(true)
		}
	}
	for _, e := range events {
		cn.monitorSeq++
		e.Seq = cn.monitorSeq
		select {
		case cn.monitor <- e:
		default:
			cn.monitorLost.Store(true)
		}
	}
}

// decodeFlowUpdates parses the entries of a flow monitor reply; the
// abbreviated ones (our own changes) are skipped.
func decodeFlowUpdates(b []byte) ([]MonitorEvent, error) {
	var out []MonitorEvent
	for len(b) > 0 {
		if len(b) < 8 {
			return out, fmt.Errorf("truncated flow update")
		}
		n, event := int(be.Uint16(b)), be.Uint16(b[2:])
		if n < 8 || n%8 != 0 || n > len(b) {
			return out, fmt.Errorf("bad flow update length %d", n)
		}
		e := b[:n]
		b = b[n:]
		var kind MonitorKind
		switch event {
		case fmEventAbbrev:
			continue
		case fmEventAdded:
			kind = FlowAdded
		case fmEventDeleted:
			kind = FlowDeleted
		case fmEventModified:
			kind = FlowModified
		default:
			return out, fmt.Errorf("flow update event %d", event)
		}
		if n < 32 {
			return out, fmt.Errorf("flow update of %d bytes", n)
		}
		f := decodeFlowEntry(e[14], be.Uint16(e[6:]), be.Uint64(e[16:]), e[24:])
		if kind == FlowDeleted && f.match != nil {
			// A deleted flow's actions do not matter; its key does.
			f.decodeErr = nil
		}
		out = append(out, MonitorEvent{Kind: kind, Flow: f})
	}
	return out, nil
}
