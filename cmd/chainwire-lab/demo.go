package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chainwire/chainwire/e2e/lab"
	"github.com/chainwire/chainwire/topology"
)

// demo runs the seed's Case 3 across two emulated hypervisors: app1 and
// three two-armed VNFs on hv1, app2 on hv2; configures it with the seed's
// chainctl verbs; and prints the evidence: pings, the VNFs' counters, the
// Geneve metadata on the wire, the chain tables; then the plain path after
// the classifier is deleted.
func demo() error {
	cfg := &lab.Config{
		Hosts: []lab.HostConfig{{Name: "hv1", IP: "192.0.2.1"}, {Name: "hv2", IP: "192.0.2.2"}},
		Nodes: []lab.NodeConfig{
			{Name: "app1", Host: "hv1", Interfaces: []lab.InterfaceConfig{{Name: "eth0", Port: "VM-App1", MAC: "02:00:00:00:0a:01", IP: "10.0.0.1/24"}}},
			{Name: "app2", Host: "hv2", Interfaces: []lab.InterfaceConfig{{Name: "eth0", Port: "VM-App2", MAC: "02:00:00:00:0a:02", IP: "10.0.0.2/24"}}},
		},
	}
	for k := 1; k <= 3; k++ {
		cfg.Nodes = append(cfg.Nodes, lab.NodeConfig{Name: fmt.Sprintf("vnf%d", k), Host: "hv1", Kind: "vnf",
			Interfaces: []lab.InterfaceConfig{
				{Name: "eth1", Port: fmt.Sprintf("VNF%d-P%d", k, 2*k), MAC: fmt.Sprintf("02:00:00:00:0b:%d1", k)},
				{Name: "eth2", Port: fmt.Sprintf("VNF%d-P%d", k, 2*k+1), MAC: fmt.Sprintf("02:00:00:00:0b:%d2", k)}}})
	}
	cfg.NB = "cluster"
	step("lab up: a 3-member Chainwire_NB cluster (nb1..nb3, 192.0.2.201-203), hv1 (app1, vnf1..vnf3) and hv2 (app2), each its own ovsdb-server + ovs-vswitchd + chainwired, Geneve underlay 192.0.2.0/24")
	l, err := lab.Up(cfg, lab.Options{})
	if err != nil {
		return err
	}
	defer downOnSignal(l)()
	for _, h := range l.MetricsHints() {
		fmt.Println("  " + h)
	}

	ctl := func(args ...string) error {
		fmt.Printf("$ chainctl %s\n", strings.Join(quoteArgs(args), " "))
		out, err := l.Chainctl(args...)
		fmt.Print(out)
		return err
	}
	step("the database cluster, as its leader sees it")
	if err := lab.Eventually(20*time.Second, func() error {
		_, err := l.NBAppctl(l.NBLeader(), "cluster/status", "Chainwire_NB")
		return err
	}); err != nil {
		return err
	}
	status, _ := l.NBAppctl(l.NBLeader(), "cluster/status", "Chainwire_NB")
	fmt.Print(status)
	step("the agents register their chassis (from --encap-ip)")
	if err := lab.Eventually(20*time.Second, func() error {
		out, err := l.Chainctl("show")
		if err == nil && (!strings.Contains(out, "chassis hv1\n") || !strings.Contains(out, "chassis hv2\n")) {
			err = fmt.Errorf("the agents have not registered yet")
		}
		return err
	}); err != nil {
		return err
	}
	step("the model: switch SW0, ports P1..P8 as in the seed, then the seed's chain commands")
	cmds := [][]string{{"show"}, {"ls-add", "SW0"},
		{"lsp-add", "SW0", "VM-App1", "--tunnel-key", "1"}, {"lsp-set-addresses", "VM-App1", "02:00:00:00:0a:01 10.0.0.1"},
		{"lsp-set-options", "VM-App1", "requested-chassis=hv1"},
		{"lsp-add", "SW0", "VM-App2", "--tunnel-key", "8"}, {"lsp-set-addresses", "VM-App2", "02:00:00:00:0a:02 10.0.0.2"},
		{"lsp-set-options", "VM-App2", "requested-chassis=hv2"}}
	// Each VNF's ports and its pair in one transaction: as ordinary ports
	// they would get flooded frames that the VNF's bridge sends right back.
	for k := 1; k <= 3; k++ {
		in, out := fmt.Sprintf("VNF%d-P%d", k, 2*k), fmt.Sprintf("VNF%d-P%d", k, 2*k+1)
		cmds = append(cmds, []string{"lsp-add", "SW0", in, "--tunnel-key", fmt.Sprint(2 * k), "--",
			"lsp-set-options", in, "requested-chassis=hv1", "--",
			"lsp-add", "SW0", out, "--tunnel-key", fmt.Sprint(2*k + 1), "--",
			"lsp-set-options", out, "requested-chassis=hv1", "--",
			"lsp-pair-add", "SW0", in, out, fmt.Sprintf("PP%d", k)})
	}
	cmds = append(cmds,
		[]string{"lsp-chain-add", "SW0", "PC1"},
		[]string{"lsp-pair-group-add", "PC1", "PG1"}, []string{"lsp-pair-group-port-pair-add", "PG1", "PP1"},
		[]string{"lsp-pair-group-add", "PC1", "PG2"}, []string{"lsp-pair-group-port-pair-add", "PG2", "PP2"},
		[]string{"lsp-pair-group-add", "PC1", "PG3"}, []string{"lsp-pair-group-port-pair-add", "PG3", "PP3"},
		[]string{"--wait", "lsp-chain-classifier", "SW0", "PC1", "VM-App2", "entry-lport", "bi-directional", "PCC1", ""},
		[]string{"show"})
	for _, c := range cmds {
		if err := ctl(c...); err != nil {
			return err
		}
	}

	step("app1 pings app2 while hv1's underlay is captured; every VNF interface counts what it receives")
	before := vnfCounters(l)
	capture, err := l.StartCapture("hv1", "ul0", "udp port 6081")
	if err != nil {
		return err
	}
	if err := ping(l, "app1", "10.0.0.2"); err != nil {
		return err
	}
	lines, err := capture.Stop(true)
	if err != nil {
		return err
	}
	printCounters(before, vnfCounters(l))
	fmt.Println("  requests enter each VNF by its in port (eth1, P2/P4/P6) in order 1, 2, 3;")
	fmt.Println("  replies by its out port (eth2, P7/P5/P3) in order 3, 2, 1.")

	step("the Geneve metadata on hv1's underlay (tcpdump -vvv): VNI 1, option data = ingress << 16 | egress")
	for _, line := range lines {
		if strings.Contains(line, "ICMP echo") {
			fmt.Println(line)
		}
	}
	step("the same capture, decoded by chainwire's geneve package")
	if err := decode(capture.File()); err != nil {
		return err
	}
	fmt.Println("  request: VNF3's out port P7 -> VM-App2 (00070008); reply: VM-App2 -> P7 (00080007),")
	fmt.Println("  then the re-injection to VM-App2's own chassis (00080008), then VM-App2 -> VM-App1 (00080001).")

	for _, h := range []string{"hv1", "hv2"} {
		step(fmt.Sprintf("every service-chain flow on %s, by cookie (ovs-ofctl -O OpenFlow13 dump-flows --names br-int %s)", h, chainCookies))
		out, err := l.Ofctl(h, "dump-flows", "--names", "br-int", chainCookies)
		if err != nil {
			return err
		}
		fmt.Print(out)
	}

	step("delete the classifier: traffic takes the plain path, the VNFs see nothing")
	if err := ctl("--wait", "lsp-chain-classifier-del", "PCC1"); err != nil {
		return err
	}
	before = vnfCounters(l)
	if err := ping(l, "app1", "10.0.0.2"); err != nil {
		return err
	}
	printCounters(before, vnfCounters(l))
	step("health-check the pairs: hv1 probes each VNF every second (docs/chains.md)")
	if err := ctl("--wait", "lsp-pair-set-options", "PP1", "health-check=true", "--", "lsp-pair-set-options", "PP2", "health-check=true",
		"--", "lsp-pair-set-options", "PP3", "health-check=true"); err != nil {
		return err
	}
	var st topology.Status
	if err := lab.Eventually(15*time.Second, func() error {
		var err error
		if st, err = hostStatus(l, "hv1"); err == nil && len(st.Health) != 3 {
			err = fmt.Errorf("hv1 reports the health of %d pairs", len(st.Health))
		}
		for p, h := range st.Health {
			if err == nil && h != topology.HealthUp {
				err = fmt.Errorf("pair %s is %s", p, h)
			}
		}
		return err
	}); err != nil {
		return err
	}
	step("hv1's metrics (" + lab.MetricsURL + " in its namespace: chainwire-lab metrics hv1), checked")
	var series []string
	if err := lab.Eventually(10*time.Second, func() error {
		text, err := l.Scrape("hv1")
		if err != nil {
			return err
		}
		if st, err = hostStatus(l, "hv1"); err != nil {
			return err
		}
		series, err = lab.CheckMetrics(text, lab.MetricsWant{Flows: st.Flows, Pairs: []string{"PP1", "PP2", "PP3"}})
		return err
	}); err != nil {
		return err
	}
	for _, line := range series {
		fmt.Println("  " + line)
	}
	step("agent status")
	return ctl("status")
}

