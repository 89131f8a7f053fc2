package agent

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"sort"
	"sync"
	"time"

	"github.com/chainwire/chainwire/controller"
	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/topology"
	"github.com/sirupsen/logrus"
)

// Health checks of port pairs (DESIGN.md §12). The agent probes the
// checked pairs whose in and out ports are both bound here: a probe frame
// goes into the in port by packet-out, and must come back from the out
// port (pipeline.OpProbe) within the timeout. The prober runs off the
// run loop; it hands state changes to it, and the run loop renders them
// and publishes them in the status, where the other chassis read them.

// probeTarget is a checked pair as the prober needs it.
type probeTarget struct {
	pair      string
	sendErr   bool   // the last probe could not be sent (logged once)
	in, out   uint32 // OpenFlow ports
	check     topology.HealthCheck
	token     uint64 // names the pair in its probes
	seq       uint64
	sentAt    time.Time
	awaiting  bool
	nextSend  time.Time
	hits      int // in a row
	misses    int // in a row
	up        bool
	onceKnown bool // the first answer or failure was seen
}

// prober keeps the probing state of the local checked pairs. It tells
// the run loop which pair changed state, not the state: the run loop
// reads the state when it gets there (verdict), so reports that cross
// on their way (a timeout and an answer at once) cannot leave it with
// an old one.
type prober struct {
	log     *logrus.Entry
	metrics *Metrics
	chassis string
	report  func(pair string)

	mu      sync.Mutex
	targets map[string]*probeTarget
	byToken map[uint64]*probeTarget
	wake    chan struct{}
}

func newProber(chassis string, log *logrus.Entry, m *Metrics, report func(pair string)) *prober {
	return &prober{log: log, metrics: m, chassis: chassis, report: report, targets: map[string]*probeTarget{},
		byToken: map[uint64]*probeTarget{}, wake: make(chan struct{}, 1)}
}

// The probe's payload: a magic string, the pair's token and a sequence
// number.
var probeMagic = []byte("chainwire-probe\x00")

// setTargets replaces the checked local pairs: new ones start up (as
// though healthy) and are probed at once; pairs that stay keep their
// state, new check options included; pairs that leave, or whose ports
// moved, are forgotten.
func (pr *prober) setTargets(want map[string]probeTarget) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	for name, t := range pr.targets {
		if w, ok := want[name]; !ok || w.in != t.in || w.out != t.out {
			delete(pr.targets, name)
			delete(pr.byToken, t.token)
		} else {
			t.check = w.check
		}
	}
	for name, w := range want {
		if pr.targets[name] != nil {
			continue
		}
		t := w
		h := fnv.New64a()
		h.Write([]byte(pr.chassis + "/" + name))
		t.token, t.up = h.Sum64(), true
		pr.targets[name], pr.byToken[t.token] = &t, &t
	}
	select {
	case pr.wake <- struct{}{}:
	default:
	}
}

// verdict is a probed pair's state: up, and whether it is probed here.
func (pr *prober) verdict(pair string) (up, probed bool) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if t := pr.targets[pair]; t != nil {
		return t.up, true
	}
	return false, false
}

// states returns the local pairs' health for the status.
func (pr *prober) states() map[string]string {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if len(pr.targets) == 0 {
		return nil
	}
	out := make(map[string]string, len(pr.targets))
	for name, t := range pr.targets {
		out[name] = topology.HealthDown
		if t.up {
			out[name] = topology.HealthUp
		}
	}
	return out
}

// run sends probes over one session until it ends.
func (pr *prober) run(ctx context.Context, cn *controller.Conn) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-cn.Done():
			return
		case <-pr.wake:
		case <-timer.C:
		}
		next := pr.tick(time.Now(), func(port uint32, frame []byte) error {
			return cn.PacketOut(controller.PortController, pipeline.ProbeActions(port), frame)
		})
		timer.Reset(time.Until(next))
	}
}

// tick counts the probes that timed out, sends the probes that are due,
// with send, and returns when it has to run again.
func (pr *prober) tick(now time.Time, send func(port uint32, frame []byte) error) time.Time {
	type probe struct {
		t     *probeTarget
		port  uint32
		frame []byte
	}
	var due []probe
	var changes []probeTarget
	next := now.Add(time.Second)
	pr.mu.Lock()
	for _, t := range pr.targets {
		if t.awaiting && now.Sub(t.sentAt) >= t.check.Timeout {
			t.awaiting = false
			if t.miss() {
				changes = append(changes, *t)
			}
			if t.up {
				// Confirm a miss at once rather than an interval later:
				// a dead VNF is out within interval + failure × timeout.
				t.nextSend = now
			}
		}
		if !now.Before(t.nextSend) {
			t.seq++
			t.sentAt, t.awaiting, t.nextSend = now, true, now.Add(t.check.Interval)
			due = append(due, probe{t, t.in, probeFrame(t.token, t.seq)})
		}
		if t.nextSend.Before(next) {
			next = t.nextSend
		}
		if t.awaiting && t.sentAt.Add(t.check.Timeout).Before(next) {
			next = t.sentAt.Add(t.check.Timeout)
		}
	}
	pr.mu.Unlock()
	pr.announce(changes)
	pr.metrics.probesSent.Add(float64(len(due)))
	for _, p := range due {
		err := send(p.port, p.frame)
		pr.mu.Lock()
		first := err != nil && !p.t.sendErr
		p.t.sendErr = err != nil
		pr.mu.Unlock()
		if first {
			pr.log.WithError(err).Warnf("cannot send a health probe for pair %s into port %d", topology.Quote(p.t.pair), p.port)
		}
	}
	return next
}

