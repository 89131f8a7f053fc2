// Package sim runs packets through a set of pipeline flows the way OVS
// would (highest priority wins, resubmit returns, goto continues, table
// miss drops), so behavioural unit tests can ask "where does this packet
// go?" without a switch. It is stricter than OVS on purpose: two matching
// flows of equal priority are an error, not a coin toss.
package sim

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math/big"
	"net"
	"sort"
	"strings"

	"github.com/chainwire/chainwire/pipeline"
)

// Packet is the state the pipeline sees: header fields and metadata, each
// big-endian and as wide as its field. Missing fields read as zero.
type Packet map[pipeline.Field][]byte

// Set stores v in a field (in the low 64 bits of a wider one).
func (p Packet) Set(f pipeline.Field, v uint64) Packet {
	b := make([]byte, max(8, f.Bytes()))
	binary.BigEndian.PutUint64(b[len(b)-8:], v)
	p[f] = b[len(b)-f.Bytes():]
	return p
}

// SetMAC stores an Ethernet address field.
func (p Packet) SetMAC(f pipeline.Field, mac string) Packet {
	m, err := net.ParseMAC(mac)
	if err != nil {
		panic(err)
	}
	p[f] = m
	return p
}

// Get reads a field of at most 64 bits.
func (p Packet) Get(f pipeline.Field) uint64 {
	var v uint64
	for _, b := range p.bytes(f) {
		v = v<<8 | uint64(b)
	}
	return v
}

func (p Packet) bytes(f pipeline.Field) []byte {
	if b, ok := p[f]; ok {
		return b
	}
	return make([]byte, f.Bytes())
}

func (p Packet) clone() Packet {
	c := make(Packet, len(p))
	for k, v := range p {
		c[k] = append([]byte(nil), v...)
	}
	return c
}

// Frame builds an Ethernet frame arriving on an OpenFlow port.
func Frame(inPort uint32, src, dst string) Packet {
	return Packet{}.Set(pipeline.FieldInPort, uint64(inPort)).
		SetMAC(pipeline.FieldEthSrc, src).SetMAC(pipeline.FieldEthDst, dst).
		Set(pipeline.FieldEthType, 0x0800)
}

// Output is a packet leaving the switch, as it was at that moment.
type Output struct {
	Port   uint32
	Packet Packet
}

// Result is what happened to a packet.
type Result struct {
	Outputs []Output
	Trace   []string // "table priority" of every flow hit, in order
	// Pauses counts controller actions that paused the pipeline and were
	// resumed (chainwired resumes OpContinue at once).
	Pauses int
	// ToController holds the userdata of every copy sent to chainwired
	// (ACL logs, rejects, neighbour solicitations).
	ToController [][]byte
	// Meters lists the meters the packet passed, in order (the simulator
	// never drops for a rate).
	Meters []uint32
	// Steps is every flow hit, miss, output, group bucket and controller
	// action, in order; only RunTraced fills it (trace.go).
	Steps   []Step
	tracing bool
	lookups int
}

// Ports lists the output ports in order.
func (r Result) Ports() []uint32 {
	var ps []uint32
	for _, o := range r.Outputs {
		ps = append(ps, o.Port)
	}
	return ps
}

// Switch holds flows by table, highest priority first, and groups and
// meters by ID.
type Switch struct {
	tables map[uint8][]pipeline.Flow
	groups map[uint32]pipeline.Group
	meters map[uint32]bool
	ct     *conntrack // kept across Runs
}

// New loads a bridge's flows and groups; flows with the same key are an
// error (as in OVS, the second would replace the first, which a renderer
// must not rely on), and so are groups with the same ID.
func New(t *pipeline.Tables) (*Switch, error) {
	s := &Switch{tables: map[uint8][]pipeline.Flow{}, groups: map[uint32]pipeline.Group{}, meters: map[uint32]bool{}, ct: newConntrack()}
	for _, m := range t.Meters {
		if s.meters[m.ID] {
			return nil, fmt.Errorf("sim: duplicate meter %d", m.ID)
		}
		s.meters[m.ID] = true
	}
	for _, g := range t.Groups {
		if _, dup := s.groups[g.ID]; dup {
			return nil, fmt.Errorf("sim: duplicate group %d", g.ID)
		}
		s.groups[g.ID] = g
	}
	seen := map[string]bool{}
	for _, f := range t.Flows {
		if seen[f.Key()] {
			return nil, fmt.Errorf("sim: duplicate flow %s", f)
		}
		seen[f.Key()] = true
		t := f.Stage.Table()
		s.tables[t] = append(s.tables[t], f)
	}
	for _, fl := range s.tables {
		sort.SliceStable(fl, func(i, j int) bool { return fl[i].Priority > fl[j].Priority })
	}
	return s, nil
}

