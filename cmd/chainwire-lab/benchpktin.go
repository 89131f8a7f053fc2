package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/chainwire/chainwire/e2e/lab"
	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/topology"
)

// The packet-in benchmark: hv1 with VMs c1 (DHCPv4 options) and c2 and a
// VNF on one switch. DHCP answers timed from DISCOVER to OFFER inside c1;
// chain changes (a classifier on c2 comes or goes) timed in the agent
// (the change's arrival to its bundle answered), alone and while c1
// floods 10,000 DISCOVERs per second.

const (
	benchRTTs    = 500
	benchChanges = 30
	floodRate    = 10000
)

type pktinReport struct {
	rttAnswered          int
	rttP50, rttP99       time.Duration
	quiet, flooded       []time.Duration // change lags
	floodSent, floodDrop int
}

func (r *report) packetInBench() error {
	node := func(name, mac string) lab.NodeConfig {
		return lab.NodeConfig{Name: name, Host: "hv1", Interfaces: []lab.InterfaceConfig{{Name: "eth0", Port: name, MAC: mac}}}
	}
	vnf := lab.NodeConfig{Name: "vnf", Host: "hv1", Kind: "vnf", Interfaces: []lab.InterfaceConfig{
		{Name: "eth1", Port: "v-in", MAC: "02:00:00:00:00:21"}, {Name: "eth2", Port: "v-out", MAC: "02:00:00:00:00:22"}}}
	l, err := lab.Up(&lab.Config{Hosts: []lab.HostConfig{{Name: "hv1", IP: "192.0.2.1"}},
		Nodes: []lab.NodeConfig{node("c1", "02:00:00:00:00:11"), node("c2", "02:00:00:00:00:12"), vnf}}, lab.Options{})
	if err != nil {
		return err
	}
	defer downOnSignal(l)()
	id := ""
	for _, c := range [][]string{{"chassis-add", "hv1", "geneve", "192.0.2.1"}, {"ls-add", "A"},
		{"lsp-add", "A", "c1", "--", "lsp-set-addresses", "c1", "02:00:00:00:00:11 10.0.0.11"},
		{"lsp-add", "A", "c2", "--", "lsp-set-addresses", "c2", "02:00:00:00:00:12 10.0.0.12"},
		{"lsp-add", "A", "v-in", "--", "lsp-add", "A", "v-out", "--", "lsp-pair-add", "A", "v-in", "v-out", "pp", "--",
			"lsp-chain-add", "A", "pc", "--", "lsp-pair-group-add", "pc", "pg", "--", "lsp-pair-group-port-pair-add", "pg", "pp"},
		{"dhcp-options-create", "10.0.0.0/24", "server_id=10.0.0.254", "server_mac=02:00:00:00:00:fe", "lease_time=3600"}} {
		out, err := l.Chainctl(c...)
		if err != nil {
			return err
		}
		id = strings.TrimSpace(out)
	}
	if _, err := l.Chainctl("--wait", "lsp-set-dhcpv4-options", "c1", id); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	pr := &pktinReport{}
	r.pktin = pr
	out, err := l.Exec("c1", self, "dhcp-rtt", "eth0", strconv.Itoa(benchRTTs))
	if err != nil {
		return err
	}
	var p50, p99 int64
	if _, err := fmt.Sscanf(out, "answered %d p50 %d p99 %d", &pr.rttAnswered, &p50, &p99); err != nil {
		return fmt.Errorf("dhcp-rtt: %q: %v", out, err)
	}
	pr.rttP50, pr.rttP99 = time.Duration(p50)*time.Microsecond, time.Duration(p99)*time.Microsecond

	if pr.quiet, err = changeLags(l, benchChanges, 0); err != nil {
		return err
	}
	flood := l.Command("c1", self, "dhcp-flood", "eth0", strconv.Itoa(floodRate), "8")
	var fout strings.Builder
	flood.Stdout = &fout
	if err := flood.Start(); err != nil {
		return err
	}
	lags, err := changeLags(l, benchChanges, benchChanges)
	if werr := flood.Wait(); err == nil && werr != nil {
		err = fmt.Errorf("dhcp-flood: %v", werr)
	}
	if err != nil {
		return err
	}
	pr.flooded = lags
	fmt.Sscanf(fout.String(), "sent %d", &pr.floodSent)
	stats, err := l.Ofctl("hv1", "meter-stats", "br-int", fmt.Sprintf("meter=%d", pipeline.ControllerMeterID))
	if err != nil {
		return err
	}
	if m := regexp.MustCompile(`0: packet_count:(\d+)`).FindStringSubmatch(stats); m != nil {
		pr.floodDrop, _ = strconv.Atoi(m[1])
	}
	fmt.Printf("  DHCP DISCOVER to OFFER: %d of %d answered, p50 %s, p99 %s; a change's lag: quiet median %s, under %d/s DISCOVERs median %s (%d sent, %d dropped by the meter)\n",
		pr.rttAnswered, benchRTTs, pr.rttP50, pr.rttP99, medianDur(pr.quiet), floodRate, medianDur(pr.flooded), pr.floodSent, pr.floodDrop)
	return nil
}

