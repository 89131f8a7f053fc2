package nbdb

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/chainwire/chainwire/topology"
)

// modelSpec is what an agent monitors to follow the model: every model
// table (all their columns, the pairs' and groups' options among them),
// NB_Global's generation, and of the chassis only what the model holds
// (agents' status columns, health and neighbours included, change at
// every heartbeat, probe and learned neighbour: status, not model).
var modelSpec = monitorSpec{
	tGlobal: {"generation"}, tChassis: {"name", "encap_type", "encap_ip"},
	tSwitch: nil, tPort: nil, tPair: nil, tGroup: nil, tChain: nil, tClassifier: nil,
	tACL: nil, tPortGroup: nil, tAddressSet: nil, tQoS: nil, tDHCP: nil, tDNS: nil, tLB: nil,
	tRouter: nil, tRouterPort: nil,
}

// Watch reports the model: the whole of it after each (re)connect, the
// objects each transaction changed in between. Connections go to the
// members in turn (any member serves reads; one cut off from its cluster
// is skipped). Once a good model was delivered, a database that would
// shrink the world (emptied, or at an older generation) is an error,
// never a model; when it is good again it is delivered whole.
func (s *Store) Watch(ctx context.Context, fn func(topology.Event)) {
	var applied uint64
	whole := true // the next good state is delivered whole
	deliver := func(m *mirror, ch *topology.Changes) {
		switch {
		case applied > 0 && m.gen < applied:
			fn(topology.Event{Err: fmt.Errorf("the database is at generation %d, older than the applied %d: refusing to go back", m.gen, applied)})
			whole = true
		case whole:
			fn(topology.Event{Model: m.model()})
			whole, applied = false, max(applied, m.gen)
		case !ch.Empty() || ch.Generation != applied:
			fn(topology.Event{Changes: ch})
			applied = max(applied, m.gen)
		}
	}
	for round := 0; ctx.Err() == nil; round++ {
		if round > 0 {
			sleep(ctx, min(time.Duration(round)*100*time.Millisecond, 2*time.Second))
		}
		remote := s.remotes[round%len(s.remotes)]
		mc, initial, err := openMonitor(ctx, remote, s.opts.TLS, s.opts.Timeout, modelSpec)
		if err != nil {
			if ctx.Err() == nil && round%len(s.remotes) == len(s.remotes)-1 {
				fn(topology.Event{Err: fmt.Errorf("no database member reachable (last: %v); keeping the last model", err)})
			}
			continue
		}
		m := newMirror()
		if _, err := m.apply(initial); err != nil {
			mc.close()
			fn(topology.Event{Err: err})
			whole = true
			continue
		}
		whole = true // what happened while disconnected is unknown
		deliver(m, nil)
		round = -1 // a good connection: start over with no pause
		for {
			u, err := mc.next(ctx)
			if err != nil {
				mc.close()
				if ctx.Err() == nil {
					fn(topology.Event{Err: fmt.Errorf("lost the database connection (%s: %v); keeping the last model", remote, err)})
				}
				break
			}
			ch, err := m.apply(u)
			if err != nil {
				fn(topology.Event{Err: err})
				whole = true
				continue
			}
			deliver(m, ch)
		}
	}
}

// mirror is the monitored tables as objects, by row UUID: what a whole
// model is made of after a reconnect, and what tells the name of a
// deleted row.
type mirror struct {
	gen           uint64
	chassis       map[string]topology.Chassis
	switches      map[string]topology.Switch
	ports         map[string]topology.Port
	pairs         map[string]topology.PortPair
	groups        map[string]topology.PortPairGroup
	chains        map[string]topology.PortChain
	classifiers   map[string]topology.Classifier
	acls          map[string]topology.ACL
	portGroups    map[string]topology.PortGroup
	addressSets   map[string]topology.AddressSet
	qos           map[string]topology.QoS
	dhcpOptions   map[string]topology.DHCPOptions
	dnsRecords    map[string]topology.DNSRecord
	loadBalancers map[string]topology.LoadBalancer
	routers       map[string]topology.Router
	routerPorts   map[string]topology.RouterPort
}

