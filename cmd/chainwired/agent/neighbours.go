package agent

import (
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/chainwire/chainwire/controller"
	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/topology"
)

// Next hops learned for routers (pipeline/neighbour.go). A routed packet
// whose next hop has no MAC makes this agent ask, from the router port,
// into the port's switch; the reply reaches the router on the replier's
// chassis, whose agent learns it and publishes it in its status. Every
// agent routes with its own neighbours first, then those other chassis
// published (the first chassis by name, where two disagree).

const (
	// maxNeighbours bounds what one agent learns: replies come from the
	// network, which must not grow the agent without bound.
	maxNeighbours = 4096
	// askInterval is how often one next hop is asked for at most.
	askInterval = time.Second
	askedMax    = 1024 // next hops remembered as asked; then forgotten at once
)

// asker keeps a flood of packets to one unresolved next hop from sending
// a request each.
type asker struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (k *asker) due(nextHop string, now time.Time) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if t, ok := k.last[nextHop]; ok && now.Sub(t) < askInterval {
		return false
	}
	if k.last == nil || len(k.last) >= askedMax {
		k.last = map[string]time.Time{}
	}
	k.last[nextHop] = now
	return true
}

// resolve asks for the next hop of an OpResolve packet-in: an ARP
// request or a neighbour solicitation from the router port, into its
// switch as the router's own packet.
func (p *packetIns) resolve(cn *controller.Conn, pi controller.PacketIn) {
	u, err := parseRouterUserdata(pi.Userdata)
	if err != nil || u.ip == nil {
		p.log.Debugf("unresolved next hop: bad userdata (%v)", err)
		return
	}
	v6 := u.ip.To4() == nil
	nh := pipeline.NextHop(func(f pipeline.Field) uint32 { return regOf(pi, f) }, v6)
	if !p.asked.due(nh.String(), time.Now()) {
		return
	}
	req := arpRequest(u.mac, u.ip, nh)
	if v6 {
		req = neighbourSolicit(u.mac, u.ip, nh)
	}
	if err := cn.PacketOut(controller.PortController, pipeline.RouterAnswerActions(u.dp, u.port), req); err != nil {
		p.log.WithError(err).Warnf("cannot ask for next hop %s", nh)
	}
}

// learnNeighbour hands the run loop the sender of an ARP reply or a
// neighbour advertisement to a router port.
func (p *packetIns) learnNeighbour(pi controller.PacketIn) {
	ip, mac, err := replySender(pi.Data)
	if err != nil {
		p.log.Debugf("router port %s learns nothing from a packet: %v", pi.Userdata[1:], err)
		return
	}
	if p.learned != nil {
		p.learned(string(pi.Userdata[1:]), ip, mac)
	}
}

// arpRequest asks who has target, from the router port's MAC and src.
func arpRequest(mac net.HardwareAddr, src, target net.IP) []byte {
	b := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, mac...)
	b = append(b, 0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1)
	b = append(append(b, mac...), src.To4()...)
	b = append(b, 0, 0, 0, 0, 0, 0)
	return append(b, target.To4()...)
}

// neighbourSolicit asks for target's MAC at its solicited-node address,
// with the router port's MAC as source link-layer address.
func neighbourSolicit(mac net.HardwareAddr, src, target net.IP) []byte {
	t := target.To16()
	group := net.IP{0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, t[13], t[14], t[15]}
	ns := make([]byte, 32)
	ns[0] = icmp6NS
	copy(ns[8:24], t)
	ns[24], ns[25] = ndOptSourceLL, 1
	copy(ns[26:32], mac)
	return ipFrame(mac, net.HardwareAddr{0x33, 0x33, 0xff, t[13], t[14], t[15]}, src, group, protoICMPv6, ns)
}

const ndOptSourceLL = 1

