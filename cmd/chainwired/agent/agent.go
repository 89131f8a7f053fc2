// Package agent is chainwired's run loop: it keeps one bridge's flows and
// groups equal to what the model and the local bindings call for. One
// goroutine owns all state; the store watcher, the OpenFlow session and
// the OVSDB interface monitor only post events to it, so no state is
// shared and slow work never runs on the OpenFlow reader.
package agent

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/chainwire/chainwire/controller"
	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/topology"
	"github.com/sirupsen/logrus"
)

// Config is what the agent knows about its hypervisor.
type Config struct {
	Chassis string
	Bridge  string
	// OVSRundir is ovs-vswitchd's run directory: the bridge's management
	// socket <OVSRundir>/<Bridge>.mgmt and the agent's lock live there.
	OVSRundir string
	// Heartbeat is how often the status is published even if nothing
	// changed (default 2 s); three missed heartbeats make it stale.
	Heartbeat time.Duration
	// Probe is the OpenFlow echo interval that detects a hung switch
	// (default 5 s).
	Probe time.Duration
	// PacketInRate bounds the packet-ins handled per second (default
	// 2000); the rest are dropped and counted.
	PacketInRate int
	// Metrics receives the agent's series (nil: a registry of its own
	// that nobody serves).
	Metrics *Metrics
}

func (c *Config) setDefaults() {
	if c.Heartbeat == 0 {
		c.Heartbeat = 2 * time.Second
	}
	if c.Probe == 0 {
		c.Probe = 5 * time.Second
	}
	if c.PacketInRate == 0 {
		c.PacketInRate = pipeline.DefaultPacketInRate
	}
	if c.Metrics == nil {
		c.Metrics = NewMetrics()
	}
}

// MgmtSocket is the bridge's management socket, the agent's OpenFlow
// target (as for ovn-controller and ovs-ofctl).
func (c Config) MgmtSocket() string { return filepath.Join(c.OVSRundir, c.Bridge+".mgmt") }

// Bindings is what the local OVSDB says: which OpenFlow port each local
// logical port is on, and the Geneve port.
type Bindings struct {
	Ports  map[string]uint32 // logical port (iface-id) -> ofport
	Tunnel uint32            // the Geneve port's ofport; 0 while it has none
	// Warnings about the interfaces, e.g. two with the same iface-id.
	Warnings []string
}

// Host is what the agent needs from the local OVS besides OpenFlow.
type Host interface {
	// ClearFlowRestoreWait lets ovs-vswitchd forward with the new flows
	// once they are installed (other_config:flow-restore-wait, set by
	// ovs-ctl across a restart); nothing to do if it is not set.
	ClearFlowRestoreWait() error
	// Zones reads the conntrack zones saved on the bridge; SaveZones
	// replaces them.
	Zones() (map[string]uint16, error)
	SaveZones(map[string]uint16) error
}

// Dialer connects to the switch, retrying until ctx ends.
type Dialer func(ctx context.Context) (*controller.Conn, error)

