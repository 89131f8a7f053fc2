package pipeline

import (
	"hash/fnv"
	"math"
	"net"

	"github.com/chainwire/chainwire/topology"
	"github.com/chainwire/chainwire/topology/expr"
)

// Service chains (the seed design, "Day in the life of a packet").
//
// A classifier names a port T (MAC Mt) and a chain of port pair groups.
// Traffic is steered by Mt: towards T (eth.dst == Mt) or from T
// (eth.src == Mt), and by the classifier's match. In ls_in_chain:
//
//   - priority 100 (+ classifier priority) enters the chain: the packet's
//     logical outport becomes the first group's VNF port;
//   - priority 150 (+ classifier priority) matches a packet coming back
//     from a VNF port of the path and sends it to the next group, or,
//     after the last group, lets it continue (towards T: `next;`) or
//     re-injects it as if T had sent it (from T: the seed's answer to the
//     MAC-learning problem), on T's chassis, after ls_in_chain;
//   - priority 200 picks the member of a load-balanced group.
//
// Re-injection goes through ls_out_chain: on T's own chassis directly, and
// from another chassis over Geneve with T's key as both ingress and
// egress port (the tunnel classifier turns that pair into a re-injection;
// T's own traffic never crosses a tunnel back to T's chassis, so the pair
// is unambiguous).
//
// A group with several pairs spreads connections: the flow that sends a
// packet towards the group stores the chain hop in reg9[8..31] and a
// symmetric hash of the packet's addresses and ports, modulo 64, in
// reg9[0..5], and resubmits to ls_in_chain, where one priority-200 flow
// per bucket block names the member. The hash is the same for a request
// and its reply, and the bucket-to-member table is the same in both
// directions, so a reply crosses the very VNF instance its request did,
// whichever chassis computes it. Buckets go to members by weighted
// rendezvous hashing: adding or removing a member moves only the buckets
// it gains or loses.
//
// VNFs are bump-in-the-wire: frames are never rewritten, so every hop
// re-classifies with the classifier's match.

const (
	prioChainEntry    = 100
	prioChainHop      = 150
	prioChainBucket   = 200
	prioChainReinject = 110 // tunnel classifier, above the generic 100
)

// member is one VNF instance of a group on a path: it receives on enter
// and emits on exit.
type member struct {
	name        string
	enter, exit *portView
	weight      uint32
}

// group is one hop of a path. Every member's frames are taken back
// (one may be on its way as its pair goes down); only healthy members
// get new ones.
type group struct {
	members []member
	up      []member              // the healthy members
	buckets [chainBucketCount]int // bucket -> index in up
	tap     bool                  // copies only: the path goes on at once
	open    bool                  // with no healthy member, skip the hop (else drop)
}

// reversed is the group as the reverse path crosses it.
func (g group) reversed() group {
	flip := func(ms []member) []member {
		var out []member
		for _, m := range ms {
			out = append(out, member{name: m.name, enter: m.exit, exit: m.enter, weight: m.weight})
		}
		return out
	}
	r := g
	r.members, r.up = flip(g.members), flip(g.up)
	return r
}

// chainPath is one direction of a classifier through its chain.
type chainPath struct {
	cls     *topology.Classifier
	key     uint64 // cookie object id: chain key << 16 | classifier key
	reverse bool
	target  *portView
	mac     net.HardwareAddr
	toward  bool // towards T (eth.dst == Mt), else from T (eth.src == Mt)
	groups  []group
	expr    *expr.Expr
}

// classifierFlows renders a classifier's paths, as seen from this
// chassis. A chain with an empty group steers nothing (yet).
func classifierFlows(rd *reader, name string, tun uint32) ([]Flow, error) {
	paths, err := rd.chainPaths(name)
	if err != nil {
		return nil, err
	}
	var out []Flow
	for _, path := range paths {
		picks := map[int]bool{} // groups whose member this chassis picks
		// Traffic towards T may come in by a router from any chassis.
		towards := rd.hasLocalPorts(path.target.dp) || len(rd.routersOf(path.target.p.Switch)) > 0
		out = append(out, path.entry(towards, picks)...)
		for i, g := range path.groups {
			if g.tap {
				continue // what a tap sends is dropped (vnfDropsTheRest)
			}
			for _, m := range g.members {
				out = append(out, path.hopFlows(i, m, picks)...)
			}
		}
		for i := range path.groups {
			if picks[i] {
				out = append(out, path.bucketFlows(i)...)
			}
		}
		if !path.toward && path.target.local() && tun != 0 {
			out = append(out, reinjectFromTunnel(path.target, tun))
		}
	}
	return out, nil
}

