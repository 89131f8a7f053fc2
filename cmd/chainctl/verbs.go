package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/chainwire/chainwire/topology"
)

var verbs = map[string]verb{
	"ls-add": {usage: "SWITCH [--tunnel-key N]", help: "create a logical switch", min: 1, max: 1,
		flags: []string{"tunnel-key"}, write: lsAdd},
	"ls-del":  {usage: "SWITCH", help: "delete a logical switch (it must have no ports)", min: 1, max: 1, write: lsDel},
	"ls-list": {usage: "", help: "list logical switches", min: 0, max: 0, read: lsList},
	"lsp-add": {usage: "SWITCH PORT [--tunnel-key N]", help: "add a port to a switch", min: 2, max: 2,
		flags: []string{"tunnel-key"}, write: lspAdd},
	"lsp-del":  {usage: "PORT", help: "delete a port", min: 1, max: 1, write: lspDel},
	"lsp-list": {usage: "SWITCH", help: "list a switch's ports", min: 1, max: 1, read: lspList},
	"lsp-set-addresses": {usage: "PORT [ADDRESS...]", help: `set addresses ("MAC IP..." or "unknown"; "router" on a router-type port)`,
		min: 1, max: -1, write: lspSetAddresses},
	"lsp-set-port-security": {usage: "PORT [ADDRESS...]", help: `set port security ("MAC IP/plen...")`,
		min: 1, max: -1, write: lspSetPortSecurity},
	"lsp-set-options": {usage: "PORT [KEY=VALUE...]", help: "set port options (requested-chassis=NAME; router-port=LRP on a router-type port)",
		min: 1, max: -1, write: lspSetOptions},
	"lsp-set-enabled": {usage: "PORT enabled|disabled", help: "enable or disable a port", min: 2, max: 2,
		write: lspSetEnabled},
	"chassis-add": {usage: "CHASSIS geneve IP", help: "register a hypervisor and its tunnel IP", min: 3, max: 3,
		write: chassisAdd},
	"chassis-del": {usage: "CHASSIS", help: "remove a hypervisor", min: 1, max: 1, write: chassisDel},
	"show":        {usage: "", help: "print the whole model", min: 0, max: 0, read: show},
	"status":      {usage: "", help: "print what each agent has applied", min: 0, max: 0, read: status},
	"dump":        {usage: "", help: "print the model in the model file's form (for chainctl load)", min: 0, max: 0, read: dump},
	"load":        {usage: "FILE", help: "replace the model with a dumped one, in one transaction", min: 1, max: 1, write: load},
}

