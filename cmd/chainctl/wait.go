package main

import (
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/chainwire/chainwire/topology"
)

// binder is a store that knows where ports without requested-chassis are
// bound (the OVSDB store's Port_Binding table).
type binder interface {
	Bindings() (map[string]string, error)
}

// changedSwitches names the switches whose flows a change from before to
// after touches: the switch of every object that differs. It compares
// object by object through maps (linear in the model).
func changedSwitches(before, after *topology.Model) map[string]bool {
	changed := map[string]bool{}
	groupSwitch := func(m *topology.Model) map[string]string {
		out := map[string]string{}
		for _, c := range m.PortChains {
			for _, g := range c.Groups {
				out[g] = c.Switch
			}
		}
		return out
	}
	bg, ag := groupSwitch(before), groupSwitch(after)
	mark(changed, before.Switches, after.Switches, func(s topology.Switch) (string, string) { return s.Name, s.Name })
	mark(changed, before.Ports, after.Ports, func(p topology.Port) (string, string) { return p.Name, p.Switch })
	mark(changed, before.PortPairs, after.PortPairs, func(p topology.PortPair) (string, string) { return p.Name, p.Switch })
	mark(changed, before.PortChains, after.PortChains, func(c topology.PortChain) (string, string) { return c.Name, c.Switch })
	mark(changed, before.Classifiers, after.Classifiers, func(c topology.Classifier) (string, string) { return c.Name, c.Switch })
	mark(changed, before.PortPairGroups, after.PortPairGroups, func(g topology.PortPairGroup) (string, string) {
		if sw := ag[g.Name]; sw != "" {
			return g.Name, sw
		}
		return g.Name, bg[g.Name]
	})
	policySwitches(changed, before, after)
	serviceSwitches(changed, before, after)
	lbSwitches(changed, before, after)
	// A chassis whose IP changed: every switch with a port on it.
	chassisChanged := map[string]bool{}
	mark(chassisChanged, before.Chassis, after.Chassis, func(c topology.Chassis) (string, string) { return c.Name, c.Name })
	for _, m := range []*topology.Model{before, after} {
		for _, p := range m.Ports {
			if chassisChanged[p.RequestedChassis()] {
				changed[p.Switch] = true
			}
		}
	}
	routerSwitches(changed, before, after)
	return changed
}

// policySwitches adds the switches whose ACL and QoS flows a change
// touches: those of the changed ACLs and QoS rules (a port group's ACL:
// the switches of the group's ports) and, when a port group, an address
// set or a port of a group changed (any match may name them), every
// switch with ACLs or QoS rules and those of the changed groups' ports.
func policySwitches(changed map[string]bool, before, after *topology.Model) {
	models := [2]*topology.Model{before, after}
	var portSwitch [2]map[string]string
	for i, m := range models {
		portSwitch[i] = make(map[string]string, len(m.Ports))
		for _, p := range m.Ports {
			portSwitch[i][p.Name] = p.Switch
		}
	}
	groupSwitches := func(group string) {
		for i, m := range models {
			if g := m.PortGroup(group); g != nil {
				for _, p := range g.Ports {
					if sw := portSwitch[i][p]; sw != "" {
						changed[sw] = true
					}
				}
			}
		}
	}
	aclSwitches := func(a *topology.ACL) {
		if a.Switch != "" {
			changed[a.Switch] = true
		} else {
			groupSwitches(a.PortGroup)
		}
	}
	acls := changedNames(before.ACLs, after.ACLs, func(a topology.ACL) string { return a.Name })
	qos := changedNames(before.QoS, after.QoS, func(q topology.QoS) string { return q.Name })
	groups := changedNames(before.PortGroups, after.PortGroups, func(g topology.PortGroup) string { return g.Name })
	sets := changedNames(before.AddressSets, after.AddressSets, func(s topology.AddressSet) string { return s.Name })
	ports := changedNames(before.Ports, after.Ports, func(p topology.Port) string { return p.Name })
	for _, m := range models {
		for i := range m.ACLs {
			if acls[m.ACLs[i].Name] {
				aclSwitches(&m.ACLs[i])
			}
		}
		for _, q := range m.QoS {
			if qos[q.Name] {
				changed[q.Switch] = true
			}
		}
		for _, g := range m.PortGroups {
			if slices.ContainsFunc(g.Ports, func(p string) bool { return ports[p] }) {
				groups[g.Name] = true
			}
		}
	}
	if len(groups) == 0 && len(sets) == 0 {
		return
	}
	for g := range groups {
		groupSwitches(g)
	}
	for _, m := range models {
		for i := range m.ACLs {
			aclSwitches(&m.ACLs[i])
		}
		for _, q := range m.QoS {
			changed[q.Switch] = true
		}
	}
}