// chainPaths resolves a classifier into its paths: one per direction.
func (rd *reader) chainPaths(name string) ([]chainPath, error) {
	cls := rd.classifier(name)
	if cls == nil {
		return nil, nil
	}
	port := func(name string) (*portView, error) {
		p, err := rd.port(name)
		if p != nil && p.p.Switch != cls.Switch {
			p = nil // validation refuses it; never render half of it
		}
		return p, err
	}
	target, err := port(cls.Port)
	chain := rd.chain(cls.Chain)
	if err != nil || target == nil || chain == nil || len(target.macs) == 0 {
		return nil, err
	}
	var fwd []group
	for _, gn := range chain.Groups {
		g := rd.group(gn)
		if g == nil || len(g.Pairs) == 0 {
			return nil, nil
		}
		grp := group{tap: g.Tap(), open: g.FailOpen()}
		for _, pn := range g.Pairs {
			pp := rd.pair(pn)
			if pp == nil {
				return nil, nil
			}
			in, err := port(pp.InPort)
			if err != nil {
				return nil, err
			}
			out, err := port(pp.OutPort)
			if err != nil || in == nil || out == nil {
				return nil, err
			}
			m := member{name: pp.Name, enter: in, exit: out, weight: pp.Weight}
			grp.members = append(grp.members, m)
			if rd.pairUp(pp) {
				grp.up = append(grp.up, m)
			}
		}
		grp.buckets = assignBuckets(grp.up)
		fwd = append(fwd, grp)
	}
	if len(fwd) == 0 {
		return nil, nil
	}
	e, err := expr.Compile(cls.Match)
	if err != nil {
		return nil, nil // validation refuses such a model; never render half of it
	}
	rev := make([]group, len(fwd))
	for i, g := range fwd {
		rev[len(fwd)-1-i] = g.reversed()
	}
	base := chainPath{cls: cls, key: uint64(chain.Key)<<16 | uint64(cls.Key), target: target, mac: target.macs[0]}
	forward, reverse := base, base
	forward.groups, forward.expr = fwd, e
	reverse.groups, reverse.expr, reverse.reverse = rev, e.Mirror(), true
	forward.toward = cls.Direction == topology.EntryLport
	reverse.toward = !forward.toward
	paths := []chainPath{forward}
	if cls.Path == topology.Bidirectional {
		paths = append(paths, reverse)
	}
	return paths, nil
}

// assignBuckets gives each bucket to the member with the highest weighted
// rendezvous score for it (-weight / ln(hash)), so a member's share follows
// its weight and a membership change moves only the buckets that must move.
func assignBuckets(ms []member) [chainBucketCount]int {
	var out [chainBucketCount]int
	for b := range out {
		best, bestScore := 0, math.Inf(-1)
		for i, m := range ms {
			h := fnv.New64a()
			h.Write([]byte(m.name))
			h.Write([]byte{byte(b)})
			u := (float64(mix64(h.Sum64())>>11) + 0.5) / (1 << 53) // in (0, 1)
			if score := -float64(m.weight) / math.Log(u); score > bestScore {
				best, bestScore = i, score
			}
		}
		out[b] = best
	}
	return out
}

// mix64 is splitmix64's finalizer: FNV alone leaves the high bits of
// short, similar inputs (PP1, PP2) nearly equal.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
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

// hopID names "choose a member of group i of this path" in reg9.
func (path *chainPath) hopID(i int) uint32 {
	dir := uint32(0)
	if path.reverse {
		dir = 1
	}
	return uint32(path.cls.Key)<<8 | dir<<7 | uint32(i)
}

// toHop is the action list that sends a packet to hop i of the path:
// straight to a group's only healthy member, or through the hash to one
// of several; a tap gets a copy and the path goes on; past the last
// group, out of the chain. A group without a healthy member drops the
// packet, or with fail-mode open (and always as a tap) is skipped.
func (path *chainPath) toHop(i int, picks map[int]bool) []Action {
	if i == len(path.groups) {
		return path.exit()
	}
	g := path.groups[i]
	var acts []Action
	switch len(g.up) {
	case 0:
		if g.tap || g.open {
			return path.toHop(i+1, picks)
		}
		return nil
	case 1:
		acts = []Action{loadReg(LogOutport, g.up[0].enter.key), Goto{RemoteOutput}}
	default:
		picks[i] = true
		acts = []Action{
			Load{Dst: ChainHashReg, Ofs: chainHopShift, Bits: 32 - chainHopShift, Value: uint64(path.hopID(i))},
			Multipath{Links: chainBucketCount, Dst: ChainHashReg, Bits: ChainBucketBits},
			Resubmit{InChain},
		}
	}
	if !g.tap {
		return acts
	}
	if last := len(acts) - 1; acts[last] == (Goto{RemoteOutput}) {
		acts[last] = Resubmit{RemoteOutput}
	}
	return append([]Action{Clone{Actions: acts}}, path.toHop(i+1, picks)...)
}

