// Package controller speaks OpenFlow 1.3 to one bridge: the session
// (handshake, echo, requests matched by xid, barriers, atomic bundles, the
// Geneve TLV map, flow and group read-back, the flow monitor, packet-in
// and packet-out) and the reconciler that keeps the installed flows and
// groups equal to the desired ones. It is the only package that imports
// libOpenflow.
package controller

import (
	"bufio"
	"context"
	"encoding"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/contiv/libOpenflow/common"
	"github.com/contiv/libOpenflow/openflow13"
)

// ErrClosed is returned for requests on a connection that went away.
var ErrClosed = errors.New("openflow connection closed")

// maxMessage is the largest OpenFlow message (16-bit length).
const maxMessage = 1<<16 - 1

// Conn is one OpenFlow 1.3 connection. A single goroutine reads the
// socket and dispatches every message in arrival order; replies and
// errors reach their requester by xid, so an error can never overtake the
// reply to a later request. Asynchronous messages (packet-ins, flow
// monitor updates) go to bounded queues: the reader never waits for their
// consumers, and what does not fit is counted and dropped.
type Conn struct {
	c       net.Conn
	DPID    uint64
	wmu     sync.Mutex
	w       *bufio.Writer
	xid     atomic.Uint32
	mu      sync.Mutex
	pending map[uint32]*request
	done    chan struct{}
	err     error

	packetIns chan PacketIn
	monitor   chan MonitorEvent
	// DroppedPacketIns counts packet-ins the queue had no room for.
	DroppedPacketIns atomic.Uint64
	// monitorLost is set when a flow monitor update did not fit: the
	// consumer must assume anything changed.
	monitorLost atomic.Bool
	// monitorSeq counts monitor events as the reader receives them.
	monitorSeq uint64
}

// Queue sizes for asynchronous messages.
const (
	packetInQueue = 1024
	monitorQueue  = 4096
)

// request collects what the switch says about some xids: an error for any
// of them, and the reply to the last one (multipart parts concatenated).
type request struct {
	replyXID uint32
	errs     []*OFError
	body     []byte
	done     chan struct{}
	tooBig   bool
	// monitorSeq: monitor events received before the reply completed.
	monitorSeq uint64
}

// maxReply bounds a multipart reply we assemble (a dump of 100k flows is
// about 15 MB).
const maxReply = 256 << 20

// handshake runs HELLO and FEATURES on a fresh connection, asks for
// packet-ins on this (service) connection, and starts the reader.
func handshake(ctx context.Context, c net.Conn) (*Conn, error) {
	cn := &Conn{c: c, w: bufio.NewWriterSize(c, 64<<10), pending: map[uint32]*request{},
		done: make(chan struct{}), packetIns: make(chan PacketIn, packetInQueue),
		monitor: make(chan MonitorEvent, monitorQueue)}
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	} else {
		c.SetDeadline(time.Now().Add(10 * time.Second))
	}
	hello, err := common.NewHello(4)
	if err != nil {
		return nil, err
	}
	if err := cn.send(hello); err != nil {
		return nil, err
	}
	msg, err := readMessage(c)
	if err != nil {
		return nil, fmt.Errorf("waiting for HELLO: %w", err)
	}
	if msg[1] != openflow13.Type_Hello {
		return nil, fmt.Errorf("expected HELLO, got message type %d", msg[1])
	}
	if msg[0] < 4 {
		return nil, fmt.Errorf("switch speaks OpenFlow version 0x%02x; OpenFlow 1.3 (0x04) is required (set protocols=OpenFlow13 on the bridge)", msg[0])
	}
	feat := openflow13.NewFeaturesRequest()
	feat.Xid = cn.nextXID()
	if err := cn.send(feat); err != nil {
		return nil, err
	}
	for {
		msg, err := readMessage(c)
		if err != nil {
			return nil, fmt.Errorf("waiting for FEATURES_REPLY: %w", err)
		}
		if msg[1] == openflow13.Type_FeaturesReply && len(msg) >= 16 {
			cn.DPID = be.Uint64(msg[8:])
			break
		}
		if msg[1] == openflow13.Type_EchoRequest {
			cn.echoReply(msg)
		}
	}
	c.SetDeadline(time.Time{})
	go cn.readLoop()
	if err := cn.enablePacketIns(ctx); err != nil {
		cn.Close()
		return nil, err
	}
	return cn, nil
}

