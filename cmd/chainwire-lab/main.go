// Command chainwire-lab emulates hypervisors on this machine with network
// namespaces and real Open vSwitch instances (see package e2e/lab).
//
//	chainwire-lab up -f LAB.yaml [--name NAME]   build the lab, start one agent per host
//	chainwire-lab exec [--name NAME] MEMBER -- CMD...   run CMD in a VM, VNF or host namespace
//	chainwire-lab env [--name NAME]              print CHAINWIRE_DB for chainctl
//	chainwire-lab down [--name NAME]             stop everything and remove it
//	chainwire-lab demo                           the end-to-end demonstration (make demo)
//	chainwire-lab decode FILE.pcap               decode the Geneve frames of an underlay capture
//	chainwire-lab bench [--render F] [--inputs F] [--out F]   measure programming and data plane (make bench)
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/chainwire/chainwire/e2e/lab"
	"github.com/chainwire/chainwire/geneve"
)

const stateRoot = "/run/chainwire-lab"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "chainwire-lab:", err)
		os.Exit(1)
	}
}

func usage() error {
	return errors.New("usage: chainwire-lab up -f LAB.yaml | exec MEMBER -- CMD... | env | down | demo [router] | decode FILE.pcap | bench | dhcp-flood IFACE RATE SECONDS | dhcp-rtt IFACE N | tcp-echo ADDR | tcp-conns ADDR N | tcp-streams ADDR N SECONDS | metrics HOST | get URL  [--name NAME] [--base DIR]")
}

