package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chainwire/chainwire/e2e/lab"
	"github.com/chainwire/chainwire/geneve"
)

// hosts builds n hypervisors hv1..hvn (192.0.2.1..n) and registers them.
func hosts(n int, nodes ...lab.NodeConfig) *lab.Config {
	cfg := &lab.Config{Nodes: nodes}
	for i := 1; i <= n; i++ {
		cfg.Hosts = append(cfg.Hosts, lab.HostConfig{Name: fmt.Sprintf("hv%d", i), IP: fmt.Sprintf("192.0.2.%d", i)})
	}
	return cfg
}

// registerChassis adds every host's chassis; with a database, the agents
// register themselves (from --encap-ip) and this waits for them.
func registerChassis(t *testing.T, l *lab.Lab) {
	t.Helper()
	if l.Config.NB == "" {
		for _, h := range l.Config.Hosts {
			chainctl(t, l, "chassis-add", h.Name, "geneve", h.IP)
		}
		return
	}
	if err := lab.Eventually(20*time.Second, func() error {
		out, err := l.Chainctl("show")
		for _, h := range l.Config.Hosts {
			if err == nil && !strings.Contains(out, "chassis "+h.Name+"\n") {
				err = fmt.Errorf("chassis %s has not registered:\n%s", h.Name, out)
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// addPort adds a port with the VM's address, bound to a chassis.
func addPort(t *testing.T, l *lab.Lab, sw, port, key, chassis string, n int) {
	chainctl(t, l, "lsp-add", sw, port, "--tunnel-key", key)
	chainctl(t, l, "lsp-set-addresses", port, fmt.Sprintf("02:00:00:00:00:%02x 10.0.0.%d", n, n))
	chainctl(t, l, "--wait", "lsp-set-options", port, "requested-chassis="+chassis)
}

// geneveFrames decodes a capture of the underlay with our own decoder.
func geneveFrames(t *testing.T, c capture) []geneve.Packet {
	t.Helper()
	if _, err := c.Stop(false); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(c.File())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	frames, err := geneve.ReadPcap(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []geneve.Packet
	for _, fr := range frames {
		p, err := geneve.DecodeFrame(fr)
		if err != nil {
			t.Errorf("undecodable frame on the underlay: %v", err)
			continue
		}
		out = append(out, p)
	}
	return out
}

// Two hypervisors, one VM each on switch sw0 (key 5): vm1's ARP answered
// on hv1 (none crosses the underlay), ping and 1 MB of TCP both ways, and
// OVN's exact metadata on the wire.
func TestTwoHostsGeneve(t *testing.T) {
	l := up(t, hosts(2, vm("vm1", "hv1", "p1", 1), vm("vm2", "hv2", "p2", 2)))
	registerChassis(t, l)
	chainctl(t, l, "ls-add", "sw0", "--tunnel-key", "5")
	addPort(t, l, "sw0", "p1", "3", "hv1", 1)
	addPort(t, l, "sw0", "p2", "7", "hv2", 2)

	c := startCapture(t, l, "hv1", "ul0", "udp port 6081")
	verbose := startCapture(t, l, "hv2", "ul0", "udp port 6081")
	if err := ping(l, "vm1", "10.0.0.2"); err != nil {
		t.Fatal(err)
	}
	pkts := geneveFrames(t, c)
	var sawRequest, sawReply bool
	for _, p := range pkts {
		if p.Meta.Datapath != 5 {
			t.Errorf("VNI %d, want the switch key 5: %s", p.Meta.Datapath, p)
		}
		dst, src := p.InnerMACs()
		switch {
		case dst.String() == "ff:ff:ff:ff:ff:ff":
			t.Errorf("a broadcast crossed the underlay (vm1's ARP is answered on hv1): %s", p)
		case src.String() == "02:00:00:00:00:01" && dst.String() == "02:00:00:00:00:02":
			sawRequest = true
			if p.Meta.OptionData() != 0x00030007 {
				t.Errorf("request option data %08x, want 00030007: %s", p.Meta.OptionData(), p)
			}
		case src.String() == "02:00:00:00:00:02" && dst.String() == "02:00:00:00:00:01":
			sawReply = true
			if p.Meta.OptionData() != 0x00070003 {
				t.Errorf("reply option data %08x, want 00070003: %s", p.Meta.OptionData(), p)
			}
		}
	}
	if !sawRequest || !sawReply {
		t.Errorf("capture lacks a request (%v) or a reply (%v):\n%v", sawRequest, sawReply, pkts)
	}
	lines, err := verbose.Stop(true)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(lines, "\n")
	for _, want := range []string{"vni 0x5", "class Open Virtual Networking (OVN) (0x102) type 0x80(C) len 8 data 00030007",
		"data 00070003"} {
		if !strings.Contains(text, want) {
			t.Errorf("tcpdump -vvv does not show %q:\n%s", want, text)
		}
	}
	if err := ping(l, "vm2", "10.0.0.1"); err != nil {
		t.Error(err)
	}
	tcpTransfer(t, l, "vm1", "vm2", "10.0.0.2", 1<<20)
	tcpTransfer(t, l, "vm2", "vm1", "10.0.0.1", 1<<20)
}

// Three hypervisors: a broadcast from vm1 reaches vm2 and vm3 exactly once.
func TestThreeHostsBroadcastOnce(t *testing.T) {
	l := up(t, hosts(3, vm("vm1", "hv1", "p1", 1), vm("vm2", "hv2", "p2", 2), vm("vm3", "hv3", "p3", 3)))
	registerChassis(t, l)
	chainctl(t, l, "ls-add", "sw0")
	addPort(t, l, "sw0", "p1", "1", "hv1", 1)
	addPort(t, l, "sw0", "p2", "2", "hv2", 2)
	addPort(t, l, "sw0", "p3", "3", "hv3", 3)
	const bcast = "icmp and ether dst ff:ff:ff:ff:ff:ff"
	c1 := startCapture(t, l, "vm1", "eth0", bcast+" and inbound")
	c2 := startCapture(t, l, "vm2", "eth0", bcast)
	c3 := startCapture(t, l, "vm3", "eth0", bcast)
	l.Exec("vm1", "ping", "-b", "-c", "1", "-W", "1", "10.0.0.255") // no reply expected
	if err := ping(l, "vm2", "10.0.0.3"); err != nil {              // the network still works
		t.Error(err)
	}
	for name, c := range map[string]capture{"vm2": c2, "vm3": c3} {
		if n := c.stop(t); n != 1 {
			t.Errorf("%s received the broadcast %d times, want once", name, n)
		}
	}
	if n := c1.stop(t); n != 0 {
		t.Errorf("the broadcast came back to vm1 %d times", n)
	}
}

// Two switches spread over both hosts stay apart: their VNIs differ.
func TestTwoSwitchesIsolatedAcrossHosts(t *testing.T) {
	l := up(t, hosts(2, vm("a1", "hv1", "a1", 1), vm("a2", "hv2", "a2", 2), vm("b1", "hv1", "b1", 3), vm("b2", "hv2", "b2", 4)))
	registerChassis(t, l)
	chainctl(t, l, "ls-add", "A", "--tunnel-key", "1")
	chainctl(t, l, "ls-add", "B", "--tunnel-key", "2")
	addPort(t, l, "A", "a1", "1", "hv1", 1)
	addPort(t, l, "A", "a2", "2", "hv2", 2)
	addPort(t, l, "B", "b1", "1", "hv1", 3)
	addPort(t, l, "B", "b2", "2", "hv2", 4)
	c := startCapture(t, l, "hv1", "ul0", "udp port 6081")
	if err := ping(l, "a1", "10.0.0.2"); err != nil {
		t.Error(err)
	}
	if err := ping(l, "b1", "10.0.0.4"); err != nil {
		t.Error(err)
	}
	if err := ping(l, "a1", "10.0.0.4"); err == nil {
		t.Error("a1 on switch A reached b2 on switch B")
	}
	vnis := map[uint32]map[string]bool{}
	for _, p := range geneveFrames(t, c) {
		_, src := p.InnerMACs()
		if vnis[p.Meta.Datapath] == nil {
			vnis[p.Meta.Datapath] = map[string]bool{}
		}
		vnis[p.Meta.Datapath][src.String()] = true
	}
	for vni, srcs := range vnis {
		for src := range srcs {
			isA := src == "02:00:00:00:00:01" || src == "02:00:00:00:00:02"
			if (vni == 1) != isA {
				t.Errorf("frame from %s carried VNI %d", src, vni)
			}
		}
	}
	if len(vnis[1]) == 0 || len(vnis[2]) == 0 {
		t.Errorf("expected traffic on VNI 1 and 2, saw %v", vnis)
	}
}
