package main

// chainctl trace CHASSIS MICROFLOW: ovn-trace for chainwire. The model's
// flows for CHASSIS are rendered (pipeline.Render, as the agent renders
// them) and the packet is walked through them in the simulator
// (pipeline/sim): no OVS is needed, a model file is enough. The packet
// follows tunnels to the chassis they reach (rendered in turn), comes
// back out of a VNF as a bump in the wire does, and ends delivered,
// dropped or with chainwired. --ofproto also asks the local
// ovs-vswitchd (ofproto/trace) and compares the outcome of the first
// chassis' pass with the simulator's.
//
// Where ports are (the rule, also in README.md):
//   - a port with requested-chassis is bound on that chassis;
//   - a port without it is bound where the store's bindings put it (the
//     OVSDB store's Port_Binding, as agents published it), else, if it is
//     the traced inport, on CHASSIS; else on no chassis (traffic to it
//     goes nowhere, as with OVS when no VM has its iface-id);
//   - router-type ports are on every chassis (they have no OpenFlow port).
//
// A chassis' bound ports get OpenFlow ports 1, 2, ... in the order of
// (switch key, port key) and conntrack zones of the same numbers; its
// Geneve port is OpenFlow port 65279. With --ofproto, CHASSIS's ports
// are those of its bridge instead (external_ids:iface-id, the lowest
// ofport winning, as the agent has them) and its Geneve port its own.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/pipeline/sim"
	"github.com/chainwire/chainwire/topology"
	"github.com/chainwire/chainwire/topology/expr"
)

func init() {
	verbs["trace"] = verb{usage: "CHASSIS MICROFLOW [--ofproto [--bridge BR] [--ovs-rundir DIR] [--ovs-db DB]]",
		help: `trace a packet through the model's flows, as ovn-trace (MICROFLOW: inport == "P" && eth.src == ... && ip4.dst == ...)`,
		min:  2, max: 2, flags: []string{"ofproto", "bridge", "ovs-rundir", "ovs-db"}, read: trace}
	verbBoolFlags["ofproto"] = true
	for _, f := range []string{"bridge", "ovs-rundir", "ovs-db"} {
		verbFlagNames[f] = true
	}
	completionOptions = append(completionOptions, "--ofproto", "--bridge", "--ovs-rundir", "--ovs-db")
}

// traceTunnelPort is the Geneve port's OpenFlow number on a chassis the
// trace numbers itself.
const traceTunnelPort = 65279

// maxTracePasses bounds the passes of one trace (chassis runs: the first,
// one per tunnel crossing, one per VNF).
const maxTracePasses = 64

// ---------------------------------------------------------------- the document

// traceDoc is what a trace prints; -o json prints it as it is.
type traceDoc struct {
	Chassis    string            `json:"chassis"`
	Inport     string            `json:"inport"`
	Switch     string            `json:"switch"`
	Microflow  string            `json:"microflow"`
	Packet     string            `json:"packet"`             // the packet as it enters, as an ovs-ofctl flow
	Defaults   []string          `json:"defaults,omitempty"` // the fields the microflow left out, and what they got
	Passes     []*tracePass      `json:"passes"`
	Deliveries []traceDelivery   `json:"deliveries"`
	Drops      []traceDrop       `json:"drops"`
	Controller []traceController `json:"controller"`
	Error      string            `json:"error,omitempty"` // the simulator stopped (the trace ends there)
	OFProto    *ofprotoCheck     `json:"ofproto,omitempty"`
}

// tracePass is one chassis' run of the packet.
type tracePass struct {
	Pass    int    `json:"pass"`
	Parent  int    `json:"parent"` // the pass that led here; -1 for the first
	Chassis string `json:"chassis"`
	InPort  uint32 `json:"in_port"`
	// Via is how the packet came: inport (the microflow's), vnf (a port
	// pair forwarded it: Pair, from Port) or tunnel (Tunnel).
	Via    string       `json:"via"`
	Port   string       `json:"port,omitempty"`
	Pair   string       `json:"pair,omitempty"`
	Tunnel *traceTunnel `json:"tunnel,omitempty"`
	Steps  []traceStep  `json:"steps"`
	packet sim.Packet
}

type traceTunnel struct {
	From    string `json:"from"`
	To      string `json:"to"`
	VNI     uint64 `json:"vni"`
	Ingress uint64 `json:"ingress"`
	Egress  uint64 `json:"egress"`
}

// traceStep is one step of a pass: a flow hit (table, priority, match,
// actions, cookie and its object in words), a table miss, an output, a
// group bucket, a controller action or a recirculation.
type traceStep struct {
	Chassis  string `json:"chassis"`
	Depth    int    `json:"depth"`
	Kind     string `json:"kind"` // flow, miss, output, bucket, controller, recirc
	Table    uint8  `json:"table"`
	Stage    string `json:"stage"`
	Priority int    `json:"priority,omitempty"`
	Match    string `json:"match,omitempty"`
	Actions  string `json:"actions,omitempty"`
	Cookie   string `json:"cookie,omitempty"`
	Object   string `json:"object,omitempty"`
	Port     uint32 `json:"port,omitempty"` // output: the OpenFlow port
	Group    uint32 `json:"group,omitempty"`
	Bucket   *int   `json:"bucket,omitempty"`
	Opcode   string `json:"opcode,omitempty"` // controller: what chainwired is asked, in words
	Note     string `json:"note,omitempty"`   // what the step means for the trace
	skipped  bool   // an output to the in_port
	tunnelTo string // an output to the tunnel: the destination's encap IP
	op       byte   // a controller action's opcode
}

type traceDelivery struct {
	Chassis string   `json:"chassis"`
	Port    string   `json:"port"` // the logical port ("" for an OpenFlow port no logical port has)
	Switch  string   `json:"switch,omitempty"`
	OFPort  uint32   `json:"ofport"`
	Pass    int      `json:"pass"`
	Packet  string   `json:"packet"`            // the frame as it left
	Changed []string `json:"changed,omitempty"` // fields that differ from the packet that entered
	Via     []string `json:"via,omitempty"`     // the port pairs and tunnels on the way
	Tap     bool     `json:"tap,omitempty"`     // a tap group's copy: the VNF returns nothing
}

type traceDrop struct {
	Chassis  string `json:"chassis"`
	Pass     int    `json:"pass"`
	Table    uint8  `json:"table"`
	Stage    string `json:"stage"`
	Priority int    `json:"priority"`
	Match    string `json:"match"`
	Cookie   string `json:"cookie,omitempty"`
	Object   string `json:"object,omitempty"`
	Reason   string `json:"reason"` // flow, miss, loopback, in_port, no-bucket, nowhere, loop
	Note     string `json:"note"`
}

type traceController struct {
	Chassis  string `json:"chassis"`
	Pass     int    `json:"pass"`
	Table    uint8  `json:"table"`
	Stage    string `json:"stage"`
	Priority int    `json:"priority"`
	Opcode   byte   `json:"opcode"`
	What     string `json:"what"`
}

// ---------------------------------------------------------------- the verb

