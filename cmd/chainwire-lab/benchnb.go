package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chainwire/chainwire/controller"
	"github.com/chainwire/chainwire/e2e/lab"
	"github.com/chainwire/chainwire/topology"
	"github.com/chainwire/chainwire/topology/fixture"
	"github.com/chainwire/chainwire/topology/nbdb"
)

// The northbound benchmark: hv1's agent on a standalone Chainwire_NB
// holding 10k ports and 1000 chains (10 chassis, one of them real).

// nbSpec is the model; benchChains more chains are added one at a time.
var nbSpec = fixture.Spec{Chassis: 10, Switches: 4, PortsPerSwitch: 2500, Chains: 1000, GroupsPerChain: 3, PairsPerGroup: 1}

const benchChains = 100

type nbReport struct {
	ports, chains, flows int
	load                 time.Duration
	cold, restart        []time.Duration
	agentKB, serverKB    int
	add                  []time.Duration // commit acknowledged -> hv1's bundle answered
	commit               []time.Duration // commit sent -> acknowledged
	took                 []time.Duration // hv1's bundle of the add: diff, send, the switch's answer
	lag                  []time.Duration // the add's arrival at hv1's agent -> its bundle answered
	echo                 []time.Duration // OpenFlow echo round trips to hv1's switch, just before the adds
	addMods, addOwn      int             // flow-mods of one add; the chain's own flows
	addCPU               time.Duration   // agent CPU per add
	wait                 []time.Duration // chainctl --wait round trips
	waitCPU              time.Duration   // agent CPU per --wait port add
	offered, absorbed    float64         // chain updates per second
	updates              int
	updateCPU            time.Duration // agent CPU per absorbed update
	converge             time.Duration // last update written -> hv1 applied it
	acl                  aclReport
}

// aclReport: 1,000 ACLs loaded onto the NB model, then ACLs changed one
// at a time.
type aclReport struct {
	flows      int             // flows the ACLs added on hv1
	load       time.Duration   // their transaction acknowledged -> hv1's bundle answered
	change     []time.Duration // one ACL's match changed: acknowledged -> bundle answered
	changeMods int             // flow-mods of one change
}

