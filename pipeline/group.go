package pipeline

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
)

// GroupType is an OpenFlow group type.
type GroupType uint8

const (
	GroupAll    GroupType = 0 // every bucket gets a copy
	GroupSelect GroupType = 1 // one bucket, chosen by a hash of the packet
)

func (t GroupType) String() string {
	if t == GroupSelect {
		return "select"
	}
	return "all"
}

// Bucket is one branch of a group. Weight matters for select groups only.
type Bucket struct {
	Weight  uint16
	Actions []Action
}

// Group is one OpenFlow group as a plain value. Name says which object
// and role it serves; the switch knows groups only by ID, which the
// renderer derives from the name (see assignGroupIDs).
type Group struct {
	Name    string
	ID      uint32
	Type    GroupType
	Buckets []Bucket
}

// String prints the group as ovs-ofctl's dump-groups does, with table
// names.
func (g Group) String() string { return g.Format(false) }

// Format prints the group; numeric selects table numbers instead of names.
func (g Group) Format(numeric bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "group_id=%d,type=%s", g.ID, g.Type)
	for _, bk := range g.Buckets {
		b.WriteString(",bucket=")
		if g.Type == GroupSelect {
			fmt.Fprintf(&b, "weight:%d,", bk.Weight)
		}
		b.WriteString("actions=")
		b.WriteString(ActionsString(bk.Actions, numeric))
	}
	return b.String()
}

// ToGroup passes the packet to a group, named until assignGroupIDs gives
// it the group's ID.
type ToGroup struct {
	Name string
	ID   uint32
}

func (a ToGroup) format(bool) string { return fmt.Sprintf("group:%d", a.ID) }

// Controller sends the packet to chainwired (NXAST_CONTROLLER2). With
// Pause the switch freezes the pipeline and resumes it when chainwired
// answers with the continuation; Userdata says why (see Opcode).
type Controller struct {
	Pause    bool
	Userdata []byte
	Meter    uint32 // the meter packets pass on their way (0: none)
}

func (a Controller) format(bool) string {
	var parts []string
	if len(a.Userdata) > 0 {
		hex := make([]string, len(a.Userdata))
		for i, b := range a.Userdata {
			hex[i] = fmt.Sprintf("%02x", b)
		}
		parts = append(parts, "userdata="+strings.Join(hex, "."))
	}
	if a.Pause {
		parts = append(parts, "pause")
	}
	if a.Meter != 0 {
		parts = append(parts, fmt.Sprintf("meter_id=%d", a.Meter))
	}
	return "controller(" + strings.Join(parts, ",") + ")"
}

// Opcodes: the first byte of a controller action's userdata, telling
// chainwired what to do with the packet.
const (
	// OpContinue: a paused pipeline that only needs to go on (a flood
	// larger than one translation may run, see floodChunk).
	OpContinue byte = 1
	// OpLogACL: a copy of a packet an ACL with --log matched; userdata
	// [OpLogACL, verdict, ACL name...].
	OpLogACL byte = 2
	// OpReject: a packet a reject ACL matched; chainwired answers its
	// sender (TCP RST, ICMP unreachable). Userdata [OpReject].
	OpReject byte = 3
	// OpNDAdvert: a neighbour solicitation for a known address;
	// chainwired answers with an advertisement. Userdata [OpNDAdvert,
	// MAC (6 bytes), address (16 bytes)].
	OpNDAdvert byte = 4
	// OpDHCPv4 and OpDHCPv6: a port's DHCP request; chainwired answers
	// from the userdata (DHCPv4Userdata, DHCPv6Userdata).
	OpDHCPv4 byte = 5
	OpDHCPv6 byte = 6
	// OpDNS: a DNS query on a switch with records, the pipeline paused:
	// chainwired answers a known name, or resumes the query unchanged.
	// Userdata [OpDNS].
	OpDNS byte = 7
)

// Group IDs carry chainwire's marker byte in their top 8 bits, as cookies
// do, since groups have no cookie: read-back and cleanup only ever touch
// groups with it. (It also keeps them clear of OpenFlow's reserved
// numbers, 0xffffff00 and up.)
const (
	groupMarker     = 0xc7 << 24
	groupMarkerMask = 0xff << 24
)

// IsOurGroup reports whether a group ID carries chainwire's marker.
func IsOurGroup(id uint32) bool { return id&groupMarkerMask == groupMarker }

// assignGroupIDs gives each group an ID derived from its name (FNV-1a,
// probing on collision in name order), and points every ToGroup action
// of flows and buckets at it. The same set of names always gets the same
// IDs, so a restarted agent finds its groups where it left them.
func assignGroupIDs(flows []Flow, groups []Group) error {
	sort.Slice(groups, func(i, j int) bool { return groups[i].Name < groups[j].Name })
	ids := make(map[string]uint32, len(groups))
	used := make(map[uint32]bool, len(groups))
	for i := range groups {
		name := groups[i].Name
		if _, dup := ids[name]; dup {
			return fmt.Errorf("pipeline: two groups named %q", name)
		}
		id := groupHash(name, 0)
		for probe := uint32(1); used[id]; probe++ {
			id = groupHash(name, probe)
		}
		ids[name], used[id] = id, true
		groups[i].ID = id
	}
	resolve := func(acts []Action) ([]Action, error) {
		var out []Action
		for i, a := range acts {
			tg, ok := a.(ToGroup)
			if !ok {
				continue
			}
			id, ok := ids[tg.Name]
			if !ok {
				return nil, fmt.Errorf("pipeline: action refers to no group %q", tg.Name)
			}
			if out == nil {
				out = append([]Action(nil), acts...)
			}
			out[i] = ToGroup{Name: tg.Name, ID: id}
		}
		if out == nil {
			return acts, nil
		}
		return out, nil
	}
	var err error
	for i := range flows {
		if flows[i].Actions, err = resolve(flows[i].Actions); err != nil {
			return err
		}
	}
	for i := range groups {
		for j := range groups[i].Buckets {
			if groups[i].Buckets[j].Actions, err = resolve(groups[i].Buckets[j].Actions); err != nil {
				return err
			}
		}
	}
	return nil
}

func groupHash(name string, probe uint32) uint32 {
	h := fnv.New32a()
	h.Write([]byte(name))
	if probe > 0 {
		fmt.Fprintf(h, "#%d", probe)
	}
	return groupMarker | h.Sum32()&^groupMarkerMask
}
