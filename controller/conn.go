// Package controller speaks OpenFlow 1.3 to one bridge: the session
// (handshake, echo, requests matched by xid, barriers, atomic bundles, the
// Geneve TLV map, flow-stats read-back, packet-in) and the reconciler that
// keeps the installed flows equal to the desired ones. It is the only
// package that imports libOpenflow.
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

// PacketIn is a packet the switch sent to the controller.
type PacketIn struct {
	Table  uint8
	Reason uint8
	Cookie uint64
	Data   []byte
}

// Conn is one OpenFlow 1.3 connection. A single goroutine reads the
// socket and dispatches every message in arrival order; replies and
// errors reach their requester by xid, so an error can never overtake the
// reply to a later request.
type Conn struct {
	c        net.Conn
	DPID     uint64
	wmu      sync.Mutex
	w        *bufio.Writer
	xid      atomic.Uint32
	mu       sync.Mutex
	pending  map[uint32]*request
	packetIn func(PacketIn)
	done     chan struct{}
	err      error
}

// request collects what the switch says about some xids: an error for any
// of them, and the reply to the last one (multipart parts concatenated).
type request struct {
	replyXID uint32
	errs     []*OFError
	body     []byte
	done     chan struct{}
}

// handshake runs HELLO and FEATURES on a fresh connection and starts the
// reader.
func handshake(ctx context.Context, c net.Conn, packetIn func(PacketIn)) (*Conn, error) {
	cn := &Conn{c: c, w: bufio.NewWriterSize(c, 64<<10), pending: map[uint32]*request{},
		packetIn: packetIn, done: make(chan struct{})}
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
	return cn, nil
}

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

func (cn *Conn) readLoop() {
	var err error
	for {
		var msg []byte
		msg, err = readMessage(cn.c)
		if err != nil {
			break
		}
		cn.dispatch(msg)
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

func (cn *Conn) dispatch(msg []byte) {
	xid := be.Uint32(msg[4:])
	switch msg[1] {
	case openflow13.Type_EchoRequest:
		cn.echoReply(msg)
		return
	case openflow13.Type_PacketIn:
		if cn.packetIn != nil {
			if pi, err := parsePacketIn(msg); err == nil {
				cn.packetIn(pi)
			}
		}
		return
	}
	cn.mu.Lock()
	defer cn.mu.Unlock()
	r := cn.pending[xid]
	if r == nil {
		return
	}
	if msg[1] == openflow13.Type_Error {
		r.errs = append(r.errs, parseError(msg))
		if xid != r.replyXID {
			delete(cn.pending, xid)
			return
		}
	} else if msg[1] == openflow13.Type_MultiPartReply && len(msg) >= 16 {
		r.body = append(r.body, msg[16:]...)
		if be.Uint16(msg[10:])&openflow13.OFPMPF_REPLY_MORE != 0 {
			return
		}
	} else {
		r.body = msg
	}
	if xid == r.replyXID {
		delete(cn.pending, xid)
		close(r.done)
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
	h := openflow13.NewOfp13Header()
	h.Type = openflow13.Type_BarrierRequest
	_, err := cn.request(ctx, headerMsg{&h})
	return err
}

// Echo sends an echo request and waits for the reply (liveness check).
func (cn *Conn) Echo(ctx context.Context) error {
	_, err := cn.request(ctx, headerMsg{openflow13.NewEchoRequest()})
	return err
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

// parsePacketIn reads an OpenFlow 1.3 PACKET_IN: the fixed part, a match
// we only skip, two bytes of padding, then the frame.
func parsePacketIn(b []byte) (PacketIn, error) {
	if len(b) < 28 {
		return PacketIn{}, fmt.Errorf("short PACKET_IN")
	}
	pi := PacketIn{Reason: b[14], Table: b[15], Cookie: be.Uint64(b[16:])}
	mlen := int(be.Uint16(b[26:]))
	start := 24 + (mlen+7)/8*8 + 2
	if start > len(b) {
		return PacketIn{}, fmt.Errorf("bad PACKET_IN match length %d", mlen)
	}
	pi.Data = append([]byte(nil), b[start:]...)
	return pi, nil
}
