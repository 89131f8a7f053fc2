package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chainwire/chainwire/deploy"
	"github.com/chainwire/chainwire/e2e/lab"
	"github.com/chainwire/chainwire/topology"
)

// startFastPing sends count echo requests every 10 ms.
func startFastPing(t *testing.T, l *lab.Lab, from, to string, count int) *pinger {
	t.Helper()
	p := &pinger{cmd: l.Command(from, "ping", "-q", "-i", "0.01", "-W", "1", "-c", strconv.Itoa(count), to)}
	return p.start(t)
}

// dumpOn reads the model from one database member.
func dumpOn(l *lab.Lab, member string) (*topology.Model, error) {
	out, _, err := l.ChainctlOn(l.NBSocket(member), "--no-leader-only", "dump")
	if err != nil {
		return nil, err
	}
	m := &topology.Model{}
	if err := json.Unmarshal([]byte(out), m); err != nil {
		return nil, fmt.Errorf("%s: dump: %v", member, err)
	}
	return m, nil
}

// On two hypervisors and a 3-member database cluster: the seed's Case 3
// works as with a file; a port bound wherever its VM is (no
// requested-chassis) is reached from the other hypervisor through the
// bindings its agent publishes; then the cluster's leader dies while
// chainctl writes in a loop and a ping crosses the chain every 10 ms: no
// acknowledged write is lost on any member, no ping is lost, and both
// agents converge to the final model.
func TestClusterLeaderLoss(t *testing.T) {
	c := chainSetup{vnfs: 3, app2Host: "hv2", nb: "cluster", roamer: true}
	l := c.up(t)
	tr := c.ping(t, l)
	tr.expect(t, c, refs(c, "eth1", 1, 2, 3), refs(c, "eth2", 3, 2, 1))
	req, rep := tr.keys()
	if fmt.Sprint(req) != "[7>8]" || fmt.Sprint(rep) != "[8>1 8>7 8>8]" {
		t.Errorf("Geneve keys: requests %v, replies %v; want [7>8] and [8>1 8>7 8>8]", req, rep)
	}
	if err := lab.Eventually(10*time.Second, func() error { return ping(l, "app1", "10.0.0.4") }); err != nil {
		t.Fatalf("app4 (bound on hv2 by its agent, no requested-chassis) unreachable from hv1: %v", err)
	}
	if out := chainctl(t, l, "show"); !strings.Contains(out, "bound on: hv2") {
		t.Errorf("show does not say where app4 is bound:\n%s", out)
	}

	p := startFastPing(t, l, "app1", "10.0.0.2", 1500)
	var (
		mu            sync.Mutex
		acked         []string
		failed        []string
		stop          = make(chan struct{})
		writerStopped = make(chan struct{})
	)
	go func() {
		defer close(writerStopped)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			name := fmt.Sprintf("w%d", i)
			_, _, err := l.ChainctlOn(l.DB, "lsp-add", "SW0", name)
			mu.Lock()
			if err == nil {
				acked = append(acked, name)
			} else {
				failed = append(failed, err.Error())
			}
			mu.Unlock()
		}
	}()
	ackedCount := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(acked)
	}
	waitAcked := func(n int) {
		t.Helper()
		if err := lab.Eventually(30*time.Second, func() error {
			if got := ackedCount(); got < n {
				return fmt.Errorf("%d writes acknowledged, waiting for %d", got, n)
			}
			return nil
		}); err != nil {
			close(stop)
			t.Fatal(err)
		}
	}
	waitAcked(15)
	leader := l.NBLeader()
	if leader == "" {
		t.Fatal("no leader to kill")
	}
	killedAt := ackedCount()
	if err := l.KillNBMember(leader); err != nil {
		t.Fatal(err)
	}
	waitAcked(killedAt + 15)
	close(stop)
	<-writerStopped
	t.Logf("killed leader %s after %d writes; %d acknowledged in all, %d failed", leader, killedAt, len(acked), len(failed))
	if err := l.StartNBMember(leader); err != nil {
		t.Fatal(err)
	}
	for _, m := range l.NB {
		if err := lab.Eventually(30*time.Second, func() error {
			model, err := dumpOn(l, m.Name)
			if err != nil {
				return err
			}
			for _, name := range acked {
				if model.Port(name) == nil {
					return fmt.Errorf("%s lacks acknowledged port %s", m.Name, name)
				}
			}
			return nil
		}); err != nil {
			t.Error(err)
		}
	}
	chainctl(t, l, "--wait", "lsp-add", "SW0", "final")
	final, err := dumpOn(l, l.NBLeader())
	if err != nil {
		t.Fatal(err)
	}
	out := chainctl(t, l, "status")
	for _, h := range []string{"hv1", "hv2"} {
		if !strings.Contains(out, fmt.Sprintf("%s: generation %d", h, final.Generation)) {
			t.Errorf("%s has not applied generation %d:\n%s", h, final.Generation, out)
		}
	}
	if sent, lost := p.wait(t); lost != 0 {
		t.Errorf("lost %d of %d pings through the chain while the leader died", lost, sent)
	}
}

