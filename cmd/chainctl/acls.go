package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/chainwire/chainwire/topology"
)

// The switch pipeline's policy verbs: ACLs, port groups, address sets and
// QoS rules, with ovn-nbctl's spelling, arguments and list formats.
func init() {
	for name, v := range map[string]verb{
		"acl-add": {usage: "SWITCH|PG from-lport|to-lport PRIORITY MATCH allow|allow-related|allow-stateless|drop|reject [--name=N] [--log]",
			help: "add an ACL to a switch or a port group (PRIORITY 0..32767)", min: 5, max: 5, flags: []string{"name", "log"}, write: aclAdd},
		"acl-del": {usage: "SWITCH|PG [DIRECTION [PRIORITY MATCH]]", help: "delete the ACLs of a switch or port group, of a direction, or the one given",
			min: 1, max: 4, write: aclDel},
		"acl-list":     {usage: "SWITCH|PG", help: "list the ACLs of a switch or a port group", min: 1, max: 1, read: aclList},
		"pg-add":       {usage: "PG [PORT...]", help: "create a port group", min: 1, max: -1, write: pgAdd},
		"pg-set-ports": {usage: "PG PORT...", help: "set the ports of a port group", min: 2, max: -1, write: pgSetPorts},
		"pg-del":       {usage: "PG", help: "delete a port group (no ACL may use it)", min: 1, max: 1, write: pgDel},
		"pg-list":      {usage: "", help: "list port groups with their ports", min: 0, max: 0, read: pgList},
		"address-set-add": {usage: "AS [ADDRESS...]", help: "create an address set (IPv4/IPv6 addresses or prefixes, or MACs)",
			min: 1, max: -1, write: asAdd},
		"address-set-set":  {usage: "AS ADDRESS...", help: "set the addresses of an address set", min: 2, max: -1, write: asSet},
		"address-set-del":  {usage: "AS", help: "delete an address set (no match may use it)", min: 1, max: 1, write: asDel},
		"address-set-list": {usage: "", help: "list address sets with their addresses", min: 0, max: 0, read: asList},
		"qos-add": {usage: "SWITCH from-lport|to-lport PRIORITY MATCH [dscp=N] [rate=KBPS [burst=KB]]",
			help: "mark (DSCP 0..63) and/or rate-limit a switch's matching traffic", min: 4, max: 7, write: qosAdd},
		"qos-del": {usage: "SWITCH [DIRECTION [PRIORITY MATCH]]", help: "delete the QoS rules of a switch, of a direction, or the one given",
			min: 1, max: 4, write: qosDel},
		"qos-list": {usage: "SWITCH", help: "list the QoS rules of a switch", min: 1, max: 1, read: qosList},
	} {
		verbs[name] = v
	}
}

// aclTarget finds what acl-* names: a switch if one has the name, else a
// port group; both is ambiguous, as in ovn-nbctl.
func aclTarget(m *topology.Model, name string) (topology.Ref, error) {
	sw, pg := m.Switch(name) != nil, m.PortGroup(name) != nil
	switch {
	case sw && pg:
		return topology.Ref{}, inUse("switch or port group", name, "both a switch and a port group have this name (ambiguous)")
	case sw:
		return topology.Ref{Kind: topology.KindSwitch, Name: name}, nil
	case pg:
		return topology.Ref{Kind: topology.KindPortGroup, Name: name}, nil
	}
	return topology.Ref{}, notFound("switch or port group", name)
}

func parseDirection(s string) (string, error) {
	if s != topology.FromLport && s != topology.ToLport {
		return "", &topology.Error{What: "direction " + topology.Quote(s), Why: "want from-lport or to-lport"}
	}
	return s, nil
}

func parsePriority(s string, max int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > max {
		return 0, &topology.Error{What: "priority " + topology.Quote(s), Why: fmt.Sprintf("must be a number in 0..%d", max)}
	}
	return n, nil
}

