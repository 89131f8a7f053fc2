package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chainwire/chainwire/e2e/lab"
	"github.com/chainwire/chainwire/pipeline"
)

// dhcpLab: two VMs on hv1 with no address, c1 (port c1, 10.0.0.11 and
// fd00::11 in its addresses) and c2 (port c2, no DHCP options), on switch
// A.
func dhcpLab(t *testing.T) *lab.Lab {
	t.Helper()
	node := func(name, mac string) lab.NodeConfig {
		return lab.NodeConfig{Name: name, Host: "hv1", Interfaces: []lab.InterfaceConfig{{Name: "eth0", Port: name, MAC: mac}}}
	}
	l := up(t, &lab.Config{Hosts: []lab.HostConfig{{Name: "hv1", IP: "192.0.2.1"}},
		Nodes: []lab.NodeConfig{node("c1", "02:00:00:00:00:11"), node("c2", "02:00:00:00:00:12")}})
	chainctl(t, l, "chassis-add", "hv1", "geneve", "192.0.2.1")
	chainctl(t, l, "ls-add", "A")
	chainctl(t, l, "lsp-add", "A", "c1", "--", "lsp-set-addresses", "c1", "02:00:00:00:00:11 10.0.0.11 fd00::11")
	chainctl(t, l, "--wait", "lsp-add", "A", "c2", "--", "lsp-set-addresses", "c2", "02:00:00:00:00:12 10.0.0.12")
	return l
}

// dhclientScript logs what dhclient hands its script, one line per call,
// to the file the test names, and configures an IPv4 lease (so that
// renewals go by unicast). dhclient gives its script no environment of
// ours.
const dhclientScript = `#!/bin/sh
echo "$reason ip=$new_ip_address mask=$new_subnet_mask routers=$new_routers dns=$new_domain_name_servers lease=$new_dhcp_lease_time ip6=$new_ip6_address/$new_ip6_prefixlen dns6=$new_dhcp6_name_servers" >> %s
case "$reason" in BOUND) ip addr add "$new_ip_address/24" dev "$interface" ;; esac
exit 0
`

// dhclient runs Debian's dhclient in member (-4 or -6) with the logging
// script until the test ends; it returns the paths of the script's log
// and of dhclient's own output.
func dhclient(t *testing.T, l *lab.Lab, member, family string) (log, output string) {
	t.Helper()
	dir := t.TempDir()
	script := filepath.Join(dir, "script")
	log = filepath.Join(dir, "log")
	if err := os.WriteFile(script, []byte(fmt.Sprintf(dhclientScript, log)), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := l.Command(member, "dhclient", family, "-d", "-v", "-sf", script, "-lf", filepath.Join(dir, "leases"),
		"-pf", filepath.Join(dir, "pid"), "eth0")
	out, _ := os.Create(filepath.Join(dir, "output"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(out.Name())
			t.Logf("dhclient %s in %s:\n%s", family, member, b)
		}
	})
	return log, out.Name()
}

// waitLog waits for the n-th line of a log that starts with prefix.
func waitLog(t *testing.T, log, prefix string, n int, timeout time.Duration) string {
	t.Helper()
	var line string
	err := lab.Eventually(timeout, func() error {
		b, _ := os.ReadFile(log)
		seen := 0
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, prefix) {
				if seen++; seen == n {
					line = l
					return nil
				}
			}
		}
		return fmt.Errorf("%d of %d lines %q in %s:\n%s", seen, n, prefix, log, b)
	})
	if err != nil {
		t.Fatal(err)
	}
	return line
}

// A real DHCP client gets its lease from chainwired: address, prefix,
// router, DNS server and lease time; it renews the lease at half its
// time; a port without DHCP options gets no answer. DHCPv6 likewise
// (address and DNS server).
func TestDHCPClients(t *testing.T) {
	l := dhcpLab(t)
	id, err := l.Chainctl("dhcp-options-create", "10.0.0.0/24", "server_id=10.0.0.254", "server_mac=02:00:00:00:00:fe",
		"lease_time=6", "router=10.0.0.1", "dns_server=10.0.0.53")
	if err != nil {
		t.Fatal(err)
	}
	id6, err := l.Chainctl("dhcp-options-create", "fd00::/64", "server_id=02:00:00:00:00:fe", "dns_server=fd00::53")
	if err != nil {
		t.Fatal(err)
	}
	chainctl(t, l, "lsp-set-dhcpv4-options", "c1", strings.TrimSpace(id), "--",
		"--wait", "lsp-set-dhcpv6-options", "c1", strings.TrimSpace(id6))
	waitGeneration(t, l, "hv1")

	log, _ := dhclient(t, l, "c1", "-4")
	bound := waitLog(t, log, "BOUND ", 1, 10*time.Second)
	for _, want := range []string{"ip=10.0.0.11 ", "mask=255.255.255.0 ", "routers=10.0.0.1 ", "dns=10.0.0.53 ", "lease=6 "} {
		if !strings.Contains(bound, want) {
			t.Errorf("lease %q lacks %q", bound, want)
		}
	}
	// T1 is half the lease: a renewal within 3 s, by unicast to the
	// server (its ARP answered on the port's chassis).
	start := time.Now()
	if renew := waitLog(t, log, "RENEW ", 1, 8*time.Second); !strings.Contains(renew, "ip=10.0.0.11 ") {
		t.Errorf("renewal %q", renew)
	}
	t.Logf("renewed %s after the lease", time.Since(start).Round(100*time.Millisecond))

	// c2 has no DHCP options: its DISCOVERs go unanswered (it sends a
	// second when the first got nothing).
	log2, out2 := dhclient(t, l, "c2", "-4")
	waitLog(t, out2, "DHCPDISCOVER", 2, 15*time.Second)
	if b, _ := os.ReadFile(log2); strings.Contains(string(b), "BOUND") {
		t.Errorf("c2, without DHCP options, got a lease: %s", b)
	}

	for _, cmd := range [][]string{{"sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0"},
		{"sysctl", "-qw", "net.ipv6.conf.eth0.disable_ipv6=0"}} {
		if _, err := l.Exec("c1", cmd...); err != nil {
			t.Fatal(err)
		}
	}
	log6, _ := dhclient(t, l, "c1", "-6")
	bound6 := waitLog(t, log6, "BOUND6 ", 1, 15*time.Second)
	for _, want := range []string{"ip6=fd00::11/", "dns6=fd00::53"} {
		if !strings.Contains(bound6, want) {
			t.Errorf("DHCPv6 lease %q lacks %q", bound6, want)
		}
	}
}