func run(args []string) error {
	if len(args) == 0 {
		return usage()
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	name := fs.String("name", "default", "lab name (several labs can run side by side)")
	file := fs.String("f", "", "lab description (YAML)")
	baseFlag := fs.String("base", "", "state directory (default "+stateRoot+"/NAME; a test lab's is in its log)")
	renderFile := fs.String("render", "", "bench: output of go test -bench BenchmarkRender to include")
	inputsFile := fs.String("inputs", "", "bench: output of go test -bench for the input-cost benchmarks to include")
	out := fs.String("out", "", "bench: write the report here")
	runs := fs.Int("runs", 5, "bench: runs per measurement (the median is reported)")
	only := fs.String("only", "", "bench: run only these sections (comma-separated: programming, nb, ovn, dataplane, packetin, vnf, router)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	base := filepath.Join(stateRoot, *name)
	if *baseFlag != "" {
		base = *baseFlag
	}
	switch args[0] {
	case "up":
		if *file == "" {
			return errors.New("up needs -f LAB.yaml")
		}
		if _, err := os.Stat(filepath.Join(base, "state.json")); err == nil {
			return fmt.Errorf("lab %q is already up (chainwire-lab down --name %s)", *name, *name)
		}
		cfg, err := lab.LoadConfig(*file)
		if err != nil {
			return err
		}
		l, err := lab.Up(cfg, lab.Options{Base: base})
		if err != nil {
			return err
		}
		fmt.Printf("lab %q is up; its model is %s\n", *name, l.DB)
		for i, h := range l.MetricsHints() {
			fmt.Printf("%s (chainwire-lab metrics %s --name %s)\n", h, l.Config.Hosts[i].Name, *name)
		}
		fmt.Printf("export CHAINWIRE_DB=%s\n", l.DB)
		return nil
	case "metrics": // HOST: its agent's metrics
		if fs.NArg() != 1 {
			return usage()
		}
		l, err := lab.Load(base)
		if err != nil {
			return fmt.Errorf("lab %q: %w", *name, err)
		}
		out, err := l.Scrape(fs.Arg(0))
		fmt.Print(out)
		return err
	case "get": // URL: prints the body (run inside a namespace by metrics)
		if fs.NArg() != 1 {
			return usage()
		}
		return httpGet(fs.Arg(0))
	case "exec":
		rest := fs.Args()
		if len(rest) > 1 && rest[1] == "--" {
			rest = append(rest[:1], rest[2:]...)
		}
		if len(rest) < 2 {
			return usage()
		}
		l, err := lab.Load(base)
		if err != nil {
			return fmt.Errorf("lab %q: %w", *name, err)
		}
		cmd := l.Command(rest[0], rest[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				os.Exit(ee.ExitCode())
			}
			return err
		}
		return nil
	case "env":
		l, err := lab.Load(base)
		if err != nil {
			return fmt.Errorf("lab %q: %w", *name, err)
		}
		fmt.Printf("export CHAINWIRE_DB=%s\n", l.DB)
		return nil
	case "down":
		l, err := lab.Load(base)
		if err != nil {
			return fmt.Errorf("lab %q: %w", *name, err)
		}
		return l.Down()
	case "demo": // [router]
		switch fs.Arg(0) {
		case "":
			return demo()
		case "router":
			return demoRouter()
		}
		return usage()
	case "bench":
		return bench(*renderFile, *inputsFile, *out, *runs, *only)
	case "decode":
		if fs.NArg() != 1 {
			return usage()
		}
		return decode(fs.Arg(0))
	case "dhcp-flood", "dhcp-rtt":
		return dhcpLoad(args[0], fs.Args())
	case "tcp-echo": // ADDR
		if fs.NArg() != 1 {
			return usage()
		}
		return lab.TCPEcho(fs.Arg(0))
	case "tcp-streams": // ADDR N SECONDS: prints each connection's echoes and longest gap (JSON)
		if fs.NArg() != 3 {
			return usage()
		}
		n, err := strconv.Atoi(fs.Arg(1))
		secs, err2 := strconv.ParseFloat(fs.Arg(2), 64)
		if err != nil || err2 != nil || n < 1 || secs <= 0 {
			return usage()
		}
		streams, err := lab.TCPStreams(fs.Arg(0), n, time.Duration(secs*float64(time.Second)), 10*time.Millisecond)
		if err != nil {
			return err
		}
		return json.NewEncoder(os.Stdout).Encode(streams)
	case "tcp-conns": // ADDR N: prints connections per second
		if fs.NArg() != 2 {
			return usage()
		}
		n, err := strconv.Atoi(fs.Arg(1))
		if err != nil {
			return err
		}
		rate, err := lab.TCPConnRate(fs.Arg(0), n)
		if err == nil {
			fmt.Printf("%.0f\n", rate)
		}
		return err
	}
	return usage()
}

// dhcpLoad runs inside a VM's namespace: dhcp-flood IFACE RATE SECONDS
// sends DHCPDISCOVERs at RATE per second; dhcp-rtt IFACE N times N
// DISCOVERs to their OFFERs and prints "answered N p50 µs p99 µs".
func dhcpLoad(cmd string, args []string) error {
	if len(args) != 2 && len(args) != 3 {
		return usage()
	}
	n, err := strconv.Atoi(args[1])
	if err != nil {
		return err
	}
	if cmd == "dhcp-rtt" {
		rtts, err := lab.DHCPRoundTrips(args[0], n)
		if err != nil {
			return err
		}
		fmt.Printf("answered %d p50 %d p99 %d\n", len(rtts), lab.Percentile(rtts, 0.5).Microseconds(), lab.Percentile(rtts, 0.99).Microseconds())
		return nil
	}
	if len(args) != 3 {
		return usage()
	}
	secs, err := strconv.Atoi(args[2])
	if err != nil {
		return err
	}
	sent, err := lab.DHCPFlood(args[0], n, time.Duration(secs)*time.Second)
	fmt.Printf("sent %d\n", sent)
	return err
}

// decode prints OVN's metadata of every Geneve frame in a pcap file.
func decode(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	frames, err := geneve.ReadPcap(f)
	if err != nil {
		return err
	}
	for i, fr := range frames {
		p, err := geneve.DecodeFrame(fr)
		if err != nil {
			fmt.Printf("%d: not OVN Geneve: %v\n", i+1, err)
			continue
		}
		fmt.Printf("%d: %s\n", i+1, p)
	}
	return nil
}

// httpGet prints a URL's body; anything but 200 OK is an error.
func httpGet(url string) error {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	_, err = io.Copy(os.Stdout, resp.Body)
	return err
}