// selector is the (direction, priority, match) that names one ACL or QoS
// rule of its target; a partial one selects several.
type selector struct {
	n         int // how many of the three were given
	direction string
	priority  int
	match     string
}

// parseSelector reads acl-del's and qos-del's optional DIRECTION
// [PRIORITY MATCH].
func parseSelector(args []string, max int) (selector, error) {
	r := selector{n: len(args)}
	var err error
	if r.n == 2 {
		return r, &usageError{"priority " + topology.Quote(args[1]), "needs a match after it"}
	}
	if r.n >= 1 {
		if r.direction, err = parseDirection(args[0]); err != nil {
			return r, err
		}
	}
	if r.n == 3 {
		if r.priority, err = parsePriority(args[1], max); err != nil {
			return r, err
		}
		r.match = args[2]
	}
	return r, nil
}

func (r selector) selects(direction string, priority int, match string) bool {
	return r.n == 0 || direction == r.direction && (r.n == 1 || priority == r.priority && match == r.match)
}

// noneSelected is the error of acl-del or qos-del naming one rule that
// does not exist.
func (r selector) noneSelected(kind string, target topology.Ref) error {
	return &topology.Error{What: fmt.Sprintf("%s on %s", kind, target),
		Why: fmt.Sprintf("none has direction %s, priority %d and match %s", r.direction, r.priority, topology.Quote(r.match))}
}

func aclAdd(c *call, m *topology.Model) error {
	target, err := aclTarget(m, c.args[0])
	if err != nil {
		return err
	}
	dir, err := parseDirection(c.args[1])
	if err != nil {
		return err
	}
	prio, err := parsePriority(c.args[2], topology.MaxACLPriority)
	if err != nil {
		return err
	}
	action := c.args[4]
	if !slices.Contains(topology.ACLActions, action) {
		return &topology.Error{What: "action " + topology.Quote(action), Why: "want one of " + strings.Join(topology.ACLActions, ", ")}
	}
	key, err := m.FreeACLKey()
	if err != nil {
		return err
	}
	name, given := c.verbFlags["name"]
	if !given {
		name = topology.DefaultACLName(key)
	}
	if err := topology.CheckName("ACL", name); err != nil {
		return err
	}
	if m.ACL(name) != nil {
		return exists("ACL", name)
	}
	_, log := c.verbFlags["log"]
	a := topology.ACL{Name: name, Key: key, Direction: dir, Priority: prio, Match: c.args[3], Action: action, Log: log}
	if target.Kind == topology.KindSwitch {
		a.Switch = target.Name
	} else {
		a.PortGroup = target.Name
	}
	m.ACLs = append(m.ACLs, a)
	return nil
}

func aclDel(c *call, m *topology.Model) error {
	target, err := aclTarget(m, c.args[0])
	if err != nil {
		return err
	}
	r, err := parseSelector(c.args[1:], topology.MaxACLPriority)
	if err != nil {
		return err
	}
	n := len(m.ACLs)
	m.ACLs = remove(m.ACLs, func(a topology.ACL) bool { return a.Target() == target && r.selects(a.Direction, a.Priority, a.Match) })
	if r.n == 3 && len(m.ACLs) == n {
		return r.noneSelected("ACL", target)
	}
	return nil
}

// ovnOrder sorts rules as ovn-nbctl lists them: from-lport first, then by
// priority, highest first, then by match.
func ovnOrder(dirA string, prioA int, matchA string, dirB string, prioB int, matchB string) int {
	switch {
	case dirA != dirB:
		return strings.Compare(dirA, dirB) // "from-lport" < "to-lport"
	case prioA != prioB:
		return prioB - prioA
	}
	return strings.Compare(matchA, matchB)
}