// nbBench runs the northbound benchmark.
func (r *report) nbBench() error {
	l, err := lab.Up(&lab.Config{Hosts: []lab.HostConfig{{Name: "hv1", IP: "192.0.2.1"}}, NB: "standalone"},
		lab.Options{DummyPorts: true})
	if err != nil {
		return err
	}
	defer downOnSignal(l)()
	var mu sync.Mutex
	committed := map[uint64]time.Time{}
	store, err := nbdb.Open(l.DB, nbdb.Options{Timeout: 60 * time.Second, OnCommit: func(gen uint64) {
		mu.Lock()
		committed[gen] = time.Now()
		mu.Unlock()
	}})
	if err != nil {
		return err
	}
	defer store.Close()
	nb := &nbReport{}
	r.nb = nb

	m := fixture.Build(nbSpec)
	addBenchPairs(m)
	for i := range m.Chassis {
		if m.Chassis[i].Name == "hv1" {
			m.Chassis[i].IP = "192.0.2.1" // the lab's hv1, as its agent registered it
		}
	}
	nb.ports, nb.chains = len(m.Ports), len(m.PortChains)
	local := fixture.LocalPorts(m, "hv1")
	names := make([]string, 0, len(local))
	for p := range local {
		names = append(names, p)
	}
	sort.Strings(names)
	// Patch ports, not dummy interfaces: ovs-vswitchd's main loop polls
	// every userspace-datapath port at each wake-up (with 2,200 dummies
	// one OpenFlow round trip took 1 ms median, 3.3 ms p99 on an idle
	// switch), which a kernel datapath, the real hypervisor's, does not.
	if err := l.AddPatchPorts("hv1", names); err != nil {
		return err
	}
	start := time.Now()
	if _, err := store.Update(func(cur *topology.Model) error {
		gen := cur.Generation
		*cur = *m
		cur.Generation = gen
		return nil
	}); err != nil {
		return fmt.Errorf("load the model: %w", err)
	}
	nb.load = time.Since(start)
	if err := waitGeneration(store, 0); err != nil {
		return err
	}
	gen := func() uint64 {
		s, err := store.Snapshot()
		if err != nil {
			return 0
		}
		return s.Generation
	}
	fmt.Printf("  loaded %d ports, %d chains in %s\n", nb.ports, nb.chains, nb.load.Round(time.Millisecond))

	for i := 0; i < r.runs; i++ {
		if err := l.StopAgent("hv1"); err != nil {
			return err
		}
		if _, err := l.Ofctl("hv1", "del-flows", "br-int"); err != nil {
			return err
		}
		_, total, _, err := timeAgent(l, store, gen())
		if err != nil {
			return err
		}
		nb.cold = append(nb.cold, total)
	}
	for i := 0; i < r.runs; i++ {
		if err := l.StopAgent("hv1"); err != nil {
			return err
		}
		_, total, _, err := timeAgent(l, store, gen())
		if err != nil {
			return err
		}
		nb.restart = append(nb.restart, total)
	}
	if nb.flows, err = flowTotal(l); err != nil {
		return err
	}
	nb.agentKB, nb.serverKB = rssOf(l.PIDs["hv1/chainwired"]), rssOf(l.PIDs["nb1/ovsdb-server"])
	fmt.Printf("  %d flows; cold start %s, restart %s; RSS chainwired %d kB, ovsdb-server %d kB\n", nb.flows,
		medianDur(nb.cold).Round(time.Millisecond), medianDur(nb.restart).Round(time.Millisecond), nb.agentKB, nb.serverKB)

	if err := r.nbChainAdds(l, store, committed, &mu); err != nil {
		return err
	}
	if err := r.nbWaits(l); err != nil {
		return err
	}
	if err := r.nbUpdates(l, store); err != nil {
		return err
	}
	if err := r.nbACLs(l, store); err != nil {
		return err
	}
	return l.StopAgent("hv1")
}

// addBenchPairs adds the VNF ports and pairs of the chains the benchmark
// adds later, on sw1 and hv1 (keys above the fixture's).
func addBenchPairs(m *topology.Model) {
	key := uint32(8000)
	for c := 1; c <= benchChains; c++ {
		for g := 1; g <= 3; g++ {
			pair := fmt.Sprintf("bench-c%d-g%d", c, g)
			in, out := pair+"-in", pair+"-out"
			for _, p := range []string{in, out} {
				m.Ports = append(m.Ports, topology.Port{Name: p, Switch: "sw1", Key: key,
					Options: map[string]string{"requested-chassis": "hv1"}})
				key++
			}
			m.PortPairs = append(m.PortPairs, topology.PortPair{Name: pair, Switch: "sw1", InPort: in, OutPort: out, Weight: 1})
		}
	}
	m.Normalize()
}

// benchChain adds chain c over its prepared pairs, classifying traffic to
// an application port of sw1 that no fixture chain uses.
func benchChain(c int) func(*topology.Model) error {
	return func(m *topology.Model) error {
		chain := topology.PortChain{Name: fmt.Sprintf("bench-pc%d", c), Switch: "sw1", Key: uint32(50000 + c)}
		for g := 1; g <= 3; g++ {
			grp := topology.PortPairGroup{Name: fmt.Sprintf("bench-c%d-pg%d", c, g), Pairs: []string{fmt.Sprintf("bench-c%d-g%d", c, g)}}
			m.PortPairGroups = append(m.PortPairGroups, grp)
			chain.Groups = append(chain.Groups, grp.Name)
		}
		m.PortChains = append(m.PortChains, chain)
		m.Classifiers = append(m.Classifiers, topology.Classifier{Name: fmt.Sprintf("bench-pcc%d", c), Switch: "sw1",
			Chain: chain.Name, Port: fmt.Sprintf("s1p%d", 1000+10*c), Direction: topology.EntryLport,
			Path: topology.Bidirectional, Match: "ip4 && tcp.dst == 80", Key: uint32(50000 + c)})
		return nil
	}
}

