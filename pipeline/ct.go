package pipeline

import "strings"

// Conntrack: the action and state the ACL stages use.

// The conntrack state bits of ct_state (OVS's CS_*).
const (
	CtNew = 1 << 0
	CtEst = 1 << 1
	CtRel = 1 << 2
	CtRpl = 1 << 3
	CtInv = 1 << 4
	CtTrk = 1 << 5
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
