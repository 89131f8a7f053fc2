// Package e2e drives real ovs-vswitchd instances in network namespaces with
// real packets. It needs root, Open vSwitch, iproute2, ethtool, tcpdump and
// ping; .ci/run installs them. Without them the tests fail; set
// CHAINWIRE_SKIP_E2E=1 to skip them instead (the skip is printed).
package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/chainwire/chainwire/e2e/lab"
)

var binDir string

func TestMain(m *testing.M) {
	if os.Getenv("CHAINWIRE_SKIP_E2E") == "1" {
		fmt.Println("e2e: SKIPPED (CHAINWIRE_SKIP_E2E=1): no end-to-end test ran")
		os.Exit(0)
	}
	if missing := prerequisites(); missing != "" {
		fmt.Fprintf(os.Stderr, "e2e: cannot run: %s (run `make deps` as root, or set CHAINWIRE_SKIP_E2E=1 to skip)\n", missing)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "cwbin")
	if err != nil {
		panic(err)
	}
	binDir = dir
	build := exec.Command("go", "build", "-o", dir, "../cmd/chainwired", "../cmd/chainctl", "../cmd/chainwire-lab")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func prerequisites() string {
	if os.Geteuid() != 0 {
		return "needs root (network namespaces)"
	}
	for _, tool := range []string{"ovs-vswitchd", "ovsdb-server", "ovs-vsctl", "ovs-ofctl", "ip", "ethtool", "ping", "tcpdump", "iperf3", "arping", "dhclient", "dig", "traceroute", "mn", "man"} {
		if _, err := exec.LookPath(tool); err != nil {
			return tool + " is not installed"
		}
	}
	return ""
}

// up starts a lab for one test and tears it down when the test ends.
func up(t *testing.T, cfg *lab.Config) *lab.Lab {
	t.Helper()
	l, err := lab.Up(cfg, lab.Options{BinDir: binDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, h := range cfg.Hosts {
				if b, err := os.ReadFile(filepath.Join(l.RunDir(h.Name), "chainwired.log")); err == nil {
					t.Logf("chainwired log of %s:\n%s", h.Name, b)
				}
			}
		}
		if err := l.Down(); err != nil {
			t.Errorf("lab down: %v", err)
		}
	})
	return l
}

// chainctl runs chainctl on the lab's model and fails the test on error.
func chainctl(t *testing.T, l *lab.Lab, args ...string) string {
	t.Helper()
	out, err := l.Chainctl(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type capture struct{ *lab.Capture }

func startCapture(t *testing.T, l *lab.Lab, member, iface, filter string) capture {
	t.Helper()
	c, err := l.StartCapture(member, iface, filter)
	if err != nil {
		t.Fatal(err)
	}
	return capture{c}
}

// stop returns the number of packets captured.
func (c capture) stop(t *testing.T) int {
	t.Helper()
	pkts, err := c.Stop(false)
	if err != nil {
		t.Fatal(err)
	}
	return len(pkts)
}
