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
