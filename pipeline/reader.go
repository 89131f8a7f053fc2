package pipeline

import (
	"fmt"
	"net"

	"github.com/chainwire/chainwire/topology"
)

// A unit renders by reading the model and the chassis' state through a
// reader, which records every name it looks up as a dependency: when the
// object of that name changes (appears, goes, or takes another value),
// the unit renders again. Looking up a name that does not exist is a
// dependency too, so a unit that waits for an object hears of it.
type reader struct {
	r    *Renderer
	self unitID
	deps []dep
}

// dep is something a unit read: a model object by kind and name, or a
// fact about the chassis.
type dep struct {
	kind depKind
	name string
	dp   uint32 // depLocalPorts only
}

type depKind uint8

const (
	depChassis depKind = iota
	depSwitch
	depPort
	depPair
	depGroup
	depChain
	depClassifier
	depOFPort     // the port's local OpenFlow port
	depZone       // the port's conntrack zone
	depBinding    // the chassis another agent says the port is bound on
	depVNF        // whether a port pair uses the port
	depLocalPorts // whether a switch has ports on this chassis
	depPortGroup
	depAddressSet
	depStateful   // whether a switch tracks connections (aclunits.go)
	depDHCP       // DHCP options, by name
	depDNS        // a switch's DNS records, by switch name
	depHealth     // whether a health check found a pair down
	depRouter     // a router, with the set of its ports
	depRouterPort // a router port, with the switch port peered with it
	depRouted     // the routers a switch is attached to
	depNeighbour  // the neighbours learned behind a router port
)

func (rd *reader) use(k depKind, name string) {
	d := dep{kind: k, name: name}
	if id, own := d.unit(); own && id == rd.self {
		return // a unit always renders again when its own object changes
	}
	rd.deps = append(rd.deps, d)
}

// unit is the unit whose own object a dependency is about, if any.
func (d dep) unit() (unitID, bool) {
	switch d.kind {
	case depSwitch:
		return unitID{unitSwitch, d.name}, true
	case depPort, depOFPort, depZone, depBinding, depVNF:
		return unitID{unitPort, d.name}, true
	case depClassifier:
		return unitID{unitClassifier, d.name}, true
	case depRouter:
		return unitID{unitRouter, d.name}, true
	}
	return unitID{}, false
}

func (rd *reader) chassis(name string) *topology.Chassis {
	rd.use(depChassis, name)
	return rd.r.ix.Chassis(name)
}

func (rd *reader) sw(name string) *topology.Switch {
	rd.use(depSwitch, name)
	return rd.r.ix.Switch(name)
}

func (rd *reader) pair(name string) *topology.PortPair {
	rd.use(depPair, name)
	return rd.r.ix.PortPair(name)
}

func (rd *reader) group(name string) *topology.PortPairGroup {
	rd.use(depGroup, name)
	return rd.r.ix.PortPairGroup(name)
}

func (rd *reader) chain(name string) *topology.PortChain {
	rd.use(depChain, name)
	return rd.r.ix.PortChain(name)
}

func (rd *reader) classifier(name string) *topology.Classifier {
	rd.use(depClassifier, name)
	return rd.r.ix.Classifier(name)
}

// hasLocalPorts reports whether any port of the switch is bound here.
func (rd *reader) hasLocalPorts(dp uint32) bool {
	rd.deps = append(rd.deps, dep{kind: depLocalPorts, dp: dp})
	return rd.r.localPorts[dp] > 0
}

// portView is a port as the flow families need it: where it is bound,
// its parsed addresses, whether it takes part in floods.
type portView struct {
	p      *topology.Port
	dp     uint32
	key    uint32
	ofport uint32 // 0: not bound on this chassis
	// remote is the encap IP of the chassis the port is bound on, when
	// that is another chassis.
	remote net.IP
	macs   []net.HardwareAddr
	// unknown: the port receives unicast to unknown MACs.
	unknown bool
	// vnf: the port belongs to a port pair. It gets no flooded traffic: a
	// two-armed bridge VNF would send it back in by its other arm.
	vnf bool
	// zone is the local port's conntrack zone.
	zone uint16
	// sec is the parsed port security.
	sec []topology.Security
	// addrs are the port's addresses with IPs.
	addrs []topology.Address
	// lbs: its switch has load balancers.
	lbs bool
	// router: a router-type port, everywhere at once: its router port.
	router *routerPort
}

func (p *portView) local() bool   { return p.ofport != 0 }
func (p *portView) enabled() bool { return p.p.IsEnabled() }

// port looks a port up and resolves it; nil if it or its switch does not
// exist.
func (rd *reader) port(name string) (*portView, error) {
	rd.use(depPort, name)
	p := rd.r.ix.Port(name)
	if p == nil {
		return nil, nil
	}
	sw := rd.sw(p.Switch)
	if sw == nil {
		return nil, nil
	}
	if p.Type == topology.PortTypeRouter {
		return rd.routerTypePort(p, sw)
	}
	env := &rd.r.env
	rd.use(depVNF, name)
	rd.use(depOFPort, name)
	pv := &portView{p: p, dp: sw.Key, key: p.Key, vnf: len(rd.r.ix.PairsOfPort(name)) > 0, lbs: len(sw.LoadBalancers) > 0}
	rc := p.RequestedChassis()
	if rc == "" && env.OFPorts[name] == 0 {
		rd.use(depBinding, name)
		rc = env.Bindings[name] // bound elsewhere, as its agent says
	}
	switch {
	case rc == "" || rc == env.Chassis:
		pv.ofport = env.OFPorts[name]
		if pv.ofport != 0 {
			rd.use(depZone, name)
			pv.zone = env.Zones[name]
		}
	default:
		if ch := rd.chassis(rc); ch != nil {
			pv.remote = net.ParseIP(ch.IP).To4()
		}
	}
	for _, a := range p.Addresses {
		addr, err := topology.ParseAddress(a)
		if err != nil {
			return nil, fmt.Errorf("port %q: %v", name, err)
		}
		if addr.Unknown {
			pv.unknown = true
			continue
		}
		pv.macs = append(pv.macs, addr.MAC)
		if len(addr.IPs) > 0 {
			pv.addrs = append(pv.addrs, addr)
		}
	}
	for _, s := range p.PortSecurity {
		sec, err := topology.ParseSecurity(s)
		if err != nil {
			return nil, fmt.Errorf("port %q: %v", name, err)
		}
		pv.sec = append(pv.sec, sec)
	}
	return pv, nil
}
