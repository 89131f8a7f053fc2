package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/chainwire/chainwire/topology"
)

func (c *call) printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(c.out, string(b))
	return err
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func show(c *call, m *topology.Model, store topology.Store) error {
	if c.output == "json" {
		return c.printJSON(m)
	}
	var bound map[string]string
	if b, ok := store.(binder); ok {
		var err error
		if bound, err = b.Bindings(); err != nil {
			return err
		}
	}
	grouped := map[string]bool{}
	for _, g := range m.PortPairGroups {
		for _, p := range g.Pairs {
			grouped[p] = true
		}
	}
	for _, sw := range m.Switches {
		fmt.Fprintf(c.out, "switch %s (key %d)\n", sw.Name, sw.Key)
		for _, p := range m.PortsOf(sw.Name) {
			fmt.Fprintf(c.out, "    port %s (key %d)\n", p.Name, p.Key)
			if p.Type != "" {
				fmt.Fprintf(c.out, "        type: %s\n", p.Type)
			}
			if rp := p.RouterPort(); rp != "" {
				fmt.Fprintf(c.out, "        router-port: %s\n", rp)
			}
			if ch := bound[p.Name]; ch != "" {
				fmt.Fprintf(c.out, "        bound on: %s\n", ch)
			}
			if len(p.Addresses) > 0 {
				fmt.Fprintf(c.out, "        addresses: %s\n", quoteList(p.Addresses))
			}
			if len(p.PortSecurity) > 0 {
				fmt.Fprintf(c.out, "        port_security: %s\n", quoteList(p.PortSecurity))
			}
			if !p.IsEnabled() {
				fmt.Fprintln(c.out, "        enabled: false")
			}
			keys := make([]string, 0, len(p.Options))
			for k := range p.Options {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if k == topology.OptRouterPort && p.RouterPort() != "" {
					continue // shown as router-port
				}
				fmt.Fprintf(c.out, "        options: %s=%s\n", k, p.Options[k])
			}
			printPortDHCP(c, m, "dhcpv4_options", p.DHCPv4Options)
			printPortDHCP(c, m, "dhcpv6_options", p.DHCPv6Options)
		}
		for i := range m.PortChains {
			if ch := &m.PortChains[i]; ch.Switch == sw.Name {
				printChain(c, m, ch, "    ")
			}
		}
		for i := range m.PortPairs { // the chains showed the others
			if p := &m.PortPairs[i]; p.Switch == sw.Name && !grouped[p.Name] {
				fmt.Fprintf(c.out, "    pair %s (in no group): %s\n", p.Name, pairLine(p))
			}
		}
		for i := range m.Classifiers {
			if cl := &m.Classifiers[i]; cl.Switch == sw.Name {
				printClassifier(c, cl, "    ")
			}
		}
		printACLs(c, m, topology.Ref{Kind: topology.KindSwitch, Name: sw.Name})
		printQoS(c, m, sw.Name)
		for _, lb := range lbsOf(m, &sw) {
			fmt.Fprintf(c.out, "    load balancer %s (key %d)\n", lb.Name, lb.Key)
		}
		for _, r := range dnsOf(m, sw.Name) {
			fmt.Fprintf(c.out, "    dns %s: %s\n", r.Hostname, strings.Join(r.Addresses, " "))
		}
	}
	printRouters(c, m)
	for _, ch := range m.Chassis {
		fmt.Fprintf(c.out, "chassis %s\n    encap %s ip: %s\n", ch.Name, ch.Encap, ch.IP)
	}
	for _, g := range m.PortGroups {
		fmt.Fprintf(c.out, "port group %s\n    ports: %s\n", g.Name, quoteList(g.Ports))
		printACLs(c, m, topology.Ref{Kind: topology.KindPortGroup, Name: g.Name})
	}
	for _, s := range m.AddressSets {
		fmt.Fprintf(c.out, "address set %s\n    addresses: %s\n", s.Name, quoteList(s.Addresses))
	}
	for _, lb := range m.LoadBalancers {
		fmt.Fprintf(c.out, "load balancer %s (key %d): %s\n", lb.Name, lb.Key, lb.Protocol)
		for _, vip := range slices.Sorted(maps.Keys(lb.VIPs)) {
			fmt.Fprintf(c.out, "    vip %s: %s\n", vip, lb.VIPs[vip])
		}
	}
	for _, o := range byCIDR(m) {
		fmt.Fprintf(c.out, "dhcp options %s\n", dhcpLabel(&o))
		for _, k := range slices.Sorted(maps.Keys(o.Options)) {
			fmt.Fprintf(c.out, "    options: %s=%s\n", k, o.Options[k])
		}
	}
	return nil
}

