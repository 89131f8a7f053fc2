package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// traceCase3 is the seed's Case 3 made with chainctl: app1 on hv1, three
// VNFs (pairs PP1..PP3, all on hv1) in chain PC1, app2 on hv2; app1 has
// port security.
func traceCase3(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "nb.json")
	cmds := [][]string{
		{"chassis-add", "hv1", "geneve", "192.0.2.1"}, {"chassis-add", "hv2", "geneve", "192.0.2.2"},
		{"ls-add", "sw0"},
		{"lsp-add", "sw0", "app1", "--", "lsp-set-addresses", "app1", "02:00:00:00:00:a1 10.0.0.1",
			"--", "lsp-set-port-security", "app1", "02:00:00:00:00:a1 10.0.0.1", "--", "lsp-set-options", "app1", "requested-chassis=hv1"},
	}
	for i := 1; i <= 3; i++ {
		in, out := fmt.Sprintf("vnf%d-in", i), fmt.Sprintf("vnf%d-out", i)
		cmds = append(cmds, []string{"lsp-add", "sw0", in, "--", "lsp-add", "sw0", out,
			"--", "lsp-set-options", in, "requested-chassis=hv1", "--", "lsp-set-options", out, "requested-chassis=hv1",
			"--", "lsp-pair-add", "sw0", in, out, fmt.Sprintf("PP%d", i)})
	}
	cmds = append(cmds,
		[]string{"lsp-add", "sw0", "app2", "--", "lsp-set-addresses", "app2", "02:00:00:00:00:a2 10.0.0.2",
			"--", "lsp-set-options", "app2", "requested-chassis=hv2"},
		[]string{"lsp-chain-add", "sw0", "PC1"})
	for i := 1; i <= 3; i++ {
		cmds = append(cmds, []string{"lsp-pair-group-add", "PC1", fmt.Sprintf("PG%d", i),
			"--", "lsp-pair-group-port-pair-add", fmt.Sprintf("PG%d", i), fmt.Sprintf("PP%d", i)})
	}
	cmds = append(cmds, []string{"lsp-chain-classifier", "sw0", "PC1", "app2", "entry-lport", "bi-directional", "PCC1", ""})
	for _, args := range cmds {
		mustCtl(t, db, args...)
	}
	return db
}

const case3Flow = `inport == "app1" && eth.src == 02:00:00:00:00:a1 && eth.dst == 02:00:00:00:00:a2 && ` +
	`ip4.src == 10.0.0.1 && ip4.dst == 10.0.0.2 && ip.ttl == 64 && tcp.dst == 80`

// traceJSON runs trace -o json and decodes it.
func traceJSON(t *testing.T, db string, args ...string) traceDoc {
	t.Helper()
	out := mustCtl(t, db, append([]string{"-o", "json", "trace"}, args...)...)
	var doc traceDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("trace -o json: %v\n%s", err, out)
	}
	return doc
}