// Four chainctl writers add 200 ports each at once: all 800 land, with
// distinct keys, and no command fails (a writer that loses a race says so
// and tries again). Two writers racing for one name, or one key: exactly
// one wins, the other is told why.
func TestConcurrentWriters(t *testing.T) {
	cfg := hosts(1)
	cfg.NB = "cluster"
	l := up(t, cfg)
	chainctl(t, l, "ls-add", "SW0")
	const writers, each = 4, 200
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	retries := 0
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				_, stderr, err := l.ChainctlOn(l.DB, "lsp-add", "SW0", fmt.Sprintf("c%d-%d", w, i))
				mu.Lock()
				retries += strings.Count(stderr, "trying again")
				if err != nil {
					failures = append(failures, err.Error())
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d writes failed, first: %s", len(failures), failures[0])
	}
	m, err := dumpOn(l, l.NBLeader())
	if err != nil {
		t.Fatal(err)
	}
	keys := map[uint32]bool{}
	for _, p := range m.Ports {
		keys[p.Key] = true
	}
	if len(m.Ports) != writers*each || len(keys) != writers*each {
		t.Fatalf("%d ports with %d distinct keys, want %d of each", len(m.Ports), len(keys), writers*each)
	}
	t.Logf("%d writes, %d retries after a lost race", writers*each, retries)
	if retries == 0 {
		t.Error("four concurrent writers never raced: the test did not test races")
	}

	race := func(what string, args func(who int) []string) {
		for round := 0; round < 5; round++ {
			var won, lost int
			var why []string
			var rw sync.WaitGroup
			for who := 0; who < 2; who++ {
				rw.Add(1)
				go func(who int) {
					defer rw.Done()
					_, _, err := l.ChainctlOn(l.DB, args(who*100+round)...)
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						won++
					} else {
						lost++
						why = append(why, err.Error())
					}
				}(who)
			}
			rw.Wait()
			if won != 1 || lost != 1 {
				t.Errorf("%s, round %d: %d won, %d lost (%q); want one each", what, round, won, lost, why)
			} else if !strings.Contains(why[0], "already") && !strings.Contains(why[0], "taken") {
				t.Errorf("%s, round %d: the loser is not told why: %s", what, round, why[0])
			}
		}
	}
	race("same name", func(n int) []string {
		return []string{"lsp-add", "SW0", fmt.Sprintf("same-%d", n%100)}
	})
	race("same key", func(n int) []string {
		return []string{"lsp-add", "SW0", fmt.Sprintf("key-%d", n), "--tunnel-key", strconv.Itoa(30000 + n%100)}
	})
}

// A newer schema (one more column) converts the running database in
// place with the shipped `chainwire-nb upgrade`; the agent and chainctl go
// on working across it, and an upgrade with nothing to do does nothing.
func TestSchemaUpgrade(t *testing.T) {
	cfg := hosts(1, vm("vm1", "hv1", "a1", 1), vm("vm2", "hv1", "a2", 2))
	cfg.NB = "standalone"
	l := up(t, cfg)
	registerChassis(t, l)
	chainctl(t, l, "ls-add", "A")
	addPort(t, l, "A", "a1", "1", "hv1", 1)
	addPort(t, l, "A", "a2", "2", "hv1", 2)
	if err := ping(l, "vm1", "10.0.0.2"); err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(deploy.NBSchema, &schema); err != nil {
		t.Fatal(err)
	}
	schema["version"] = "1.7.0"
	cols := schema["tables"].(map[string]any)["Logical_Switch"].(map[string]any)["columns"].(map[string]any)
	cols["description"] = map[string]any{"type": "string"}
	newer, _ := json.Marshal(schema)
	path := filepath.Join(t.TempDir(), "newer.ovsschema")
	if err := os.WriteFile(path, newer, 0o644); err != nil {
		t.Fatal(err)
	}
	m := l.NB[0]
	if out, err := l.NBScript(m, map[string]string{"NB_SCHEMA": path}, "upgrade"); err != nil || !strings.Contains(out, "converted to schema 1.7.0") {
		t.Fatalf("upgrade: %v: %s", err, out)
	}
	if out, err := l.NBScript(m, map[string]string{"NB_SCHEMA": path}, "upgrade"); err != nil || out != "" {
		t.Fatalf("a second upgrade did something: %v: %q", err, out)
	}
	if out, err := l.NBScript(m, nil, "status"); err != nil || !strings.Contains(out, "schema 1.7.0") {
		t.Fatalf("status after the upgrade: %v: %s", err, out)
	}
	addPort(t, l, "A", "a3", "3", "hv1", 3) // --wait: the agent follows the converted database
	chainctl(t, l, "--wait", "lsp-set-enabled", "a2", "disabled")
	if err := ping(l, "vm1", "10.0.0.2"); err == nil {
		t.Fatal("a2 is disabled after the upgrade, and still reachable")
	}
}
