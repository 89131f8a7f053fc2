package nbdb

import (
	"maps"
	"sort"
	"strings"

	"github.com/chainwire/chainwire/topology"
	"github.com/ovn-kubernetes/libovsdb/model"
)

// The rows of Chainwire_NB (deploy/chainwire_nb.ovsschema), as libovsdb
// maps them: a set of at most one value is a pointer, an unlimited set a
// slice, a map a map. Objects refer to each other by name, as in the
// model; the validator (topology) keeps references consistent, and every
// write is serialized on NB_Global.generation.

type nbGlobal struct {
	UUID        string            `ovsdb:"_uuid"`
	Generation  int               `ovsdb:"generation"`
	Writer      string            `ovsdb:"writer"`
	ExternalIDs map[string]string `ovsdb:"external_ids"`
}

type chassisRow struct {
	UUID              string   `ovsdb:"_uuid"`
	Name              string   `ovsdb:"name"`
	EncapType         string   `ovsdb:"encap_type"`
	EncapIP           string   `ovsdb:"encap_ip"`
	Hostname          string   `ovsdb:"hostname"`
	Agent             string   `ovsdb:"agent"`
	NbCfg             int      `ovsdb:"nb_cfg"`
	Heartbeat         int      `ovsdb:"heartbeat"`
	HeartbeatInterval int      `ovsdb:"heartbeat_interval"`
	Connected         bool     `ovsdb:"connected"`
	Flows             int      `ovsdb:"flows"`
	Error             string   `ovsdb:"error"`
	Warnings          []string `ovsdb:"warnings"`
	PID               int      `ovsdb:"pid"`
	// Health (1.4.0): the probed pairs' health, pair -> up|down.
	Health map[string]string `ovsdb:"health"`
	// Neighbours (1.6.0): the routers' next hops this agent learned,
	// topology.NeighbourKey -> MAC.
	Neighbours map[string]string `ovsdb:"neighbours"`
}

type bindingRow struct {
	UUID        string `ovsdb:"_uuid"`
	LogicalPort string `ovsdb:"logical_port"`
	Chassis     string `ovsdb:"chassis"`
}

type switchRow struct {
	UUID          string   `ovsdb:"_uuid"`
	Name          string   `ovsdb:"name"`
	TunnelKey     int      `ovsdb:"tunnel_key"`
	LoadBalancers []string `ovsdb:"load_balancer"`
}

type portRow struct {
	UUID          string            `ovsdb:"_uuid"`
	Name          string            `ovsdb:"name"`
	Switch        string            `ovsdb:"switch"`
	TunnelKey     int               `ovsdb:"tunnel_key"`
	Addresses     []string          `ovsdb:"addresses"`
	PortSecurity  []string          `ovsdb:"port_security"`
	Enabled       *bool             `ovsdb:"enabled"`
	Options       map[string]string `ovsdb:"options"`
	DHCPv4Options string            `ovsdb:"dhcpv4_options"`
	DHCPv6Options string            `ovsdb:"dhcpv6_options"`
	Type          string            `ovsdb:"type"` // 1.5.0
}

type pairRow struct {
	UUID    string            `ovsdb:"_uuid"`
	Name    string            `ovsdb:"name"`
	Switch  string            `ovsdb:"switch"`
	Inport  string            `ovsdb:"inport"`
	Outport string            `ovsdb:"outport"`
	Weight  int               `ovsdb:"weight"`
	Options map[string]string `ovsdb:"options"` // 1.4.0
}

type groupRow struct {
	UUID      string            `ovsdb:"_uuid"`
	Name      string            `ovsdb:"name"`
	PortPairs map[int]string    `ovsdb:"port_pairs"`
	Options   map[string]string `ovsdb:"options"` // 1.4.0
}

type chainRow struct {
	UUID           string         `ovsdb:"_uuid"`
	Name           string         `ovsdb:"name"`
	Switch         string         `ovsdb:"switch"`
	Key            int            `ovsdb:"key"`
	PortPairGroups map[int]string `ovsdb:"port_pair_groups"`
}

type classifierRow struct {
	UUID      string `ovsdb:"_uuid"`
	Name      string `ovsdb:"name"`
	Switch    string `ovsdb:"switch"`
	Chain     string `ovsdb:"chain"`
	Port      string `ovsdb:"port"`
	Direction string `ovsdb:"direction"`
	Path      string `ovsdb:"path"`
	Match     string `ovsdb:"match"`
	Priority  int    `ovsdb:"priority"`
	Key       int    `ovsdb:"key"`
}