// enablePacketIns makes the switch send controller-action packet-ins on
// this connection: a service connection (the bridge's .mgmt socket) gets
// none until it asks with OFPT_SET_ASYNC. They arrive as NXT_PACKET_IN2,
// which carries the pipeline's registers and a continuation.
func (cn *Conn) enablePacketIns(ctx context.Context) error {
	async := make(rawMsg, 32)
	async[0], async[1] = 4, openflow13.Type_SetAsync
	// packet_in_mask[2] (master/equal, slave): OFPR_ACTION, and
	// OFPR_NO_MATCH, which is how OVS reports a controller action in a
	// table's priority-0 flow.
	pin := uint32(1<<openflow13.R_ACTION | 1<<openflow13.R_NO_MATCH)
	be.PutUint32(async[8:], pin)
	be.PutUint32(async[12:], pin)
	// port_status_mask and flow_removed_mask: nothing.
	format := nxMessage(nxtSetPacketInFormat, []byte{0, 0, 0, nxpifPacketIn2})
	x1, x2 := cn.nextXID(), cn.nextXID()
	async.setXID(x1)
	format.setXID(x2)
	a, _ := async.MarshalBinary()
	f, _ := format.MarshalBinary()
	b := barrierMsg(cn.nextXID())
	r, err := cn.exchange(ctx, []uint32{x1, x2, xidOf(b)}, [][]byte{a, f, b})
	if err != nil {
		return fmt.Errorf("enable packet-ins: %w", err)
	}
	if len(r.errs) > 0 {
		return fmt.Errorf("enable packet-ins: %w", r.errs[0])
	}
	return nil
}

// readMessage reads one framed message; a length below the header is a
// broken stream.
func readMessage(r io.Reader) ([]byte, error) {
	hdr := make([]byte, 8)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, err
	}
	n := int(be.Uint16(hdr[2:]))
	if n < 8 {
		return nil, fmt.Errorf("bad OpenFlow message length %d", n)
	}
	msg := make([]byte, n)
	copy(msg, hdr)
	if _, err := io.ReadFull(r, msg[8:]); err != nil {
		return nil, err
	}
	return msg, nil
}

func (cn *Conn) nextXID() uint32 { return cn.xid.Add(1) }

// Done is closed when the connection ends.
func (cn *Conn) Done() <-chan struct{} { return cn.done }

// Err is why the connection ended.
func (cn *Conn) Err() error {
	<-cn.done
	return cn.err
}

// Close ends the connection.
func (cn *Conn) Close() error { return cn.c.Close() }

// PacketIns delivers packet-ins in arrival order.
func (cn *Conn) PacketIns() <-chan PacketIn { return cn.packetIns }

func (cn *Conn) readLoop() {
	var err error
	for {
		var msg []byte
		msg, err = readMessage(cn.c)
		if err != nil {
			break
		}
		if err = cn.dispatchSafely(msg); err != nil {
			break
		}
	}
	cn.mu.Lock()
	cn.err = err
	for xid, r := range cn.pending {
		delete(cn.pending, xid)
		if r.replyXID == xid {
			close(r.done)
		}
	}
	cn.mu.Unlock()
	close(cn.done)
	cn.c.Close()
}

// dispatchSafely turns a panic on a malformed message into the end of the
// session: the switch's input is untrusted, and a new session resyncs.
func (cn *Conn) dispatchSafely(msg []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed OpenFlow message type %d (%d bytes) from the switch: %v", msg[1], len(msg), p)
		}
	}()
	cn.dispatch(msg)
	return nil
}

