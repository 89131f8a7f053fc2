package pipeline

import (
	"encoding/binary"
	"fmt"
	"net"
	"sort"
)

// Floods are OVN's multicast groups _MC_flood and _MC_unknown: every
// port, or the ports that take unknown unicast. VNF ports are in neither:
// a two-armed bridge VNF would send flooded frames straight back in.
// Each switch has a local flood per group (one egress pass per local
// member) and a remote one (one tunnelled copy per chassis that hosts
// members). Port units join and leave them; a flood renders its groups
// and the flow that runs them.
var multicastGroups = []struct {
	key    uint32
	name   string
	member func(*portView) bool
}{
	{MulticastFlood, "flood", func(p *portView) bool { return !p.vnf }},
	{MulticastUnknown, "unknown", func(p *portView) bool { return p.unknown && !p.vnf }},
}

// OVS gives one packet's translation 4,096 table lookups (resubmits and
// gotos alike). Each local member of a flood costs a pass through the
// egress band plus check_loopback and log_to_phy; ingress, chains and
// the remote part use the reserve. A flood with more local members runs
// as several chunks, each a group, with a paused controller action
// between them: chainwired resumes the pipeline at once, and the resumed
// translation starts with a fresh budget (OVN splits large multicast
// groups the same way).
const (
	resubmitBudget = 4096
	ingressReserve = 512
)

var (
	floodChunk = (resubmitBudget - ingressReserve) / (egressTables() + 4)
	// remoteChunk bounds the chassis one translation tunnels to: each
	// Geneve push is ~120 bytes of datapath actions, which OVS caps at
	// 64 KiB per translation.
	remoteChunk = 200
)

// egressTables is the number of tables a packet visits between
// local_output and its OpenFlow output.
func egressTables() int {
	n := 2 // check_loopback, log_to_phy
	for s := OutChain; s <= OutPortSecL2; s++ {
		n++
	}
	return n
}

// floodKey names one flood: a switch, a multicast group, local or remote.
type floodKey struct {
	dp     uint32
	group  uint8 // index in multicastGroups
	remote bool
}

func (k floodKey) name() string {
	where := "local"
	if k.remote {
		where = "remote"
	}
	return fmt.Sprintf("%s-%s/%d", multicastGroups[k.group].name, where, k.dp)
}

// membership is a port unit's part in a flood: a local port by its key,
// or a remote chassis by its IP (which every port bound there shares).
type membership struct {
	flood floodKey
	key   uint32
	acts  []Action
}

func localMember(p *portView, g uint8) membership {
	acts := append([]Action{loadReg(LogOutport, p.key)}, loadZone(p)...)
	return membership{floodKey{p.dp, g, false}, p.key, append(acts, Resubmit{CheckLoopback})}
}

func remoteMember(p *portView, g uint8, tun uint32) membership {
	return membership{floodKey{p.dp, g, true}, binary.BigEndian.Uint32(p.remote), toChassis(p.remote, tun)}
}

func toChassis(ip net.IP, tun uint32) []Action {
	return []Action{Load{Dst: FieldTunDst, Value: uint64(binary.BigEndian.Uint32(ip))}, Output{tun}}
}

// flood is the state of one flood: its members, counted (a remote
// chassis is a member once for all its ports), and their split into
// chunks. With up to size members a flood is one group; with more, one
// group per range of size keys (ranges of keys, not runs of members, keep
// a member's change to its own group). Only the chunks that changed
// render again.
type flood struct {
	key     floodKey
	owner   *unit // holds the flood's groups and flow
	size    int
	members map[uint32]*floodMember
	chunked bool
	byChunk map[uint32]map[uint32]*floodMember
	dirty   map[uint32]bool // chunks to render again
	header  bool            // the flow that runs the chunks must render again
}

type floodMember struct {
	acts []Action
	refs int
}

func newFlood(k floodKey) *flood {
	size := floodChunk
	if k.remote {
		size = remoteChunk
	}
	return &flood{key: k, owner: &unit{id: unitID{kind: unitFlood, name: k.name()}}, size: size,
		members: map[uint32]*floodMember{}, byChunk: map[uint32]map[uint32]*floodMember{}, dirty: map[uint32]bool{}}
}