// aclsOf lists a target's ACLs in ovn-nbctl's order.
func aclsOf(m *topology.Model, target topology.Ref) []topology.ACL {
	var out []topology.ACL
	for _, a := range m.ACLs {
		if a.Target() == target {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b topology.ACL) int {
		return ovnOrder(a.Direction, a.Priority, a.Match, b.Direction, b.Priority, b.Match)
	})
	return out
}

// aclLine is an ACL as ovn-nbctl acl-list prints it.
func aclLine(a *topology.ACL) string {
	s := fmt.Sprintf("%10s %5d (%s) %s", a.Direction, a.Priority, a.Match, a.Action)
	if a.Log {
		s += fmt.Sprintf(" log(name=%s)", a.Name)
	}
	return s
}

func aclList(c *call, m *topology.Model, _ topology.Store) error {
	target, err := aclTarget(m, c.args[0])
	if err != nil {
		return err
	}
	acls := aclsOf(m, target)
	if c.output == "json" {
		return c.printJSON(nonNil(acls))
	}
	for i := range acls {
		fmt.Fprintln(c.out, aclLine(&acls[i]))
	}
	return nil
}

func pgAdd(c *call, m *topology.Model) error {
	name := c.args[0]
	if err := topology.CheckName("port group", name); err != nil {
		return err
	}
	if m.PortGroup(name) != nil {
		return exists("port group", name)
	}
	m.PortGroups = append(m.PortGroups, topology.PortGroup{Name: name, Ports: nilIfNone(c.args[1:])})
	return nil
}

func pgSetPorts(c *call, m *topology.Model) error {
	g := m.PortGroup(c.args[0])
	if g == nil {
		return notFound("port group", c.args[0])
	}
	g.Ports = nilIfNone(c.args[1:])
	return nil
}

func pgDel(c *call, m *topology.Model) error {
	name := c.args[0]
	if m.PortGroup(name) == nil {
		return notFound("port group", name)
	}
	m.PortGroups = remove(m.PortGroups, func(g topology.PortGroup) bool { return g.Name == name })
	return nil
}

func pgList(c *call, m *topology.Model, _ topology.Store) error {
	if c.output == "json" {
		return c.printJSON(nonNil(m.PortGroups))
	}
	for _, g := range m.PortGroups {
		fmt.Fprintf(c.out, "%s: %s\n", g.Name, quoteList(g.Ports))
	}
	return nil
}

// nilIfNone copies a list of arguments; none is nil, as a model has it.
func nilIfNone(args []string) []string {
	if len(args) == 0 {
		return nil
	}
	return slices.Clone(args)
}

func asAdd(c *call, m *topology.Model) error {
	name := c.args[0]
	if err := topology.CheckName("address set", name); err != nil {
		return err
	}
	if m.AddressSet(name) != nil {
		return exists("address set", name)
	}
	m.AddressSets = append(m.AddressSets, topology.AddressSet{Name: name, Addresses: nilIfNone(c.args[1:])})
	return nil
}

func asSet(c *call, m *topology.Model) error {
	s := m.AddressSet(c.args[0])
	if s == nil {
		return notFound("address set", c.args[0])
	}
	s.Addresses = nilIfNone(c.args[1:])
	return nil
}

func asDel(c *call, m *topology.Model) error {
	name := c.args[0]
	if m.AddressSet(name) == nil {
		return notFound("address set", name)
	}
	m.AddressSets = remove(m.AddressSets, func(s topology.AddressSet) bool { return s.Name == name })
	return nil
}

func asList(c *call, m *topology.Model, _ topology.Store) error {
	if c.output == "json" {
		return c.printJSON(nonNil(m.AddressSets))
	}
	for _, s := range m.AddressSets {
		fmt.Fprintf(c.out, "%s: %s\n", s.Name, quoteList(s.Addresses))
	}
	return nil
}

// qosArgs are qos-add's KEY=N arguments and their ranges.
var qosArgs = map[string]struct{ min, max uint64 }{
	"dscp": {0, topology.MaxDSCP}, "rate": {1, 1<<32 - 1}, "burst": {1, 1<<32 - 1},
}

