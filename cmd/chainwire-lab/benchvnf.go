package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/chainwire/chainwire/e2e/lab"
	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/topology"
)

// The VNF health benchmark. Probe cost: hv1 with probePairs one-armed
// VNFs, each a health-checked pair probed every probeInterval; for
// probeWindow the probes answered (the trap flows' packet counts) and
// chainwired's CPU, against the same window with the checks off.
// Failover: a two-pair group on two hypervisors, its VNF that carries a
// 1,000/s ping stops forwarding; the ping's longest time without a reply,
// per run.

const (
	probePairs    = 20
	probeInterval = "0.1"
	probeWindow   = 10 * time.Second
)

type vnfReport struct {
	probesPerSec     float64 // answered probes per second, all pairs
	cpuOff, cpuOn    time.Duration
	outages, detects []time.Duration
}

func (r *report) vnfBench() error {
	vr := &vnfReport{}
	r.vnf = vr
	if err := vr.probeCost(); err != nil {
		return err
	}
	return vr.failover(r.runs)
}

func (vr *vnfReport) probeCost() error {
	cfg := &lab.Config{Hosts: []lab.HostConfig{{Name: "hv1", IP: "192.0.2.1"}}}
	for i := 1; i <= probePairs; i++ {
		cfg.Nodes = append(cfg.Nodes, lab.NodeConfig{Name: fmt.Sprintf("f%d", i), Host: "hv1", Kind: "vnf-one-arm",
			Interfaces: []lab.InterfaceConfig{{Name: "eth0", Port: fmt.Sprintf("f%d", i), MAC: fmt.Sprintf("02:00:00:00:01:%02x", i)}}})
	}
	l, err := lab.Up(cfg, lab.Options{})
	if err != nil {
		return err
	}
	defer downOnSignal(l)()
	cmds := []string{"chassis-add", "hv1", "geneve", "192.0.2.1", "--", "ls-add", "A"}
	for i := 1; i <= probePairs; i++ {
		p := fmt.Sprintf("f%d", i)
		cmds = append(cmds, "--", "lsp-add", "A", p, "--", "lsp-pair-add", "A", p, p, p)
	}
	if _, err := l.Chainctl(append([]string{"--wait"}, cmds...)...); err != nil {
		return err
	}
	window := func() (probes int, cpu time.Duration, err error) {
		before, err := probesTrapped(l)
		if err != nil {
			return 0, 0, err
		}
		pid := l.AgentPID("hv1")
		c0 := cpuTime(pid)
		time.Sleep(probeWindow) // the measurement window
		after, err := probesTrapped(l)
		return after - before, cpuTime(pid) - c0, err
	}
	if _, vr.cpuOff, err = window(); err != nil {
		return err
	}
	var set []string
	for i := 1; i <= probePairs; i++ {
		set = append(set, "--", "lsp-pair-set-options", fmt.Sprintf("f%d", i), "health-check=true", "health-interval="+probeInterval)
	}
	if _, err := l.Chainctl(append([]string{"--wait"}, set[1:]...)...); err != nil {
		return err
	}
	if err := lab.Eventually(10*time.Second, func() error {
		sts, err := topology.NewFileStore(l.DB).Statuses()
		if err != nil {
			return err
		}
		for _, st := range sts {
			if n := len(st.Health); n != probePairs {
				return fmt.Errorf("hv1 publishes the health of %d pairs, want %d", n, probePairs)
			}
		}
		if len(sts) == 0 {
			return fmt.Errorf("hv1 has published no status")
		}
		return nil
	}); err != nil {
		return err
	}
	probes, cpu, err := window()
	if err != nil {
		return err
	}
	vr.cpuOn, vr.probesPerSec = cpu, float64(probes)/probeWindow.Seconds()
	fmt.Printf("  %d pairs probed every %s s: %.0f probes answered per second; chainwired CPU %s per %s (checks off: %s)\n",
		probePairs, probeInterval, vr.probesPerSec, cpu, probeWindow, vr.cpuOff)
	return nil
}