var generationField = regexp.MustCompile(`generation=(\d+)`)

// nbChainAdds adds benchChains chains one transaction at a time and
// times each from the moment its commit is sent to hv1's bundle being
// answered (the agent logs that moment, to the microsecond).
func (r *report) nbChainAdds(l *lab.Lab, store *nbdb.Store, committed map[uint64]time.Time, mu *sync.Mutex) error {
	nb := r.nb
	logPath := filepath.Join(l.RunDir("hv1"), "chainwired.log")
	pid := l.PIDs["hv1/chainwired"]
	var err error
	if nb.echo, err = echoRoundTrips(l, "hv1", 200); err != nil {
		return err
	}
	cpu0 := cpuTime(pid)
	if sock := os.Getenv("CHAINWIRE_PPROF"); sock != "" {
		// Profile the agent while it takes the chain adds.
		go exec.Command("curl", "-s", "-o", "/tmp/agent-adds.prof", "--unix-socket",
			strings.ReplaceAll(sock, "%p", strconv.Itoa(pid)), "http://x/debug/pprof/profile?seconds=8").Run()
	}
	var gens []uint64
	acked := map[uint64]time.Time{}
	logged := &logFollower{path: logPath}
	// The writer's garbage is collected between adds, not while hv1
	// takes one: a chainctl would have exited, its CPU free for the agent.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for c := 1; c <= benchChains; c++ {
		runtime.GC()
		m, err := store.Update(benchChain(c))
		if err != nil {
			return err
		}
		acked[m.Generation] = time.Now()
		gens = append(gens, m.Generation)
		// Waiting on the agent's log, not on its status in the database:
		// polling ovsdb-server would load the very server whose update
		// to the agent is being timed.
		if err := logged.waitBundle(m.Generation); err != nil {
			return err
		}
	}
	nb.addCPU = (cpuTime(pid) - cpu0) / benchChains
	applied, err := bundleTimes(logPath)
	if err != nil {
		return err
	}
	for i, g := range gens {
		a, ok := applied[g]
		if !ok {
			return fmt.Errorf("hv1 logged no bundle for chain %d (generation %d)", i+1, g)
		}
		mu.Lock()
		nb.add = append(nb.add, a.at.Sub(acked[g]))
		nb.commit = append(nb.commit, acked[g].Sub(committed[g]))
		nb.took = append(nb.took, a.took)
		nb.lag = append(nb.lag, a.lag)
		mu.Unlock()
		if i == 0 {
			nb.addMods = a.mods
		}
	}
	own, err := chainFlows(l, store, "bench-pc1", "bench-pcc1")
	if err != nil {
		return err
	}
	nb.addOwn = own
	fmt.Printf("  %d chain adds: commit acknowledged to bundle answered median %s, p99 %s (the commit itself: median %s, p99 %s; the bundle: median %s, p99 %s); %d flow-mods for a chain of %d flows; agent CPU %s per add\n",
		benchChains, medianDur(nb.add).Round(10*time.Microsecond), lab.Percentile(nb.add, 0.99).Round(10*time.Microsecond),
		medianDur(nb.commit).Round(10*time.Microsecond), lab.Percentile(nb.commit, 0.99).Round(10*time.Microsecond),
		medianDur(nb.took).Round(10*time.Microsecond), lab.Percentile(nb.took, 0.99).Round(10*time.Microsecond),
		nb.addMods, nb.addOwn, nb.addCPU.Round(10*time.Microsecond))
	return nil
}

type bundleAt struct {
	at   time.Time
	mods int
	took time.Duration // the agent's reconciliation, bundle included
	lag  time.Duration // from the change's arrival at the agent
}