// exit is where a packet goes after the path's last group: on towards T,
// or re-injected as T's own on T's chassis (over the tunnel from
// another).
func (path *chainPath) exit() []Action {
	switch {
	case path.toward:
		return []Action{next(InChain)}
	case path.target.local():
		return []Action{loadReg(LogInport, path.target.key), setFlag(FlagChainReinject), Goto{OutChain}}
	default:
		return []Action{loadReg(LogInport, path.target.key), loadReg(LogOutport, path.target.key), Goto{RemoteOutput}}
	}
}

// bucketFlows name the member of group i for each bucket, as aligned
// blocks of buckets.
func (path *chainPath) bucketFlows(i int) []Flow {
	g := path.groups[i]
	var out []Flow
	id := uint64(path.hopID(i)) << chainHopShift
	for b := 0; b < chainBucketCount; {
		size := chainBucketCount
		for size > 1 && (b%size != 0 || !sameMember(g.buckets[b:b+size])) {
			size /= 2
		}
		mask := uint64(chainHopMask) | uint64(chainBucketCount-size)
		m := g.up[g.buckets[b]]
		out = append(out, Flow{Stage: InChain, Priority: prioChainBucket, Cookie: path.cookie(),
			Match:   dpMatch(path.target.dp).WithMasked(ChainHashReg, id|uint64(b), mask),
			Actions: []Action{loadReg(LogOutport, m.enter.key), Goto{RemoteOutput}}})
		b += size
	}
	return out
}

func sameMember(bs []int) bool {
	for _, b := range bs {
		if b != bs[0] {
			return false
		}
	}
	return true
}

// entry steers the path's traffic into its first group. Traffic towards T
// can come from any port, so every chassis with ports on the switch gets
// the rule; traffic from T starts only on T's chassis.
func (path *chainPath) entry(switchIsLocal bool, picks map[int]bool) []Flow {
	base := path.keyMatch()
	if path.toward {
		if !switchIsLocal {
			return nil
		}
		// A VNF's own frame towards T is never steered: only its hop
		// forwards what it sends.
		base = base.WithMasked(LogFlags, 0, FlagFromVNF)
	} else {
		if !path.target.local() {
			return nil
		}
		base = base.With(LogInport, uint64(path.target.key))
	}
	return path.classified(base, uint16(prioChainEntry+path.cls.Priority), path.toHop(0, picks))
}

// hopFlows handle the packet member m of group i emits: on to the next
// group, or out of the chain. They live where the emitting port is bound.
func (path *chainPath) hopFlows(i int, m member, picks map[int]bool) []Flow {
	if !m.exit.local() {
		return nil
	}
	acts := path.toHop(i+1, picks)
	base := path.keyMatch().With(LogInport, uint64(m.exit.key))
	return path.classified(base, uint16(prioChainHop+path.cls.Priority), acts)
}

// classified renders base && the classifier's match: one flow per plain
// match; a term with several port ranges becomes a conjunctive match (one
// clause per range field, plus the flow on conj_id) instead of the cross
// product of the ranges' covers. Flows that hash into a group's buckets
// must not match again after the resubmit that follows the hash.
func (path *chainPath) classified(base Match, prio uint16, acts []Action) []Flow {
	if hashes(acts) {
		base = base.WithMasked(ChainHashReg, 0, chainHopMask)
	}
	return matchFlows(InChain, prio, path.cookie(), base, path.expr, acts, path.conjID)
}

// hashes reports whether acts hash into a group's buckets, themselves
// or in a tap's clone.
func hashes(acts []Action) bool {
	for _, a := range acts {
		switch a := a.(type) {
		case Multipath:
			return true
		case Clone:
			if hashes(a.Actions) {
				return true
			}
		}
	}
	return false
}

// conjID is unique per classifier, direction and term.
func (path *chainPath) conjID(term int) (uint32, bool) {
	dir := uint32(0)
	if path.reverse {
		dir = 1
	}
	return uint32(path.cls.Key)<<16 | dir<<15 | uint32(term), term < 1<<15
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
			Load{Dst: LogFlags, Ofs: 1, Bits: 2, Value: 0}, // reinjected, and no longer the VNF's
			loadReg(LogOutport, 0),
			Resubmit{InARPRsp},
		}}
}