func (f *flood) chunk(key uint32) uint32 {
	if !f.chunked {
		return 0
	}
	return key / uint32(f.size)
}

// join adds one reference to a member.
func (f *flood) join(m membership) {
	if cur := f.members[m.key]; cur != nil {
		cur.refs++
		if !ActionsEqual(cur.acts, m.acts) {
			cur.acts = m.acts
			f.dirty[f.chunk(m.key)] = true
		}
		return
	}
	mb := &floodMember{acts: m.acts, refs: 1}
	f.members[m.key] = mb
	f.place(m.key, mb)
	f.rechunk()
}

// leave drops one reference to a member.
func (f *flood) leave(m membership) {
	cur := f.members[m.key]
	if cur == nil {
		return
	}
	if cur.refs--; cur.refs > 0 {
		return
	}
	delete(f.members, m.key)
	c := f.chunk(m.key)
	delete(f.byChunk[c], m.key)
	if len(f.byChunk[c]) == 0 {
		delete(f.byChunk, c)
		f.header = true
	}
	f.dirty[c] = true
	f.rechunk()
}

func (f *flood) place(key uint32, mb *floodMember) {
	c := f.chunk(key)
	if f.byChunk[c] == nil {
		f.byChunk[c] = map[uint32]*floodMember{}
		f.header = true
	}
	f.byChunk[c][key] = mb
	f.dirty[c] = true
}

// rechunk splits the flood when it outgrows one group and joins it again
// when it fits: every chunk renders again.
func (f *flood) rechunk() {
	if chunked := len(f.members) > f.size; chunked != f.chunked {
		for c := range f.byChunk {
			f.dirty[c] = true
		}
		f.chunked, f.byChunk, f.header = chunked, map[uint32]map[uint32]*floodMember{}, true
		for k, mb := range f.members {
			f.place(k, mb)
		}
	}
}

func (f *flood) groupName(c uint32) string { return fmt.Sprintf("%s/%d", f.key.name(), c) }

// render brings the flood's groups and flow up to date.
func (r *Renderer) renderFlood(f *flood) error {
	for c := range f.dirty {
		name := f.groupName(c)
		ms := f.byChunk[c]
		if len(ms) == 0 {
			r.dropGroup(f.owner, name)
			continue
		}
		keys := make([]uint32, 0, len(ms))
		for k := range ms {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
		g := Group{Name: name, Type: GroupAll, Buckets: make([]Bucket, len(keys))}
		for i, k := range keys {
			g.Buckets[i] = Bucket{Actions: ms[k].acts}
		}
		if err := r.setGroup(f.owner, g); err != nil {
			return err
		}
	}
	f.dirty = map[uint32]bool{}
	if !f.header {
		return nil
	}
	f.header = false
	chunks := make([]uint32, 0, len(f.byChunk))
	for c := range f.byChunk {
		chunks = append(chunks, c)
	}
	sort.Slice(chunks, func(i, j int) bool { return chunks[i] < chunks[j] })
	var flows []Flow
	if len(chunks) > 0 {
		var acts []Action
		for i, c := range chunks {
			if i > 0 {
				acts = append(acts, Controller{Pause: true, Userdata: []byte{OpContinue}})
			}
			acts = append(acts, ToGroup{Name: f.groupName(c)})
		}
		flows = append(flows, floodFlow(f.key, acts))
	}
	return r.setFlows(f.owner, flows)
}

// floodFlow runs a flood's chunks for packets to the multicast group:
// locally in local_output; in remote_output, tunnelled to the other
// chassis first, then on to the local members.
func floodFlow(k floodKey, chunks []Action) Flow {
	mg := multicastGroups[k.group].key
	m := dpMatch(k.dp).With(LogOutport, uint64(mg))
	if !k.remote {
		return Flow{Stage: LocalOutput, Priority: prioHigh, Cookie: SwitchCookie(FeatureL2, k.dp), Match: m, Actions: chunks}
	}
	acts := append(encapsulate(k.dp, mg), chunks...)
	return Flow{Stage: RemoteOutput, Priority: prioHigh, Cookie: SwitchCookie(FeatureTunnel, k.dp), Match: m,
		Actions: append(acts, Goto{LocalOutput})}
}
