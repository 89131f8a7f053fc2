package pipeline

import (
	"fmt"
	"net"
	"strings"
)

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
	Zone    uint16 // a constant zone instead of ZoneReg's, when not 0
	Recirc  bool
	Table   Stage
	NAT     *NAT
	Exec    []Action
}

// NAT is ct's nat: without an address, the connection's own translation
// (replies un-translated, later packets translated as the first); with
// one, the translation a commit sets up, of the destination (load
// balancing) or, with Src, of the source.
type NAT struct {
	Src  bool
	IP   net.IP // nil: the connection's own
	Port uint16 // 0: the port stays
}

func (n NAT) format(bool) string {
	if n.IP == nil {
		return "nat"
	}
	dir, addr := "dst", n.IP.String()
	if n.Src {
		dir = "src"
	}
	if n.Port != 0 {
		if n.IP.To4() == nil {
			addr = "[" + addr + "]"
		}
		addr += fmt.Sprintf(":%d", n.Port)
	}
	return "nat(" + dir + "=" + addr + ")"
}

// Equal compares two translations (addresses by value).
func (n *NAT) Equal(o *NAT) bool {
	if n == nil || o == nil {
		return n == o
	}
	return n.Src == o.Src && n.IP.Equal(o.IP) && n.Port == o.Port
}

func (a Ct) format(numeric bool) string {
	var parts []string
	if a.Commit {
		parts = append(parts, "commit")
	}
	if a.Recirc {
		parts = append(parts, "table="+tableRef(a.Table, numeric))
	}
	if a.Zone != 0 {
		parts = append(parts, fmt.Sprintf("zone=%d", a.Zone))
	} else {
		parts = append(parts, "zone="+fieldRange(a.ZoneReg, 0, 16))
	}
	if a.NAT != nil {
		parts = append(parts, a.NAT.format(numeric))
	}
	if len(a.Exec) > 0 {
		parts = append(parts, "exec("+ActionsString(a.Exec, numeric)+")")
	}
	return "ct(" + strings.Join(parts, ",") + ")"
}