// prioVNFSkip puts the VNF flows above every ACL flow of their tables.
const prioVNFSkip = 65535

// vnfSkipsACLs sends a VNF's frames from its port straight to
// ls_in_chain: they were checked, tracked and committed on their
// workload's hop, and a second conntrack entry per VNF hop would break
// stateful ACLs.
func vnfSkipsACLs() Flow {
	return Flow{Stage: InPreACL, Priority: prioVNFSkip, Cookie: MakeCookie(FeatureChain, KindGlobal, 0),
		Match: Match{}.WithMasked(LogFlags, FlagFromVNF, FlagFromVNF), Actions: []Action{Goto{InChain}}}
}

// vnfDropsTheRest drops what a VNF port sends that no chain hop of
// ls_in_chain takes: its own ARP and pings, frames with other MACs.
func vnfDropsTheRest() Flow {
	return Flow{Stage: InChain, Priority: prioLow, Cookie: MakeCookie(FeatureChain, KindGlobal, 0),
		Match: Match{}.WithMasked(LogFlags, FlagFromVNF, FlagFromVNF)}
}

// vnfDeliverySkipsACLs delivers a chain hop's frame to a local VNF port
// without the to-lport ACLs: they apply where the frame reaches its
// workload.
func vnfDeliverySkipsACLs(p *portView) Flow {
	return Flow{Stage: OutPreACL, Priority: prioVNFSkip, Cookie: PortCookie(FeatureChain, p.dp, p.key),
		Match: dpMatch(p.dp).With(LogOutport, uint64(p.key)), Actions: []Action{Goto{OutPortSecIP}}}
}

var exprFields = map[expr.Field]Field{
	expr.EthSrc: FieldEthSrc, expr.EthDst: FieldEthDst, expr.EthType: FieldEthType, expr.IPProto: FieldIPProto,
	expr.IP4Src: FieldIPv4Src, expr.IP4Dst: FieldIPv4Dst, expr.IP6Src: FieldIPv6Src, expr.IP6Dst: FieldIPv6Dst,
	expr.TCPSrc: FieldTCPSrc, expr.TCPDst: FieldTCPDst, expr.UDPSrc: FieldUDPSrc, expr.UDPDst: FieldUDPDst,
	expr.ICMP4Type: FieldICMPv4Type, expr.ICMP6Type: FieldICMPv6Type,
	expr.InPort: LogInport, expr.OutPort: LogOutport, expr.VLANTCI: FieldVlanTCI,
	expr.IPDSCP: FieldIPDSCP, expr.IPECN: FieldIPECN, expr.IPTTL: FieldIPTTL, expr.IPFrag: FieldIPFrag,
	expr.ICMP4Code: FieldICMPv4Code, expr.ICMP6Code: FieldICMPv6Code,
	expr.ARPOp: FieldARPOp, expr.ARPSPA: FieldARPSPA, expr.ARPTPA: FieldARPTPA, expr.ARPSHA: FieldARPSHA, expr.ARPTHA: FieldARPTHA,
	expr.NDTarget: FieldNDTarget, expr.NDSLL: FieldNDSLL, expr.NDTLL: FieldNDTLL,
	expr.TCPFlags: FieldTCPFlags, expr.SCTPSrc: FieldSCTPSrc, expr.SCTPDst: FieldSCTPDst,
	expr.CTState: FieldCtState, expr.CTMark: FieldCtMark, expr.CTLabel: FieldCtLabel,
}

// widen puts an expression value into a wider pipeline field (a 15-bit
// port key into its 32-bit register): zeros above, and a mask that
// leaves them out.
func widen(f Field, vm expr.VM) (value, mask []byte) {
	pad := f.Bytes() - len(vm.Value)
	if pad <= 0 {
		return vm.Value, vm.Mask
	}
	value = append(make([]byte, pad), vm.Value...)
	if vm.Mask != nil {
		mask = append(make([]byte, pad), vm.Mask...)
	}
	return value, mask
}

// mergeExpr adds a compiled expression match to base; false if the two
// contradict each other (say, eth.dst of the classifier vs T's MAC).
func mergeExpr(base Match, em expr.Match) (Match, bool) {
	m := base
	for _, ef := range em.Fields() {
		f := exprFields[ef]
		value, mask := widen(f, em[ef])
		if cur, ok := m.Get(f); ok {
			merged, ok := intersect(cur, MatchField{Field: f, Value: value, Mask: mask})
			if !ok {
				return nil, false
			}
			m = m.WithBytes(f, merged.Value, merged.Mask)
			continue
		}
		m = m.WithBytes(f, value, mask)
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
