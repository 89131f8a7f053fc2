package e2e

import (
	"strings"
	"testing"

	"github.com/chainwire/chainwire/e2e/lab"
)

// chainctl trace on a lab chassis, with --ofproto: the model's flows in
// the simulator and ofproto/trace on the live bridge must agree.
func traceOn(t *testing.T, l *lab.Lab, chassis, microflow string) string {
	t.Helper()
	out, err := l.Chainctl("trace", chassis, microflow, "--ofproto", "--bridge", "br-int",
		"--ovs-rundir", l.RunDir(chassis), "--ovs-db", l.OVSDB(chassis))
	if err != nil {
		t.Fatalf("chainctl trace %s %q: %v\n%s", chassis, microflow, err, out)
	}
	if !strings.Contains(out, "agrees:") {
		t.Errorf("trace %q: no agreement with ofproto/trace:\n%s", microflow, out)
	}
	return out
}

func expectTrace(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("trace lacks %q:\n%s", w, out)
		}
	}
}

// Case 3, a spoofed frame and an ACL drop: the trace, the live bridge and
// the real packet tell one story.
func TestTraceAgreesWithOVS(t *testing.T) {
	l := chainSetup{vnfs: 3, app2Host: "hv2"}.up(t)
	out := traceOn(t, l, "hv1", `inport == "app1" && ip4.dst == 10.0.0.2 && icmp4`)
	expectTrace(t, out, "delivered to app2", "via pair PP1, pair PP2, pair PP3, tunnel hv1 -> hv2")
	if err := ping(l, "app1", "10.0.0.2"); err != nil {
		t.Errorf("the real packet: %v", err)
	}

	chainctl(t, l, "--wait", "lsp-set-port-security", "app1", macApp1)
	out = traceOn(t, l, "hv1", `inport == "app1" && eth.src == 02:00:00:00:0a:99 && ip4.dst == 10.0.0.2 && icmp4`)
	expectTrace(t, out, "ls_in_port_sec_l2", "drop")

	chainctl(t, l, "--wait", "acl-add", "SW0", "from-lport", "100", `inport == "app1" && tcp.dst == 80`, "drop", "--name=no-web")
	out = traceOn(t, l, "hv1", `inport == "app1" && ip4.dst == 10.0.0.2 && tcp.dst == 80`)
	expectTrace(t, out, "ls_in_acl", `ACL "no-web"`)
	if err := ping(l, "app1", "10.0.0.2"); err != nil {
		t.Errorf("the ACL drops only TCP port 80, yet: %v", err)
	}
}

// A routed packet: through the router and one tunnel, TTL one less.
func TestTraceRouted(t *testing.T) {
	l := routedSetup{}.up(t)
	out := traceOn(t, l, "hv1", `inport == "vm1" && ip4.dst == 10.0.2.11 && icmp4`)
	expectTrace(t, out, "lr_in_ip_routing", "delivered to vm2", "nw_ttl 64 -> 63")
	if err := ping(l, "vm1", "10.0.2.11"); err != nil {
		t.Errorf("the real packet: %v", err)
	}
}
