package controller

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/sirupsen/logrus"
)

// connect starts a fake switch on one end of a pipe and a session on the
// other.
func connect(t *testing.T, packetIn func(PacketIn)) (*Conn, *fakeSwitch) {
	t.Helper()
	a, b := net.Pipe()
	sw := newFakeSwitch(t, b)
	go sw.serve()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cn, err := handshake(ctx, a, packetIn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cn.Close(); b.Close() })
	return cn, sw
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestHandshakeEchoBarrier(t *testing.T) {
	cn, _ := connect(t, nil)
	if cn.DPID != 0xfeed {
		t.Errorf("dpid %x, want feed", cn.DPID)
	}
	if err := cn.Echo(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if err := cn.Barrier(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

// The first connect maps the option; the next one finds it mapped and
// sends no TLV mod.
func TestTLVMap(t *testing.T) {
	cn, sw := connect(t, nil)
	for i := 0; i < 2; i++ {
		if err := cn.EnsureTLVMap(ctx(t)); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	if !sw.tlv || sw.tlvRequests != 2 || sw.tlvMods != 1 {
		t.Fatalf("map %v after %d requests and %d mods, want mapped after 2 and 1", sw.tlv, sw.tlvRequests, sw.tlvMods)
	}
}

// A mod that loses a race with another controller gets ALREADY_MAPPED,
// which is success.
func TestTLVMapAlreadyMappedIsSuccess(t *testing.T) {
	cn, sw := connect(t, nil)
	sw.mu.Lock()
	sw.tlv, sw.tlvRace = true, true
	sw.mu.Unlock()
	if err := cn.EnsureTLVMap(ctx(t)); err != nil {
		t.Fatal(err)
	}
	sw.mu.Lock()
	defer sw.mu.Unlock()
	if sw.tlvMods != 1 {
		t.Fatalf("%d TLV mods sent, want 1 (answered ALREADY_MAPPED)", sw.tlvMods)
	}
}

func TestReconcileAppliesAndReadsBack(t *testing.T) {
	cn, sw := connect(t, nil)
	desired := sampleFlows(t)
	r := NewReconciler()
	if err := r.Resync(ctx(t), cn); err != nil {
		t.Fatal(err)
	}
	ch, err := r.Apply(ctx(t), cn, desired)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Added != len(desired) || sw.commits != 1 {
		t.Fatalf("changes %v in %d commits, want %d adds in 1", ch, sw.commits, len(desired))
	}
	if got := sw.table(); len(got) != len(desired) {
		t.Fatalf("switch has %d flows, want %d", len(got), len(desired))
	}
	// A new reconciler (an agent restart) reads the table back and finds
	// nothing to do: the read-back decodes every flow exactly.
	r2 := NewReconciler()
	if err := r2.Resync(ctx(t), cn); err != nil {
		t.Fatal(err)
	}
	if ops, _ := r2.Diff(desired); len(ops) != 0 {
		t.Fatalf("after read-back %d changes remain, first: %s", len(ops), ops[0])
	}
	// No change, no bundle.
	if _, err := r2.Apply(ctx(t), cn, desired); err != nil || sw.commits != 1 {
		t.Fatalf("an unchanged flow set was sent again (commits %d, err %v)", sw.commits, err)
	}
}

func TestStaleFlowsOfOursGoForeignStay(t *testing.T) {
	cn, sw := connect(t, nil)
	desired := sampleFlows(t)
	stale := pipeline.Flow{Stage: pipeline.InACL, Priority: 10, Cookie: pipeline.MakeCookie(pipeline.FeatureL2, pipeline.KindSwitch, 9),
		Match: pipeline.Match{}.With(pipeline.LogDatapath, 9)}
	foreign := pipeline.Flow{Stage: pipeline.InACL, Priority: 11, Cookie: 0x1234, Match: pipeline.Match{}.With(pipeline.LogDatapath, 9)}
	sw.flows[stale.Key()], sw.flows[foreign.Key()] = stale, foreign
	r := NewReconciler()
	if err := r.Resync(ctx(t), cn); err != nil {
		t.Fatal(err)
	}
	ch, err := r.Apply(ctx(t), cn, desired)
	if err != nil {
		t.Fatal(err)
	}
	got := sw.table()
	if _, ok := got[stale.Key()]; ok || ch.Deleted != 1 {
		t.Errorf("stale flow of ours kept (changes %v)", ch)
	}
	if _, ok := got[foreign.Key()]; !ok {
		t.Error("a foreign flow was deleted")
	}
}

func TestRejectedBundleChangesNothing(t *testing.T) {
	cn, sw := connect(t, nil)
	r := NewReconciler()
	r.Resync(ctx(t), cn)
	good := sampleFlows(t)
	if _, err := r.Apply(ctx(t), cn, good[:3]); err != nil {
		t.Fatal(err)
	}
	bad := pipeline.Flow{Stage: pipeline.InL2Lkup, Priority: poisonPriority, Cookie: pipeline.CookieMarker,
		Match: pipeline.Match{}.With(pipeline.LogDatapath, 1)}
	_, err := r.Apply(ctx(t), cn, append(good, bad))
	var be *BundleError
	if !errors.As(err, &be) {
		t.Fatalf("got %v, want a BundleError", err)
	}
	msg := err.Error()
	for _, want := range []string{"table=ls_in_l2_lkup", "priority=666", "OFPET_BAD_MATCH/OFPBMC_BAD_PREREQ", "nothing applied"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if n := len(sw.table()); n != 3 || sw.commits != 1 {
		t.Errorf("switch has %d flows after %d commits; the rejected bundle must change nothing", n, sw.commits)
	}
	if r.Installed() != 3 {
		t.Errorf("reconciler believes %d flows installed, want 3", r.Installed())
	}
}

func TestPacketInDelivered(t *testing.T) {
	got := make(chan PacketIn, 1)
	_, sw := connect(t, func(p PacketIn) { got <- p })
	frame := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06}
	sw.sendPacketIn(frame)
	select {
	case p := <-got:
		if string(p.Data) != string(frame) || p.Table != 40 || p.Cookie != 0xc7 {
			t.Errorf("got %+v", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no packet-in delivered")
	}
}

func TestClosedConnectionFailsRequests(t *testing.T) {
	cn, sw := connect(t, nil)
	sw.c.Close()
	<-cn.Done()
	if err := cn.Barrier(ctx(t)); !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v, want ErrClosed", err)
	}
}

// The switch dials the server's socket (as ovs-vswitchd does with
// set-controller unix:PATH); Dial retries until a listener appears.
func TestServerAndDial(t *testing.T) {
	dir := t.TempDir()
	srv := &Server{Path: filepath.Join(dir, "ctl.sock"), Log: logrus.NewEntry(logrus.New())}
	conns := make(chan *Conn, 1)
	c, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Serve(c, conns)
	if err := waitFor(func() bool { _, err := os.Stat(srv.Path); return err == nil }); err != nil {
		t.Fatal(err)
	}
	sc, err := net.Dial("unix", srv.Path)
	if err != nil {
		t.Fatal(err)
	}
	go newFakeSwitch(t, sc).serve()
	select {
	case cn := <-conns:
		if err := cn.Barrier(ctx(t)); err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server handed over no connection")
	}

	// Dial: the listener comes up after the first attempts fail.
	path := filepath.Join(dir, "sw.sock")
	dialed := make(chan error, 1)
	go func() {
		cn, err := Dial(ctx(t), "unix:"+path, nil)
		if err == nil {
			err = cn.Barrier(ctx(t))
		}
		dialed <- err
	}()
	time.Sleep(120 * time.Millisecond) // let at least one attempt fail: this is the case under test
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ac, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	go newFakeSwitch(t, ac).serve()
	if err := <-dialed; err != nil {
		t.Fatal(err)
	}
}

func waitFor(cond func() bool) error {
	for i := 0; i < 250; i++ {
		if cond() {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("condition not met in 5s")
}