// Load replaces the switch's flows and groups and keeps its connections,
// as a controller's update does.
func (s *Switch) Load(t *pipeline.Tables) error {
	n, err := New(t)
	if err != nil {
		return err
	}
	s.tables, s.groups, s.meters = n.tables, n.groups, n.meters
	return nil
}

// OVS's limits on one translation: resubmit depth, and table lookups
// (resubmits and gotos alike) in total. A paused controller action ends a
// translation; the resumed one starts afresh.
const (
	maxDepth     = 64
	maxResubmits = 4096
)

// Run sends a packet into table 0.
func (s *Switch) Run(p Packet) (Result, error) {
	var r Result
	err := s.table(0, p.clone(), &r, 0)
	return r, err
}

func (s *Switch) table(t uint8, p Packet, r *Result, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("sim: resubmit depth over %d", maxDepth)
	}
	if r.lookups++; r.lookups > maxResubmits {
		return fmt.Errorf("sim: over %d table lookups in one translation (OVS drops the packet)", maxResubmits)
	}
	f, err := s.lookup(t, p)
	if err != nil || f == nil {
		if f == nil && err == nil {
			r.Trace = append(r.Trace, fmt.Sprintf("%s miss", stageName(t)))
			r.step(Step{Kind: StepMiss, Table: t, Depth: depth})
		}
		return err
	}
	r.Trace = append(r.Trace, fmt.Sprintf("%s %d", f.Stage.Name(), f.Priority))
	r.step(Step{Kind: StepFlow, Table: t, Flow: f, Depth: depth})
	return s.actions(f.Actions, t, p, r, depth)
}

