package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/chainwire/chainwire/topology"
)

func init() {
	for name, v := range map[string]verb{
		"lsp-pair-add": {usage: "SW IN-PORT OUT-PORT PAIR [--weight N]", help: "declare a VNF's in and out ports (the same port for a one-armed VNF)",
			min: 4, max: 4, flags: []string{"weight"}, write: pairAdd},
		"lsp-pair-del": {usage: "PAIR", help: "delete a port pair (it must be in no group)", min: 1, max: 1, write: pairDel},
		"lsp-pair-set-weight": {usage: "PAIR WEIGHT", help: "set a pair's share of its group's connections (1..1000)",
			min: 2, max: 2, write: pairSetWeight},
		"lsp-pair-set-options": {usage: "PAIR [KEY=VALUE...]", help: "replace a pair's options (" + pairOptionsHelp + ")",
			min: 1, max: -1, write: pairSetOptions},
		"lsp-pair-list":  {usage: "[SW]", help: "list port pairs", min: 0, max: 1, read: pairList},
		"lsp-chain-add":  {usage: "SW CHAIN", help: "create a port chain", min: 2, max: 2, write: chainAdd},
		"lsp-chain-del":  {usage: "CHAIN", help: "delete a chain and its groups (no classifier may use it)", min: 1, max: 1, write: chainDel},
		"lsp-chain-list": {usage: "[SW]", help: "list chains with their groups and pairs", min: 0, max: 1, read: chainList},
		"lsp-pair-group-add": {usage: "CHAIN GROUP", help: "append a port pair group (a hop) to a chain",
			min: 2, max: 2, write: groupAdd},
		"lsp-pair-group-del": {usage: "GROUP", help: "remove a group from its chain and delete it", min: 1, max: 1, write: groupDel},
		"lsp-pair-group-set-options": {usage: "GROUP [KEY=VALUE...]", help: "replace a group's options (" + groupOptionsHelp + ")",
			min: 1, max: -1, write: groupSetOptions},
		"lsp-pair-group-port-pair-add": {usage: "GROUP PAIR", help: "add a port pair to a group", min: 2, max: 2, write: groupPairAdd},
		"lsp-pair-group-port-pair-del": {usage: "GROUP PAIR", help: "remove a port pair from a group", min: 2, max: 2, write: groupPairDel},
		"lsp-chain-classifier": {usage: "SW CHAIN PORT entry-lport|exit-lport bi-directional|uni-directional CLASSIFIER MATCH [--priority N]",
			help: "steer a port's traffic (MATCH, \"\" = all) through a chain", min: 7, max: 7, flags: []string{"priority"}, write: classifierAdd},
		"lsp-chain-classifier-del":  {usage: "CLASSIFIER", help: "delete a classifier", min: 1, max: 1, write: classifierDel},
		"lsp-chain-classifier-list": {usage: "[SW]", help: "list classifiers", min: 0, max: 1, read: classifierList},
	} {
		verbs[name] = v
	}
}

func exists(kind, name string) error {
	return &topology.Error{What: fmt.Sprintf("%s %s", kind, topology.Quote(name)), Why: "already exists"}
}

func inUse(kind, name, why string) error {
	return &topology.Error{What: fmt.Sprintf("%s %s", kind, topology.Quote(name)), Why: why}
}

func pairAdd(c *call, m *topology.Model) error {
	sw, in, out, name := c.args[0], c.args[1], c.args[2], c.args[3]
	if m.Switch(sw) == nil {
		return notFound("switch", sw)
	}
	if err := topology.CheckName("port pair", name); err != nil {
		return err
	}
	if m.PortPair(name) != nil {
		return exists("port pair", name)
	}
	weight := uint32(1)
	if w, ok := c.verbFlags["weight"]; ok {
		var err error
		if weight, err = parseWeight("--weight "+topology.Quote(w), w); err != nil {
			return err
		}
	}
	for _, p := range []string{in, out} {
		if m.Port(p) == nil {
			return notFound("port", p)
		}
		if cl := classifierOfPort(m, p); cl != nil {
			return inUse("port", p, fmt.Sprintf("classifier %s classifies it; a classified port cannot be a VNF port", topology.Quote(cl.Name)))
		}
	}
	m.PortPairs = append(m.PortPairs, topology.PortPair{Name: name, Switch: sw, InPort: in, OutPort: out, Weight: weight})
	return nil
}

