package agent

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/chainwire/chainwire/controller"
	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/topology"
	"github.com/sirupsen/logrus"
)

// packetIns handles what the switch sends to chainwired, off the OpenFlow
// reader and off the run loop, at a bounded rate: a flood of packet-ins
// never delays flow programming and never grows memory (the session's
// queue is bounded too).
type packetIns struct {
	log     *logrus.Entry
	metrics *Metrics
	rate    int
	handled atomic.Uint64
	drops   atomic.Uint64
	// dns holds the switches' DNS records by datapath; the run loop
	// replaces it when they change.
	dns atomic.Pointer[map[uint32]*dnsRecords]
	// probes takes the health probes back; they are few (one per checked
	// pair and interval) and cheap, so they bypass the token bucket: a
	// flood of other packet-ins must not fail a healthy pair.
	probes *prober
	// asked limits the requests for unresolved next hops; learned takes
	// the neighbours routers learn to the run loop.
	asked   asker
	learned func(routerPort string, ip net.IP, mac net.HardwareAddr)
}

func newPacketIns(rate int, log *logrus.Entry, m *Metrics) *packetIns {
	p := &packetIns{rate: rate, log: log, metrics: m}
	p.dns.Store(&map[uint32]*dnsRecords{})
	return p
}

func (p *packetIns) dropped() uint64 { return p.drops.Load() }

// packetInWorkers answer packet-ins side by side (building a DHCP
// answer or resuming a DNS query is independent of the others);
// packetInQueue bounds what waits for them.
const (
	packetInWorkers = 2
	packetInQueue   = 64
)

// serve takes one session's packet-ins with a token bucket of rate per
// second (burst: one second's worth) and hands them to the workers; what
// exceeds the rate, or finds the workers' queue full, is dropped and
// counted.
func (p *packetIns) serve(ctx context.Context, cn *controller.Conn) {
	work := make(chan controller.PacketIn, packetInQueue)
	defer close(work)
	for range packetInWorkers {
		go func() {
			for pi := range work {
				p.handle(cn, pi)
			}
		}()
	}
	tokens := float64(p.rate)
	last := time.Now()
	for {
		var pi controller.PacketIn
		select {
		case pi = <-cn.PacketIns():
		case <-cn.Done():
			return
		case <-ctx.Done():
			return
		}
		p.metrics.packetIn(pi.Table, pi.Userdata)
		if len(pi.Userdata) == 1 && pi.Userdata[0] == pipeline.OpProbe && p.probes != nil {
			p.probes.answer(regOf(pi, pipeline.FieldInPort), pi.Data)
			continue
		}
		now := time.Now()
		tokens = min(float64(p.rate), tokens+now.Sub(last).Seconds()*float64(p.rate))
		last = now
		if tokens < 1 {
			p.drop()
			continue
		}
		tokens--
		select {
		case work <- pi:
		default:
			p.drop()
		}
	}
}

func (p *packetIns) drop() {
	p.drops.Add(1)
	p.metrics.packetInDrops.Inc()
}

func (p *packetIns) handle(cn *controller.Conn, pi controller.PacketIn) {
	p.handled.Add(1)
	if len(pi.Userdata) == 0 {
		p.log.Debugf("packet-in without userdata from table %d", pi.Table)
		return
	}
	switch pi.Userdata[0] {
	case pipeline.OpContinue:
		if err := cn.Resume(pi); err != nil {
			p.log.WithError(err).Warn("cannot resume a paused pipeline")
		}
	case pipeline.OpLogACL:
		p.logACL(pi)
	case pipeline.OpReject:
		p.reject(cn, pi)
	case pipeline.OpNDAdvert:
		p.answer(cn, pi, "neighbour solicitation", ndAdvert)
	case pipeline.OpDHCPv4:
		p.answer(cn, pi, "DHCPv4 request", dhcpv4Reply)
	case pipeline.OpDHCPv6:
		p.answer(cn, pi, "DHCPv6 request", dhcpv6Reply)
	case pipeline.OpDNS:
		p.dnsQuery(cn, pi)
	case pipeline.OpTimeExceeded:
		p.routerAnswer(cn, pi, "packet whose TTL expired", func(b []byte, u routerUserdata) ([]byte, error) { return timeExceeded(b, u) })
	case pipeline.OpRouterEcho6:
		p.routerAnswer(cn, pi, "ping to a router", func(b []byte, _ routerUserdata) ([]byte, error) { return echo6Reply(b) })
	case pipeline.OpResolve:
		p.resolve(cn, pi)
	case pipeline.OpLearnNeighbour:
		p.learnNeighbour(pi)
	default:
		p.log.Debugf("packet-in with unknown opcode %d from table %d", pi.Userdata[0], pi.Table)
	}
}

