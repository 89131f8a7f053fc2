package pipeline

import (
	"strings"

	"github.com/chainwire/chainwire/topology"
	"github.com/chainwire/chainwire/topology/expr"
)

// ACLs, as ovn-northd renders them (its 2017 form, one acl stage per
// direction). An ACL applies to its switch, or to every switch with a
// port in its port group. A switch is stateful when an allow-related ACL
// applies to it; then all its IP traffic goes through conntrack in the
// zone of the port the pipeline works for (pre_acl marks it, pre_stateful
// tracks it), and:
//
//   - replies and related traffic of committed connections pass
//     (priority 65535), invalid packets and replies of connections an
//     ACL has since dropped do not;
//   - an allow ACL (allow-related, and plain allow, which is then
//     stateful too) commits new connections and passes established ones;
//   - a drop or reject ACL drops, and marks an established connection it
//     now matches as blocked (ct_label bit 0), so that its replies stop
//     as well; a later allow ACL can unblock it (commit again);
//   - traffic no ACL matches is allowed and committed (priority 1).
//
// On a switch without allow-related ACLs, ACLs are plain matches: next
// or drop. allow-stateless always skips conntrack. Frames a VNF sends in
// its chain role and re-injected frames skip these stages (chain.go).

const (
	aclPrioOffset = 1000  // OVN_ACL_PRI_OFFSET: ACL priorities 0..32767 land at 1000..33767
	prioACLSkip   = 110   // pre_acl: traffic conntrack must not see
	prioACLTrack  = 100   // pre_acl: all other IP
	prioACLState  = 65535 // acl: the conntrack verdicts above every ACL
)

// ctLabelBlocked is ct_label bit 0: an ACL has dropped this connection.
const ctLabelBlocked = 1

// ct_state patterns (value, mask) of the acl stage.
var (
	ctInvalid     = ctPattern(CtInv, 0)
	ctNewOnly     = ctPattern(CtNew, CtEst)
	ctEstOrig     = ctPattern(CtEst, CtNew|CtRpl)
	ctEstReply    = ctPattern(CtEst|CtRpl, CtNew|CtRel|CtInv)
	ctRelatedOnly = ctPattern(CtRel, CtNew|CtEst|CtInv)
	ctEstAny      = ctPattern(CtEst, 0)
	ctNotEst      = ctPattern(0, CtEst)
)

type ctMatch struct{ v, m uint64 }

// ctPattern is a tracked packet with the set bits on and the clear bits
// off.
func ctPattern(set, clear uint64) ctMatch {
	return ctMatch{set | CtTrk, set | clear | CtTrk}
}

func (c ctMatch) on(m Match) Match { return m.WithMasked(FieldCtState, c.v, c.m) }

func blocked(m Match, yes bool) Match {
	v := uint64(0)
	if yes {
		v = ctLabelBlocked
	}
	return m.WithMasked(FieldCtLabel, v, ctLabelBlocked)
}

// aclStages is a direction's stages.
type aclStages struct{ pre, track, acl, stateful Stage }

var (
	ingressACL = aclStages{InPreACL, InPreStateful, InACL, InStateful}
	egressACL  = aclStages{OutPreACL, OutPreStateful, OutACL, OutStateful}
)

func stagesOf(direction string) aclStages {
	if direction == topology.ToLport {
		return egressACL
	}
	return ingressACL
}

func afterTrack(s Stage) Stage {
	n, _ := s.Next()
	return n
}

// conntrackFlows are the chassis-wide halves: tracking what pre_acl
// marked, in the zone of reg13, and committing what acl chose to commit.
func conntrackFlows() []Flow {
	cookie := MakeCookie(FeatureACL, KindGlobal, 0)
	out := []Flow{answersSkipACLs()}
	for _, st := range []aclStages{ingressACL, egressACL} {
		for _, ip := range ipFamilies { // OVS's prerequisite of ct()
			out = append(out,
				Flow{Stage: st.track, Priority: prioACLTrack, Cookie: cookie,
					Match: ip.WithMasked(ACLBits, ACLTrack, ACLTrack),
					// Back to the stage after pre_stateful: egress has
					// ls_out_lb before its ACLs.
					Actions: []Action{Ct{ZoneReg: LogCtZone, Recirc: true, Table: afterTrack(st.track)}}},
				Flow{Stage: st.stateful, Priority: prioACLTrack, Cookie: cookie,
					Match: ip.WithMasked(ACLBits, ACLCommit, ACLCommit),
					Actions: []Action{Ct{Commit: true, ZoneReg: LogCtZone,
						Exec: []Action{Load{Dst: FieldCtLabel, Bits: 1, Value: 0}}}, next(st.stateful)}})
		}
	}
	return out
}

// ipFamilies match IPv4 and IPv6: a flow with a ct() action must say
// which.
var ipFamilies = []Match{Match{}.With(FieldEthType, ethIPv4), Match{}.With(FieldEthType, ethIPv6)}

