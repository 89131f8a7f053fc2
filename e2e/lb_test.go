package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chainwire/chainwire/e2e/lab"
)

// startLogged starts a helper whose output goes to a file, once it says
// it listens; it returns the file's path.
func startLogged(t *testing.T, l *lab.Lab, member, role string, args ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), member+"-"+role)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	cmd := helperCmd(t, l, member, role, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		f.Close()
	})
	if err := lab.Eventually(5*time.Second, func() error {
		if b, _ := os.ReadFile(path); !strings.Contains(string(b), "listening") {
			return fmt.Errorf("%s in %s does not listen: %q", role, member, b)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return path
}

// A TCP VIP in the switch's subnet over three backends on two hypervisors
// (vm2 on hv1 with the client vm1, vm3 and vm4 on hv2): 100 connections
// from vm1, each 4 KB echoed back intact, and every backend gets some; a
// UDP VIP answers from its own address; a backend reaches the VIP too,
// itself included (hairpin).
func TestLoadBalancer(t *testing.T) {
	l := up(t, hosts(2, vm("vm1", "hv1", "p1", 1), vm("vm2", "hv1", "p2", 2), vm("vm3", "hv2", "p3", 3), vm("vm4", "hv2", "p4", 4)))
	registerChassis(t, l)
	chainctl(t, l, "ls-add", "sw0")
	for i, h := range []string{"hv1", "hv1", "hv2", "hv2"} {
		addPort(t, l, "sw0", fmt.Sprintf("p%d", i+1), fmt.Sprint(i+1), h, i+1)
	}
	logs := map[string]string{}
	for _, b := range []string{"vm2", "vm3", "vm4"} {
		ip := "10.0.0." + b[2:]
		logs[b] = startLogged(t, l, b, "echoserver", ip+":8080", "-")
		startLogged(t, l, b, "udpecho", ip+":5353", "-")
	}
	chainctl(t, l, "lb-add", "web", "10.0.0.100:80", "10.0.0.2:8080,10.0.0.3:8080,10.0.0.4:8080", "--",
		"lb-add", "dns", "10.0.0.101:53", "10.0.0.2:5353,10.0.0.3:5353", "udp", "--",
		"ls-lb-add", "sw0", "web", "--", "--wait", "ls-lb-add", "sw0", "dns")
	out, err := helperCmd(t, l, "vm1", "echoclients", "10.0.0.100:80", "100").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ok 100") {
		t.Fatalf("100 connections to the VIP: %v\n%s", err, out)
	}
	total := 0
	for b, path := range logs {
		n := conns(path)
		total += n
		t.Logf("%s took %d connections", b, n)
		if n == 0 {
			t.Errorf("backend %s got none of the 100 connections", b)
		}
	}
	if total != 100 {
		t.Errorf("the backends took %d connections, want 100", total)
	}
	if out, err := helperCmd(t, l, "vm1", "udpask", "10.0.0.101:53", "10").CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "ok 10") {
		t.Errorf("UDP VIP: %v\n%s", err, out)
	}
	// Hairpin: a backend's own connections to the VIP, some of which the
	// group gives back to it (30 tries miss it with probability (2/3)^30).
	before := conns(logs["vm2"])
	if out, err := helperCmd(t, l, "vm2", "echoclients", "10.0.0.100:80", "30").CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "ok 30") {
		t.Fatalf("30 connections from backend vm2 to the VIP: %v\n%s", err, out)
	}
	if n := conns(logs["vm2"]) - before; n == 0 {
		t.Error("none of vm2's 30 connections to the VIP landed on vm2 itself")
	} else {
		t.Logf("%d of vm2's 30 connections to the VIP came back to it", n)
	}
}

func conns(log string) int {
	data, _ := os.ReadFile(log)
	return strings.Count(string(data), "conn\n")
}

// A load balancer composes with a chain and stateful ACLs on its backend:
// app1's transfer to the VIP (10.0.0.100:80, backend app2:5001 on hv2)
// arrives intact through the VNF X of app2's chain, which sees it
// translated (the backend's address, never the VIP's), with app2's
// allow-related ACL and default drop in place.
func TestLoadBalancerWithChainAndACLs(t *testing.T) {
	l := vnfLab(t, [2]string{"X", "hv1"})
	chainOf(t, l, "CX", "X")
	chainctl(t, l, "lsp-chain-classifier", "SW0", "CX", "app2", "entry-lport", "bi-directional", "web", "ip4 && tcp.dst == 5001")
	chainctl(t, l, "acl-add", "SW0", "to-lport", "1002", `outport == "app2" && ip4 && tcp.dst == 5001`, "allow-related", "--",
		"acl-add", "SW0", "to-lport", "1001", `outport == "app2" && ip4`, "drop", "--",
		"lb-add", "web", "10.0.0.100:80", "10.0.0.2:5001", "--", "--wait", "ls-lb-add", "SW0", "web")
	caps := vnfCaptures(t, l, "X")
	tcpTransferVia(t, l, "app1", "app2", "10.0.0.2:5001", "10.0.0.100:80", 64<<10)
	for iface, segs := range collect(t, caps) {
		if len(segs) == 0 {
			t.Errorf("%s saw none of the transfer", iface)
		}
		for _, s := range segs {
			if s.src == "10.0.0.100" || s.dst == "10.0.0.100" {
				t.Errorf("%s saw the VIP, untranslated: %+v", iface, s)
				break
			}
		}
	}
}