// Agent serves one bridge.
type Agent struct {
	cfg     Config
	log     *logrus.Entry
	metrics *Metrics
	store   topology.Store
	dial    Dialer
	host    Host

	events chan func()
	rec    *controller.Reconciler

	// ix is the last good model, validated; rejected holds changes it
	// refused, kept until later changes make them valid (a transaction
	// can arrive in parts, and a bad write can be undone).
	ix       *topology.Index
	rejected *topology.Changes
	modelErr error // why the newest model could not be used
	bind     Bindings
	haveBind bool

	// renderer keeps the desired state; todo is what changed since it
	// last rendered. Without a renderer the next reconcile renders all.
	renderer *pipeline.Renderer
	todo     pipeline.Update
	// changedAt is when the oldest model change not yet on the switch
	// arrived (the lag the log reports).
	changedAt time.Time

	conn       *controller.Conn
	synced     bool // conn's tables were read back
	monitoring bool // conn's flow monitor runs (it lives as long as the session)
	repairs    int  // drift repairs (for status and tests)
	dirty      bool // something changed since the last reconcile
	groupDrift bool // re-read groups and meters before the next apply
	repair     *time.Timer
	repairing  bool // a repair is scheduled; reconcile when it fires
	restoreOK  bool // flow-restore-wait was cleared on this connection

	applied   uint64
	flows     int
	lastErr   string
	conflicts []string
	published topology.Status
	hostname  string

	pktins *packetIns

	// probes checks the local pairs' health; remoteHealth is what the
	// other chassis publish of theirs, down what the renderer has.
	probes  *prober
	checked map[string]bool // the pairs with a health check
	probing map[string]bool // the pairs probed here
	// healthWarnings: checked pairs that cannot be probed here.
	healthWarnings []string
	remoteHealth   map[string]map[string]string // chassis -> pair -> state
	down           map[string]bool
	checks         atomic.Bool // the model has health-checked pairs
	routing        atomic.Bool // the model has routers: other chassis' neighbours matter
	// learned are the neighbours this agent learned (NeighbourKey ->
	// MAC), remoteNeighbours those other chassis published, by chassis;
	// neighbours what the flows route with (neighbours.go).
	learned, neighbours map[string]string
	remoteNeighbours    map[string]map[string]string
	neighboursFull      bool // maxNeighbours reached, and said

	// southbound is the store's agent side, if it has one: the chassis
	// registration and where ports are bound.
	southbound topology.Southbound
	remoteBind map[string]string // port -> chassis, from every agent
	statusOut  *latest[topology.Status]
	bindOut    *latest[[]string]
	zones      *zones
	zonesOut   *latest[map[string]uint16]
	boundSent  string // the local ports last published, joined
	boundStale bool   // the local ports or the model's ports changed since
}

// New returns an agent; Run starts it.
func New(cfg Config, log *logrus.Entry, store topology.Store, dial Dialer, host Host) *Agent {
	cfg.setDefaults()
	host0, _ := os.Hostname()
	a := &Agent{cfg: cfg, log: log, metrics: cfg.Metrics, store: store, dial: dial, host: host, hostname: host0,
		events: make(chan func(), 256), rec: controller.NewReconciler(), remoteBind: map[string]string{},
		pktins: newPacketIns(cfg.PacketInRate, log, cfg.Metrics), statusOut: newLatest[topology.Status](), bindOut: newLatest[[]string](),
		zones: newZones(nil), zonesOut: newLatest[map[string]uint16](),
		checked: map[string]bool{}, probing: map[string]bool{}, remoteHealth: map[string]map[string]string{}, down: map[string]bool{},
		learned: map[string]string{}, neighbours: map[string]string{}}
	a.southbound, _ = store.(topology.Southbound)
	return a
}

// post hands a state change to the run loop.
func (a *Agent) post(ctx context.Context, fn func()) {
	select {
	case a.events <- fn:
	case <-ctx.Done():
	}
}

// SetBindings reports the local interfaces (from the OVSDB monitor).
func (a *Agent) SetBindings(ctx context.Context, b Bindings) {
	a.post(ctx, func() {
		if fmt.Sprint(b.Warnings) != fmt.Sprint(a.bind.Warnings) {
			for _, w := range b.Warnings {
				a.log.Warn(w)
			}
		}
		if b.Tunnel != a.bind.Tunnel {
			a.renderer = nil // the tunnel port is in many flows: render all
		}
		a.bind, a.haveBind, a.dirty, a.boundStale = b, true, true, true
		a.todo.OFPorts = b.Ports
		if a.zones.assign(b.Ports) {
			a.todo.Zones = a.zones.snapshot()
			a.zonesOut.set(a.zones.snapshot())
		}
	})
}

