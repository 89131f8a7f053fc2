package agent

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chainwire/chainwire/controller"
	"github.com/chainwire/chainwire/controller/fakeswitch"
	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/topology"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sirupsen/logrus"
)

// host counts flow-restore-wait clears.
// host is the bridge's OVSDB side: flow-restore-wait clears, and the
// zones saved on the bridge.
type host struct {
	clears atomic.Int32
	mu     sync.Mutex
	zones  map[string]uint16
}

func (h *host) ClearFlowRestoreWait() error { h.clears.Add(1); return nil }

func (h *host) Zones() (map[string]uint16, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.zones), nil
}

func (h *host) SaveZones(z map[string]uint16) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.zones = maps.Clone(z)
	return nil
}

type rig struct {
	t     *testing.T
	sw    *fakeswitch.Switch
	store *topology.MemStore
	host  *host
	agent *Agent
	stop  context.CancelFunc
	done  chan error
}

// start runs an agent for chassis hv1 against a fake switch and an
// in-memory store.
func start(t *testing.T) *rig {
	t.Helper()
	dir := t.TempDir()
	cfg := Config{Chassis: "hv1", Bridge: "br-int", OVSRundir: dir, Heartbeat: 50 * time.Millisecond}
	sw, err := fakeswitch.Listen(cfg.MgmtSocket())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sw.Close)
	r := &rig{t: t, sw: sw, store: topology.NewMemStore(), host: &host{}, done: make(chan error, 1)}
	log := logrus.New()
	log.SetOutput(testWriter{t})
	dial := func(ctx context.Context) (*controller.Conn, error) {
		return controller.Dial(ctx, "unix:"+cfg.MgmtSocket())
	}
	r.agent = New(cfg, log.WithField("chassis", "hv1"), r.store, dial, r.host)
	ctx, cancel := context.WithCancel(context.Background())
	r.stop = cancel
	go func() { r.done <- r.agent.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})
	return r
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (r *rig) bind(ports map[string]uint32) {
	r.agent.SetBindings(context.Background(), Bindings{Ports: ports, Tunnel: 10})
}

func (r *rig) update(fn func(*topology.Model) error) *topology.Model {
	r.t.Helper()
	m, err := r.store.Update(fn)
	if err != nil {
		r.t.Fatal(err)
	}
	return m
}