func newMirror() *mirror {
	return &mirror{chassis: map[string]topology.Chassis{}, switches: map[string]topology.Switch{},
		ports: map[string]topology.Port{}, pairs: map[string]topology.PortPair{}, groups: map[string]topology.PortPairGroup{},
		chains: map[string]topology.PortChain{}, classifiers: map[string]topology.Classifier{},
		acls: map[string]topology.ACL{}, portGroups: map[string]topology.PortGroup{}, addressSets: map[string]topology.AddressSet{},
		qos: map[string]topology.QoS{}, dhcpOptions: map[string]topology.DHCPOptions{}, dnsRecords: map[string]topology.DNSRecord{},
		loadBalancers: map[string]topology.LoadBalancer{}, routers: map[string]topology.Router{},
		routerPorts: map[string]topology.RouterPort{}}
}

// apply takes in one update and returns the objects it changed. An
// update that cannot be decoded changes nothing.
func (m *mirror) apply(u *monUpdate) (*topology.Changes, error) {
	ch := &topology.Changes{}
	var undo []func()
	gen := m.gen
	// Deletions and renames first, so that a name a transaction frees and
	// takes again ends up taken.
	for pass := 0; pass < 2; pass++ {
		for _, ru := range u.rows {
			if err := m.row(ru, ch, pass == 1, &undo); err != nil {
				for i := len(undo) - 1; i >= 0; i-- {
					undo[i]()
				}
				m.gen = gen
				return nil, fmt.Errorf("the database holds a row chainwire cannot read (%s %s): %w", ru.table, ru.uuid, err)
			}
		}
	}
	ch.Generation = m.gen
	return ch, nil
}

// row applies one row update: on the first pass the names it frees, on
// the second the objects it sets.
func (m *mirror) row(ru rowUpdate, ch *topology.Changes, set bool, undo *[]func()) error {
	switch ru.table {
	case tGlobal:
		if !set {
			return nil
		}
		if len(ru.new) == 0 {
			m.gen = 0
			return nil
		}
		g, err := decodeRow[nbGlobal](ru.new, ru.uuid)
		if err != nil {
			return err
		}
		m.gen = uint64(g.Generation)
		return nil
	case tChassis:
		return mirrorRow(ru, set, undo, m.chassis, &ch.Chassis, func(r *chassisRow) topology.Chassis { return chassisOf(r) },
			func(c topology.Chassis) string { return c.Name })
	case tSwitch:
		return mirrorRow(ru, set, undo, m.switches, &ch.Switches, switchOf, func(v topology.Switch) string { return v.Name })
	case tPort:
		return mirrorRow(ru, set, undo, m.ports, &ch.Ports, portOf, func(v topology.Port) string { return v.Name })
	case tPair:
		return mirrorRow(ru, set, undo, m.pairs, &ch.PortPairs, pairOf, func(v topology.PortPair) string { return v.Name })
	case tGroup:
		return mirrorRow(ru, set, undo, m.groups, &ch.PortPairGroups, groupOf, func(v topology.PortPairGroup) string { return v.Name })
	case tChain:
		return mirrorRow(ru, set, undo, m.chains, &ch.PortChains, chainOf, func(v topology.PortChain) string { return v.Name })
	case tClassifier:
		return mirrorRow(ru, set, undo, m.classifiers, &ch.Classifiers, classifierOf, func(v topology.Classifier) string { return v.Name })
	case tACL:
		return mirrorRow(ru, set, undo, m.acls, &ch.ACLs, aclOf, func(v topology.ACL) string { return v.Name })
	case tPortGroup:
		return mirrorRow(ru, set, undo, m.portGroups, &ch.PortGroups, portGroupOf, func(v topology.PortGroup) string { return v.Name })
	case tAddressSet:
		return mirrorRow(ru, set, undo, m.addressSets, &ch.AddressSets, addressSetOf, func(v topology.AddressSet) string { return v.Name })
	case tQoS:
		return mirrorRow(ru, set, undo, m.qos, &ch.QoS, qosOf, func(v topology.QoS) string { return v.Name })
	case tDHCP:
		return mirrorRow(ru, set, undo, m.dhcpOptions, &ch.DHCPOptions, dhcpOptionsOf, func(v topology.DHCPOptions) string { return v.Name })
	case tDNS:
		return mirrorRow(ru, set, undo, m.dnsRecords, &ch.DNSRecords, dnsRecordOf, func(v topology.DNSRecord) string { return v.Name })
	case tLB:
		return mirrorRow(ru, set, undo, m.loadBalancers, &ch.LoadBalancers, loadBalancerOf, func(v topology.LoadBalancer) string { return v.Name })
	case tRouter:
		return mirrorRow(ru, set, undo, m.routers, &ch.Routers, routerOf, func(v topology.Router) string { return v.Name })
	case tRouterPort:
		return mirrorRow(ru, set, undo, m.routerPorts, &ch.RouterPorts, routerPortOf, func(v topology.RouterPort) string { return v.Name })
	}
	return nil
}

