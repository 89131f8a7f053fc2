// Package lab emulates hypervisors on one machine: each host is a network
// namespace running its own ovsdb-server, ovs-vswitchd (userspace
// datapath) and chainwired; VMs and VNFs are further namespaces attached
// by veth pairs; the hosts share an underlay (a Linux bridge in its own
// namespace, 192.0.2.0/24) that carries Geneve. Everything a lab starts is
// recorded by PID and namespace in its state file and removed by Down.
package lab

import (
	"fmt"
	"net"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Config describes a lab (the YAML file of `chainwire-lab up -f`).
type Config struct {
	Hosts []HostConfig `yaml:"hosts"`
	Nodes []NodeConfig `yaml:"nodes"`
	// NB is where the model lives: "" (a file), "standalone" (one
	// ovsdb-server) or "cluster" (three, RAFT).
	NB string `yaml:"nb"`
}

// HostConfig is one emulated hypervisor; Name is its chassis name.
type HostConfig struct {
	Name string `yaml:"name"`
	IP   string `yaml:"ip"` // underlay address in 192.0.2.0/24
}

// NodeConfig is a VM or a VNF sitting on a host.
type NodeConfig struct {
	Name string `yaml:"name"`
	Host string `yaml:"host"`
	// Kind: "vm" (default), "vnf" (two-armed: a Linux bridge joins its two
	// interfaces) or "vnf-one-arm" (frames are reflected out of the
	// interface they came in on).
	Kind       string            `yaml:"kind"`
	Interfaces []InterfaceConfig `yaml:"interfaces"`
}

// InterfaceConfig is one interface of a node and the logical port it is
// bound to (external_ids:iface-id).
type InterfaceConfig struct {
	Name string `yaml:"name"` // inside the node, e.g. eth0
	Port string `yaml:"port"` // logical port name
	MAC  string `yaml:"mac"`
	IP   string `yaml:"ip"`  // CIDR, VMs only
	IP6  string `yaml:"ip6"` // CIDR, VMs only
	// Gateway and Gateway6: the default routes' next hops (a router).
	Gateway  string `yaml:"gateway"`
	Gateway6 string `yaml:"gateway6"`
}

// LoadConfig reads a lab description.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Config
	if err := yaml.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, c.validate()
}

func (c *Config) validate() error {
	switch c.NB {
	case "", "standalone", "cluster":
	default:
		return fmt.Errorf("nb %q: want standalone or cluster (or nothing, for a model file)", c.NB)
	}
	hosts := map[string]bool{}
	for _, h := range c.Hosts {
		if h.Name == "" || len(h.Name) > 8 || strings.HasPrefix(h.Name, "nb") {
			return fmt.Errorf("host %q: name must be 1..8 characters, not starting with nb (the database's)", h.Name)
		}
		if ip := net.ParseIP(h.IP); ip == nil || ip.To4() == nil {
			return fmt.Errorf("host %q: ip %q is not an IPv4 address", h.Name, h.IP)
		}
		hosts[h.Name] = true
	}
	names := map[string]bool{}
	for _, n := range c.Nodes {
		if n.Name == "" || len(n.Name) > 8 || names[n.Name] || hosts[n.Name] {
			return fmt.Errorf("node %q: names must be unique and 1..8 characters", n.Name)
		}
		names[n.Name] = true
		if !hosts[n.Host] {
			return fmt.Errorf("node %q: host %q is not in the lab", n.Name, n.Host)
		}
		switch n.Kind {
		case "", "vm", "vnf", "vnf-one-arm":
		default:
			return fmt.Errorf("node %q: kind %q (want vm, vnf or vnf-one-arm)", n.Name, n.Kind)
		}
		if len(n.Interfaces) == 0 {
			return fmt.Errorf("node %q: has no interfaces", n.Name)
		}
		for _, i := range n.Interfaces {
			if _, err := net.ParseMAC(i.MAC); err != nil {
				return fmt.Errorf("node %q interface %q: bad MAC %q", n.Name, i.Name, i.MAC)
			}
			if i.Port == "" || i.Name == "" || len(i.Name) > 6 {
				return fmt.Errorf("node %q: every interface needs a name (1..6 characters) and a port", n.Name)
			}
		}
	}
	return nil
}
