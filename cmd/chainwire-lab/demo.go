package main

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/chainwire/chainwire/e2e/lab"
)

// demo builds one emulated hypervisor with three VMs on switch A and one
// on switch B, configures it with chainctl, and prints the evidence:
// pings, isolation, a spoofed MAC dropped in ls_in_port_sec_l2, and the
// named flow tables.
func demo() error {
	cfg := &lab.Config{Hosts: []lab.HostConfig{{Name: "hv1", IP: "192.0.2.1"}}}
	for i, p := range []string{"a1", "a2", "a3", "b1"} {
		cfg.Nodes = append(cfg.Nodes, lab.NodeConfig{Name: fmt.Sprintf("vm%d", i+1), Host: "hv1",
			Interfaces: []lab.InterfaceConfig{{Name: "eth0", Port: p, MAC: fmt.Sprintf("02:00:00:00:00:%02x", i+1),
				IP: fmt.Sprintf("10.0.0.%d/24", i+1)}}})
	}
	step("lab up: hypervisor hv1 (own ovsdb-server + ovs-vswitchd, userspace datapath), vm1..vm4")
	l, err := lab.Up(cfg, lab.Options{})
	if err != nil {
		return err
	}
	down := func() {
		step("lab down")
		if err := l.Down(); err != nil {
			fmt.Fprintln(os.Stderr, "lab down:", err)
		}
	}
	defer down()
	// Interrupted (Ctrl-C, or output piped into head): still clean up.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGPIPE)
	go func() {
		<-sigs
		down()
		os.Exit(1)
	}()
	ctl := func(args ...string) error {
		fmt.Printf("$ chainctl %s\n", strings.Join(args, " "))
		out, err := l.Chainctl(args...)
		fmt.Print(out)
		return err
	}
	step("configure the model with chainctl")
	cmds := [][]string{{"chassis-add", "hv1", "geneve", "192.0.2.1"}, {"ls-add", "A"}, {"ls-add", "B"}}
	for i, p := range []string{"a1", "a2", "a3", "b1"} {
		sw := "A"
		if p == "b1" {
			sw = "B"
		}
		mac := fmt.Sprintf("02:00:00:00:00:%02x", i+1)
		cmds = append(cmds, []string{"lsp-add", sw, p},
			[]string{"lsp-set-addresses", p, fmt.Sprintf("%s 10.0.0.%d", mac, i+1)},
			[]string{"lsp-set-port-security", p, mac})
	}
	cmds = append(cmds, []string{"--wait", "lsp-set-options", "a1", "requested-chassis=hv1"}, []string{"show"})
	for _, c := range cmds {
		if err := ctl(c...); err != nil {
			return err
		}
	}
	ping := func(from, to string) error {
		fmt.Printf("$ %s: ping -c 3 %s\n", from, to)
		out, err := l.Exec(from, "ping", "-q", "-c", "3", "-i", "0.2", "-W", "1", to)
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "packets transmitted") {
				fmt.Println("  " + line)
			}
		}
		return err
	}
	step("VMs on switch A reach each other")
	for _, p := range [][2]string{{"vm1", "10.0.0.2"}, {"vm2", "10.0.0.3"}, {"vm3", "10.0.0.1"}} {
		if err := ping(p[0], p[1]); err != nil {
			return err
		}
	}
	step("switch B is isolated from switch A (same subnet, different logical switch)")
	if ping("vm1", "10.0.0.4") == nil {
		return fmt.Errorf("vm1 reached vm4 across switches")
	}
	step("vm1 spoofs its source MAC: ls_in_port_sec_l2 drops it")
	l.Exec("vm1", "ip", "link", "set", "eth0", "address", "02:00:00:00:00:99")
	if ping("vm1", "10.0.0.2") == nil {
		return fmt.Errorf("the spoofed frames got through")
	}
	out, err := l.Ofctl("hv1", "dump-flows", "--names", "br-int", "table=ls_in_port_sec_l2")
	if err != nil {
		return err
	}
	fmt.Print(out)
	step("the named tables on hv1 (ovs-ofctl -O OpenFlow13 dump-flows --names br-int)")
	out, err = l.Ofctl("hv1", "dump-flows", "--names", "br-int")
	if err != nil {
		return err
	}
	fmt.Print(out)
	step("agent status")
	return ctl("status")
}

func step(s string) { fmt.Printf("\n==> %s\n", s) }