// mirrorRow applies a row update to one kind's mirror and changes,
// noting how to take it back.
func mirrorRow[R any, T any](ru rowUpdate, set bool, undo *[]func(), rows map[string]T,
	changes *map[string]*T, conv func(*R) T, name func(T) string) error {
	if *changes == nil {
		*changes = map[string]*T{}
	}
	old, had := rows[ru.uuid]
	restore := func() {
		if had {
			rows[ru.uuid] = old
		} else {
			delete(rows, ru.uuid)
		}
	}
	if !set {
		if had {
			if len(ru.new) == 0 || renamed(ru.old) {
				if _, taken := (*changes)[name(old)]; !taken {
					(*changes)[name(old)] = nil
				}
			}
			if len(ru.new) == 0 {
				delete(rows, ru.uuid)
				*undo = append(*undo, restore)
			}
		}
		return nil
	}
	if len(ru.new) == 0 {
		return nil
	}
	r, err := decodeRow[R](ru.new, ru.uuid)
	if err != nil {
		return err
	}
	obj := conv(r)
	rows[ru.uuid] = obj
	*undo = append(*undo, restore)
	(*changes)[name(obj)] = &obj
	return nil
}

// renamed: a modify whose old columns include the name.
func renamed(old json.RawMessage) bool { return hasColumn(old, "name") }

// model is the whole mirrored model.
func (m *mirror) model() *topology.Model {
	out := &topology.Model{Generation: m.gen}
	for _, v := range m.chassis {
		out.Chassis = append(out.Chassis, v)
	}
	for _, v := range m.switches {
		out.Switches = append(out.Switches, v)
	}
	for _, v := range m.ports {
		out.Ports = append(out.Ports, v)
	}
	for _, v := range m.pairs {
		out.PortPairs = append(out.PortPairs, v)
	}
	for _, v := range m.groups {
		out.PortPairGroups = append(out.PortPairGroups, v)
	}
	for _, v := range m.chains {
		out.PortChains = append(out.PortChains, v)
	}
	for _, v := range m.classifiers {
		out.Classifiers = append(out.Classifiers, v)
	}
	for _, v := range m.acls {
		out.ACLs = append(out.ACLs, v)
	}
	for _, v := range m.portGroups {
		out.PortGroups = append(out.PortGroups, v)
	}
	for _, v := range m.addressSets {
		out.AddressSets = append(out.AddressSets, v)
	}
	for _, v := range m.qos {
		out.QoS = append(out.QoS, v)
	}
	for _, v := range m.dhcpOptions {
		out.DHCPOptions = append(out.DHCPOptions, v)
	}
	for _, v := range m.dnsRecords {
		out.DNSRecords = append(out.DNSRecords, v)
	}
	for _, v := range m.loadBalancers {
		out.LoadBalancers = append(out.LoadBalancers, v)
	}
	for _, v := range m.routers {
		out.Routers = append(out.Routers, v)
	}
	for _, v := range m.routerPorts {
		out.RouterPorts = append(out.RouterPorts, v)
	}
	out.Normalize()
	return out
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
