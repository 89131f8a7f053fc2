package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chainwire/chainwire/e2e/lab"
	"github.com/chainwire/chainwire/pipeline"
)

// Stateful ACLs on real conntrack (userspace datapath), as the issue
// states them: vm2 takes TCP/5001 (allow-related) and switch A drops all
// other IPv4 delivered to its ports. New connections to vm2:5001 work and
// their replies flow; other ports fail; vm2 cannot open a connection to
// vm1 (the default drop meets it at vm1). Each local port has a conntrack
// zone of its own, saved on the bridge; an established connection
// survives an ACL change that still allows it and an agent restart, and
// is stopped by a drop ACL added later.
func TestStatefulACLs(t *testing.T) {
	l := singleHost(t)
	chainctl(t, l, "--wait", "acl-add", "A", "to-lport", "1002", `outport == "a2" && ip4 && tcp.dst == 5001`, "allow-related", "--",
		"acl-add", "A", "to-lport", "1001", `ip4`, "drop")

	tcpTransfer(t, l, "vm1", "vm2", "10.0.0.2", 256<<10)
	for _, p := range [][2]string{{"vm1", "10.0.0.2"}, {"vm2", "10.0.0.1"}, {"vm1", "10.0.0.3"}} {
		if err := ping(l, p[0], p[1]); err == nil {
			t.Errorf("%s's ping to %s passed the default drop", p[0], p[1])
		}
	}
	serve(t, l, "vm2", "sinkn", "10.0.0.2:5002", "1")
	if out, err := helperCmd(t, l, "vm1", "conns", "10.0.0.2:5002", "1").CombinedOutput(); err == nil {
		t.Errorf("a connection to vm2's port 5002 passed the drop ACL: %s", out)
	}
	serve(t, l, "vm1", "sinkn", "10.0.0.1:5001", "1")
	if out, err := helperCmd(t, l, "vm2", "conns", "10.0.0.1:5001", "1").CombinedOutput(); err == nil {
		t.Errorf("vm2 opened a connection to vm1: %s", out)
	}
	if n := flowPackets(t, l, pipeline.OutACL, "priority=2001,ct_state=-est+trk,ip,"); n == 0 {
		t.Error("the drop ACL's flow counted no packets")
	}

	// One connection across an ACL change that still allows it and an
	// agent restart.
	serve(t, l, "vm2", "echo", "10.0.0.2:5001", "-")
	alive := startPingpong(t, l, "vm1", "10.0.0.2:5001", 80)
	chainctl(t, l, "--wait", "acl-add", "A", "to-lport", "1003", `outport == "a2" && tcp.dst == 5001 && ip4.src == 10.0.0.0/24`, "allow-related")
	zones := savedZones(t, l, "hv1")
	seen := map[string]string{}
	for _, p := range []string{"a1", "a2", "a3", "b1"} {
		z := zones[p]
		if z == "" {
			t.Fatalf("port %s has no conntrack zone on br-int: %v", p, zones)
		}
		if other, dup := seen[z]; dup {
			t.Errorf("ports %s and %s share zone %s", other, p, z)
		}
		seen[z] = p
	}
	restartUnchanged(t, l, "hv1") // the same flows: the zones are loaded in them
	if after := savedZones(t, l, "hv1"); fmt.Sprint(after) != fmt.Sprint(zones) {
		t.Errorf("zones changed across an agent restart: %v, then %v", zones, after)
	}
	if out, err := alive.wait(); err != nil {
		t.Errorf("the established connection broke across the ACL change and the restart: %v: %s", err, out)
	}

	// An established connection meets a drop ACL added later: it stops.
	serve(t, l, "vm2", "echo", "10.0.0.2:5001", "-")
	doomed := startPingpong(t, l, "vm1", "10.0.0.2:5001", 60)
	chainctl(t, l, "--wait", "acl-add", "A", "to-lport", "1004", `outport == "a2" && tcp.dst == 5001`, "drop")
	if out, err := doomed.wait(); err == nil {
		t.Error("a connection went on for 6 s after a drop ACL matched it")
	} else if !strings.Contains(out, "timeout") {
		t.Errorf("the connection failed, but not by timing out: %s", out)
	}
}

