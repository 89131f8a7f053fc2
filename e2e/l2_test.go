package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chainwire/chainwire/e2e/lab"
	"github.com/chainwire/chainwire/pipeline"
)

func vm(name, host, port string, n int) lab.NodeConfig {
	return lab.NodeConfig{Name: name, Host: host, Interfaces: []lab.InterfaceConfig{{
		Name: "eth0", Port: port, MAC: fmt.Sprintf("02:00:00:00:00:%02x", n), IP: fmt.Sprintf("10.0.0.%d/24", n)}}}
}

// singleHost: three VMs on switch A and one on switch B, all on hv1, all
// in 10.0.0.0/24 so that only the logical switches keep A and B apart.
func singleHost(t *testing.T) *lab.Lab {
	l := up(t, &lab.Config{
		Hosts: []lab.HostConfig{{Name: "hv1", IP: "192.0.2.1"}},
		Nodes: []lab.NodeConfig{vm("vm1", "hv1", "a1", 1), vm("vm2", "hv1", "a2", 2), vm("vm3", "hv1", "a3", 3), vm("vm4", "hv1", "b1", 4)},
	})
	chainctl(t, l, "chassis-add", "hv1", "geneve", "192.0.2.1")
	chainctl(t, l, "ls-add", "A")
	chainctl(t, l, "ls-add", "B")
	for i, p := range []string{"a1", "a2", "a3", "b1"} {
		sw := "A"
		if p == "b1" {
			sw = "B"
		}
		chainctl(t, l, "lsp-add", sw, p)
		chainctl(t, l, "lsp-set-addresses", p, fmt.Sprintf("02:00:00:00:00:%02x 10.0.0.%d", i+1, i+1))
		chainctl(t, l, "lsp-set-port-security", p, fmt.Sprintf("02:00:00:00:00:%02x", i+1))
	}
	chainctl(t, l, "--wait", "lsp-set-options", "a1", "requested-chassis=hv1")
	// A port on a chassis with no agent in the lab, on a switch of its own
	// (chainctl --wait on it would wait for hv9), so hv1 has tunnel flows too.
	chainctl(t, l, "chassis-add", "hv9", "geneve", "192.0.2.9", "--", "ls-add", "R", "--", "lsp-add", "R", "r9", "--",
		"lsp-set-addresses", "r9", "02:00:00:00:00:09 10.0.0.9", "--", "lsp-set-options", "r9", "requested-chassis=hv9")
	waitGeneration(t, l, "hv1")
	return l
}

func ping(l *lab.Lab, from, to string, extra ...string) error {
	args := append([]string{"ping", "-q", "-c", "3", "-i", "0.1", "-W", "1"}, extra...)
	_, err := l.Exec(from, append(args, to)...)
	return err
}

func TestSingleHostSwitching(t *testing.T) {
	l := singleHost(t)
	for _, p := range [][2]string{{"vm1", "10.0.0.2"}, {"vm2", "10.0.0.3"}, {"vm3", "10.0.0.1"}} {
		if err := ping(l, p[0], p[1]); err != nil {
			t.Errorf("same switch: %v", err)
		}
	}
	if err := ping(l, "vm1", "10.0.0.4"); err == nil {
		t.Errorf("vm1 on switch A reached vm4 on switch B")
	}
	if err := ping(l, "vm4", "10.0.0.2"); err == nil {
		t.Errorf("vm4 on switch B reached vm2 on switch A")
	}
}

// A VM that sends with a MAC its port security does not allow is dropped
// in ls_in_port_sec_l2: the table's drop flow counts its packets, and the
// receiver sees none of them.
func TestSpoofedSourceMACDropped(t *testing.T) {
	l := singleHost(t)
	if err := ping(l, "vm1", "10.0.0.2"); err != nil {
		t.Fatal(err)
	}
	dropsBefore := portSecDrops(t, l)
	capture := startCapture(t, l, "vm2", "eth0", "ether src 02:00:00:00:00:99")
	if _, err := l.Exec("vm1", "ip", "link", "set", "eth0", "address", "02:00:00:00:00:99"); err != nil {
		t.Fatal(err)
	}
	l.Exec("vm1", "ip", "neigh", "flush", "dev", "eth0")
	if err := ping(l, "vm1", "10.0.0.2"); err == nil {
		t.Fatal("ping with a spoofed source MAC got through")
	}
	if err := lab.Eventually(5*time.Second, func() error {
		if d := portSecDrops(t, l); d <= dropsBefore {
			return fmt.Errorf("ls_in_port_sec_l2 drop counter stayed at %d", d)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	if got := capture.stop(t); got != 0 {
		t.Errorf("vm2 received %d frames from the spoofed MAC", got)
	}
	trace, err := l.Appctl("hv1", "ofproto/trace", "br-int",
		"in_port=vm1-eth0,dl_src=02:00:00:00:00:99,dl_dst=02:00:00:00:00:02,dl_type=0x0800,nw_src=10.0.0.1,nw_dst=10.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	if last := lastTracedStage(trace); last != pipeline.InPortSecL2 || !strings.Contains(trace, "Datapath actions: drop") {
		t.Errorf("ofproto/trace ends in %s, not with a drop in ls_in_port_sec_l2:\n%s", last, trace)
	}
}

var traceTable = regexp.MustCompile(`(?m)^\s*(\d+)\. `)

// lastTracedStage is the stage of the last table an ofproto/trace visited.
func lastTracedStage(trace string) pipeline.Stage {
	m := traceTable.FindAllStringSubmatch(trace, -1)
	if len(m) == 0 {
		return pipeline.Stage(255)
	}
	var n int
	fmt.Sscan(m[len(m)-1][1], &n)
	s, _ := pipeline.StageOfTable(uint8(n))
	return s
}

// portSecDrops reads n_packets of the table-miss drop of ls_in_port_sec_l2.
func portSecDrops(t *testing.T, l *lab.Lab) int {
	t.Helper()
	out, err := l.Ofctl("hv1", "dump-flows", "--names", "br-int", "table=ls_in_port_sec_l2")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, " priority=0 actions=drop") {
			continue
		}
		var n int
		for _, f := range strings.Split(line, ",") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(f), "n_packets="); ok {
				fmt.Sscan(v, &n)
			}
		}
		return n
	}
	t.Fatalf("no priority-0 drop flow in ls_in_port_sec_l2:\n%s", out)
	return 0
}
