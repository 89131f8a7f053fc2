package topology_test

import (
	"net"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/chainwire/chainwire/topology"
)

// routerModel: two switches joined by router lr0 (ports lrp0, lrp1 with
// IPv4 and IPv6 networks), a VM on each switch, a static route.
func routerModel() *topology.Model {
	m := &topology.Model{
		Switches: []topology.Switch{{Name: "sw0", Key: 1}, {Name: "sw1", Key: 2}},
		Ports: []topology.Port{
			{Name: "vm0", Switch: "sw0", Key: 1, Addresses: []string{"02:00:00:00:00:01 10.0.0.10"}},
			{Name: "vm1", Switch: "sw1", Key: 1, Addresses: []string{"02:00:00:00:01:01 10.0.1.10 fd00:1::10"}},
			{Name: "sw0-lr0", Switch: "sw0", Key: 2, Type: topology.PortTypeRouter, Addresses: []string{"router"},
				Options: map[string]string{"router-port": "lrp0"}},
			{Name: "sw1-lr0", Switch: "sw1", Key: 2, Type: topology.PortTypeRouter,
				Options: map[string]string{"router-port": "lrp1"}},
		},
		Routers: []topology.Router{{Name: "lr0", Key: 3, Routes: []topology.StaticRoute{
			{Prefix: "10.0.9.0/24", NextHop: "10.0.1.254"},
			{Prefix: "10.0.3.0/24", NextHop: "10.0.1.5", Port: "lrp1"},
		}}},
		RouterPorts: []topology.RouterPort{
			{Name: "lrp1", Router: "lr0", Key: 2, MAC: "02:00:00:00:ff:01", Networks: []string{"fd00:1::1/64", "10.0.1.1/24"}},
			{Name: "lrp0", Router: "lr0", Key: 1, MAC: "02:00:00:00:ff:00", Networks: []string{"10.0.0.1/24"}},
		},
	}
	m.Normalize()
	return m
}

func TestRoutersIndexed(t *testing.T) {
	m := routerModel()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := m.Router("lr0").Routes; got[0].Prefix != "10.0.3.0/24" {
		t.Errorf("Normalize: routes %v, want them sorted by prefix", got)
	}
	if got := m.RouterPort("lrp1").Networks; !slices.Equal(got, []string{"10.0.1.1/24", "fd00:1::1/64"}) {
		t.Errorf("Normalize: networks %v", got)
	}
	ix := mustIndex(t, m)
	if got := ix.RouterPortsOf("lr0"); len(got) != 2 || got[0].Name != "lrp0" || got[1].Name != "lrp1" {
		t.Errorf("RouterPortsOf(lr0) = %v", got)
	}
	if p := ix.PeerOf("lrp1"); p == nil || p.Name != "sw1-lr0" || p.RouterPort() != "lrp1" {
		t.Errorf("PeerOf(lrp1) = %v", p)
	}
	if p := ix.PeerOf("nope"); p != nil {
		t.Errorf("PeerOf(nope) = %v", p)
	}
	if got := ix.RoutersOf("sw0"); !slices.Equal(got, []string{"lr0"}) {
		t.Errorf("RoutersOf(sw0) = %v", got)
	}
	if ix.Router("lr0") == nil || ix.RouterPort("lrp0") == nil || ix.Router("nope") != nil {
		t.Error("lookups")
	}
	if p := ix.Port("vm0"); p.RouterPort() != "" {
		t.Errorf("a VIF's RouterPort() = %q", p.RouterPort())
	}
	nets, err := ix.RouterPort("lrp1").ParsedNetworks()
	if err != nil || len(nets) != 2 || nets[0].IP.String() != "10.0.1.1" || nets[0].Net.String() != "10.0.1.0/24" ||
		nets[1].Net.String() != "fd00:1::/64" {
		t.Errorf("ParsedNetworks = %v, %v", nets, err)
	}
	if mac, err := ix.RouterPort("lrp0").HardwareAddr(); err != nil || mac.String() != "02:00:00:00:ff:00" {
		t.Errorf("HardwareAddr = %v, %v", mac, err)
	}
	prefix, nh, err := m.Router("lr0").Routes[0].Parsed()
	if err != nil || prefix.String() != "10.0.3.0/24" || nh.String() != "10.0.1.5" {
		t.Errorf("Parsed = %v %v %v", prefix, nh, err)
	}
	if k, err := m.FreeSwitchKey(); k != 4 || err != nil {
		t.Errorf("FreeSwitchKey = %d, %v (routers' keys are taken)", k, err)
	}
	if k, err := m.FreeRouterKey(); k != 4 || err != nil {
		t.Errorf("FreeRouterKey = %d, %v", k, err)
	}
	if k, err := m.FreeRouterPortKey("lr0"); k != 3 || err != nil {
		t.Errorf("FreeRouterPortKey = %d, %v", k, err)
	}
	if got := ix.Model(); !reflect.DeepEqual(got, m) {
		t.Errorf("Model() = %+v, want %+v", got, m)
	}
}

