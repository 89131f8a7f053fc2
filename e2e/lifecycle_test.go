package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chainwire/chainwire/e2e/lab"
	"github.com/chainwire/chainwire/topology"
)

// pinger is a ping running in the background.
type pinger struct {
	cmd *exec.Cmd
	out strings.Builder
	// started and ended: when the ping began and finished (fast pings).
	started, ended time.Time
}

// startPing sends count echo requests at 50 per second.
func startPing(t *testing.T, l *lab.Lab, from, to string, count int) *pinger {
	t.Helper()
	p := &pinger{cmd: l.Command(from, "ping", "-q", "-i", "0.02", "-W", "1", "-c", strconv.Itoa(count), to)}
	return p.start(t)
}

// background starts cmd with its output in out, and kills it when the
// test ends if it still runs.
func background(t *testing.T, cmd *exec.Cmd, out *strings.Builder) {
	t.Helper()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
}

var pingSummary = regexp.MustCompile(`(\d+) packets transmitted, (\d+) received`)

// wait returns how many of the pings were lost.
func (p *pinger) wait(t *testing.T) (sent, lost int) {
	t.Helper()
	p.cmd.Wait()
	p.ended = time.Now()
	m := pingSummary.FindStringSubmatch(p.out.String())
	if m == nil {
		t.Fatalf("no ping summary in:\n%s", p.out.String())
	}
	sent, _ = strconv.Atoi(m[1])
	recv, _ := strconv.Atoi(m[2])
	return sent, sent - recv
}

func statusOf(l *lab.Lab, chassis string) (topology.Status, error) {
	sts, err := topology.NewFileStore(l.DB).Statuses()
	if err != nil {
		return topology.Status{}, err
	}
	for _, st := range sts {
		if st.Chassis == chassis {
			return st, nil
		}
	}
	return topology.Status{}, fmt.Errorf("chassis %s has published no status", chassis)
}

// Changing the model while traffic flows changes the flows and loses no
// packet of the traffic the change does not concern.
func TestModelChangesWhilePinging(t *testing.T) {
	l := singleHost(t)
	before, err := l.Flows("hv1")
	if err != nil {
		t.Fatal(err)
	}
	p := startPing(t, l, "vm1", "10.0.0.2", 250)
	steps := [][]string{
		{"lsp-add", "A", "a8"},
		{"lsp-set-addresses", "a8", "02:00:00:00:00:08 10.0.0.8"},
		{"lsp-set-enabled", "a3", "disabled"},
		{"ls-add", "C"},
		{"lsp-add", "C", "c1"},
		{"lsp-set-port-security", "a2", "02:00:00:00:00:02 10.0.0.2"},
	}
	for _, s := range steps {
		chainctl(t, l, append([]string{"--wait"}, s...)...)
	}
	if err := ping(l, "vm1", "10.0.0.3"); err == nil {
		t.Error("vm3's port is disabled but vm1 still reaches it")
	}
	during, err := l.Flows("hv1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(during, "\n") == strings.Join(before, "\n") {
		t.Error("the flow table did not change")
	}
	chainctl(t, l, "--wait", "lsp-set-enabled", "a3", "enabled")
	if err := ping(l, "vm1", "10.0.0.3"); err != nil {
		t.Errorf("vm3's port is enabled again: %v", err)
	}
	if sent, lost := p.wait(t); lost != 0 {
		t.Errorf("lost %d of %d pings while the model changed", lost, sent)
	}
}

var flowDuration = regexp.MustCompile(`duration=([0-9.]+)s`)

// Restarting the agent while a ping runs at 50 pps loses no packet, and
// the flow table afterwards is the same flows, none of them re-added.
func TestAgentRestartLosesNothing(t *testing.T) {
	l := singleHost(t)
	if err := ping(l, "vm1", "10.0.0.2"); err != nil {
		t.Fatal(err)
	}
	p := startPing(t, l, "vm1", "10.0.0.2", 200)
	restartUnchanged(t, l, "hv1")
	if sent, lost := p.wait(t); lost != 0 {
		t.Errorf("lost %d of %d pings across the agent restart", lost, sent)
	}
}

// An agent that reads an invalid model keeps the flows of the last good
// one, says why in its status, and recovers when the model is fixed.
func TestInvalidModelKeepsLastGoodFlows(t *testing.T) {
	l := singleHost(t)
	before, err := l.Flows("hv1")
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(l.DB)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(good), `"tunnel_key": 2`, `"tunnel_key": 0`, 1)
	if err := os.WriteFile(l.DB, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := lab.Eventually(10*time.Second, func() error {
		st, err := statusOf(l, "hv1")
		if err != nil {
			return err
		}
		if !strings.Contains(st.Error, "out of range") {
			return fmt.Errorf("status does not report the invalid model: %+v", st)
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
		t.Error("flows changed after an invalid model was written")
	}
	if err := ping(l, "vm1", "10.0.0.2"); err != nil {
		t.Error(err)
	}
	if _, err := l.Chainctl("lsp-del", "a3"); err == nil {
		t.Error("chainctl wrote on top of an invalid model")
	}
	if err := os.WriteFile(l.DB, good, 0o644); err != nil { // the operator repairs the file
		t.Fatal(err)
	}
	if err := lab.Eventually(10*time.Second, func() error {
		if st, err := statusOf(l, "hv1"); err != nil || st.Error != "" {
			return fmt.Errorf("agent did not recover: %+v %v", st, err)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}

// waitGeneration waits until chassis has applied the model's generation.
func waitGeneration(t *testing.T, l *lab.Lab, chassis string) {
	t.Helper()
	m, err := topology.NewFileStore(l.DB).Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if err := lab.Eventually(10*time.Second, func() error {
		st, err := statusOf(l, chassis)
		if err == nil && st.Generation < m.Generation {
			err = fmt.Errorf("%s is at generation %d, not %d", chassis, st.Generation, m.Generation)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// restartUnchanged restarts a host's agent and checks that the flow table
// afterwards is the same flows, none of them re-sent: every flow is older
// than the restart (read-back decoded each one exactly).
func restartUnchanged(t *testing.T, l *lab.Lab, host string) {
	t.Helper()
	before, err := l.Flows(host)
	if err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	if err := l.StopAgent(host); err != nil {
		t.Fatal(err)
	}
	if err := l.StartAgent(host); err != nil {
		t.Fatal(err)
	}
	if err := lab.Eventually(10*time.Second, func() error {
		st, err := statusOf(l, host)
		if err != nil {
			return err
		}
		if !st.Connected || st.Updated.Before(stopped) {
			return fmt.Errorf("restarted agent has not synced yet: %+v", st)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	after, err := l.Flows(host)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := strings.Join(after, "\n"), strings.Join(before, "\n"); a != b {
		t.Errorf("%s: flow table differs after the restart:\nbefore:\n%s\nafter:\n%s", host, b, a)
	}
	raw, err := l.Ofctl(host, "dump-flows", "br-int")
	if err != nil {
		t.Fatal(err)
	}
	age := time.Since(stopped).Seconds()
	for _, m := range flowDuration.FindAllStringSubmatch(raw, -1) {
		if d, _ := strconv.ParseFloat(m[1], 64); d < age {
			t.Errorf("%s: a flow is %.3fs old, younger than the restart %.3fs ago: it was re-installed", host, d, age)
			break
		}
	}
}