func classifierOfPort(m *topology.Model, port string) *topology.Classifier {
	for i := range m.Classifiers {
		if m.Classifiers[i].Port == port {
			return &m.Classifiers[i]
		}
	}
	return nil
}

func parseWeight(what, w string) (uint32, error) {
	n, err := strconv.ParseUint(w, 10, 32)
	if err != nil || n < 1 || n > topology.MaxWeight {
		return 0, &topology.Error{What: what, Why: fmt.Sprintf("must be a number in 1..%d", topology.MaxWeight)}
	}
	return uint32(n), nil
}

func pairSetWeight(c *call, m *topology.Model) error {
	pp := m.PortPair(c.args[0])
	if pp == nil {
		return notFound("port pair", c.args[0])
	}
	w, err := parseWeight("weight "+topology.Quote(c.args[1]), c.args[1])
	if err != nil {
		return err
	}
	pp.Weight = w
	return nil
}

// The options the *-set-options verbs of pairs and groups take, as help
// and completion show them.
var (
	pairOptionsHelp  = "health-check=true|false, health-interval=S, health-timeout=S, health-success=N, health-failure=N"
	groupOptionsHelp = "fail-mode=close|open, tap=true|false"
)

// pairSetOptions replaces a pair's options; the model's rules check them.
func pairSetOptions(c *call, m *topology.Model) error {
	pp := m.PortPair(c.args[0])
	if pp == nil {
		return notFound("port pair", c.args[0])
	}
	var err error
	pp.Options, err = keyValues(c.args[1:])
	return err
}

// groupSetOptions replaces a group's options.
func groupSetOptions(c *call, m *topology.Model) error {
	g := m.PortPairGroup(c.args[0])
	if g == nil {
		return notFound("port pair group", c.args[0])
	}
	var err error
	g.Options, err = keyValues(c.args[1:])
	return err
}

// optionsText is options as KEY=VALUE, sorted, separated by blanks.
func optionsText(opts map[string]string) string {
	out := make([]string, 0, len(opts))
	for _, k := range slices.Sorted(maps.Keys(opts)) {
		out = append(out, k+"="+opts[k])
	}
	return strings.Join(out, " ")
}

// pairLine is how lists and show print a pair.
func pairLine(p *topology.PortPair) string {
	s := fmt.Sprintf("in %s, out %s, weight %d", p.InPort, p.OutPort, p.Weight)
	if len(p.Options) > 0 {
		s += ", options: " + optionsText(p.Options)
	}
	return s
}

func pairDel(c *call, m *topology.Model) error {
	name := c.args[0]
	if m.PortPair(name) == nil {
		return notFound("port pair", name)
	}
	if g := m.GroupOfPair(name); g != nil {
		return inUse("port pair", name, fmt.Sprintf("port pair group %s still holds it", topology.Quote(g.Name)))
	}
	m.PortPairs = remove(m.PortPairs, func(p topology.PortPair) bool { return p.Name == name })
	return nil
}

func chainAdd(c *call, m *topology.Model) error {
	sw, name := c.args[0], c.args[1]
	if m.Switch(sw) == nil {
		return notFound("switch", sw)
	}
	if err := topology.CheckName("chain", name); err != nil {
		return err
	}
	if m.PortChain(name) != nil {
		return exists("chain", name)
	}
	key, err := m.FreeChainKey()
	if err != nil {
		return err
	}
	m.PortChains = append(m.PortChains, topology.PortChain{Name: name, Switch: sw, Key: key})
	return nil
}

