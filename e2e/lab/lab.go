package lab

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Options say where a lab lives and which binaries it runs.
type Options struct {
	Base   string // state directory (created); default a new dir under /tmp
	BinDir string // holds chainwired and chainctl; default: beside this executable
	Prefix string // namespace prefix; default "cw" + 4 random hex digits
	// AgentArgs are extra flags for every chainwired.
	AgentArgs []string
	// DummyPorts starts ovs-vswitchd with --enable-dummy, so benchmarks
	// can bind thousands of ports without thousands of veths.
	DummyPorts bool
}

// Lab is a running lab. Its State is saved to Base/state.json after every
// step, so Down (even from another process) removes everything.
type Lab struct {
	State
	mu      sync.Mutex
	agents  map[string]*exec.Cmd // agents started by this process
	waited  map[string]chan struct{}
	dummies int
}

// State is what Down needs: every namespace and PID the lab created.
type State struct {
	Config     Config         `json:"config"`
	Prefix     string         `json:"prefix"`
	Base       string         `json:"base"`
	BinDir     string         `json:"bin_dir"`
	DB         string         `json:"db"`
	Namespaces []string       `json:"namespaces"`
	PIDs       map[string]int `json:"pids"` // "h1/ovs-vswitchd" -> pid
	// NB lists the database servers (none with a model file); AgentDB is
	// what the agents' --db names then (the members over the underlay).
	NB         []NBMember `json:"nb,omitempty"`
	AgentDB    string     `json:"agent_db,omitempty"`
	AgentArgs  []string   `json:"agent_args,omitempty"`
	DummyPorts bool       `json:"dummy_ports,omitempty"`
}

const (
	underlayMTU = 1600 // Geneve adds 58 bytes; 1500-byte inner frames must fit
	schema      = "/usr/share/openvswitch/vswitch.ovsschema"
)

func randomPrefix() string {
	b := make([]byte, 2)
	rand.Read(b)
	return "cw" + hex.EncodeToString(b)
}

// Up builds the lab and starts one agent per host. On failure it removes
// whatever it had created.
func Up(cfg *Config, opt Options) (l *Lab, err error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if opt.Prefix == "" {
		opt.Prefix = randomPrefix()
	}
	if opt.Base == "" {
		if opt.Base, err = os.MkdirTemp("", "cwlab"); err != nil {
			return nil, err
		}
	}
	if opt.BinDir == "" {
		self, _ := os.Executable()
		opt.BinDir = filepath.Dir(self)
	}
	if err := os.MkdirAll(opt.Base, 0o755); err != nil {
		return nil, err
	}
	l = &Lab{State: State{Config: *cfg, Prefix: opt.Prefix, Base: opt.Base, BinDir: opt.BinDir,
		DB: filepath.Join(opt.Base, "nb.json"), PIDs: map[string]int{}, AgentArgs: opt.AgentArgs, DummyPorts: opt.DummyPorts}}
	defer func() {
		if err != nil {
			if derr := l.Down(); derr != nil {
				err = fmt.Errorf("%w (and cleanup failed: %v)", err, derr)
			}
			l = nil
		}
	}()
	if err := l.build(); err != nil {
		return l, err
	}
	return l, nil
}

func (l *Lab) build() error {
	ul := l.ns("ul")
	if err := l.addNamespace(ul); err != nil {
		return err
	}
	if err := run("ip", "-n", ul, "link", "add", "br0", "type", "bridge"); err != nil {
		return err
	}
	if err := run("ip", "-n", ul, "link", "set", "br0", "up"); err != nil {
		return err
	}
	if err := l.buildNB(); err != nil {
		return fmt.Errorf("northbound database: %w", err)
	}
	for _, h := range l.Config.Hosts {
		if err := l.buildHost(h); err != nil {
			return fmt.Errorf("host %s: %w", h.Name, err)
		}
	}
	for _, n := range l.Config.Nodes {
		if err := l.buildNode(n); err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
	}
	for _, h := range l.Config.Hosts {
		if err := l.StartAgent(h.Name); err != nil {
			return err
		}
	}
	if len(l.Config.Hosts) > 1 {
		if err := l.warmUnderlay(); err != nil {
			return err
		}
	}
	return l.save()
}