// hostStatus is a chassis' published status (chainctl -o json status).
func hostStatus(l *lab.Lab, chassis string) (topology.Status, error) {
	out, err := l.Chainctl("-o", "json", "status")
	if err != nil {
		return topology.Status{}, err
	}
	var sts []topology.Status
	if err := json.Unmarshal([]byte(out), &sts); err != nil {
		return topology.Status{}, err
	}
	for _, st := range sts {
		if st.Chassis == chassis {
			return st, nil
		}
	}
	return topology.Status{}, fmt.Errorf("chassis %s has published no status", chassis)
}

// chainCookies selects the flows of the chain feature (cookie byte 6).
const chainCookies = "cookie=0xc706000000000000/0xffff000000000000"

// downOnSignal removes the lab when the returned function runs, or when
// the process is interrupted (Ctrl-C, SIGTERM, or output piped into head),
// whichever comes first.
func downOnSignal(l *lab.Lab) func() {
	var once sync.Once
	down := func() {
		once.Do(func() {
			step("lab down")
			if err := l.Down(); err != nil {
				fmt.Fprintln(os.Stderr, "lab down:", err)
			}
		})
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGPIPE)
	go func() {
		<-sigs
		down()
		os.Exit(1)
	}()
	return func() {
		signal.Stop(sigs)
		down()
	}
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " &|") {
			a = fmt.Sprintf("%q", a)
		}
		out[i] = a
	}
	return out
}

func ping(l *lab.Lab, from, to string) error {
	fmt.Printf("$ %s: ping -c 3 %s\n", from, to)
	out, err := l.Exec(from, "ping", "-q", "-c", "3", "-i", "0.2", "-W", "2", to)
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "packets transmitted") {
			fmt.Println("  " + line)
		}
	}
	return err
}

// vnfCounters reads the receive counter of every VNF interface.
func vnfCounters(l *lab.Lab) map[string]int {
	out := map[string]int{}
	for k := 1; k <= 3; k++ {
		for _, ifc := range []string{"eth1", "eth2"} {
			node := fmt.Sprintf("vnf%d", k)
			out[node+"/"+ifc], _ = l.RxPackets(node, ifc)
		}
	}
	return out
}

func printCounters(before, after map[string]int) {
	for k := 1; k <= 3; k++ {
		for _, ifc := range []string{"eth1", "eth2"} {
			key := fmt.Sprintf("vnf%d/%s", k, ifc)
			fmt.Printf("  %-10s received %d frames\n", key, after[key]-before[key])
		}
	}
}

func step(s string) { fmt.Printf("\n==> %s\n", s) }