// Run serves the bridge until ctx ends. Flows stay installed when it
// returns.
func (a *Agent) Run(ctx context.Context) error {
	if saved, err := a.host.Zones(); err != nil {
		a.log.WithError(err).Warn("cannot read the conntrack zones saved on the bridge; local ports get new ones")
	} else {
		a.zones = newZones(saved)
	}
	go a.store.Watch(ctx, func(ev topology.Event) {
		a.post(ctx, func() { a.onModel(ev) })
	})
	// Status and bindings are written by goroutines of their own; the
	// last status (agent stopped) is written before Run returns.
	pubCtx, stopPub := context.WithCancel(context.Background())
	defer stopPub()
	go a.statusOut.run(pubCtx, a.log, "status", a.store.PublishStatus)
	go a.zonesOut.run(pubCtx, a.log, "conntrack zones", a.host.SaveZones)
	if a.southbound != nil {
		go a.bindOut.run(pubCtx, a.log, "port bindings", func(ports []string) error {
			return a.southbound.PublishBindings(a.cfg.Chassis, ports)
		})
		go a.southbound.WatchBindings(ctx, func(b map[string]string, whole bool) {
			a.post(ctx, func() { a.onRemoteBindings(b, whole) })
		})
	}
	a.probes = newProber(a.cfg.Chassis, a.log, a.metrics, func(pair string) {
		a.post(ctx, func() { a.onLocalHealth(pair) })
	})
	a.pktins.probes = a.probes
	a.pktins.learned = func(lrp string, ip net.IP, mac net.HardwareAddr) {
		a.post(ctx, func() { a.onLearned(lrp, ip, mac) })
	}
	go a.watchHealth(ctx)
	go a.connectLoop(ctx)
	a.log.Infof("agent started: bridge %s via %s", a.cfg.Bridge, a.cfg.MgmtSocket())
	tick := time.NewTicker(a.cfg.Heartbeat)
	defer tick.Stop()
	a.repair = time.NewTimer(time.Hour)
	a.repair.Stop()
	for {
		select {
		case <-ctx.Done():
			a.stop()
			return nil
		case fn := <-a.events:
			fn()
		case <-tick.C:
			a.publish(true)
		case <-a.repair.C:
			a.repairing, a.dirty = false, true
		}
		a.drain()
		if a.dirty && !a.repairing {
			a.reconcile(ctx)
		}
		a.publish(false)
	}
}

// repairDelay gathers the monitor events of one outside change (a
// del-flows reports every flow separately) into one repair bundle.
const repairDelay = 30 * time.Millisecond

// drain applies whatever else is already queued, so a burst of changes
// costs one reconciliation.
func (a *Agent) drain() {
	for {
		select {
		case fn := <-a.events:
			fn()
		default:
			return
		}
	}
}

// stop says goodbye in the status: a stopped agent is not connected.
func (a *Agent) stop() {
	if a.conn != nil {
		a.conn.Close()
	}
	a.conn, a.synced = nil, false
	a.lastErr = "agent stopped"
	st := a.status()
	st.Updated = time.Now().UTC()
	if err := a.store.PublishStatus(st); err != nil {
		a.log.WithError(err).Warn("cannot publish the final status")
	}
}

// onModel takes in what the store reports.
func (a *Agent) onModel(ev topology.Event) {
	if ev.Err != nil {
		a.refuse(ev.Err)
		return
	}
	if ev.Model != nil {
		a.onWholeModel(ev.Model)
		return
	}
	if ev.Changes != nil {
		a.onChanges(ev.Changes)
	}
}

// onWholeModel takes a whole model: the first, or one after the store
// lost track; what differs from the last good one is a change like any
// other.
func (a *Agent) onWholeModel(m *topology.Model) {
	if a.ix == nil {
		ix, err := topology.NewIndex(m)
		if err != nil {
			a.refuse(err)
			return
		}
		if m.Generation == 0 {
			a.log.Info("no model yet; waiting for one")
		}
		a.ix, a.rejected, a.renderer, a.dirty, a.boundStale = ix, nil, nil, true, true
		a.modelErr = nil
		a.checked = map[string]bool{}
		for i := range m.PortPairs {
			a.noteChecks(m.PortPairs[i].Name, &m.PortPairs[i])
		}
		a.pktins.setDNS(ix)
		a.routing.Store(ix.HasRouters())
		return
	}
	a.rejected = nil
	a.onChanges(topology.Diff(a.ix.Model(), m))
}