// printPortDHCP prints the DHCP options a port's field names, as
// lsp-get-dhcpv4-options does.
func printPortDHCP(c *call, m *topology.Model, field, id string) {
	if o := m.DHCPOption(id); o != nil {
		fmt.Fprintf(c.out, "        %s: %s\n", field, dhcpLabel(o))
	}
}

// printACLs and printQoS print the ACLs of a switch or port group and
// the QoS rules of a switch, indented, in ovn-nbctl's order and form,
// with their names and keys.
func printACLs(c *call, m *topology.Model, target topology.Ref) {
	for _, a := range aclsOf(m, target) {
		fmt.Fprintf(c.out, "    acl %s (key %d): %s\n", a.Name, a.Key, strings.TrimLeft(aclLine(&a), " "))
	}
}

func printQoS(c *call, m *topology.Model, sw string) {
	for _, q := range qosOf(m, sw) {
		fmt.Fprintf(c.out, "    qos %s (key %d): %s\n", q.Name, q.Key, strings.TrimLeft(qosLine(&q), " "))
	}
}

func lsList(c *call, m *topology.Model, _ topology.Store) error {
	if c.output == "json" {
		return c.printJSON(nonNil(m.Switches))
	}
	for _, sw := range m.Switches {
		fmt.Fprintf(c.out, "%s (key %d)\n", sw.Name, sw.Key)
	}
	return nil
}

func lspList(c *call, m *topology.Model, _ topology.Store) error {
	sw := c.args[0]
	if m.Switch(sw) == nil {
		return notFound("switch", sw)
	}
	ports := m.PortsOf(sw)
	if c.output == "json" {
		return c.printJSON(nonNil(ports))
	}
	for _, p := range ports {
		fmt.Fprintf(c.out, "%s (key %d)\n", p.Name, p.Key)
	}
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func status(c *call, m *topology.Model, store topology.Store) error {
	sts, err := store.Statuses()
	if err != nil {
		return err
	}
	now := time.Now()
	if c.output == "json" {
		type withState struct {
			topology.Status
			State string `json:"state"`
		}
		out := make([]withState, len(sts))
		for i, st := range sts {
			out[i] = withState{st, agentState(st, now)}
		}
		return c.printJSON(out)
	}
	for _, st := range sts {
		fmt.Fprintf(c.out, "%s: generation %d of %d, %s, %d flows, updated %s",
			st.Chassis, st.Generation, m.Generation, agentState(st, now), st.Flows, st.Updated.Format(time.RFC3339))
		if st.Hostname != "" {
			fmt.Fprintf(c.out, " on %s (pid %d)", st.Hostname, st.PID)
		}
		if st.Error != "" {
			fmt.Fprintf(c.out, ", error: %s", st.Error)
		}
		for _, w := range st.Warnings {
			fmt.Fprintf(c.out, ", warning: %s", w)
		}
		fmt.Fprintln(c.out)
		// The health of the pairs the agent probes (docs/chains.md).
		for _, p := range slices.Sorted(maps.Keys(st.Health)) {
			fmt.Fprintf(c.out, "    pair %s: %s\n", p, st.Health[p])
		}
		// The next hops it learned for routers (docs/pipeline.md).
		for _, k := range slices.Sorted(maps.Keys(st.Neighbours)) {
			if lrp, ip, ok := topology.ParseNeighbourKey(k); ok {
				fmt.Fprintf(c.out, "    neighbour %s via %s: %s\n", ip, lrp, st.Neighbours[k])
			}
		}
	}
	return nil
}

// agentState is connected, disconnected, or stale: an agent that missed
// three heartbeats may be dead, whatever it last said.
func agentState(st topology.Status, now time.Time) string {
	switch {
	case st.Stale(now):
		return fmt.Sprintf("stale (no heartbeat for %s)", now.Sub(st.Updated).Round(time.Second))
	case st.Connected:
		return "connected"
	}
	return "disconnected"
}

// dump prints the model in the file store's form (chainctl load reads it).
func dump(c *call, m *topology.Model, _ topology.Store) error {
	_, err := c.out.Write(topology.Encode(m))
	return err
}

// load replaces the model with the one in a file (from chainctl dump or
// a file store), in one transaction; the generation goes on from the
// store's.
func load(c *call, m *topology.Model) error {
	b, err := os.ReadFile(c.args[0])
	if err != nil {
		return err
	}
	in, err := topology.Decode(b)
	if err != nil {
		return fmt.Errorf("%s: %w", c.args[0], err)
	}
	gen := m.Generation
	*m = *in
	m.Generation = gen
	return nil
}