type aclRow struct {
	UUID      string `ovsdb:"_uuid"`
	Name      string `ovsdb:"name"`
	Key       int    `ovsdb:"key"`
	Switch    string `ovsdb:"switch"`
	PortGroup string `ovsdb:"port_group"`
	Direction string `ovsdb:"direction"`
	Priority  int    `ovsdb:"priority"`
	Match     string `ovsdb:"match"`
	Action    string `ovsdb:"action"`
	Log       bool   `ovsdb:"log"`
}

type portGroupRow struct {
	UUID  string   `ovsdb:"_uuid"`
	Name  string   `ovsdb:"name"`
	Ports []string `ovsdb:"ports"`
}

type addressSetRow struct {
	UUID      string   `ovsdb:"_uuid"`
	Name      string   `ovsdb:"name"`
	Addresses []string `ovsdb:"addresses"`
}

type qosRow struct {
	UUID      string `ovsdb:"_uuid"`
	Name      string `ovsdb:"name"`
	Key       int    `ovsdb:"key"`
	Switch    string `ovsdb:"switch"`
	Direction string `ovsdb:"direction"`
	Priority  int    `ovsdb:"priority"`
	Match     string `ovsdb:"match"`
	DSCP      *int   `ovsdb:"dscp"`
	Rate      int    `ovsdb:"rate"`
	Burst     int    `ovsdb:"burst"`
}

type dhcpOptionsRow struct {
	UUID    string            `ovsdb:"_uuid"`
	Name    string            `ovsdb:"name"`
	CIDR    string            `ovsdb:"cidr"`
	Options map[string]string `ovsdb:"options"`
}

type dnsRecordRow struct {
	UUID      string   `ovsdb:"_uuid"`
	Name      string   `ovsdb:"name"`
	Switch    string   `ovsdb:"switch"`
	Hostname  string   `ovsdb:"hostname"`
	Addresses []string `ovsdb:"addresses"`
}

type loadBalancerRow struct {
	UUID     string            `ovsdb:"_uuid"`
	Name     string            `ovsdb:"name"`
	Key      int               `ovsdb:"key"`
	Protocol string            `ovsdb:"protocol"`
	VIPs     map[string]string `ovsdb:"vips"`
}

// routerRow (1.5.0) holds a router's static routes as a map prefix ->
// "NEXTHOP" or "NEXTHOP PORT": one route per prefix, as the model has
// them.
type routerRow struct {
	UUID         string            `ovsdb:"_uuid"`
	Name         string            `ovsdb:"name"`
	TunnelKey    int               `ovsdb:"tunnel_key"`
	StaticRoutes map[string]string `ovsdb:"static_routes"`
}

type routerPortRow struct {
	UUID      string   `ovsdb:"_uuid"`
	Name      string   `ovsdb:"name"`
	Router    string   `ovsdb:"router"`
	TunnelKey int      `ovsdb:"tunnel_key"`
	MAC       string   `ovsdb:"mac"`
	Networks  []string `ovsdb:"networks"`
}

// Table names.
const (
	tGlobal     = "NB_Global"
	tChassis    = "Chassis"
	tBinding    = "Port_Binding"
	tSwitch     = "Logical_Switch"
	tPort       = "Logical_Switch_Port"
	tPair       = "Port_Pair"
	tGroup      = "Port_Pair_Group"
	tChain      = "Port_Chain"
	tClassifier = "Chain_Classifier"
	tACL        = "ACL"
	tPortGroup  = "Port_Group"
	tAddressSet = "Address_Set"
	tQoS        = "QoS"
	tDHCP       = "DHCP_Options"
	tDNS        = "DNS_Record"
	tLB         = "Load_Balancer"
	tRouter     = "Logical_Router"
	tRouterPort = "Logical_Router_Port"
)

// dbName is the database's name in the schema.
const dbName = "Chainwire_NB"

func dbModel() (model.ClientDBModel, error) {
	return model.NewClientDBModel(dbName, map[string]model.Model{
		tGlobal: &nbGlobal{}, tChassis: &chassisRow{}, tBinding: &bindingRow{}, tSwitch: &switchRow{},
		tPort: &portRow{}, tPair: &pairRow{}, tGroup: &groupRow{}, tChain: &chainRow{}, tClassifier: &classifierRow{},
		tACL: &aclRow{}, tPortGroup: &portGroupRow{}, tAddressSet: &addressSetRow{}, tQoS: &qosRow{},
		tDHCP: &dhcpOptionsRow{}, tDNS: &dnsRecordRow{}, tLB: &loadBalancerRow{},
		tRouter: &routerRow{}, tRouterPort: &routerPortRow{},
	})
}

// ordered turns a list into OVSDB's map form of an ordered list (index ->
// element) and back.
func ordered(list []string) map[int]string {
	m := make(map[int]string, len(list))
	for i, v := range list {
		m[i] = v
	}
	return m
}