func trace(c *call, m *topology.Model, store topology.Store) error {
	chassis, flowText := c.args[0], c.args[1]
	_, ofproto := c.verbFlags["ofproto"]
	for _, f := range []string{"bridge", "ovs-rundir", "ovs-db"} {
		if _, ok := c.verbFlags[f]; ok && !ofproto {
			return &usageError{"trace", "--" + f + " goes with --ofproto"}
		}
	}
	if m.ChassisByName(chassis) == nil {
		return notFound("chassis", chassis)
	}
	mf, err := parseMicroflow(m, flowText)
	if err != nil {
		return err
	}
	var bindings map[string]string
	if b, ok := store.(binder); ok {
		if bindings, err = b.Bindings(); err != nil {
			return err
		}
	}
	t := newTracer(m, chassis, mf.inport, bindings)
	if where := t.bound[mf.inport.Name]; where != chassis {
		why := fmt.Sprintf("is bound on chassis %s, not on %s", topology.Quote(where), topology.Quote(chassis))
		if rc := mf.inport.RequestedChassis(); rc != "" {
			why = fmt.Sprintf("requests chassis %s, not %s", topology.Quote(rc), topology.Quote(chassis))
		}
		return &topology.Error{What: "port " + topology.Quote(mf.inport.Name), Why: why}
	}
	var ovs *ovsBridge
	if ofproto {
		if ovs, err = readOVSBridge(c.verbFlags); err != nil {
			return err
		}
		if ovs.ofports[mf.inport.Name] == 0 {
			return &topology.Error{What: "--ofproto", Why: fmt.Sprintf("no interface of bridge %s has external_ids:iface-id=%s",
				ovs.bridge, mf.inport.Name)}
		}
		t.real = ovs
	}
	first, err := t.env(chassis)
	if err != nil {
		return err
	}
	p := mf.packet.Set(pipeline.FieldInPort, uint64(first.ofports[mf.inport.Name]))
	doc := &traceDoc{Chassis: chassis, Inport: mf.inport.Name, Switch: mf.inport.Switch, Microflow: flowText,
		Packet: p.OVSFlow(), Defaults: mf.defaults, Passes: []*tracePass{}, Deliveries: []traceDelivery{},
		Drops: []traceDrop{}, Controller: []traceController{}}
	t.doc, t.in = doc, p
	simErr := t.walk(&tracePass{Parent: -1, Chassis: chassis, InPort: uint32(p.Get(pipeline.FieldInPort)), Via: "inport",
		Port: mf.inport.Name, packet: p})
	if simErr != nil {
		doc.Error = simErr.Error()
	}
	var disagree bool
	if ovs != nil && simErr == nil {
		if doc.OFProto, err = ovs.check(doc.Passes[0], p, first, t); err != nil {
			return err
		}
		disagree = !doc.OFProto.Agree
	}
	if c.output == "json" {
		if err := c.printJSON(doc); err != nil {
			return err
		}
	} else {
		printTrace(c.out, doc)
	}
	switch {
	case simErr != nil:
		return &topology.Error{What: "trace", Why: simErr.Error()}
	case disagree:
		return &topology.Error{What: "trace --ofproto", Why: "ofproto/trace on " + ovs.bridge + " disagrees with the model's flows"}
	}
	return nil
}

// ---------------------------------------------------------------- the microflow

// microflow is a parsed MICROFLOW: its inport and the packet it
// describes (without in_port).
type microflow struct {
	inport   *topology.Port
	packet   sim.Packet
	defaults []string
}

type mfToken struct {
	kind string // word, string, op, &&, ||, !, (, ), {, }, ",", @, $, eof
	text string
	col  int
}

func mfError(col int, format string, args ...any) error {
	return &topology.Error{What: "microflow", Why: fmt.Sprintf("column %d: ", col) + fmt.Sprintf(format, args...)}
}

func mfLex(s string) ([]mfToken, error) {
	var toks []mfToken
	word := func(c byte) bool {
		return c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._:/-", c) >= 0)
	}
	for i := 0; i < len(s); {
		c, col := s[i], i+1
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.HasPrefix(s[i:], "&&"), strings.HasPrefix(s[i:], "||"):
			toks = append(toks, mfToken{s[i : i+2], s[i : i+2], col})
			i += 2
		case strings.HasPrefix(s[i:], "=="), strings.HasPrefix(s[i:], "!="), strings.HasPrefix(s[i:], "<="), strings.HasPrefix(s[i:], ">="):
			toks = append(toks, mfToken{"op", s[i : i+2], col})
			i += 2
		case c == '<' || c == '>':
			toks = append(toks, mfToken{"op", string(c), col})
			i++
		case strings.IndexByte("!(){},@$", c) >= 0:
			toks = append(toks, mfToken{string(c), string(c), col})
			i++
		case c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, mfError(col, "the string that starts here has no closing '\"'")
			}
			toks = append(toks, mfToken{"string", b.String(), col})
			i = j + 1
		case word(c):
			j := i
			for j < len(s) && word(s[j]) {
				j++
			}
			toks = append(toks, mfToken{"word", s[i:j], col})
			i = j
		default:
			return nil, mfError(col, "unexpected character %s", topology.Quote(s[i:i+1]))
		}
	}
	return append(toks, mfToken{"eof", "", len(s) + 1}), nil
}

// mfClause is one "FIELD == VALUE" (or a bare predicate such as tcp) of a
// microflow, with the column it starts at.
type mfClause struct {
	col        int
	name, text string
}

// splitMicroflow checks that s is a conjunction of equalities and bare
// predicates and returns its clauses (as text, to compile one by one)
// and the inport's name.
func splitMicroflow(s string) ([]mfClause, string, int, error) {
	toks, err := mfLex(s)
	if err != nil {
		return nil, "", 0, err
	}
	var out []mfClause
	inport, inportCol := "", 0
	for i := 0; ; {
		t := toks[i]
		switch t.kind {
		case "word":
		case "!":
			return nil, "", 0, mfError(t.col, "a microflow cannot negate: give each field its value with ==")
		case "(", ")":
			return nil, "", 0, mfError(t.col, "a microflow is a plain conjunction (FIELD == VALUE && ...): no parentheses")
		case "eof":
			if len(out) == 0 {
				return nil, "", 0, mfError(t.col, `a microflow needs at least inport == "PORT"`)
			}
			return nil, "", 0, mfError(t.col, "a field is missing after &&")
		default:
			return nil, "", 0, mfError(t.col, "want a field name, not %s", topology.Quote(t.text))
		}
		name := t.text
		cl := mfClause{col: t.col, name: name}
		end := i + 1
		if toks[i+1].kind == "op" {
			op := toks[i+1]
			if op.text != "==" {
				return nil, "", 0, mfError(op.col, "a microflow gives each field one value with ==, not %s", op.text)
			}
			v := toks[i+2]
			switch v.kind {
			case "word", "string":
			case "{":
				return nil, "", 0, mfError(v.col, "a set gives %s several values; a microflow is one packet", name)
			case "@", "$":
				return nil, "", 0, mfError(v.col, "a port group or address set gives %s several values; a microflow is one packet", name)
			default:
				return nil, "", 0, mfError(v.col, "%s needs a value after ==", name)
			}
			if v.kind == "word" && strings.Contains(v.text, "/") {
				return nil, "", 0, mfError(v.col, "%s == %s is a prefix or mask, several values; a microflow gives one", name, v.text)
			}
			end = i + 3
			if name == "inport" {
				if inport != "" {
					return nil, "", 0, mfError(t.col, "inport is given twice")
				}
				inport, inportCol = v.text, t.col
			}
		}
		switch {
		case name == "outport":
			return nil, "", 0, mfError(t.col, "outport is the pipeline's to choose; a microflow starts at its inport")
		case name == "inport" && end == i+1:
			return nil, "", 0, mfError(t.col, `inport needs == "PORT"`)
		case strings.HasPrefix(name, "ct.") || strings.HasPrefix(name, "ct_"):
			return nil, "", 0, mfError(t.col, "%s is conntrack state, which the pipeline sets (the traced packet starts a new connection)", name)
		}
		cl.text = textOf(s, toks[i], toks[end])
		out = append(out, cl)
		switch n := toks[end]; n.kind {
		case "eof":
			if inport == "" {
				return nil, "", 0, mfError(1, `a microflow needs inport == "PORT"`)
			}
			return out, inport, inportCol, nil
		case "&&":
			i = end + 1
		case "||":
			return nil, "", 0, mfError(n.col, "|| gives alternatives; a microflow is one packet (join its fields with &&)")
		default:
			return nil, "", 0, mfError(n.col, "want && between fields, not %s", topology.Quote(n.text))
		}
	}
}

// textOf is s from token a up to (not including) token b.
func textOf(s string, a, b mfToken) string { return strings.TrimSpace(s[a.col-1 : b.col-1]) }