// dig from a VM: dns-add names resolve to A and AAAA and back (PTR),
// answered by chainwired on the VM's chassis; an unknown name reaches the
// resolver VM it was sent to, untouched.
func TestDNSLookups(t *testing.T) {
	l := up(t, hosts(2, vm("vm1", "hv1", "p1", 1), vm("vm2", "hv2", "p2", 2)))
	registerChassis(t, l)
	chainctl(t, l, "ls-add", "sw0")
	addPort(t, l, "sw0", "p1", "1", "hv1", 1)
	addPort(t, l, "sw0", "p2", "2", "hv2", 2)
	serve(t, l, "vm2", "resolver", "10.0.0.2", "10.0.99.99")
	chainctl(t, l, "dns-add", "sw0", "web.example.org", "10.0.0.80", "fd00::80", "--",
		"--wait", "dns-add", "sw0", "vm1", "10.0.0.1")
	dig := func(args ...string) string {
		t.Helper()
		out, err := l.Exec("vm1", append([]string{"dig", "@10.0.0.2", "+short", "+time=2", "+tries=1"}, args...)...)
		if err != nil {
			t.Fatalf("dig %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"web.example.org", "A"}, "10.0.0.80"},
		{[]string{"WEB.example.org", "AAAA"}, "fd00::80"},
		{[]string{"-x", "10.0.0.80"}, "web.example.org."},
		{[]string{"-x", "fd00::80"}, "web.example.org."},
		{[]string{"vm1", "A"}, "10.0.0.1"},
		{[]string{"unknown.example.org", "A"}, "10.0.99.99"}, // the resolver's answer
		{[]string{"vm1", "AAAA"}, ""},                        // a known name without such an address: the resolver's empty answer
	} {
		if got := dig(c.args...); got != c.want {
			t.Errorf("dig %v = %q, want %q", c.args, got, c.want)
		}
	}
}

var bandDrops = regexp.MustCompile(`0: packet_count:(\d+)`)

// A VM's flood of DHCPDISCOVERs (10,000/s for 4 s) meets the controller
// meter: the datapath drops what exceeds the packet-in rate (the meter's
// band counts it), chainwired answers the rest, model changes made during
// the flood are programmed, the agent's memory stays bounded, and the VM
// is answered normally once the flood stops.
func TestDHCPFloodIsContained(t *testing.T) {
	l := dhcpLab(t)
	id, err := l.Chainctl("dhcp-options-create", "10.0.0.0/24", "server_id=10.0.0.254", "server_mac=02:00:00:00:00:fe", "lease_time=3600")
	if err != nil {
		t.Fatal(err)
	}
	chainctl(t, l, "--wait", "lsp-set-dhcpv4-options", "c1", strings.TrimSpace(id))
	pid := l.AgentPID("hv1")
	rss0 := rssKB(t, pid)
	flood := l.Command("c1", filepath.Join(binDir, "chainwire-lab"), "dhcp-flood", "eth0", "10000", "4")
	var out, errs strings.Builder
	flood.Stdout, flood.Stderr = &out, &errs
	if err := flood.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if flood.ProcessState == nil {
			flood.Process.Kill()
			flood.Wait()
		}
	})
	for i := 0; i < 5; i++ { // each waits until hv1 has programmed it
		chainctl(t, l, "--wait", "lsp-set-addresses", "c2", fmt.Sprintf("02:00:00:00:00:12 10.0.0.%d", 100+i))
	}
	if err := flood.Wait(); err != nil {
		t.Fatalf("flood: %v: %s%s", err, out.String(), errs.String())
	}
	var sent int
	fmt.Sscanf(out.String(), "sent %d", &sent)
	stats, err := l.Ofctl("hv1", "meter-stats", "br-int", fmt.Sprintf("meter=%d", pipeline.ControllerMeterID))
	if err != nil {
		t.Fatal(err)
	}
	m := bandDrops.FindStringSubmatch(stats)
	if m == nil {
		t.Fatalf("no band statistics in:\n%s", stats)
	}
	dropped, _ := strconv.Atoi(m[1])
	t.Logf("%d DISCOVERs sent, %d dropped by the controller meter", sent, dropped)
	if sent < 30000 || dropped < sent/2 {
		t.Errorf("%d DISCOVERs sent, %d dropped by the meter: want 30000 sent and most dropped", sent, dropped)
	}
	if grown := rssKB(t, pid) - rss0; grown > 20<<10 {
		t.Errorf("chainwired's memory grew by %d kB during the flood", grown)
	}
	rtt, err := l.Exec("c1", filepath.Join(binDir, "chainwire-lab"), "dhcp-rtt", "eth0", "10")
	if err != nil || !strings.HasPrefix(rtt, "answered 10 ") {
		t.Errorf("after the flood: %q %v", rtt, err)
	}
}

func rssKB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return kb
		}
	}
	t.Fatal("no VmRSS")
	return 0
}
