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

// fail is the error of an object that breaks a rule.
func fail(k Kind, name, format string, args ...any) error {
	return errf(k.String()+" "+Quote(name), format, args...)
}

// Quote is how errors echo a value the user gave: quoted, and cut to 64
// bytes with its length told ("aaaa…" (50000000 bytes)).
func Quote(s string) string { return expr.Quote(s) }

// CheckName enforces the naming rule shared by every object kind: 1 to 63
// of [A-Za-z0-9_.:-], and not "." or "..", so that a name is safe as a
// file name (status/<chassis>.json) and in a log line.
func CheckName(kind, name string) error {
	if name == "." || name == ".." {
		return errf(kind+" "+Quote(name), `a name cannot be "." or ".."`)
	}
	if len(name) == 0 || len(name) > 63 || strings.IndexFunc(name, func(r rune) bool { return !nameChar(r) }) >= 0 {
		return errf(kind+" "+Quote(name), "a name may hold only letters, digits and _ . : - (1 to 63 of them)")
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
		ip, n, err := net.ParseCIDR(t)
		if err != nil {
			return Security{}, fmt.Errorf("%s is not an IP address or prefix", Quote(t))
		}
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		// Kept as given: an address with a host part means that address
		// (and its subnet's broadcast), as in OVN.
		sec.Nets = append(sec.Nets, &net.IPNet{IP: ip, Mask: n.Mask})
	}
	return sec, nil
}

// Validate checks the whole model; the first violation is returned.
func (m *Model) Validate() error { return m.validate(nil) }

// validate checks the model; the costly checks (compiling a classifier's
// match, pairing it for overlaps) run only for the objects in changed
// (all if changed is nil): the others passed them when they were stored.
func (m *Model) validate(changed *Changes) error {
	_, err := newIndex(m, changed, false)
	return err
}

func checkChassis(v *validation, c *Chassis) error {
	if c.Encap != "geneve" {
		return fail(KindChassis, c.Name, "encapsulation %s is not supported (only geneve)", Quote(c.Encap))
	}
	ip := net.ParseIP(c.IP).To4()
	if ip == nil {
		return fail(KindChassis, c.Name, "encap IP %s is not an IPv4 address", Quote(c.IP))
	}
	if other, taken := v.takenBy(chassisIPClaim(ip), c.Name); taken {
		return fail(KindChassis, c.Name, "encap IP %s is already used by chassis %s", c.IP, Quote(other))
	}
	return nil
}

func checkSwitch(v *validation, s *Switch) error {
	if s.Key < 1 || s.Key > MaxSwitchKey {
		return fail(KindSwitch, s.Name, "tunnel key %d is out of range 1..%d", s.Key, MaxSwitchKey)
	}
	if other, taken := v.takenBy(switchKeyClaim(s.Key), s.Name); taken {
		return fail(KindSwitch, s.Name, "tunnel key %d is already used by switch %s", s.Key, Quote(other))
	}
	if r, taken := v.firstHolder(routerKeyClaim(s.Key)); taken {
		return fail(KindSwitch, s.Name, "tunnel key %d is already used by router %s", s.Key, Quote(r))
	}
	return nil
}

func checkPort(v *validation, p *Port) error {
	if v.switches[p.Switch] == nil {
		return fail(KindPort, p.Name, "switch %s does not exist", Quote(p.Switch))
	}
	if p.Key < 1 || p.Key > MaxPortKey {
		return fail(KindPort, p.Name, "tunnel key %d is out of range 1..%d", p.Key, MaxPortKey)
	}
	if other, taken := v.takenBy(portKeyClaim(p.Switch, p.Key), p.Name); taken {
		return fail(KindPort, p.Name, "tunnel key %d is already used by port %s on switch %s", p.Key, Quote(other), Quote(p.Switch))
	}
	if err := checkAddresses(v, p); err != nil {
		return err
	}
	for _, s := range p.PortSecurity {
		if _, err := ParseSecurity(s); err != nil {
			return fail(KindPort, p.Name, "port security %s: %v", Quote(s), err)
		}
	}
	if err := checkPortType(v, p); err != nil {
		return err
	}
	if k, ok := unsupportedOption(p); ok {
		if p.Type == PortTypeRouter {
			return fail(KindPort, p.Name, "option %s is not supported on a port of type router (known: router-port)", Quote(k))
		}
		return fail(KindPort, p.Name, "option %s is not supported (known: requested-chassis)", Quote(k))
	}
	if rc := p.RequestedChassis(); rc != "" && v.chassis[rc] == nil {
		return fail(KindPort, p.Name, "requested-chassis %s does not exist", Quote(rc))
	}
	return nil
}

// checkAddresses parses a port's addresses and refuses a MAC or IP that
// another port of the switch has.
func checkAddresses(v *validation, p *Port) error {
	if p.Type == PortTypeRouter {
		return checkRouterAddresses(v, p)
	}
	for _, a := range p.Addresses {
		addr, err := ParseAddress(a)
		if err != nil {
			return fail(KindPort, p.Name, "address %s: %v", Quote(a), err)
		}
		if addr.Unknown {
			continue
		}
		if other, taken := v.takenBy(macClaim(p.Switch, addr.MAC), p.Name); taken {
			return addressTaken(p, addr.MAC.String(), other)
		}
		if peer, lrp, ok := v.routerAddressOwner(routerMACClaim(addr.MAC), p.Switch, p.Name); ok {
			return v.routerAddressClash(p, addr.MAC.String(), peer, lrp)
		}
		for _, ip := range addr.IPs {
			if other, taken := v.takenBy(ipClaim(p.Switch, ip), p.Name); taken {
				return addressTaken(p, ip.String(), other)
			}
			if peer, lrp, ok := v.routerAddressOwner(routerIPClaim(ip), p.Switch, p.Name); ok {
				return v.routerAddressClash(p, ip.String(), peer, lrp)
			}
		}
	}
	return nil
}

func addressTaken(p *Port, id, other string) error {
	return fail(KindPort, p.Name, "address %s already belongs to port %s on switch %s", id, Quote(other), Quote(p.Switch))
}

// unsupportedOption is the first option (by name) a port may not have:
// a VIF may have requested-chassis, a router-type port router-port.
func unsupportedOption(p *Port) (string, bool) {
	opts := p.Options
	known := "requested-chassis"
	if p.Type == PortTypeRouter {
		known = OptRouterPort
	}
	if _, ok := opts[known]; len(opts) == 0 || len(opts) == 1 && ok {
		return "", false // the usual case, without going through the map
	}
	var bad string
	found := false
	for k := range opts {
		if k != known && (!found || k < bad) {
			bad, found = k, true
		}
	}
	return bad, found
}

// FreeSwitchKey returns the smallest datapath key that no switch and no
// router uses: switches and routers share one key space.
func (m *Model) FreeSwitchKey() (uint32, error) { return m.freeDatapathKey() }

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