// exprToPipeline maps the expression language's fields to the
// pipeline's (pipeline's own table is unexported).
var exprToPipeline = map[expr.Field]pipeline.Field{
	expr.EthSrc: pipeline.FieldEthSrc, expr.EthDst: pipeline.FieldEthDst, expr.EthType: pipeline.FieldEthType,
	expr.IPProto: pipeline.FieldIPProto, expr.IP4Src: pipeline.FieldIPv4Src, expr.IP4Dst: pipeline.FieldIPv4Dst,
	expr.IP6Src: pipeline.FieldIPv6Src, expr.IP6Dst: pipeline.FieldIPv6Dst, expr.TCPSrc: pipeline.FieldTCPSrc,
	expr.TCPDst: pipeline.FieldTCPDst, expr.UDPSrc: pipeline.FieldUDPSrc, expr.UDPDst: pipeline.FieldUDPDst,
	expr.ICMP4Type: pipeline.FieldICMPv4Type, expr.ICMP6Type: pipeline.FieldICMPv6Type, expr.VLANTCI: pipeline.FieldVlanTCI,
	expr.IPDSCP: pipeline.FieldIPDSCP, expr.IPECN: pipeline.FieldIPECN, expr.IPTTL: pipeline.FieldIPTTL,
	expr.IPFrag: pipeline.FieldIPFrag, expr.ICMP4Code: pipeline.FieldICMPv4Code, expr.ICMP6Code: pipeline.FieldICMPv6Code,
	expr.ARPOp: pipeline.FieldARPOp, expr.ARPSPA: pipeline.FieldARPSPA, expr.ARPTPA: pipeline.FieldARPTPA,
	expr.ARPSHA: pipeline.FieldARPSHA, expr.ARPTHA: pipeline.FieldARPTHA, expr.NDTarget: pipeline.FieldNDTarget,
	expr.NDSLL: pipeline.FieldNDSLL, expr.NDTLL: pipeline.FieldNDTLL, expr.TCPFlags: pipeline.FieldTCPFlags,
	expr.SCTPSrc: pipeline.FieldSCTPSrc, expr.SCTPDst: pipeline.FieldSCTPDst,
}

// oneTerm is the one packet a compiled expression describes: its only
// term, or of several (ip.ttl alone is ip4 || ip6, icmp is icmp4 ||
// icmp6) the IPv4 one; ok false if that is not one term of single values.
func oneTerm(e *expr.Expr) (expr.Match, bool) {
	terms := e.Terms()
	if len(terms) > 1 {
		var v4 []expr.Term
		for _, t := range terms {
			if vm, ok := t.Fixed[expr.EthType]; ok && bytes.Equal(vm.Value, []byte{0x08, 0x00}) {
				v4 = append(v4, t)
			}
		}
		terms = v4
	}
	if len(terms) != 1 || len(terms[0].Alts) > 0 {
		return nil, false
	}
	return terms[0].Fixed, true
}

// parseMicroflow reads MICROFLOW: a conjunction of FIELD == VALUE (OVN's
// fields; bare predicates such as tcp or ip4 too), one of them inport ==
// "PORT". Prerequisites fill in what the fields imply (ip4.src: eth.type
// 0x800; tcp.dst: ip.proto 6); the rest defaults (microflowDefaults).
func parseMicroflow(m *topology.Model, s string) (*microflow, error) {
	clauses, inport, inCol, err := splitMicroflow(s)
	if err != nil {
		return nil, err
	}
	p := m.Port(inport)
	if p == nil {
		return nil, notFound("port", inport)
	}
	if p.Type == topology.PortTypeRouter {
		return nil, mfError(inCol, "inport %s is a router-type port; a trace starts at a VM's port", topology.Quote(inport))
	}
	env := &expr.Env{Resolver: &expr.Names{Ports: map[string]uint32{inport: p.Key}}}
	e, err := expr.CompileEnv(s, env)
	if err != nil {
		var se *expr.SyntaxError
		if errors.As(err, &se) && se.Col == 1 && len(clauses) > 1 {
			// The whole cannot match: name the first clause that
			// contradicts those before it.
			for k := 1; k < len(clauses); k++ {
				var texts []string
				for _, cl := range clauses[:k+1] {
					texts = append(texts, cl.text)
				}
				if _, err := expr.CompileEnv(strings.Join(texts, " && "), env); err != nil {
					return nil, mfError(clauses[k].col, "%s contradicts the fields before it (%s)", clauses[k].text, se.Msg)
				}
			}
		}
		if errors.As(err, &se) {
			return nil, mfError(se.Col, "%s", se.Msg)
		}
		return nil, &topology.Error{What: "microflow", Why: err.Error()}
	}
	fixed, ok := oneTerm(e)
	if !ok {
		for _, cl := range clauses {
			ce, err := expr.CompileEnv(cl.text, env)
			if err != nil {
				continue
			}
			if _, ok := oneTerm(ce); !ok {
				return nil, mfError(cl.col, "%s stands for several packets; a microflow is one (give the fields it leaves open)", cl.text)
			}
		}
		return nil, mfError(1, "the microflow stands for several packets; give one value to each field")
	}
	pkt := sim.Packet{}
	given := map[pipeline.Field]bool{}
	for f, vm := range fixed {
		if f == expr.InPort {
			continue
		}
		pf, ok := exprToPipeline[f]
		if !ok {
			return nil, &topology.Error{What: "microflow", Why: fmt.Sprintf("field %s cannot be traced", f)}
		}
		v := make([]byte, pf.Bytes())
		off := len(v) - len(vm.Value)
		for i, b := range vm.Value {
			if vm.Mask != nil {
				b &= vm.Mask[i]
			}
			v[off+i] = b
		}
		pkt[pf], given[pf] = v, true
	}
	mf := &microflow{inport: p, packet: pkt}
	if err := mf.fillDefaults(m, given); err != nil {
		return nil, err
	}
	return mf, nil
}