// Case 3: app1's request crosses the three VNFs on hv1, then the tunnel
// to hv2, where app2 gets it unchanged. Only a model file is needed.
func TestTraceCase3(t *testing.T) {
	db := traceCase3(t)
	out := mustCtl(t, db, "trace", "hv1", case3Flow)
	for _, want := range []string{
		"hv1: from app1 (in_port 1)",
		" 18. ls_in_chain, priority 100: ",
		`classifier "PCC1" (app2 entry-lport bi-directional) of chain "PC1"`,
		"to vnf1-in, VNF port of pair PP1: the VNF forwards the frame, unchanged, from vnf1-out",
		"hv1: from vnf1-out (in_port 3), the frame pair PP1 forwarded, unchanged",
		"hv1: from vnf2-out (in_port 5), the frame pair PP2 forwarded, unchanged",
		"hv1: from vnf3-out (in_port 7), the frame pair PP3 forwarded, unchanged",
		"tunnel to hv2 (VNI 1, ingress 7, egress 8)",
		"hv2: from the tunnel (in_port 65279): from hv1, VNI 1, ingress 7, egress 8",
		" 64. log_to_phy, priority 100: reg15=0x8,metadata=0x1",
		`physical of port key 8 on switch key 1: port "app2" on switch "sw0"`,
		"delivered to app2 on hv2 (OpenFlow port 1), via pair PP1, pair PP2, pair PP3, tunnel hv1 -> hv2",
		"    unchanged",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("trace lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "dropped") {
		t.Errorf("trace drops something:\n%s", out)
	}

	doc := traceJSON(t, db, "hv1", case3Flow)
	if len(doc.Passes) != 5 || len(doc.Deliveries) != 1 || len(doc.Drops) != 0 {
		t.Fatalf("passes %d, deliveries %+v, drops %+v; want 5 passes, one delivery", len(doc.Passes), doc.Deliveries, doc.Drops)
	}
	d := doc.Deliveries[0]
	if d.Chassis != "hv2" || d.Port != "app2" || strings.Join(d.Via, ",") != "pair PP1,pair PP2,pair PP3,tunnel hv1 -> hv2" || len(d.Changed) != 0 {
		t.Errorf("delivery %+v", d)
	}
	var vias []string
	for _, p := range doc.Passes {
		vias = append(vias, p.Chassis+":"+p.Via+":"+p.Port)
	}
	if got := strings.Join(vias, " "); got != "hv1:inport:app1 hv1:vnf:vnf1-out hv1:vnf:vnf2-out hv1:vnf:vnf3-out hv2:tunnel:" {
		t.Errorf("passes %s", got)
	}
	if tn := doc.Passes[4].Tunnel; tn == nil || tn.VNI != 1 || tn.Ingress != 7 || tn.Egress != 8 || tn.From != "hv1" || tn.To != "hv2" {
		t.Errorf("tunnel %+v", tn)
	}
	first := doc.Passes[0].Steps[0]
	if first.Chassis != "hv1" || first.Kind != "flow" || first.Table != 0 || first.Stage != "phy_to_log" || first.Priority != 100 ||
		first.Match != "in_port=1" || !strings.Contains(first.Actions, "goto_table:ls_in_port_sec_l2") ||
		first.Cookie != "0xc702020000010001" || !strings.Contains(first.Object, `port "app1"`) {
		t.Errorf("first step %+v", first)
	}
	// The reply from app2 goes back through the VNFs on hv1, last first;
	// leaving the chain it is re-injected on app2's chassis, as app2's
	// (docs/chains.md), which sends it to app1.
	back := traceJSON(t, db, "hv2", `inport == "app2" && eth.dst == 02:00:00:00:00:a1 && ip4.dst == 10.0.0.1 && tcp.src == 80`)
	if len(back.Deliveries) != 1 || back.Deliveries[0].Port != "app1" || strings.Join(back.Deliveries[0].Via, ",") !=
		"tunnel hv2 -> hv1,pair PP3,pair PP2,pair PP1,tunnel hv1 -> hv2,tunnel hv2 -> hv1" {
		t.Errorf("reply: %+v", back.Deliveries)
	}
	if back.Passes[1].Via != "tunnel" || back.Passes[1].Chassis != "hv1" {
		t.Errorf("reply's second pass %+v, want the tunnel to hv1", back.Passes[1])
	}
}

// A frame from another MAC than app1's port security allows ends at
// ls_in_port_sec_l2's default drop.
func TestTraceSpoofedDrop(t *testing.T) {
	db := traceCase3(t)
	spoof := `inport == "app1" && eth.src == 02:00:00:00:00:99 && eth.dst == 02:00:00:00:00:a2 && ip4.src == 10.0.0.1 && ip4.dst == 10.0.0.2`
	out := mustCtl(t, db, "trace", "hv1", spoof)
	if !strings.Contains(out, "dropped on hv1 at ls_in_port_sec_l2 (priority 0, base: the table's default)") {
		t.Errorf("spoofed frame:\n%s", out)
	}
	doc := traceJSON(t, db, "hv1", spoof)
	if len(doc.Deliveries) != 0 || len(doc.Drops) != 1 {
		t.Fatalf("deliveries %+v drops %+v", doc.Deliveries, doc.Drops)
	}
	if d := doc.Drops[0]; d.Stage != "ls_in_port_sec_l2" || d.Table != 8 || d.Priority != 0 || d.Reason != "flow" || d.Chassis != "hv1" {
		t.Errorf("drop %+v", d)
	}
	// A spoofed source IP from the right MAC: ls_in_port_sec_ip.
	doc = traceJSON(t, db, "hv1", `inport == "app1" && ip4.src == 10.0.0.99 && ip4.dst == 10.0.0.2`)
	if len(doc.Drops) != 1 || doc.Drops[0].Stage != "ls_in_port_sec_ip" || doc.Drops[0].Priority != 80 ||
		!strings.Contains(doc.Drops[0].Object, `port-security of port key 1 on switch key 1: port "app1"`) {
		t.Errorf("spoofed IP: drops %+v", doc.Drops)
	}
}

// A from-lport drop ACL stops the request at ls_in_acl, naming the ACL.
func TestTraceACLDrop(t *testing.T) {
	db := traceCase3(t)
	mustCtl(t, db, "acl-add", "sw0", "from-lport", "100", `inport == "app1" && tcp.dst == 80`, "drop", "--name=no-web", "--log")
	out := mustCtl(t, db, "trace", "hv1", case3Flow)
	if !strings.Contains(out, `dropped on hv1 at ls_in_acl (priority 1100, acl of ACL key 1: ACL "no-web": sw0 from-lport 100 'inport == "app1" && tcp.dst == 80' drop)`) ||
		!strings.Contains(out, "(a copy goes to chainwired's log)") || !strings.Contains(out, `-> to chainwired: ACL log: acl "no-web", verdict drop`) {
		t.Errorf("ACL drop:\n%s", out)
	}
	doc := traceJSON(t, db, "hv1", case3Flow)
	if len(doc.Deliveries) != 0 || len(doc.Drops) != 1 || doc.Drops[0].Stage != "ls_in_acl" || !strings.Contains(doc.Drops[0].Object, `ACL "no-web"`) {
		t.Errorf("deliveries %+v drops %+v", doc.Deliveries, doc.Drops)
	}
	// Other traffic passes.
	if doc := traceJSON(t, db, "hv1", `inport == "app1" && ip4.dst == 10.0.0.2 && udp.dst == 53`); len(doc.Deliveries) != 1 {
		t.Errorf("UDP: deliveries %+v drops %+v", doc.Deliveries, doc.Drops)
	}
}

// traceRouted is pipeline/router_test.go's routed(): router R joins S1
// (A on hv1) and S2 (B and the router VM C on hv2); 10.0.3.0/24 goes to C.
func traceRouted(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "nb.json")
	for _, args := range [][]string{
		{"chassis-add", "hv1", "geneve", "192.0.2.1"}, {"chassis-add", "hv2", "geneve", "192.0.2.2"},
		{"ls-add", "S1"}, {"ls-add", "S2"}, {"lr-add", "R"},
		{"lrp-add", "R", "r1", "02:00:00:00:ff:01", "10.0.1.1/24", "fd00:1::1/64"},
		{"lrp-add", "R", "r2", "02:00:00:00:ff:02", "10.0.2.1/24", "fd00:2::1/64"},
		{"lr-route-add", "R", "10.0.3.0/24", "10.0.2.12"},
		{"lsp-add", "S1", "rp1", "--", "lsp-set-type", "rp1", "router", "--", "lsp-set-addresses", "rp1", "router",
			"--", "lsp-set-options", "rp1", "router-port=r1"},
		{"lsp-add", "S2", "rp2", "--", "lsp-set-type", "rp2", "router", "--", "lsp-set-addresses", "rp2", "router",
			"--", "lsp-set-options", "rp2", "router-port=r2"},
		{"lsp-add", "S1", "A", "--", "lsp-set-addresses", "A", "02:00:00:00:01:0a 10.0.1.10 fd00:1::10", "--", "lsp-set-options", "A", "requested-chassis=hv1"},
		{"lsp-add", "S2", "B", "--", "lsp-set-addresses", "B", "02:00:00:00:02:0b 10.0.2.11 fd00:2::11", "--", "lsp-set-options", "B", "requested-chassis=hv2"},
		{"lsp-add", "S2", "C", "--", "lsp-set-addresses", "C", "02:00:00:00:02:0c 10.0.2.12", "--", "lsp-set-options", "C", "requested-chassis=hv2"},
	} {
		mustCtl(t, db, args...)
	}
	return db
}