func (cn *Conn) dispatch(msg []byte) {
	xid := be.Uint32(msg[4:])
	if isMonitorUpdate(msg) {
		cn.queueMonitor(msg)
		return
	}
	switch msg[1] {
	case openflow13.Type_EchoRequest:
		cn.echoReply(msg)
		return
	case openflow13.Type_PacketIn:
		if pi, err := parsePacketIn(msg); err == nil {
			cn.queuePacketIn(pi)
		}
		return
	case openflow13.Type_Experimenter:
		if isNX(msg, nxtPacketIn2) {
			if pi, err := parsePacketIn2(msg); err == nil {
				cn.queuePacketIn(pi)
			}
			return
		}
	}
	cn.mu.Lock()
	defer cn.mu.Unlock()
	r := cn.pending[xid]
	if r == nil {
		return
	}
	switch {
	case msg[1] == openflow13.Type_Error:
		r.errs = append(r.errs, parseError(msg))
		if xid != r.replyXID {
			delete(cn.pending, xid)
			return
		}
	case msg[1] == openflow13.Type_MultiPartReply:
		if len(msg) < 16 {
			r.errs = append(r.errs, &OFError{Type: 1, Code: 6, xid: xid}) // BAD_LEN
			break
		}
		if len(r.body)+len(msg) > maxReply {
			r.tooBig = true
		} else {
			r.body = append(r.body, multipartBody(msg)...)
		}
		if be.Uint16(msg[10:])&openflow13.OFPMPF_REPLY_MORE != 0 {
			return
		}
	default:
		r.body = msg
	}
	if xid == r.replyXID {
		delete(cn.pending, xid)
		r.monitorSeq = cn.monitorSeq
		close(r.done)
	}
}

// multipartBody is a reply part without its headers; an experimenter
// part also drops its experimenter id and subtype.
func multipartBody(msg []byte) []byte {
	if be.Uint16(msg[8:]) == openflow13.MultipartType_Experimenter {
		if len(msg) < 24 {
			return nil
		}
		return msg[24:]
	}
	return msg[16:]
}

func (cn *Conn) queuePacketIn(pi PacketIn) {
	select {
	case cn.packetIns <- pi:
	default:
		cn.DroppedPacketIns.Add(1)
	}
}

func (cn *Conn) echoReply(msg []byte) {
	reply := append([]byte(nil), msg...)
	reply[1] = openflow13.Type_EchoReply
	cn.sendRaw(reply)
}

func (cn *Conn) sendRaw(b ...[]byte) error {
	cn.wmu.Lock()
	defer cn.wmu.Unlock()
	for _, m := range b {
		if len(m) > maxMessage {
			return fmt.Errorf("message of %d bytes exceeds OpenFlow's %d", len(m), maxMessage)
		}
		if _, err := cn.w.Write(m); err != nil {
			return err
		}
	}
	return cn.w.Flush()
}

func (cn *Conn) send(msgs ...encoding.BinaryMarshaler) error {
	bufs := make([][]byte, len(msgs))
	for i, m := range msgs {
		b, err := m.MarshalBinary()
		if err != nil {
			return err
		}
		bufs[i] = b
	}
	return cn.sendRaw(bufs...)
}

// exchange sends messages whose xids are listed and waits for the reply to
// the last one. Errors for any of them are collected; the reply may itself
// be an error.
func (cn *Conn) exchange(ctx context.Context, xids []uint32, bufs [][]byte) (*request, error) {
	r := &request{replyXID: xids[len(xids)-1], done: make(chan struct{})}
	cn.mu.Lock()
	select {
	case <-cn.done:
		cn.mu.Unlock()
		return nil, ErrClosed
	default:
	}
	for _, x := range xids {
		cn.pending[x] = r
	}
	cn.mu.Unlock()
	forget := func() {
		cn.mu.Lock()
		for _, x := range xids {
			if cn.pending[x] == r {
				delete(cn.pending, x)
			}
		}
		cn.mu.Unlock()
	}
	if err := cn.sendRaw(bufs...); err != nil {
		forget()
		return nil, err
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		forget()
		return nil, ctx.Err()
	}
	select {
	case <-cn.done:
		if r.body == nil && len(r.errs) == 0 {
			return nil, ErrClosed
		}
	default:
	}
	if r.tooBig {
		return nil, fmt.Errorf("reply from the switch exceeds %d MB", maxReply>>20)
	}
	return r, nil
}