// bundleTimes reads, from the agent's log, when each generation's bundle
// was answered and how many flow-mods it held.
func bundleTimes(logPath string) (map[uint64]bundleAt, error) {
	f, err := os.Open(logPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[uint64]bundleAt{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		u, g, t := updatedLine.FindStringSubmatch(line), generationField.FindStringSubmatch(line), logTime.FindStringSubmatch(line)
		if u == nil || g == nil || t == nil {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, t[1])
		if err != nil {
			return nil, err
		}
		gen, _ := strconv.ParseUint(g[1], 10, 64)
		mods := 0
		for _, n := range u[1:4] {
			k, _ := strconv.Atoi(n)
			mods += k
		}
		took, _ := time.ParseDuration(u[4])
		var lag time.Duration
		if m := lagField.FindStringSubmatch(line); m != nil {
			lag, _ = time.ParseDuration(m[1])
		}
		out[gen] = bundleAt{at, mods, took, lag}
	}
	return out, sc.Err()
}

// chainFlows counts the flows hv1 holds for one chain's classifier (by
// cookie).
func chainFlows(l *lab.Lab, store topology.Store, chain, cls string) (int, error) {
	m, err := store.Snapshot()
	if err != nil {
		return 0, err
	}
	pc, pcc := m.PortChain(chain), m.Classifier(cls)
	if pc == nil || pcc == nil {
		return 0, fmt.Errorf("no chain %s with classifier %s", chain, cls)
	}
	cookie := fmt.Sprintf("cookie=0xc70603%010x/-1", uint64(pc.Key)<<16|uint64(pcc.Key))
	out, err := l.Ofctl("hv1", "dump-flows", "br-int", cookie)
	if err != nil {
		return 0, err
	}
	return strings.Count(out, "cookie="), nil
}

// nbWaits times chainctl --wait adding a port bound on hv1 (the other
// chassis have no agent: chainctl names them and does not wait for
// them).
func (r *report) nbWaits(l *lab.Lab) error {
	nb := r.nb
	pid := l.PIDs["hv1/chainwired"]
	cpu0 := cpuTime(pid)
	for i := 0; i < 10*r.runs; i++ {
		name := fmt.Sprintf("bench-wait%d", i)
		start := time.Now()
		if _, _, err := l.ChainctlOn(l.DB, "--wait", "lsp-add", "sw2", name, "--", "lsp-set-addresses", name,
			fmt.Sprintf("02:ee:00:00:%02x:%02x 10.2.200.%d", i>>8, i&0xff, i%250+1), "--",
			"lsp-set-options", name, "requested-chassis=hv1"); err != nil {
			return err
		}
		nb.wait = append(nb.wait, time.Since(start))
	}
	nb.waitCPU = (cpuTime(pid) - cpu0) / time.Duration(len(nb.wait))
	fmt.Printf("  chainctl --wait lsp-add: median %s, p99 %s; agent CPU %s per add\n", medianDur(nb.wait).Round(100*time.Microsecond),
		lab.Percentile(nb.wait, 0.99).Round(100*time.Microsecond), nb.waitCPU.Round(100*time.Microsecond))
	return nil
}

// nbUpdates offers chain updates (a classifier's priority, and the
// generation, in one transaction each) as fast as the server takes them
// over one pipelined connection, for a few seconds, and measures how
// many per second hv1's agent absorbs: the rate at which the generation
// it reports follows.
func (r *report) nbUpdates(l *lab.Lab, store *nbdb.Store) error {
	nb := r.nb
	sock := strings.TrimPrefix(strings.Split(l.DB, ",")[0], "unix:")
	conn, err := net.Dial("unix", sock)
	if err != nil {
		return err
	}
	defer conn.Close()
	m, err := store.Snapshot()
	if err != nil {
		return err
	}
	first := m.Generation
	pid := l.PIDs["hv1/chainwired"]
	cpu0 := cpuTime(pid)
	const n = 5000
	replies := make(chan error, 1)
	go func() {
		dec := json.NewDecoder(conn)
		for i := 0; i < n; i++ {
			var rep struct {
				Error  any               `json:"error"`
				Result []json.RawMessage `json:"result"`
			}
			if err := dec.Decode(&rep); err != nil {
				replies <- err
				return
			}
			if rep.Error != nil || strings.Contains(fmt.Sprint(rep.Result), "error") {
				replies <- fmt.Errorf("update refused: %v %s", rep.Error, rep.Result)
				return
			}
		}
		replies <- nil
	}()
	enc := json.NewEncoder(conn)
	start := time.Now()
	for i := 0; i < n; i++ {
		// The classifier of chain 1 (its target s1p1 is bound on hv1).
		if err := enc.Encode(map[string]any{"id": i, "method": "transact", "params": []any{"Chainwire_NB",
			map[string]any{"op": "update", "table": "Chain_Classifier", "where": []any{[]any{"name", "==", "pcc1"}},
				"row": map[string]any{"priority": 1 + i%2}},
			map[string]any{"op": "mutate", "table": "NB_Global", "where": []any{},
				"mutations": []any{[]any{"generation", "+=", 1}}}}}); err != nil {
			return err
		}
	}
	if err := <-replies; err != nil {
		return err
	}
	written := time.Since(start)
	last := first + n
	if err := waitGeneration(store, last); err != nil {
		return err
	}
	total := time.Since(start)
	nb.updates = n
	nb.offered = float64(n) / written.Seconds()
	nb.absorbed = float64(n) / total.Seconds()
	nb.converge = total - written
	nb.updateCPU = (cpuTime(pid) - cpu0) / n
	fmt.Printf("  %d chain updates offered at %.0f/s; hv1 absorbed %.0f/s, caught up %s after the last; agent CPU %s per update\n",
		n, nb.offered, nb.absorbed, nb.converge.Round(time.Millisecond), nb.updateCPU.Round(time.Microsecond))
	return nil
}

// benchACLs ACLs are loaded (sets of 10 addresses, fixture.WithPolicy);
// benchACLChanges of them change their match one transaction at a time.
const benchACLs, benchACLChanges = 1000, 100

// nbACLs loads benchACLs ACLs onto the model and times single ACL
// changes, from the commit acknowledged to hv1's bundle answered.
func (r *report) nbACLs(l *lab.Lab, store *nbdb.Store) error {
	acl := &r.nb.acl
	before, err := flowTotal(l)
	if err != nil {
		return err
	}
	logPath := filepath.Join(l.RunDir("hv1"), "chainwired.log")
	logged := &logFollower{path: logPath}
	acked := map[uint64]time.Time{}
	load, err := store.Update(func(m *topology.Model) error {
		fixture.WithPolicy(m, benchACLs/10, 10, benchACLs)
		return nil
	})
	if err != nil {
		return fmt.Errorf("load %d ACLs: %w", benchACLs, err)
	}
	acked[load.Generation] = time.Now()
	if err := logged.waitBundle(load.Generation); err != nil {
		return err
	}
	var gens []uint64
	for i := 1; i <= benchACLChanges; i++ {
		m, err := store.Update(func(m *topology.Model) error {
			a := m.ACL(fmt.Sprintf("acl%d", i)) // its match ends in tcp.dst == i
			if a == nil || !strings.HasSuffix(a.Match, fmt.Sprintf("tcp.dst == %d", i)) {
				return fmt.Errorf("ACL acl%d is not the benchmark's", i)
			}
			a.Match = strings.TrimSuffix(a.Match, strconv.Itoa(i)) + strconv.Itoa(30000+i)
			return nil
		})
		if err != nil {
			return err
		}
		acked[m.Generation] = time.Now()
		gens = append(gens, m.Generation)
		if err := logged.waitBundle(m.Generation); err != nil {
			return err
		}
	}
	applied, err := bundleTimes(logPath)
	if err != nil {
		return err
	}
	acl.load = applied[load.Generation].at.Sub(acked[load.Generation])
	for i, g := range gens {
		a, ok := applied[g]
		if !ok {
			return fmt.Errorf("hv1 logged no bundle for ACL change %d (generation %d)", i+1, g)
		}
		acl.change = append(acl.change, a.at.Sub(acked[g]))
		if i == 0 {
			acl.changeMods = a.mods
		}
	}
	after, err := flowTotal(l)
	if err != nil {
		return err
	}
	acl.flows = after - before
	fmt.Printf("  %d ACLs: %d flows on hv1, live %s after their commit; one ACL changed: live after median %s, p99 %s, %d flow-mods\n",
		benchACLs, acl.flows, roundDur(acl.load), roundDur(medianDur(acl.change)), roundDur(lab.Percentile(acl.change, 0.99)), acl.changeMods)
	return nil
}

// flowTotal counts hv1's flows.
func flowTotal(l *lab.Lab) (int, error) {
	out, err := l.Ofctl("hv1", "dump-aggregate", "br-int")
	if err != nil {
		return 0, err
	}
	fc := flowCount.FindStringSubmatch(out)
	if fc == nil {
		return 0, fmt.Errorf("no flow count in %q", out)
	}
	return strconv.Atoi(fc[1])
}

// waitGeneration waits for hv1 to report generation gen (0: whatever the
// store holds now).
func waitGeneration(store topology.Store, gen uint64) error {
	if gen == 0 {
		m, err := store.Snapshot()
		if err != nil {
			return err
		}
		gen = m.Generation
	}
	return lab.EventuallyEvery(120*time.Second, 5*time.Millisecond, func() error {
		sts, err := store.Statuses()
		if err != nil {
			return err
		}
		for _, st := range sts {
			if st.Chassis == "hv1" && st.Generation >= gen {
				return nil
			}
		}
		return fmt.Errorf("hv1 has not applied generation %d", gen)
	})
}

// logFollower reads an agent's log as it grows.
type logFollower struct {
	path string
	off  int64
	part string // a line not yet complete
}

// waitBundle returns once the log has a bundle line ("flows updated") for
// generation gen or later.
func (lf *logFollower) waitBundle(gen uint64) error {
	return lab.EventuallyEvery(120*time.Second, 2*time.Millisecond, func() error {
		f, err := os.Open(lf.path)
		if err != nil {
			return err
		}
		defer f.Close()
		b, err := io.ReadAll(io.NewSectionReader(f, lf.off, 1<<30))
		if err != nil {
			return err
		}
		lf.off += int64(len(b))
		lines := strings.Split(lf.part+string(b), "\n")
		lf.part = lines[len(lines)-1]
		for _, line := range lines[:len(lines)-1] {
			g := generationField.FindStringSubmatch(line)
			if updatedLine.MatchString(line) && g != nil {
				if n, _ := strconv.ParseUint(g[1], 10, 64); n >= gen {
					return nil
				}
			}
		}
		return fmt.Errorf("hv1 has logged no bundle for generation %d", gen)
	})
}

// echoRoundTrips times n OpenFlow echoes to a host's switch, 5 ms
// apart, over a session of their own: the switch's part of any exchange
// (a bundle is two).
func echoRoundTrips(l *lab.Lab, host string, n int) ([]time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cn, err := controller.Dial(ctx, "unix:"+filepath.Join(l.RunDir(host), "br-int.mgmt"))
	if err != nil {
		return nil, err
	}
	defer cn.Close()
	out := make([]time.Duration, 0, n)
	for range n {
		time.Sleep(5 * time.Millisecond)
		t := time.Now()
		if err := cn.Echo(ctx); err != nil {
			return nil, err
		}
		out = append(out, time.Since(t))
	}
	return out, nil
}

// cpuTime is a process's user + system CPU time so far.
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

func rssOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			kb, _ := strconv.Atoi(strings.Fields(line)[1])
			return kb
		}
	}
	return 0
}