// actions runs an action list found in table t (0xff for a group bucket).
func (s *Switch) actions(acts []pipeline.Action, t uint8, p Packet, r *Result, depth int) error {
	for _, a := range acts {
		switch a := a.(type) {
		case pipeline.Load:
			if err := load(p, a.Dst, a.Ofs, a.Bits, a.Value); err != nil {
				return err
			}
		case pipeline.Move:
			v := bitsOf(p, a.Src, a.SrcOfs, a.Bits)
			if err := load(p, a.Dst, a.DstOfs, a.Bits, v); err != nil {
				return err
			}
		case pipeline.Resubmit:
			if err := s.table(a.Stage.Table(), p, r, depth+1); err != nil {
				return err
			}
		case pipeline.Output:
			// OpenFlow never sends a packet back out of its in_port.
			if uint64(a.Port) != p.Get(pipeline.FieldInPort) {
				r.Outputs = append(r.Outputs, Output{Port: a.Port, Packet: p.clone()})
				r.step(Step{Kind: StepOutput, Table: t, Depth: depth, Port: a.Port, Packet: r.Outputs[len(r.Outputs)-1].Packet})
			} else {
				r.step(Step{Kind: StepOutput, Table: t, Depth: depth, Port: a.Port, Skipped: true})
			}
		case pipeline.Multipath:
			if err := load(p, a.Dst, a.Ofs, a.Bits, symmetricHash(p)%uint64(a.Links)); err != nil {
				return err
			}
		case pipeline.SetMeter:
			// OVS refuses a flow whose meter does not exist.
			if !s.meters[a.ID] {
				return fmt.Errorf("sim: %s uses meter %d, which the tables lack", stageName(t), a.ID)
			}
			r.Meters = append(r.Meters, a.ID)
		case pipeline.DecTTL:
			ttl := p.Get(pipeline.FieldIPTTL)
			if ttl <= 1 {
				return fmt.Errorf("sim: dec_ttl of a packet with TTL %d in %s (OVS drops it)", ttl, stageName(t))
			}
			p.Set(pipeline.FieldIPTTL, ttl-1)
		case pipeline.Clone:
			for _, x := range a.Actions {
				if _, ok := x.(pipeline.Goto); ok {
					return fmt.Errorf("sim: goto_table inside clone() in %s (OVS refuses it)", stageName(t))
				}
			}
			if err := s.actions(a.Actions, t, p.clone(), r, depth+1); err != nil {
				return err
			}
		case pipeline.Conjunction:
			return fmt.Errorf("sim: conjunction action outside a conjunctive match in %s", stageName(t))
		case pipeline.ToGroup:
			if err := s.group(a.ID, p, r, depth); err != nil {
				return err
			}
		case pipeline.Controller:
			if a.Meter != 0 && !s.meters[a.Meter] {
				return fmt.Errorf("sim: %s uses meter %d, which the tables lack", stageName(t), a.Meter)
			}
			if len(a.Userdata) > 0 && a.Userdata[0] != pipeline.OpContinue {
				// To chainwired (a log, a reject, a question it answers);
				// the actions go on: after a copy at once, after a pause
				// as chainwired resumes what it does not answer.
				r.ToController = append(r.ToController, append([]byte(nil), a.Userdata...))
				r.step(Step{Kind: StepController, Table: t, Depth: depth, Userdata: r.ToController[len(r.ToController)-1], Pause: a.Pause})
				if a.Pause {
					r.Pauses++
					r.lookups = 0
				}
				continue
			}
			if !a.Pause || len(a.Userdata) == 0 || a.Userdata[0] != pipeline.OpContinue {
				return fmt.Errorf("sim: %s sends the packet to the controller (%s)", stageName(t), pipeline.ActionsString([]pipeline.Action{a}, false))
			}
			r.Pauses++
			r.lookups = 0
			r.step(Step{Kind: StepController, Table: t, Depth: depth, Userdata: a.Userdata, Pause: true})
		case pipeline.Ct:
			if !a.Recirc {
				// The packet goes on with the state it had; the
				// connection is committed.
				if err := s.ct.track(a, p.clone()); err != nil {
					return err
				}
				continue
			}
			// The packet goes on untracked (chainwire never has actions
			// after it); a tracked copy recirculates into a.Table.
			q := p.clone()
			if err := s.ct.track(a, q); err != nil {
				return err
			}
			r.Trace = append(r.Trace, "recirc")
			r.step(Step{Kind: StepRecirc, Table: t, Depth: depth})
			if err := s.table(a.Table.Table(), q, r, depth+1); err != nil {
				return err
			}
		case pipeline.Goto:
			if a.Stage.Table() <= t {
				return fmt.Errorf("sim: goto_table:%s from %s goes backwards", a.Stage, stageName(t))
			}
			return s.table(a.Stage.Table(), p, r, depth)
		default:
			return fmt.Errorf("sim: unknown action %T", a)
		}
	}
	return nil
}

// group runs every bucket of an all group on its own copy of the packet.
func (s *Switch) group(id uint32, p Packet, r *Result, depth int) error {
	g, ok := s.groups[id]
	if !ok {
		return fmt.Errorf("sim: group %d does not exist", id)
	}
	if g.Type == pipeline.GroupSelect {
		// One bucket, by weight, from the symmetric hash of the packet
		// (OVS's default select method hashes L2-L4 too).
		total := 0
		for _, b := range g.Buckets {
			total += int(b.Weight)
		}
		if total == 0 {
			r.step(Step{Kind: StepBucket, Table: 0xff, Depth: depth, Group: &g, Bucket: -1})
			return nil // no live bucket: OVS drops
		}
		h := int(symmetricHash(p) % uint64(total))
		for i, b := range g.Buckets {
			if h -= int(b.Weight); h < 0 {
				r.step(Step{Kind: StepBucket, Table: 0xff, Depth: depth, Group: &g, Bucket: i})
				return s.actions(b.Actions, 0xff, p.clone(), r, depth)
			}
		}
	}
	for i, b := range g.Buckets {
		r.step(Step{Kind: StepBucket, Table: 0xff, Depth: depth, Group: &g, Bucket: i})
		if err := s.actions(b.Actions, 0xff, p.clone(), r, depth); err != nil {
			return err
		}
	}
	return nil
}

func stageName(t uint8) string {
	if s, ok := pipeline.StageOfTable(t); ok {
		return s.Name()
	}
	return fmt.Sprintf("table%d", t)
}