// request sends one message and returns its reply or its error.
func (cn *Conn) request(ctx context.Context, m interface {
	encoding.BinaryMarshaler
	setXID(uint32)
}) ([]byte, error) {
	xid := cn.nextXID()
	m.setXID(xid)
	b, err := m.MarshalBinary()
	if err != nil {
		return nil, err
	}
	r, err := cn.exchange(ctx, []uint32{xid}, [][]byte{b})
	if err != nil {
		return nil, err
	}
	if len(r.errs) > 0 {
		return nil, r.errs[0]
	}
	return r.body, nil
}

// Barrier waits until the switch has processed everything sent before.
func (cn *Conn) Barrier(ctx context.Context) error {
	_, err := cn.request(ctx, rawMsg(barrierMsg(0)))
	return err
}

// Echo sends an echo request and waits for the reply (liveness check).
func (cn *Conn) Echo(ctx context.Context) error {
	_, err := cn.request(ctx, headerMsg{openflow13.NewEchoRequest()})
	return err
}

// Keepalive closes the connection when the switch stops answering echo
// requests sent every interval.
func (cn *Conn) Keepalive(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-cn.done:
			return
		case <-t.C:
			ectx, cancel := context.WithTimeout(ctx, 2*interval)
			err := cn.Echo(ectx)
			cancel()
			if err != nil && ctx.Err() == nil {
				cn.Close()
				return
			}
		}
	}
}

type headerMsg struct{ *common.Header }

func (h headerMsg) setXID(x uint32) { h.Xid = x }

// rawMsg is a message we encode ourselves (libOpenflow lacks it).
type rawMsg []byte

func (r rawMsg) MarshalBinary() ([]byte, error) {
	be.PutUint16(r[2:], uint16(len(r)))
	return r, nil
}
func (r rawMsg) setXID(x uint32) { be.PutUint32(r[4:], x) }

func barrierMsg(xid uint32) []byte {
	b := make([]byte, 8)
	b[0], b[1] = 4, openflow13.Type_BarrierRequest
	be.PutUint16(b[2:], 8)
	be.PutUint32(b[4:], xid)
	return b
}

func xidOf(msg []byte) uint32 { return be.Uint32(msg[4:]) }

// Dial connects to the bridge's management socket (unix:PATH, as
// ovn-controller and ovs-ofctl do) or tcp:HOST:PORT, retrying every
// interval (at most 100 ms apart) until ctx ends: the agent never depends
// on ovs-vswitchd's controller backoff.
func Dial(ctx context.Context, target string) (*Conn, error) {
	network, addr, ok := cutTarget(target)
	if !ok {
		return nil, fmt.Errorf("bad OpenFlow target %q (want unix:PATH or tcp:HOST:PORT)", target)
	}
	retry := 10 * time.Millisecond
	for {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err == nil {
			hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			cn, herr := handshake(hctx, c)
			cancel()
			if herr == nil {
				return cn, nil
			}
			c.Close()
			err = herr
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to %s: %w (last error: %v)", target, ctx.Err(), err)
		case <-time.After(retry):
		}
		if retry < 100*time.Millisecond {
			retry *= 2
		}
		if retry > 100*time.Millisecond {
			retry = 100 * time.Millisecond
		}
	}
}

func cutTarget(t string) (network, addr string, ok bool) {
	for _, n := range []string{"unix", "tcp"} {
		if len(t) > len(n)+1 && t[:len(n)+1] == n+":" {
			return n, t[len(n)+1:], true
		}
	}
	return "", "", false
}
