package nbdb

import (
	"sort"

	"github.com/chainwire/chainwire/topology"
	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"
)

// diffOps turns changes to the model read (st) into row inserts, updates
// (every column, so that emptied columns are written too) and deletes.
func diffOps(cli client.Client, st *state, ch *topology.Changes) ([]ovsdb.Operation, error) {
	d := &differ{cli: cli}
	// Chassis rows also carry their agent's columns: keep them.
	diffKind(d, st.uuids[tChassis], ch.Chassis, func(c *topology.Chassis, uuid string) (model.Model, []any) {
		r := chassisModelRow(*c, chassisRow{UUID: uuid})
		if old := st.chassis[c.Name]; old != nil {
			r = chassisModelRow(*c, *old)
		}
		return r, []any{&r.EncapType, &r.EncapIP}
	}, func(uuid string) model.Model { return &chassisRow{UUID: uuid} })
	diffKind(d, st.uuids[tSwitch], ch.Switches, func(v *topology.Switch, uuid string) (model.Model, []any) {
		r := switchRowOf(*v, uuid)
		return r, []any{&r.TunnelKey, &r.LoadBalancers}
	}, func(uuid string) model.Model { return &switchRow{UUID: uuid} })
	diffKind(d, st.uuids[tPort], ch.Ports, func(v *topology.Port, uuid string) (model.Model, []any) {
		r := portRowOf(*v, uuid)
		return r, []any{&r.Switch, &r.TunnelKey, &r.Addresses, &r.PortSecurity, &r.Enabled, &r.Options, &r.DHCPv4Options, &r.DHCPv6Options, &r.Type}
	}, func(uuid string) model.Model { return &portRow{UUID: uuid} })
	diffKind(d, st.uuids[tPair], ch.PortPairs, func(v *topology.PortPair, uuid string) (model.Model, []any) {
		r := pairRowOf(*v, uuid)
		return r, []any{&r.Switch, &r.Inport, &r.Outport, &r.Weight, &r.Options}
	}, func(uuid string) model.Model { return &pairRow{UUID: uuid} })
	diffKind(d, st.uuids[tGroup], ch.PortPairGroups, func(v *topology.PortPairGroup, uuid string) (model.Model, []any) {
		r := groupRowOf(*v, uuid)
		return r, []any{&r.PortPairs, &r.Options}
	}, func(uuid string) model.Model { return &groupRow{UUID: uuid} })
	diffKind(d, st.uuids[tChain], ch.PortChains, func(v *topology.PortChain, uuid string) (model.Model, []any) {
		r := chainRowOf(*v, uuid)
		return r, []any{&r.Switch, &r.Key, &r.PortPairGroups}
	}, func(uuid string) model.Model { return &chainRow{UUID: uuid} })
	diffKind(d, st.uuids[tClassifier], ch.Classifiers, func(v *topology.Classifier, uuid string) (model.Model, []any) {
		r := classifierRowOf(*v, uuid)
		return r, []any{&r.Switch, &r.Chain, &r.Port, &r.Direction, &r.Path, &r.Match, &r.Priority, &r.Key}
	}, func(uuid string) model.Model { return &classifierRow{UUID: uuid} })
	diffKind(d, st.uuids[tACL], ch.ACLs, func(v *topology.ACL, uuid string) (model.Model, []any) {
		r := aclRowOf(*v, uuid)
		return r, []any{&r.Key, &r.Switch, &r.PortGroup, &r.Direction, &r.Priority, &r.Match, &r.Action, &r.Log}
	}, func(uuid string) model.Model { return &aclRow{UUID: uuid} })
	diffKind(d, st.uuids[tPortGroup], ch.PortGroups, func(v *topology.PortGroup, uuid string) (model.Model, []any) {
		r := portGroupRowOf(*v, uuid)
		return r, []any{&r.Ports}
	}, func(uuid string) model.Model { return &portGroupRow{UUID: uuid} })
	diffKind(d, st.uuids[tAddressSet], ch.AddressSets, func(v *topology.AddressSet, uuid string) (model.Model, []any) {
		r := addressSetRowOf(*v, uuid)
		return r, []any{&r.Addresses}
	}, func(uuid string) model.Model { return &addressSetRow{UUID: uuid} })
	diffKind(d, st.uuids[tQoS], ch.QoS, func(v *topology.QoS, uuid string) (model.Model, []any) {
		r := qosRowOf(*v, uuid)
		return r, []any{&r.Key, &r.Switch, &r.Direction, &r.Priority, &r.Match, &r.DSCP, &r.Rate, &r.Burst}
	}, func(uuid string) model.Model { return &qosRow{UUID: uuid} })
	diffKind(d, st.uuids[tDHCP], ch.DHCPOptions, func(v *topology.DHCPOptions, uuid string) (model.Model, []any) {
		r := dhcpOptionsRowOf(*v, uuid)
		return r, []any{&r.CIDR, &r.Options}
	}, func(uuid string) model.Model { return &dhcpOptionsRow{UUID: uuid} })
	diffKind(d, st.uuids[tDNS], ch.DNSRecords, func(v *topology.DNSRecord, uuid string) (model.Model, []any) {
		r := dnsRecordRowOf(*v, uuid)
		return r, []any{&r.Switch, &r.Hostname, &r.Addresses}
	}, func(uuid string) model.Model { return &dnsRecordRow{UUID: uuid} })
	diffKind(d, st.uuids[tLB], ch.LoadBalancers, func(v *topology.LoadBalancer, uuid string) (model.Model, []any) {
		r := loadBalancerRowOf(*v, uuid)
		return r, []any{&r.Key, &r.Protocol, &r.VIPs}
	}, func(uuid string) model.Model { return &loadBalancerRow{UUID: uuid} })
	diffKind(d, st.uuids[tRouter], ch.Routers, func(v *topology.Router, uuid string) (model.Model, []any) {
		r := routerRowOf(*v, uuid)
		return r, []any{&r.TunnelKey, &r.StaticRoutes}
	}, func(uuid string) model.Model { return &routerRow{UUID: uuid} })
	diffKind(d, st.uuids[tRouterPort], ch.RouterPorts, func(v *topology.RouterPort, uuid string) (model.Model, []any) {
		r := routerPortRowOf(*v, uuid)
		return r, []any{&r.Router, &r.TunnelKey, &r.MAC, &r.Networks}
	}, func(uuid string) model.Model { return &routerPortRow{UUID: uuid} })
	return d.ops, d.err
}

type differ struct {
	cli client.Client
	ops []ovsdb.Operation
	err error
}

func (d *differ) add(o []ovsdb.Operation, err error) {
	if d.err == nil && err != nil {
		d.err = err
	}
	d.ops = append(d.ops, o...)
}

// diffKind emits the ops for one kind's changed objects, in name order:
// a deleted object's row is deleted, a new one's inserted, a changed
// one's updated.
func diffKind[T any](d *differ, uuids map[string]string, changed map[string]*T,
	row func(*T, string) (model.Model, []any), byUUID func(string) model.Model) {
	names := make([]string, 0, len(changed))
	for n := range changed {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v, uuid := changed[n], uuids[n]
		switch {
		case v == nil && uuid != "":
			d.add(d.cli.Where(byUUID(uuid)).Delete())
		case v == nil:
		case uuid == "":
			r, _ := row(v, "")
			d.add(d.cli.Create(r))
		default:
			r, cols := row(v, uuid)
			d.add(d.cli.Where(r).Update(r, cols...))
		}
	}
}