// serviceSwitches adds the switches whose DHCP and DNS answers a change
// touches: those of the changed DNS records, and of the ports that use
// changed DHCP options (a port's own options are its port's change).
func serviceSwitches(changed map[string]bool, before, after *topology.Model) {
	mark(changed, before.DNSRecords, after.DNSRecords, func(r topology.DNSRecord) (string, string) { return r.Name, r.Switch })
	options := changedNames(before.DHCPOptions, after.DHCPOptions, func(o topology.DHCPOptions) string { return o.Name })
	if len(options) == 0 {
		return
	}
	for _, m := range [2]*topology.Model{before, after} {
		for _, p := range m.Ports {
			if options[p.DHCPv4Options] || options[p.DHCPv6Options] {
				changed[p.Switch] = true
			}
		}
	}
}

// lbSwitches adds the switches that use a changed load balancer (a
// switch's own list is its switch's change).
func lbSwitches(changed map[string]bool, before, after *topology.Model) {
	lbs := changedNames(before.LoadBalancers, after.LoadBalancers, func(lb topology.LoadBalancer) string { return lb.Name })
	if len(lbs) == 0 {
		return
	}
	for _, m := range [2]*topology.Model{before, after} {
		for _, s := range m.Switches {
			if slices.ContainsFunc(s.LoadBalancers, func(lb string) bool { return lbs[lb] }) {
				changed[s.Name] = true
			}
		}
	}
}

// changedNames names the objects that were added, removed or changed.
func changedNames[T any](before, after []T, name func(T) string) map[string]bool {
	out := map[string]bool{}
	mark(out, before, after, func(o T) (string, string) { return name(o), name(o) })
	return out
}

// mark adds the switch of every object that was added, removed or changed.
func mark[T any](changed map[string]bool, before, after []T, key func(T) (name, sw string)) {
	was := make(map[string]*T, len(before))
	for i := range before {
		n, _ := key(before[i])
		was[n] = &before[i]
	}
	seen := make(map[string]bool, len(after))
	for _, v := range after {
		n, sw := key(v)
		seen[n] = true
		if old, ok := was[n]; !ok || !reflect.DeepEqual(*old, v) {
			changed[sw] = true
			if ok {
				_, osw := key(*old)
				changed[osw] = true
			}
		}
	}
	for _, v := range before {
		if n, sw := key(v); !seen[n] {
			changed[sw] = true
		}
	}
}

// affectedChassis names the chassis that hold flows of a changed switch:
// where its ports are requested or bound. any is true when such a port
// is not placed at all (any agent might host it).
func affectedChassis(before, after *topology.Model, bound map[string]string) (set map[string]bool, any bool) {
	changed := changedSwitches(before, after)
	set = map[string]bool{}
	for _, m := range []*topology.Model{before, after} {
		for _, p := range m.Ports {
			if !changed[p.Switch] {
				continue
			}
			switch rc, b := p.RequestedChassis(), bound[p.Name]; {
			case rc != "":
				set[rc] = true
			case b != "":
				set[b] = true
			default:
				any = true
			}
		}
	}
	return set, any
}

// waitApplied returns once every affected agent reports generation
// after.Generation or later (as ovn-nbctl --wait=hv), or fails after
// timeout naming the laggards. Chassis no agent ever ran on are not
// waited for; they are named on warn.
func waitApplied(store topology.Store, before, after *topology.Model, timeout time.Duration, warn io.Writer) error {
	want, all := affectedChassis(before, after, nil)
	if b, ok := store.(binder); ok && all {
		// Some affected port is not requested anywhere: where is it bound?
		bound, err := b.Bindings()
		if err != nil {
			return err
		}
		want, all = affectedChassis(before, after, bound)
	}
	deadline := time.Now().Add(timeout)
	first := true
	for {
		sts, err := store.Statuses()
		if err != nil {
			return err
		}
		have := map[string]topology.Status{}
		for _, st := range sts {
			have[st.Chassis] = st
			if all {
				want[st.Chassis] = true
			}
		}
		var lag, never []string
		for ch := range want {
			st, ok := have[ch]
			switch {
			case !ok:
				never = append(never, ch)
			case st.Generation < after.Generation:
				msg := fmt.Sprintf("chassis %s is at generation %d", topology.Quote(ch), st.Generation)
				if st.Stale(time.Now()) {
					msg += " and stale"
				}
				if st.Error != "" {
					msg += " (" + st.Error + ")"
				}
				lag = append(lag, msg)
			}
		}
		if first && len(never) > 0 {
			sort.Strings(never)
			fmt.Fprintf(warn, "chainctl: --wait: not waiting for %s: no agent ever ran there\n", strings.Join(never, ", "))
		}
		first = false
		if len(lag) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			sort.Strings(lag)
			return fmt.Errorf("--wait: generation %d not applied after %s: %s", after.Generation, timeout, strings.Join(lag, "; "))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
