package topology

import (
	"fmt"
	"net"
	"strings"

	"github.com/chainwire/chainwire/topology/expr"
)

// Error is a validation error: what is wrong, and why.
type Error struct {
	What string
	Why  string
}

func (e *Error) Error() string { return e.What + ": " + e.Why }

func errf(what, format string, args ...any) *Error {
	return &Error{What: what, Why: fmt.Sprintf(format, args...)}
}

// Quote is how errors echo a value the user gave: quoted, and cut to 64
// bytes with its length told ("aaaa…" (50000000 bytes)).
func Quote(s string) string { return expr.Quote(s) }

// CheckName enforces the naming rule shared by every object kind: 1 to 63
// of [A-Za-z0-9_.:-], and not "." or "..", so that a name is safe as a
// file name (status/<chassis>.json) and in a log line.
func CheckName(kind, name string) error {
	what := kind + " " + Quote(name)
	if name == "." || name == ".." {
		return errf(what, `a name cannot be "." or ".."`)
	}
	if len(name) == 0 || len(name) > 63 || strings.IndexFunc(name, func(r rune) bool { return !nameChar(r) }) >= 0 {
		return errf(what, "a name may hold only letters, digits and _ . : - (1 to 63 of them)")
	}
	return nil
}

func nameChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_.:-", r)
}

// Address is one parsed entry of a port's addresses.
type Address struct {
	Unknown bool
	MAC     net.HardwareAddr
	IPs     []net.IP
}

// ParseAddress parses "MAC [IP...]" or "unknown".
func ParseAddress(s string) (Address, error) {
	f := strings.Fields(s)
	if len(f) == 1 && f[0] == "unknown" {
		return Address{Unknown: true}, nil
	}
	if len(f) == 0 {
		return Address{}, fmt.Errorf("empty address")
	}
	mac, err := ParseUnicastMAC(f[0])
	if err != nil {
		return Address{}, err
	}
	a := Address{MAC: mac}
	for _, ipText := range f[1:] {
		ip := net.ParseIP(ipText)
		if ip == nil {
			return Address{}, fmt.Errorf("%s is not an IP address", Quote(ipText))
		}
		a.IPs = append(a.IPs, ip)
	}
	return a, nil
}

// ParseUnicastMAC parses an Ethernet address that may belong to a port.
func ParseUnicastMAC(s string) (net.HardwareAddr, error) {
	mac, err := net.ParseMAC(s)
	if err != nil || len(mac) != 6 {
		return nil, fmt.Errorf("%s is not an Ethernet address (want xx:xx:xx:xx:xx:xx)", Quote(s))
	}
	if mac[0]&1 != 0 {
		return nil, fmt.Errorf("%s is a multicast or broadcast address", s)
	}
	return mac, nil
}

// Security is one parsed entry of a port's port_security.
type Security struct {
	MAC  net.HardwareAddr
	Nets []*net.IPNet
}