// A routed packet reaches B on hv2 from the router port's MAC with its
// TTL one less; eth.dst defaults to the gateway's MAC.
func TestTraceRouted(t *testing.T) {
	db := traceRouted(t)
	flow := `inport == "A" && ip4.dst == 10.0.2.11 && udp.dst == 9`
	out := mustCtl(t, db, "trace", "hv1", flow)
	for _, want := range []string{
		"eth.dst = 02:00:00:00:ff:01 (router port r1, the gateway)",
		" 82. lr_in_ip_routing, priority ",
		"dec_ttl",
		`router port "r2" of router "R"`,
		"tunnel to hv2 (VNI 2, ingress 1, egress 2)",
		"delivered to B on hv2",
		"nw_ttl 64 -> 63",
		"dl_src 02:00:00:00:01:0a -> 02:00:00:00:ff:02",
		"dl_dst 02:00:00:00:ff:01 -> 02:00:00:00:02:0b",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("routed trace lacks %q:\n%s", want, out)
		}
	}
	doc := traceJSON(t, db, "hv1", flow)
	if len(doc.Deliveries) != 1 || doc.Deliveries[0].Port != "B" || doc.Deliveries[0].Switch != "S2" ||
		!strings.Contains(doc.Deliveries[0].Packet, "nw_ttl=63") {
		t.Fatalf("deliveries %+v", doc.Deliveries)
	}
	// The static route to the router VM C; IPv6; TTL 1: time exceeded.
	if doc := traceJSON(t, db, "hv1", `inport == "A" && ip4.dst == 10.0.3.7`); len(doc.Deliveries) != 1 || doc.Deliveries[0].Port != "C" {
		t.Errorf("static route: %+v", doc.Deliveries)
	}
	if doc := traceJSON(t, db, "hv1", `inport == "A" && ip6.dst == fd00:2::11 && udp.dst == 9`); len(doc.Deliveries) != 1 ||
		doc.Deliveries[0].Port != "B" || !strings.Contains(doc.Deliveries[0].Packet, "nw_ttl=63") {
		t.Errorf("IPv6: %+v", doc.Deliveries)
	}
	doc = traceJSON(t, db, "hv1", `inport == "A" && ip4.dst == 10.0.2.11 && ip.ttl == 1`)
	if len(doc.Deliveries) != 0 || len(doc.Controller) != 1 || doc.Controller[0].Opcode != 9 ||
		!strings.HasPrefix(doc.Controller[0].What, "time exceeded") || doc.Controller[0].Stage != "lr_in_ip_input" {
		t.Errorf("TTL 1: deliveries %+v, controller %+v", doc.Deliveries, doc.Controller)
	}
	// No route: dropped at lr_in_ip_routing.
	doc = traceJSON(t, db, "hv1", `inport == "A" && ip4.dst == 192.168.9.9 && eth.dst == 02:00:00:00:ff:01`)
	if len(doc.Drops) != 1 || doc.Drops[0].Stage != "lr_in_ip_routing" {
		t.Errorf("no route: drops %+v", doc.Drops)
	}
}