// logACL writes the log line of an ACL with --log: its name, verdict and
// the packet in short.
func (p *packetIns) logACL(pi controller.PacketIn) {
	if len(pi.Userdata) < 2 {
		return
	}
	name := topology.Quote(string(pi.Userdata[2:]))
	p.log.WithFields(logrus.Fields{"acl": name, "verdict": pipeline.VerdictName(pi.Userdata[1]),
		"inport": regOf(pi, pipeline.LogInport), "outport": regOf(pi, pipeline.LogOutport), "datapath": regOf(pi, pipeline.LogDatapath),
	}).Infof("acl %s: %s %s", name, pipeline.VerdictName(pi.Userdata[1]), describeFrame(pi.Data))
}

// reject answers a packet a reject ACL matched.
func (p *packetIns) reject(cn *controller.Conn, pi controller.PacketIn) {
	reply, err := rejectReply(pi.Data)
	if err != nil {
		p.log.Debugf("rejected packet gets no answer: %v", err)
		return
	}
	acts := pipeline.RejectReplyActions(regOf(pi, pipeline.LogDatapath), regOf(pi, pipeline.LogInport), regOf(pi, pipeline.LogOutport))
	if err := cn.PacketOut(controller.PortController, acts, reply); err != nil {
		p.log.WithError(err).Warn("cannot send the answer to a rejected packet")
	}
}

// answer sends chainwired's answer to a packet that came in by a local
// port (built from the packet and the flow's userdata) back out of it,
// or logs why there is none.
func (p *packetIns) answer(cn *controller.Conn, pi controller.PacketIn, what string, build func(packet, userdata []byte) ([]byte, error)) {
	reply, err := build(pi.Data, pi.Userdata)
	if err != nil {
		p.log.Debugf("%s gets no answer: %v", what, err)
		return
	}
	p.replyToInport(cn, pi, what, reply)
}

func (p *packetIns) replyToInport(cn *controller.Conn, pi controller.PacketIn, what string, reply []byte) {
	acts := pipeline.ReplyToInportActions(regOf(pi, pipeline.LogDatapath), regOf(pi, pipeline.LogInport))
	if err := cn.PacketOut(controller.PortController, acts, reply); err != nil {
		p.log.WithError(err).Warnf("cannot send the answer to a %s", what)
	}
}

// routerAnswer sends a router's answer into the switch the packet came
// from, by its router-type port.
func (p *packetIns) routerAnswer(cn *controller.Conn, pi controller.PacketIn, what string, build func([]byte, routerUserdata) ([]byte, error)) {
	u, err := parseRouterUserdata(pi.Userdata)
	if err == nil {
		var reply []byte
		if reply, err = build(pi.Data, u); err == nil {
			if err := cn.PacketOut(controller.PortController, pipeline.RouterAnswerActions(u.dp, u.port), reply); err != nil {
				p.log.WithError(err).Warnf("cannot send the answer to a %s", what)
			}
			return
		}
	}
	p.log.Debugf("%s gets no answer: %v", what, err)
}

// dnsQuery answers a query for a name of its switch, or lets it go on.
func (p *packetIns) dnsQuery(cn *controller.Conn, pi controller.PacketIn) {
	if recs := (*p.dns.Load())[regOf(pi, pipeline.LogDatapath)]; recs != nil {
		if reply, err := dnsAnswer(pi.Data, recs); err == nil {
			p.replyToInport(cn, pi, "DNS query", reply)
			return
		}
	}
	if err := cn.Resume(pi); err != nil {
		p.log.WithError(err).Warn("cannot let a DNS query go on")
	}
}

func regOf(pi controller.PacketIn, f pipeline.Field) uint32 {
	if mf, ok := pi.Fields.Get(f); ok {
		return uint32(mf.Uint())
	}
	return 0
}

// describeFrame is a packet in a few words: protocol, addresses, ports.
func describeFrame(b []byte) string {
	f, err := parseFrame(b)
	if err != nil {
		return fmt.Sprintf("(%d bytes: %v)", len(b), err)
	}
	name, known := map[byte]string{protoTCP: "tcp", protoUDP: "udp", protoICMP: "icmp", protoICMPv6: "icmp6"}[f.proto]
	if !known {
		name = fmt.Sprintf("proto %d", f.proto)
	}
	s := fmt.Sprintf("%s %s > %s", name, f.ipSrc, f.ipDst)
	if (f.proto == protoTCP || f.proto == protoUDP) && len(f.l4) >= 4 {
		s = fmt.Sprintf("%s %s > %s", name, net.JoinHostPort(f.ipSrc.String(), fmt.Sprint(be.Uint16(f.l4))),
			net.JoinHostPort(f.ipDst.String(), fmt.Sprint(be.Uint16(f.l4[2:]))))
	}
	return fmt.Sprintf("%s (from %s)", s, f.src)
}
