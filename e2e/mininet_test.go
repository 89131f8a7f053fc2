package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

var vnfCounters = regexp.MustCompile(`chainwire: pingall lost (\d+)%; VNF counters (\{.*\})`)

// Mininet drives chainwire: Debian's mn builds the seed's Case 3 from
// deploy/mininet/chainwire.py (two hypervisors, each its own OVS and
// chainwired; three VNFs), pingall passes and every VNF interface carried
// the chain's traffic. Every process the topology started is gone after.
func TestMininetCase3(t *testing.T) {
	state := t.TempDir()
	cmd := exec.Command("mn", "--custom", "../deploy/mininet/chainwire.py", "--topo", "case3", "--test", "chain")
	cmd.Env = append(os.Environ(), "CHAINWIRE_BIN="+binDir, "CHAINWIRE_MN_STATE="+state)
	out, err := cmd.CombinedOutput()
	t.Cleanup(func() { killLeftovers(t, state) })
	if err != nil {
		t.Fatalf("mn: %v\n%s", err, out)
	}
	m := vnfCounters.FindStringSubmatch(string(out))
	if m == nil || !strings.Contains(string(out), "Results: 0% dropped") {
		t.Fatalf("mn: no successful pingall:\n%s", out)
	}
	var counts map[string]int
	if err := json.Unmarshal([]byte(m[2]), &counts); err != nil {
		t.Fatal(err)
	}
	for _, vnf := range []string{"vnf1", "vnf2", "vnf3"} {
		for _, side := range []string{"-in", "-out"} {
			// pingall: a request and a reply each way; towards app2
			// through the in ports, from app2 through the out ports.
			if n := counts[vnf+side]; n < 2 {
				t.Errorf("%s%s received %d frames, want the chain's 2 at least (all: %v)", vnf, side, n, counts)
			}
		}
	}
	if pids := leftovers(state); len(pids) > 0 {
		t.Errorf("processes of the topology still run after mn: %v", pids)
	}
}

// leftovers are the daemons the topology recorded that still run.
func leftovers(state string) []int {
	files, _ := filepath.Glob(filepath.Join(state, "*", "*.pid"))
	var out []int
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err == nil && syscall.Kill(pid, 0) == nil {
			out = append(out, pid)
		}
	}
	return out
}

func killLeftovers(t *testing.T, state string) {
	for _, pid := range leftovers(state) {
		t.Logf("killing leftover process %d", pid)
		syscall.Kill(pid, syscall.SIGKILL)
	}
}
