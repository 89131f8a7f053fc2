package agent

import (
	"bytes"
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/topology"
)

var (
	routerMAC = net.HardwareAddr{2, 0, 0, 0, 0xff, 2}
	vmMAC     = net.HardwareAddr{2, 0, 0, 0, 2, 0x0c}
)

func TestARPRequestAndReply(t *testing.T) {
	req := arpRequest(routerMAC, net.ParseIP("10.0.2.1"), net.ParseIP("10.0.2.12"))
	if len(req) != 42 || !bytes.Equal(req[:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) || !bytes.Equal(req[6:12], routerMAC) ||
		be.Uint16(req[12:]) != 0x0806 || be.Uint16(req[20:]) != 1 || !net.IP(req[28:32]).Equal(net.ParseIP("10.0.2.1")) ||
		!net.IP(req[38:42]).Equal(net.ParseIP("10.0.2.12")) {
		t.Fatalf("ARP request % x", req)
	}
	// The VM's reply, as Linux builds it.
	reply := append(append([]byte(nil), routerMAC...), vmMAC...)
	reply = append(reply, 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2)
	reply = append(append(reply, vmMAC...), 10, 0, 2, 12)
	reply = append(append(reply, routerMAC...), 10, 0, 2, 1)
	ip, mac, err := replySender(reply)
	if err != nil || !ip.Equal(net.ParseIP("10.0.2.12")) || mac.String() != vmMAC.String() {
		t.Fatalf("reply sender %s at %s (%v)", ip, mac, err)
	}
	if _, _, err := replySender(req); err == nil {
		t.Error("a request was taken for a reply")
	}
}

func TestSolicitationAndAdvertisement(t *testing.T) {
	target := net.ParseIP("fd00:2::12")
	ns := neighbourSolicit(routerMAC, net.ParseIP("fd00:2::1"), target)
	if !bytes.Equal(ns[:6], []byte{0x33, 0x33, 0xff, 0, 0, 0x12}) || ns[ethHeader+7] != 255 ||
		!net.IP(ns[ethHeader+24:ethHeader+40]).Equal(net.ParseIP("ff02::1:ff00:12")) {
		t.Fatalf("solicitation % x", ns)
	}
	// ndAdvert answers it as the switch's responder would: a valid NA.
	userdata := append(append([]byte{pipeline.OpNDAdvert}, vmMAC...), target.To16()...)
	na, err := ndAdvert(ns, userdata)
	if err != nil {
		t.Fatal(err)
	}
	ip, mac, err := replySender(na)
	if err != nil || !ip.Equal(target) || mac.String() != vmMAC.String() {
		t.Fatalf("advertisement sender %s at %s (%v)", ip, mac, err)
	}
	// Without the option, the frame's source is the address.
	bare := append([]byte(nil), na[:len(na)-8]...)
	be.PutUint16(bare[ethHeader+4:], be.Uint16(bare[ethHeader+4:])-8)
	if ip, mac, err := replySender(bare); err != nil || !ip.Equal(target) || mac.String() != vmMAC.String() {
		t.Fatalf("bare advertisement: %s at %s (%v)", ip, mac, err)
	}
}

// Whatever the network sends, nothing panics and nothing odd is learned.
func TestReplySenderRefuses(t *testing.T) {
	reply := append(append([]byte(nil), routerMAC...), vmMAC...)
	reply = append(reply, 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2)
	reply = append(append(reply, 1, 0, 0x5e, 0, 0, 1), 10, 0, 2, 12) // a multicast sender
	reply = append(append(reply, routerMAC...), 10, 0, 2, 1)
	if _, _, err := replySender(reply); err == nil {
		t.Error("a multicast MAC was learned")
	}
	for n := 0; n < len(reply); n++ {
		replySender(reply[:n])
	}
	na, _ := ndAdvert(neighbourSolicit(routerMAC, net.ParseIP("fd00:2::1"), net.ParseIP("fd00:2::12")),
		append(append([]byte{pipeline.OpNDAdvert}, vmMAC...), net.ParseIP("fd00:2::12").To16()...))
	na[len(na)-7] = 0 // an option of length 0
	for n := 0; n <= len(na); n++ {
		replySender(na[:n])
	}
}

func TestAskerLimitsRequests(t *testing.T) {
	var k asker
	now := time.Now()
	if !k.due("10.0.2.12", now) || k.due("10.0.2.12", now.Add(askInterval/2)) || !k.due("10.0.2.13", now) {
		t.Fatal("a next hop is asked for once per interval, each on its own")
	}
	if !k.due("10.0.2.12", now.Add(askInterval)) {
		t.Fatal("a next hop is asked for again after the interval")
	}
	for i := range 2 * askedMax {
		k.due(net.IPv4(10, 1, byte(i>>8), byte(i)).String(), now)
	}
	if len(k.last) > askedMax {
		t.Fatalf("%d next hops remembered", len(k.last))
	}
}

func routedModel(m *topology.Model) error {
	m.Switches = append(m.Switches, topology.Switch{Name: "S1", Key: 1}, topology.Switch{Name: "S2", Key: 2})
	m.Routers = append(m.Routers, topology.Router{Name: "R", Key: 3})
	m.RouterPorts = append(m.RouterPorts,
		topology.RouterPort{Name: "r1", Router: "R", Key: 1, MAC: "02:00:00:00:ff:01", Networks: []string{"10.0.1.1/24"}},
		topology.RouterPort{Name: "r2", Router: "R", Key: 2, MAC: routerMAC.String(), Networks: []string{"10.0.2.1/24", "fd00:2::1/64"}})
	m.Ports = append(m.Ports,
		topology.Port{Name: "rp1", Switch: "S1", Key: 1, Type: topology.PortTypeRouter, Options: map[string]string{"router-port": "r1"}},
		topology.Port{Name: "rp2", Switch: "S2", Key: 1, Type: topology.PortTypeRouter, Options: map[string]string{"router-port": "r2"}},
		topology.Port{Name: "p1", Switch: "S1", Key: 2, Addresses: []string{"02:00:00:00:01:0a 10.0.1.10"}})
	return nil
}

// resolvesTo reports whether the switch holds a next-hop flow that sets
// mac.
func resolvesTo(r *rig, mac string) bool {
	hw, _ := net.ParseMAC(mac)
	want := pipeline.Load{Dst: pipeline.FieldEthDst, Value: uint64(hw[0])<<40 | uint64(be.Uint32(hw[1:5]))<<8 | uint64(hw[5])}
	for _, f := range r.sw.Flows() {
		if f.Stage == pipeline.LrInARPResolve && len(f.Actions) > 0 && f.Actions[0] == want {
			return true
		}
	}
	return false
}

// What the agent learns it publishes and routes with; what another
// chassis published it routes with too, its own first; an address
// outside the port's networks is not learned.
func TestNeighboursLearnedAndShared(t *testing.T) {
	r := start(t)
	r.bind(map[string]uint32{"p1": 1})
	ctx := context.Background()
	// A reply before any model is nothing to learn from.
	r.agent.post(ctx, func() { r.agent.onLearned("r2", net.ParseIP("10.0.2.12"), vmMAC) })
	m := r.update(routedModel)
	r.eventually("hv1 applies the model", func() bool { return r.status().Generation == m.Generation })
	learn := func(ip string, mac net.HardwareAddr) {
		r.agent.post(ctx, func() { r.agent.onLearned("r2", net.ParseIP(ip), mac) })
	}
	learn("10.0.2.12", vmMAC)
	learn("10.9.9.9", net.HardwareAddr{2, 0, 0, 0, 9, 9})
	r.eventually("hv1 publishes and routes with 10.0.2.12", func() bool {
		n := r.status().Neighbours
		return len(n) == 1 && n["r2 10.0.2.12"] == vmMAC.String() && resolvesTo(r, vmMAC.String())
	})
	if resolvesTo(r, "02:00:00:00:09:09") {
		t.Error("a neighbour outside r2's networks is routed with")
	}
	other := "02:00:00:00:02:0d"
	if err := r.store.PublishStatus(topology.Status{Chassis: "hv2", Heartbeat: 1, Updated: time.Now().UTC(),
		Neighbours: map[string]string{"r2 10.0.2.13": other, "r2 10.0.2.12": "02:00:00:00:02:99"}}); err != nil {
		t.Fatal(err)
	}
	r.eventually("hv1 routes with hv2's 10.0.2.13", func() bool { return resolvesTo(r, other) })
	if resolvesTo(r, "02:00:00:00:02:99") || !resolvesTo(r, vmMAC.String()) {
		t.Error("hv2's 10.0.2.12 replaced hv1's own")
	}
	// The router port gone, what was learned behind it goes too.
	r.update(func(m *topology.Model) error {
		m.RouterPorts = slices.DeleteFunc(m.RouterPorts, func(p topology.RouterPort) bool { return p.Name == "r2" })
		m.Ports = slices.DeleteFunc(m.Ports, func(p topology.Port) bool { return p.Name == "rp2" })
		return nil
	})
	r.eventually("hv1 forgets r2's neighbours", func() bool { return len(r.status().Neighbours) == 0 })
}
