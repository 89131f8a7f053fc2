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

// Stateful ACLs on real OVS conntrack (userspace datapath): vm2 takes
// TCP/5001 and nothing else, yet what vm2 opens itself gets its replies;
// each local port has a conntrack zone of its own, saved on the bridge and
// kept across an agent restart; a connection established before a drop
// ACL is stopped by it.
func TestStatefulACLs(t *testing.T) {
	l := singleHost(t)
	chainctl(t, l, "--wait", "acl-add", "A", "to-lport", "1002", `outport == "a2" && ip4 && tcp.dst == 5001`, "allow-related", "--",
		"acl-add", "A", "to-lport", "1001", `outport == "a2" && ip4`, "drop")

	tcpTransfer(t, l, "vm1", "vm2", "10.0.0.2", 256<<10)
	if err := ping(l, "vm1", "10.0.0.2"); err == nil {
		t.Error("ping to vm2 passed its drop ACL")
	}
	if err := ping(l, "vm2", "10.0.0.1"); err != nil {
		t.Errorf("vm2's own ping got no replies through conntrack: %v", err)
	}
	if err := ping(l, "vm1", "10.0.0.3"); err != nil {
		t.Errorf("vm3, which no ACL names, is cut off: %v", err)
	}
	serve(t, l, "vm2", "sinkn", "10.0.0.2:5002", "1")
	if out, err := helperCmd(t, l, "vm1", "conns", "10.0.0.2:5002", "1").CombinedOutput(); err == nil {
		t.Errorf("a connection to vm2's port 5002 passed the drop ACL: %s", out)
	}
	if n := flowPackets(t, l, pipeline.OutACL, "priority=2001,ct_state=-est+trk,ip,"); n == 0 {
		t.Error("the drop ACL's flow counted no packets")
	}

	zones := savedZones(t, l)
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
	if after := savedZones(t, l); fmt.Sprint(after) != fmt.Sprint(zones) {
		t.Errorf("zones changed across an agent restart: %v, then %v", zones, after)
	}

	// An established connection meets a drop ACL added later: it stops.
	serve(t, l, "vm2", "echo", "10.0.0.2:5001", "-")
	client := helperCmd(t, l, "vm1", "pingpong", "10.0.0.2:5001", "60")
	var out strings.Builder
	client.Stdout, client.Stderr = &out, &out
	if err := client.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- client.Wait() }()
	chainctl(t, l, "--wait", "acl-add", "A", "to-lport", "1003", `outport == "a2" && tcp.dst == 5001`, "drop")
	if err := <-done; err == nil {
		t.Error("a connection went on for 6 s after a drop ACL matched it")
	} else if !strings.Contains(out.String(), "timeout") {
		t.Errorf("the connection failed, but not by timing out: %s", out.String())
	}
}

// savedZones reads the conntrack zones chainwired keeps in br-int's
// external_ids (ct-zone-PORT).
func savedZones(t *testing.T, l *lab.Lab) map[string]string {
	t.Helper()
	out, err := l.VsctlOut("hv1", "get", "bridge", "br-int", "external_ids")
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