// lookup finds the one highest-priority flow that matches. At each
// priority, flows whose actions are all conjunction(id, k/n) only count
// once every clause of id matched; then the flow matching conj_id=id at
// that priority applies, as in OVS.
func (s *Switch) lookup(t uint8, p Packet) (*pipeline.Flow, error) {
	flows := s.tables[t]
	for i := 0; i < len(flows); {
		prio := flows[i].Priority
		j := i
		for j < len(flows) && flows[j].Priority == prio {
			j++
		}
		level := flows[i:j]
		i = j
		var hit *pipeline.Flow
		clauses := map[uint32]map[uint8]bool{}
		need := map[uint32]uint8{}
		for k := range level {
			f := &level[k]
			if _, isConj := f.Match.Get(pipeline.FieldConjID); isConj || !matches(f.Match, p) {
				continue
			}
			if conj := conjunctions(f.Actions); conj != nil {
				for _, c := range conj {
					if clauses[c.ID] == nil {
						clauses[c.ID] = map[uint8]bool{}
					}
					clauses[c.ID][c.Clause], need[c.ID] = true, c.NClause
				}
				continue
			}
			if hit != nil {
				return nil, fmt.Errorf("sim: ambiguous match in %s: %s and %s", stageName(t), hit, f)
			}
			hit = f
		}
		for id, got := range clauses {
			if len(got) != int(need[id]) {
				continue
			}
			q := p.clone().Set(pipeline.FieldConjID, uint64(id))
			for k := range level {
				f := &level[k]
				if c, ok := f.Match.Get(pipeline.FieldConjID); ok && c.Uint() == uint64(id) && matches(f.Match, q) {
					if hit != nil {
						return nil, fmt.Errorf("sim: ambiguous match in %s: %s and %s", stageName(t), hit, f)
					}
					hit = f
				}
			}
		}
		if hit != nil {
			return hit, nil
		}
	}
	return nil, nil
}

func conjunctions(acts []pipeline.Action) []pipeline.Conjunction {
	var out []pipeline.Conjunction
	for _, a := range acts {
		c, ok := a.(pipeline.Conjunction)
		if !ok {
			return nil
		}
		out = append(out, c)
	}
	return out
}

// symmetricHash stands in for OVS's symmetric_l3l4+udp hash: the same for
// a packet and its reply (not the same numbers as OVS).
func symmetricHash(p Packet) uint64 {
	pair := func(a, b pipeline.Field) []byte {
		x, y := p.bytes(a), p.bytes(b)
		if string(x) > string(y) {
			x, y = y, x
		}
		return append(append([]byte(nil), x...), y...)
	}
	h := fnv.New64a()
	h.Write(pair(pipeline.FieldIPv4Src, pipeline.FieldIPv4Dst))
	h.Write(pair(pipeline.FieldIPv6Src, pipeline.FieldIPv6Dst))
	h.Write(p.bytes(pipeline.FieldIPProto))
	h.Write(pair(pipeline.FieldTCPSrc, pipeline.FieldTCPDst))
	h.Write(pair(pipeline.FieldUDPSrc, pipeline.FieldUDPDst))
	return h.Sum64()
}

func matches(m pipeline.Match, p Packet) bool {
	for _, mf := range m {
		have := p.bytes(mf.Field)
		for i := range mf.Value {
			mk := byte(0xff)
			if mf.Mask != nil {
				mk = mf.Mask[i]
			}
			if have[i]&mk != mf.Value[i]&mk {
				return false
			}
		}
	}
	return true
}

func mask(bits int) uint64 {
	if bits >= 64 {
		return ^uint64(0)
	}
	return 1<<bits - 1
}

func load(p Packet, f pipeline.Field, ofs, bits uint8, v uint64) error {
	if f == pipeline.FieldLoadInPort { // the same field as in_port
		f = pipeline.FieldInPort
	}
	if f.Bits() > 64 {
		return fmt.Errorf("sim: cannot write %d-bit field %s", f.Bits(), f)
	}
	n := int(bits)
	if n == 0 {
		n = f.Bits()
	}
	m := mask(n) << ofs
	p.Set(f, p.Get(f)&^m|(v<<ofs)&m)
	return nil
}

// bitsOf reads bits ofs..ofs+n-1 of a field of any width (n <= 64).
func bitsOf(p Packet, f pipeline.Field, ofs, n uint8) uint64 {
	v := new(big.Int).SetBytes(p.bytes(f))
	v.Rsh(v, uint(ofs))
	return v.Uint64() & mask(int(n))
}

