// Package topology is the logical model (chassis, switches, ports,
// service chains, ACLs, port groups, address sets, QoS rules, DHCP
// options, DNS records, load balancers), its validation and tunnel-key
// allocation, the stores that keep it, and Index: the model validated
// and indexed, kept so by Apply at the cost of each change.
package topology

import "sort"

// Key ranges, as in OVN.
const (
	MaxSwitchKey      = 1<<24 - 1 // 24-bit Geneve VNI
	MaxPortKey        = 1<<15 - 1 // 15-bit ingress port in the Geneve option
	FirstMulticastKey = 1 << 15   // egress keys 32768..65535 are multicast
)

// Model is the whole logical configuration. Slices are kept sorted by name
// so that the stored JSON is deterministic.
type Model struct {
	Generation     uint64          `json:"generation"`
	Chassis        []Chassis       `json:"chassis"`
	Switches       []Switch        `json:"switches"`
	Ports          []Port          `json:"ports"`
	PortPairs      []PortPair      `json:"port_pairs,omitempty"`
	PortPairGroups []PortPairGroup `json:"port_pair_groups,omitempty"`
	PortChains     []PortChain     `json:"port_chains,omitempty"`
	Classifiers    []Classifier    `json:"chain_classifiers,omitempty"`
	ACLs           []ACL           `json:"acls,omitempty"`
	PortGroups     []PortGroup     `json:"port_groups,omitempty"`
	AddressSets    []AddressSet    `json:"address_sets,omitempty"`
	QoS            []QoS           `json:"qos,omitempty"`
	DHCPOptions    []DHCPOptions   `json:"dhcp_options,omitempty"`
	DNSRecords     []DNSRecord     `json:"dns_records,omitempty"`
	LoadBalancers  []LoadBalancer  `json:"load_balancers,omitempty"`
	Routers        []Router        `json:"routers,omitempty"`
	RouterPorts    []RouterPort    `json:"router_ports,omitempty"`
}

// Chassis is a hypervisor that carries tunnels.
type Chassis struct {
	Name  string `json:"name"`
	Encap string `json:"encap"` // "geneve"
	IP    string `json:"ip"`
}

// Switch is a logical switch; Key is its datapath tunnel key (the VNI).
type Switch struct {
	Name          string   `json:"name"`
	Key           uint32   `json:"tunnel_key"`
	LoadBalancers []string `json:"load_balancers,omitempty"` // names, sorted by Normalize
}

// Port is a logical switch port.
type Port struct {
	Name   string `json:"name"`
	Switch string `json:"switch"`
	Key    uint32 `json:"tunnel_key"`
	// Type is "" (a VM's port, a VIF) or PortTypeRouter: the port joins
	// the switch to the router port its option router-port names.
	Type string `json:"type,omitempty"`
	// Addresses: each entry "MAC [IP...]" or "unknown".
	Addresses []string `json:"addresses,omitempty"`
	// PortSecurity: each entry "MAC [IP[/plen]...]"; empty = no restriction.
	PortSecurity []string `json:"port_security,omitempty"`
	// Enabled is nil (enabled) unless set; false disables the port.
	Enabled *bool             `json:"enabled,omitempty"`
	Options map[string]string `json:"options,omitempty"`
	// DHCPv4Options and DHCPv6Options name the DHCP options (IPv4 and
	// IPv6 ones) that answer the port's requests; "" = none.
	DHCPv4Options string `json:"dhcpv4_options,omitempty"`
	DHCPv6Options string `json:"dhcpv6_options,omitempty"`
}

// IsEnabled reports whether the port passes traffic.
func (p *Port) IsEnabled() bool { return p.Enabled == nil || *p.Enabled }

// RequestedChassis is the chassis the port must be bound on, if set.
func (p *Port) RequestedChassis() string { return p.Options["requested-chassis"] }

// named is every kind of model object: each has a unique name.
type named interface{ objName() string }

func (c Chassis) objName() string       { return c.Name }
func (s Switch) objName() string        { return s.Name }
func (p Port) objName() string          { return p.Name }
func (p PortPair) objName() string      { return p.Name }
func (g PortPairGroup) objName() string { return g.Name }
func (c PortChain) objName() string     { return c.Name }
func (c Classifier) objName() string    { return c.Name }
func (a ACL) objName() string           { return a.Name }
func (g PortGroup) objName() string     { return g.Name }
func (s AddressSet) objName() string    { return s.Name }
func (q QoS) objName() string           { return q.Name }
func (o DHCPOptions) objName() string   { return o.Name }
func (r DNSRecord) objName() string     { return r.Name }
func (lb LoadBalancer) objName() string { return lb.Name }

// find returns the object of a list with that name, or nil.
func find[T named](list []T, name string) *T {
	for i := range list {
		if list[i].objName() == name {
			return &list[i]
		}
	}
	return nil
}

func sortByName[T named](list []T) {
	sort.Slice(list, func(i, j int) bool { return list[i].objName() < list[j].objName() })
}

// Normalize sorts every list so that equal models encode identically, and
// gives each DNS record the name it derives from (SWITCH/HOSTNAME).
func (m *Model) Normalize() {
	sortByName(m.Chassis)
	sortByName(m.Switches)
	for i := range m.Switches {
		sort.Strings(m.Switches[i].LoadBalancers)
	}
	sortByName(m.Ports)
	for i := range m.Ports {
		// Sets, as in OVN (and in the OVSDB store): their order means nothing.
		sort.Strings(m.Ports[i].Addresses)
		sort.Strings(m.Ports[i].PortSecurity)
	}
	sortByName(m.PortPairs)
	sortByName(m.PortPairGroups)
	sortByName(m.PortChains)
	sortByName(m.Classifiers)
	sortByName(m.ACLs)
	sortByName(m.PortGroups)
	for i := range m.PortGroups {
		sort.Strings(m.PortGroups[i].Ports)
	}
	sortByName(m.AddressSets)
	for i := range m.AddressSets {
		sort.Strings(m.AddressSets[i].Addresses)
	}
	sortByName(m.QoS)
	sortByName(m.DHCPOptions)
	for i := range m.DNSRecords {
		r := &m.DNSRecords[i]
		r.Name = DNSRecordName(r.Switch, r.Hostname)
		sort.Strings(r.Addresses)
	}
	sortByName(m.DNSRecords)
	sortByName(m.LoadBalancers)
	m.normalizeRouters()
}

// Switch, Port and ChassisByName return the named object, or nil.
func (m *Model) Switch(name string) *Switch         { return find(m.Switches, name) }
func (m *Model) Port(name string) *Port             { return find(m.Ports, name) }
func (m *Model) ChassisByName(name string) *Chassis { return find(m.Chassis, name) }

// PortsOf returns the ports of a switch, sorted by name.
func (m *Model) PortsOf(sw string) []*Port {
	var out []*Port
	for i := range m.Ports {
		if m.Ports[i].Switch == sw {
			out = append(out, &m.Ports[i])
		}
	}
	return out
}