// ns is the namespace name of a lab member.
func (l *Lab) ns(member string) string { return l.Prefix + "-" + member }

// RunDir is a host's OVS run directory (sockets, pidfiles, logs).
func (l *Lab) RunDir(host string) string { return filepath.Join(l.Base, host) }

// OVSDB is a host's OVSDB socket target.
func (l *Lab) OVSDB(host string) string { return "unix:" + filepath.Join(l.RunDir(host), "db.sock") }

func (l *Lab) addNamespace(name string) error {
	if err := run("ip", "netns", "add", name); err != nil {
		return err
	}
	l.Namespaces = append(l.Namespaces, name)
	if err := l.save(); err != nil {
		return err
	}
	if err := run("ip", "-n", name, "link", "set", "lo", "up"); err != nil {
		return err
	}
	// No IPv6 chatter (RS, MLD, DAD) in captures and counters.
	return run("ip", "netns", "exec", name, "sysctl", "-qw",
		"net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
}

func (l *Lab) buildHost(h HostConfig) error {
	ns, r := l.ns(h.Name), l.RunDir(h.Name)
	if err := l.addNamespace(ns); err != nil {
		return err
	}
	if err := os.MkdirAll(r, 0o755); err != nil {
		return err
	}
	// Underlay: veth from the host to the shared bridge.
	if err := run("ip", "link", "add", "ul0", "netns", ns, "mtu", fmt.Sprint(underlayMTU), "type", "veth",
		"peer", "name", "h-"+h.Name, "netns", l.ns("ul"), "mtu", fmt.Sprint(underlayMTU)); err != nil {
		return err
	}
	for _, c := range [][]string{
		{"ip", "-n", l.ns("ul"), "link", "set", "h-" + h.Name, "master", "br0"},
		{"ip", "-n", l.ns("ul"), "link", "set", "h-" + h.Name, "up"},
		{"ip", "-n", ns, "link", "set", "ul0", "up"},
		{"ovsdb-tool", "create", filepath.Join(r, "conf.db"), schema},
	} {
		if err := run(c...); err != nil {
			return err
		}
	}
	if err := l.daemon(h.Name, "ovsdb-server", filepath.Join(r, "conf.db"), "--remote=punix:"+filepath.Join(r, "db.sock")); err != nil {
		return err
	}
	if err := l.Vsctl(h.Name, "--no-wait", "init", "--", "set", "Open_vSwitch", ".", "external_ids:system-id="+h.Name); err != nil {
		return err
	}
	vswitchd := []string{"unix:" + filepath.Join(r, "db.sock")}
	if l.DummyPorts {
		vswitchd = append(vswitchd, "--enable-dummy")
	}
	if err := l.daemon(h.Name, "ovs-vswitchd", vswitchd...); err != nil {
		return err
	}
	// br-phy owns the underlay NIC; its internal port carries the tunnel IP,
	// so userspace tunnelling routes Geneve through it. br-int is created
	// here (rather than by the agent) so VM ports can be attached first.
	if err := l.Vsctl(h.Name, "add-br", "br-phy", "--", "set", "bridge", "br-phy", "datapath_type=netdev",
		"--", "add-port", "br-phy", "ul0",
		"--", "add-br", "br-int", "--", "set", "bridge", "br-int", "datapath_type=netdev", "fail-mode=secure",
		"protocols=OpenFlow13"); err != nil {
		return err
	}
	for _, c := range [][]string{
		{"ip", "-n", ns, "addr", "add", h.IP + "/24", "dev", "br-phy"},
		{"ip", "-n", ns, "link", "set", "br-phy", "up"},
		// TCP from the host (an agent to its database) leaves by br-phy's
		// tap, which the userspace datapath forwards without completing
		// partial checksums.
		{"ip", "netns", "exec", ns, "ethtool", "-K", "br-phy", "tx", "off"},
	} {
		if err := run(c...); err != nil {
			return err
		}
	}
	return nil
}

// daemon starts an OVS daemon inside a host's namespace, detached, and
// records its PID from its pidfile.
func (l *Lab) daemon(host, prog string, args ...string) error {
	_, err := l.StartDaemon(host, prog, prog, append(args, "--unixctl="+l.Unixctl(host, prog))...)
	return err
}

// hostPortName is the host side of a node's interface (and its OVS port).
func hostPortName(node, ifname string) string { return node + "-" + ifname }

func (l *Lab) buildNode(n NodeConfig) error {
	ns := l.ns(n.Name)
	if err := l.addNamespace(ns); err != nil {
		return err
	}
	hostNS := l.ns(n.Host)
	var vsctl []string
	for _, i := range n.Interfaces {
		hp := hostPortName(n.Name, i.Name)
		cmds := [][]string{
			{"ip", "link", "add", hp, "netns", hostNS, "type", "veth", "peer", "name", i.Name, "netns", ns},
			{"ip", "-n", ns, "link", "set", i.Name, "address", i.MAC},
			{"ip", "-n", ns, "link", "set", i.Name, "up"},
			{"ip", "-n", hostNS, "link", "set", hp, "up"},
			// OVS 3.1's AF_PACKET ports do not finish CHECKSUM_PARTIAL
			// packets: without this TCP and UDP die with checksum errors.
			{"ip", "netns", "exec", ns, "ethtool", "-K", i.Name, "tx", "off"},
		}
		if i.IP != "" {
			cmds = append(cmds, []string{"ip", "-n", ns, "addr", "add", i.IP, "dev", i.Name})
		}
		if i.IP6 != "" {
			cmds = append(cmds, []string{"ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf." + i.Name + ".disable_ipv6=0"},
				[]string{"ip", "-n", ns, "addr", "add", i.IP6, "dev", i.Name, "nodad"})
		}
		if i.Gateway != "" {
			cmds = append(cmds, []string{"ip", "-n", ns, "route", "add", "default", "via", i.Gateway})
		}
		if i.Gateway6 != "" {
			cmds = append(cmds, []string{"ip", "-n", ns, "-6", "route", "add", "default", "via", i.Gateway6})
		}
		for _, c := range cmds {
			if err := run(c...); err != nil {
				return err
			}
		}
		vsctl = append(vsctl, "--", "add-port", "br-int", hp, "--", "set", "interface", hp,
			"external_ids:iface-id="+i.Port)
	}
	if n.Kind != "" && n.Kind != "vm" {
		// A bump in the wire originates nothing: no IGMP reports from its
		// interfaces or bridge.
		for _, i := range n.Interfaces {
			if err := run("ip", "-n", ns, "link", "set", i.Name, "multicast", "off"); err != nil {
				return err
			}
		}
	}
	switch n.Kind {
	case "vnf":
		if len(n.Interfaces) != 2 {
			return fmt.Errorf("a two-armed vnf needs exactly two interfaces")
		}
		for _, c := range [][]string{
			{"ip", "-n", ns, "link", "add", "br0", "type", "bridge", "ageing_time", "0", "mcast_snooping", "0"},
			{"ip", "-n", ns, "link", "set", "br0", "multicast", "off", "arp", "off"},
			{"ip", "-n", ns, "link", "set", n.Interfaces[0].Name, "master", "br0"},
			{"ip", "-n", ns, "link", "set", n.Interfaces[1].Name, "master", "br0"},
			{"ip", "-n", ns, "link", "set", "br0", "up"},
		} {
			if err := run(c...); err != nil {
				return err
			}
		}
	case "vnf-one-arm":
		if err := l.reflect(n); err != nil {
			return err
		}
	}
	return l.Vsctl(n.Host, vsctl...)
}

// reflect makes a one-armed VNF send every frame back out of the
// interface it came in on, unchanged (tc mirred redirect to itself; a u32
// match-all, since matchall is not built into every kernel).
func (l *Lab) reflect(n NodeConfig) error {
	ns, ifn := l.ns(n.Name), n.Interfaces[0].Name
	for _, c := range [][]string{
		{"ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", ifn, "ingress"},
		{"ip", "netns", "exec", ns, "tc", "filter", "add", "dev", ifn, "parent", "ffff:", "protocol", "all",
			"u32", "match", "u32", "0", "0", "action", "mirred", "egress", "redirect", "dev", ifn},
	} {
		if err := run(c...); err != nil {
			return err
		}
	}
	return nil
}

// warmUnderlay makes every host's userspace tunnel code learn every other
// host's MAC: it snoops ARP replies, and a tunnel packet towards an
// unresolved next hop is dropped.
//
// OVS only snoops once a tunnel port exists, so this waits for each agent
// to have added its Geneve port.
func (l *Lab) warmUnderlay() error {
	for _, h := range l.Config.Hosts {
		if err := Eventually(10*time.Second, func() error {
			return l.Vsctl(h.Name, "get", "interface", "geneve0", "type")
		}); err != nil {
			return fmt.Errorf("%s: no Geneve port: %w", h.Name, err)
		}
	}
	for _, h := range l.Config.Hosts {
		run("ip", "-n", l.ns(h.Name), "neigh", "flush", "dev", "br-phy")
		for _, o := range l.Config.Hosts {
			if o.Name == h.Name {
				continue
			}
			if err := run("ip", "netns", "exec", l.ns(h.Name), "ping", "-q", "-c", "1", "-W", "2", o.IP); err != nil {
				return fmt.Errorf("underlay ping %s -> %s: %w", h.Name, o.Name, err)
			}
		}
	}
	for _, h := range l.Config.Hosts {
		for _, o := range l.Config.Hosts {
			if o.Name == h.Name {
				continue
			}
			err := Eventually(2*time.Second, func() error {
				out, err := l.Appctl(h.Name, "tnl/arp/show")
				if err == nil && !strings.Contains(out, o.IP+" ") {
					err = fmt.Errorf("%s has not learnt %s's MAC for tunnelling", h.Name, o.Name)
				}
				return err
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// AddDummyPorts attaches dummy interfaces (a lab with DummyPorts) bound
// to the given logical ports, as if VMs were there. They are added a few
// hundred per ovs-vsctl call: one huge transaction costs ovs-vsctl
// seconds of CPU.
func (l *Lab) AddDummyPorts(host string, ports []string) error {
	const batch = 200
	for i := 0; i < len(ports); i += batch {
		var args []string
		for _, p := range ports[i:min(i+batch, len(ports))] {
			l.dummies++
			name := fmt.Sprintf("dm%d", l.dummies)
			args = append(args, "--", "--may-exist", "add-port", "br-int", name, "--", "set", "interface", name,
				"type=dummy", "external_ids:iface-id="+p)
		}
		if err := l.Vsctl(host, args...); err != nil {
			return err
		}
	}
	return nil
}

// AddPatchPorts attaches patch ports bound to the given logical ports,
// in pairs peered with each other (plus an unbound one for an odd
// count): OpenFlow ports with nothing for the datapath to poll, as many
// as a benchmark wants.
func (l *Lab) AddPatchPorts(host string, ports []string) error {
	const batch = 200
	for i := 0; i < len(ports); i += batch {
		var args []string
		chunk := ports[i:min(i+batch, len(ports))]
		for j := 0; j < len(chunk); j += 2 {
			a, b := fmt.Sprintf("pp%d", l.dummies+1), fmt.Sprintf("pp%d", l.dummies+2)
			l.dummies += 2
			args = append(args, "--", "--may-exist", "add-port", "br-int", a, "--", "set", "interface", a,
				"type=patch", "options:peer="+b, "external_ids:iface-id="+chunk[j],
				"--", "--may-exist", "add-port", "br-int", b, "--", "set", "interface", b, "type=patch", "options:peer="+a)
			if j+1 < len(chunk) {
				args = append(args, "external_ids:iface-id="+chunk[j+1])
			}
		}
		if err := l.Vsctl(host, args...); err != nil {
			return err
		}
	}
	return nil
}

// StartAgent runs chainwired for a host (inside the host's namespace).
func (l *Lab) StartAgent(host string) error {
	r := l.RunDir(host)
	logf, err := os.OpenFile(filepath.Join(r, "chainwired.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	db := l.DB
	if l.AgentDB != "" {
		db = l.AgentDB
	}
	args := []string{"netns", "exec", l.ns(host), filepath.Join(l.BinDir, "chainwired"),
		"--config", "/dev/null", "--chassis", host, "--ovs-db", l.OVSDB(host), "--ovs-rundir", r,
		"--db", db, "--encap-ip", l.hostIP(host)}
	cmd := exec.Command("ip", append(args, l.AgentArgs...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start chainwired on %s: %w", host, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	l.mu.Lock()
	if l.agents == nil {
		l.agents, l.waited = map[string]*exec.Cmd{}, map[string]chan struct{}{}
	}
	l.agents[host], l.waited[host] = cmd, done
	l.PIDs[host+"/chainwired"] = cmd.Process.Pid
	l.mu.Unlock()
	return l.save()
}

func (l *Lab) hostIP(host string) string {
	for _, h := range l.Config.Hosts {
		if h.Name == host {
			return h.IP
		}
	}
	return ""
}

// StopAgent stops a host's chainwired with SIGTERM and waits for it.
func (l *Lab) StopAgent(host string) error {
	key := host + "/chainwired"
	l.mu.Lock()
	pid, ok := l.PIDs[key]
	done := l.waited[host]
	l.mu.Unlock()
	if !ok {
		return fmt.Errorf("no agent running on %s", host)
	}
	if err := stopPIDs([]int{pid}, map[int]chan struct{}{pid: done}); err != nil {
		return err
	}
	l.mu.Lock()
	delete(l.PIDs, key)
	delete(l.agents, host)
	delete(l.waited, host)
	l.mu.Unlock()
	return l.save()
}

// KillAgent kills a host's chainwired with SIGKILL (a crash: no goodbye
// in its status) and waits for it to be gone.
func (l *Lab) KillAgent(host string) error {
	key := host + "/chainwired"
	l.mu.Lock()
	pid, ok := l.PIDs[key]
	done := l.waited[host]
	l.mu.Unlock()
	if !ok {
		return fmt.Errorf("no agent running on %s", host)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	if done != nil {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			return fmt.Errorf("agent pid %d did not die", pid)
		}
	}
	l.mu.Lock()
	delete(l.PIDs, key)
	delete(l.agents, host)
	delete(l.waited, host)
	l.mu.Unlock()
	return l.save()
}

// AgentPID is the PID of a host's running chainwired (0 if none).
func (l *Lab) AgentPID(host string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.PIDs[host+"/chainwired"]
}

// RestartVswitchd stops a host's ovs-vswitchd and starts it again, as
// ovs-ctl restart does: with flowRestoreWait, other_config:flow-restore-wait
// is set first, so the new daemon forwards only once the flows are back.
// The TLV map and every flow are gone in the new daemon.
func (l *Lab) RestartVswitchd(host string, flowRestoreWait bool) error {
	key := host + "/ovs-vswitchd"
	l.mu.Lock()
	pid := l.PIDs[key]
	l.mu.Unlock()
	if flowRestoreWait {
		if err := l.Vsctl(host, "set", "open_vswitch", ".", "other_config:flow-restore-wait=true"); err != nil {
			return err
		}
	}
	if err := stopPIDs([]int{pid}, nil); err != nil {
		return err
	}
	args := []string{"unix:" + filepath.Join(l.RunDir(host), "db.sock")}
	if l.DummyPorts {
		args = append(args, "--enable-dummy")
	}
	return l.daemon(host, "ovs-vswitchd", args...)
}

// Down stops every process and removes every namespace and file of the lab.
func (l *Lab) Down() error {
	var errs []error
	l.mu.Lock()
	var pids []int
	waiters := map[int]chan struct{}{}
	for k, pid := range l.PIDs {
		pids = append(pids, pid)
		if host, ok := strings.CutSuffix(k, "/chainwired"); ok && l.waited[host] != nil {
			waiters[pid] = l.waited[host]
		}
	}
	l.mu.Unlock()
	if err := stopPIDs(pids, waiters); err != nil {
		errs = append(errs, err)
	}
	for i := len(l.Namespaces) - 1; i >= 0; i-- {
		if err := run("ip", "netns", "del", l.Namespaces[i]); err != nil {
			errs = append(errs, err)
		}
	}
	l.Namespaces, l.PIDs = nil, map[string]int{}
	if l.Base != "" && l.Base != "/" {
		if err := os.RemoveAll(l.Base); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// stopPIDs sends SIGTERM to all, waits up to 5 s, then SIGKILLs the rest.
// A PID with a waiter is our child: it is gone when the waiter closes.
func stopPIDs(pids []int, waiters map[int]chan struct{}) error {
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGTERM)
	}
	alive := func(p int) bool {
		if w, ok := waiters[p]; ok {
			select {
			case <-w:
				return false
			default:
				return true
			}
		}
		return syscall.Kill(p, 0) == nil
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, p := range pids {
		for alive(p) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if alive(p) {
			syscall.Kill(p, syscall.SIGKILL)
		}
	}
	for _, p := range pids {
		for i := 0; alive(p) && i < 200; i++ {
			time.Sleep(10 * time.Millisecond)
		}
		if alive(p) {
			return fmt.Errorf("pid %d did not exit", p)
		}
	}
	return nil
}

func (l *Lab) save() error {
	l.mu.Lock()
	b, err := json.MarshalIndent(l.State, "", "  ")
	l.mu.Unlock()
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(l.Base, "state.json"), b, 0o644)
}

// Load attaches to a lab started by another process.
func Load(base string) (*Lab, error) {
	b, err := os.ReadFile(filepath.Join(base, "state.json"))
	if err != nil {
		return nil, err
	}
	l := &Lab{}
	if err := json.Unmarshal(b, &l.State); err != nil {
		return nil, err
	}
	return l, nil
}

// killPID kills a process with SIGKILL and waits until it is gone.
func killPID(pid int) error {
	syscall.Kill(pid, syscall.SIGKILL)
	for i := 0; i < 500; i++ {
		if syscall.Kill(pid, 0) != nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("pid %d did not die", pid)
}

func output(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %v: %s", name, shorten(strings.Join(args, " ")), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

func run(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", shorten(strings.Join(args, " ")), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// shorten cuts a command line for an error message.
func shorten(s string) string {
	if len(s) > 300 {
		return s[:300] + fmt.Sprintf("… (%d bytes)", len(s))
	}
	return s
}

// MoveNode re-plugs a node's interfaces into another host's br-int, as
// a live migration does: the node itself (its namespace, MACs and IPs)
// is unchanged; the host side of each veth moves to the new host's
// namespace and OVS.
func (l *Lab) MoveNode(node, to string) error {
	var n *NodeConfig
	for i := range l.Config.Nodes {
		if l.Config.Nodes[i].Name == node {
			n = &l.Config.Nodes[i]
		}
	}
	if n == nil {
		return fmt.Errorf("no node %s", node)
	}
	from := n.Host
	var del, add []string
	for _, i := range n.Interfaces {
		hp := hostPortName(n.Name, i.Name)
		del = append(del, "--", "del-port", "br-int", hp)
		add = append(add, "--", "add-port", "br-int", hp, "--", "set", "interface", hp, "external_ids:iface-id="+i.Port)
	}
	if err := l.Vsctl(from, del...); err != nil {
		return err
	}
	for _, i := range n.Interfaces {
		hp := hostPortName(n.Name, i.Name)
		if err := run("ip", "-n", l.ns(from), "link", "set", hp, "netns", l.ns(to)); err != nil {
			return err
		}
		if err := run("ip", "-n", l.ns(to), "link", "set", hp, "up"); err != nil {
			return err
		}
	}
	if err := l.Vsctl(to, add...); err != nil {
		return err
	}
	n.Host = to
	return l.save()
}
