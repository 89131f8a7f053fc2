package lab

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Capture is a tcpdump running on an interface of a lab member.
type Capture struct {
	cmd    *exec.Cmd
	file   string
	stderr *syncBuffer
	done   chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// StartCapture starts tcpdump (pcap written unbuffered) and returns once it
// is listening.
func (l *Lab) StartCapture(member, iface, filter string) (*Capture, error) {
	return l.startCapture(member, iface, filter, false)
}

// StartInboundCapture captures only the frames the member receives on
// iface (tcpdump -Q in): for a VNF, what the switch sends it.
func (l *Lab) StartInboundCapture(member, iface, filter string) (*Capture, error) {
	return l.startCapture(member, iface, filter, true)
}

func (l *Lab) startCapture(member, iface, filter string, inbound bool) (*Capture, error) {
	f, err := os.CreateTemp(l.Base, "cap-*.pcap")
	if err != nil {
		return nil, err
	}
	f.Close()
	c := &Capture{file: f.Name(), stderr: &syncBuffer{}, done: make(chan struct{})}
	args := []string{"tcpdump", "-i", iface, "-n", "-U", "--immediate-mode", "-Z", "root", "-s", "256", "-w", c.file}
	if inbound {
		args = append(args, "-Q", "in")
	}
	if filter != "" {
		args = append(args, filter)
	}
	c.cmd = l.Command(member, args...)
	c.cmd.Stderr = c.stderr
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { c.cmd.Wait(); close(c.done) }()
	err = Eventually(5*time.Second, func() error {
		select {
		case <-c.done:
			return nil
		default:
		}
		if !strings.Contains(c.stderr.String(), "listening on") {
			return fmt.Errorf("tcpdump on %s/%s not listening yet", member, iface)
		}
		return nil
	})
	select {
	case <-c.done:
		return nil, fmt.Errorf("tcpdump on %s/%s exited: %s", member, iface, c.stderr.String())
	default:
	}
	return c, err
}

// Stop ends the capture and returns the packets, one tcpdump line each
// (with -e: link-level headers, -vvv when verbose).
func (c *Capture) Stop(verbose bool) ([]string, error) {
	c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
		<-c.done
	}
	args := []string{"-r", c.file, "-n", "-e", "-tt"}
	if verbose {
		args = append(args, "-vvv")
	}
	out, err := exec.Command("tcpdump", args...).Output()
	if err != nil {
		return nil, fmt.Errorf("tcpdump -r %s: %w", filepath.Base(c.file), err)
	}
	var pkts []string
	for _, line := range strings.Split(string(out), "\n") {
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
			if n := len(pkts); n > 0 {
				pkts[n-1] += "\n" + line
			}
			continue
		}
		pkts = append(pkts, line)
	}
	return pkts, nil
}

// File is the pcap file (kept until the lab goes down).
func (c *Capture) File() string { return c.file }