// changeLags makes n chain changes (a classifier on c2 added, then
// deleted, its match numbered from offset), each once the last is
// programmed, and returns the agent's lag for each: from the change's
// arrival to its bundle answered.
func changeLags(l *lab.Lab, n, offset int) ([]time.Duration, error) {
	logPath := filepath.Join(l.RunDir("hv1"), "chainwired.log")
	logged := &logFollower{path: logPath}
	store := topology.NewFileStore(l.DB)
	var gens []uint64
	for i := 0; i < n; i++ {
		change := []string{"lsp-chain-classifier-del", "cls"}
		if i%2 == 0 {
			change = []string{"lsp-chain-classifier", "A", "pc", "c2", "entry-lport", "bi-directional", "cls",
				fmt.Sprintf("ip4 && tcp.dst == %d", 1000+offset+i)}
		}
		if _, err := l.Chainctl(change...); err != nil {
			return nil, err
		}
		m, err := store.Snapshot()
		if err != nil {
			return nil, err
		}
		if err := logged.waitBundle(m.Generation); err != nil {
			return nil, err
		}
		gens = append(gens, m.Generation)
	}
	applied, err := bundleTimes(logPath)
	if err != nil {
		return nil, err
	}
	var lags []time.Duration
	for _, g := range gens {
		lags = append(lags, applied[g].lag)
	}
	return lags, nil
}

func (r *report) pktinMarkdown(b *strings.Builder) {
	p := r.pktin
	w := func(format string, a ...any) { fmt.Fprintf(b, format+"\n", a...) }
	w("## 8. Packet-ins")
	w("")
	w("hv1 with VMs c1 (DHCPv4 options), c2 and a VNF on one switch. DHCP: %d DISCOVERs sent one at a time from c1's", benchRTTs)
	w("namespace (a packet socket), each timed until its OFFER arrives there: through OVS, the controller meter,")
	w("chainwired and its packet-out. Changes: %d chain changes (a classifier on c2 added, deleted), each once the last is programmed,", benchChanges)
	w("timed in the agent from the change's arrival to its bundle answered; alone, then while c1 floods %d", floodRate)
	w("DISCOVERs per second (the controller meter passes %d/s to chainwired and drops the rest in the datapath).", pipeline.DefaultPacketInRate)
	w("")
	w("| what | p50 | p99 |")
	w("|---|---|---|")
	w("| DHCP DISCOVER to OFFER (%d of %d answered) | %s | %s |", p.rttAnswered, benchRTTs, roundDur(p.rttP50), roundDur(p.rttP99))
	w("| a chain change, programmed, quiet | %s | %s |", roundDur(medianDur(p.quiet)), roundDur(lab.Percentile(p.quiet, 0.99)))
	w("| a chain change, programmed, under the flood | %s | %s |", roundDur(medianDur(p.flooded)), roundDur(lab.Percentile(p.flooded, 0.99)))
	w("")
	w("The flood: %d DISCOVERs sent, %d dropped by the controller meter's band.", p.floodSent, p.floodDrop)
}
