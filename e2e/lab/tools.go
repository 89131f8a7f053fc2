package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/chainwire/chainwire/topology"
	"github.com/chainwire/chainwire/topology/nbdb"
)

// Vsctl runs ovs-vsctl against a host's OVSDB.
func (l *Lab) Vsctl(host string, args ...string) error {
	_, err := l.VsctlOut(host, args...)
	return err
}

// VsctlOut runs ovs-vsctl against a host's OVSDB and returns its output.
func (l *Lab) VsctlOut(host string, args ...string) (string, error) {
	full := append([]string{"--db=" + l.OVSDB(host), "--timeout=10"}, args...)
	out, err := exec.Command("ovs-vsctl", full...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ovs-vsctl %s: %v: %s", shorten(strings.Join(args, " ")), err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// Ofctl runs ovs-ofctl -O OpenFlow13 against a host's bridge.
func (l *Lab) Ofctl(host string, args ...string) (string, error) {
	cmd := exec.Command("ovs-ofctl", append([]string{"-O", "OpenFlow13"}, args...)...)
	cmd.Env = append(os.Environ(), "OVS_RUNDIR="+l.RunDir(host))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ovs-ofctl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Appctl runs ovs-appctl against a host's ovs-vswitchd.
func (l *Lab) Appctl(host string, args ...string) (string, error) {
	full := append([]string{"-t", filepath.Join(l.RunDir(host), "ovs-vswitchd.ctl")}, args...)
	out, err := exec.Command("ovs-appctl", full...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("ovs-appctl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Command prepares a command inside a lab member's namespace (node or host).
func (l *Lab) Command(member string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", l.ns(member)}, args...)...)
}

// Exec runs a command inside a lab member's namespace.
func (l *Lab) Exec(member string, args ...string) (string, error) {
	out, err := l.Command(member, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s: %s: %v: %s", member, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Chainctl runs chainctl against the lab's model.
func (l *Lab) Chainctl(args ...string) (string, error) {
	full := append([]string{"--db", l.DB}, args...)
	out, err := exec.Command(filepath.Join(l.BinDir, "chainctl"), full...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("chainctl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// ChainctlOn runs chainctl against the database db (say, one member's
// socket) and returns what it wrote to stdout and to stderr apart.
func (l *Lab) ChainctlOn(db string, args ...string) (stdout, stderr string, err error) {
	var o, e strings.Builder
	cmd := exec.Command(filepath.Join(l.BinDir, "chainctl"), append([]string{"--db", db}, args...)...)
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		return o.String(), e.String(), fmt.Errorf("chainctl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(e.String()))
	}
	return o.String(), e.String(), nil
}

// NBSocket is one database member's unix socket, as a --db remote.
func (l *Lab) NBSocket(member string) string {
	for _, m := range l.NB {
		if m.Name == member {
			return "unix:" + l.nbSocket(m)
		}
	}
	return ""
}

var volatileFlowFields = regexp.MustCompile(`(duration|n_packets|n_bytes|idle_age|hard_age)=[^,]*, ?`)

// Flows dumps br-int with table names and without counters or ages,
// sorted: equal outputs mean equal flow tables.
func (l *Lab) Flows(host string) ([]string, error) {
	out, err := l.Ofctl(host, "dump-flows", "--names", "br-int")
	if err != nil {
		return nil, err
	}
	var flows []string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "OFPST_FLOW") {
			continue
		}
		flows = append(flows, volatileFlowFields.ReplaceAllString(line, ""))
	}
	sort.Strings(flows)
	return flows, nil
}

// Eventually polls cond every 20ms until it returns nil or timeout passes;
// it returns cond's last error.
func Eventually(timeout time.Duration, cond func() error) error {
	return EventuallyEvery(timeout, 20*time.Millisecond, cond)
}

// EventuallyEvery polls cond every interval until it holds or timeout
// passes.
func EventuallyEvery(timeout, interval time.Duration, cond func() error) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %s: %w", timeout, err)
		case <-time.After(interval):
		}
	}
}

// Store opens the lab's model store (the file, or the database members),
// as chainctl does.
func (l *Lab) Store() (topology.Store, error) {
	if !nbdb.IsRemote(l.DB) {
		return topology.NewFileStore(l.DB), nil
	}
	return nbdb.Open(l.DB, nbdb.Options{})
}

// Iperf runs an iperf3 server on addr in server's namespace and a client
// in client's for the given seconds (extra: client options such as -u -b
// 20M), and returns the rate the server received, in bits/s. The client
// retries for up to 10 s while the path comes up.
func (l *Lab) Iperf(client, server, addr string, seconds int, extra ...string) (float64, error) {
	srv := l.Command(server, "iperf3", "-s", "-B", addr)
	if err := srv.Start(); err != nil {
		return 0, err
	}
	defer func() {
		srv.Process.Kill()
		srv.Wait()
	}()
	args := append([]string{"timeout", strconv.Itoa(seconds + 17), "iperf3", "-c", addr, "-t", strconv.Itoa(seconds), "-J",
		"--connect-timeout", "1000"}, extra...)
	var out string
	type report struct {
		Error string `json:"error"`
		End   struct {
			SumReceived struct { // TCP
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
			Sum struct { // UDP: the server's count, in the client's report
				BitsPerSecond float64 `json:"bits_per_second"`
				LostPercent   float64 `json:"lost_percent"`
			} `json:"sum"`
		} `json:"end"`
	}
	var res report
	err := Eventually(10*time.Second, func() error {
		var err error
		if out, err = l.Exec(client, args...); err != nil {
			return err
		}
		res = report{}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			return fmt.Errorf("iperf3 output: %v", err)
		}
		if res.Error != "" { // the server not listening yet, say
			return fmt.Errorf("iperf3: %s", res.Error)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("iperf3 %s -> %s: %v", client, addr, err)
	}
	if r := res.End.SumReceived.BitsPerSecond; r > 0 {
		return r, nil
	}
	if r := res.End.Sum.BitsPerSecond * (1 - res.End.Sum.LostPercent/100); r > 0 {
		return r, nil
	}
	return 0, fmt.Errorf("iperf3 %s -> %s received nothing: %s", client, addr, out)
}

// RxPackets is how many frames a member's interface has received.
func (l *Lab) RxPackets(member, iface string) (int, error) {
	out, err := l.Exec(member, "cat", "/sys/class/net/"+iface+"/statistics/rx_packets")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(out))
}