// answersSkipACLs lets chainwired's answers (to rejected packets,
// solicitations, DHCP requests, DNS queries) past the egress ACLs of the
// port they go to: conntrack would call a RST that answers a connection
// never committed invalid, and a default drop would drop a DHCP offer.
func answersSkipACLs() Flow {
	return Flow{Stage: OutPreACL, Priority: prioVNFSkip, Cookie: MakeCookie(FeatureACL, KindGlobal, 0),
		Match: Match{}.WithMasked(LogFlags, FlagAnswer, FlagAnswer), Actions: []Action{Goto{OutPortSecIP}}}
}

// RejectReplyActions inject chainwired's answer to a packet rejected on
// datapath dp that came in by port in, going to out (0: rejected in
// ingress, before the switch chose an outport): the answer goes from
// out (or in) to in, through the rest of the pipeline.
func RejectReplyActions(dp, in, out uint32) []Action {
	from := out
	if from == 0 {
		from = in
	}
	return []Action{Load{Dst: LogDatapath, Value: uint64(dp)}, loadReg(LogInport, from), loadReg(LogOutport, in),
		setFlag(FlagLoopback), setFlag(FlagAnswer), Resubmit{RemoteOutput}}
}

// statefulSwitchFlows are a stateful switch's own ACL flows, in both
// directions.
func statefulSwitchFlows(dp uint32) []Flow {
	cookie := SwitchCookie(FeatureACL, dp)
	base := dpMatch(dp)
	var out []Flow
	add := func(s Stage, prio uint16, m Match, acts ...Action) {
		out = append(out, Flow{Stage: s, Priority: prio, Cookie: cookie, Match: m, Actions: acts})
	}
	for _, st := range []aclStages{ingressACL, egressACL} {
		for _, t := range ndTypes {
			add(st.pre, prioACLSkip, ndMatch(base, t), next(st.pre))
		}
		for _, et := range []uint64{ethIPv4, ethIPv6} {
			add(st.pre, prioACLTrack, base.With(FieldEthType, et), Load{Dst: ACLBits, Bits: 1, Value: 1}, next(st.pre))
		}
		add(st.acl, prioACLState, ctInvalid.on(base))
		add(st.acl, prioACLState, blocked(ctPattern(CtEst|CtRpl, 0).on(base), true))
		add(st.acl, prioACLState, blocked(ctEstReply.on(base), false), next(st.acl))
		add(st.acl, prioACLState, blocked(ctRelatedOnly.on(base), false), next(st.acl))
		for _, t := range ndTypes {
			add(st.acl, prioACLState, ndMatch(base, t), next(st.acl))
		}
		commit := Load{Dst: ACLBits, Ofs: 1, Bits: 1, Value: 1}
		add(st.acl, prioLow, ctNotEst.on(base), commit, next(st.acl))
		add(st.acl, prioLow, blocked(ctEstAny.on(base), true), commit, next(st.acl))
	}
	return out
}

// ndTypes are the neighbour discovery messages (RS, RA, NS, NA) that
// never go through conntrack.
var ndTypes = []uint64{133, 134, icmp6NS, icmp6NA}

// aclFlows renders one ACL on one switch: match is the compiled match,
// stateful whether the switch tracks connections.
func aclFlows(acl *topology.ACL, dp uint32, match *expr.Expr, stateful bool) []Flow {
	st := stagesOf(acl.Direction)
	prio := uint16(aclPrioOffset + acl.Priority)
	cookie := MakeCookie(FeatureACL, KindACL, uint64(acl.Key))
	base := dpMatch(dp)
	verdict := []Action{next(st.acl)}
	switch acl.Action {
	case topology.ACLDrop:
		verdict = nil
	case topology.ACLReject:
		verdict = []Action{toChainwired(false, OpReject)}
	}
	// logged puts the copy for the log first (the name is at most 63
	// bytes: the userdata stays small).
	logged := func(acts []Action, v string) []Action {
		if !acl.Log {
			return acts
		}
		ud := append([]byte{OpLogACL, verdictCode[v]}, acl.Name...)
		return append([]Action{toChainwired(false, ud...)}, acts...)
	}
	var out []Flow
	add := func(s Stage, p uint16, alt int, m Match, acts []Action) {
		// Conjunction ids: the ACL's key, the ct alternative, the term.
		id := uint32(acl.Key)<<8 | uint32(alt)<<5
		out = append(out, matchFlows(s, p, cookie, m, match, acts, func(term int) (uint32, bool) {
			return id | uint32(term), term < 32
		})...)
	}
	final := logged(verdict, acl.Action)
	switch {
	case acl.Action == topology.ACLAllowStateless:
		add(st.pre, prioACLSkip, 0, base, []Action{next(st.pre)})
		add(st.acl, prio, 1, base, final)
	case !stateful:
		add(st.acl, prio, 0, base, final)
	case acl.Action == topology.ACLAllow || acl.Action == topology.ACLAllowRelated:
		commit := logged([]Action{Load{Dst: ACLBits, Ofs: 1, Bits: 1, Value: 1}, next(st.acl)}, acl.Action)
		add(st.acl, prio, 0, ctNewOnly.on(base), commit)
		add(st.acl, prio, 1, blocked(ctEstOrig.on(base), true), commit)
		add(st.acl, prio, 2, blocked(ctEstOrig.on(base), false), verdict) // an established connection: not logged again
	default: // drop, reject
		add(st.acl, prio, 0, ctNotEst.on(base), final)
		add(st.acl, prio, 1, blocked(ctEstAny.on(base), true), final)
		block := logged([]Action{Ct{Commit: true, ZoneReg: LogCtZone,
			Exec: []Action{Load{Dst: FieldCtLabel, Bits: 1, Value: ctLabelBlocked}}}}, acl.Action)
		for i, ip := range ipFamilies {
			add(st.acl, prio, 2+i, blocked(ctEstAny.on(mergeMatch(base, ip)), false), append(block, verdict...))
		}
	}
	if stateful && acl.Action != topology.ACLAllowStateless {
		// Untracked IP on a stateful switch is what an allow-stateless
		// ACL let past conntrack: it meets this ACL as a plain match.
		untracked := base.WithMasked(FieldCtState, 0, CtTrk)
		add(st.acl, prio, 4, untracked, final)
	}
	return out
}