// eventually polls cond until it holds or 5 s pass.
func (r *rig) eventually(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			r.t.Fatalf("after 5s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *rig) status() topology.Status {
	sts, _ := r.store.Statuses()
	for _, s := range sts {
		if s.Chassis == "hv1" {
			return s
		}
	}
	return topology.Status{}
}

// want renders what the switch should hold for the store's model.
func (r *rig) want(ports map[string]uint32) *pipeline.Tables {
	m, _ := r.store.Snapshot()
	zones, _ := r.host.Zones() // as the agent gave them out
	tables, err := pipeline.Render(pipeline.Input{Model: m, Chassis: "hv1", OFPorts: ports, TunnelOFPort: 10, Zones: zones})
	if err != nil {
		r.t.Fatal(err)
	}
	return tables
}

func (r *rig) inSync(ports map[string]uint32) func() bool {
	return func() bool {
		want := r.want(ports)
		got := r.sw.Flows()
		if len(got) != len(want.Flows) || len(r.sw.Groups()) != len(want.Groups) {
			return false
		}
		for _, f := range want.Flows {
			if g, ok := got[f.Key()]; !ok || g.String() != f.String() {
				return false
			}
		}
		return true
	}
}

func twoPorts(m *topology.Model) error {
	m.Switches = append(m.Switches, topology.Switch{Name: "sw0", Key: 1})
	m.Ports = append(m.Ports,
		topology.Port{Name: "p1", Switch: "sw0", Key: 1, Addresses: []string{"02:00:00:00:00:01"}},
		topology.Port{Name: "p2", Switch: "sw0", Key: 2, Addresses: []string{"02:00:00:00:00:02"}})
	return nil
}

var ports = map[string]uint32{"p1": 1, "p2": 2}

func commits(sw *fakeswitch.Switch) int {
	return sw.Stat(func(s *fakeswitch.Switch) int { return s.Commits })
}

func TestProgramsTheModelAndFollowsChanges(t *testing.T) {
	r := start(t)
	r.bind(ports)
	m := r.update(twoPorts)
	r.eventually("flows of the model installed", r.inSync(ports))
	r.eventually("status reports the generation", func() bool {
		st := r.status()
		return st.Connected && st.Generation == m.Generation && st.Flows > 0
	})
	if r.host.clears.Load() != 1 {
		t.Errorf("flow-restore-wait cleared %d times, want once after the first sync", r.host.clears.Load())
	}
	r.update(func(m *topology.Model) error {
		m.Ports = append(m.Ports, topology.Port{Name: "p3", Switch: "sw0", Key: 3, Addresses: []string{"02:00:00:00:00:03"}})
		return nil
	})
	with3 := map[string]uint32{"p1": 1, "p2": 2, "p3": 3}
	r.bind(with3)
	r.eventually("the new port's flows installed", r.inSync(with3))
}

// An invalid model, or one older than the applied one, keeps the last
// good flows and says why in the status.
func TestBadModelKeepsTheFlows(t *testing.T) {
	r := start(t)
	r.bind(ports)
	r.update(twoPorts)
	r.eventually("in sync", r.inSync(ports))
	before := commits(r.sw)
	r.store.Break(errors.New("model /x/nb.json: not a chainwire model"))
	r.eventually("the error in the status", func() bool { return strings.Contains(r.status().Error, "not a chainwire model") })
	if n := len(r.sw.Flows()); n == 0 || commits(r.sw) != before {
		t.Fatalf("a bad model changed the switch: %d flows, %d commits (was %d)", n, commits(r.sw), before)
	}
}

// Changes that are invalid on their own (the first part of a
// transaction, say) wait, with the last good flows installed, until later
// changes make them valid; then all of them apply.
func TestInvalidChangesWaitForTheRest(t *testing.T) {
	r := start(t)
	with3 := map[string]uint32{"p1": 1, "p2": 2, "p3": 3}
	r.bind(with3)
	m := r.update(twoPorts)
	r.eventually("in sync", r.inSync(with3))
	before := commits(r.sw)
	deliver := func(ch *topology.Changes) {
		r.agent.post(context.Background(), func() { r.agent.onModel(topology.Event{Changes: ch}) })
	}
	deliver(&topology.Changes{Generation: m.Generation + 1, Ports: map[string]*topology.Port{
		"p3": {Name: "p3", Switch: "sw9", Key: 3}}})
	r.eventually("the refusal in the status", func() bool { return strings.Contains(r.status().Error, `"sw9"`) })
	if commits(r.sw) != before {
		t.Fatal("an invalid change reached the switch")
	}
	deliver(&topology.Changes{Generation: m.Generation + 2, Switches: map[string]*topology.Switch{
		"sw9": {Name: "sw9", Key: 9}}})
	r.eventually("both changes applied", func() bool {
		st := r.status()
		return st.Error == "" && st.Generation == m.Generation+2
	})
	if _, ok := r.sw.Flows()[pipeline.Flow{Stage: pipeline.PhyToLog, Priority: 100,
		Match: pipeline.Match{}.With(pipeline.FieldInPort, 3)}.Key()]; !ok {
		t.Error("p3, on the switch that came second, has no flows")
	}
}

// Somebody deletes a flow and a group of ours behind the agent's back:
// both are restored, and nothing else is sent.
func TestDriftIsRepaired(t *testing.T) {
	r := start(t)
	r.bind(ports)
	r.update(twoPorts)
	r.eventually("in sync", r.inSync(ports))
	want := r.want(ports)
	victim := want.Flows[3]
	r.sw.ExternalDelete(victim.Key())
	r.eventually("the deleted flow restored", r.inSync(ports))
	// A foreign flow somewhere else is left alone and causes no work; a
	// del-flows is repaired in one bundle that sends exactly our flows.
	ops := func() int { return r.sw.Stat(func(s *fakeswitch.Switch) int { return s.Ops }) }
	before, beforeOps := commits(r.sw), ops()
	foreign := pipeline.Flow{Stage: pipeline.InACL, Priority: 9, Cookie: 0x77, Match: pipeline.Match{}.With(pipeline.LogDatapath, 42)}
	r.sw.ExternalAdd(foreign)
	r.sw.ExternalDeleteAll()
	r.eventually("everything of ours restored after del-flows", r.inSync(ports))
	if _, ok := r.sw.Flows()[foreign.Key()]; ok {
		t.Error("the agent re-added a foreign flow")
	}
	if commits(r.sw) != before+1 || ops()-beforeOps != len(want.Flows) {
		t.Errorf("%d bundles with %d mods for one del-flows, want 1 with the %d flows", commits(r.sw)-before, ops()-beforeOps, len(want.Flows))
	}
}

// After ovs-vswitchd restarts (tables empty, connection gone) the agent
// reconnects and installs everything again.
func TestSwitchRestart(t *testing.T) {
	r := start(t)
	r.bind(ports)
	r.update(twoPorts)
	r.eventually("in sync", r.inSync(ports))
	r.sw.Restart()
	r.eventually("reinstalled after the restart", r.inSync(ports))
	r.eventually("connected again", func() bool { return r.status().Connected })
	if n := r.host.clears.Load(); n != 2 {
		t.Errorf("flow-restore-wait cleared %d times, want once per connection", n)
	}
}

// While the switch is away the status says so, and a stopped agent is
// never shown connected.
func TestStatusTellsTheTruth(t *testing.T) {
	r := start(t)
	r.bind(ports)
	r.update(twoPorts)
	r.eventually("connected", func() bool { return r.status().Connected })
	r.sw.Close()
	r.eventually("disconnected in the status", func() bool { return !r.status().Connected })
	first := r.status().Updated
	r.eventually("heartbeats go on", func() bool { return r.status().Updated.After(first) })
	if r.status().Stale(time.Now()) {
		t.Error("a live agent is shown stale")
	}
	r.stop()
	<-r.done
	r.done <- nil // for the cleanup
	st := r.status()
	if st.Connected || st.Error != "agent stopped" {
		t.Errorf("stopped agent's status: connected %v, error %q", st.Connected, st.Error)
	}
	if !st.Stale(time.Now().Add(time.Second)) {
		t.Error("a status three heartbeats old is not stale")
	}
}

// A switch that refuses the flows gets nothing half-applied, and the
// agent says what was refused.
func TestRefusedBundleIsReported(t *testing.T) {
	r := start(t)
	r.sw.RefuseFlows(true)
	r.bind(ports)
	r.update(twoPorts)
	r.eventually("the refusal in the status", func() bool {
		return strings.Contains(r.status().Error, "atomic bundle rejected, nothing applied")
	})
	if n := len(r.sw.Flows()); n != 0 {
		t.Fatalf("%d flows installed from a refused bundle", n)
	}
	r.sw.RefuseFlows(false)
	r.update(func(m *topology.Model) error { m.Ports[0].Addresses = []string{"02:00:00:00:00:11"}; return nil })
	r.eventually("in sync once the switch accepts", r.inSync(ports))
}

// A paused flood chunk is resumed at once.
func TestPausedPipelineIsResumed(t *testing.T) {
	r := start(t)
	r.bind(ports)
	r.update(twoPorts)
	r.eventually("connected", func() bool { return r.status().Connected })
	r.sw.SendPacketIn([]byte("frame-frame-frame"), nil, []byte{pipeline.OpContinue}, true)
	r.eventually("resumed", func() bool { return r.sw.Stat(func(s *fakeswitch.Switch) int { return s.Resumes }) == 1 })
}

// Duplicate iface-ids are a warning in the status.
func TestBindingWarningsInStatus(t *testing.T) {
	r := start(t)
	w := `interfaces a (ofport 3), b (ofport 7) all have iface-id "p1"; using a`
	r.agent.SetBindings(context.Background(), Bindings{Ports: ports, Tunnel: 10, Warnings: []string{w}})
	r.update(twoPorts)
	r.eventually("the warning in the status", func() bool {
		st := r.status()
		return len(st.Warnings) == 1 && st.Warnings[0] == w
	})
}

// Only one agent may serve a bridge.
func TestLockBridge(t *testing.T) {
	dir := t.TempDir()
	unlock, err := LockBridge(dir, "br-int")
	if err != nil {
		t.Fatal(err)
	}
	_, err = LockBridge(dir, "br-int")
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("PID %d", os.Getpid())) {
		t.Fatalf("second lock: %v, want an error naming PID %d", err, os.Getpid())
	}
	unlock()
	again, err := LockBridge(dir, "br-int")
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	again()
	if _, err := os.Stat(filepath.Join(dir, "chainwired.br-int.pid")); err != nil {
		t.Fatal(err)
	}
}