// ParseSecurity parses "MAC [IP[/plen]...]".
func ParseSecurity(s string) (Security, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return Security{}, fmt.Errorf("empty port security entry")
	}
	mac, err := ParseUnicastMAC(f[0])
	if err != nil {
		return Security{}, err
	}
	sec := Security{MAC: mac}
	for _, t := range f[1:] {
		if !strings.Contains(t, "/") {
			ip := net.ParseIP(t)
			if ip == nil {
				return Security{}, fmt.Errorf("%s is not an IP address or prefix", Quote(t))
			}
			bits := 128
			if ip.To4() != nil {
				ip, bits = ip.To4(), 32
			}
			sec.Nets = append(sec.Nets, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(t)
		if err != nil {
			return Security{}, fmt.Errorf("%s is not an IP address or prefix", Quote(t))
		}
		sec.Nets = append(sec.Nets, n)
	}
	return sec, nil
}

// index finds objects by name in one step; Validate builds one so that
// checking a model of tens of thousands of objects stays linear.
type index struct {
	switches   map[string]*Switch
	ports      map[string]*Port
	chassis    map[string]*Chassis
	pairs      map[string]*PortPair
	groups     map[string]*PortPairGroup
	chains     map[string]*PortChain
	pairOfPort map[string]*PortPair
}

func (m *Model) index() *index {
	ix := &index{switches: map[string]*Switch{}, ports: map[string]*Port{}, chassis: map[string]*Chassis{},
		pairs: map[string]*PortPair{}, groups: map[string]*PortPairGroup{}, chains: map[string]*PortChain{},
		pairOfPort: map[string]*PortPair{}}
	for i := range m.Switches {
		ix.switches[m.Switches[i].Name] = &m.Switches[i]
	}
	for i := range m.Ports {
		ix.ports[m.Ports[i].Name] = &m.Ports[i]
	}
	for i := range m.Chassis {
		ix.chassis[m.Chassis[i].Name] = &m.Chassis[i]
	}
	for i := range m.PortPairs {
		pp := &m.PortPairs[i]
		ix.pairs[pp.Name] = pp
		for _, port := range []string{pp.InPort, pp.OutPort} {
			if ix.pairOfPort[port] == nil {
				ix.pairOfPort[port] = pp
			}
		}
	}
	for i := range m.PortPairGroups {
		ix.groups[m.PortPairGroups[i].Name] = &m.PortPairGroups[i]
	}
	for i := range m.PortChains {
		ix.chains[m.PortChains[i].Name] = &m.PortChains[i]
	}
	return ix
}

// Validate checks the whole model; the first violation is returned.
func (m *Model) Validate() error { return m.validate(nil) }

// validate checks the model; the costly checks of classifiers (compiling
// the match, overlaps with the classifiers of the same port and priority)
// run only for those changed says changed (all if changed is nil): the
// others passed them when they were stored.
func (m *Model) validate(changed map[string]bool) error {
	ix := m.index()
	seen := map[string]bool{}
	dup := func(kind, name string) bool {
		k := kind + "\x00" + name
		d := seen[k]
		seen[k] = true
		return d
	}
	chassisIP := map[string]string{}
	for i := range m.Chassis {
		c := &m.Chassis[i]
		if err := CheckName("chassis", c.Name); err != nil {
			return err
		}
		what := fmt.Sprintf("chassis %s", Quote(c.Name))
		if dup("chassis", c.Name) {
			return errf(what, "already exists")
		}
		if c.Encap != "geneve" {
			return errf(what, "encapsulation %s is not supported (only geneve)", Quote(c.Encap))
		}
		ip := net.ParseIP(c.IP)
		if ip == nil || ip.To4() == nil {
			return errf(what, "encap IP %s is not an IPv4 address", Quote(c.IP))
		}
		if other, dup := chassisIP[ip.String()]; dup {
			return errf(what, "encap IP %s is already used by chassis %s", c.IP, Quote(other))
		}
		chassisIP[ip.String()] = c.Name
	}

	switchKeys := map[uint32]string{}
	for i := range m.Switches {
		s := &m.Switches[i]
		if err := CheckName("switch", s.Name); err != nil {
			return err
		}
		what := fmt.Sprintf("switch %s", Quote(s.Name))
		if dup("switch", s.Name) {
			return errf(what, "already exists")
		}
		if s.Key < 1 || s.Key > MaxSwitchKey {
			return errf(what, "tunnel key %d is out of range 1..%d", s.Key, MaxSwitchKey)
		}
		if other, dup := switchKeys[s.Key]; dup {
			return errf(what, "tunnel key %d is already used by switch %s", s.Key, Quote(other))
		}
		switchKeys[s.Key] = s.Name
	}

	type swScoped struct{ sw, id string }
	portKeys := map[swScoped]string{}
	owners := map[swScoped]string{} // MAC or IP within a switch -> port
	for i := range m.Ports {
		p := &m.Ports[i]
		if err := CheckName("port", p.Name); err != nil {
			return err
		}
		what := fmt.Sprintf("port %s", Quote(p.Name))
		if dup("port", p.Name) {
			return errf(what, "already exists")
		}
		if ix.switches[p.Switch] == nil {
			return errf(what, "switch %s does not exist", Quote(p.Switch))
		}
		if p.Key < 1 || p.Key > MaxPortKey {
			return errf(what, "tunnel key %d is out of range 1..%d", p.Key, MaxPortKey)
		}
		k := swScoped{p.Switch, fmt.Sprint(p.Key)}
		if other, dup := portKeys[k]; dup {
			return errf(what, "tunnel key %d is already used by port %s on switch %s", p.Key, Quote(other), Quote(p.Switch))
		}
		portKeys[k] = p.Name
		claim := func(id string) error {
			k := swScoped{p.Switch, id}
			if other, dup := owners[k]; dup && other != p.Name {
				return errf(what, "address %s already belongs to port %s on switch %s", id, Quote(other), Quote(p.Switch))
			}
			owners[k] = p.Name
			return nil
		}
		for _, a := range p.Addresses {
			addr, err := ParseAddress(a)
			if err != nil {
				return errf(what, "address %s: %v", Quote(a), err)
			}
			if addr.Unknown {
				continue
			}
			if err := claim(addr.MAC.String()); err != nil {
				return err
			}
			for _, ip := range addr.IPs {
				if err := claim(ip.String()); err != nil {
					return err
				}
			}
		}
		for _, s := range p.PortSecurity {
			if _, err := ParseSecurity(s); err != nil {
				return errf(what, "port security %s: %v", Quote(s), err)
			}
		}
		for k := range p.Options {
			if k != "requested-chassis" {
				return errf(what, "option %s is not supported (known: requested-chassis)", Quote(k))
			}
		}
		if rc := p.RequestedChassis(); rc != "" && ix.chassis[rc] == nil {
			return errf(what, "requested-chassis %s does not exist", Quote(rc))
		}
	}
	return m.validateChains(ix, dup, changed)
}

// FreeSwitchKey returns the smallest unused switch key.
func (m *Model) FreeSwitchKey() (uint32, error) {
	used := map[uint32]bool{}
	for _, s := range m.Switches {
		used[s.Key] = true
	}
	for k := uint32(1); k <= MaxSwitchKey; k++ {
		if !used[k] {
			return k, nil
		}
	}
	return 0, fmt.Errorf("every switch tunnel key is in use")
}

// FreePortKey returns the smallest unused port key on a switch.
func (m *Model) FreePortKey(sw string) (uint32, error) {
	used := map[uint32]bool{}
	for _, p := range m.PortsOf(sw) {
		used[p.Key] = true
	}
	for k := uint32(1); k <= MaxPortKey; k++ {
		if !used[k] {
			return k, nil
		}
	}
	return 0, fmt.Errorf("every port tunnel key of switch %s is in use", Quote(sw))
}
