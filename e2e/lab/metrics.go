package lab

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// MetricsURL is where a lab agent serves its metrics, inside its host's
// namespace (chainwired's default --metrics).
const MetricsURL = "http://127.0.0.1:9476/metrics"

// MetricsHints says, one line per host, where its agent's metrics are.
func (l *Lab) MetricsHints() []string {
	var out []string
	for _, h := range l.Config.Hosts {
		out = append(out, fmt.Sprintf("%s metrics: %s in namespace %s", h.Name, MetricsURL, l.ns(h.Name)))
	}
	return out
}

// Scrape fetches a host's agent metrics from inside its namespace.
func (l *Lab) Scrape(host string) (string, error) {
	return l.Exec(host, filepath.Join(l.BinDir, "chainwire-lab"), "get", MetricsURL)
}

// MetricsWant is what a scrape must show besides the series every agent
// has: the flows it reports installed, and the pairs it probes (up).
type MetricsWant struct {
	Flows int
	Pairs []string
}

// CheckMetrics parses a scrape and checks that the agent's series are
// there with sane values: connected, a generation, flows by table adding
// up to want.Flows, bundles that took time and carried at least that many
// mods, no reconcile errors, each probed pair up with probes answered. It
// returns the series it read, one line each, for a report.
func CheckMetrics(text string, want MetricsWant) ([]string, error) {
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("metrics do not parse: %w", err)
	}
	var problems, lines []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	value := func(name string, labels ...string) (float64, bool) {
		f := fams[name]
		if f == nil {
			return 0, false
		}
		sum, found := 0.0, false
		for _, m := range f.Metric {
			if !hasLabels(m, labels) {
				continue
			}
			found = true
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			}
		}
		return sum, found
	}
	need := func(name string, labels ...string) float64 {
		v, ok := value(name, labels...)
		if !ok {
			bad("no series %s%v", name, labels)
		}
		lines = append(lines, fmt.Sprintf("%s%s %g", name, labelText(labels), v))
		return v
	}
	if need("chainwire_openflow_connected") != 1 {
		bad("not connected")
	}
	if need("chainwire_model_generation") < 1 {
		bad("no model generation applied")
	}
	if flows := need("chainwire_flows"); int(flows) != want.Flows {
		bad("chainwire_flows adds up to %g, the status says %d", flows, want.Flows)
	}
	if need("chainwire_flows", "table", "ls_in_chain") < 1 {
		bad("no flows in ls_in_chain")
	}
	bundles := need("chainwire_bundles_total")
	if bundles < 1 || need("chainwire_bundle_seconds") != bundles {
		bad("%g bundles, and a latency for a different number of them", bundles)
	}
	if f := fams["chainwire_bundle_seconds"]; f != nil && len(f.Metric) == 1 && f.Metric[0].Histogram.GetSampleSum() <= 0 {
		bad("bundles took no time at all")
	}
	if mods := need("chainwire_flow_mods_total"); mods < float64(want.Flows) {
		bad("%g flow mods sent for %d flows installed", mods, want.Flows)
	}
	if errs, _ := value("chainwire_reconcile_errors_total"); errs != 0 {
		bad("%g reconcile errors", errs)
	}
	need("chainwire_drift_repairs_total")
	need("chainwire_packet_ins_dropped_total")
	need("process_resident_memory_bytes")
	for _, pair := range want.Pairs {
		if need("chainwire_pair_up", "pair", pair) != 1 {
			bad("pair %s is not up", pair)
		}
	}
	if len(want.Pairs) > 0 {
		sent, answered := need("chainwire_probes_sent_total"), need("chainwire_probes_answered_total")
		if answered < 1 || answered > sent {
			bad("%g probes answered of %g sent", answered, sent)
		}
		if need("chainwire_packet_ins_total", "op", "probe") < answered {
			bad("fewer probe packet-ins than answered probes")
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return lines, fmt.Errorf("metrics: %s", strings.Join(problems, "; "))
	}
	return lines, nil
}

// hasLabels reports whether m has the label pairs (name, value, ...).
func hasLabels(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, lp := range m.Label {
			found = found || lp.GetName() == labels[i] && lp.GetValue() == labels[i+1]
		}
		if !found {
			return false
		}
	}
	return true
}

func labelText(labels []string) string {
	if len(labels) == 0 {
		return ""
	}
	var parts []string
	for i := 0; i+1 < len(labels); i += 2 {
		parts = append(parts, fmt.Sprintf("%s=%q", labels[i], labels[i+1]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}
