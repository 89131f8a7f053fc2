package lab

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/chainwire/chainwire/deploy"
)

// The northbound database of a lab: a file (the default), one standalone
// ovsdb-server, or a 3-member RAFT cluster. Each server runs in a
// namespace of its own on the underlay (192.0.2.201 and up), where the
// agents reach it over TCP, as hypervisors reach a real NB cluster; it
// also listens on a unix socket in the lab's directory, through which
// chainctl (in the root namespace) reaches every member.

const (
	nbClientPort = 6641
	nbRaftPort   = 6643
)

// NBMember is one ovsdb-server of the lab's database.
type NBMember struct {
	Name string `json:"name"` // nb1, nb2, nb3
	IP   string `json:"ip"`
}

func (l *Lab) nbMembers() int {
	switch l.Config.NB {
	case "standalone":
		return 1
	case "cluster":
		return 3
	}
	return 0
}

// buildNB creates and starts the database servers and points DB (for
// chainctl) and the agents' --db at them.
func (l *Lab) buildNB() error {
	n := l.nbMembers()
	if n == 0 {
		return nil
	}
	schema := filepath.Join(l.Base, "chainwire_nb.ovsschema")
	if err := os.WriteFile(schema, deploy.NBSchema, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(l.nbScript(), deploy.NBScript, 0o755); err != nil {
		return err
	}
	var unix, tcp []string
	for i := 1; i <= n; i++ {
		m := NBMember{Name: fmt.Sprintf("nb%d", i), IP: fmt.Sprintf("192.0.2.%d", 200+i)}
		l.NB = append(l.NB, m)
		unix = append(unix, "unix:"+l.nbSocket(m))
		tcp = append(tcp, fmt.Sprintf("tcp:%s:%d", m.IP, nbClientPort))
		if err := l.addNamespace(l.ns(m.Name)); err != nil {
			return err
		}
		if err := l.underlayLink(m.Name, m.IP); err != nil {
			return err
		}
		if err := os.MkdirAll(l.RunDir(m.Name), 0o755); err != nil {
			return err
		}
		raft := func(m NBMember) string { return fmt.Sprintf("tcp:%s:%d", m.IP, nbRaftPort) }
		var create []string
		switch {
		case n == 1:
			create = []string{"create"}
		case i == 1:
			create = []string{"create-cluster", raft(m)}
		default:
			create = []string{"join-cluster", raft(m), raft(l.NB[0])}
		}
		if _, err := l.nbCommand(m, create...); err != nil {
			return err
		}
		if err := l.StartNBMember(m.Name); err != nil {
			return err
		}
	}
	l.DB = strings.Join(unix, ",")
	l.AgentDB = strings.Join(tcp, ",")
	return l.waitNBLeader()
}

func (l *Lab) nbSocket(m NBMember) string { return filepath.Join(l.RunDir(m.Name), "nb.sock") }

func (l *Lab) nbScript() string { return filepath.Join(l.Base, "chainwire-nb") }

// nbCommand runs the shipped chainwire-nb in a member's namespace, with
// the member's files in its run directory.
func (l *Lab) nbCommand(m NBMember, args ...string) (string, error) {
	return l.NBScript(m, nil, args...)
}

// NBScript runs chainwire-nb for a member with extra environment (say,
// another NB_SCHEMA).
func (l *Lab) NBScript(m NBMember, env map[string]string, args ...string) (string, error) {
	r := l.RunDir(m.Name)
	cmd := exec.Command("ip", append([]string{"netns", "exec", l.ns(m.Name), l.nbScript()}, args...)...)
	cmd.Env = append(os.Environ(), "NB_DB="+filepath.Join(r, "nb.db"), "NB_SCHEMA="+filepath.Join(l.Base, "chainwire_nb.ovsschema"),
		"NB_RUNDIR="+r, "NB_LOG="+filepath.Join(r, "nb.log"), fmt.Sprintf("NB_REMOTES=ptcp:%d:%s", nbClientPort, m.IP))
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("chainwire-nb %s on %s: %v: %s", strings.Join(args, " "), m.Name, err, out)
	}
	return string(out), nil
}

// StartNBMember starts (or restarts) one database server: chainwire-nb
// run, detached.
func (l *Lab) StartNBMember(name string) error {
	for _, m := range l.NB {
		if m.Name != name {
			continue
		}
		if _, err := l.nbCommand(m, "run", "--detach", "-vconsole:off"); err != nil {
			return err
		}
		b, err := os.ReadFile(filepath.Join(l.RunDir(name), "nb.pid"))
		if err != nil {
			return err
		}
		var pid int
		fmt.Sscan(strings.TrimSpace(string(b)), &pid)
		l.mu.Lock()
		l.PIDs[name+"/ovsdb-server"] = pid
		l.mu.Unlock()
		return l.save()
	}
	return fmt.Errorf("no database member %s", name)
}

// KillNBMember kills one database server with SIGKILL (a crash).
func (l *Lab) KillNBMember(name string) error {
	l.mu.Lock()
	pid, ok := l.PIDs[name+"/ovsdb-server"]
	delete(l.PIDs, name+"/ovsdb-server")
	l.mu.Unlock()
	if !ok {
		return fmt.Errorf("database member %s is not running", name)
	}
	if err := killPID(pid); err != nil {
		return err
	}
	return l.save()
}

// NBLeader is the member that leads the cluster now ("" if none does).
func (l *Lab) NBLeader() string {
	for _, m := range l.NB {
		if _, running := l.PIDs[m.Name+"/ovsdb-server"]; !running {
			continue
		}
		out, err := l.NBAppctl(m.Name, "cluster/status", "Chainwire_NB")
		if err == nil && strings.Contains(out, "Role: leader") {
			return m.Name
		}
	}
	if len(l.NB) == 1 {
		return l.NB[0].Name
	}
	return ""
}

// NBAppctl runs ovs-appctl against a database member.
func (l *Lab) NBAppctl(member string, args ...string) (string, error) {
	full := append([]string{"-T", "5", "-t", filepath.Join(l.RunDir(member), "nb.ctl")}, args...)
	return output("ovs-appctl", full...)
}

func (l *Lab) waitNBLeader() error {
	return Eventually(20*time.Second, func() error {
		if l.NBLeader() == "" {
			return fmt.Errorf("the database cluster has no leader")
		}
		return nil
	})
}

// underlayLink connects a lab namespace to the underlay bridge with an IP.
func (l *Lab) underlayLink(member, ip string) error {
	ns := l.ns(member)
	for _, c := range [][]string{
		{"ip", "link", "add", "ul0", "netns", ns, "mtu", fmt.Sprint(underlayMTU), "type", "veth",
			"peer", "name", "h-" + member, "netns", l.ns("ul"), "mtu", fmt.Sprint(underlayMTU)},
		{"ip", "-n", l.ns("ul"), "link", "set", "h-" + member, "master", "br0"},
		{"ip", "-n", l.ns("ul"), "link", "set", "h-" + member, "up"},
		{"ip", "-n", ns, "addr", "add", ip + "/24", "dev", "ul0"},
		{"ip", "-n", ns, "link", "set", "ul0", "up"},
		// The hosts' underlay is an OVS userspace bridge: it does not
		// complete partial checksums (see buildNode).
		{"ip", "netns", "exec", ns, "ethtool", "-K", "ul0", "tx", "off"},
	} {
		if err := run(c...); err != nil {
			return err
		}
	}
	return nil
}