// pingpong is a TCP connection making round trips in the background.
type pingpong struct {
	out  *strings.Builder
	done chan error
}

// startPingpong connects from member to addr (an echo helper) and makes n
// round trips 100 ms apart; wait says whether all of them made it.
func startPingpong(t *testing.T, l *lab.Lab, member, addr string, n int) pingpong {
	t.Helper()
	cmd := helperCmd(t, l, member, "pingpong", addr, fmt.Sprint(n))
	p := pingpong{out: &strings.Builder{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() }) // a test that stopped early leaves no client behind
	return p
}

func (p pingpong) wait() (string, error) {
	err := <-p.done
	return p.out.String(), err
}

// savedZones reads the conntrack zones chainwired keeps in a host's
// br-int external_ids (ct-zone-PORT): port -> zone.
func savedZones(t *testing.T, l *lab.Lab, host string) map[string]string {
	t.Helper()
	out, err := l.VsctlOut(host, "get", "bridge", "br-int", "external_ids")
	if err != nil {
		t.Fatal(err)
	}
	zones := map[string]string{}
	for _, kv := range strings.Split(strings.Trim(strings.TrimSpace(out), "{}"), ", ") {
		k, v, ok := strings.Cut(kv, "=")
		if port, isZone := strings.CutPrefix(strings.Trim(k, `"`), "ct-zone-"); ok && isZone {
			zones[port] = strings.Trim(v, `"`)
		}
	}
	return zones
}