// A broadcast floods: every port it reaches is a delivery, and the copy
// for the sender is not sent back.
func TestTraceFlood(t *testing.T) {
	db := traceCase3(t)
	mustCtl(t, db, "lsp-add", "sw0", "app3", "--", "lsp-set-addresses", "app3", "02:00:00:00:00:a3 10.0.0.3",
		"--", "lsp-set-options", "app3", "requested-chassis=hv1")
	doc := traceJSON(t, db, "hv1", `inport == "app1" && eth.dst == ff:ff:ff:ff:ff:ff && arp.tpa == 10.0.0.99`)
	var got []string
	for _, d := range doc.Deliveries {
		got = append(got, d.Chassis+":"+d.Port)
	}
	if strings.Join(got, " ") != "hv2:app2 hv1:app3" && strings.Join(got, " ") != "hv1:app3 hv2:app2" {
		t.Errorf("flood delivered to %v (drops %+v)", got, doc.Drops)
	}
	// An ARP request for a port's address is answered in OpenFlow.
	doc = traceJSON(t, db, "hv1", `inport == "app1" && arp.tpa == 10.0.0.2`)
	if len(doc.Deliveries) != 1 || doc.Deliveries[0].Port != "app1" || !strings.Contains(doc.Deliveries[0].Packet, "arp_op=2") {
		t.Errorf("ARP answer: %+v", doc.Deliveries)
	}
}

