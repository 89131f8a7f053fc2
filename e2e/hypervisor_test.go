package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chainwire/chainwire/e2e/lab"
	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/topology"
)

// What an operator does to a hypervisor must never black-hole traffic:
// the model file removed, emptied, rolled back or replaced by a FIFO keeps
// the last good flows (and says why); flows deleted behind the agent's
// back come back; a second agent refuses; a killed agent shows stale.

// keepsFlows checks that the flow table is what it was and vm1 still
// reaches vm2, and that the status names the problem.
func keepsFlows(t *testing.T, l *lab.Lab, before []string, why string) {
	t.Helper()
	if err := lab.Eventually(10*time.Second, func() error {
		st, err := statusOf(l, "hv1")
		if err != nil {
			return err
		}
		if !strings.Contains(st.Error, why) {
			return fmt.Errorf("status error %q does not say %q", st.Error, why)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	after, err := l.Flows("hv1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Fatalf("flows changed (%d before, %d after)", len(before), len(after))
	}
	if err := ping(l, "vm1", "10.0.0.2"); err != nil {
		t.Fatal(err)
	}
}

func TestModelFileAccidentsKeepFlows(t *testing.T) {
	l := singleHost(t)
	before, err := l.Flows("hv1")
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(l.DB)
	if err != nil {
		t.Fatal(err)
	}
	var m topology.Model
	if err := json.Unmarshal(good, &m); err != nil {
		t.Fatal(err)
	}
	older := m
	older.Generation--
	for _, tc := range []struct {
		name, why string
		do        func() error
	}{
		{"removed", "the file is gone", func() error { return os.Remove(l.DB) }},
		{"{}", "generation 0 is older than", func() error { return os.WriteFile(l.DB, []byte("{}\n"), 0o644) }},
		{"null", "holds null", func() error { return os.WriteFile(l.DB, []byte("null\n"), 0o644) }},
		{"empty", "the file is empty", func() error { return os.WriteFile(l.DB, nil, 0o644) }},
		{"older generation", "older than", func() error { return os.WriteFile(l.DB, topology.Encode(&older), 0o644) }},
		{"FIFO", "not a regular file", func() error {
			os.Remove(l.DB)
			return syscall.Mkfifo(l.DB, 0o644)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); err != nil {
				t.Fatal(err)
			}
			keepsFlows(t, l, before, tc.why)
			// The operator puts the good file back (by rename, as chainctl
			// does); the agent takes it and the error goes away.
			tmp := l.DB + ".restore"
			if err := os.WriteFile(tmp, good, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, l.DB); err != nil {
				t.Fatal(err)
			}
			if err := lab.Eventually(10*time.Second, func() error {
				if st, err := statusOf(l, "hv1"); err != nil || st.Error != "" {
					return fmt.Errorf("agent did not recover: %+v %v", st, err)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		})
	}
	// After all that, a change still goes through.
	chainctl(t, l, "--wait", "lsp-set-enabled", "a3", "disabled")
	if err := ping(l, "vm1", "10.0.0.3"); err == nil {
		t.Error("vm3's port is disabled but vm1 still reaches it")
	}
}

// Flows and groups deleted behind the agent's back are restored within
// 2 s; a foreign flow put in the place of one of ours is reported, not
// overwritten.
func TestDriftRepaired(t *testing.T) {
	l := singleHost(t)
	before, err := l.Flows("hv1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cmd  []string
	}{
		{"del-flows", []string{"del-flows", "br-int"}},
		{"del-groups", []string{"del-groups", "br-int"}},
		{"one flow", []string{"del-flows", "--strict", "br-int", "table=ls_in_l2_lkup,priority=50,metadata=0x1,dl_dst=02:00:00:00:00:02"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			if _, err := l.Ofctl("hv1", tc.cmd...); err != nil {
				t.Fatal(err)
			}
			if err := lab.Eventually(2*time.Second, func() error {
				after, err := l.Flows("hv1")
				if err == nil && strings.Join(after, "\n") != strings.Join(before, "\n") {
					err = fmt.Errorf("%d flows of %d", len(after), len(before))
				}
				return err
			}); err != nil {
				t.Fatalf("not repaired: %v", err)
			}
			t.Logf("%s repaired after %s", tc.name, time.Since(start).Round(time.Millisecond))
			if err := ping(l, "vm1", "10.0.0.2"); err != nil {
				t.Fatal(err)
			}
		})
	}
	// A foreign flow with one of our matches: reported, left alone.
	if _, err := l.Ofctl("hv1", "add-flow", "br-int", "cookie=0x5150,table=ls_in_l2_lkup,priority=50,metadata=0x1,dl_dst=02:00:00:00:00:02,actions=drop"); err != nil {
		t.Fatal(err)
	}
	if err := lab.Eventually(5*time.Second, func() error {
		st, err := statusOf(l, "hv1")
		if err == nil && !strings.Contains(strings.Join(st.Warnings, " "), "cookie 0x5150") {
			err = fmt.Errorf("warnings %q do not name the foreign flow", st.Warnings)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if out, _ := l.Ofctl("hv1", "dump-flows", "br-int", "cookie=0x5150/-1"); !strings.Contains(out, "dl_dst=02:00:00:00:00:02") {
		t.Fatalf("the foreign flow was overwritten:\n%s", out)
	}
}

// A second agent for the same bridge refuses to start and names the first;
// a killed agent is shown stale, never connected.
func TestOneAgentPerBridgeAndStaleStatus(t *testing.T) {
	l := singleHost(t)
	first := l.AgentPID("hv1")
	out, err := l.Exec("hv1", filepath.Join(l.BinDir, "chainwired"), "--config", "/dev/null", "--chassis", "hv1",
		"--ovs-db", l.OVSDB("hv1"), "--ovs-rundir", l.RunDir("hv1"), "--db", l.DB)
	if err == nil || !strings.Contains(out, fmt.Sprintf("PID %d", first)) {
		t.Fatalf("second agent: %v, output %q; want a refusal naming PID %d", err, out, first)
	}
	if err := ping(l, "vm1", "10.0.0.2"); err != nil {
		t.Fatal(err)
	}
	if err := l.KillAgent("hv1"); err != nil {
		t.Fatal(err)
	}
	if err := lab.Eventually(15*time.Second, func() error {
		out, err := l.Chainctl("status")
		if err == nil && !regexp.MustCompile(`hv1: .*stale \(no heartbeat`).MatchString(out) {
			err = fmt.Errorf("status does not show hv1 stale:\n%s", out)
		}
		if strings.Contains(out, "connected,") && !strings.Contains(out, "disconnected") {
			err = fmt.Errorf("a dead agent shown connected:\n%s", out)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := ping(l, "vm1", "10.0.0.2"); err != nil {
		t.Fatalf("flows gone with the agent: %v", err)
	}
}

// ovs-ctl's restart: flow-restore-wait is set, ovs-vswitchd comes back with
// no flows and no TLV map; the agent reconnects (its own retry, never
// OVS's backoff), installs everything, then clears flow-restore-wait.
func TestVswitchdRestart(t *testing.T) {
	l := singleHost(t)
	if err := l.RestartVswitchd("hv1", true); err != nil {
		t.Fatal(err)
	}
	if err := lab.Eventually(10*time.Second, func() error {
		v, _ := l.VsctlOut("hv1", "--if-exists", "get", "open_vswitch", ".", "other_config:flow-restore-wait")
		if v != "" {
			return fmt.Errorf("flow-restore-wait still %s", v)
		}
		return ping(l, "vm1", "10.0.0.2")
	}); err != nil {
		t.Fatal(err)
	}
}

// An agent of an earlier version pointed the bridge's controller at its
// own socket. The new one removes it, under flow-restore-wait, and runs on
// the management socket.
func TestUpgradeDropsTheOldController(t *testing.T) {
	l := singleHost(t)
	if err := l.StopAgent("hv1"); err != nil {
		t.Fatal(err)
	}
	old := "unix:" + filepath.Join(l.RunDir("hv1"), "chainwired.sock")
	if err := l.Vsctl("hv1", "set-controller", "br-int", old); err != nil {
		t.Fatal(err)
	}
	if err := l.StartAgent("hv1"); err != nil {
		t.Fatal(err)
	}
	if err := lab.Eventually(10*time.Second, func() error {
		c, _ := l.VsctlOut("hv1", "get-controller", "br-int")
		v, _ := l.VsctlOut("hv1", "--if-exists", "get", "open_vswitch", ".", "other_config:flow-restore-wait")
		if c != "" || v != "" {
			return fmt.Errorf("controller %q, flow-restore-wait %q", c, v)
		}
		return ping(l, "vm1", "10.0.0.2")
	}); err != nil {
		t.Fatal(err)
	}
}

// A switch with 3,000 local ports floods a broadcast to every one of them
// (its flood runs in chunks that stay within OVS's per-packet limits).
func TestLargeSwitchFloods(t *testing.T) {
	const n = 3000
	l, err := lab.Up(&lab.Config{Hosts: []lab.HostConfig{{Name: "hv1", IP: "192.0.2.1"}}}, lab.Options{BinDir: binDir, DummyPorts: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Down() })
	store := topology.NewFileStore(l.DB)
	var names []string
	if _, err := store.Update(func(m *topology.Model) error {
		m.Chassis = []topology.Chassis{{Name: "hv1", Encap: "geneve", IP: "192.0.2.1"}}
		m.Switches = []topology.Switch{{Name: "big", Key: 1}}
		for i := 1; i <= n; i++ {
			name := fmt.Sprintf("p%d", i)
			names = append(names, name)
			m.Ports = append(m.Ports, topology.Port{Name: name, Switch: "big", Key: uint32(i),
				Addresses: []string{fmt.Sprintf("02:00:00:00:%02x:%02x", i>>8, i&0xff)}})
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := l.AddDummyPorts("hv1", names); err != nil {
		t.Fatal(err)
	}
	waitGeneration(t, l, "hv1")
	// Wait for every port's flows: as many as the renderer makes with all
	// of them bound.
	m, err := store.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	bound := map[string]uint32{}
	for i, name := range names {
		bound[name] = uint32(i + 1)
	}
	want, err := pipeline.Render(pipeline.Input{Model: m, Chassis: "hv1", OFPorts: bound, TunnelOFPort: 60000})
	if err != nil {
		t.Fatal(err)
	}
	if err := lab.Eventually(60*time.Second, func() error {
		st, err := statusOf(l, "hv1")
		if err == nil && (st.Flows != len(want.Flows) || st.Error != "") {
			err = fmt.Errorf("%d flows of %d, error %q", st.Flows, len(want.Flows), st.Error)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	before := txPackets(t, l)
	// A broadcast ARP from dm1 (p1).
	frame := "ffffffffffff020000000001080600010800060400010200000000010a0000010000000000000a000002"
	if _, err := l.Appctl("hv1", "netdev-dummy/receive", "dm1", frame); err != nil {
		t.Fatal(err)
	}
	if err := lab.Eventually(10*time.Second, func() error {
		after := txPackets(t, l)
		missing := 0
		for port, c := range after {
			if port != "dm1" && strings.HasPrefix(port, "dm") && c <= before[port] {
				missing++
			}
		}
		if after["dm1"] != before["dm1"] {
			return fmt.Errorf("the sender got its own broadcast")
		}
		if missing > 0 {
			return fmt.Errorf("%d of %d ports did not get the broadcast", missing, n-1)
		}
		return nil
	}); err != nil {
		log, _ := os.ReadFile(filepath.Join(l.RunDir("hv1"), "ovs-vswitchd.log"))
		alog, _ := os.ReadFile(filepath.Join(l.RunDir("hv1"), "chainwired.log"))
		t.Fatalf("%v\nvswitchd log tail:\n%s\nagent log tail:\n%s", err, tail(string(log), 3000), tail(string(alog), 3000))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

var portTx = regexp.MustCompile(`port +"?(dm\d+)"?: rx pkts=\d+[^\n]*\n\s+tx pkts=(\d+)`)

// txPackets reads every dummy port's transmit counter.
func txPackets(t *testing.T, l *lab.Lab) map[string]int {
	t.Helper()
	out, err := l.Ofctl("hv1", "dump-ports", "--names", "br-int")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, m := range portTx.FindAllStringSubmatch(out, -1) {
		got[m[1]], _ = strconv.Atoi(m[2])
	}
	if len(got) == 0 {
		t.Fatalf("no port counters in:\n%.500s", out)
	}
	return got
}