func unordered(m map[int]string) []string {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

// The conversions between model objects and rows. An object's row keeps
// the UUID of the row it came from (empty for a new one).

func chassisOf(r *chassisRow) topology.Chassis {
	return topology.Chassis{Name: r.Name, Encap: r.EncapType, IP: r.EncapIP}
}

// chassisModelRow updates the model columns of a chassis row, keeping the
// columns its agent writes.
func chassisModelRow(c topology.Chassis, r chassisRow) *chassisRow {
	r.Name, r.EncapType, r.EncapIP = c.Name, c.Encap, c.IP
	return &r
}

func switchOf(r *switchRow) topology.Switch {
	return topology.Switch{Name: r.Name, Key: uint32(r.TunnelKey), LoadBalancers: sortedSet(r.LoadBalancers)}
}

func switchRowOf(s topology.Switch, uuid string) *switchRow {
	return &switchRow{UUID: uuid, Name: s.Name, TunnelKey: int(s.Key), LoadBalancers: s.LoadBalancers}
}

func portOf(r *portRow) topology.Port {
	p := topology.Port{Name: r.Name, Switch: r.Switch, Key: uint32(r.TunnelKey), Type: r.Type, Enabled: r.Enabled,
		DHCPv4Options: r.DHCPv4Options, DHCPv6Options: r.DHCPv6Options}
	if len(r.Addresses) > 0 {
		p.Addresses = append([]string(nil), r.Addresses...)
		sort.Strings(p.Addresses)
	}
	if len(r.PortSecurity) > 0 {
		p.PortSecurity = append([]string(nil), r.PortSecurity...)
		sort.Strings(p.PortSecurity)
	}
	p.Options = stringMap(r.Options)
	return p
}

// stringMap is a map column as a model map: a copy, nil when empty.
func stringMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

func portRowOf(p topology.Port, uuid string) *portRow {
	return &portRow{UUID: uuid, Name: p.Name, Switch: p.Switch, TunnelKey: int(p.Key), Addresses: p.Addresses,
		PortSecurity: p.PortSecurity, Enabled: p.Enabled, Options: p.Options,
		DHCPv4Options: p.DHCPv4Options, DHCPv6Options: p.DHCPv6Options, Type: p.Type}
}

func pairOf(r *pairRow) topology.PortPair {
	return topology.PortPair{Name: r.Name, Switch: r.Switch, InPort: r.Inport, OutPort: r.Outport, Weight: uint32(r.Weight),
		Options: stringMap(r.Options)}
}

func pairRowOf(p topology.PortPair, uuid string) *pairRow {
	return &pairRow{UUID: uuid, Name: p.Name, Switch: p.Switch, Inport: p.InPort, Outport: p.OutPort, Weight: int(p.Weight),
		Options: p.Options}
}

func groupOf(r *groupRow) topology.PortPairGroup {
	return topology.PortPairGroup{Name: r.Name, Pairs: unordered(r.PortPairs), Options: stringMap(r.Options)}
}

func groupRowOf(g topology.PortPairGroup, uuid string) *groupRow {
	return &groupRow{UUID: uuid, Name: g.Name, PortPairs: ordered(g.Pairs), Options: g.Options}
}

func chainOf(r *chainRow) topology.PortChain {
	return topology.PortChain{Name: r.Name, Switch: r.Switch, Key: uint32(r.Key), Groups: unordered(r.PortPairGroups)}
}

func chainRowOf(c topology.PortChain, uuid string) *chainRow {
	return &chainRow{UUID: uuid, Name: c.Name, Switch: c.Switch, Key: int(c.Key), PortPairGroups: ordered(c.Groups)}
}

func classifierOf(r *classifierRow) topology.Classifier {
	return topology.Classifier{Name: r.Name, Switch: r.Switch, Chain: r.Chain, Port: r.Port, Direction: r.Direction,
		Path: r.Path, Match: r.Match, Priority: r.Priority, Key: uint32(r.Key)}
}

func classifierRowOf(c topology.Classifier, uuid string) *classifierRow {
	return &classifierRow{UUID: uuid, Name: c.Name, Switch: c.Switch, Chain: c.Chain, Port: c.Port, Direction: c.Direction,
		Path: c.Path, Match: c.Match, Priority: c.Priority, Key: int(c.Key)}
}

func aclOf(r *aclRow) topology.ACL {
	return topology.ACL{Name: r.Name, Key: uint32(r.Key), Switch: r.Switch, PortGroup: r.PortGroup, Direction: r.Direction,
		Priority: r.Priority, Match: r.Match, Action: r.Action, Log: r.Log}
}

func aclRowOf(a topology.ACL, uuid string) *aclRow {
	return &aclRow{UUID: uuid, Name: a.Name, Key: int(a.Key), Switch: a.Switch, PortGroup: a.PortGroup, Direction: a.Direction,
		Priority: a.Priority, Match: a.Match, Action: a.Action, Log: a.Log}
}

// sortedSet is a set column as a model list: sorted, nil when empty.
func sortedSet(set []string) []string {
	if len(set) == 0 {
		return nil
	}
	out := append([]string(nil), set...)
	sort.Strings(out)
	return out
}

func portGroupOf(r *portGroupRow) topology.PortGroup {
	return topology.PortGroup{Name: r.Name, Ports: sortedSet(r.Ports)}
}

func portGroupRowOf(g topology.PortGroup, uuid string) *portGroupRow {
	return &portGroupRow{UUID: uuid, Name: g.Name, Ports: g.Ports}
}

func addressSetOf(r *addressSetRow) topology.AddressSet {
	return topology.AddressSet{Name: r.Name, Addresses: sortedSet(r.Addresses)}
}

func addressSetRowOf(s topology.AddressSet, uuid string) *addressSetRow {
	return &addressSetRow{UUID: uuid, Name: s.Name, Addresses: s.Addresses}
}

func qosOf(r *qosRow) topology.QoS {
	q := topology.QoS{Name: r.Name, Key: uint32(r.Key), Switch: r.Switch, Direction: r.Direction, Priority: r.Priority,
		Match: r.Match, Rate: uint32(r.Rate), Burst: uint32(r.Burst)}
	if r.DSCP != nil {
		d := *r.DSCP
		q.DSCP = &d
	}
	return q
}

func qosRowOf(q topology.QoS, uuid string) *qosRow {
	return &qosRow{UUID: uuid, Name: q.Name, Key: int(q.Key), Switch: q.Switch, Direction: q.Direction, Priority: q.Priority,
		Match: q.Match, DSCP: q.DSCP, Rate: int(q.Rate), Burst: int(q.Burst)}
}

func dhcpOptionsOf(r *dhcpOptionsRow) topology.DHCPOptions {
	return topology.DHCPOptions{Name: r.Name, CIDR: r.CIDR, Options: stringMap(r.Options)}
}

func dhcpOptionsRowOf(o topology.DHCPOptions, uuid string) *dhcpOptionsRow {
	return &dhcpOptionsRow{UUID: uuid, Name: o.Name, CIDR: o.CIDR, Options: o.Options}
}

func dnsRecordOf(r *dnsRecordRow) topology.DNSRecord {
	return topology.DNSRecord{Name: r.Name, Switch: r.Switch, Hostname: r.Hostname, Addresses: sortedSet(r.Addresses)}
}

func dnsRecordRowOf(d topology.DNSRecord, uuid string) *dnsRecordRow {
	return &dnsRecordRow{UUID: uuid, Name: d.Name, Switch: d.Switch, Hostname: d.Hostname, Addresses: d.Addresses}
}

func loadBalancerOf(r *loadBalancerRow) topology.LoadBalancer {
	return topology.LoadBalancer{Name: r.Name, Key: uint32(r.Key), Protocol: r.Protocol, VIPs: stringMap(r.VIPs)}
}

func loadBalancerRowOf(lb topology.LoadBalancer, uuid string) *loadBalancerRow {
	return &loadBalancerRow{UUID: uuid, Name: lb.Name, Key: int(lb.Key), Protocol: lb.Protocol, VIPs: lb.VIPs}
}

func routerOf(r *routerRow) topology.Router {
	out := topology.Router{Name: r.Name, Key: uint32(r.TunnelKey)}
	for prefix, v := range r.StaticRoutes {
		rt := topology.StaticRoute{Prefix: prefix}
		rt.NextHop, rt.Port, _ = strings.Cut(v, " ")
		out.Routes = append(out.Routes, rt)
	}
	sort.Slice(out.Routes, func(i, j int) bool { return out.Routes[i].Prefix < out.Routes[j].Prefix }) // as Normalize sorts them
	return out
}

func routerRowOf(r topology.Router, uuid string) *routerRow {
	row := &routerRow{UUID: uuid, Name: r.Name, TunnelKey: int(r.Key), StaticRoutes: make(map[string]string, len(r.Routes))}
	for _, rt := range r.Routes {
		v := rt.NextHop
		if rt.Port != "" {
			v += " " + rt.Port
		}
		row.StaticRoutes[rt.Prefix] = v
	}
	return row
}

func routerPortOf(r *routerPortRow) topology.RouterPort {
	return topology.RouterPort{Name: r.Name, Router: r.Router, Key: uint32(r.TunnelKey), MAC: r.MAC, Networks: sortedSet(r.Networks)}
}

func routerPortRowOf(rp topology.RouterPort, uuid string) *routerPortRow {
	return &routerPortRow{UUID: uuid, Name: rp.Name, Router: rp.Router, TunnelKey: int(rp.Key), MAC: rp.MAC, Networks: rp.Networks}
}