func (c *call) keyFlag(max uint32) (uint32, bool, error) {
	v, ok := c.verbFlags["tunnel-key"]
	if !ok {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n < 1 || n > uint64(max) {
		return 0, false, &topology.Error{What: "--tunnel-key " + topology.Quote(v), Why: fmt.Sprintf("must be a number in 1..%d", max)}
	}
	return uint32(n), true, nil
}

func lsAdd(c *call, m *topology.Model) error {
	name := c.args[0]
	if err := topology.CheckName("switch", name); err != nil {
		return err
	}
	if m.Switch(name) != nil {
		return &topology.Error{What: fmt.Sprintf("switch %s", topology.Quote(name)), Why: "already exists"}
	}
	key, given, err := c.keyFlag(topology.MaxSwitchKey)
	if err != nil {
		return err
	}
	if !given {
		if key, err = m.FreeSwitchKey(); err != nil {
			return err
		}
	}
	m.Switches = append(m.Switches, topology.Switch{Name: name, Key: key})
	return nil
}

func lsDel(c *call, m *topology.Model) error {
	name := c.args[0]
	if m.Switch(name) == nil {
		return notFound("switch", name)
	}
	if ports := m.PortsOf(name); len(ports) > 0 {
		return &topology.Error{What: fmt.Sprintf("switch %s", topology.Quote(name)), Why: fmt.Sprintf("port %s still uses it", topology.Quote(ports[0].Name))}
	}
	for _, ch := range m.PortChains {
		if ch.Switch == name {
			return &topology.Error{What: fmt.Sprintf("switch %s", topology.Quote(name)), Why: fmt.Sprintf("chain %s still uses it", topology.Quote(ch.Name))}
		}
	}
	for i := range m.Switches {
		if m.Switches[i].Name == name {
			m.Switches = append(m.Switches[:i], m.Switches[i+1:]...)
			break
		}
	}
	return nil
}

func lspAdd(c *call, m *topology.Model) error {
	sw, name := c.args[0], c.args[1]
	if m.Switch(sw) == nil {
		return notFound("switch", sw)
	}
	if err := topology.CheckName("port", name); err != nil {
		return err
	}
	if p := m.Port(name); p != nil {
		return &topology.Error{What: fmt.Sprintf("port %s", topology.Quote(name)), Why: fmt.Sprintf("already exists on switch %s", topology.Quote(p.Switch))}
	}
	key, given, err := c.keyFlag(topology.MaxPortKey)
	if err != nil {
		return err
	}
	if !given {
		if key, err = m.FreePortKey(sw); err != nil {
			return err
		}
	}
	m.Ports = append(m.Ports, topology.Port{Name: name, Switch: sw, Key: key})
	return nil
}

func lspDel(c *call, m *topology.Model) error {
	name := c.args[0]
	if pp := m.PairOfPort(name); pp != nil {
		return &topology.Error{What: fmt.Sprintf("port %s", topology.Quote(name)), Why: fmt.Sprintf("port pair %s uses it", topology.Quote(pp.Name))}
	}
	if cl := classifierOfPort(m, name); cl != nil {
		return &topology.Error{What: fmt.Sprintf("port %s", topology.Quote(name)), Why: fmt.Sprintf("classifier %s uses it", topology.Quote(cl.Name))}
	}
	for i := range m.Ports {
		if m.Ports[i].Name == name {
			m.Ports = append(m.Ports[:i], m.Ports[i+1:]...)
			return nil
		}
	}
	return notFound("port", name)
}

func (c *call) port(m *topology.Model) (*topology.Port, error) {
	p := m.Port(c.args[0])
	if p == nil {
		return nil, notFound("port", c.args[0])
	}
	return p, nil
}

func lspSetAddresses(c *call, m *topology.Model) error {
	p, err := c.port(m)
	if err != nil {
		return err
	}
	p.Addresses = append([]string(nil), c.args[1:]...)
	return nil
}

func lspSetPortSecurity(c *call, m *topology.Model) error {
	p, err := c.port(m)
	if err != nil {
		return err
	}
	p.PortSecurity = append([]string(nil), c.args[1:]...)
	return nil
}

func lspSetOptions(c *call, m *topology.Model) error {
	p, err := c.port(m)
	if err != nil {
		return err
	}
	p.Options, err = keyValues(c.args[1:])
	return err
}

// keyValues reads the KEY=VALUE arguments of the *-set-options verbs,
// which replace an object's options whole, as ovn-nbctl's lsp-set-options
// does (a key given twice: the last value; none: no options).
func keyValues(args []string) (map[string]string, error) {
	opts := map[string]string{}
	for _, kv := range args {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, &topology.Error{What: fmt.Sprintf("option %s", topology.Quote(kv)), Why: "want KEY=VALUE"}
		}
		opts[k] = v
	}
	if len(opts) == 0 {
		return nil, nil
	}
	return opts, nil
}

func lspSetEnabled(c *call, m *topology.Model) error {
	p, err := c.port(m)
	if err != nil {
		return err
	}
	switch c.args[1] {
	case "enabled":
		p.Enabled = nil
	case "disabled":
		f := false
		p.Enabled = &f
	default:
		return &topology.Error{What: fmt.Sprintf("state %s", topology.Quote(c.args[1])), Why: "want enabled or disabled"}
	}
	return nil
}

func chassisAdd(c *call, m *topology.Model) error {
	name, encap, ip := c.args[0], c.args[1], c.args[2]
	if err := topology.CheckName("chassis", name); err != nil {
		return err
	}
	if m.ChassisByName(name) != nil {
		return &topology.Error{What: fmt.Sprintf("chassis %s", topology.Quote(name)), Why: "already exists"}
	}
	m.Chassis = append(m.Chassis, topology.Chassis{Name: name, Encap: encap, IP: ip})
	return nil
}

func chassisDel(c *call, m *topology.Model) error {
	name := c.args[0]
	if m.ChassisByName(name) == nil {
		return notFound("chassis", name)
	}
	for _, p := range m.Ports {
		if p.RequestedChassis() == name {
			return &topology.Error{What: fmt.Sprintf("chassis %s", topology.Quote(name)), Why: fmt.Sprintf("port %s requests it", topology.Quote(p.Name))}
		}
	}
	for i := range m.Chassis {
		if m.Chassis[i].Name == name {
			m.Chassis = append(m.Chassis[:i], m.Chassis[i+1:]...)
			break
		}
	}
	return nil
}
