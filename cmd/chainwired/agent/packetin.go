package agent

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/chainwire/chainwire/controller"
	"github.com/chainwire/chainwire/pipeline"
	"github.com/sirupsen/logrus"
)

// packetIns handles what the switch sends to chainwired, off the OpenFlow
// reader and off the run loop, at a bounded rate: a flood of packet-ins
// never delays flow programming and never grows memory (the session's
// queue is bounded too).
type packetIns struct {
	log     *logrus.Entry
	rate    int
	handled atomic.Uint64
	drops   atomic.Uint64
}

func newPacketIns(rate int, log *logrus.Entry) *packetIns {
	return &packetIns{rate: rate, log: log}
}

func (p *packetIns) dropped() uint64 { return p.drops.Load() }

// serve handles one session's packet-ins with a token bucket of rate per
// second (burst: one second's worth).
func (p *packetIns) serve(ctx context.Context, cn *controller.Conn) {
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
		now := time.Now()
		tokens = min(float64(p.rate), tokens+now.Sub(last).Seconds()*float64(p.rate))
		last = now
		if tokens < 1 {
			p.drops.Add(1)
			continue
		}
		tokens--
		p.handle(cn, pi)
	}
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
	default:
		p.log.Debugf("packet-in with unknown opcode %d from table %d", pi.Userdata[0], pi.Table)
	}
}
