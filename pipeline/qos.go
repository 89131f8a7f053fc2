package pipeline

import (
	"github.com/chainwire/chainwire/topology"
	"github.com/chainwire/chainwire/topology/expr"
)

// QoS rules mark DSCP and limit rates in ls_in_qos_mark (from-lport) or
// ls_out_qos_mark (to-lport), at the rule's priority: the first rule that
// matches applies both what it marks and what it limits, and the packet
// goes on. (ovn-northd keeps the meter in a stage of its own, so there a
// marking rule and a limiting rule can both hit one packet.) Setting
// ip.dscp needs the packet to be IP, so a marking rule whose match does
// not say which IP renders once for IPv4 and once for IPv6; a rule that
// only limits renders once, for any traffic.
//
// A rate is one OpenFlow meter per rule on each chassis that has the
// rule's flows: everything the rule matches there shares one bucket, as
// with ovn-controller's meters.

func qosStage(direction string) Stage {
	if direction == topology.ToLport {
		return OutQoSMark
	}
	return InQoSMark
}

// qosUnit renders one QoS rule.
func qosUnit(rd *reader, name string) (output, error) {
	q := rd.r.ix.QoSRule(name)
	if q == nil || q.DSCP == nil && q.Rate == 0 {
		return output{}, nil
	}
	sw := rd.sw(q.Switch)
	if sw == nil {
		return output{}, nil
	}
	e, err := expr.CompileEnv(q.Match, &expr.Env{Resolver: aclResolver{rd, q.Switch}, EmptyOK: true})
	if err != nil {
		return output{}, nil // validation refuses such a model; never render half of it
	}
	s := qosStage(q.Direction)
	cookie := MakeCookie(FeatureQoS, KindQoS, uint64(q.Key))
	var out output
	var acts []Action
	if q.Rate > 0 {
		m := Meter{Name: "qos:" + q.Name, ID: qosMeterID(q.Key), Rate: q.Rate, Burst: q.Burst}
		out.meters = []Meter{m}
		acts = append(acts, SetMeter{ID: m.ID})
	}
	families := []Match{nil}
	if q.DSCP != nil {
		acts = append(acts, Load{Dst: FieldIPDSCP, Value: uint64(*q.DSCP)})
		families = ipFamilies
	}
	acts = append(acts, next(s))
	for i, ip := range families {
		id := uint32(q.Key)<<8 | uint32(i)<<5
		out.flows = append(out.flows, matchFlows(s, uint16(q.Priority), cookie, mergeMatch(dpMatch(sw.Key), ip), e, acts,
			func(term int) (uint32, bool) { return id | uint32(term), term < 32 })...)
	}
	return out, nil
}