// The errors: one line each, the model untouched.
func TestTraceErrors(t *testing.T) {
	db := traceCase3(t)
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"trace", "hv9", case3Flow}, `chassis "hv9": does not exist`},
		{[]string{"trace", "hv1", `inport == "nosuch" && ip4.dst == 10.0.0.2`}, `port "nosuch": does not exist`},
		{[]string{"trace", "hv1", `inport == "app2" && ip4.dst == 10.0.0.1`}, `port "app2": requests chassis "hv2", not "hv1"`},
		{[]string{"trace", "hv1", `ip4.dst == 10.0.0.2`}, `microflow: column 1: a microflow needs inport == "PORT"`},
		{[]string{"trace", "hv1", `inport == "app1" && tcp.dst == {80, 443}`}, `microflow: column 32: a set gives tcp.dst several values`},
		{[]string{"trace", "hv1", `inport == "app1" || ip4`}, `microflow: column 18: || gives alternatives`},
		{[]string{"trace", "hv1", `inport == "app1" && tcp.dst != 80`}, `microflow: column 29: a microflow gives each field one value with ==, not !=`},
		{[]string{"trace", "hv1", `inport == "app1" && ip4.dst == 10.0.0.0/24`}, `microflow: column 32: ip4.dst == 10.0.0.0/24 is a prefix or mask`},
		{[]string{"trace", "hv1", `inport == "app1" && nosuch.field == 1`}, `microflow: column 21: unknown field "nosuch.field"`},
		{[]string{"trace", "hv1", `inport == "app1" && tcp.dst == 80 && udp.dst == 53`}, `microflow: column 38: udp.dst == 53 contradicts the fields before it`},
		{[]string{"trace", "hv1", `inport == "app1" && ip.ttl == 256`}, `microflow: column 31: "256" is not a number in 0..255`},
		{[]string{"trace", "hv1", `inport == "app1" && nd`}, `microflow: column 21: nd stands for several packets`},
		{[]string{"trace", "hv1", `inport == "app1" && ct.est`}, `microflow: column 21: ct.est is conntrack state`},
		{[]string{"trace", "hv1", `inport == "app1" && outport == "app2"`}, `microflow: column 21: outport is the pipeline's to choose`},
		{[]string{"trace", "hv1", `inport == "app1" && (tcp)`}, `microflow: column 21: a microflow is a plain conjunction`},
		{[]string{"trace", "hv1", `inport == "app1" && ip4.dst == 10.9.9.9`}, `no port of switch "sw0" has 10.9.9.9 and the switch has no router: give eth.dst`},
		{[]string{"trace", "hv1", `inport == "app1" && eth.src == 02:00:00:00:00:a1`}, `microflow: give eth.dst`},
		{[]string{"trace", "hv1", case3Flow, "--bridge", "br0"}, `trace: --bridge goes with --ofproto`},
		{[]string{"trace", "hv1"}, `usage: chainctl trace CHASSIS MICROFLOW`},
	} {
		_, err, ok := refusedCmd(t, db, before, tc.args)
		if !ok {
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("chainctl %v: error %q, want one line containing %q", tc.args, err, tc.want)
		}
	}
}

