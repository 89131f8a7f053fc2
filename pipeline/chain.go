package pipeline

import (
	"net"

	"github.com/chainwire/chainwire/topology"
	"github.com/chainwire/chainwire/topology/expr"
)

// Service chains (the seed design, "Day in the life of a packet").
//
// A classifier names a port T (MAC Mt) and a chain of port pair groups.
// Traffic is steered by Mt: towards T (eth.dst == Mt) or from T
// (eth.src == Mt). In ls_in_chain:
//
//   - priority 100 (+ classifier priority) enters the chain: the packet's
//     logical outport becomes the first VNF port of the path;
//   - priority 150 (+ classifier priority) matches a packet coming back
//     from a VNF port of the path and sends it to the next VNF port, or,
//     after the last VNF, lets it continue (towards T: `next;`) or
//     re-injects it as if T had sent it (from T: the seed's answer to the
//     MAC-learning problem), on T's chassis, after ls_in_chain.
//
// Re-injection goes through ls_out_chain: on T's own chassis directly, and
// from another chassis over Geneve with T's key as both ingress and
// egress port (the tunnel classifier turns that pair into a re-injection;
// T's own traffic never crosses a tunnel back to T's chassis, so the pair
// is unambiguous).
//
// VNFs are bump-in-the-wire: frames are never rewritten. Every hop
// re-classifies with the classifier's match, since nothing but the frame
// crosses a VNF.

const (
	prioChainEntry    = 100
	prioChainHop      = 150
	prioChainReinject = 110 // tunnel classifier, above the generic 100
)

// hop is one VNF on a path: it receives on enter and emits on exit.
type hop struct{ enter, exit *portView }

// chainPath is one direction of a classifier through its chain.
type chainPath struct {
	cls     *topology.Classifier
	key     uint64 // cookie object id: chain key << 16 | classifier key
	target  *portView
	mac     net.HardwareAddr
	toward  bool // towards T (eth.dst == Mt), else from T (eth.src == Mt)
	hops    []hop
	matches []expr.Match
}

// chainPaths resolves the classifiers of a switch into paths. A chain
// with an empty group steers nothing (yet).
func (v *view) chainPaths(sw *swView) []chainPath {
	m := v.in.Model
	byName := map[string]*portView{}
	for _, p := range sw.ports {
		byName[p.p.Name] = p
	}
	var paths []chainPath
	for i := range m.Classifiers {
		cls := &m.Classifiers[i]
		target := byName[cls.Port]
		chain := m.PortChain(cls.Chain)
		if cls.Switch != sw.sw.Name || target == nil || chain == nil || len(target.macs) == 0 {
			continue
		}
		var fwd []hop
		for _, gn := range chain.Groups {
			g := m.PortPairGroup(gn)
			if g == nil || len(g.Pairs) == 0 {
				fwd = nil
				break
			}
			pp := m.PortPair(g.Pairs[0])
			fwd = append(fwd, hop{enter: byName[pp.InPort], exit: byName[pp.OutPort]})
		}
		if len(fwd) == 0 {
			continue
		}
		ms, err := expr.Compile(cls.Match)
		if err != nil {
			continue // validation refuses such a model; never render half of it
		}
		rev := make([]hop, len(fwd))
		for i, h := range fwd {
			rev[len(fwd)-1-i] = hop{enter: h.exit, exit: h.enter}
		}
		base := chainPath{cls: cls, key: uint64(chain.Key)<<16 | uint64(cls.Key), target: target, mac: target.macs[0]}
		forward, reverse := base, base
		forward.hops, forward.matches = fwd, ms
		reverse.hops, reverse.matches = rev, expr.Mirror(ms)
		forward.toward = cls.Direction == topology.EntryLport
		reverse.toward = !forward.toward
		paths = append(paths, forward)
		if cls.Path == topology.Bidirectional {
			paths = append(paths, reverse)
		}
	}
	return paths
}

// chainFlows renders every path of a switch, as seen from this chassis.
func (v *view) chainFlows(sw *swView, tun uint32) []Flow {
	var out []Flow
	reinjectTunnel := map[*portView]bool{}
	hasLocal := false
	for _, p := range sw.ports {
		hasLocal = hasLocal || p.local()
	}
	for _, path := range v.chainPaths(sw) {
		out = append(out, path.entry(hasLocal)...)
		for i := range path.hops {
			out = append(out, path.hopFlows(i)...)
		}
		if !path.toward && path.target.local() && tun != 0 {
			reinjectTunnel[path.target] = true
		}
	}
	for _, p := range sw.ports {
		if reinjectTunnel[p] {
			out = append(out, reinjectFromTunnel(p, tun))
		}
	}
	return out
}

func (path *chainPath) cookie() uint64 { return MakeCookie(FeatureChain, KindClassifier, path.key) }

// keyMatch selects the path's traffic by T's MAC.
func (path *chainPath) keyMatch() Match {
	f := FieldEthSrc
	if path.toward {
		f = FieldEthDst
	}
	return dpMatch(path.target.dp).WithMAC(f, path.mac)
}

// withClassifier multiplies a base match by the classifier's matches.
func (path *chainPath) withClassifier(base Match) []Match {
	var out []Match
	for _, em := range path.matches {
		if m, ok := mergeExpr(base, em); ok {
			out = append(out, m)
		}
	}
	return out
}

