package nbdb

import (
	"reflect"

	"github.com/chainwire/chainwire/topology"
	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"
)

// diffOps turns the difference between the model read (st) and next into
// row inserts, updates and deletes.
func (s *Store) diffOps(cli client.Client, st *state, next *topology.Model) ([]ovsdb.Operation, error) {
	var ops []ovsdb.Operation
	d := &differ{cli: cli, ops: &ops}
	before := st.model
	// Chassis rows also carry their agent's columns: keep them.
	diffKind(d, tChassis, st.uuids[tChassis], before.Chassis, next.Chassis,
		func(c topology.Chassis) string { return c.Name },
		func(c topology.Chassis, uuid string) (model.Model, []any) {
			r := chassisModelRow(c, chassisRow{UUID: uuid})
			if old := st.chassis[c.Name]; old != nil {
				r = chassisModelRow(c, *old)
			}
			return r, []any{&r.EncapType, &r.EncapIP}
		})
	diffKind(d, tSwitch, st.uuids[tSwitch], before.Switches, next.Switches,
		func(v topology.Switch) string { return v.Name },
		func(v topology.Switch, uuid string) (model.Model, []any) {
			r := switchRowOf(v, uuid)
			return r, []any{&r.TunnelKey}
		})
	diffKind(d, tPort, st.uuids[tPort], before.Ports, next.Ports,
		func(v topology.Port) string { return v.Name },
		func(v topology.Port, uuid string) (model.Model, []any) {
			r := portRowOf(v, uuid)
			return r, []any{&r.Switch, &r.TunnelKey, &r.Addresses, &r.PortSecurity, &r.Enabled, &r.Options}
		})
	diffKind(d, tPair, st.uuids[tPair], before.PortPairs, next.PortPairs,
		func(v topology.PortPair) string { return v.Name },
		func(v topology.PortPair, uuid string) (model.Model, []any) {
			r := pairRowOf(v, uuid)
			return r, []any{&r.Switch, &r.Inport, &r.Outport, &r.Weight}
		})
	diffKind(d, tGroup, st.uuids[tGroup], before.PortPairGroups, next.PortPairGroups,
		func(v topology.PortPairGroup) string { return v.Name },
		func(v topology.PortPairGroup, uuid string) (model.Model, []any) {
			r := groupRowOf(v, uuid)
			return r, []any{&r.PortPairs}
		})
	diffKind(d, tChain, st.uuids[tChain], before.PortChains, next.PortChains,
		func(v topology.PortChain) string { return v.Name },
		func(v topology.PortChain, uuid string) (model.Model, []any) {
			r := chainRowOf(v, uuid)
			return r, []any{&r.Switch, &r.Key, &r.PortPairGroups}
		})
	diffKind(d, tClassifier, st.uuids[tClassifier], before.Classifiers, next.Classifiers,
		func(v topology.Classifier) string { return v.Name },
		func(v topology.Classifier, uuid string) (model.Model, []any) {
			r := classifierRowOf(v, uuid)
			return r, []any{&r.Switch, &r.Chain, &r.Port, &r.Direction, &r.Path, &r.Match, &r.Priority, &r.Key}
		})
	return ops, d.err
}

type differ struct {
	cli client.Client
	ops *[]ovsdb.Operation
	err error
}

func (d *differ) add(o []ovsdb.Operation, err error) {
	if d.err == nil && err != nil {
		d.err = err
	}
	*d.ops = append(*d.ops, o...)
}

// diffKind emits the ops that turn one kind's objects from old into new:
// rows of objects gone are deleted, new objects inserted, changed ones
// updated (every column, so that emptied columns are written too).
func diffKind[T any](d *differ, table string, uuids map[string]string, old, new []T,
	name func(T) string, row func(T, string) (model.Model, []any)) {
	was := make(map[string]*T, len(old))
	for i := range old {
		was[name(old[i])] = &old[i]
	}
	keep := make(map[string]bool, len(new))
	for _, v := range new {
		n := name(v)
		keep[n] = true
		prev, ok := was[n]
		switch {
		case !ok:
			r, _ := row(v, "")
			d.add(d.cli.Create(r))
		case !reflect.DeepEqual(*prev, v):
			r, cols := row(v, uuids[n])
			d.add(d.cli.Where(r).Update(r, cols...))
		}
	}
	for _, v := range old {
		if n := name(v); !keep[n] {
			r, _ := row(v, uuids[n])
			d.add(d.cli.Where(r).Delete())
		}
	}
	_ = table
}