// onChanges applies changes, with any still waiting, if the result is
// valid; otherwise they wait and the last good model stays.
func (a *Agent) onChanges(ch *topology.Changes) {
	if a.ix == nil {
		a.refuse(errors.New("changes before any model"))
		return
	}
	if ch.Generation < a.ix.Generation() {
		a.refuse(fmt.Errorf("model generation %d is older than the applied %d: refusing to go back", ch.Generation, a.ix.Generation()))
		return
	}
	if a.rejected != nil {
		a.rejected.Merge(ch)
		ch = a.rejected
	}
	if err := a.ix.Apply(ch); err != nil {
		a.rejected = ch
		a.refuse(fmt.Errorf("generation %d: %w", ch.Generation, err))
		return
	}
	a.rejected, a.modelErr, a.dirty = nil, nil, true
	a.boundStale = a.boundStale || len(ch.Ports) > 0
	for name, pp := range ch.PortPairs {
		a.noteChecks(name, pp)
	}
	if len(ch.DNSRecords) > 0 || len(ch.Switches) > 0 {
		a.pktins.setDNS(a.ix)
	}
	if len(ch.RouterPorts) > 0 {
		a.forgetNeighbours(ch.RouterPorts)
	}
	a.routing.Store(a.ix.HasRouters())
	if a.changedAt.IsZero() {
		a.changedAt = time.Now()
	}
	if a.todo.Model == nil {
		a.todo.Model = &topology.Changes{}
	}
	a.todo.Model.Merge(ch)
}

func (a *Agent) refuse(err error) {
	a.modelErr = err
	a.metrics.failed("model")
	a.log.WithError(err).Error("cannot use the model; keeping the flows of the last good one")
}

// onRemoteBindings takes where other agents say ports are bound: all of
// them, or the ones that changed ("" for a port no longer bound).
func (a *Agent) onRemoteBindings(b map[string]string, whole bool) {
	changed := b
	if whole {
		changed = map[string]string{}
		for p := range a.remoteBind {
			if _, still := b[p]; !still {
				changed[p] = ""
			}
		}
		for p, ch := range b {
			if a.remoteBind[p] != ch {
				changed[p] = ch
			}
		}
	}
	if len(changed) == 0 {
		return
	}
	if a.todo.Bindings == nil {
		a.todo.Bindings = map[string]string{}
	}
	for p, ch := range changed {
		if ch == "" {
			delete(a.remoteBind, p)
		} else {
			a.remoteBind[p] = ch
		}
		a.todo.Bindings[p] = ch
	}
	a.dirty = true
}

// connectLoop keeps an OpenFlow session to the bridge up: it dials (at
// most 100 ms between attempts), hands the session to the run loop and
// waits for it to end.
func (a *Agent) connectLoop(ctx context.Context) {
	for ctx.Err() == nil {
		cn, err := a.dial(ctx)
		if err != nil {
			if ctx.Err() == nil {
				a.log.WithError(err).Warn("cannot reach the switch")
			}
			continue
		}
		a.post(ctx, func() { a.onConnect(cn) })
		go cn.Keepalive(ctx, a.cfg.Probe)
		go a.pktins.serve(ctx, cn)
		go a.probes.run(ctx, cn)
		go a.watchMonitor(ctx, cn)
		select {
		case <-cn.Done():
		case <-ctx.Done():
			cn.Close()
			return
		}
		a.post(ctx, func() { a.onDisconnect(cn) })
	}
}

func (a *Agent) onConnect(cn *controller.Conn) {
	if a.conn != nil {
		a.conn.Close()
	}
	a.log.Infof("switch connected (dpid %016x)", cn.DPID)
	a.conn, a.synced, a.monitoring, a.restoreOK, a.dirty = cn, false, false, false, true
}

func (a *Agent) onDisconnect(cn *controller.Conn) {
	if a.conn != cn {
		return
	}
	a.log.WithError(cn.Err()).Warn("switch disconnected; flows stay, reconnecting")
	a.conn, a.synced = nil, false
}

// watchMonitor forwards flow monitor events of one session.
func (a *Agent) watchMonitor(ctx context.Context, cn *controller.Conn) {
	for {
		select {
		case ev := <-cn.Monitor():
			a.post(ctx, func() { a.onMonitor(cn, ev) })
		case <-cn.Done():
			return
		case <-ctx.Done():
			return
		}
	}
}