// entry steers the path's traffic into its first VNF. Traffic towards T
// can come from any port, so every chassis with ports on the switch gets
// the rule; traffic from T starts only on T's chassis.
func (path *chainPath) entry(switchIsLocal bool) []Flow {
	base := path.keyMatch()
	if path.toward {
		if !switchIsLocal {
			return nil
		}
	} else {
		if !path.target.local() {
			return nil
		}
		base = base.With(LogInport, uint64(path.target.key))
	}
	var out []Flow
	for _, m := range path.withClassifier(base) {
		out = append(out, Flow{Stage: InChain, Priority: uint16(prioChainEntry + path.cls.Priority), Cookie: path.cookie(),
			Match: m, Actions: []Action{loadReg(LogOutport, path.hops[0].enter.key), Goto{RemoteOutput}}})
	}
	return out
}

// hopFlows handle the packet a VNF emits: on to the next VNF, or out of
// the chain. They live where the emitting port is bound.
func (path *chainPath) hopFlows(i int) []Flow {
	h := path.hops[i]
	if !h.exit.local() {
		return nil
	}
	var acts []Action
	switch {
	case i+1 < len(path.hops):
		acts = []Action{loadReg(LogOutport, path.hops[i+1].enter.key), Goto{RemoteOutput}}
	case path.toward:
		acts = []Action{next(InChain)}
	case path.target.local():
		acts = []Action{loadReg(LogInport, path.target.key), setFlag(FlagChainReinject), Goto{OutChain}}
	default:
		acts = []Action{loadReg(LogInport, path.target.key), loadReg(LogOutport, path.target.key), Goto{RemoteOutput}}
	}
	var out []Flow
	for _, m := range path.withClassifier(path.keyMatch().With(LogInport, uint64(h.exit.key))) {
		out = append(out, Flow{Stage: InChain, Priority: uint16(prioChainHop + path.cls.Priority), Cookie: path.cookie(),
			Match: m, Actions: acts})
	}
	return out
}

func setFlag(bit uint32) Action {
	ofs := uint8(0)
	for bit>>ofs != 1 {
		ofs++
	}
	return Load{Dst: LogFlags, Ofs: ofs, Bits: 1, Value: 1}
}

// reinjectFromTunnel recognises a packet sent back to T's chassis with T
// as both ingress and egress port and re-injects it as T's own. Its
// in_port is cleared: the rest of ingress may send it back out of the
// tunnel port it came in by.
func reinjectFromTunnel(t *portView, tun uint32) Flow {
	return Flow{Stage: PhyToLog, Priority: prioChainReinject, Cookie: PortCookie(FeatureChain, t.dp, t.key),
		Match: Match{}.With(FieldInPort, uint64(tun)).With(FieldTunID, uint64(t.dp)).
			With(FieldTunMetadata0, uint64(t.key)<<16|uint64(t.key)),
		Actions: []Action{
			Load{Dst: LogDatapath, Value: uint64(t.dp)},
			loadReg(LogInport, t.key),
			setFlag(FlagChainReinject),
			Load{Dst: FieldLoadInPort, Value: OFPPNone},
			Goto{OutChain},
		}}
}

// chainReinject is ls_out_chain's one rule: a re-injected packet restarts
// the ingress pipeline after ls_in_chain, as if its inport had sent it.
func chainReinject() Flow {
	return Flow{Stage: OutChain, Priority: prioChainHop, Cookie: MakeCookie(FeatureChain, KindGlobal, 0),
		Match: Match{}.WithMasked(LogFlags, FlagChainReinject, FlagChainReinject),
		Actions: []Action{
			Load{Dst: LogFlags, Ofs: 1, Bits: 1, Value: 0},
			loadReg(LogOutport, 0),
			Resubmit{InARPRsp},
		}}
}

var exprFields = map[expr.Field]Field{
	expr.EthSrc: FieldEthSrc, expr.EthDst: FieldEthDst, expr.EthType: FieldEthType, expr.IPProto: FieldIPProto,
	expr.IP4Src: FieldIPv4Src, expr.IP4Dst: FieldIPv4Dst, expr.IP6Src: FieldIPv6Src, expr.IP6Dst: FieldIPv6Dst,
	expr.TCPSrc: FieldTCPSrc, expr.TCPDst: FieldTCPDst, expr.UDPSrc: FieldUDPSrc, expr.UDPDst: FieldUDPDst,
	expr.ICMP4Type: FieldICMPv4Type, expr.ICMP6Type: FieldICMPv6Type,
}

// mergeExpr adds a compiled expression match to base; false if the two
// contradict each other (say, eth.dst of the classifier vs T's MAC).
func mergeExpr(base Match, em expr.Match) (Match, bool) {
	m := base
	for _, ef := range em.Fields() {
		vm := em[ef]
		f := exprFields[ef]
		if cur, ok := m.Get(f); ok {
			merged, ok := intersect(cur, MatchField{Field: f, Value: vm.Value, Mask: vm.Mask})
			if !ok {
				return nil, false
			}
			m = m.WithBytes(f, merged.Value, merged.Mask)
			continue
		}
		m = m.WithBytes(f, vm.Value, vm.Mask)
	}
	return m, true
}

// intersect combines two value/mask matches of one field.
func intersect(a, b MatchField) (MatchField, bool) {
	mask := func(mf MatchField, i int) byte {
		if mf.Mask == nil {
			return 0xff
		}
		return mf.Mask[i]
	}
	v, mk := make([]byte, len(a.Value)), make([]byte, len(a.Value))
	for i := range v {
		ma, mb := mask(a, i), mask(b, i)
		if a.Value[i]&ma&mb != b.Value[i]&ma&mb {
			return MatchField{}, false
		}
		mk[i] = ma | mb
		v[i] = a.Value[i]&ma | b.Value[i]&mb
	}
	return MatchField{Field: a.Field, Value: v, Mask: mk}, true
}
