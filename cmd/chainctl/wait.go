package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/chainwire/chainwire/topology"
)

// affectedChassis names the chassis that must apply the change from
// before to after: those hosting (requested-chassis) any port of a switch
// that changed or has a changed port, pair, chain, group or classifier,
// since every such chassis holds flows of that switch. all is true when
// such a port has no requested chassis, so any agent may host it.
func affectedChassis(before, after *topology.Model) (set map[string]bool, all bool) {
	set = map[string]bool{}
	same := func(a, b any) bool {
		x, _ := json.Marshal(a)
		y, _ := json.Marshal(b)
		return string(x) == string(y)
	}
	changed := map[string]bool{}
	mark := func(sw string, a, b any) {
		if !same(a, b) {
			changed[sw] = true
		}
	}
	for _, m := range []*topology.Model{before, after} {
		for _, sw := range m.Switches {
			mark(sw.Name, before.Switch(sw.Name), after.Switch(sw.Name))
		}
		for _, p := range m.Ports {
			mark(p.Switch, before.Port(p.Name), after.Port(p.Name))
		}
		for _, p := range m.PortPairs {
			mark(p.Switch, before.PortPair(p.Name), after.PortPair(p.Name))
		}
		for _, c := range m.PortChains {
			mark(c.Switch, before.PortChain(c.Name), after.PortChain(c.Name))
		}
		for _, g := range m.PortPairGroups {
			if c := m.ChainOfGroup(g.Name); c != nil {
				mark(c.Switch, before.PortPairGroup(g.Name), after.PortPairGroup(g.Name))
			}
		}
		for _, c := range m.Classifiers {
			mark(c.Switch, before.Classifier(c.Name), after.Classifier(c.Name))
		}
	}
	for _, m := range []*topology.Model{before, after} {
		for i := range m.Ports {
			p := &m.Ports[i]
			if !changed[p.Switch] {
				continue
			}
			if rc := p.RequestedChassis(); rc != "" {
				set[rc] = true
			} else {
				all = true
			}
		}
	}
	return set, all
}

// waitApplied returns once every affected agent reports generation
// after.Generation or later, or fails after timeout naming the laggards.
func waitApplied(store topology.Store, before, after *topology.Model, timeout time.Duration) error {
	want, all := affectedChassis(before, after)
	deadline := time.Now().Add(timeout)
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
		var lag []string
		for ch := range want {
			st, ok := have[ch]
			switch {
			case !ok:
				lag = append(lag, fmt.Sprintf("chassis %s has not reported", topology.Quote(ch)))
			case st.Generation < after.Generation:
				msg := fmt.Sprintf("chassis %s is at generation %d", topology.Quote(ch), st.Generation)
				if st.Error != "" {
					msg += " (" + st.Error + ")"
				}
				lag = append(lag, msg)
			}
		}
		if len(lag) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			sort.Strings(lag)
			return fmt.Errorf("--wait: generation %d not applied after %s: %s", after.Generation, timeout, strings.Join(lag, "; "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