// onMonitor learns a change somebody else made to the flow table.
func (a *Agent) onMonitor(cn *controller.Conn, ev controller.MonitorEvent) {
	if cn != a.conn || !a.synced {
		return
	}
	if ev.Kind == controller.MonitorPaused || ev.Kind == controller.MonitorResumed || cn.MonitorLost() {
		a.log.Warnf("flow monitor: %s; reading the tables back", ev.Describe())
		a.synced, a.dirty = false, true
		return
	}
	drift, err := a.rec.Observe(ev)
	if err != nil {
		a.log.WithError(err).Warn("flow monitor: cannot follow a change; reading the tables back")
		a.synced, a.dirty = false, true
		return
	}
	if drift {
		if !a.repairing {
			a.log.Warnf("flow table changed behind our back (%s); repairing", ev.Describe())
			a.repairing = true
			a.repair.Reset(repairDelay)
			a.repairs++
			a.metrics.driftRepairs.Inc()
		}
		a.groupDrift = true
	}
}

// reconcile brings the switch in line with the current model and bindings.
func (a *Agent) reconcile(ctx context.Context) {
	if a.conn == nil || !a.haveBind || a.ix == nil {
		return
	}
	cn := a.conn
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if !a.synced {
		if err := a.sync(rctx, cn); err != nil {
			a.fail(err, "switch sync")
			cn.Close()
			return
		}
	}
	if a.groupDrift {
		if err := a.rec.ResyncGroupsAndMeters(rctx, cn); err != nil {
			a.fail(err, "read-back of groups and meters")
			cn.Close()
			return
		}
		a.groupDrift = false
	}
	a.followChecks()
	if err := a.render(); err != nil {
		a.fail(err, "render")
		a.dirty = false
		return
	}
	start := time.Now()
	ch, err := a.rec.Sync(rctx, cn)
	if err != nil {
		var be *controller.BundleError
		var tl *controller.TooLargeError
		var me *controller.MeterError
		if !errors.As(err, &be) && !errors.As(err, &tl) && !errors.As(err, &me) {
			cn.Close() // the session is broken; a new one resyncs
		}
		a.fail(err, "apply")
		a.dirty = false
		return
	}
	a.dirty = false
	a.metrics.setFlows(a.rec.InstalledPerTable())
	if ch.Total() > 0 {
		a.metrics.bundle(ch.Total(), time.Since(start))
	}
	conflicts := a.rec.Conflicts()
	if fmt.Sprint(conflicts) != fmt.Sprint(a.conflicts) {
		for _, c := range conflicts {
			a.log.Warn(c + "; leaving it alone")
		}
	}
	a.conflicts = conflicts
	if ch.Total() > 0 {
		f := logrus.Fields{"generation": a.ix.Generation(), "flows": a.rec.Installed(),
			"took": time.Since(start).Round(time.Microsecond)}
		if !a.changedAt.IsZero() {
			f["lag"] = time.Since(a.changedAt).Round(time.Microsecond) // from the change's arrival
		}
		a.log.WithFields(f).Infof("flows updated: %s", ch)
	}
	a.changedAt = time.Time{}
	if !a.restoreOK {
		if err := a.host.ClearFlowRestoreWait(); err != nil {
			a.fail(err, "clear flow-restore-wait")
			a.dirty = true
			return
		}
		a.restoreOK = true
	}
	a.applied, a.flows = a.ix.Generation(), a.rec.Installed()
	a.lastErr = ""
}

