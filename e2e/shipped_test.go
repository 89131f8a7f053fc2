package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chainwire/chainwire/e2e/lab"
)

// The files we ship work as shipped: the systemd unit's ExecStart, with
// deploy/chainwired.yaml as /etc/chainwire/chainwired.yaml, runs against a
// hypervisor whose OVS run directory and chainwire state directory sit at
// the default paths. A private mount namespace puts the lab's directories
// there (nothing of the machine's own is touched), and the unit passes
// `systemd-analyze verify`.

const (
	unitFile   = "../deploy/chainwired.service"
	configFile = "../deploy/chainwired.yaml"
)

// execStart reads the unit's ExecStart command line.
func execStart(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if cmd, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "ExecStart="); ok {
			return strings.Fields(cmd)
		}
	}
	t.Fatalf("%s has no ExecStart", unitFile)
	return nil
}

// mountPoints makes sure the default directories exist to mount on; the
// ones it had to create are removed when the test ends.
func mountPoints(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if _, err := os.Stat(d); err == nil {
			continue
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(d) })
	}
}

// privately runs a shell script in a private mount namespace (inside the
// host's network namespace if host is set).
func privately(l *lab.Lab, host, script string) *exec.Cmd {
	args := []string{"unshare", "-m", "--propagation", "private", "sh", "-ec", script}
	if host == "" {
		return exec.Command(args[0], args[1:]...)
	}
	return l.Command(host, args...)
}

func TestShippedUnitAndConfig(t *testing.T) {
	argv := execStart(t)
	bin := argv[0]
	if filepath.Base(bin) != "chainwired" {
		t.Fatalf("ExecStart runs %s, not chainwired", bin)
	}
	cfgPath, err := filepath.Abs(configFile)
	if err != nil {
		t.Fatal(err)
	}
	unitPath, _ := filepath.Abs(unitFile)
	binMount := fmt.Sprintf("mount -t tmpfs chainwire-bin %s && cp %s %s && ",
		filepath.Dir(bin), filepath.Join(binDir, "chainwired"), bin)

	// systemd-analyze verify needs the ExecStart binary in place.
	if out, err := privately(nil, "", binMount+"systemd-analyze verify "+unitPath).CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze verify %s: %v\n%s", unitFile, err, out)
	}

	l := up(t, &lab.Config{
		Hosts: []lab.HostConfig{{Name: "hv1", IP: "192.0.2.1"}},
		Nodes: []lab.NodeConfig{vm("vm1", "hv1", "a1", 1), vm("vm2", "hv1", "a2", 2)},
	})
	// The shipped config names chassis hv1 and the default paths.
	if err := l.StopAgent("hv1"); err != nil {
		t.Fatal(err)
	}
	chainctl(t, l, "chassis-add", "hv1", "geneve", "192.0.2.1", "--", "ls-add", "A",
		"--", "lsp-add", "A", "a1", "--", "lsp-set-addresses", "a1", "02:00:00:00:00:01 10.0.0.1",
		"--", "lsp-add", "A", "a2", "--", "lsp-set-addresses", "a2", "02:00:00:00:00:02 10.0.0.2")
	mountPoints(t, "/etc/chainwire", "/var/lib/chainwire", "/run/openvswitch")
	script := binMount + strings.Join([]string{
		"mount -t tmpfs chainwire-etc /etc/chainwire",
		"touch /etc/chainwire/chainwired.yaml",
		"mount --bind " + cfgPath + " /etc/chainwire/chainwired.yaml",
		"mount --bind " + l.Base + " /var/lib/chainwire",
		"mount --bind " + l.RunDir("hv1") + " /run/openvswitch",
		"exec " + strings.Join(argv, " "),
	}, " && ")
	agent := privately(l, "hv1", script)
	logPath := filepath.Join(t.TempDir(), "shipped-agent.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	agent.Stdout, agent.Stderr = logf, logf
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- agent.Wait() }()
	t.Cleanup(func() {
		agent.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			agent.Process.Kill()
			<-exited
		}
	})
	if err := lab.Eventually(15*time.Second, func() error {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("the shipped ExecStart exited: %v", err)
		default:
		}
		st, err := statusOf(l, "hv1")
		if err == nil && (!st.Connected || st.Error != "") {
			err = fmt.Errorf("status %+v", st)
		}
		if err == nil {
			err = ping(l, "vm1", "10.0.0.2")
		}
		return err
	}); err != nil {
		b, _ := os.ReadFile(logPath)
		t.Fatalf("%v\nagent output:\n%s", err, b)
	}
	// The shipped config serves metrics where the docs say.
	if err := lab.Eventually(5*time.Second, func() error {
		text, err := l.Scrape("hv1")
		if err != nil {
			return err
		}
		st, err := statusOf(l, "hv1")
		if err != nil {
			return err
		}
		_, err = lab.CheckMetrics(text, lab.MetricsWant{Flows: st.Flows})
		return err
	}); err != nil {
		t.Error(err)
	}
	if c, _ := l.VsctlOut("hv1", "get-controller", "br-int"); c != "" {
		t.Errorf("the agent set a controller (%s); it must use the management socket", c)
	}
}

// The database unit passes `systemd-analyze verify` with the shipped
// script where it installs.
func TestShippedDatabaseUnit(t *testing.T) {
	unit, err := filepath.Abs("../deploy/chainwire-nb.service")
	if err != nil {
		t.Fatal(err)
	}
	script, _ := filepath.Abs("../deploy/chainwire-nb")
	const installed = "/usr/local/share/chainwire/chainwire-nb"
	b, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "ExecStart="+installed+" run") {
		t.Fatalf("%s does not run %s run", unit, installed)
	}
	mountPoints(t, filepath.Dir(installed))
	cmd := privately(nil, "", fmt.Sprintf("mount -t tmpfs chainwire-share %s && cp %s %s && systemd-analyze verify %s",
		filepath.Dir(installed), script, installed, unit))
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze verify %s: %v\n%s", unit, err, out)
	}
}
