package pipeline

import (
	"fmt"
	"strings"
)

// Conntrack and meters: the actions and state the security stages use.

// The conntrack state bits of ct_state (OVS's CS_*).
const (
	CtNew     = 1 << 0
	CtEst     = 1 << 1
	CtRel     = 1 << 2
	CtRpl     = 1 << 3
	CtInv     = 1 << 4
	CtTrk     = 1 << 5
	CtSNAT    = 1 << 6
	CtDNAT    = 1 << 7
	ctAllBits = 0xff
)

// Ct sends the packet through conntrack in the zone held by the low 16
// bits of ZoneReg (NXAST_CT). With Recirc the packet continues, tracked,
// in stage Table (the action list ends there); without, ct only commits
// and the actions go on. Exec runs on a committed connection: loads into
// ct_label or ct_mark, as OVN's ct_commit(ct_label=...).
type Ct struct {
	Commit  bool
	ZoneReg Field
	Recirc  bool
	Table   Stage
	Exec    []Action
}

// CtClear forgets the conntrack state of the packet (NXAST_CT_CLEAR): a
// packet coming back from a tunnel or a VNF is tracked afresh.
type CtClear struct{}

// MeterAction passes the packet through meter ID (the OpenFlow 1.3 meter
// instruction; the controller puts it first, as the specification
// orders instructions).
type MeterAction struct{ ID uint32 }

func (a Ct) format(numeric bool) string {
	var parts []string
	if a.Commit {
		parts = append(parts, "commit")
	}
	if a.Recirc {
		parts = append(parts, "table="+tableRef(a.Table, numeric))
	}
	parts = append(parts, "zone="+fieldRange(a.ZoneReg, 0, 16))
	if len(a.Exec) > 0 {
		parts = append(parts, "exec("+ActionsString(a.Exec, numeric)+")")
	}
	return "ct(" + strings.Join(parts, ",") + ")"
}

func (CtClear) format(bool) string { return "ct_clear" }

func (a MeterAction) format(bool) string { return fmt.Sprintf("meter:%d", a.ID) }

// Meter is an OpenFlow meter: a rate in kbit/s with a burst in kbit, over
// which packets are dropped. Like groups, meters have no cookie: their
// IDs carry chainwire's marker and derive from the name.
type Meter struct {
	Name    string
	ID      uint32
	KBPS    uint32
	BurstKB uint32
}

func (m Meter) String() string {
	return fmt.Sprintf("%s: meter=%d kbps burst stats bands=type=drop rate=%d burst_size=%d", m.Name, m.ID, m.KBPS, m.BurstKB)
}