// The file store keeps routers, router ports and port types.
func TestRoutersFileRoundTrip(t *testing.T) {
	s := topology.NewFileStore(filepath.Join(t.TempDir(), "nb.json"))
	want := routerModel()
	if _, err := s.Update(func(m *topology.Model) error {
		gen := m.Generation
		*m = *routerModel()
		m.Generation = gen
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	want.Generation = got.Generation
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

// Each router rule, broken by one change of the valid router model, is
// refused with its error.
func TestRouterRules(t *testing.T) {
	router := func(m *topology.Model) *topology.Router { return &m.Routers[0] }
	lrp := func(m *topology.Model, name string) *topology.RouterPort { return m.RouterPort(name) }
	port := func(m *topology.Model, name string) *topology.Port { return m.Port(name) }
	// Apply's errors where they differ from Validate's: Apply checks the
	// changed objects and their neighbours, Validate the model in order.
	wantApply := map[string]string{
		"a gateway with a VM's IP":  `port "sw1-lr0": address 10.0.1.10 (of router port "lrp1") already belongs to port "vm1" on switch "sw1"`,
		"a gateway with a VM's MAC": `port "sw0-lr0": address 02:00:00:00:00:01 (of router port "lrp0") already belongs to port "vm0" on switch "sw0"`,
	}
	for _, c := range []struct {
		name   string
		break_ func(m *topology.Model)
		want   string
	}{
		{"bad router name", func(m *topology.Model) {
			router(m).Name = "a b"
			lrp(m, "lrp0").Router = "a b"
			lrp(m, "lrp1").Router = "a b"
		},
			`router "a b": `},
		{"router key 0", func(m *topology.Model) { router(m).Key = 0 }, `router "lr0": tunnel key 0 is out of range 1..16777215`},
		{"router key of a switch", func(m *topology.Model) { router(m).Key = 2 }, `router "lr0": tunnel key 2 is already used by switch "sw1"`},
		{"switch key of a router", func(m *topology.Model) {
			m.Switches = append(m.Switches, topology.Switch{Name: "sw9", Key: 3})
		}, `router "lr0": tunnel key 3 is already used by switch "sw9"`},
		{"two routers, one key", func(m *topology.Model) {
			m.Routers = append(m.Routers, topology.Router{Name: "lr9", Key: 3})
		}, `router "lr9": tunnel key 3 is already used by router "lr0"`},
		{"router port of no router", func(m *topology.Model) { lrp(m, "lrp1").Router = "nope" }, `router port "lrp1": router "nope" does not exist`},
		{"router port key 0", func(m *topology.Model) { lrp(m, "lrp1").Key = 0 }, `router port "lrp1": tunnel key 0 is out of range 1..32767`},
		{"router port key taken", func(m *topology.Model) { lrp(m, "lrp1").Key = 1 },
			`router port "lrp1": tunnel key 1 is already used by router port "lrp0" on router "lr0"`},
		{"multicast MAC", func(m *topology.Model) { lrp(m, "lrp1").MAC = "01:00:5e:00:00:01" }, `router port "lrp1": MAC "01:00:5e:00:00:01": `},
		{"bad MAC", func(m *topology.Model) { lrp(m, "lrp1").MAC = "zz" }, `router port "lrp1": MAC "zz": `},
		{"no networks", func(m *topology.Model) { lrp(m, "lrp1").Networks = nil }, `router port "lrp1": has no networks`},
		{"network without a length", func(m *topology.Model) { lrp(m, "lrp1").Networks = []string{"10.0.1.1"} },
			`router port "lrp1": network "10.0.1.1": not an IP address with a prefix length`},
		{"network address", func(m *topology.Model) { lrp(m, "lrp1").Networks = []string{"10.0.1.0/24"} },
			`router port "lrp1": network "10.0.1.0/24": 10.0.1.0 is the network's own address, not a host address`},
		{"broadcast address", func(m *topology.Model) { lrp(m, "lrp1").Networks = []string{"10.0.1.255/24"} },
			`router port "lrp1": network "10.0.1.255/24": 10.0.1.255 is the network's broadcast address`},
		{"networks of a port overlap", func(m *topology.Model) { lrp(m, "lrp1").Networks = []string{"10.0.1.1/24", "10.0.1.129/25"} },
			`router port "lrp1": networks 10.0.1.1/24 and 10.0.1.129/25 overlap`},
		{"a network twice", func(m *topology.Model) { lrp(m, "lrp1").Networks = []string{"10.0.1.1/24", "10.0.1.1/24"} },
			`router port "lrp1": network 10.0.1.1/24 is given twice`},
		{"networks of a router overlap", func(m *topology.Model) { lrp(m, "lrp1").Networks = []string{"10.0.0.129/25"} },
			`router port "lrp1": network 10.0.0.129/25 overlaps network 10.0.0.1/24 of router port "lrp0" (the networks of router "lr0" may not overlap)`},
		{"router port on two switches", func(m *topology.Model) { port(m, "sw1-lr0").Options["router-port"] = "lrp0" },
			`port "sw1-lr0": router port "lrp0" is already joined to switch "sw0" by port "sw0-lr0"`},
		{"router-type port without router-port", func(m *topology.Model) { delete(port(m, "sw1-lr0").Options, "router-port") },
			`port "sw1-lr0": a port of type router needs option router-port`},
		{"router-type port of no router port", func(m *topology.Model) { port(m, "sw1-lr0").Options["router-port"] = "nope" },
			`port "sw1-lr0": router port "nope" does not exist`},
		{"router-type port with a MAC", func(m *topology.Model) { port(m, "sw1-lr0").Addresses = []string{"02:00:00:00:ff:01"} },
			`port "sw1-lr0": a port of type router has addresses "router" or none, not "02:00:00:00:ff:01"`},
		{"router-type port with port security", func(m *topology.Model) { port(m, "sw1-lr0").PortSecurity = []string{"02:00:00:00:ff:01"} },
			`port "sw1-lr0": a port of type router has no port security`},
		{"router-type port with requested-chassis", func(m *topology.Model) { port(m, "sw1-lr0").Options["requested-chassis"] = "hv1" },
			`port "sw1-lr0": option "requested-chassis" is not supported on a port of type router (known: router-port)`},
		{"router-port on a VIF", func(m *topology.Model) { port(m, "vm0").Options = map[string]string{"router-port": "lrp0"} },
			`port "vm0": option "router-port" is not supported (known: requested-chassis)`},
		{"unknown type", func(m *topology.Model) { port(m, "vm0").Type = "patch" }, `port "vm0": type "patch" is not supported`},
		{"router-type port with DHCP", func(m *topology.Model) {
			m.DHCPOptions = []topology.DHCPOptions{{Name: "d", CIDR: "10.0.1.0/24", Options: map[string]string{"server_id": "10.0.1.1", "server_mac": "02:00:00:00:ff:01", "lease_time": "60"}}}
			port(m, "sw1-lr0").DHCPv4Options = "d"
		}, `port "sw1-lr0": a port of type router has no DHCP options`},
		{"router-type port as a VNF port", func(m *topology.Model) {
			m.PortPairs = []topology.PortPair{{Name: "pp", Switch: "sw1", InPort: "vm1", OutPort: "sw1-lr0", Weight: 1}}
		}, `port pair "pp": out port "sw1-lr0" is of type router: a router's port cannot be a VNF port`},
		{"a VM with the gateway's IP", func(m *topology.Model) { port(m, "vm1").Addresses = []string{"02:00:00:00:01:01 10.0.1.1"} },
			`port "vm1": address 10.0.1.1 already belongs to port "sw1-lr0" on switch "sw1"`},
		{"a VM with the gateway's MAC", func(m *topology.Model) { port(m, "vm1").Addresses = []string{"02:00:00:00:ff:01 10.0.1.10"} },
			`port "vm1": address 02:00:00:00:ff:01 already belongs to port "sw1-lr0" on switch "sw1"`},
		{"a gateway with a VM's IP", func(m *topology.Model) { lrp(m, "lrp1").Networks = []string{"10.0.1.10/24"} },
			`port "vm1": address 10.0.1.10 already belongs to port "sw1-lr0" on switch "sw1"`}, // sw1-lr0 is checked first
		{"a gateway with a VM's MAC", func(m *topology.Model) { lrp(m, "lrp0").MAC = "02:00:00:00:00:01" },
			`port "vm0": address 02:00:00:00:00:01 already belongs to port "sw0-lr0" on switch "sw0"`},
		{"two gateways with one MAC on a switch", func(m *topology.Model) {
			m.Routers = append(m.Routers, topology.Router{Name: "lr1", Key: 4})
			m.RouterPorts = append(m.RouterPorts, topology.RouterPort{Name: "lrp9", Router: "lr1", Key: 1, MAC: "02:00:00:00:ff:00", Networks: []string{"10.0.0.2/24"}})
			m.Ports = append(m.Ports, topology.Port{Name: "sw0-lr1", Switch: "sw0", Key: 3, Type: "router", Options: map[string]string{"router-port": "lrp9"}})
		}, `port "sw0-lr1": address 02:00:00:00:ff:00 (of router port "lrp9") already belongs to port "sw0-lr0" on switch "sw0"`},
		{"route prefix", func(m *topology.Model) { router(m).Routes[0].Prefix = "10.0.3" }, `router "lr0": static route "10.0.3": prefix "10.0.3" is not an IP prefix`},
		{"route prefix not canonical", func(m *topology.Model) { router(m).Routes[0].Prefix = "10.0.3.1/24" },
			`router "lr0": static route "10.0.3.1/24": the prefix is not in canonical form (give 10.0.3.0/24)`},
		{"route nexthop family", func(m *topology.Model) { router(m).Routes[0].NextHop = "fd00:1::5" },
			`router "lr0": static route "10.0.3.0/24": nexthop fd00:1::5 is IPv6, the prefix 10.0.3.0/24 IPv4`},
		{"route nexthop", func(m *topology.Model) { router(m).Routes[0].NextHop = "x" }, `router "lr0": static route "10.0.3.0/24": nexthop "x" is not an IP address`},
		{"two routes, one prefix", func(m *topology.Model) { router(m).Routes[1].Prefix = "10.0.3.0/24" },
			`router "lr0": has two static routes for prefix 10.0.3.0/24`},
		{"route through a port of no router", func(m *topology.Model) { router(m).Routes[0].Port = "nope" },
			`router "lr0": router port "nope" does not exist`},
		{"route through another router's port", func(m *topology.Model) {
			m.Routers = append(m.Routers, topology.Router{Name: "lr1", Key: 4})
			m.RouterPorts = append(m.RouterPorts, topology.RouterPort{Name: "lrp9", Router: "lr1", Key: 1, MAC: "02:00:00:00:ff:09", Networks: []string{"10.0.1.1/24"}})
			router(m).Routes[0].Port = "lrp9"
		}, `router "lr0": static route 10.0.3.0/24: output port "lrp9" is a port of router "lr1"`},
		{"nexthop on another port", func(m *topology.Model) { router(m).Routes[0].Port = "lrp0" },
			`router "lr0": static route 10.0.3.0/24: nexthop 10.0.1.5 is on no network of router port "lrp0"`},
		{"nexthop on no network", func(m *topology.Model) { router(m).Routes[1].NextHop = "10.0.7.1" },
			`router "lr0": static route 10.0.9.0/24: nexthop 10.0.7.1 is on no network of router "lr0"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := routerModel()
			base, err := topology.Copy(m)
			if err != nil {
				t.Fatal(err)
			}
			c.break_(m)
			err = m.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Fatalf("Validate: %v\nwant %s...", err, c.want)
			}
			// The same change applied to an index of the valid model is
			// refused too, and leaves it as it was.
			ix := mustIndex(t, base)
			m.Normalize()
			err = ix.Apply(topology.Diff(base, m))
			if err == nil {
				t.Fatalf("Apply accepted it")
			}
			if w := wantApply[c.name]; w != "" && !strings.HasPrefix(err.Error(), w) {
				t.Fatalf("Apply: %v\nwant %s...", err, w)
			}
			if canon(ix.Model()) != canon(base) {
				t.Fatalf("a refused change changed the index")
			}
		})
	}
}

// Deleting a router with ports, a router port a switch port joins or a
// route goes through is refused naming who needs it; deleting them in
// order is fine.
func TestRouterDeletions(t *testing.T) {
	ix := mustIndex(t, routerModel())
	for _, c := range []struct {
		change *topology.Changes
		want   string
	}{
		{&topology.Changes{Routers: map[string]*topology.Router{"lr0": nil}}, `router "lr0": router port "lrp0" belongs to it`},
		{&topology.Changes{RouterPorts: map[string]*topology.RouterPort{"lrp0": nil}}, `router port "lrp0": port "sw0-lr0" joins it to its switch`},
		{&topology.Changes{RouterPorts: map[string]*topology.RouterPort{"lrp1": nil}, Ports: map[string]*topology.Port{"sw1-lr0": nil}},
			`router port "lrp1": router "lr0" routes through it`},
	} {
		if err := ix.Apply(c.change); err == nil || err.Error() != c.want {
			t.Errorf("Apply(%v): %v, want %s", c.change.Refs(), err, c.want)
		}
	}
	m := ix.Model()
	r := *m.Router("lr0")
	r.Routes = nil
	for _, step := range []*topology.Changes{
		{Ports: map[string]*topology.Port{"sw0-lr0": nil, "sw1-lr0": nil}},
		{Routers: map[string]*topology.Router{"lr0": &r}},
		{RouterPorts: map[string]*topology.RouterPort{"lrp0": nil, "lrp1": nil}},
		{Routers: map[string]*topology.Router{"lr0": nil}},
	} {
		if err := ix.Apply(step); err != nil {
			t.Fatalf("Apply(%v): %v", step.Refs(), err)
		}
	}
	if ix.Router("lr0") != nil || len(ix.RoutersOf("sw0")) != 0 {
		t.Error("the router is still there")
	}
}

// A VM's port may have an address a router port has on another switch,
// and a router port with a VM's IP joins a switch that VM is not on.
func TestRouterAddressesPerSwitch(t *testing.T) {
	m := routerModel()
	m.Ports[len(m.Ports)-1].Addresses = []string{"02:00:00:00:ff:00 10.0.0.1"} // vm1 on sw1 takes lrp0's (sw0's) MAC and IP
	if p := m.Port("vm1"); p.Addresses[0] != "02:00:00:00:ff:00 10.0.0.1" {
		t.Fatalf("the model changed order: %v", m.Ports)
	}
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
}

// A store validates a change against the model in order; a clash is
// said of what the change holds, not of the object it met.
func TestRouterClashesNameTheChange(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(m *topology.Model)
		want string
	}{
		{"a switch with the router's key", func(m *topology.Model) { m.Switches = append(m.Switches, topology.Switch{Name: "sw9", Key: 3}) },
			`switch "sw9": tunnel key 3 is already used by router "lr0"`},
		{"a gateway MAC a VM has", func(m *topology.Model) { m.RouterPort("lrp1").MAC = "02:00:00:00:01:01" },
			`port "sw1-lr0": address 02:00:00:00:01:01 (of router port "lrp1") already belongs to port "vm1" on switch "sw1"`},
		{"a VM's MAC a gateway has", func(m *topology.Model) {
			m.Ports = append(m.Ports, topology.Port{Name: "a-vm", Switch: "sw1", Key: 9, Addresses: []string{"02:00:00:00:ff:01"}})
		}, `port "a-vm": address 02:00:00:00:ff:01 already belongs to port "sw1-lr0" on switch "sw1"`},
		{"a router port taken", func(m *topology.Model) { m.Port("sw0-lr0").Options = map[string]string{"router-port": "lrp1"} },
			`port "sw0-lr0": router port "lrp1" is already joined to switch "sw1" by port "sw1-lr0"`},
	} {
		before := routerModel()
		next, _ := topology.Copy(before)
		c.edit(next)
		next.Normalize()
		if err := topology.ValidateUpdate(before, next); err == nil || err.Error() != c.want {
			t.Errorf("%s: %v\nwant %s", c.name, err, c.want)
		}
	}
}

// A neighbour's key names its router port and IP (IPv4 or IPv6) and
// parses back; anything else is no key.
func TestNeighbourKey(t *testing.T) {
	for _, c := range []struct{ port, ip, key string }{
		{"r2", "10.0.2.12", "r2 10.0.2.12"},
		{"r2", "fd00:2::12", "r2 fd00:2::12"},
		{"lr0-port_1.a", "fd00:0:0:0:0:0:0:1", "lr0-port_1.a fd00::1"},
	} {
		ip := net.ParseIP(c.ip)
		k := topology.NeighbourKey(c.port, ip)
		if k != c.key {
			t.Errorf("NeighbourKey(%q, %s) = %q, want %q", c.port, c.ip, k, c.key)
		}
		if port, back, ok := topology.ParseNeighbourKey(k); !ok || port != c.port || !back.Equal(ip) {
			t.Errorf("ParseNeighbourKey(%q) = %q, %v, %v", k, port, back, ok)
		}
	}
	for _, k := range []string{"", "r2", "r2 ", " 10.0.2.12", "10.0.2.12", "r2 10.0.2", "r2 10.0.2.12/24",
		"r2 02:00:00:00:02:0c", "r2 10.0.2.12 ", "r2 host"} {
		if port, ip, ok := topology.ParseNeighbourKey(k); ok {
			t.Errorf("ParseNeighbourKey(%q) = %q, %v, true; want not ok", k, port, ip)
		}
	}
}