var nPackets = regexp.MustCompile(`n_packets=(\d+)`)

// probesTrapped is how many probes came back so far: the packets of the
// flows that trap them.
func probesTrapped(l *lab.Lab) (int, error) {
	out, err := l.Ofctl("hv1", "dump-flows", "br-int", fmt.Sprintf("table=%d,dl_src=%s", pipeline.PhyToLog.Table(), pipeline.ProbeSrcMAC))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range nPackets.FindAllStringSubmatch(out, -1) {
		k, _ := strconv.Atoi(m[1])
		n += k
	}
	return n, nil
}

func (vr *vnfReport) failover(runs int) error {
	vm := func(name, host, mac, ip string) lab.NodeConfig {
		return lab.NodeConfig{Name: name, Host: host, Interfaces: []lab.InterfaceConfig{{Name: "eth0", Port: name, MAC: mac, IP: ip + "/24"}}}
	}
	vnf := func(name, host string, n int) lab.NodeConfig {
		return lab.NodeConfig{Name: name, Host: host, Kind: "vnf", Interfaces: []lab.InterfaceConfig{
			{Name: "eth1", Port: name + "-in", MAC: fmt.Sprintf("02:00:00:00:02:%d1", n)},
			{Name: "eth2", Port: name + "-out", MAC: fmt.Sprintf("02:00:00:00:02:%d2", n)}}}
	}
	l, err := lab.Up(&lab.Config{Hosts: []lab.HostConfig{{Name: "hv1", IP: "192.0.2.1"}, {Name: "hv2", IP: "192.0.2.2"}},
		Nodes: []lab.NodeConfig{vm("vm1", "hv1", "02:00:00:00:00:01", "10.0.0.1"), vm("vm2", "hv2", "02:00:00:00:00:02", "10.0.0.2"),
			vnf("A", "hv1", 1), vnf("B", "hv2", 2)}}, lab.Options{})
	if err != nil {
		return err
	}
	defer downOnSignal(l)()
	on := map[string]string{"vm1": "hv1", "vm2": "hv2", "A": "hv1", "B": "hv2"}
	cmds := [][]string{{"chassis-add", "hv1", "geneve", "192.0.2.1", "--", "chassis-add", "hv2", "geneve", "192.0.2.2", "--", "ls-add", "A"},
		{"lsp-add", "A", "vm1", "--", "lsp-set-addresses", "vm1", "02:00:00:00:00:01 10.0.0.1", "--", "lsp-set-options", "vm1", "requested-chassis=hv1"},
		{"lsp-add", "A", "vm2", "--", "lsp-set-addresses", "vm2", "02:00:00:00:00:02 10.0.0.2", "--", "lsp-set-options", "vm2", "requested-chassis=hv2"},
		{"lsp-chain-add", "A", "pc", "--", "lsp-pair-group-add", "pc", "pg"}}
	for _, v := range []string{"A", "B"} {
		in, out := v+"-in", v+"-out"
		cmds = append(cmds, []string{"lsp-add", "A", in, "--", "lsp-set-options", in, "requested-chassis=" + on[v], "--",
			"lsp-add", "A", out, "--", "lsp-set-options", out, "requested-chassis=" + on[v], "--",
			"lsp-pair-add", "A", in, out, v, "--", "lsp-pair-group-port-pair-add", "pg", v, "--",
			"lsp-pair-set-options", v, "health-check=true", "health-interval=1", "health-failure=2"})
	}
	cmds = append(cmds, []string{"--wait", "lsp-chain-classifier", "A", "pc", "vm2", "entry-lport", "bi-directional", "cls", "ip4"})
	for _, c := range cmds {
		if _, err := l.Chainctl(c...); err != nil {
			return err
		}
	}
	store := topology.NewFileStore(l.DB)
	health := func(v, want string) error {
		return lab.Eventually(15*time.Second, func() error {
			sts, err := store.Statuses()
			for _, st := range sts {
				if st.Chassis == on[v] && st.Health[v] != want {
					err = fmt.Errorf("%s is %q, want %q", v, st.Health[v], want)
				}
			}
			return err
		})
	}
	rx := func(v string) int {
		n, _ := l.RxPackets(v, "eth1")
		return n
	}
	for run := 0; run < runs; run++ {
		for _, v := range []string{"A", "B"} {
			if err := health(v, topology.HealthUp); err != nil {
				return err
			}
		}
		a, b := rx("A"), rx("B")
		if _, err := l.Exec("vm1", "ping", "-q", "-c", "50", "-i", "0.01", "-W", "1", "10.0.0.2"); err != nil {
			return err
		}
		victim := "A"
		if rx("B")-b > rx("A")-a {
			victim = "B"
		}
		ping := l.Command("vm1", lab.FastPingArgs("10.0.0.2", 1000, 6*time.Second)...)
		var out strings.Builder
		ping.Stdout = &out
		started := time.Now()
		if err := ping.Start(); err != nil {
			return err
		}
		time.Sleep(time.Second) // the ping flows before the failure
		killed := time.Now()
		if _, err := l.Exec(victim, "ip", "link", "set", "br0", "down"); err != nil {
			return err
		}
		if err := health(victim, topology.HealthDown); err != nil {
			return err
		}
		vr.detects = append(vr.detects, time.Since(killed))
		ping.Wait()
		times, err := lab.PingReplies(out.String())
		if err != nil {
			return err
		}
		vr.outages = append(vr.outages, lab.LongestGap(times, started, time.Now()))
		if _, err := l.Exec(victim, "ip", "link", "set", "br0", "up"); err != nil {
			return err
		}
	}
	fmt.Printf("  failover (interval 1 s, failure 2): ping outage median %s, max %s; down published after median %s\n",
		roundDur(medianDur(vr.outages)), roundDur(maxDur(vr.outages)), roundDur(medianDur(vr.detects)))
	return nil
}

