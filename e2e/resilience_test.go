package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chainwire/chainwire/e2e/lab"
)

// VNF resilience on real OVS (DESIGN.md §12): health checks and
// failover, fail-mode, taps, live VNF moves.

// waitHealth waits until the chassis publishes the pair's health as
// want, and returns when it saw it.
func waitHealth(t *testing.T, l *lab.Lab, chassis, pair, want string, within time.Duration) time.Time {
	t.Helper()
	err := lab.Eventually(within, func() error {
		st, err := statusOf(l, chassis)
		if err == nil && st.Health[pair] != want {
			err = fmt.Errorf("%s says pair %s is %q, want %q", chassis, pair, st.Health[pair], want)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return time.Now()
}

// vnfForwarding brings a two-armed VNF's bridge down (it stops
// forwarding, its ports stay up) or up again.
func vnfForwarding(t *testing.T, l *lab.Lab, vnf string, on bool) {
	t.Helper()
	state := map[bool]string{true: "up", false: "down"}[on]
	if _, err := l.Exec(vnf, "ip", "link", "set", "br0", state); err != nil {
		t.Fatal(err)
	}
}

// rxPackets is what a VNF interface has received so far.
func rxPackets(t *testing.T, l *lab.Lab, vnf, ifc string) int {
	t.Helper()
	n, err := l.RxPackets(vnf, ifc)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// fastPing pings at rate per second for d; each reply is printed with
// its time (outage and lastReply read them).
func fastPing(l *lab.Lab, from, to string, rate int, d time.Duration) *pinger {
	return &pinger{cmd: l.Command(from, lab.FastPingArgs(to, rate, d)...)}
}

func (p *pinger) replies(t *testing.T) []time.Time {
	t.Helper()
	times, err := lab.PingReplies(p.out.String())
	if err != nil {
		t.Fatal(err)
	}
	return times
}

// outage is the longest time without a reply of a finished fast ping:
// how long the path was broken.
func (p *pinger) outage(t *testing.T) time.Duration {
	return lab.LongestGap(p.replies(t), p.started, p.ended)
}

// lastReply is when a finished fast ping got its last reply.
func (p *pinger) lastReply(t *testing.T) time.Time {
	times := p.replies(t)
	return times[len(times)-1]
}

func (p *pinger) start(t *testing.T) *pinger {
	t.Helper()
	p.started = time.Now()
	background(t, p.cmd, &p.out)
	return p
}

// streams runs chainwire-lab tcp-streams: n connections echoing every
// 10 ms for d.
type streams struct {
	cmd *exec.Cmd
	out strings.Builder
}

func startStreams(t *testing.T, l *lab.Lab, from, addr string, n int, d time.Duration) *streams {
	t.Helper()
	s := &streams{cmd: l.Command(from, filepath.Join(binDir, "chainwire-lab"), "tcp-streams", addr, strconv.Itoa(n),
		fmt.Sprintf("%.1f", d.Seconds()))}
	background(t, s.cmd, &s.out)
	return s
}

func (s *streams) wait(t *testing.T) map[int]lab.Stream {
	t.Helper()
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("tcp-streams: %v: %s", err, s.out.String())
	}
	var list []lab.Stream
	if err := json.Unmarshal([]byte(s.out.String()), &list); err != nil {
		t.Fatalf("tcp-streams output: %v: %s", err, s.out.String())
	}
	out := map[int]lab.Stream{}
	for _, st := range list {
		out[st.Port] = st
	}
	return out
}

// clientPorts is the set of TCP client ports a VNF's in port received
// (requests towards app2's echo port) during d.
func clientPorts(t *testing.T, l *lab.Lab, vnf string, d time.Duration) map[int]bool {
	t.Helper()
	c, err := l.StartInboundCapture(vnf, "eth1", "tcp dst port 7000")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(d) // a capture window: how long traffic is sampled, not a wait for a condition
	out := map[int]bool{}
	for _, s := range segments(t, capture{c}) {
		out[s.sport] = true
	}
	return out
}

func portList(m map[int]bool) []int {
	var out []int
	for p := range m {
		out = append(out, p)
	}
	sort.Ints(out)
	return out
}

// healthOptions are the checks the done-when names: a probe a second,
// down after two misses.
var healthOptions = []string{"health-check=true", "health-interval=1", "health-failure=2"}

// A two-pair group on two hypervisors under 1,000 pings/s and 20 TCP
// connections: the pair whose VNF stops forwarding loses its share to the
// other within interval × failure + 1 s; the survivor's connections lose
// nothing, before and after the failed pair comes back.
func TestHealthCheckFailover(t *testing.T) {
	l := vnfLab(t, [2]string{"A", "hv1"}, [2]string{"B", "hv2"})
	chainOf(t, l, "HC", "A,B")
	chainctl(t, l, "--wait", "lsp-chain-classifier", "SW0", "HC", "app2", "entry-lport", "bi-directional", "hc", "ip4")
	for _, p := range []string{"A", "B"} {
		chainctl(t, l, append([]string{"--wait", "lsp-pair-set-options", p}, healthOptions...)...)
	}
	waitHealth(t, l, "hv1", "A", "up", 10*time.Second)
	waitHealth(t, l, "hv2", "B", "up", 10*time.Second)

	// Which pair carries the pings (ICMP hashes by addresses alone)?
	before := map[string]int{"A": rxPackets(t, l, "A", "eth1"), "B": rxPackets(t, l, "B", "eth1")}
	if err := ping(l, "app1", "10.0.0.2", "-c", "50", "-i", "0.01"); err != nil {
		t.Fatal(err)
	}
	victim, survivor := "A", "B"
	if rxPackets(t, l, "B", "eth1")-before["B"] > rxPackets(t, l, "A", "eth1")-before["A"] {
		victim, survivor = "B", "A"
	}
	victimHost := map[string]string{"A": "hv1", "B": "hv2"}[victim]

	echo := l.Command("app2", filepath.Join(binDir, "chainwire-lab"), "tcp-echo", "10.0.0.2:7000")
	if err := echo.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { echo.Process.Kill(); echo.Wait() })
	if err := lab.Eventually(5*time.Second, func() error {
		_, err := l.Exec("app1", filepath.Join(binDir, "chainwire-lab"), "tcp-conns", "10.0.0.2:7000", "1")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	conns := startStreams(t, l, "app1", "10.0.0.2:7000", 20, 22*time.Second)
	onVictim := clientPorts(t, l, victim, time.Second)
	onSurvivor := clientPorts(t, l, survivor, time.Second)
	if len(onVictim) == 0 || len(onSurvivor) == 0 {
		t.Fatalf("20 connections did not spread over both pairs: %s has %v, %s has %v", victim, portList(onVictim), survivor, portList(onSurvivor))
	}

	pings := fastPing(l, "app1", "10.0.0.2", 1000, 8*time.Second).start(t)
	time.Sleep(time.Second) // pings flow before the failure: traffic, not synchronisation
	killed := time.Now()
	vnfForwarding(t, l, victim, false)
	seen := waitHealth(t, l, victimHost, victim, "down", 10*time.Second)
	sent, lost := pings.wait(t)
	outage := pings.outage(t)
	t.Logf("failover: %s published down %.2f s after its VNF stopped; %d of %d pings lost; longest time without a reply %.2f s",
		victim, seen.Sub(killed).Seconds(), lost, sent, outage.Seconds())
	if limit := 1*2*time.Second + time.Second; outage > limit {
		t.Errorf("pings went unanswered for %.2f s, more than health-interval × health-failure + 1 s = %v", outage.Seconds(), limit)
	}

	// The survivor's connections stay where they are when the failed
	// pair comes back; the ones that moved go home.
	vnfForwarding(t, l, victim, true)
	waitHealth(t, l, victimHost, victim, "up", 10*time.Second)
	if err := lab.Eventually(5*time.Second, func() error {
		back := clientPorts(t, l, victim, 500*time.Millisecond)
		for p := range back {
			if onSurvivor[p] {
				return fmt.Errorf("connection from port %d moved from %s to the restored %s", p, survivor, victim)
			}
		}
		if len(back) == 0 {
			return fmt.Errorf("the restored %s carries no connection", victim)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	res := conns.wait(t)
	if len(res) != 20 {
		t.Fatalf("%d streams reported, want 20", len(res))
	}
	var moved []string
	for port, st := range res {
		switch {
		case st.Err != "":
			t.Errorf("connection from port %d broke: %s", port, st.Err)
		case onSurvivor[port] && st.MaxGap >= 200:
			// 200 ms is Linux's shortest retransmission timeout: a
			// longer wait means a segment was lost.
			t.Errorf("connection from port %d on the survivor %s waited %.0f ms for an echo", port, survivor, st.MaxGap)
		case onVictim[port]:
			moved = append(moved, fmt.Sprintf("%d: %.0f ms", port, st.MaxGap))
		}
	}
	sort.Strings(moved)
	t.Logf("connections that failed over (longest wait for an echo): %v", moved)
}

// A one-pair group whose VNF stops forwarding: fail-mode close drops the
// chain's traffic, fail-mode open delivers it around the hop.
func TestFailMode(t *testing.T) {
	l := vnfLab(t, [2]string{"C", "hv1"})
	chainOf(t, l, "FM", "C")
	chainctl(t, l, "--wait", "lsp-chain-classifier", "SW0", "FM", "app2", "entry-lport", "bi-directional", "fm", "ip4")
	chainctl(t, l, append([]string{"--wait", "lsp-pair-set-options", "C"}, healthOptions...)...)
	waitHealth(t, l, "hv1", "C", "up", 10*time.Second)
	if err := ping(l, "app1", "10.0.0.2"); err != nil {
		t.Fatal(err)
	}

	// close (the default): nothing passes once the pair is down.
	pings := fastPing(l, "app1", "10.0.0.2", 100, 6*time.Second).start(t)
	time.Sleep(500 * time.Millisecond) // pings flow before the failure
	killed := time.Now()
	vnfForwarding(t, l, "C", false)
	down := waitHealth(t, l, "hv1", "C", "down", 10*time.Second)
	sent, lost := pings.wait(t)
	t.Logf("fail-mode close: down after %.2f s; %d of %d pings lost; the last reply came %.2f s after the VNF stopped",
		down.Sub(killed).Seconds(), lost, sent, pings.lastReply(t).Sub(killed).Seconds())
	// The hop drops them itself: they no longer reach the down VNF.
	seen := inbound(t, l, "C", "eth1", "icmp")
	if err := ping(l, "app1", "10.0.0.2", "-c", "5"); err == nil {
		t.Error("fail-mode close: pings pass a hop whose only pair is down")
	}
	if n := seen.stop(t); n != 0 {
		t.Errorf("fail-mode close: %d pings were still sent into the down VNF", n)
	}

	// open: the hop is skipped while the pair is down, and comes back.
	pings = fastPing(l, "app1", "10.0.0.2", 100, 4*time.Second).start(t)
	opened := time.Now()
	chainctl(t, l, "--wait", "lsp-pair-group-set-options", "FM-G1", "fail-mode=open")
	took := time.Since(opened)
	sent, lost = pings.wait(t)
	back := pings.replies(t)[0].Sub(opened)
	t.Logf("fail-mode open: set with --wait in %v; %d of %d pings lost; the first reply %.2f s after the change was made",
		took.Round(time.Millisecond), lost, sent, back.Seconds())
	if back > took+time.Second {
		t.Errorf("fail-mode open: the first reply came %v after the change, which took %v", back, took)
	}
	seen = inbound(t, l, "C", "eth1", "icmp")
	if err := ping(l, "app1", "10.0.0.2", "-c", "10", "-i", "0.05"); err != nil {
		t.Errorf("fail-mode open: %v", err)
	}
	if n := seen.stop(t); n != 0 {
		t.Errorf("fail-mode open: the down VNF received %d pings", n)
	}
	vnfForwarding(t, l, "C", true)
	waitHealth(t, l, "hv1", "C", "up", 10*time.Second)
	seen = inbound(t, l, "C", "eth1", "icmp")
	if err := lab.Eventually(5*time.Second, func() error { return ping(l, "app1", "10.0.0.2", "-c", "1") }); err != nil {
		t.Fatal(err)
	}
	if n := seen.stop(t); n == 0 {
		t.Error("the pair is up again, but its VNF sees no pings")
	}
}

var icmpEcho = regexp.MustCompile(`ICMP echo (request|reply)`)

// A tap VNF on another hypervisor gets a copy of every request and reply
// of the chain; the workloads see each packet once; the tap gets no
// broadcasts and what it sends goes nowhere.
func TestTapGroup(t *testing.T) {
	l := vnfLab(t, [2]string{"T", "hv2"}, [2]string{"X", "hv1"})
	chainOf(t, l, "TP", "X", "T")
	chainctl(t, l, "lsp-pair-group-set-options", "TP-G2", "tap=true")
	chainctl(t, l, "--wait", "lsp-chain-classifier", "SW0", "TP", "app2", "entry-lport", "bi-directional", "tp", "ip4")
	if err := ping(l, "app1", "10.0.0.2"); err != nil {
		t.Fatal(err)
	}
	taps := map[string]capture{}
	for _, ifc := range []string{"eth1", "eth2"} {
		taps[ifc] = inbound(t, l, "T", ifc, "")
	}
	onApp2 := inbound(t, l, "app2", "eth0", "icmp")
	onApp1 := inbound(t, l, "app1", "eth0", "icmp")
	const n = 50
	out, err := l.Exec("app1", "ping", "-c", strconv.Itoa(n), "-i", "0.02", "-W", "1", "10.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "DUP") {
		t.Errorf("app1 got duplicate replies:\n%s", out)
	}
	// A broadcast: taps, like every VNF port, get no floods.
	if _, err := l.Exec("app1", "arping", "-c", "2", "-w", "2", "-b", "-I", "eth0", "10.0.0.2"); err != nil {
		t.Logf("arping: %v", err)
	}
	count := map[string]int{}
	for ifc, c := range taps {
		lines, err := c.Stop(false)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range lines {
			if m := icmpEcho.FindStringSubmatch(line); m != nil {
				count[ifc+" "+m[1]]++
			} else {
				count[ifc+" other"]++
				t.Errorf("the tap received on %s: %s", ifc, line)
			}
		}
	}
	t.Logf("the tap received %v", count)
	if count["eth1 request"] != n || count["eth2 reply"] != n || count["eth1 reply"]+count["eth2 request"] != 0 {
		t.Errorf("the tap received %v, want %d requests on its in port and %d replies on its out port", count, n, n)
	}
	if got := onApp2.stop(t); got != n {
		t.Errorf("app2 received %d ICMP packets for %d pings", got, n)
	}
	if got := onApp1.stop(t); got != n {
		t.Errorf("app1 received %d ICMP packets for %d pings", got, n)
	}
	// The chain never waits for the tap: with its VNF forwarding
	// nothing, traffic goes on.
	vnfForwarding(t, l, "T", false)
	if err := ping(l, "app1", "10.0.0.2", "-c", "10", "-i", "0.02"); err != nil {
		t.Errorf("with the tap's VNF not forwarding: %v", err)
	}
}

// A VNF moved from hv1 to hv2 while a 100 pps ping crosses it: its
// interfaces re-plugged there and, with requested-chassis, that changed;
// with the OVSDB store and no requested-chassis the bindings follow by
// themselves. Nothing inside the VNF changes. The ping resumes; a third
// chassis re-programs only what concerns the moved ports.
func TestLiveVNFMove(t *testing.T) {
	t.Run("requested-chassis", func(t *testing.T) { liveVNFMove(t, "") })
	t.Run("bindings", func(t *testing.T) { liveVNFMove(t, "standalone") })
}

func liveVNFMove(t *testing.T, nb string) {
	nodes := []lab.NodeConfig{
		{Name: "app1", Host: "hv1", Interfaces: []lab.InterfaceConfig{{Name: "eth0", Port: "app1", MAC: macApp1, IP: "10.0.0.1/24"}}},
		{Name: "app2", Host: "hv3", Interfaces: []lab.InterfaceConfig{{Name: "eth0", Port: "app2", MAC: macApp2, IP: "10.0.0.2/24"}}},
		{Name: "M", Host: "hv1", Kind: "vnf", Interfaces: []lab.InterfaceConfig{
			{Name: "eth1", Port: "M-in", MAC: "02:00:00:00:0d:01"}, {Name: "eth2", Port: "M-out", MAC: "02:00:00:00:0d:02"}}},
	}
	cfg := hosts(3, nodes...)
	cfg.NB = nb
	l := up(t, cfg)
	registerChassis(t, l)
	placed := func(host string) []string {
		if nb != "" {
			return nil // bound where the agents find them
		}
		return []string{"--", "lsp-set-options", "M-in", "requested-chassis=" + host, "--", "lsp-set-options", "M-out", "requested-chassis=" + host}
	}
	chainctl(t, l, "ls-add", "SW0")
	addPort(t, l, "SW0", "app1", "1", "hv1", 1)
	chainctl(t, l, "lsp-set-addresses", "app1", macApp1+" 10.0.0.1")
	addPort(t, l, "SW0", "app2", "2", "hv3", 2)
	chainctl(t, l, "lsp-set-addresses", "app2", macApp2+" 10.0.0.2")
	chainctl(t, l, append([]string{"lsp-add", "SW0", "M-in", "--tunnel-key", "5", "--", "lsp-add", "SW0", "M-out", "--tunnel-key", "6", "--",
		"lsp-pair-add", "SW0", "M-in", "M-out", "M"}, placed("hv1")...)...)
	chainOf(t, l, "MV", "M")
	chainctl(t, l, "--wait", "lsp-chain-classifier", "SW0", "MV", "app2", "entry-lport", "bi-directional", "mv", "ip4")
	if err := lab.Eventually(10*time.Second, func() error { return ping(l, "app1", "10.0.0.2") }); err != nil {
		t.Fatal(err)
	}
	flowsBefore := flowLines(t, l, "hv3")

	pings := fastPing(l, "app1", "10.0.0.2", 100, 8*time.Second).start(t)
	time.Sleep(time.Second) // pings flow before the move
	moved := time.Now()
	if err := l.MoveNode("M", "hv2"); err != nil {
		t.Fatal(err)
	}
	if nb == "" {
		chainctl(t, l, append([]string{"--wait"}, placed("hv2")[1:]...)...)
	}
	took := time.Since(moved)
	sent, lost := pings.wait(t)
	outage := pings.outage(t)
	t.Logf("live move: re-plugged (with requested-chassis: and re-requested) in %v; %d of %d pings lost; longest time without a reply %.2f s",
		took.Round(time.Millisecond), lost, sent, outage.Seconds())
	if outage >= time.Second {
		t.Errorf("the move broke the ping for %.2f s, goal < 1 s", outage.Seconds())
	}
	c := inbound(t, l, "M", "eth1", "icmp")
	if err := ping(l, "app1", "10.0.0.2"); err != nil {
		t.Fatal(err)
	}
	if n := c.stop(t); n == 0 {
		t.Error("after the move the chain no longer crosses the VNF")
	}
	// hv3 (app2's chassis) re-programs only flows of the moved ports
	// (cookie low 16 bits: the port key, 5 or 6).
	changed := diffFlowLines(flowsBefore, flowLines(t, l, "hv3"))
	for _, f := range changed {
		if !strings.Contains(f, "0005,") && !strings.Contains(f, "0006,") {
			t.Errorf("hv3 re-programmed a flow that is not the moved ports': %s", f)
		}
	}
	t.Logf("hv3 changed %d flows for the move", len(changed))
	if len(changed) == 0 {
		t.Error("hv3 changed nothing: it still sends to the VNF's old chassis")
	}
}

func inbound(t *testing.T, l *lab.Lab, member, iface, filter string) capture {
	t.Helper()
	c, err := l.StartInboundCapture(member, iface, filter)
	if err != nil {
		t.Fatal(err)
	}
	return capture{c}
}

var statsField = regexp.MustCompile(` (duration|n_packets|n_bytes|idle_age|hard_age)=[^ ,]*,?`)

// flowLines is a chassis' flow table without counters.
func flowLines(t *testing.T, l *lab.Lab, host string) map[string]bool {
	t.Helper()
	out, err := l.Ofctl(host, "dump-flows", "br-int")
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "cookie=") {
			lines[strings.TrimSpace(statsField.ReplaceAllString(line, ""))] = true
		}
	}
	return lines
}

func diffFlowLines(a, b map[string]bool) []string {
	var out []string
	for l := range a {
		if !b[l] {
			out = append(out, "- "+l)
		}
	}
	for l := range b {
		if !a[l] {
			out = append(out, "+ "+l)
		}
	}
	sort.Strings(out)
	return out
}

// make demo runs to its end, and its checks pass: among them the scrape
// of hv1's metrics (lab.CheckMetrics).
func TestDemo(t *testing.T) {
	out, err := exec.Command(filepath.Join(binDir, "chainwire-lab"), "demo").CombinedOutput()
	if err != nil {
		t.Fatalf("chainwire-lab demo: %v\n%s", err, out)
	}
	for _, want := range []string{"chainwire_openflow_connected 1", `chainwire_pair_up{pair="PP1"} 1`, "==> lab down"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, out)
		}
	}
}