// A reject ACL answers: a TCP connection is refused at once (chainwired's
// RST, not a timeout), a UDP datagram gets ICMP port unreachable back;
// with --log, each rejected packet is a line in chainwired's log.
func TestRejectACL(t *testing.T) {
	l := singleHost(t)
	chainctl(t, l, "--wait", "acl-add", "A", "to-lport", "1000", `outport == "a2" && (tcp.dst == 5003 || udp.dst == 5004)`,
		"reject", "--name=no-5003", "--log")
	serve(t, l, "vm2", "sinkn", "10.0.0.2:5003", "1")
	start := time.Now()
	out, err := helperCmd(t, l, "vm1", "conns", "10.0.0.2:5003", "1").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "connection refused") {
		t.Errorf("a connection to a rejected port: %v: %s, want refused", err, out)
	} else if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the refusal took %s: a timeout, not an answer", d)
	}
	icmp := startCapture(t, l, "vm1", "eth0", "icmp[0] = 3 and icmp[1] = 3 and src host 10.0.0.2")
	if out, err := helperCmd(t, l, "vm1", "udp", "10.0.0.2:5004", "3").CombinedOutput(); err != nil {
		t.Fatalf("udp: %v: %s", err, out)
	}
	if err := ping(l, "vm1", "10.0.0.2"); err != nil { // after the datagrams' answers, if any
		t.Fatal(err)
	}
	if n := icmp.stop(t); n == 0 {
		t.Error("no ICMP port unreachable came back for the rejected datagrams")
	}
	if err := lab.Eventually(5*time.Second, func() error {
		b, _ := os.ReadFile(filepath.Join(l.RunDir("hv1"), "chainwired.log"))
		if !strings.Contains(string(b), `acl \"no-5003\": reject tcp 10.0.0.1:`) {
			return fmt.Errorf("chainwired logged no rejected connection")
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}

// A QoS rule's DSCP mark is on the wire: vm1's pings reach vm2 with DSCP
// 46 (EF), vm3's are untouched.
func TestQoSMarksDSCP(t *testing.T) {
	l := singleHost(t)
	chainctl(t, l, "--wait", "qos-add", "A", "from-lport", "100", `inport == "a1" && icmp4`, "dscp=46")
	// Echo requests only: Linux answers with the request's TOS.
	marked := startCapture(t, l, "vm2", "eth0", "icmp and icmp[0] == 8 and ip[1] & 0xfc == 184")
	if err := ping(l, "vm1", "10.0.0.2"); err != nil {
		t.Fatal(err)
	}
	if err := ping(l, "vm3", "10.0.0.2"); err != nil {
		t.Fatal(err)
	}
	if n := marked.stop(t); n != 3 {
		t.Errorf("vm2 saw %d ICMP packets with DSCP 46, want vm1's 3 requests", n)
	}
}

// A rate= QoS rule caps what a VM sends with an OpenFlow meter: iperf3 UDP
// from app1 (hv1) to app2 (hv2), offered at twice the rate, arrives within
// 10 % of the rate; TCP never gets more than 10 % above it (and, backing
// off on the meter's drops, not less than 85 % of it). The meter reads
// back by meter-config; a rate change modifies it in place (its flows
// untouched); removing the rule removes both.
func TestQoSRateMeter(t *testing.T) {
	const kbps = 8000
	l := vnfLab(t)
	chainctl(t, l, "--wait", "qos-add", "SW0", "from-lport", "100", `inport == "app1"`, fmt.Sprintf("rate=%d", kbps), fmt.Sprintf("burst=%d", kbps/4))
	within := func(what string, bps float64, kbps int, low float64) {
		t.Helper()
		if r := bps / 1000 / float64(kbps); r < low || r > 1.1 {
			t.Errorf("%s: %.0f kbit/s at a rate of %d kbit/s (%.2f of it), want %.2f..1.10 of it", what, bps/1000, kbps, r, low)
		} else {
			t.Logf("%s: %.0f kbit/s at a rate of %d kbit/s (%.2f of it)", what, bps/1000, kbps, r)
		}
	}
	// -O 1: the first second, which drains the full bucket, is not counted.
	tcp, err := l.Iperf("app1", "app2", "10.0.0.2", 5, "-O", "1")
	if err != nil {
		t.Fatal(err)
	}
	within("TCP", tcp, kbps, 0.85)
	udp, err := l.Iperf("app1", "app2", "10.0.0.2", 4, "-O", "1", "-u", "-b", fmt.Sprintf("%dK", 2*kbps))
	if err != nil {
		t.Fatal(err)
	}
	within("UDP offered at twice the rate", udp, kbps, 0.9)
	// The reverse direction is not limited.
	if back, err := l.Iperf("app2", "app1", "10.0.0.1", 2); err != nil || back < 5*kbps*1000 {
		t.Errorf("app2 -> app1 (no rule): %.0f kbit/s (err %v), want far above %d", back/1000, err, kbps)
	}
	meters := func(h string) string {
		out, err := l.Ofctl(h, "dump-meters", "br-int")
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if m := meters("hv1"); !strings.Contains(m, fmt.Sprintf("type=drop rate=%d burst_size=%d", kbps, kbps/4)) {
		t.Errorf("hv1's meters:\n%s", m)
	}
	before := flowsOf(t, l, "hv1", "ls_in_qos_mark")
	// Deleting the meter behind the agent's back (OVS takes the flows
	// that use it along) is repaired: meter and flows come back.
	if _, err := l.Ofctl("hv1", "del-meter", "br-int", fmt.Sprintf("meter=%d", 0xc7<<24|1)); err != nil {
		t.Fatal(err)
	}
	if err := lab.Eventually(5*time.Second, func() error {
		if !strings.Contains(meters("hv1"), fmt.Sprintf("rate=%d", kbps)) {
			return fmt.Errorf("no meter:\n%s", meters("hv1"))
		}
		if now := flowsOf(t, l, "hv1", "ls_in_qos_mark"); now != before {
			return fmt.Errorf("ls_in_qos_mark now:\n%s\nwas\n%s", now, before)
		}
		return nil
	}); err != nil {
		t.Errorf("a deleted meter was not repaired: %v", err)
	}
	chainctl(t, l, "--wait", "qos-del", "SW0", "--", "qos-add", "SW0", "from-lport", "100", `inport == "app1"`, "rate=4000", "burst=1000")
	if m := meters("hv1"); !strings.Contains(m, "type=drop rate=4000 burst_size=1000") {
		t.Errorf("after the rate change hv1's meters:\n%s", m)
	}
	if after := flowsOf(t, l, "hv1", "ls_in_qos_mark"); after != before {
		t.Errorf("a rate change rewrote the flows:\n%s\nnow\n%s", before, after)
	}
	udp, err = l.Iperf("app1", "app2", "10.0.0.2", 3, "-O", "1", "-u", "-b", "8000K")
	if err != nil {
		t.Fatal(err)
	}
	within("UDP after the rate change", udp, 4000, 0.9)
	chainctl(t, l, "--wait", "qos-del", "SW0")
	if m := meters("hv1"); strings.Contains(m, fmt.Sprintf("meter=%d ", 0xc7<<24|1)) {
		t.Errorf("the meter outlived its rule:\n%s", m)
	}
	if f := flowsOf(t, l, "hv1", "ls_in_qos_mark"); strings.Contains(f, "meter:") {
		t.Errorf("flows still meter:\n%s", f)
	}
}

// flowsOf is a table's flows on a chassis, without counters.
func flowsOf(t *testing.T, l *lab.Lab, host, table string) string {
	t.Helper()
	flows, err := l.Flows(host)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range flows {
		if strings.Contains(f, "table="+table+",") {
			out = append(out, f)
		}
	}
	return strings.Join(out, "\n")
}

// A chain on the protected port delivers through its VNF with stateful
// ACLs in place (app1 on hv1, app2 on hv2, VNF X on hv1): the TCP
// transfer to app2:5001 crosses X both ways, and conntrack holds one
// entry for the connection in app1's zone and one in app2's, none in the
// VNF's ports' zones: the VNF hops skip the ACL stages.
func TestChainWithStatefulACLs(t *testing.T) {
	l := vnfLab(t, [2]string{"X", "hv1"})
	chainOf(t, l, "CX", "X")
	chainctl(t, l, "lsp-chain-classifier", "SW0", "CX", "app2", "entry-lport", "bi-directional", "web", "ip4 && tcp.dst == 5001")
	chainctl(t, l, "--wait", "acl-add", "SW0", "to-lport", "1002", `outport == "app2" && ip4 && tcp.dst == 5001`, "allow-related", "--",
		"acl-add", "SW0", "to-lport", "1001", `outport == "app2" && ip4`, "drop")
	caps := vnfCaptures(t, l, "X")
	tcpTransfer(t, l, "app1", "app2", "10.0.0.2", 64<<10)
	for iface, segs := range collect(t, caps) {
		if len(segs) == 0 {
			t.Errorf("%s saw none of the transfer", iface)
		}
	}
	if err := ping(l, "app1", "10.0.0.2"); err == nil {
		t.Error("ping to app2 passed its drop ACL")
	}
	entries := map[string]int{} // host/port -> conntrack entries of the transfer
	for _, h := range []string{"hv1", "hv2"} {
		out, err := l.Appctl(h, "dpctl/dump-conntrack")
		if err != nil {
			t.Fatal(err)
		}
		portOf := map[string]string{}
		for port, zone := range savedZones(t, l, h) {
			portOf[zone] = port
		}
		for _, line := range strings.Split(out, "\n") {
			if !strings.Contains(line, "dport=5001") {
				continue
			}
			_, zone, _ := strings.Cut(line, "zone=")
			zone, _, _ = strings.Cut(zone, ",")
			entries[h+"/"+portOf[strings.TrimSpace(zone)]]++
		}
	}
	if fmt.Sprint(entries) != "map[hv1/app1:1 hv2/app2:1]" {
		t.Errorf("conntrack entries of the transfer by chassis/port zone: %v, want one in app1's and one in app2's", entries)
	}
}