// A port without requested-chassis is taken as bound where it is traced
// from; elsewhere it is bound nowhere, and traffic to it goes nowhere.
func TestTraceUnboundPorts(t *testing.T) {
	db := filepath.Join(t.TempDir(), "nb.json")
	for _, args := range [][]string{
		{"chassis-add", "hv1", "geneve", "192.0.2.1"}, {"ls-add", "sw0"},
		{"lsp-add", "sw0", "p1", "--", "lsp-set-addresses", "p1", "02:00:00:00:00:01 10.0.0.1"},
		{"lsp-add", "sw0", "p2", "--", "lsp-set-addresses", "p2", "02:00:00:00:00:02 10.0.0.2"},
	} {
		mustCtl(t, db, args...)
	}
	doc := traceJSON(t, db, "hv1", `inport == "p1" && ip4.dst == 10.0.0.2`)
	if len(doc.Deliveries) != 0 || len(doc.Drops) != 1 || doc.Drops[0].Stage != "local_output" {
		t.Errorf("to the unbound p2: deliveries %+v drops %+v", doc.Deliveries, doc.Drops)
	}
	mustCtl(t, db, "lsp-set-options", "p2", "requested-chassis=hv1")
	if doc := traceJSON(t, db, "hv1", `inport == "p1" && ip4.dst == 10.0.0.2`); len(doc.Deliveries) != 1 || doc.Deliveries[0].Port != "p2" {
		t.Errorf("to p2 on hv1: %+v", doc.Deliveries)
	}
}

