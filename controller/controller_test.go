package controller_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chainwire/chainwire/controller"
	"github.com/chainwire/chainwire/controller/fakeswitch"
	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/topology"
)

// connect starts a fake switch on a unix socket and dials it.
func connect(t *testing.T) (*controller.Conn, *fakeswitch.Switch) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "br-int.mgmt")
	sw, err := fakeswitch.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sw.Close)
	cn, err := controller.Dial(ctx(t), "unix:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cn.Close() })
	return cn, sw
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

// sample renders a small model that exercises every flow family,
// floods (groups) included.
func sample(t *testing.T) *pipeline.Tables {
	t.Helper()
	m := &topology.Model{
		Chassis:  []topology.Chassis{{Name: "hv2", Encap: "geneve", IP: "192.0.2.2"}},
		Switches: []topology.Switch{{Name: "sw0", Key: 1}},
		Ports: []topology.Port{
			{Name: "p1", Switch: "sw0", Key: 1, Addresses: []string{"02:00:00:00:00:01 10.0.0.1"}, PortSecurity: []string{"02:00:00:00:00:01"}},
			{Name: "p2", Switch: "sw0", Key: 2, Addresses: []string{"02:00:00:00:00:02", "unknown"}},
			{Name: "p5", Switch: "sw0", Key: 5, Addresses: []string{"02:00:00:00:00:05"},
				Options: map[string]string{"requested-chassis": "hv2"}},
		},
		QoS: []topology.QoS{{Name: "q1", Key: 1, Switch: "sw0", Direction: "from-lport", Priority: 10,
			Match: `inport == "p1"`, Rate: 1000, Burst: 100}},
		LoadBalancers: []topology.LoadBalancer{{Name: "web", Key: 1, Protocol: "tcp",
			VIPs: map[string]string{"10.0.0.100:80": "10.0.0.1:8080,10.0.0.5:8080", "[fd00::100]:80": "[fd00::1]:80"}}},
	}
	m.Switches[0].LoadBalancers = []string{"web"}
	tables, err := pipeline.Render(pipeline.Input{Model: m, Chassis: "hv1",
		OFPorts: map[string]uint32{"p1": 1, "p2": 2}, TunnelOFPort: 10})
	if err != nil {
		t.Fatal(err)
	}
	return tables
}

func commits(sw *fakeswitch.Switch) int {
	return sw.Stat(func(s *fakeswitch.Switch) int { return s.Commits })
}

func TestHandshakeEchoBarrier(t *testing.T) {
	cn, _ := connect(t)
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
	cn, sw := connect(t)
	for i := 0; i < 2; i++ {
		if err := cn.EnsureTLVMap(ctx(t)); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	if n := sw.Stat(func(s *fakeswitch.Switch) int { return s.TLVMods }); n != 1 {
		t.Fatalf("%d TLV mods sent, want 1", n)
	}
}

func TestReconcileAppliesAndReadsBack(t *testing.T) {
	cn, sw := connect(t)
	desired := sample(t)
	r := controller.NewReconciler()
	if err := r.Resync(ctx(t), cn); err != nil {
		t.Fatal(err)
	}
	ch, _, err := r.Apply(ctx(t), cn, desired)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Added != len(desired.Flows) || ch.GroupsAdded != len(desired.Groups) || ch.MetersAdded != len(desired.Meters) || commits(sw) != 1 {
		t.Fatalf("changes %v in %d commits, want %d flows, %d groups and %d meters in 1", ch, commits(sw), len(desired.Flows),
			len(desired.Groups), len(desired.Meters))
	}
	if got := sw.Flows(); len(got) != len(desired.Flows) {
		t.Fatalf("switch has %d flows, want %d", len(got), len(desired.Flows))
	}
	// A new reconciler (an agent restart) reads the tables back and finds
	// nothing to do: the read-back decodes every flow and group exactly.
	r2 := controller.NewReconciler()
	if err := r2.Resync(ctx(t), cn); err != nil {
		t.Fatal(err)
	}
	r2.SetDesired(desired)
	if ops, _ := r2.Plan(); len(ops) != 0 {
		t.Fatalf("after read-back %d changes remain, first: %s", len(ops), ops[0])
	}
	if _, _, err := r2.Apply(ctx(t), cn, desired); err != nil || commits(sw) != 1 || meterMods(sw) != len(desired.Meters) {
		t.Fatalf("an unchanged state was sent again (commits %d, meter mods %d, err %v)", commits(sw), meterMods(sw), err)
	}
	var want [256]int
	for _, f := range desired.Flows {
		want[f.Stage.Table()]++
	}
	if r.InstalledPerTable() != want || r2.InstalledPerTable() != want {
		t.Errorf("flows per table: applied %v, read back %v, want %v", r.InstalledPerTable(), r2.InstalledPerTable(), want)
	}
}

func meterMods(sw *fakeswitch.Switch) int {
	return sw.Stat(func(s *fakeswitch.Switch) int { return s.MeterMods })
}

// Meters go around the bundle: a new one before the flows that use it, a
// changed one as a modify that leaves the flows alone, a removed one
// after the flows that used it are gone. Foreign meters are left alone;
// one of ours with a form chainwire never makes is rewritten.
func TestMetersAroundBundles(t *testing.T) {
	cn, sw := connect(t)
	foreign := pipeline.Meter{ID: 7, Rate: 5}
	odd := pipeline.Meter{ID: sample(t).Meters[0].ID, Rate: 1}
	if err := cn.MeterMods(ctx(t), []controller.MeterOp{{Cmd: controller.Add, Meter: foreign}}); err != nil {
		t.Fatal(err)
	}
	r := controller.NewReconciler()
	if err := r.Resync(ctx(t), cn); err != nil {
		t.Fatal(err)
	}
	desired := sample(t)
	want := desired.Meters[0]
	if _, _, err := r.Apply(ctx(t), cn, desired); err != nil {
		t.Fatal(err)
	}
	if got := sw.Meters(); len(got) != 4 || !got[want.ID].Same(want) || !got[7].Same(foreign) ||
		!got[pipeline.ControllerMeterID].Same(desired.Meters[1]) || !got[pipeline.ProbeMeterID].Same(desired.Meters[2]) {
		t.Fatalf("switch has meters %v, want ours (QoS %v, the controller's, the probes') and the foreign one", got, want)
	}
	flows := len(sw.Flows())

	// Another rate: one modify, no bundle.
	faster := *desired
	faster.Meters = append([]pipeline.Meter(nil), desired.Meters...)
	faster.Meters[0].Rate = 2000
	before := commits(sw)
	ch, _, err := r.Apply(ctx(t), cn, &faster)
	if err != nil || ch.MetersModified != 1 || ch.Total() != 1 || commits(sw) != before {
		t.Fatalf("rate change: %v (err %v), %d bundles", ch, err, commits(sw)-before)
	}
	if got := sw.Meters()[want.ID]; got.Rate != 2000 || len(sw.Flows()) != flows {
		t.Fatalf("after the rate change the switch has %v and %d flows (had %d)", got, len(sw.Flows()), flows)
	}

	// A read-back finds a meter of ours that is not what we make: it is
	// rewritten, the flows stay.
	r2 := controller.NewReconciler()
	if err := cn.MeterMods(ctx(t), []controller.MeterOp{{Cmd: controller.Modify, Meter: odd}}); err != nil {
		t.Fatal(err)
	}
	if err := r2.Resync(ctx(t), cn); err != nil {
		t.Fatal(err)
	}
	if ch, _, err := r2.Apply(ctx(t), cn, desired); err != nil || ch.MetersModified != 1 || ch.Total() != 1 {
		t.Fatalf("odd meter: %v (err %v)", ch, err)
	}

	// The rule goes: its flows leave in the bundle, the meter after.
	var none pipeline.Tables
	for _, f := range desired.Flows {
		if len(f.Actions) == 0 || f.Actions[0] != (pipeline.SetMeter{ID: want.ID}) {
			none.Flows = append(none.Flows, f)
		}
	}
	none.Groups, none.Meters = desired.Groups, desired.Meters[1:]
	ch, _, err = r2.Apply(ctx(t), cn, &none)
	if err != nil || ch.MetersDeleted != 1 || ch.Deleted == 0 {
		t.Fatalf("removal: %v (err %v)", ch, err)
	}
	if got := sw.Meters(); len(got) != 3 || !got[7].Same(foreign) || !got[pipeline.ControllerMeterID].Same(desired.Meters[1]) {
		t.Fatalf("after removal the switch has meters %v, want the controller's, the probes' and the foreign one", got)
	}
	if len(sw.Flows()) != len(none.Flows) {
		t.Fatalf("after removal the switch has %d flows, want %d", len(sw.Flows()), len(none.Flows))
	}
}

// A meter the switch refuses keeps the flows that would use it out, and
// the error names it in words.
func TestRefusedMeterLeavesFlowsOut(t *testing.T) {
	cn, sw := connect(t)
	desired := sample(t)
	id := desired.Meters[0].ID
	// Someone else holds the ID already, with another rate: our add fails.
	if err := cn.MeterMods(ctx(t), []controller.MeterOp{{Cmd: controller.Add, Meter: pipeline.Meter{ID: id, Rate: 1}}}); err != nil {
		t.Fatal(err)
	}
	r := controller.NewReconciler()
	r.SetDesired(desired) // no read-back: the reconciler believes the switch empty
	_, err := r.Sync(ctx(t), cn)
	var me *controller.MeterError
	if !errors.As(err, &me) || !strings.Contains(err.Error(), "OFPET_METER_MOD_FAILED/OFPMMFC_METER_EXISTS") ||
		!strings.Contains(err.Error(), fmt.Sprintf("meter=%d", id)) {
		t.Fatalf("err %v, want a meter error naming meter %d and METER_EXISTS", err, id)
	}
	if commits(sw) != 0 || len(sw.Flows()) != 0 {
		t.Fatalf("flows were sent although their meter was refused (%d commits)", commits(sw))
	}
	// The next Sync compares all meters; a read-back shows it the odd one.
	if err := r.Resync(ctx(t), cn); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Sync(ctx(t), cn); err != nil {
		t.Fatal(err)
	}
	if got := sw.Meters()[id]; !got.Same(desired.Meters[0]) || len(sw.Flows()) != len(desired.Flows) {
		t.Fatalf("after a read-back: meter %v and %d flows", got, len(sw.Flows()))
	}
}

// Changed actions go out as MODIFY_STRICT (counters survive), removed
// groups after the flows that used them.
func TestModifyAndGroupRemoval(t *testing.T) {
	cn, sw := connect(t)
	r := controller.NewReconciler()
	r.Resync(ctx(t), cn)
	desired := sample(t)
	if _, _, err := r.Apply(ctx(t), cn, desired); err != nil {
		t.Fatal(err)
	}
	changed := *desired
	changed.Flows = append([]pipeline.Flow(nil), desired.Flows...)
	var i int
	for i = range changed.Flows {
		if changed.Flows[i].Stage == pipeline.LogToPhy {
			break
		}
	}
	changed.Flows[i].Actions = []pipeline.Action{pipeline.Output{Port: 99}}
	// Without flood groups: drop the flows that use them.
	var kept []pipeline.Flow
	for _, f := range changed.Flows {
		if !strings.Contains(pipeline.ActionsString(f.Actions, false), "group:") {
			kept = append(kept, f)
		}
	}
	changed.Flows, changed.Groups = kept, nil
	r.SetDesired(&changed)
	ops, ch := r.Plan()
	if ch.Modified != 1 || ch.GroupsDeleted != len(desired.Groups) {
		t.Fatalf("changes %v, want 1 modified flow and %d deleted groups", ch, len(desired.Groups))
	}
	var sawModify, sawGroupDelete bool
	for _, op := range ops {
		if op.Cmd == controller.Modify && op.Flow != nil {
			sawModify = true
		}
		if op.Group != nil && op.Cmd == controller.Delete {
			sawGroupDelete = true
		} else if sawGroupDelete {
			t.Fatalf("%s comes after a group delete", op)
		}
	}
	if !sawModify {
		t.Fatal("changed actions were not sent as a modify")
	}
	if _, _, err := r.Apply(ctx(t), cn, &changed); err != nil {
		t.Fatal(err)
	}
	if len(sw.Groups()) != 0 || len(sw.Flows()) != len(changed.Flows) {
		t.Fatalf("switch has %d groups and %d flows, want 0 and %d", len(sw.Groups()), len(sw.Flows()), len(changed.Flows))
	}
}

func TestStaleFlowsOfOursGoForeignStay(t *testing.T) {
	cn, sw := connect(t)
	desired := sample(t)
	stale := pipeline.Flow{Stage: pipeline.InACL, Priority: 10, Cookie: pipeline.MakeCookie(pipeline.FeatureL2, pipeline.KindSwitch, 9),
		Match: pipeline.Match{}.With(pipeline.LogDatapath, 9)}
	foreign := pipeline.Flow{Stage: pipeline.InACL, Priority: 11, Cookie: 0x1234, Match: pipeline.Match{}.With(pipeline.LogDatapath, 9)}
	sw.ExternalAdd(stale)
	sw.ExternalAdd(foreign)
	r := controller.NewReconciler()
	if err := r.Resync(ctx(t), cn); err != nil {
		t.Fatal(err)
	}
	ch, _, err := r.Apply(ctx(t), cn, desired)
	if err != nil {
		t.Fatal(err)
	}
	got := sw.Flows()
	if _, ok := got[stale.Key()]; ok || ch.Deleted != 1 {
		t.Errorf("stale flow of ours kept (changes %v)", ch)
	}
	if _, ok := got[foreign.Key()]; !ok {
		t.Error("a foreign flow was deleted")
	}
}

// A foreign flow that holds the place of one of ours is reported and left
// alone, never overwritten.
func TestForeignFlowInOurPlaceIsReported(t *testing.T) {
	cn, sw := connect(t)
	desired := sample(t)
	victim := desired.Flows[len(desired.Flows)-1]
	intruder := victim
	intruder.Cookie, intruder.Actions = 0x5150, nil
	sw.ExternalAdd(intruder)
	r := controller.NewReconciler()
	if err := r.Resync(ctx(t), cn); err != nil {
		t.Fatal(err)
	}
	_, conflicts, err := r.Apply(ctx(t), cn, desired)
	if err != nil {
		t.Fatal(err)
	}
	if len(conflicts) != 1 || !strings.Contains(conflicts[0], "cookie 0x5150") {
		t.Fatalf("conflicts %q, want one naming cookie 0x5150", conflicts)
	}
	if f := sw.Flows()[victim.Key()]; f.Cookie != 0x5150 {
		t.Fatalf("the foreign flow was overwritten: %s", f)
	}
}

func TestRejectedBundleChangesNothing(t *testing.T) {
	cn, sw := connect(t)
	r := controller.NewReconciler()
	r.Resync(ctx(t), cn)
	good := sample(t)
	first := &pipeline.Tables{Flows: good.Flows[:3]}
	if _, _, err := r.Apply(ctx(t), cn, first); err != nil {
		t.Fatal(err)
	}
	bad := pipeline.Flow{Stage: pipeline.InL2Lkup, Priority: fakeswitch.PoisonPriority, Cookie: pipeline.CookieMarker,
		Match: pipeline.Match{}.With(pipeline.LogDatapath, 1)}
	next := &pipeline.Tables{Flows: append(append([]pipeline.Flow(nil), good.Flows...), bad), Groups: good.Groups}
	_, _, err := r.Apply(ctx(t), cn, next)
	var be *controller.BundleError
	if !errors.As(err, &be) {
		t.Fatalf("got %v, want a BundleError", err)
	}
	msg := err.Error()
	for _, want := range []string{"table=ls_in_l2_lkup", "priority=666", "OFPET_BAD_MATCH/OFPBMC_BAD_PREREQ", "nothing applied"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if n := len(sw.Flows()); n != 3 || commits(sw) != 1 {
		t.Errorf("switch has %d flows after %d commits; the rejected bundle must change nothing", n, commits(sw))
	}
	if r.Installed() != 3 {
		t.Errorf("reconciler believes %d flows installed, want 3", r.Installed())
	}
}

// Someone deletes one of our flows: the monitor says so, the reconciler
// learns it, and the next Apply puts back exactly that flow.
func TestMonitorReportsDrift(t *testing.T) {
	cn, sw := connect(t)
	r := controller.NewReconciler()
	r.Resync(ctx(t), cn)
	desired := sample(t)
	if _, _, err := r.Apply(ctx(t), cn, desired); err != nil {
		t.Fatal(err)
	}
	if err := cn.StartMonitor(ctx(t)); err != nil {
		t.Fatal(err)
	}
	victim := desired.Flows[5]
	sw.ExternalDelete(victim.Key())
	select {
	case ev := <-cn.Monitor():
		drift, err := r.Observe(ev)
		if err != nil || !drift || ev.Kind != controller.FlowDeleted {
			t.Fatalf("event %s: drift %v, err %v", ev.Describe(), drift, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no monitor event")
	}
	ch, _, err := r.Apply(ctx(t), cn, desired)
	if err != nil || ch.Total() != 1 || ch.Added != 1 {
		t.Fatalf("repair sent %v (err %v), want exactly the deleted flow", ch, err)
	}
	if _, ok := sw.Flows()[victim.Key()]; !ok {
		t.Fatal("deleted flow not restored")
	}
	// Our own bundle was not echoed back as drift.
	select {
	case ev := <-cn.Monitor():
		t.Fatalf("our own change came back as %s", ev.Describe())
	case <-time.After(50 * time.Millisecond):
	}
}

// A paused pipeline comes back as a packet-in with a continuation and goes
// on when resumed.
func TestPacketInAndResume(t *testing.T) {
	cn, sw := connect(t)
	frame := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06}
	fields := pipeline.Match{}.With(pipeline.LogDatapath, 7).With(pipeline.LogInport, 3)
	sw.SendPacketIn(frame, fields, []byte{pipeline.OpContinue}, true)
	select {
	case p := <-cn.PacketIns():
		if string(p.Data) != string(frame) || !p.Paused() || len(p.Userdata) != 1 {
			t.Fatalf("got %+v", p)
		}
		if md, _ := p.Fields.Get(pipeline.LogDatapath); md.Uint() != 7 {
			t.Errorf("fields %s, want metadata=7", p.Fields)
		}
		if err := cn.Resume(p); err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no packet-in delivered")
	}
	cn.Barrier(ctx(t))
	if n := sw.Stat(func(s *fakeswitch.Switch) int { return s.Resumes }); n != 1 {
		t.Fatalf("%d resumes, want 1", n)
	}
}

func TestClosedConnectionFailsRequests(t *testing.T) {
	cn, sw := connect(t)
	sw.Disconnect()
	<-cn.Done()
	if err := cn.Barrier(ctx(t)); !errors.Is(err, controller.ErrClosed) {
		t.Fatalf("got %v, want ErrClosed", err)
	}
}

// Dial keeps trying, at most 100 ms apart, until the switch is there.
func TestDialWaitsForTheSwitch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "br-int.mgmt")
	dialed := make(chan error, 1)
	go func() {
		cn, err := controller.Dial(ctx(t), "unix:"+path)
		if err == nil {
			err = cn.Barrier(ctx(t))
			cn.Close()
		}
		dialed <- err
	}()
	time.Sleep(150 * time.Millisecond) // let attempts fail: this is the case under test
	sw, err := fakeswitch.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer sw.Close()
	start := time.Now()
	if err := <-dialed; err != nil {
		t.Fatal(err)
	}
	if wait := time.Since(start); wait > 500*time.Millisecond {
		t.Errorf("connected %s after the switch appeared, want at most the 100 ms retry interval", wait)
	}
}

// An Update is compared alone: one flow added, one changed, one removed
// cost three flow-mods in one bundle, whatever else is installed.
func TestUpdateSendsOnlyTheDelta(t *testing.T) {
	cn, sw := connect(t)
	desired := sample(t)
	r := controller.NewReconciler()
	if err := r.Resync(ctx(t), cn); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Apply(ctx(t), cn, desired); err != nil {
		t.Fatal(err)
	}
	var plain []pipeline.Flow
	for _, f := range desired.Flows {
		if !strings.Contains(pipeline.ActionsString(f.Actions, false), "group:") && len(f.Actions) > 0 {
			plain = append(plain, f)
		}
	}
	changed := plain[0]
	changed.Actions = []pipeline.Action{pipeline.Output{Port: 7}}
	added := pipeline.Flow{Stage: pipeline.InL2Lkup, Priority: 9, Cookie: plain[1].Cookie,
		Match: pipeline.Match{}.With(pipeline.FieldInPort, 77)}
	gone := plain[1]
	before := commits(sw)
	r.Update(&pipeline.Delta{Flows: []pipeline.Flow{changed, added}, DeletedFlows: []string{gone.Key()}})
	ch, err := r.Sync(ctx(t), cn)
	if err != nil {
		t.Fatal(err)
	}
	if ch != (controller.Changes{Added: 1, Modified: 1, Deleted: 1}) || commits(sw) != before+1 {
		t.Fatalf("changes %v in %d bundles, want one each of add, modify, delete in 1", ch, commits(sw)-before)
	}
	got := sw.Flows()
	if f, ok := got[changed.Key()]; !ok || f.String() != changed.String() {
		t.Fatalf("changed flow is %v, want %v", f, changed)
	}
	if _, ok := got[gone.Key()]; ok {
		t.Fatal("removed flow still installed")
	}
	if len(got) != len(desired.Flows) {
		t.Fatalf("switch has %d flows, want %d", len(got), len(desired.Flows))
	}
	if r.Pending() {
		t.Fatal("work left pending after a successful sync")
	}
}