// String prints the trace, one hop per line.
func (r Result) String() string { return strings.Join(r.Trace, "\n") }

// Network is several chassis joined by Geneve: an output to a chassis'
// tunnel port arrives at the chassis that owns tun_dst, carrying only
// what a real tunnel carries (the frame, tun_id, tun_metadata0).
type Network struct {
	Chassis    map[string]*Switch
	IPs        map[string]string // encap IP -> chassis
	TunnelPort uint32            // the Geneve port's number on every chassis
}

// Delivery is a packet leaving some chassis by a port other than the tunnel.
type Delivery struct {
	Chassis string
	Port    uint32
	Packet  Packet
	Hops    int // tunnel crossings before this delivery
}

// Run sends a packet into a chassis and follows it through tunnels. A
// packet that arrived from a tunnel and is tunnelled again without having
// run the ingress pipeline there is an error (plain delivery never does
// that: it would loop); a service chain's re-injection does run ingress.
func (n *Network) Run(chassis string, p Packet) ([]Delivery, error) {
	return n.run(chassis, p, 0)
}

// tunnelFields are what survives a Geneve hop besides the frame.
var tunnelFields = []pipeline.Field{pipeline.FieldTunID, pipeline.FieldTunMetadata0}

// frameFields are the packet's own headers.
var frameFields = []pipeline.Field{pipeline.FieldEthSrc, pipeline.FieldEthDst, pipeline.FieldEthType,
	pipeline.FieldVlanTCI, pipeline.FieldIPProto, pipeline.FieldIPDSCP, pipeline.FieldIPTTL, pipeline.FieldIPFrag,
	pipeline.FieldIPv4Src, pipeline.FieldIPv4Dst, pipeline.FieldIPv6Src, pipeline.FieldIPv6Dst,
	pipeline.FieldARPOp, pipeline.FieldARPSPA, pipeline.FieldARPTPA, pipeline.FieldARPSHA, pipeline.FieldARPTHA,
	pipeline.FieldTCPSrc, pipeline.FieldTCPDst, pipeline.FieldTCPFlags, pipeline.FieldUDPSrc, pipeline.FieldUDPDst,
	pipeline.FieldSCTPSrc, pipeline.FieldSCTPDst, pipeline.FieldICMPv4Type, pipeline.FieldICMPv4Code,
	pipeline.FieldICMPv6Type, pipeline.FieldICMPv6Code, pipeline.FieldNDTarget, pipeline.FieldNDSLL, pipeline.FieldNDTLL}

func (n *Network) run(chassis string, p Packet, hops int) ([]Delivery, error) {
	sw, ok := n.Chassis[chassis]
	if !ok {
		return nil, fmt.Errorf("sim: no chassis %q", chassis)
	}
	r, err := sw.Run(p)
	if err != nil {
		return nil, fmt.Errorf("sim: on %s: %w", chassis, err)
	}
	var out []Delivery
	for _, o := range r.Outputs {
		if o.Port != n.TunnelPort {
			out = append(out, Delivery{Chassis: chassis, Port: o.Port, Packet: o.Packet, Hops: hops})
			continue
		}
		if p.Get(pipeline.FieldInPort) == uint64(n.TunnelPort) && !ranIngress(r) {
			return nil, fmt.Errorf("sim: %s re-tunnels a packet it received from a tunnel (loop)", chassis)
		}
		if hops >= 8 {
			return nil, fmt.Errorf("sim: more than 8 tunnel hops (loop)")
		}
		dst := net.IP(o.Packet.bytes(pipeline.FieldTunDst)).String()
		next, ok := n.IPs[dst]
		if !ok {
			return nil, fmt.Errorf("sim: %s tunnels to %s, which is no chassis", chassis, dst)
		}
		q := Packet{}.Set(pipeline.FieldInPort, uint64(n.TunnelPort))
		for _, f := range append(tunnelFields, frameFields...) {
			if v, ok := o.Packet[f]; ok {
				q[f] = append([]byte(nil), v...)
			}
		}
		d, err := n.run(next, q, hops+1)
		if err != nil {
			return nil, err
		}
		out = append(out, d...)
	}
	return out, nil
}

func ranIngress(r Result) bool {
	for _, t := range r.Trace {
		if strings.HasPrefix(t, "ls_in_") {
			return true
		}
	}
	return false
}