// --ofproto asks ovs-vswitchd (here a fake one): the real OpenFlow ports
// come from ovs-vsctl, the outcome of ofproto/trace is compared with the
// simulator's first pass.
func TestTraceOFProto(t *testing.T) {
	db := traceCase3(t)
	rundir := t.TempDir()
	// ovs-vswitchd's pid file and its control socket (a plain file will do).
	if err := os.WriteFile(filepath.Join(rundir, "ovs-vswitchd.4242.ctl"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rundir, "ovs-vswitchd.pid"), []byte("4242\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ifaces := `{"data":[["app1-eth0",7,"",["map",[["iface-id","app1"]]]],["vnf1-in-eth0",8,"",["map",[["iface-id","vnf1-in"]]]],` +
		`["vnf1-out-eth0",9,"",["map",[["iface-id","vnf1-out"]]]],["geneve0",3,"geneve",["map",[]]],["other",11,"",["map",[["iface-id","app1"]]]]],` +
		`"headings":["name","ofport","type","external_ids"]}`
	var ovsTrace string
	var calls []string
	saved := runOVS
	defer func() { runOVS = saved }()
	runOVS = func(env []string, name string, args ...string) ([]byte, error) {
		calls = append(calls, name+" "+strings.Join(args, " "))
		switch {
		case name == "ovs-vsctl" && args[1] == "list-ifaces":
			return []byte("app1-eth0\nvnf1-in-eth0\nvnf1-out-eth0\ngeneve0\n"), nil
		case name == "ovs-vsctl":
			return []byte(ifaces), nil
		case name == "ovs-appctl":
			return []byte(ovsTrace), nil
		}
		return nil, fmt.Errorf("unexpected %s", name)
	}
	ovsTrace = "Flow: tcp,in_port=7,...\n\nbridge(\"br-int\")\n----------------\n 0. in_port=7, priority 100, cookie 0xc702020000010001\n" +
		"    goto_table:8\n...\n64. reg15=0x2,metadata=0x1, priority 100, cookie 0xc702020000010002\n    output:8\n\nFinal flow: unchanged\n" +
		"Megaflow: recirc_id=0,eth,tcp,in_port=7\nDatapath actions: 5\n"
	out := mustCtl(t, db, "trace", "hv1", case3Flow, "--ofproto", "--ovs-rundir", rundir)
	if !strings.Contains(out, "hv1: from app1 (in_port 7)") || !strings.Contains(out, "ofproto/trace br-int in_port=7,dl_src=02:00:00:00:00:a1,") ||
		!strings.Contains(out, "  agrees: output:8") {
		t.Errorf("--ofproto:\n%s", out)
	}
	wantCalls := []string{"ovs-vsctl --db=unix:" + rundir + "/db.sock list-ifaces br-int",
		"ovs-vsctl --db=unix:" + rundir + "/db.sock --format=json --columns=name,ofport,type,external_ids list Interface",
		"ovs-appctl -t " + rundir + "/ovs-vswitchd.4242.ctl ofproto/trace br-int in_port=7,"}
	for i, w := range wantCalls {
		if i >= len(calls) || !strings.HasPrefix(calls[i], w) {
			t.Errorf("call %d: %q, want %q...", i, calls, w)
		}
	}
	// OVS drops it: the two disagree, both are printed, the exit is not 0.
	ovsTrace = strings.Replace(strings.Replace(ovsTrace, "    output:8\n", "    drop\n", 1), "Datapath actions: 5", "Datapath actions: drop", 1)
	out, err := ctl(t, db, "trace", "hv1", case3Flow, "--ofproto", "--ovs-rundir", rundir)
	if err == nil || !strings.Contains(err.Error(), "ofproto/trace on br-int disagrees with the model's flows") ||
		!strings.Contains(out, "DISAGREES\n    model (simulated): output:8\n    ofproto/trace:     drop") || !strings.Contains(out, "Datapath actions: drop") {
		t.Errorf("disagreement: %v\n%s", err, out)
	}
	// A tunnel: the destination comes from the datapath actions.
	db2 := filepath.Join(t.TempDir(), "nb.json")
	data, _ := os.ReadFile(db)
	os.WriteFile(db2, data, 0o644)
	mustCtl(t, db2, "lsp-chain-classifier-del", "PCC1")
	ovsTrace = "bridge(\"br-int\")\n----------------\n 0. in_port=7, priority 100\n    goto_table:8\n32. reg15=0x8,metadata=0x1, priority 100, cookie 0xc705020000010008\n" +
		"    set_field:0xc0000202->tun_dst\n    output:3\n     -> output to kernel tunnel\n\nFinal flow: unchanged\n" +
		"Datapath actions: set(tunnel(tun_id=0x1,dst=192.0.2.2,ttl=64,tp_dst=6081,geneve({class=0x102,type=0x80,len=4,0x10008}),flags(df|csum|key))),2\n"
	doc := traceJSON(t, db2, "hv1", case3Flow, "--ofproto", "--ovs-rundir", rundir)
	if o := doc.OFProto; o == nil || !o.Agree || strings.Join(o.Simulated, " ") != "tunnel:192.0.2.2" {
		t.Errorf("tunnel: %+v", doc.OFProto)
	}
	// The inport has no interface on the bridge.
	ifaces = `{"data":[["geneve0",3,"geneve",["map",[]]]],"headings":["name","ofport","type","external_ids"]}`
	if _, err := ctl(t, db, "trace", "hv1", case3Flow, "--ofproto", "--ovs-rundir", rundir); err == nil ||
		err.Error() != "--ofproto: no interface of bridge br-int has external_ids:iface-id=app1" {
		t.Errorf("no interface: %v", err)
	}
}

func TestHelpListsTrace(t *testing.T) {
	out := mustCtl(t, "unused", "help")
	if !strings.Contains(out, "trace CHASSIS MICROFLOW [--ofproto [--bridge BR] [--ovs-rundir DIR] [--ovs-db DB]]") {
		t.Errorf("help lacks trace:\n%s", out)
	}
	if script := mustCtl(t, "unused", "completion", "bash"); !strings.Contains(script, "--ofproto") {
		t.Error("completion lacks --ofproto")
	}
}