// render brings the reconciler's desired state up to date: the changes
// since the last render, or everything when there is no renderer yet.
func (a *Agent) render() error {
	if a.renderer == nil {
		env := pipeline.Env{Chassis: a.cfg.Chassis, PacketInRate: a.cfg.PacketInRate, OFPorts: a.bind.Ports, Bindings: a.remoteBind, TunnelOFPort: a.bind.Tunnel,
			Zones: a.zones.byPort, Down: a.down, Neighbours: a.nestedNeighbours()}
		r, tables, err := pipeline.NewRenderer(a.ix, env)
		if err != nil {
			return err
		}
		a.renderer, a.todo = r, pipeline.Update{}
		a.rec.SetDesired(tables)
		return nil
	}
	if a.todo.Model == nil && a.todo.OFPorts == nil && a.todo.Zones == nil && a.todo.Bindings == nil && a.todo.Down == nil && a.todo.Neighbours == nil {
		return nil
	}
	d, err := a.renderer.Update(a.todo)
	a.todo = pipeline.Update{}
	if err != nil {
		a.renderer = nil // its state is lost; the next reconcile renders all
		return err
	}
	a.rec.Update(d)
	return nil
}

// sync prepares a fresh session: the TLV map, the read-back of what is
// installed, and the flow monitor that reports later drift.
func (a *Agent) sync(ctx context.Context, cn *controller.Conn) error {
	if err := cn.EnsureTLVMap(ctx); err != nil {
		return err
	}
	if !a.monitoring {
		// Once per session: OVS answers a second monitor with the same id
		// with a malformed error that never matches the request.
		mctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := cn.StartMonitor(mctx)
		cancel()
		if err != nil {
			return err
		}
		a.monitoring = true
	}
	// Started first, the monitor misses nothing that happens during the
	// read-back; the events it reported before the read-back's reply are
	// in it, and Observe skips them.
	cn.MonitorLost()
	if err := a.rec.Resync(ctx, cn); err != nil {
		return err
	}
	a.synced, a.groupDrift = true, false
	a.log.Infof("read back %d installed flows of ours", a.rec.Installed()+a.rec.Stale())
	if n := a.rec.Stale(); n > 0 {
		a.log.Warnf("%d installed flows or groups could not be decoded and will be rewritten (first: %s)", n, a.rec.StaleReason)
	}
	return nil
}

func (a *Agent) fail(err error, what string) {
	a.metrics.failed(what)
	a.lastErr = fmt.Sprintf("%s: %v", what, err)
	a.log.WithError(err).Errorf("%s failed; installed flows left as they were", what)
}

// publish hands the agent's status to its writer if it changed, or
// always at a heartbeat, and the local bindings if they changed.
func (a *Agent) publish(heartbeat bool) {
	st := a.status()
	a.metrics.state(st.Connected, st.Generation)
	if heartbeat || fmt.Sprint(st) != fmt.Sprint(a.published) {
		a.published = st
		st.Updated = time.Now().UTC()
		a.statusOut.set(st)
	}
	if a.southbound != nil && a.haveBind && a.boundStale {
		a.boundStale = false
		ports := make([]string, 0, len(a.bind.Ports))
		for p := range a.bind.Ports {
			if a.ix != nil && a.ix.Port(p) != nil {
				ports = append(ports, p)
			}
		}
		sort.Strings(ports)
		if key := strings.Join(ports, ","); key != a.boundSent {
			a.boundSent = key
			a.bindOut.set(ports)
		}
	}
}

// status is what the agent reports now.
func (a *Agent) status() topology.Status {
	warnings := append(append(append([]string(nil), a.bind.Warnings...), a.conflicts...), a.healthWarnings...)
	if n := a.pktins.dropped(); n > 0 {
		warnings = append(warnings, fmt.Sprintf("%d packet-ins dropped (over %d/s), %d handled", n, a.cfg.PacketInRate, a.pktins.handled.Load()))
	}
	sort.Strings(warnings)
	errs := a.lastErr
	if a.modelErr != nil {
		errs = strings.TrimPrefix(errs+"; "+a.modelErr.Error(), "; ")
	}
	var learned map[string]string
	if len(a.learned) > 0 {
		learned = maps.Clone(a.learned)
	}
	return topology.Status{Chassis: a.cfg.Chassis, Generation: a.applied, Connected: a.conn != nil && a.synced,
		Flows: a.flows, Error: errs, Warnings: warnings, Hostname: a.hostname, PID: os.Getpid(),
		Heartbeat: topology.Seconds(a.cfg.Heartbeat.Seconds()), Health: a.probes.states(), Neighbours: learned}
}
