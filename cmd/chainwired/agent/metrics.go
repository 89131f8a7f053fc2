package agent

import (
	"fmt"
	"strings"
	"time"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the agent's Prometheus series (chainwired --metrics). Each
// is written by the goroutine that owns what it counts (the run loop,
// the packet-in reader, the prober); the client library makes that safe.
type Metrics struct {
	Registry *prometheus.Registry

	flows           *prometheus.GaugeVec
	bundles         prometheus.Counter
	flowMods        prometheus.Counter
	bundleSeconds   prometheus.Histogram
	reconcileErrors *prometheus.CounterVec
	connected       prometheus.Gauge
	generation      prometheus.Gauge
	packetIns       *prometheus.CounterVec
	packetInDrops   prometheus.Counter
	pairUp          *prometheus.GaugeVec
	probesSent      prometheus.Counter
	probesAnswered  prometheus.Counter
	driftRepairs    prometheus.Counter
}

// NewMetrics makes the series, with Go's and the process' own.
func NewMetrics() *Metrics {
	m := &Metrics{Registry: prometheus.NewRegistry(),
		flows: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "chainwire_flows",
			Help: "Flows of ours installed on the bridge, by table."}, []string{"table"}),
		bundles: prometheus.NewCounter(prometheus.CounterOpts{Name: "chainwire_bundles_total",
			Help: "Reconciliations that changed the switch (each one atomic bundle, or a few when the change is too large for one)."}),
		flowMods: prometheus.NewCounter(prometheus.CounterOpts{Name: "chainwire_flow_mods_total",
			Help: "Flow, group and meter mods sent."}),
		bundleSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "chainwire_bundle_seconds",
			Help:    "Time from sending a reconciliation's changes to the switch's last answer.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		reconcileErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chainwire_reconcile_errors_total",
			Help: "Failed reconciliation steps, by kind (model, sync, groups, render, apply, flow_restore_wait)."}, []string{"kind"}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{Name: "chainwire_openflow_connected",
			Help: "1 while the OpenFlow session is up and in sync."}),
		generation: prometheus.NewGauge(prometheus.GaugeOpts{Name: "chainwire_model_generation",
			Help: "The model generation whose flows are installed."}),
		packetIns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chainwire_packet_ins_total",
			Help: "Packet-ins taken, by the stage that sent them and what for."}, []string{"stage", "op"}),
		packetInDrops: prometheus.NewCounter(prometheus.CounterOpts{Name: "chainwire_packet_ins_dropped_total",
			Help: "Packet-ins dropped over the agent's rate or with its workers busy."}),
		pairUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "chainwire_pair_up",
			Help: "Health of the port pairs this chassis probes: 1 up, 0 down."}, []string{"pair"}),
		probesSent: prometheus.NewCounter(prometheus.CounterOpts{Name: "chainwire_probes_sent_total",
			Help: "Health probes sent into port pairs."}),
		probesAnswered: prometheus.NewCounter(prometheus.CounterOpts{Name: "chainwire_probes_answered_total",
			Help: "Health probes back in time from their pair's out port."}),
		driftRepairs: prometheus.NewCounter(prometheus.CounterOpts{Name: "chainwire_drift_repairs_total",
			Help: "Repairs of flows someone else changed on the bridge."}),
	}
	m.Registry.MustRegister(m.flows, m.bundles, m.flowMods, m.bundleSeconds, m.reconcileErrors, m.connected,
		m.generation, m.packetIns, m.packetInDrops, m.pairUp, m.probesSent, m.probesAnswered, m.driftRepairs,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// setFlows publishes the installed flows by table: every pipeline table,
// empty ones as 0.
func (m *Metrics) setFlows(perTable [256]int) {
	for _, s := range pipeline.Stages() {
		m.flows.WithLabelValues(s.Name()).Set(float64(perTable[s.Table()]))
	}
}

func (m *Metrics) bundle(mods int, took time.Duration) {
	m.bundles.Inc()
	m.flowMods.Add(float64(mods))
	m.bundleSeconds.Observe(took.Seconds())
}

// failed counts a failed step; what is the log's words for it.
func (m *Metrics) failed(what string) {
	kind := map[string]string{"switch sync": "sync", "read-back of groups and meters": "groups",
		"clear flow-restore-wait": "flow_restore_wait"}[what]
	if kind == "" {
		kind = strings.ReplaceAll(what, " ", "_")
	}
	m.reconcileErrors.WithLabelValues(kind).Inc()
}

func (m *Metrics) state(connected bool, generation uint64) {
	m.connected.Set(map[bool]float64{true: 1}[connected])
	m.generation.Set(float64(generation))
}

// packetIn counts one taken packet-in: its table as a stage name (a table
// outside the pipeline by number, so the labels stay few) and its opcode.
func (m *Metrics) packetIn(table uint8, userdata []byte) {
	stage := fmt.Sprintf("table%d", table)
	if s, ok := pipeline.StageOfTable(table); ok {
		stage = s.Name()
	}
	op := "none"
	if len(userdata) > 0 {
		op = opNames[userdata[0]]
		if op == "" {
			op = "unknown"
		}
	}
	m.packetIns.WithLabelValues(stage, op).Inc()
}

var opNames = map[byte]string{pipeline.OpContinue: "continue", pipeline.OpLogACL: "acl_log", pipeline.OpReject: "reject",
	pipeline.OpNDAdvert: "nd", pipeline.OpDHCPv4: "dhcpv4", pipeline.OpDHCPv6: "dhcpv6", pipeline.OpDNS: "dns",
	pipeline.OpProbe: "probe", pipeline.OpTimeExceeded: "time_exceeded", pipeline.OpRouterEcho6: "router_echo6"}

// pair publishes a probed pair's health; forget drops a pair no longer
// probed here.
func (m *Metrics) pair(name string, up bool) {
	m.pairUp.WithLabelValues(name).Set(map[bool]float64{true: 1}[up])
}

func (m *Metrics) forget(name string) { m.pairUp.DeleteLabelValues(name) }