func chainDel(c *call, m *topology.Model) error {
	name := c.args[0]
	ch := m.PortChain(name)
	if ch == nil {
		return notFound("chain", name)
	}
	for _, cl := range m.Classifiers {
		if cl.Chain == name {
			return inUse("chain", name, fmt.Sprintf("classifier %s uses it", topology.Quote(cl.Name)))
		}
	}
	groups := map[string]bool{}
	for _, g := range ch.Groups {
		groups[g] = true
	}
	m.PortPairGroups = remove(m.PortPairGroups, func(g topology.PortPairGroup) bool { return groups[g.Name] })
	m.PortChains = remove(m.PortChains, func(p topology.PortChain) bool { return p.Name == name })
	return nil
}

func groupAdd(c *call, m *topology.Model) error {
	chain, name := c.args[0], c.args[1]
	ch := m.PortChain(chain)
	if ch == nil {
		return notFound("chain", chain)
	}
	if err := topology.CheckName("port pair group", name); err != nil {
		return err
	}
	if m.PortPairGroup(name) != nil {
		return exists("port pair group", name)
	}
	m.PortPairGroups = append(m.PortPairGroups, topology.PortPairGroup{Name: name})
	ch.Groups = append(ch.Groups, name)
	return nil
}

func groupDel(c *call, m *topology.Model) error {
	name := c.args[0]
	if m.PortPairGroup(name) == nil {
		return notFound("port pair group", name)
	}
	if ch := m.ChainOfGroup(name); ch != nil {
		ch.Groups = remove(ch.Groups, func(g string) bool { return g == name })
	}
	m.PortPairGroups = remove(m.PortPairGroups, func(g topology.PortPairGroup) bool { return g.Name == name })
	return nil
}

func groupPairAdd(c *call, m *topology.Model) error {
	group, pair := c.args[0], c.args[1]
	g := m.PortPairGroup(group)
	if g == nil {
		return notFound("port pair group", group)
	}
	if m.PortPair(pair) == nil {
		return notFound("port pair", pair)
	}
	if other := m.GroupOfPair(pair); other != nil {
		return inUse("port pair", pair, fmt.Sprintf("is already in group %s (a pair serves one group)", topology.Quote(other.Name)))
	}
	g.Pairs = append(g.Pairs, pair)
	return nil
}

func groupPairDel(c *call, m *topology.Model) error {
	group, pair := c.args[0], c.args[1]
	g := m.PortPairGroup(group)
	if g == nil {
		return notFound("port pair group", group)
	}
	n := len(g.Pairs)
	g.Pairs = remove(g.Pairs, func(p string) bool { return p == pair })
	if len(g.Pairs) == n {
		return inUse("port pair", pair, fmt.Sprintf("is not in group %s", topology.Quote(group)))
	}
	return nil
}

func classifierAdd(c *call, m *topology.Model) error {
	sw, chain, port, dir, path, name, match := c.args[0], c.args[1], c.args[2], c.args[3], c.args[4], c.args[5], c.args[6]
	if m.Switch(sw) == nil {
		return notFound("switch", sw)
	}
	if m.PortChain(chain) == nil {
		return notFound("chain", chain)
	}
	if m.Port(port) == nil {
		return notFound("port", port)
	}
	if err := topology.CheckName("classifier", name); err != nil {
		return err
	}
	if m.Classifier(name) != nil {
		return exists("classifier", name)
	}
	prio := topology.DefaultClassifierPriority
	if p, ok := c.verbFlags["priority"]; ok {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > topology.MaxClassifierPriority {
			return &topology.Error{What: "--priority " + topology.Quote(p), Why: fmt.Sprintf("must be a number in 0..%d", topology.MaxClassifierPriority)}
		}
		prio = n
	}
	key, err := m.FreeClassifierKey()
	if err != nil {
		return err
	}
	m.Classifiers = append(m.Classifiers, topology.Classifier{Name: name, Switch: sw, Chain: chain, Port: port,
		Direction: dir, Path: path, Match: match, Priority: prio, Key: key})
	return nil
}

func classifierDel(c *call, m *topology.Model) error {
	name := c.args[0]
	if m.Classifier(name) == nil {
		return notFound("classifier", name)
	}
	m.Classifiers = remove(m.Classifiers, func(cl topology.Classifier) bool { return cl.Name == name })
	return nil
}

