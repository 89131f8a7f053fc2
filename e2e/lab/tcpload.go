package lab

import (
	"fmt"
	"io"
	"net"
	"time"
)

// TCP connection setup, run inside VM namespaces (chainwire-lab tcp-echo,
// tcp-conns): how many connections a second a path takes, each one
// opened, a byte echoed, closed.

// TCPEcho accepts connections on addr and echoes each until it closes.
func TCPEcho(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		go func() {
			io.Copy(c, c)
			c.Close()
		}()
	}
}

// TCPConnRate opens n connections to addr one after the other, each
// echoing one byte, and returns the rate, connections per second.
func TCPConnRate(addr string, n int) (float64, error) {
	buf := make([]byte, 1)
	start := time.Now()
	for i := 0; i < n; i++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return 0, fmt.Errorf("connection %d: %w", i+1, err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte{'x'}); err == nil {
			_, err = io.ReadFull(c, buf)
		}
		c.Close()
		if err != nil {
			return 0, fmt.Errorf("connection %d: %w", i+1, err)
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// Stream is what one long-lived connection of TCPStreams saw: its local
// port, how many 8-byte messages came back, and the longest wait between
// two answers (a failover shows here; a connection that lost nothing has
// a gap near its sending interval).
type Stream struct {
	Port   int     `json:"port"`
	Echoed int     `json:"echoed"`
	MaxGap float64 `json:"max_gap_ms"`
	Err    string  `json:"error,omitempty"`
}

// TCPStreams keeps n connections to an echo server busy for d, each
// sending a message every interval and waiting for its echo.
func TCPStreams(addr string, n int, d, interval time.Duration) ([]Stream, error) {
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			for _, c := range conns[:i] {
				c.Close()
			}
			return nil, fmt.Errorf("connection %d: %w", i+1, err)
		}
		conns[i] = c
	}
	out := make([]Stream, n)
	done := make(chan struct{})
	end := time.Now().Add(d)
	for i, c := range conns {
		go func() {
			defer func() { done <- struct{}{} }()
			defer c.Close()
			s := &out[i]
			s.Port = c.LocalAddr().(*net.TCPAddr).Port
			msg, buf := make([]byte, 8), make([]byte, 8)
			last := time.Now()
			for time.Now().Before(end) {
				c.SetDeadline(end.Add(10 * time.Second))
				if _, err := c.Write(msg); err != nil {
					s.Err = err.Error()
					return
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					s.Err = err.Error()
					return
				}
				now := time.Now()
				s.Echoed++
				s.MaxGap = max(s.MaxGap, float64(now.Sub(last).Microseconds())/1000)
				last = now
				time.Sleep(interval)
			}
		}()
	}
	for range conns {
		<-done
	}
	return out, nil
}