// qosActions parses qos-add's dscp=N, rate=KBPS and burst=KB.
func qosActions(q *topology.QoS, args []string) error {
	seen := map[string]bool{}
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		bounds, known := qosArgs[k]
		switch {
		case !known:
			return &topology.Error{What: topology.Quote(a), Why: "want dscp=N, rate=KBPS or burst=KB"}
		case seen[k]:
			return &topology.Error{What: topology.Quote(a), Why: k + " is given twice"}
		}
		seen[k] = true
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n < bounds.min || n > bounds.max {
			return &topology.Error{What: k + " " + topology.Quote(v), Why: fmt.Sprintf("must be a number in %d..%d", bounds.min, bounds.max)}
		}
		switch k {
		case "dscp":
			d := int(n)
			q.DSCP = &d
		case "rate":
			q.Rate = uint32(n)
		case "burst":
			q.Burst = uint32(n)
		}
	}
	return nil
}

func qosAdd(c *call, m *topology.Model) error {
	sw := c.args[0]
	if m.Switch(sw) == nil {
		return notFound("switch", sw)
	}
	dir, err := parseDirection(c.args[1])
	if err != nil {
		return err
	}
	prio, err := parsePriority(c.args[2], topology.MaxQoSPriority)
	if err != nil {
		return err
	}
	key, err := m.FreeQoSKey()
	if err != nil {
		return err
	}
	q := topology.QoS{Name: topology.QoSName(key), Key: key, Switch: sw, Direction: dir, Priority: prio, Match: c.args[3]}
	if err := qosActions(&q, c.args[4:]); err != nil {
		return err
	}
	m.QoS = append(m.QoS, q)
	return nil
}

func qosDel(c *call, m *topology.Model) error {
	sw := c.args[0]
	if m.Switch(sw) == nil {
		return notFound("switch", sw)
	}
	r, err := parseSelector(c.args[1:], topology.MaxQoSPriority)
	if err != nil {
		return err
	}
	n := len(m.QoS)
	m.QoS = remove(m.QoS, func(q topology.QoS) bool { return q.Switch == sw && r.selects(q.Direction, q.Priority, q.Match) })
	if r.n == 3 && len(m.QoS) == n {
		return r.noneSelected("QoS rule", topology.Ref{Kind: topology.KindSwitch, Name: sw})
	}
	return nil
}

// qosOf lists a switch's QoS rules in ovn-nbctl's order.
func qosOf(m *topology.Model, sw string) []topology.QoS {
	var out []topology.QoS
	for _, q := range m.QoS {
		if q.Switch == sw {
			out = append(out, q)
		}
	}
	slices.SortFunc(out, func(a, b topology.QoS) int {
		return ovnOrder(a.Direction, a.Priority, a.Match, b.Direction, b.Priority, b.Match)
	})
	return out
}

// qosLine is a QoS rule as ovn-nbctl qos-list prints it.
func qosLine(q *topology.QoS) string {
	s := fmt.Sprintf("%10s %5d (%s)", q.Direction, q.Priority, q.Match)
	if q.Rate != 0 {
		s += fmt.Sprintf(" rate=%d", q.Rate)
	}
	if q.Burst != 0 {
		s += fmt.Sprintf(" burst=%d", q.Burst)
	}
	if q.DSCP != nil {
		s += fmt.Sprintf(" dscp=%d", *q.DSCP)
	}
	return s
}

func qosList(c *call, m *topology.Model, _ topology.Store) error {
	sw := c.args[0]
	if m.Switch(sw) == nil {
		return notFound("switch", sw)
	}
	rules := qosOf(m, sw)
	if c.output == "json" {
		return c.printJSON(nonNil(rules))
	}
	for i := range rules {
		fmt.Fprintln(c.out, qosLine(&rules[i]))
	}
	return nil
}
