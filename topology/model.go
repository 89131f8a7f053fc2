// Package topology is the logical model (chassis, switches, ports), its
// validation and tunnel-key allocation, and the stores that keep it.
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
}

// Chassis is a hypervisor that carries tunnels.
type Chassis struct {
	Name  string `json:"name"`
	Encap string `json:"encap"` // "geneve"
	IP    string `json:"ip"`
}

// Switch is a logical switch; Key is its datapath tunnel key (the VNI).
type Switch struct {
	Name string `json:"name"`
	Key  uint32 `json:"tunnel_key"`
}

// Port is a logical switch port.
type Port struct {
	Name   string `json:"name"`
	Switch string `json:"switch"`
	Key    uint32 `json:"tunnel_key"`
	// Addresses: each entry "MAC [IP...]" or "unknown".
	Addresses []string `json:"addresses,omitempty"`
	// PortSecurity: each entry "MAC [IP[/plen]...]"; empty = no restriction.
	PortSecurity []string `json:"port_security,omitempty"`
	// Enabled is nil (enabled) unless set; false disables the port.
	Enabled *bool             `json:"enabled,omitempty"`
	Options map[string]string `json:"options,omitempty"`
}

// IsEnabled reports whether the port passes traffic.
func (p *Port) IsEnabled() bool { return p.Enabled == nil || *p.Enabled }

// RequestedChassis is the chassis the port must be bound on, if set.
func (p *Port) RequestedChassis() string { return p.Options["requested-chassis"] }

// Normalize sorts every list so that equal models encode identically.
func (m *Model) Normalize() {
	sort.Slice(m.Chassis, func(i, j int) bool { return m.Chassis[i].Name < m.Chassis[j].Name })
	sort.Slice(m.Switches, func(i, j int) bool { return m.Switches[i].Name < m.Switches[j].Name })
	sort.Slice(m.Ports, func(i, j int) bool { return m.Ports[i].Name < m.Ports[j].Name })
	sort.Slice(m.PortPairs, func(i, j int) bool { return m.PortPairs[i].Name < m.PortPairs[j].Name })
	sort.Slice(m.PortPairGroups, func(i, j int) bool { return m.PortPairGroups[i].Name < m.PortPairGroups[j].Name })
	sort.Slice(m.PortChains, func(i, j int) bool { return m.PortChains[i].Name < m.PortChains[j].Name })
	sort.Slice(m.Classifiers, func(i, j int) bool { return m.Classifiers[i].Name < m.Classifiers[j].Name })
}

// Switch returns the named switch.
func (m *Model) Switch(name string) *Switch {
	for i := range m.Switches {
		if m.Switches[i].Name == name {
			return &m.Switches[i]
		}
	}
	return nil
}

// Port returns the named port.
func (m *Model) Port(name string) *Port {
	for i := range m.Ports {
		if m.Ports[i].Name == name {
			return &m.Ports[i]
		}
	}
	return nil
}

// ChassisByName returns the named chassis.
func (m *Model) ChassisByName(name string) *Chassis {
	for i := range m.Chassis {
		if m.Chassis[i].Name == name {
			return &m.Chassis[i]
		}
	}
	return nil
}

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