// replySender reads who answered: the sender of an ARP reply, or the
// target of a neighbour advertisement with its link-layer address (the
// option, else the frame's source).
func replySender(b []byte) (net.IP, net.HardwareAddr, error) {
	if len(b) < ethHeader {
		return nil, nil, fmt.Errorf("frame of %d bytes", len(b))
	}
	var ip net.IP
	var mac net.HardwareAddr
	switch be.Uint16(b[12:]) {
	case 0x0806:
		a := b[ethHeader:]
		if len(a) < 28 || be.Uint16(a[6:]) != 2 {
			return nil, nil, fmt.Errorf("not an ARP reply")
		}
		mac, ip = net.HardwareAddr(a[8:14]), net.IP(a[14:18])
	case 0x86dd:
		h := b[ethHeader:]
		if len(h) < ipv6Header+24 || h[6] != protoICMPv6 || h[ipv6Header] != icmp6NA {
			return nil, nil, fmt.Errorf("not a neighbour advertisement")
		}
		na := h[ipv6Header:]
		ip, mac = net.IP(na[8:24]), net.HardwareAddr(b[6:12])
		for opts := na[24:]; len(opts) >= 8; {
			n := int(opts[1]) * 8
			if n == 0 || n > len(opts) {
				break
			}
			if opts[0] == ndOptTargetLL && n == 8 {
				mac = net.HardwareAddr(opts[2:8])
			}
			opts = opts[n:]
		}
	default:
		return nil, nil, fmt.Errorf("neither ARP nor IPv6")
	}
	switch {
	case mac[0]&1 == 1 || allZero(mac):
		return nil, nil, fmt.Errorf("link-layer address %s", mac)
	case ip.IsUnspecified() || ip.IsMulticast() || ip.IsLoopback():
		return nil, nil, fmt.Errorf("address %s", ip)
	}
	return append(net.IP(nil), ip...), append(net.HardwareAddr(nil), mac...), nil
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// onLearned (run loop) keeps a neighbour a router port's reply named, if
// it is in one of the port's networks and there is room.
func (a *Agent) onLearned(lrp string, ip net.IP, mac net.HardwareAddr) {
	if a.ix == nil {
		return // no model yet
	}
	if rp := a.ix.RouterPort(lrp); rp == nil || !rp.OnNetwork(ip) {
		a.log.Debugf("router port %s ignores %s at %s: no such port, or outside its networks", lrp, ip, mac)
		return
	}
	k := topology.NeighbourKey(lrp, ip)
	old, known := a.learned[k]
	if old == mac.String() {
		return
	}
	if !known && len(a.learned) >= maxNeighbours {
		if !a.neighboursFull {
			a.log.Warnf("%d neighbours learned: %s at %s and later ones are not", maxNeighbours, ip, mac)
			a.neighboursFull = true
		}
		return
	}
	a.learned[k] = mac.String()
	a.log.Infof("router port %s: next hop %s is at %s", lrp, ip, mac)
	a.refreshNeighbours([]string{k})
}

// onRemoteNeighbours (run loop) takes what the other chassis published.
func (a *Agent) onRemoteNeighbours(got map[string]map[string]string) {
	var keys []string
	for _, m := range []map[string]map[string]string{a.remoteNeighbours, got} {
		for _, ns := range m {
			for k := range ns {
				keys = append(keys, k)
			}
		}
	}
	a.remoteNeighbours = got
	a.refreshNeighbours(keys)
}

// forgetNeighbours drops what was learned behind router ports the
// changes delete.
func (a *Agent) forgetNeighbours(ports map[string]*topology.RouterPort) {
	var keys []string
	for k := range a.learned {
		lrp, _, _ := topology.ParseNeighbourKey(k)
		if p, changed := ports[lrp]; changed && p == nil {
			delete(a.learned, k)
			keys = append(keys, k)
		}
	}
	a.refreshNeighbours(keys)
}

// neighbourOf is the MAC the agent routes k with: its own, else the
// first chassis' by name that published it ("": none).
func (a *Agent) neighbourOf(k string) string {
	if mac, ok := a.learned[k]; ok {
		return mac
	}
	best, mac := "", ""
	for ch, ns := range a.remoteNeighbours {
		if m, ok := ns[k]; ok && (best == "" || ch < best) {
			best, mac = ch, m
		}
	}
	return mac
}

// refreshNeighbours brings the neighbours routed with up to date for
// keys, and hands the renderer what changed.
func (a *Agent) refreshNeighbours(keys []string) {
	for _, k := range keys {
		mac := a.neighbourOf(k)
		if a.neighbours[k] == mac {
			continue
		}
		lrp, ip, ok := topology.ParseNeighbourKey(k)
		if !ok {
			continue
		}
		if mac == "" {
			delete(a.neighbours, k)
		} else {
			a.neighbours[k] = mac
		}
		if a.todo.Neighbours == nil {
			a.todo.Neighbours = map[string]map[string]string{}
		}
		if a.todo.Neighbours[lrp] == nil {
			a.todo.Neighbours[lrp] = map[string]string{}
		}
		a.todo.Neighbours[lrp][ip.String()] = mac
		a.dirty = true
	}
}

// nestedNeighbours are the neighbours routed with, as the renderer's Env
// holds them.
func (a *Agent) nestedNeighbours() map[string]map[string]string {
	out := map[string]map[string]string{}
	for k, mac := range a.neighbours {
		if lrp, ip, ok := topology.ParseNeighbourKey(k); ok {
			if out[lrp] == nil {
				out[lrp] = map[string]string{}
			}
			out[lrp][ip.String()] = mac
		}
	}
	return out
}