// answer takes a probe back from the switch: a hit for the pair whose
// token and outstanding sequence number it carries, if it came from that
// pair's out port.
func (pr *prober) answer(inPort uint32, frame []byte) {
	token, seq, ok := parseProbe(frame)
	if !ok {
		return
	}
	var changes []probeTarget
	pr.mu.Lock()
	if t := pr.byToken[token]; t != nil && t.out == inPort && t.awaiting && t.seq == seq {
		t.awaiting = false
		pr.metrics.probesAnswered.Inc()
		if t.hit() {
			changes = append(changes, *t)
		}
	}
	pr.mu.Unlock()
	pr.announce(changes)
}

func (pr *prober) announce(changes []probeTarget) {
	sort.Slice(changes, func(i, j int) bool { return changes[i].pair < changes[j].pair })
	for _, t := range changes {
		state, level := "up", logrus.InfoLevel
		if !t.up {
			state, level = "down", logrus.WarnLevel
		}
		pr.log.WithFields(logrus.Fields{"pair": t.pair, "hits": t.hits, "misses": t.misses}).
			Logf(level, "port pair %s is %s", topology.Quote(t.pair), state)
		pr.report(t.pair)
	}
}

// hit and miss count an answer or a timeout; they report a change of
// state (and the first verdict, so that the log says a pair works).
func (t *probeTarget) hit() bool {
	t.hits, t.misses = t.hits+1, 0
	if (!t.up || !t.onceKnown) && t.hits >= t.check.Success {
		t.up, t.onceKnown = true, true
		return true
	}
	return false
}

func (t *probeTarget) miss() bool {
	t.misses, t.hits = t.misses+1, 0
	if (t.up || !t.onceKnown) && t.misses >= t.check.Failure {
		t.up, t.onceKnown = false, true
		return true
	}
	return false
}

func probeFrame(token, seq uint64) []byte {
	payload := append(append([]byte(nil), probeMagic...), be.AppendUint64(be.AppendUint64(nil, token), seq)...)
	return ipFrame(pipeline.ProbeSrcMAC, pipeline.ProbeDstMAC, pipeline.ProbeSrcIP, pipeline.ProbeDstIP, protoUDP,
		udpDatagram(pipeline.ProbePort, pipeline.ProbePort, payload))
}

// parseProbe reads a probe's token and sequence number; anything else
// (a frame with the probe MAC that is not our probe) is not one.
func parseProbe(frame []byte) (token, seq uint64, ok bool) {
	f, err := parseFrame(frame)
	if err != nil || f.proto != protoUDP || len(f.l4) < 8+len(probeMagic)+16 {
		return 0, 0, false
	}
	p := f.l4[8:]
	if !bytes.Equal(p[:len(probeMagic)], probeMagic) {
		return 0, 0, false
	}
	p = p[len(probeMagic):]
	return be.Uint64(p), be.Uint64(p[8:]), true
}

// healthPoll is how often the agent reads the other chassis' health
// verdicts while the model has checked pairs.
const healthPoll = 200 * time.Millisecond

// followChecks gives the prober the checked pairs bound here, when the
// pairs, the ports or the bindings changed (or all is rendered anew). A
// pair is probed where its in port is bound; its out port must be there
// too, else the pair is not probed and the status says so.
func (a *Agent) followChecks() {
	if a.renderer != nil && a.todo.OFPorts == nil && a.todo.Bindings == nil &&
		(a.todo.Model == nil || len(a.todo.Model.PortPairs) == 0 && len(a.todo.Model.Ports) == 0) {
		return
	}
	want := map[string]probeTarget{}
	var checked, split []string
	for name := range a.checked {
		pp := a.ix.PortPair(name)
		if pp == nil {
			continue
		}
		hc, ok := pp.HealthCheck()
		if !ok {
			continue
		}
		checked = append(checked, pp.Name)
		in, inHere := a.boundHere(pp.InPort)
		out, outHere := a.boundHere(pp.OutPort)
		switch {
		case inHere && outHere:
			want[pp.Name] = probeTarget{pair: pp.Name, in: in, out: out, check: hc}
		case inHere || outHere:
			split = append(split, fmt.Sprintf("port pair %s is health-checked, but only its %s port is bound here: not probed (a probe must come back on the chassis that sent it)",
				topology.Quote(pp.Name), map[bool]string{true: "in", false: "out"}[inHere]))
		}
	}
	sort.Strings(split)
	a.checks.Store(len(checked) > 0)
	a.probes.setTargets(want)
	a.healthWarnings = split
	for name := range a.probing {
		if _, still := want[name]; !still {
			a.metrics.forget(name)
		}
	}
	a.probing = map[string]bool{}
	for name := range want {
		a.probing[name] = true
		up, _ := a.probes.verdict(name)
		a.metrics.pair(name, up)
	}
	for name := range a.down {
		checked = append(checked, name)
	}
	a.refreshDown(checked)
}

