package main

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"text/tabwriter"

	"github.com/chainwire/chainwire/topology"
)

// The load balancers' verbs, with ovn-nbctl's names, arguments,
// --may-exist and --if-exists.
func init() {
	for name, v := range map[string]verb{
		"lb-add": {usage: "LB VIP[:PORT] IP[:PORT],... [tcp|udp] [--may-exist]",
			help: "add a VIP and its backends to a load balancer, created if need be (protocol tcp unless given); --may-exist replaces a VIP's backends",
			min:  3, max: 4, flags: []string{"may-exist"}, write: lbAdd},
		"lb-del": {usage: "LB [VIP] [--if-exists]", help: "delete a load balancer, or one of its VIPs (with the last one, the load balancer)",
			min: 1, max: 2, flags: []string{"if-exists"}, write: lbDel},
		"lb-list": {usage: "[LB]", help: "list the load balancers (or one) by VIP: NAME PROTO VIP BACKENDS", min: 0, max: 1, read: lbList},
		"ls-lb-add": {usage: "SWITCH LB [--may-exist]", help: "make a switch use a load balancer", min: 2, max: 2,
			flags: []string{"may-exist"}, write: lsLBAdd},
		"ls-lb-del": {usage: "SWITCH [LB] [--if-exists]", help: "stop a switch using a load balancer, or any", min: 1, max: 2,
			flags: []string{"if-exists"}, write: lsLBDel},
		"ls-lb-list": {usage: "SWITCH", help: "list the load balancers a switch uses, as lb-list", min: 1, max: 1, read: lsLBList},
	} {
		verbs[name] = v
	}
}

func (c *call) flag(name string) bool {
	_, ok := c.verbFlags[name]
	return ok
}

// vipKey is a VIP as ovn-nbctl lb-add writes it: IP, IPv4:PORT or
// [IPv6]:PORT, each address in one spelling (fd00:0::1 is fd00::1).
// What does not parse is kept as given, for the model's rules to refuse.
func vipKey(s string) string {
	if ip, err := netip.ParseAddr(s); err == nil {
		return ip.String()
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.String()
	}
	return s
}

func loadBalancer(m *topology.Model, name string) (*topology.LoadBalancer, error) {
	lb := m.LoadBalancer(name)
	if lb == nil {
		return nil, notFound("load balancer", name)
	}
	return lb, nil
}

func lbAdd(c *call, m *topology.Model) error {
	name, vip, backends := c.args[0], vipKey(c.args[1]), c.args[2]
	proto, given := topology.LBTCP, len(c.args) == 4
	if given {
		if proto = c.args[3]; proto != topology.LBTCP && proto != topology.LBUDP {
			return &topology.Error{What: "protocol " + topology.Quote(proto), Why: "want tcp or udp"}
		}
	}
	lb := m.LoadBalancer(name)
	switch {
	case lb == nil:
		key, err := m.FreeLBKey()
		if err != nil {
			return err
		}
		m.LoadBalancers = append(m.LoadBalancers, topology.LoadBalancer{Name: name, Key: key, Protocol: proto})
		lb = &m.LoadBalancers[len(m.LoadBalancers)-1]
	case given && proto != lb.Protocol:
		return inUse("load balancer", name, fmt.Sprintf("its protocol is %s, not %s (a load balancer has one)", lb.Protocol, proto))
	}
	if _, ok := lb.VIPs[vip]; ok && !c.flag("may-exist") {
		return inUse("load balancer", name, fmt.Sprintf("VIP %s already exists (--may-exist replaces its backends)", vip))
	}
	if lb.VIPs == nil {
		lb.VIPs = map[string]string{}
	}
	lb.VIPs[vip] = backends
	return nil
}

func lbDel(c *call, m *topology.Model) error {
	name := c.args[0]
	lb := m.LoadBalancer(name)
	switch {
	case lb == nil && c.flag("if-exists"):
		return nil
	case lb == nil:
		return notFound("load balancer", name)
	}
	if len(c.args) == 2 {
		vip := vipKey(c.args[1])
		switch _, ok := lb.VIPs[vip]; {
		case !ok && c.flag("if-exists"):
			return nil
		case !ok:
			return inUse("load balancer", name, fmt.Sprintf("VIP %s is not one of its VIPs", topology.Quote(vip)))
		}
		delete(lb.VIPs, vip)
		if len(lb.VIPs) > 0 {
			return nil
		}
	}
	m.LoadBalancers = remove(m.LoadBalancers, func(o topology.LoadBalancer) bool { return o.Name == name })
	return nil
}

// printLBs prints load balancers as ovn-nbctl lb-list does, without its
// UUID column: a line per VIP, in columns, by name then VIP.
func printLBs(c *call, lbs []topology.LoadBalancer) error {
	if c.output == "json" {
		return c.printJSON(nonNil(lbs))
	}
	if len(lbs) == 0 {
		return nil
	}
	w := tabwriter.NewWriter(c.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tPROTO\tVIP\tBACKENDS")
	for _, lb := range lbs {
		for _, vip := range slices.Sorted(maps.Keys(lb.VIPs)) {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", lb.Name, lb.Protocol, vip, lb.VIPs[vip])
		}
	}
	return w.Flush()
}

func lbList(c *call, m *topology.Model, _ topology.Store) error {
	if len(c.args) == 0 {
		return printLBs(c, m.LoadBalancers)
	}
	lb, err := loadBalancer(m, c.args[0])
	if err != nil {
		return err
	}
	return printLBs(c, []topology.LoadBalancer{*lb})
}

func lsLBAdd(c *call, m *topology.Model) error {
	sw, name := m.Switch(c.args[0]), c.args[1]
	if sw == nil {
		return notFound("switch", c.args[0])
	}
	if _, err := loadBalancer(m, name); err != nil {
		return err
	}
	switch {
	case slices.Contains(sw.LoadBalancers, name) && c.flag("may-exist"):
		return nil
	case slices.Contains(sw.LoadBalancers, name):
		return inUse("switch", sw.Name, fmt.Sprintf("already uses load balancer %s", topology.Quote(name)))
	}
	sw.LoadBalancers = append(sw.LoadBalancers, name)
	return nil
}

func lsLBDel(c *call, m *topology.Model) error {
	sw := m.Switch(c.args[0])
	if sw == nil {
		return notFound("switch", c.args[0])
	}
	if len(c.args) == 1 {
		sw.LoadBalancers = nil
		return nil
	}
	name := c.args[1]
	if _, err := loadBalancer(m, name); err != nil {
		return err
	}
	switch {
	case !slices.Contains(sw.LoadBalancers, name) && c.flag("if-exists"):
		return nil
	case !slices.Contains(sw.LoadBalancers, name):
		return inUse("switch", sw.Name, fmt.Sprintf("does not use load balancer %s", topology.Quote(name)))
	}
	sw.LoadBalancers = slices.DeleteFunc(sw.LoadBalancers, func(n string) bool { return n == name })
	return nil
}

// lbsOf lists the load balancers a switch uses, by name (a switch's
// list is sorted).
func lbsOf(m *topology.Model, sw *topology.Switch) []topology.LoadBalancer {
	var out []topology.LoadBalancer
	for _, name := range sw.LoadBalancers {
		if lb := m.LoadBalancer(name); lb != nil {
			out = append(out, *lb)
		}
	}
	return out
}

func lsLBList(c *call, m *topology.Model, _ topology.Store) error {
	sw := m.Switch(c.args[0])
	if sw == nil {
		return notFound("switch", c.args[0])
	}
	return printLBs(c, lbsOf(m, sw))
}