// remove returns s without the elements drop selects.
func remove[T any](s []T, drop func(T) bool) []T {
	out := s[:0]
	for _, x := range s {
		if !drop(x) {
			out = append(out, x)
		}
	}
	return out
}

// onSwitch filters a list by the optional SW argument.
func (c *call) onSwitch(m *topology.Model) (string, error) {
	if len(c.args) == 0 {
		return "", nil
	}
	if m.Switch(c.args[0]) == nil {
		return "", notFound("switch", c.args[0])
	}
	return c.args[0], nil
}

func pairList(c *call, m *topology.Model, _ topology.Store) error {
	sw, err := c.onSwitch(m)
	if err != nil {
		return err
	}
	var out []topology.PortPair
	for _, p := range m.PortPairs {
		if sw == "" || p.Switch == sw {
			out = append(out, p)
		}
	}
	if c.output == "json" {
		return c.printJSON(nonNil(out))
	}
	for _, p := range out {
		fmt.Fprintf(c.out, "%s (switch %s): %s\n", p.Name, p.Switch, pairLine(&p))
	}
	return nil
}

func chainList(c *call, m *topology.Model, _ topology.Store) error {
	sw, err := c.onSwitch(m)
	if err != nil {
		return err
	}
	type group struct {
		topology.PortPairGroup
		PairDetails []topology.PortPair `json:"pairs"`
	}
	type chain struct {
		topology.PortChain
		GroupDetails []group `json:"groups"`
	}
	var out []chain
	for _, ch := range m.PortChains {
		if sw != "" && ch.Switch != sw {
			continue
		}
		x := chain{PortChain: ch, GroupDetails: []group{}}
		for _, gn := range ch.Groups {
			g := group{PortPairGroup: *m.PortPairGroup(gn), PairDetails: []topology.PortPair{}}
			for _, pn := range g.Pairs {
				g.PairDetails = append(g.PairDetails, *m.PortPair(pn))
			}
			x.GroupDetails = append(x.GroupDetails, g)
		}
		out = append(out, x)
	}
	if c.output == "json" {
		return c.printJSON(nonNil(out))
	}
	for _, ch := range out {
		printChain(c, m, &ch.PortChain, "")
	}
	return nil
}

// printChain prints a chain, its groups and pairs, indented.
func printChain(c *call, m *topology.Model, ch *topology.PortChain, indent string) {
	fmt.Fprintf(c.out, "%schain %s (key %d) on switch %s\n", indent, ch.Name, ch.Key, ch.Switch)
	for i, gn := range ch.Groups {
		g := m.PortPairGroup(gn)
		fmt.Fprintf(c.out, "%s    group %d: %s", indent, i+1, gn)
		if len(g.Options) > 0 {
			fmt.Fprintf(c.out, ", options: %s", optionsText(g.Options))
		}
		fmt.Fprintln(c.out)
		if len(g.Pairs) == 0 {
			fmt.Fprintf(c.out, "%s        (no port pairs: the chain steers nothing until one is added)\n", indent)
		}
		for _, pn := range g.Pairs {
			p := m.PortPair(pn)
			fmt.Fprintf(c.out, "%s        pair %s: %s\n", indent, p.Name, pairLine(p))
		}
	}
}

func classifierList(c *call, m *topology.Model, _ topology.Store) error {
	sw, err := c.onSwitch(m)
	if err != nil {
		return err
	}
	var out []topology.Classifier
	for _, cl := range m.Classifiers {
		if sw == "" || cl.Switch == sw {
			out = append(out, cl)
		}
	}
	if c.output == "json" {
		return c.printJSON(nonNil(out))
	}
	for _, cl := range out {
		printClassifier(c, &cl, "")
	}
	return nil
}

func printClassifier(c *call, cl *topology.Classifier, indent string) {
	match := cl.Match
	if match == "" {
		match = "(all traffic)"
	}
	fmt.Fprintf(c.out, "%sclassifier %s (key %d): port %s %s %s -> chain %s, priority %d, match %s\n",
		indent, cl.Name, cl.Key, cl.Port, cl.Direction, cl.Path, cl.Chain, cl.Priority, match)
}