// fillDefaults gives the fields a microflow leaves out sensible values,
// and says which it gave:
//   - eth.src: the inport's MAC (its first address, else its first port
//     security entry);
//   - eth.dst: for ARP, broadcast; for IP, the MAC of the port of the
//     inport's switch that has the destination address, else of the
//     switch's router port (the gateway);
//   - IPv4/IPv6 source: the inport's first address of the family;
//     ip.ttl 64; icmp4.type 8 and icmp6.type 128 (echo requests);
//     tcp.flags SYN (a new connection: without SYN, conntrack would
//     call it invalid);
//   - ARP: arp.op 1 (request), arp.sha eth.src, arp.spa the inport's
//     IPv4 address.
//
// A frame with neither IP nor ARP fields keeps eth.type 0.
func (mf *microflow) fillDefaults(m *topology.Model, given map[pipeline.Field]bool) error {
	p, pkt := mf.inport, mf.packet
	var mac net.HardwareAddr
	var ips []net.IP
	for _, a := range p.Addresses {
		if addr, err := topology.ParseAddress(a); err == nil && !addr.Unknown {
			if mac == nil {
				mac = addr.MAC
			}
			ips = append(ips, addr.IPs...)
		}
	}
	if mac == nil {
		for _, s := range p.PortSecurity {
			if sec, err := topology.ParseSecurity(s); err == nil {
				mac = sec.MAC
				break
			}
		}
	}
	set := func(f pipeline.Field, v []byte, what string) {
		if given[f] {
			return
		}
		pkt[f] = v
		mf.defaults = append(mf.defaults, what)
	}
	setN := func(f pipeline.Field, v uint64, what string) {
		if !given[f] {
			pkt.Set(f, v)
			mf.defaults = append(mf.defaults, what)
		}
	}
	if !given[pipeline.FieldEthSrc] {
		if mac == nil {
			return &topology.Error{What: "microflow", Why: fmt.Sprintf("port %s has no MAC address: give eth.src", topology.Quote(p.Name))}
		}
		set(pipeline.FieldEthSrc, mac, fmt.Sprintf("eth.src = %s (port %s)", mac, p.Name))
	}
	family := func(v6 bool) net.IP {
		for _, ip := range ips {
			if (ip.To4() == nil) == v6 {
				if v6 {
					return ip.To16()
				}
				return ip.To4()
			}
		}
		return nil
	}
	et := pkt.Get(pipeline.FieldEthType)
	var dstIP net.IP
	switch et {
	case 0x0800, 0x86dd:
		v6 := et == 0x86dd
		srcF, dstF, n := pipeline.FieldIPv4Src, pipeline.FieldIPv4Dst, "ip4"
		if v6 {
			srcF, dstF, n = pipeline.FieldIPv6Src, pipeline.FieldIPv6Dst, "ip6"
		}
		if ip := family(v6); ip != nil {
			set(srcF, ip, fmt.Sprintf("%s.src = %s (port %s)", n, ip, p.Name))
		}
		if given[dstF] {
			dstIP = net.IP(pkt[dstF])
		}
		setN(pipeline.FieldIPTTL, 64, "ip.ttl = 64")
		switch proto := pkt.Get(pipeline.FieldIPProto); {
		case proto == 6:
			setN(pipeline.FieldTCPFlags, 0x002, "tcp.flags = 0x002 (SYN)")
		case proto == 1 && !v6:
			setN(pipeline.FieldICMPv4Type, 8, "icmp4.type = 8 (echo request)")
		case proto == 58 && v6:
			setN(pipeline.FieldICMPv6Type, 128, "icmp6.type = 128 (echo request)")
		}
	case 0x0806:
		setN(pipeline.FieldARPOp, 1, "arp.op = 1 (request)")
		set(pipeline.FieldARPSHA, append([]byte(nil), pkt[pipeline.FieldEthSrc]...), "arp.sha = eth.src")
		if ip := family(false); ip != nil {
			set(pipeline.FieldARPSPA, ip, fmt.Sprintf("arp.spa = %s (port %s)", ip, p.Name))
		}
		if pkt.Get(pipeline.FieldARPOp) == 1 {
			set(pipeline.FieldEthDst, net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "eth.dst = ff:ff:ff:ff:ff:ff (an ARP request)")
		}
	}
	if given[pipeline.FieldEthDst] || pkt[pipeline.FieldEthDst] != nil {
		return nil
	}
	if dstIP != nil {
		if mac, who := macOf(m, p.Switch, dstIP); mac != nil {
			set(pipeline.FieldEthDst, mac, fmt.Sprintf("eth.dst = %s (%s)", mac, who))
			return nil
		}
		return &topology.Error{What: "microflow", Why: fmt.Sprintf("no port of switch %s has %s and the switch has no router: give eth.dst",
			topology.Quote(p.Switch), dstIP)}
	}
	return &topology.Error{What: "microflow", Why: "give eth.dst (it defaults only for IP and ARP requests)"}
}

// macOf finds the MAC a packet for ip gets on a switch: the port's that
// has the address, else the switch's router port's (the gateway).
func macOf(m *topology.Model, sw string, ip net.IP) (net.HardwareAddr, string) {
	var gw net.HardwareAddr
	var gwWho string
	for _, p := range m.PortsOf(sw) {
		if rp := p.RouterPort(); rp != "" {
			if lrp := m.RouterPort(rp); lrp != nil && gw == nil {
				if mac, err := net.ParseMAC(lrp.MAC); err == nil {
					gw, gwWho = mac, fmt.Sprintf("router port %s, the gateway", lrp.Name)
				}
			}
			continue
		}
		for _, a := range p.Addresses {
			addr, err := topology.ParseAddress(a)
			if err != nil || addr.Unknown {
				continue
			}
			for _, x := range addr.IPs {
				if x.Equal(ip) {
					return addr.MAC, "port " + p.Name
				}
			}
		}
	}
	return gw, gwWho
}

// ---------------------------------------------------------------- the walk

// chassisEnv is one chassis as the trace renders it.
type chassisEnv struct {
	name    string
	ofports map[string]uint32
	names   map[uint32]string
	tun     uint32
	sw      *sim.Switch
}

type tracer struct {
	m       *topology.Model
	chassis string
	bound   map[string]string // port -> chassis (see the rule at the top)
	envs    map[string]*chassisEnv
	byIP    map[string]string // encap IP -> chassis
	real    *ovsBridge        // --ofproto: CHASSIS's bridge
	doc     *traceDoc
	in      sim.Packet
	seen    map[string]bool
}

func newTracer(m *topology.Model, chassis string, inport *topology.Port, bindings map[string]string) *tracer {
	t := &tracer{m: m, chassis: chassis, bound: map[string]string{}, envs: map[string]*chassisEnv{},
		byIP: map[string]string{}, seen: map[string]bool{}}
	for _, ch := range m.Chassis {
		t.byIP[net.ParseIP(ch.IP).String()] = ch.Name
	}
	for _, p := range m.Ports {
		switch {
		case p.Type == topology.PortTypeRouter:
		case p.RequestedChassis() != "":
			t.bound[p.Name] = p.RequestedChassis()
		case bindings[p.Name] != "":
			t.bound[p.Name] = bindings[p.Name]
		case p.Name == inport.Name:
			t.bound[p.Name] = chassis
		}
	}
	return t
}