func maxDur(v []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range v {
		m = max(m, d)
	}
	return m
}

func (r *report) vnfMarkdown(b *strings.Builder) {
	v := r.vnf
	w := func(format string, a ...any) { fmt.Fprintf(b, format+"\n", a...) }
	w("## 9. VNF health checks")
	w("")
	w("Probe cost: hv1 with %d one-armed VNFs (tc mirred), each a pair with `health-check=true health-interval=%s`;", probePairs, probeInterval)
	w("over %s the probes that came back (packet counts of the flows that trap them) and chainwired's CPU", probeWindow)
	w("(utime+stime, 10 ms ticks), then the same window with no checks. Each answered probe is one packet-out and one")
	w("packet-in.")
	w("")
	perPair := v.probesPerSec / probePairs
	extra := v.cpuOn - v.cpuOff
	w("| what | value |")
	w("|---|---|")
	w("| probes answered per second (%d pairs) | %.0f (%.1f per pair) |", probePairs, v.probesPerSec, perPair)
	w("| chainwired CPU, checks off | %s per %s |", v.cpuOff, probeWindow)
	w("| chainwired CPU, checks on | %s per %s |", v.cpuOn, probeWindow)
	if v.probesPerSec > 0 {
		w("| CPU per probe | %s |", roundDur(time.Duration(float64(extra)/(v.probesPerSec*probeWindow.Seconds()))))
	}
	w("")
	w("Failover: a two-pair group (A on hv1, B on hv2) on vm2's chain, `health-interval=1 health-failure=2`; the VNF that")
	w("carries vm1's 1,000/s ping stops forwarding (its bridge down). Outage: the ping's longest time without a reply;")
	w("detection: until its chassis publishes the pair down. %d runs; the bound is interval × failure + 1 s = 3 s.", len(v.outages))
	w("")
	w("| what | median | max |")
	w("|---|---|---|")
	w("| ping outage | %s | %s |", roundDur(medianDur(v.outages)), roundDur(maxDur(v.outages)))
	w("| down published | %s | %s |", roundDur(medianDur(v.detects)), roundDur(maxDur(v.detects)))
}
