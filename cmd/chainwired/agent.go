package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chainwire/chainwire/controller"
	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/topology"
	"github.com/sirupsen/logrus"
)

// agent owns the state of one hypervisor: the last good model, the local
// bindings, the OpenFlow connection and the reconciler. All of it is
// touched by the run loop only; the watchers just post events.
type agent struct {
	cfg   *config
	log   *logrus.Entry
	store topology.Store
	rec   *controller.Reconciler

	model    *topology.Model // last model that was read and validated
	modelErr error           // why the newest model could not be used
	ofports  map[string]uint32
	tunnels  map[string]uint32
	conn     *controller.Conn
	fresh    bool // conn still needs its TLV map and read-back
	lastErr  string
	status   topology.Status
	events   chan func()
	applied  uint64
	haveBind bool
}

func newAgent(cfg *config, log *logrus.Entry, store topology.Store) *agent {
	return &agent{cfg: cfg, log: log, store: store, rec: controller.NewReconciler(),
		model: &topology.Model{}, events: make(chan func(), 64)}
}

// post hands a state change to the run loop.
func (a *agent) post(ctx context.Context, fn func()) {
	select {
	case a.events <- fn:
	case <-ctx.Done():
	}
}

func (a *agent) run(ctx context.Context) error {
	conns := make(chan *controller.Conn)
	srv := &controller.Server{Path: a.cfg.OFSocket, Log: a.log}
	if err := srv.Listen(); err != nil {
		return err
	}
	if err := newBridgeSetup(a.cfg, a.log).ensure(); err != nil {
		return fmt.Errorf("bridge setup: %w", err)
	}
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ctx, conns) }()
	go a.store.Watch(ctx, func(m *topology.Model, err error) {
		a.post(ctx, func() { a.onModel(m, err) })
	})
	mon := &ifaceMonitor{target: a.cfg.OVSDB, log: a.log}
	go mon.run(ctx, func(b, t map[string]uint32) {
		a.post(ctx, func() { a.ofports, a.tunnels, a.haveBind = b, t, true })
	})
	a.log.Infof("agent started: bridge %s, model %s, controller socket %s", a.cfg.Bridge, a.cfg.DB, a.cfg.OFSocket)
	for {
		select {
		case <-ctx.Done():
			if a.conn != nil {
				a.conn.Close()
			}
			return nil
		case err := <-srvErr:
			if err != nil {
				return err
			}
			return nil
		case cn := <-conns:
			a.onConnect(ctx, cn)
		case fn := <-a.events:
			fn()
		}
		a.drain(ctx, conns)
		a.reconcile(ctx)
	}
}

// drain applies whatever else is already queued, so a burst of changes
// costs one reconciliation.
func (a *agent) drain(ctx context.Context, conns chan *controller.Conn) {
	for {
		select {
		case cn := <-conns:
			a.onConnect(ctx, cn)
		case fn := <-a.events:
			fn()
		default:
			return
		}
	}
}

func (a *agent) onModel(m *topology.Model, err error) {
	if err != nil {
		a.modelErr = err
		a.log.WithError(err).Error("cannot use the model; keeping the flows of the last good one")
		return
	}
	a.modelErr = nil
	if m.Generation == 0 && len(m.Switches) == 0 {
		a.log.Infof("model %s is empty or missing; waiting for it", a.cfg.DB)
	}
	a.model = m
}

func (a *agent) onConnect(ctx context.Context, cn *controller.Conn) {
	if a.conn != nil {
		a.conn.Close()
	}
	a.log.Infof("switch connected (dpid %016x)", cn.DPID)
	a.conn, a.fresh = cn, true
	go func() {
		<-cn.Done()
		a.post(ctx, func() {
			if a.conn == cn {
				a.log.WithError(cn.Err()).Warn("switch disconnected; flows stay, waiting for it to reconnect")
				a.conn = nil
				a.publish()
			}
		})
	}()
}

// reconcile brings the switch in line with the current model and bindings.
func (a *agent) reconcile(ctx context.Context) {
	defer a.publish()
	if a.conn == nil || !a.haveBind {
		return
	}
	cn := a.conn
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if a.fresh {
		if err := cn.EnsureTLVMap(rctx); err != nil {
			a.fail(err, "Geneve TLV map")
			cn.Close()
			return
		}
		if err := a.rec.Resync(rctx, cn); err != nil {
			a.fail(err, "read-back")
			cn.Close()
			return
		}
		a.fresh = false
		a.log.Infof("read back %d installed flows", a.rec.Installed()+a.rec.Stale())
		if n := a.rec.Stale(); n > 0 {
			a.log.Warnf("%d installed flows could not be decoded and will be rewritten (first: %s)", n, a.rec.StaleReason)
		}
	}
	flows, err := pipeline.Render(pipeline.Input{Model: a.model, Chassis: a.cfg.Chassis, OFPorts: a.ofports,
		TunnelOFPort: a.tunnels[geneveName]})
	if err != nil {
		a.fail(err, "render")
		return
	}
	start := time.Now()
	ch, err := a.rec.Apply(rctx, cn, flows)
	if err != nil {
		var be *controller.BundleError
		if !errors.As(err, &be) {
			cn.Close() // the session is broken; OVS will reconnect and we resync
		}
		a.fail(err, "apply")
		return
	}
	if ch.Total() > 0 {
		a.log.WithFields(logrus.Fields{"generation": a.model.Generation, "flows": len(flows),
			"took": time.Since(start).Round(time.Microsecond)}).Infof("flows updated: %s", ch)
	}
	a.applied = a.model.Generation
	if a.modelErr != nil {
		a.lastErr = a.modelErr.Error()
	} else {
		a.lastErr = ""
	}
}

func (a *agent) fail(err error, what string) {
	a.lastErr = fmt.Sprintf("%s: %v", what, err)
	a.log.WithError(err).Errorf("%s failed; installed flows left as they were", what)
}

// publish writes the agent's status if it changed.
func (a *agent) publish() {
	st := topology.Status{Chassis: a.cfg.Chassis, Generation: a.applied, Connected: a.conn != nil && !a.fresh,
		Flows: a.rec.Installed(), Error: a.lastErr}
	if st == a.status {
		return
	}
	a.status = st
	st.Updated = time.Now().UTC()
	if err := a.store.PublishStatus(st); err != nil {
		a.log.WithError(err).Warn("cannot publish status")
	}
}