// boundHere is a port's local OpenFlow port, if it is bound on this
// chassis (as the renderer decides: requested here, or nowhere).
func (a *Agent) boundHere(port string) (uint32, bool) {
	p := a.ix.Port(port)
	ofport, ok := a.bind.Ports[port]
	if p == nil || !ok {
		return 0, false
	}
	rc := p.RequestedChassis()
	return ofport, rc == "" || rc == a.cfg.Chassis
}

// noteChecks keeps the set of pairs that have a health check (or had,
// until followChecks saw them go) as pairs come, change and go.
func (a *Agent) noteChecks(name string, pp *topology.PortPair) {
	if pp != nil && pp.Options[topology.OptHealthCheck] == "true" {
		a.checked[name] = true
	} else {
		delete(a.checked, name)
	}
}

// onLocalHealth takes the news that a pair probed here changed state.
func (a *Agent) onLocalHealth(pair string) {
	up, probed := a.probes.verdict(pair)
	if !probed || !a.probing[pair] {
		return // it left while the news was on its way
	}
	a.metrics.pair(pair, up)
	a.refreshDown([]string{pair})
}

// onRemoteHealth takes the verdicts the other chassis publish.
func (a *Agent) onRemoteHealth(got map[string]map[string]string) {
	var changed []string
	for ch, h := range got {
		for pair, state := range h {
			if a.remoteHealth[ch][pair] != state {
				changed = append(changed, pair)
			}
		}
	}
	for ch, h := range a.remoteHealth {
		for pair := range h {
			if _, still := got[ch][pair]; !still {
				changed = append(changed, pair)
			}
		}
	}
	a.remoteHealth = got
	a.refreshDown(changed)
}

// refreshDown brings the renderer's view of the named pairs' health up
// to date: a pair probed here by the local verdict, any other by what
// the chassis its in port is bound on publishes; a pair without a
// verdict is up.
func (a *Agent) refreshDown(pairs []string) {
	for _, name := range pairs {
		down := false
		if pp := a.ix.PortPair(name); pp != nil {
			if _, checked := pp.HealthCheck(); checked {
				if up, probed := a.probes.verdict(name); probed {
					down = !up
				} else {
					down = a.remoteHealth[a.boundOn(pp.InPort)][name] == topology.HealthDown
				}
			}
		}
		if down == a.down[name] {
			continue
		}
		if down {
			a.down[name] = true
		} else {
			delete(a.down, name)
		}
		if a.todo.Down == nil {
			a.todo.Down = map[string]bool{}
		}
		a.todo.Down[name] = down
		a.dirty = true
	}
}

// boundOn is the chassis a port is bound on: requested, or as its agent
// published ("" if unknown).
func (a *Agent) boundOn(port string) string {
	if p := a.ix.Port(port); p != nil && p.RequestedChassis() != "" {
		return p.RequestedChassis()
	}
	return a.remoteBind[port]
}

// watchHealth reads the other chassis' statuses while there are checked
// pairs or routers, and hands the run loop what changed: their verdicts
// (a stale status, its agent gone, says nothing) and the neighbours they
// learned.
func (a *Agent) watchHealth(ctx context.Context) {
	t := time.NewTicker(healthPoll)
	defer t.Stop()
	last, lastLearned := map[string]map[string]string{}, map[string]map[string]string{}
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		got, learned := map[string]map[string]string{}, map[string]map[string]string{}
		if a.checks.Load() || a.routing.Load() {
			sts, err := a.store.Statuses()
			if err != nil {
				if !failing {
					a.log.WithError(err).Warn("cannot read the other chassis' pair health and neighbours; keeping what they said last")
				}
				failing = true
				continue
			}
			failing = false
			now := time.Now()
			for _, st := range sts {
				if st.Chassis == a.cfg.Chassis {
					continue
				}
				if !st.Stale(now) && len(st.Health) > 0 {
					got[st.Chassis] = st.Health
				}
				// Where a next hop is stays true when the chassis that
				// learned it goes quiet.
				if len(st.Neighbours) > 0 {
					learned[st.Chassis] = st.Neighbours
				}
			}
		}
		if !sameByChassis(last, got) {
			last = got
			a.post(ctx, func() { a.onRemoteHealth(got) })
		}
		if !sameByChassis(lastLearned, learned) {
			lastLearned = learned
			a.post(ctx, func() { a.onRemoteNeighbours(learned) })
		}
	}
}

func sameByChassis(a, b map[string]map[string]string) bool {
	return maps.EqualFunc(a, b, func(x, y map[string]string) bool { return maps.Equal(x, y) })
}
