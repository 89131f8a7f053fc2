package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chainwire/chainwire/e2e/lab"
	"github.com/chainwire/chainwire/pipeline"
)

// A VM whose port security names its IP sends only from that IP and ARPs
// only for it: a second address on its interface gets nothing through,
// and a gratuitous ARP claiming a neighbour's IP never reaches the
// neighbours. Its own traffic and ARP still do.
func TestSpoofedIPAndARPDropped(t *testing.T) {
	l := singleHost(t)
	chainctl(t, l, "--wait", "lsp-set-port-security", "a1", "02:00:00:00:00:01 10.0.0.1")
	if err := ping(l, "vm1", "10.0.0.2"); err != nil {
		t.Fatalf("vm1 from its own address: %v", err)
	}

	// IP from another address, past ARP (the neighbour is set by hand).
	for _, cmd := range [][]string{
		{"ip", "addr", "add", "10.0.0.99/24", "dev", "eth0"},
		{"ip", "neigh", "replace", "10.0.0.2", "lladdr", "02:00:00:00:00:02", "dev", "eth0", "nud", "permanent"},
	} {
		if _, err := l.Exec("vm1", cmd...); err != nil {
			t.Fatal(err)
		}
	}
	before := flowPackets(t, l, pipeline.InPortSecIP, "priority=80,ip,")
	capture := startCapture(t, l, "vm2", "eth0", "src host 10.0.0.99")
	if err := ping(l, "vm1", "10.0.0.2", "-I", "10.0.0.99"); err == nil {
		t.Error("ping from an address port security does not list got through")
	}
	if err := lab.Eventually(5*time.Second, func() error {
		if n := flowPackets(t, l, pipeline.InPortSecIP, "priority=80,ip,"); n <= before {
			return fmt.Errorf("the ls_in_port_sec_ip drop counted %d packets, as before", n)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
	if got := capture.stop(t); got != 0 {
		t.Errorf("vm2 received %d packets from 10.0.0.99", got)
	}
	trace, err := l.Appctl("hv1", "ofproto/trace", "br-int",
		"in_port=vm1-eth0,dl_src=02:00:00:00:00:01,dl_dst=02:00:00:00:00:02,dl_type=0x0800,nw_src=8.8.8.8,nw_dst=10.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	if last := lastTracedStage(trace); last != pipeline.InPortSecIP || !strings.Contains(trace, "Datapath actions: drop") {
		t.Errorf("ofproto/trace from 8.8.8.8 ends in %s, not with a drop in ls_in_port_sec_ip:\n%s", last, trace)
	}

	// A gratuitous ARP for vm3's IP, then vm1's own ARP, answered: by the
	// time the answer is back, a spoofed ARP let through would have
	// reached vm2 before it.
	if _, err := l.Exec("vm1", "ip", "addr", "add", "10.0.0.3/32", "dev", "eth0"); err != nil {
		t.Fatal(err)
	}
	spoofed := startCapture(t, l, "vm2", "eth0", "arp and arp[14:4] = 0x0a000003")
	if _, err := l.Exec("vm1", "arping", "-U", "-c", "1", "-I", "eth0", "-s", "10.0.0.3", "10.0.0.3"); err != nil {
		t.Fatal(err)
	}
	if out, err := l.Exec("vm1", "arping", "-c", "1", "-w", "3", "-I", "eth0", "-s", "10.0.0.1", "10.0.0.2"); err != nil {
		t.Errorf("vm1's own ARP for vm2 went unanswered: %v: %s", err, out)
	}
	if got := spoofed.stop(t); got != 0 {
		t.Errorf("vm2 received %d ARPs from vm1 claiming vm3's 10.0.0.3", got)
	}
}

// flowPackets sums n_packets of a stage's flows whose text contains what.
func flowPackets(t *testing.T, l *lab.Lab, s pipeline.Stage, what string) int {
	t.Helper()
	out, err := l.Ofctl("hv1", "dump-flows", "--names", "br-int", "table="+s.Name())
	if err != nil {
		t.Fatal(err)
	}
	sum, found := 0, false
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, what) {
			continue
		}
		found = true
		for _, f := range strings.Split(line, ",") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(f), "n_packets="); ok {
				var n int
				fmt.Sscan(v, &n)
				sum += n
			}
		}
	}
	if !found {
		t.Fatalf("no flow with %q in %s:\n%s", what, s.Name(), out)
	}
	return sum
}

