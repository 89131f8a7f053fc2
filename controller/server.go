package controller

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/sirupsen/logrus"
)

// Server listens on the unix socket that the bridge's controller target
// points at (ovs-vsctl set-controller br-int unix:PATH). ovs-vswitchd
// dials it and redials with its own backoff after any disconnect, so the
// server only has to accept; each connection that completes the handshake
// is handed to the caller.
type Server struct {
	Path     string
	Log      *logrus.Entry
	PacketIn func(PacketIn)
	// Probe is the echo interval that detects a dead switch (default 5s).
	Probe time.Duration
	l     net.Listener
}

// Listen opens the socket. Call it before pointing the bridge at it, so
// that ovs-vswitchd's first attempt succeeds instead of backing off.
func (s *Server) Listen() error {
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o755); err != nil {
		return err
	}
	// A socket left by a previous run would make Listen fail.
	if fi, err := os.Lstat(s.Path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		os.Remove(s.Path)
	}
	l, err := net.Listen("unix", s.Path)
	if err != nil {
		return fmt.Errorf("listen for the switch on %s: %w", s.Path, err)
	}
	s.l = l
	return nil
}

// Serve accepts connections until ctx ends, sending each on conns.
func (s *Server) Serve(ctx context.Context, conns chan<- *Conn) error {
	if s.l == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	l := s.l
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			s.Log.WithError(err).Warn("accept failed")
			time.Sleep(100 * time.Millisecond)
			continue
		}
		go s.start(ctx, c, conns)
	}
}

func (s *Server) start(ctx context.Context, c net.Conn, conns chan<- *Conn) {
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cn, err := handshake(hctx, c, s.PacketIn)
	if err != nil {
		s.Log.WithError(err).Warn("OpenFlow handshake failed")
		c.Close()
		return
	}
	go s.keepalive(ctx, cn)
	select {
	case conns <- cn:
	case <-ctx.Done():
		cn.Close()
	}
}

// keepalive closes a connection whose switch stops answering echoes.
func (s *Server) keepalive(ctx context.Context, cn *Conn) {
	probe := s.Probe
	if probe == 0 {
		probe = 5 * time.Second
	}
	t := time.NewTicker(probe)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			cn.Close()
			return
		case <-cn.Done():
			return
		case <-t.C:
			ectx, cancel := context.WithTimeout(ctx, 2*probe)
			err := cn.Echo(ectx)
			cancel()
			if err != nil && ctx.Err() == nil {
				s.Log.WithError(err).Warn("switch stopped answering echo requests; closing the connection")
				cn.Close()
				return
			}
		}
	}
}

// Dial connects to a listening switch endpoint (unix:PATH, e.g. the
// bridge's .mgmt socket, or tcp:HOST:PORT), retrying with exponential
// backoff until ctx ends.
func Dial(ctx context.Context, target string, packetIn func(PacketIn)) (*Conn, error) {
	network, addr, ok := cutTarget(target)
	if !ok {
		return nil, fmt.Errorf("bad OpenFlow target %q (want unix:PATH or tcp:HOST:PORT)", target)
	}
	backoff := 50 * time.Millisecond
	for {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err == nil {
			hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			cn, herr := handshake(hctx, c, packetIn)
			cancel()
			if herr == nil {
				return cn, nil
			}
			c.Close()
			err = herr
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("connect to %s: %w (last error: %v)", target, ctx.Err(), err)
		case <-time.After(backoff):
		}
		if backoff < 2*time.Second {
			backoff *= 2
		}
	}
}

func cutTarget(t string) (network, addr string, ok bool) {
	for _, n := range []string{"unix", "tcp"} {
		if len(t) > len(n)+1 && t[:len(n)+1] == n+":" {
			return n, t[len(n)+1:], true
		}
	}
	return "", "", false
}