// The metrics say what the status and the switch say: flows by table,
// connection, generation, bundles, drift repairs and refused bundles.
func TestMetricsTellTheTruth(t *testing.T) {
	r := start(t)
	m := r.agent.metrics
	r.bind(ports)
	gen := r.update(twoPorts).Generation
	r.eventually("in sync", r.inSync(ports))
	r.eventually("status and metrics agree", func() bool {
		st := r.status()
		return st.Generation == gen && testutil.ToFloat64(m.generation) == float64(gen) && testutil.ToFloat64(m.connected) == 1
	})
	perTable := map[string]int{}
	for _, f := range r.want(ports).Flows {
		perTable[f.Stage.Name()]++
	}
	for _, s := range pipeline.Stages() {
		if got := testutil.ToFloat64(m.flows.WithLabelValues(s.Name())); got != float64(perTable[s.Name()]) {
			t.Errorf("chainwire_flows{table=%q} = %g, the switch has %d", s.Name(), got, perTable[s.Name()])
		}
	}
	if b, mods := testutil.ToFloat64(m.bundles), testutil.ToFloat64(m.flowMods); b < 1 || mods < float64(len(r.sw.Flows())) {
		t.Errorf("%g bundles with %g mods for %d flows", b, mods, len(r.sw.Flows()))
	}
	r.sw.ExternalDelete(r.want(ports).Flows[3].Key())
	r.eventually("the drift repair counted", func() bool { return testutil.ToFloat64(m.driftRepairs) == 1 })
	r.sw.RefuseFlows(true)
	r.update(func(m *topology.Model) error { m.Ports[0].Addresses = []string{"02:00:00:00:00:11"}; return nil })
	r.eventually("the refused bundle counted", func() bool {
		return testutil.ToFloat64(m.reconcileErrors.WithLabelValues("apply")) >= 1
	})
}
