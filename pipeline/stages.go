// Package pipeline turns the logical model into OpenFlow flows: the stage
// list, the register map, the flow values and the renderer. It is pure: no
// I/O, and the same model always renders the same flows.
package pipeline

import "fmt"

// Stage is one OpenFlow table of the pipeline. The constants are listed in
// pipeline order; names and table numbers come from the bands below, so the
// order here is the only place that defines the pipeline.
type Stage uint8

const (
	// Physical-to-logical: classifies a packet by its OpenFlow in_port
	// (local VIF or tunnel) and loads the logical datapath and ports.
	PhyToLog Stage = iota

	// Logical switch ingress, in the seed's order.
	InPortSecL2
	InPortSecIP
	InPortSecND
	InPreACL
	InPreLB
	InPreStateful
	InACL
	InQoSMark
	InLB
	InStateful
	InChain
	InARPRsp
	InDHCPOptions
	InDHCPResponse
	InDNSLookup
	InDNSResponse
	InL2Lkup

	// Output: remote output encapsulates towards other chassis, local
	// output fans multicast out to local ports, check loopback stops a
	// packet from going back out of the port it came in on.
	RemoteOutput
	LocalOutput
	CheckLoopback

	// Logical switch egress, in the seed's order.
	OutChain
	OutPreLB
	OutPreACL
	OutPreStateful
	OutLB
	OutACL
	OutQoSMark
	OutStateful
	OutPortSecIP
	OutPortSecL2

	// Logical-to-physical: logical outport to OpenFlow port (or, for a
	// router port, into the router's pipeline).
	LogToPhy

	// Logical router ingress (seed 003, DESIGN.md §11): admission, the
	// router's own IPs, routing, the next hop's MAC.
	LrInAdmission
	LrInIPInput
	LrInIPRouting
	LrInARPResolve

	// Logical router egress: into the switch of the outport's peer.
	LrOutDelivery

	numStages
)

var stageNames = [numStages]string{
	PhyToLog:       "phy_to_log",
	InPortSecL2:    "ls_in_port_sec_l2",
	InPortSecIP:    "ls_in_port_sec_ip",
	InPortSecND:    "ls_in_port_sec_nd",
	InPreACL:       "ls_in_pre_acl",
	InPreLB:        "ls_in_pre_lb",
	InPreStateful:  "ls_in_pre_stateful",
	InACL:          "ls_in_acl",
	InQoSMark:      "ls_in_qos_mark",
	InLB:           "ls_in_lb",
	InStateful:     "ls_in_stateful",
	InChain:        "ls_in_chain",
	InARPRsp:       "ls_in_arp_rsp",
	InDHCPOptions:  "ls_in_dhcp_options",
	InDHCPResponse: "ls_in_dhcp_response",
	InDNSLookup:    "ls_in_dns_lookup",
	InDNSResponse:  "ls_in_dns_response",
	InL2Lkup:       "ls_in_l2_lkup",
	RemoteOutput:   "remote_output",
	LocalOutput:    "local_output",
	CheckLoopback:  "check_loopback",
	OutChain:       "ls_out_chain",
	OutPreLB:       "ls_out_pre_lb",
	OutPreACL:      "ls_out_pre_acl",
	OutPreStateful: "ls_out_pre_stateful",
	OutLB:          "ls_out_lb",
	OutACL:         "ls_out_acl",
	OutQoSMark:     "ls_out_qos_mark",
	OutStateful:    "ls_out_stateful",
	OutPortSecIP:   "ls_out_port_sec_ip",
	OutPortSecL2:   "ls_out_port_sec_l2",
	LogToPhy:       "log_to_phy",
	LrInAdmission:  "lr_in_admission",
	LrInIPInput:    "lr_in_ip_input",
	LrInIPRouting:  "lr_in_ip_routing",
	LrInARPResolve: "lr_in_arp_resolve",
	LrOutDelivery:  "lr_out_delivery",
}

// A band is a run of consecutive stages placed at fixed table numbers, as
// in OVN, so that adding a stage to one band does not renumber the others.
type band struct {
	first, last Stage
	base        uint8
}

var bands = []band{
	{PhyToLog, PhyToLog, 0},
	{InPortSecL2, InL2Lkup, 8},
	{RemoteOutput, CheckLoopback, 32},
	{OutChain, OutPortSecL2, 40},
	{LogToPhy, LogToPhy, 64},
	{LrInAdmission, LrInARPResolve, 80},
	{LrOutDelivery, LrOutDelivery, 104},
}

var (
	stageTable   [numStages]uint8
	stageBand    [numStages]int
	tableToStage = map[uint8]Stage{}
)

func init() {
	if err := checkLayout(); err != nil {
		panic(err)
	}
	for bi, b := range bands {
		for s := b.first; s <= b.last; s++ {
			t := b.base + uint8(s-b.first)
			stageTable[s] = t
			stageBand[s] = bi
			tableToStage[t] = s
		}
	}
}

// checkLayout verifies that the bands cover every stage once, in order,
// without overlapping table numbers, and that names fit OVS's 32 bytes.
func checkLayout() error {
	next := Stage(0)
	lastTable := -1
	for _, b := range bands {
		if b.first != next || b.last < b.first {
			return fmt.Errorf("pipeline: band starting at %d does not follow stage %d", b.first, next)
		}
		if int(b.base) <= lastTable {
			return fmt.Errorf("pipeline: band %s overlaps the previous one", stageNames[b.first])
		}
		lastTable = int(b.base) + int(b.last-b.first)
		if lastTable > 253 {
			return fmt.Errorf("pipeline: band %s runs past table 253", stageNames[b.first])
		}
		next = b.last + 1
	}
	if next != numStages {
		return fmt.Errorf("pipeline: bands cover %d of %d stages", next, numStages)
	}
	for s, n := range stageNames {
		if n == "" || len(n) > 32 {
			return fmt.Errorf("pipeline: stage %d has a bad name %q", s, n)
		}
	}
	return nil
}

// Stages returns every stage in pipeline order.
func Stages() []Stage {
	out := make([]Stage, numStages)
	for i := range out {
		out[i] = Stage(i)
	}
	return out
}

// Table is the OpenFlow table number of the stage.
func (s Stage) Table() uint8 { return stageTable[s] }

// Name is the table name shown by `ovs-ofctl dump-flows --names`.
func (s Stage) Name() string {
	if s >= numStages {
		return fmt.Sprintf("stage%d", s)
	}
	return stageNames[s]
}

func (s Stage) String() string { return s.Name() }

// Next is the stage a logical `next;` goes to: the following stage of the
// same band. The last stage of a band has none.
func (s Stage) Next() (Stage, bool) {
	if s+1 >= numStages || stageBand[s+1] != stageBand[s] {
		return 0, false
	}
	return s + 1, true
}

// StageOfTable maps an OpenFlow table number back to its stage.
func StageOfTable(t uint8) (Stage, bool) {
	s, ok := tableToStage[t]
	return s, ok
}