// env renders a chassis' flows (once).
func (t *tracer) env(ch string) (*chassisEnv, error) {
	if e := t.envs[ch]; e != nil {
		return e, nil
	}
	e := &chassisEnv{name: ch, ofports: map[string]uint32{}, names: map[uint32]string{}, tun: traceTunnelPort}
	zones := map[string]uint16{}
	if ch == t.chassis && t.real != nil {
		e.ofports, e.tun = t.real.ofports, t.real.tunnel
		for i, n := range slices.Sorted(mapKeys(e.ofports)) {
			zones[n] = uint16(i + 1)
		}
	} else {
		var local []*topology.Port
		for i := range t.m.Ports {
			if p := &t.m.Ports[i]; t.bound[p.Name] == ch {
				local = append(local, p)
			}
		}
		key := func(p *topology.Port) uint32 {
			if sw := t.m.Switch(p.Switch); sw != nil {
				return sw.Key
			}
			return 0
		}
		sort.SliceStable(local, func(i, j int) bool {
			if a, b := key(local[i]), key(local[j]); a != b {
				return a < b
			}
			return local[i].Key < local[j].Key
		})
		for i, p := range local {
			e.ofports[p.Name], zones[p.Name] = uint32(i+1), uint16(i+1)
		}
	}
	for n, of := range e.ofports {
		e.names[of] = n
	}
	// Ports bound elsewhere without requested-chassis: the renderer
	// learns where from Bindings, as the agent does from the store.
	bindings := map[string]string{}
	for n, where := range t.bound {
		if t.m.Port(n).RequestedChassis() == "" && where != ch {
			bindings[n] = where
		}
	}
	tables, err := pipeline.Render(pipeline.Input{Model: t.m, Chassis: ch, OFPorts: e.ofports, Bindings: bindings,
		TunnelOFPort: e.tun, Zones: zones})
	if err != nil {
		return nil, &topology.Error{What: "trace", Why: fmt.Sprintf("rendering chassis %s: %v", topology.Quote(ch), err)}
	}
	if e.sw, err = sim.New(tables); err != nil {
		return nil, &topology.Error{What: "trace", Why: fmt.Sprintf("chassis %s: %v", topology.Quote(ch), err)}
	}
	t.envs[ch] = e
	return e, nil
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// walk runs one pass and, depth first, the passes it leads to.
func (t *tracer) walk(ps *tracePass) error {
	ps.Pass = len(t.doc.Passes)
	t.doc.Passes = append(t.doc.Passes, ps)
	e, err := t.env(ps.Chassis)
	if err != nil {
		return err
	}
	r, err := e.sw.RunTraced(ps.packet)
	ps.Steps = t.steps(ps, e, r)
	if err != nil {
		return fmt.Errorf("on %s: %v", ps.Chassis, err)
	}
	var next []*tracePass
	var prev *sim.Step
	for i := range r.Steps {
		s := &r.Steps[i]
		st := &ps.Steps[i]
		switch s.Kind {
		case sim.StepMiss:
			t.drop(ps, st, nil, "miss", "no flow matches: the table drops it")
		case sim.StepFlow:
			if !continues(s.Flow.Actions) {
				t.endFlow(ps, st, s.Flow)
			}
		case sim.StepBucket:
			if s.Bucket < 0 {
				t.drop(ps, st, nil, "no-bucket", fmt.Sprintf("group %s has no live bucket", s.Group.Name))
			}
		case sim.StepController:
			if len(s.Userdata) > 0 && s.Userdata[0] == pipeline.OpDNS && prev != nil {
				t.toController(ps, st, int(prev.Flow.Priority), s.Userdata)
			}
		case sim.StepOutput:
			if n := t.output(ps, st, e, r, s); n != nil {
				next = append(next, n)
			}
		}
		if s.Kind == sim.StepFlow {
			prev = s
		}
	}
	for _, n := range next {
		if len(t.doc.Passes) >= maxTracePasses {
			return fmt.Errorf("more than %d passes (a loop?)", maxTracePasses)
		}
		if err := t.walk(n); err != nil {
			return err
		}
	}
	return nil
}

// continues reports whether a flow's actions take the packet anywhere
// (a later table, another, a group, a port, a recirculation).
func continues(acts []pipeline.Action) bool {
	for _, a := range acts {
		switch a := a.(type) {
		case pipeline.Goto, pipeline.Resubmit, pipeline.Output, pipeline.ToGroup:
			return true
		case pipeline.Ct:
			if a.Recirc {
				return true
			}
		case pipeline.Clone:
			if continues(a.Actions) {
				return true
			}
		case pipeline.Controller:
			if a.Pause && len(a.Userdata) > 0 && (a.Userdata[0] == pipeline.OpContinue || a.Userdata[0] == pipeline.OpDNS) {
				return true
			}
		}
	}
	return false
}

// answering opcodes: the packet ends with chainwired, which answers.
var answering = map[byte]bool{pipeline.OpReject: true, pipeline.OpNDAdvert: true, pipeline.OpDHCPv4: true,
	pipeline.OpDHCPv6: true, pipeline.OpProbe: true, pipeline.OpTimeExceeded: true, pipeline.OpRouterEcho6: true}

// endFlow is a flow after which the packet goes nowhere: a drop, or
// chainwired's (an answer).
func (t *tracer) endFlow(ps *tracePass, st *traceStep, f *pipeline.Flow) {
	for _, a := range f.Actions {
		if c, ok := a.(pipeline.Controller); ok && len(c.Userdata) > 0 && answering[c.Userdata[0]] {
			t.toController(ps, st, st.Priority, c.Userdata)
			return
		}
	}
	reason, note := "flow", "dropped by this flow"
	switch {
	case f.Stage == pipeline.CheckLoopback && f.Priority > 0:
		reason, note = "loopback", "not sent back out of the port it came from"
	case f.Cookie == pipeline.MakeCookie(pipeline.FeatureBase, pipeline.KindGlobal, 0) && f.Priority == 0:
		note = "dropped by the table's default flow"
	}
	for _, a := range f.Actions {
		if c, ok := a.(pipeline.Controller); ok && len(c.Userdata) > 0 && c.Userdata[0] == pipeline.OpLogACL {
			note += " (a copy goes to chainwired's log)"
		}
	}
	t.drop(ps, st, f, reason, note)
}

func (t *tracer) drop(ps *tracePass, st *traceStep, f *pipeline.Flow, reason, note string) {
	d := traceDrop{Chassis: ps.Chassis, Pass: ps.Pass, Table: st.Table, Stage: st.Stage, Priority: st.Priority,
		Match: st.Match, Cookie: st.Cookie, Object: st.Object, Reason: reason, Note: note}
	if f == nil && st.Kind != "flow" {
		d.Match = ""
	}
	st.Note = note
	t.doc.Drops = append(t.doc.Drops, d)
}

// toController records a packet-in chainwired answers (or, for DNS,
// answers or resumes), found at the flow step st of priority prio.
func (t *tracer) toController(ps *tracePass, st *traceStep, prio int, ud []byte) {
	t.doc.Controller = append(t.doc.Controller, traceController{Chassis: ps.Chassis, Pass: ps.Pass, Table: st.Table,
		Stage: st.Stage, Priority: prio, Opcode: ud[0], What: opcodeWords(ud)})
}

// opcodeWords says what a controller action asks chainwired.
func opcodeWords(ud []byte) string {
	if len(ud) == 0 {
		return "a packet-in without userdata"
	}
	switch ud[0] {
	case pipeline.OpContinue:
		return "resume (a flood's next chunk; chainwired resumes at once)"
	case pipeline.OpLogACL:
		if len(ud) >= 2 {
			return fmt.Sprintf("ACL log: acl %q, verdict %s", ud[2:], pipeline.VerdictName(ud[1]))
		}
		return "ACL log"
	case pipeline.OpReject:
		return "reject: chainwired answers the sender (TCP RST, ICMP unreachable)"
	case pipeline.OpNDAdvert:
		if len(ud) >= 23 {
			return fmt.Sprintf("neighbour solicitation: chainwired answers %s is at %s", net.IP(ud[7:23]), net.HardwareAddr(ud[1:7]))
		}
		return "neighbour solicitation: chainwired answers with an advertisement"
	case pipeline.OpDHCPv4:
		if u, err := pipeline.ParseDHCPv4Userdata(ud); err == nil {
			return fmt.Sprintf("DHCP answer: chainwired answers from server %s, offering %s", u.ServerIP, u.Offer)
		}
		return "DHCP answer"
	case pipeline.OpDHCPv6:
		if u, err := pipeline.ParseDHCPv6Userdata(ud); err == nil {
			if u.Stateless {
				return "DHCPv6 answer (stateless): chainwired answers"
			}
			return fmt.Sprintf("DHCPv6 answer: chainwired answers, offering %s", u.Offer)
		}
		return "DHCPv6 answer"
	case pipeline.OpDNS:
		return "DNS query: chainwired answers a name it knows, else resumes the query unchanged (the trace follows it)"
	case pipeline.OpProbe:
		return "health probe back from its VNF"
	case pipeline.OpTimeExceeded:
		return "time exceeded: the TTL would expire; chainwired answers ICMP time exceeded"
	case pipeline.OpRouterEcho6:
		return "ping to a router address (IPv6): chainwired answers"
	}
	return fmt.Sprintf("opcode %d", ud[0])
}

// output is an output step: a tunnel (a pass on the chassis it reaches),
// a VNF port (a pass from the pair's other port), a delivery, or the
// in_port (skipped).
func (t *tracer) output(ps *tracePass, st *traceStep, e *chassisEnv, r sim.Result, s *sim.Step) *tracePass {
	if s.Skipped {
		st.skipped = true
		t.drop(ps, st, nil, "in_port", fmt.Sprintf("output:%d is the packet's in_port, which OpenFlow never outputs to", s.Port))
		return nil
	}
	if s.Port == e.tun {
		dst, q := sim.Arrival(sim.Output{Port: s.Port, Packet: s.Packet}, 0)
		md := s.Packet.Get(pipeline.FieldTunMetadata0)
		tun := &traceTunnel{From: ps.Chassis, To: t.byIP[dst], VNI: s.Packet.Get(pipeline.FieldTunID), Ingress: md >> 16 & 0x7fff, Egress: md & 0xffff}
		st.tunnelTo = dst
		st.Note = fmt.Sprintf("tunnel to %s (VNI %d, ingress %d, egress %d)", tun.To, tun.VNI, tun.Ingress, tun.Egress)
		if tun.To == "" {
			t.drop(ps, st, nil, "nowhere", fmt.Sprintf("tunnel to %s, which is no chassis' encap IP", dst))
			return nil
		}
		if ps.Via == "tunnel" && !sim.RanIngress(r) {
			t.drop(ps, st, nil, "loop", "a packet from a tunnel tunnelled again without running ingress (a loop)")
			return nil
		}
		ne, err := t.env(tun.To)
		if err != nil {
			st.Note += ": " + err.Error()
			return nil
		}
		q.Set(pipeline.FieldInPort, uint64(ne.tun))
		return &tracePass{Parent: ps.Pass, Chassis: tun.To, InPort: ne.tun, Via: "tunnel", Tunnel: tun, packet: q}
	}
	name := e.names[s.Port]
	p := t.m.Port(name)
	if p == nil {
		st.Note = fmt.Sprintf("output:%d, which no logical port has on %s", s.Port, ps.Chassis)
		t.deliver(ps, s, "", "", false)
		return nil
	}
	pp := t.m.PairOfPort(name)
	if pp == nil {
		st.Note = "delivered to " + name
		t.deliver(ps, s, name, p.Switch, false)
		return nil
	}
	if g := t.m.GroupOfPair(pp.Name); g != nil && g.Tap() {
		st.Note = fmt.Sprintf("a copy to %s, of pair %s of tap group %s: it stays there", name, pp.Name, g.Name)
		t.deliver(ps, s, name, p.Switch, true)
		return nil
	}
	other := pp.OutPort
	if name == pp.OutPort {
		other = pp.InPort
	}
	where := t.bound[other]
	if where == "" {
		st.Note = fmt.Sprintf("to %s, VNF port of pair %s; its other port %s is bound on no chassis: the frame ends there", name, pp.Name, other)
		t.deliver(ps, s, name, p.Switch, false)
		return nil
	}
	ne, err := t.env(where)
	if err != nil {
		st.Note = err.Error()
		return nil
	}
	if ne.ofports[other] == 0 {
		st.Note = fmt.Sprintf("to %s, VNF port of pair %s; its other port %s has no OpenFlow port on %s: the frame ends there", name, pp.Name, other, where)
		t.deliver(ps, s, name, p.Switch, false)
		return nil
	}
	q := s.Packet.Frame().Set(pipeline.FieldInPort, uint64(ne.ofports[other]))
	key := where + "|" + q.OVSFlow()
	if t.seen[key] {
		t.drop(ps, st, nil, "loop", fmt.Sprintf("to %s (pair %s): the same frame came back from %s before (a loop)", name, pp.Name, other))
		return nil
	}
	t.seen[key] = true
	if other == name {
		st.Note = fmt.Sprintf("to %s, the one port of one-armed pair %s: the VNF sends the frame back, unchanged", name, pp.Name)
	} else {
		st.Note = fmt.Sprintf("to %s, VNF port of pair %s: the VNF forwards the frame, unchanged, from %s", name, pp.Name, other)
	}
	return &tracePass{Parent: ps.Pass, Chassis: where, InPort: ne.ofports[other], Via: "vnf", Port: other, Pair: pp.Name, packet: q}
}

func (t *tracer) deliver(ps *tracePass, s *sim.Step, port, sw string, tap bool) {
	d := traceDelivery{Chassis: ps.Chassis, Port: port, Switch: sw, OFPort: s.Port, Pass: ps.Pass, Tap: tap}
	d.Packet = frameString(s.Packet)
	d.Changed = changedFields(t.in, s.Packet)
	for q := ps; q != nil; {
		switch q.Via {
		case "vnf":
			d.Via = append(d.Via, "pair "+q.Pair)
		case "tunnel":
			d.Via = append(d.Via, fmt.Sprintf("tunnel %s -> %s", q.Tunnel.From, q.Tunnel.To))
		}
		if q.Parent < 0 {
			break
		}
		q = t.doc.Passes[q.Parent]
	}
	slices.Reverse(d.Via)
	t.doc.Deliveries = append(t.doc.Deliveries, d)
}

// frameString is a packet's headers as an ovs-ofctl flow, without in_port.
func frameString(p sim.Packet) string {
	s := p.Frame().OVSFlow()
	_, rest, _ := strings.Cut(s, ",")
	return rest
}

// changedFields lists the header fields that differ between two packets
// ("nw_ttl 64 -> 63").
func changedFields(a, b sim.Packet) []string {
	kv := func(p sim.Packet) (map[string]string, []string) {
		m := map[string]string{}
		var order []string
		for _, part := range strings.Split(frameString(p), ",") {
			k, v, ok := strings.Cut(part, "=")
			if !ok {
				k, v = "proto", part
			}
			m[k] = v
			order = append(order, k)
		}
		return m, order
	}
	ma, _ := kv(a)
	mb, order := kv(b)
	var out []string
	for _, k := range order {
		if ma[k] != mb[k] {
			out = append(out, fmt.Sprintf("%s %s -> %s", k, orNone(ma[k]), mb[k]))
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// steps turns the simulator's steps into the document's.
func (t *tracer) steps(ps *tracePass, e *chassisEnv, r sim.Result) []traceStep {
	out := make([]traceStep, len(r.Steps))
	var table uint8
	for i, s := range r.Steps {
		st := traceStep{Chassis: ps.Chassis, Depth: s.Depth, Table: s.Table}
		if s.Table != 0xff {
			table = s.Table
		}
		st.Table = table
		st.Stage = sim.StageName(table)
		switch s.Kind {
		case sim.StepFlow:
			st.Kind, st.Priority = "flow", int(s.Flow.Priority)
			st.Match, st.Actions = s.Flow.Match.String(), pipeline.ActionsString(s.Flow.Actions, false)
			st.Cookie, st.Object = fmt.Sprintf("0x%x", s.Flow.Cookie), describeCookie(t.m, s.Flow.Cookie)
			if s.Flow.Priority == 0 && s.Flow.Cookie == pipeline.MakeCookie(pipeline.FeatureBase, pipeline.KindGlobal, 0) {
				st.Object = "base: the table's default"
			}
		case sim.StepMiss:
			st.Kind = "miss"
		case sim.StepOutput:
			st.Kind, st.Port = "output", s.Port
		case sim.StepBucket:
			b := s.Bucket
			st.Kind, st.Group, st.Bucket = "bucket", s.Group.ID, &b
			st.Object = "group " + s.Group.Name
		case sim.StepController:
			st.Kind, st.Opcode = "controller", opcodeWords(s.Userdata)
			if len(s.Userdata) > 0 {
				st.op = s.Userdata[0]
			}
		case sim.StepRecirc:
			st.Kind = "recirc"
		}
		out[i] = st
	}
	return out
}

// describeCookie is pipeline.DescribeCookie with the objects' names.
func describeCookie(m *topology.Model, c uint64) string {
	d := pipeline.DescribeCookie(c)
	if !pipeline.IsOurs(c) {
		return d
	}
	k, id := pipeline.Kind(c>>40&0xff), c&(1<<40-1)
	dpName := func(key uint64) string {
		for _, sw := range m.Switches {
			if uint64(sw.Key) == key {
				return "switch " + topology.Quote(sw.Name)
			}
		}
		for _, r := range m.Routers {
			if uint64(r.Key) == key {
				return "router " + topology.Quote(r.Name)
			}
		}
		return fmt.Sprintf("datapath %d", key)
	}
	var names string
	switch k {
	case pipeline.KindSwitch:
		names = dpName(id)
	case pipeline.KindPort:
		names = fmt.Sprintf("port key %d on %s", id&0xffff, dpName(id>>16))
		for _, p := range m.Ports {
			if sw := m.Switch(p.Switch); sw != nil && uint64(sw.Key) == id>>16 && uint64(p.Key) == id&0xffff {
				names = fmt.Sprintf("port %s on switch %s", topology.Quote(p.Name), topology.Quote(p.Switch))
			}
		}
	case pipeline.KindClassifier:
		for _, ch := range m.PortChains {
			if uint64(ch.Key) != id>>16 {
				continue
			}
			names = "chain " + topology.Quote(ch.Name)
			for _, cl := range m.Classifiers {
				if cl.Chain == ch.Name && uint64(cl.Key) == id&0xffff {
					names = fmt.Sprintf("classifier %s (%s %s %s) of chain %s", topology.Quote(cl.Name), cl.Port, cl.Direction, cl.Path, topology.Quote(ch.Name))
				}
			}
		}
	case pipeline.KindACL:
		for _, a := range m.ACLs {
			if uint64(a.Key) == id {
				on := a.Switch
				if on == "" {
					on = "@" + a.PortGroup
				}
				names = fmt.Sprintf("ACL %s: %s %s %d '%s' %s", topology.Quote(a.Name), on, a.Direction, a.Priority, a.Match, a.Action)
			}
		}
	case pipeline.KindQoS:
		for _, q := range m.QoS {
			if uint64(q.Key) == id {
				names = fmt.Sprintf("QoS rule %s: %s %s %d '%s'", topology.Quote(q.Name), q.Switch, q.Direction, q.Priority, q.Match)
			}
		}
	case pipeline.KindLB:
		for _, lb := range m.LoadBalancers {
			if uint64(lb.Key) == id>>24 {
				names = fmt.Sprintf("load balancer %s on %s", topology.Quote(lb.Name), dpName(id&0xffffff))
			}
		}
	case pipeline.KindRouter:
		for _, r := range m.Routers {
			if uint64(r.Key) != id>>16 {
				continue
			}
			names = "router " + topology.Quote(r.Name)
			for _, rp := range m.RouterPorts {
				if rp.Router == r.Name && uint64(rp.Key) == id&0xffff {
					names = fmt.Sprintf("router port %s of router %s", topology.Quote(rp.Name), topology.Quote(r.Name))
				}
			}
		}
	}
	if names == "" {
		return d
	}
	return d + ": " + names
}

// ---------------------------------------------------------------- text

func printTrace(w interface{ Write([]byte) (int, error) }, doc *traceDoc) {
	pf := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	pf("trace on %s from %s (switch %s)\n", doc.Chassis, topology.Quote(doc.Inport), doc.Switch)
	pf("packet: %s\n", doc.Packet)
	if len(doc.Defaults) > 0 {
		pf("defaults: %s\n", strings.Join(doc.Defaults, ", "))
	}
	for _, ps := range doc.Passes {
		pf("\n")
		var head string
		switch ps.Via {
		case "inport":
			head = fmt.Sprintf("%s: from %s (in_port %d)", ps.Chassis, ps.Port, ps.InPort)
		case "vnf":
			head = fmt.Sprintf("%s: from %s (in_port %d), the frame pair %s forwarded, unchanged", ps.Chassis, ps.Port, ps.InPort, ps.Pair)
		case "tunnel":
			tn := ps.Tunnel
			head = fmt.Sprintf("%s: from the tunnel (in_port %d): from %s, VNI %d, ingress %d, egress %d", ps.Chassis, ps.InPort, tn.From, tn.VNI, tn.Ingress, tn.Egress)
		}
		pf("%s\n%s\n", head, strings.Repeat("-", len(head)))
		for _, st := range ps.Steps {
			ind := strings.Repeat("    ", st.Depth)
			switch st.Kind {
			case "flow":
				match := st.Match
				if match == "" {
					match = "(any packet)"
				}
				pf("%s%3d. %s, priority %d: %s\n", ind, st.Table, st.Stage, st.Priority, match)
				pf("%s     %s\n", ind, st.Actions)
				pf("%s     cookie %s: %s\n", ind, st.Cookie, st.Object)
			case "miss":
				pf("%s%3d. %s: no flow matches\n", ind, st.Table, st.Stage)
			case "output":
				pf("%s     -> output:%d: %s\n", ind, st.Port, st.Note)
				continue
			case "bucket":
				if *st.Bucket < 0 {
					pf("%s     %s (%d): no live bucket\n", ind, st.Object, st.Group)
				} else {
					pf("%s     %s (%d), bucket %d:\n", ind, st.Object, st.Group, *st.Bucket)
				}
			case "controller":
				pf("%s     -> to chainwired: %s\n", ind, st.Opcode)
			case "recirc":
				pf("%s     -> through conntrack, recirculated\n", ind)
			}
			if st.Note != "" {
				pf("%s        %s\n", ind, st.Note)
			}
		}
	}
	pf("\nresult:\n")
	for _, d := range doc.Deliveries {
		who := "delivered to " + d.Port
		switch {
		case d.Port == "":
			who = fmt.Sprintf("output to OpenFlow port %d (no logical port)", d.OFPort)
		case d.Tap:
			who = "a tap's copy to " + d.Port
		}
		pf("  %s on %s (OpenFlow port %d)", who, d.Chassis, d.OFPort)
		if len(d.Via) > 0 {
			pf(", via %s", strings.Join(d.Via, ", "))
		}
		pf("\n    packet: %s\n", d.Packet)
		if len(d.Changed) > 0 {
			pf("    changed: %s\n", strings.Join(d.Changed, ", "))
		} else {
			pf("    unchanged\n")
		}
	}
	for _, d := range doc.Drops {
		if d.Reason == "loopback" && len(doc.Deliveries) > 0 {
			pf("  not sent back to its inport (%s, %s, priority %d)\n", d.Chassis, d.Stage, d.Priority)
			continue
		}
		pf("  dropped on %s at %s", d.Chassis, d.Stage)
		if d.Reason != "miss" && d.Priority >= 0 && d.Cookie != "" {
			pf(" (priority %d, %s)", d.Priority, d.Object)
		}
		pf(": %s\n", d.Note)
	}
	for _, c := range doc.Controller {
		pf("  to chainwired on %s at %s (priority %d): %s\n", c.Chassis, c.Stage, c.Priority, c.What)
	}
	if len(doc.Deliveries)+len(doc.Drops)+len(doc.Controller) == 0 && doc.Error == "" {
		pf("  nothing: the packet went nowhere\n")
	}
	if doc.Error != "" {
		pf("  the simulator stopped: %s\n", doc.Error)
	}
	if o := doc.OFProto; o != nil {
		pf("\nofproto/trace %s %s\n", o.Bridge, o.Flow)
		if o.Agree {
			pf("  agrees: %s\n", strings.Join(o.Simulated, " "))
		} else {
			pf("  DISAGREES\n    model (simulated): %s\n    ofproto/trace:     %s\n", strings.Join(o.Simulated, " "), strings.Join(o.OVS, " "))
			pf("  ofproto/trace said:\n")
			for _, l := range strings.Split(strings.TrimRight(o.Output, "\n"), "\n") {
				pf("    %s\n", l)
			}
		}
	}
}

// ---------------------------------------------------------------- --ofproto

// ovsBridge is the local bridge --ofproto compares with.
type ovsBridge struct {
	bridge, rundir, db string
	ofports            map[string]uint32 // iface-id -> ofport (the lowest, as the agent)
	tunnel             uint32            // the Geneve port
	names              map[string]uint32 // interface name -> ofport
}

// ofprotoCheck is what --ofproto found: the flow it traced, the outcome
// of the first pass by the simulator and by ofproto/trace, whether they
// agree, and ofproto/trace's output.
//
// An outcome is a sorted list of: output:N for each output to OpenFlow
// port N other than the Geneve port (outputs to the in_port, which
// OpenFlow skips, excluded); tunnel:IP for each output to the Geneve
// port, IP the tunnel's destination (from the datapath actions' tunnel
// header); controller:OP for each packet-in with opcode OP (chainwire's
// userdata; flood-chunk resumes excluded); or drop when there is none of
// these. The simulated outcome is the first pass's; later passes
// (other chassis, VNFs) ofproto/trace cannot see.
type ofprotoCheck struct {
	Bridge    string   `json:"bridge"`
	Flow      string   `json:"flow"`
	Simulated []string `json:"simulated"`
	OVS       []string `json:"ofproto_trace"`
	Agree     bool     `json:"agree"`
	Output    string   `json:"output"`
}

// runOVS runs an OVS tool (tests replace it).
var runOVS = func(env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, &topology.Error{What: "--ofproto", Why: fmt.Sprintf("%s %s: %s", name, strings.Join(args, " "), oneLine(errors.New(msg)))}
	}
	return out, nil
}

func readOVSBridge(flags map[string]string) (*ovsBridge, error) {
	b := &ovsBridge{bridge: "br-int", rundir: "/var/run/openvswitch", ofports: map[string]uint32{}, names: map[string]uint32{}}
	if v := flags["bridge"]; v != "" {
		b.bridge = v
	}
	if v := flags["ovs-rundir"]; v != "" {
		b.rundir = v
	}
	b.db = "unix:" + filepath.Join(b.rundir, "db.sock")
	if v := flags["ovs-db"]; v != "" {
		b.db = v
	}
	out, err := runOVS(nil, "ovs-vsctl", "--db="+b.db, "list-ifaces", b.bridge)
	if err != nil {
		return nil, err
	}
	onBridge := map[string]bool{}
	for _, n := range strings.Fields(string(out)) {
		onBridge[n] = true
	}
	out, err = runOVS(nil, "ovs-vsctl", "--db="+b.db, "--format=json", "--columns=name,ofport,type,external_ids", "list", "Interface")
	if err != nil {
		return nil, err
	}
	var tbl struct {
		Data [][]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(out, &tbl); err != nil {
		return nil, &topology.Error{What: "--ofproto", Why: "ovs-vsctl list Interface: " + err.Error()}
	}
	for _, row := range tbl.Data {
		if len(row) != 4 {
			continue
		}
		var name, typ string
		var ofport int64
		json.Unmarshal(row[0], &name)
		json.Unmarshal(row[2], &typ)
		if json.Unmarshal(row[1], &ofport) != nil || ofport <= 0 || !onBridge[name] {
			continue
		}
		b.names[name] = uint32(ofport)
		if typ == "geneve" && (b.tunnel == 0 || uint32(ofport) < b.tunnel) {
			b.tunnel = uint32(ofport)
		}
		var ids []any // ["map", [[k, v], ...]]
		json.Unmarshal(row[3], &ids)
		if len(ids) == 2 {
			pairs, _ := ids[1].([]any)
			for _, kv := range pairs {
				if kv, ok := kv.([]any); ok && len(kv) == 2 && kv[0] == "iface-id" {
					id, _ := kv[1].(string)
					if cur := b.ofports[id]; id != "" && (cur == 0 || uint32(ofport) < cur) {
						b.ofports[id] = uint32(ofport)
					}
				}
			}
		}
	}
	return b, nil
}

// appctl runs ovs-appctl against ovs-vswitchd's control socket:
// <rundir>/ovs-vswitchd.<pid>.ctl from its pid file (the default), or
// <rundir>/ovs-vswitchd.ctl (a --unixctl of that name), else ovs-vswitchd
// found through OVS_RUNDIR.
func (b *ovsBridge) appctl(args ...string) ([]byte, error) {
	var sockets []string
	if pid, err := os.ReadFile(filepath.Join(b.rundir, "ovs-vswitchd.pid")); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(pid))); err == nil {
			sockets = append(sockets, filepath.Join(b.rundir, fmt.Sprintf("ovs-vswitchd.%d.ctl", n)))
		}
	}
	for _, ctl := range append(sockets, filepath.Join(b.rundir, "ovs-vswitchd.ctl")) {
		if _, err := os.Stat(ctl); err == nil {
			return runOVS(nil, "ovs-appctl", append([]string{"-t", ctl}, args...)...)
		}
	}
	return runOVS([]string{"OVS_RUNDIR=" + b.rundir}, "ovs-appctl", append([]string{"-t", "ovs-vswitchd"}, args...)...)
}

var (
	ofOutput   = regexp.MustCompile(`^\s*output:("?)([^",\s]+)"?\s*$`)
	ofCtl      = regexp.MustCompile(`controller\(.*userdata=([0-9a-fA-F]{2})`)
	odpTunnel  = regexp.MustCompile(`(?:tunnel\(tun_id=[^)]*?[,(]dst=|tnl_push\(.*?ipv4\(src=[0-9.]+,dst=)([0-9.]+)`)
	odpActions = regexp.MustCompile(`(?m)^Datapath actions: (.*)$`)
)

// check runs ofproto/trace for the packet and compares its outcome with
// the first pass's.
func (b *ovsBridge) check(first *tracePass, p sim.Packet, e *chassisEnv, t *tracer) (*ofprotoCheck, error) {
	flow := p.OVSFlow()
	out, err := b.appctl("ofproto/trace", b.bridge, flow)
	if err != nil {
		return nil, err
	}
	oc := &ofprotoCheck{Bridge: b.bridge, Flow: flow, Output: string(out)}
	// The simulator's first pass.
	for _, st := range first.Steps {
		switch {
		case st.Kind == "output" && !st.skipped && st.Port == e.tun:
			oc.Simulated = append(oc.Simulated, "tunnel:"+st.tunnelTo)
		case st.Kind == "output" && !st.skipped:
			oc.Simulated = append(oc.Simulated, fmt.Sprintf("output:%d", st.Port))
		case st.Kind == "controller" && st.op != pipeline.OpContinue:
			oc.Simulated = append(oc.Simulated, fmt.Sprintf("controller:%d", st.op))
		}
	}
	oc.OVS = b.outcome(string(out))
	finish := func(l []string) []string {
		if len(l) == 0 {
			return []string{"drop"}
		}
		sort.Strings(l)
		return slices.Compact(l)
	}
	oc.Simulated, oc.OVS = finish(oc.Simulated), finish(oc.OVS)
	oc.Agree = slices.Equal(oc.Simulated, oc.OVS)
	return oc, nil
}

// outcome reads ofproto/trace's output: the outputs and packet-ins of its
// bridge section, and its datapath actions' tunnel destinations.
func (b *ovsBridge) outcome(out string) []string {
	var res []string
	lines := strings.Split(out, "\n")
	tunnels, inBridge := 0, false
	for i, l := range lines {
		// A recirculation (ct) ends a section with Final flow and
		// Datapath actions; the resumed one has its own bridge section.
		switch tl := strings.TrimSpace(l); {
		case strings.HasPrefix(tl, "bridge(\""):
			inBridge = true
		case strings.HasPrefix(tl, "Final flow:"):
			inBridge = false
		}
		if !inBridge {
			continue
		}
		if m := ofOutput.FindStringSubmatch(l); m != nil {
			if i+1 < len(lines) && strings.Contains(lines[i+1], "skipping output to input port") {
				continue
			}
			port, ok := uint32(0), false
			if m[1] == "" {
				if n, err := strconv.ParseUint(m[2], 10, 32); err == nil {
					port, ok = uint32(n), true
				}
			}
			if !ok {
				port, ok = b.names[m[2]]
			}
			switch {
			case !ok:
				res = append(res, "output:"+m[2])
			case port == b.tunnel:
				tunnels++
			default:
				res = append(res, fmt.Sprintf("output:%d", port))
			}
			continue
		}
		if m := ofCtl.FindStringSubmatch(l); m != nil {
			if op, err := strconv.ParseUint(m[1], 16, 8); err == nil && byte(op) != pipeline.OpContinue {
				res = append(res, fmt.Sprintf("controller:%d", op))
			}
		}
	}
	var dsts []string
	for _, m := range odpActions.FindAllStringSubmatch(out, -1) {
		for _, t := range odpTunnel.FindAllStringSubmatch(m[1], -1) {
			dsts = append(dsts, t[1])
		}
	}
	for i := 0; i < tunnels; i++ {
		ip := ""
		if i < len(dsts) {
			ip = dsts[i]
		}
		res = append(res, "tunnel:"+ip)
	}
	return res
}