// verdictCode is an ACL's action in a log packet-in.
var verdictCode = map[string]byte{topology.ACLAllow: 1, topology.ACLAllowRelated: 2, topology.ACLAllowStateless: 3,
	topology.ACLDrop: 4, topology.ACLReject: 5}

// VerdictName is the action a log packet-in's verdict byte names.
func VerdictName(code byte) string {
	for name, c := range verdictCode {
		if c == code {
			return name
		}
	}
	return "unknown"
}

// mergeMatch is a with b's fields added (b wins).
func mergeMatch(a, b Match) Match {
	for _, mf := range b {
		a = a.WithBytes(mf.Field, mf.Value, mf.Mask)
	}
	return a
}

// matchFlows renders base && e in stage s: one flow per plain match; a
// term with alternatives on several fields becomes a conjunctive match
// (a clause per field, and the flow on conj_id) rather than their cross
// product. conjID names a term's conjunction, unique in the stage; a term
// it has no id for is expanded.
func matchFlows(s Stage, prio uint16, cookie uint64, base Match, e *expr.Expr, acts []Action, conjID func(term int) (uint32, bool)) []Flow {
	var out []Flow
	for ti, t := range e.Terms() {
		fixed, ok := mergeExpr(base, t.Fixed)
		if !ok {
			continue
		}
		id, conj := conjID(ti)
		if len(t.Alts) <= 1 || !conj {
			for _, m := range (expr.Term{Alts: t.Alts}).Expand() {
				if full, ok := mergeExpr(fixed, m); ok {
					out = append(out, Flow{Stage: s, Priority: prio, Cookie: cookie, Match: full, Actions: acts})
				}
			}
			continue
		}
		n := uint8(len(t.Alts))
		for ci, alt := range t.Alts {
			for _, vm := range alt.Values {
				m, ok := mergeExpr(fixed, expr.Match{alt.Field: vm})
				if !ok {
					continue
				}
				out = append(out, Flow{Stage: s, Priority: prio, Cookie: cookie, Match: m,
					Actions: []Action{Conjunction{ID: id, Clause: uint8(ci + 1), NClause: n}}})
			}
		}
		// The conj_id flow repeats the base so that ids may repeat across
		// contexts (switches, ct states) in one stage.
		out = append(out, Flow{Stage: s, Priority: prio, Cookie: cookie, Match: base.With(FieldConjID, uint64(id)), Actions: acts})
	}
	return out
}

// aclResolver is topology's MatchResolver for one switch (a port elsewhere
// matches nothing; @PG is the group's ports on the switch; $PG_ip4 and
// $PG_ip6 its ports' addresses), recording what a match looked up as the
// unit's dependencies.
type aclResolver struct {
	rd *reader
	sw string
}

func (a aclResolver) names() expr.Resolver { return a.rd.r.ix.MatchResolver(a.sw) }

func (a aclResolver) PortKey(name string) (uint32, bool) {
	a.rd.use(depPort, name)
	return a.names().PortKey(name)
}

func (a aclResolver) PortGroup(name string) ([]uint32, bool) {
	a.usesGroup(name)
	return a.names().PortGroup(name)
}

func (a aclResolver) AddressSet(name string) ([]string, bool) {
	a.rd.addressSet(name)
	for _, suffix := range []string{"_ip4", "_ip6"} {
		if group, derived := strings.CutSuffix(name, suffix); derived {
			a.usesGroup(group)
		}
	}
	return a.names().AddressSet(name)
}

// usesGroup records a port group and its ports (their keys, switches and
// addresses are what the group resolves to).
func (a aclResolver) usesGroup(name string) {
	if pg := a.rd.portGroup(name); pg != nil {
		for _, pn := range pg.Ports {
			a.rd.use(depPort, pn)
		}
	}
}
