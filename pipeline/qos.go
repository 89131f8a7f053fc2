package pipeline

import (
	"github.com/chainwire/chainwire/topology"
	"github.com/chainwire/chainwire/topology/expr"
)

// QoS rules mark DSCP in ls_in_qos_mark (from-lport) or ls_out_qos_mark
// (to-lport), at the rule's priority, as ovn-northd does: the first rule
// that matches sets ip.dscp and the packet goes on. Setting ip.dscp needs
// the packet to be IP, so a rule whose match does not say which IP
// renders once for IPv4 and once for IPv6.

func qosStage(direction string) Stage {
	if direction == topology.ToLport {
		return OutQoSMark
	}
	return InQoSMark
}

// qosUnit renders one QoS rule.
func qosUnit(rd *reader, name string) ([]Flow, error) {
	q := rd.r.ix.QoSRule(name)
	if q == nil || q.DSCP == nil {
		return nil, nil
	}
	sw := rd.sw(q.Switch)
	if sw == nil {
		return nil, nil
	}
	e, err := expr.CompileEnv(q.Match, &expr.Env{Resolver: aclResolver{rd, q.Switch}, EmptyOK: true})
	if err != nil {
		return nil, nil // validation refuses such a model; never render half of it
	}
	s := qosStage(q.Direction)
	cookie := MakeCookie(FeatureQoS, KindQoS, uint64(q.Key))
	acts := []Action{Load{Dst: FieldIPDSCP, Value: uint64(*q.DSCP)}, next(s)}
	var out []Flow
	for i, ip := range ipFamilies {
		id := uint32(q.Key)<<8 | uint32(i)<<5
		out = append(out, matchFlows(s, uint16(q.Priority), cookie, mergeMatch(dpMatch(sw.Key), ip), e, acts,
			func(term int) (uint32, bool) { return id | uint32(term), term < 32 })...)
	}
	return out, nil
}