// IPv6 port security: duplicate address detection passes (from ::), a
// neighbour advertisement for the VM's own address passes, one for an
// address it does not own never reaches its neighbours.
func TestSpoofedNDDropped(t *testing.T) {
	l := singleHost(t)
	chainctl(t, l, "--wait", "lsp-set-port-security", "a1", "02:00:00:00:00:01 10.0.0.1 fd00::1")
	dad := startCapture(t, l, "vm2", "eth0", "icmp6 and ip6[40] == 135 and src host ::")
	for _, cmd := range [][]string{{"sysctl", "-qw", "net.ipv6.conf.eth0.disable_ipv6=0"}, // the lab's VMs start without IPv6
		{"ip", "-6", "addr", "add", "fd00::1/64", "dev", "eth0"}} {
		if _, err := l.Exec("vm1", cmd...); err != nil {
			t.Fatal(err)
		}
	}
	if err := lab.Eventually(10*time.Second, func() error {
		out, err := l.Exec("vm1", "ip", "-6", "addr", "show", "dev", "eth0")
		if err != nil || !strings.Contains(out, "fd00::1") || strings.Contains(out, "tentative") {
			return fmt.Errorf("vm1's fd00::1 is not through DAD yet: %s %v", out, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n := dad.stop(t); n == 0 {
		t.Error("vm1's duplicate address detection never reached vm2")
	}
	na := startCapture(t, l, "vm2", "eth0", "icmp6 and ip6[40] == 136")
	lla := "fe80::ff:fe00:1"
	for _, f := range []string{naFrame(vm1MAC, lla, "fd00::99", vm1MAC), naFrame(vm1MAC, lla, "fd00::1", "02:00:00:00:00:99"),
		naFrame(vm1MAC, lla, "fd00::1", vm1MAC)} { // spoofed target, spoofed tll, genuine (last: it arrives after the others would)
		if out, err := helperCmd(t, l, "vm1", "frame", "eth0", f).CombinedOutput(); err != nil {
			t.Fatalf("send: %v: %s", err, out)
		}
	}
	if err := ping(l, "vm1", "10.0.0.2"); err != nil {
		t.Fatal(err)
	}
	if n := na.stop(t); n != 1 {
		t.Errorf("vm2 received %d of vm1's advertisements, want only the genuine one", n)
	}
}

// A VNF port forwards only what its chain hop expects (VNF X on hv1 in a
// chain on app2's TCP/5001): a gratuitous ARP claiming app2's IP and a
// frame with app1's MAC sent from X's port reach nobody, are counted at
// ls_in_chain's drop, and app1 still reaches app2.
func TestVNFPortSpoofingDropped(t *testing.T) {
	l := vnfLab(t, [2]string{"X", "hv1"})
	chainOf(t, l, "CX", "X")
	chainctl(t, l, "--wait", "lsp-chain-classifier", "SW0", "CX", "app2", "entry-lport", "bi-directional", "web", "ip4 && tcp.dst == 5001")
	if err := ping(l, "app1", "10.0.0.2"); err != nil {
		t.Fatal(err)
	}
	garp := startCapture(t, l, "app1", "eth0", "arp and arp[14:4] = 0x0a000002")
	spoofed := startCapture(t, l, "app2", "eth0", "icmp and ether src "+macApp1+" and src host 10.0.0.99")
	for _, f := range []string{arpFrame("02:00:00:00:0c:01", 2, "02:00:00:00:0c:01", "10.0.0.2", "10.0.0.2"),
		echoFrame(macApp1, macApp2, "10.0.0.99", "10.0.0.2")} {
		if out, err := helperCmd(t, l, "X", "frame", "eth1", f).CombinedOutput(); err != nil {
			t.Fatalf("send from X: %v: %s", err, out)
		}
	}
	if err := ping(l, "app1", "10.0.0.2"); err != nil {
		t.Errorf("app1 lost app2 after the VNF's spoofing: %v", err)
	}
	if n := garp.stop(t); n != 0 {
		t.Errorf("app1 received %d ARPs from the VNF claiming app2's IP", n)
	}
	if n := spoofed.stop(t); n != 0 {
		t.Errorf("app2 received %d frames from the VNF with app1's MAC", n)
	}
	if n := flowPackets(t, l, pipeline.InChain, "priority=1,reg10=0x4/0x4"); n < 2 {
		t.Errorf("ls_in_chain's VNF drop counted %d packets, want the 2 spoofed frames", n)
	}
}

const vm1MAC = "02:00:00:00:00:01"
