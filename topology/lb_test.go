package topology_test

import (
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/chainwire/chainwire/topology"
)

// lbModel: two switches with ports, a TCP load balancer on both (IPv4
// and IPv6 VIPs with ports) and a UDP one with IP-only VIPs on sw0.
func lbModel() *topology.Model {
	m := &topology.Model{
		Switches: []topology.Switch{{Name: "sw0", Key: 1, LoadBalancers: []string{"web", "dns"}}, {Name: "sw1", Key: 2, LoadBalancers: []string{"web"}}},
		Ports: []topology.Port{
			{Name: "p1", Switch: "sw0", Key: 1, Addresses: []string{"02:00:00:00:00:01 10.0.0.1"}},
			{Name: "p2", Switch: "sw0", Key: 2, Addresses: []string{"02:00:00:00:00:02 10.0.0.2 fd00::2"}},
			{Name: "p3", Switch: "sw1", Key: 1, Addresses: []string{"02:00:00:00:01:03 10.0.1.3"}},
		},
		LoadBalancers: []topology.LoadBalancer{
			{Name: "web", Key: 1, Protocol: "tcp", VIPs: map[string]string{"10.0.0.100:80": "10.0.0.1:8080,10.0.0.2:8080",
				"[fd00::100]:443": "[fd00::2]:443", "10.0.0.100:443": "10.0.0.2:443"}},
			{Name: "dns", Key: 2, Protocol: "udp", VIPs: map[string]string{"fd00::53": "fd00::2", "10.0.0.53": "10.0.0.2,10.0.0.1"}},
		},
	}
	m.Normalize()
	return m
}

func TestLoadBalancersIndexed(t *testing.T) {
	m := lbModel()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := m.Switch("sw0").LoadBalancers; !slices.Equal(got, []string{"dns", "web"}) {
		t.Errorf("Normalize: sw0's load balancers are %v, want them sorted", got)
	}
	if k, err := m.FreeLBKey(); k != 3 || err != nil {
		t.Errorf("FreeLBKey = %d, %v", k, err)
	}
	ix := mustIndex(t, m)
	for _, c := range []struct{ what, got, want string }{
		{"SwitchesUsingLB(web)", strings.Join(ix.SwitchesUsingLB("web"), ","), "sw0,sw1"},
		{"SwitchesUsingLB(dns)", strings.Join(ix.SwitchesUsingLB("dns"), ","), "sw0"},
		{"SwitchesUsingLB(nope)", strings.Join(ix.SwitchesUsingLB("nope"), ","), ""},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if lb := ix.LoadBalancer("dns"); lb == nil || lb.Protocol != "udp" || m.LoadBalancer("web").Key != 1 {
		t.Errorf("lookups: %+v", lb)
	}
	vips, err := m.LoadBalancer("web").ParsedVIPs()
	if err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr
	want := []topology.LBVIP{
		{VIP: a("10.0.0.100"), Port: 80, Backends: []topology.LBBackend{{IP: a("10.0.0.1"), Port: 8080}, {IP: a("10.0.0.2"), Port: 8080}}},
		{VIP: a("10.0.0.100"), Port: 443, Backends: []topology.LBBackend{{IP: a("10.0.0.2"), Port: 443}}},
		{VIP: a("fd00::100"), Port: 443, Backends: []topology.LBBackend{{IP: a("fd00::2"), Port: 443}}},
	}
	if !reflect.DeepEqual(vips, want) {
		t.Errorf("ParsedVIPs = %+v\nwant %+v", vips, want)
	}
	vips, _ = m.LoadBalancer("dns").ParsedVIPs()
	want = []topology.LBVIP{
		{VIP: a("10.0.0.53"), Backends: []topology.LBBackend{{IP: a("10.0.0.2")}, {IP: a("10.0.0.1")}}}, // in the order given
		{VIP: a("fd00::53"), Backends: []topology.LBBackend{{IP: a("fd00::2")}}},
	}
	if !reflect.DeepEqual(vips, want) {
		t.Errorf("ParsedVIPs = %+v\nwant %+v", vips, want)
	}
}

// Every rule of load balancers refuses what it must, naming the object,
// the VIP and the backend.
func TestLoadBalancerRules(t *testing.T) {
	web := func(m *topology.Model) *topology.LoadBalancer { return m.LoadBalancer("web") }
	vip := func(key, backends string) func(m *topology.Model) {
		return func(m *topology.Model) { web(m).VIPs = map[string]string{key: backends} }
	}
	many := func(n int, f func(i int) string) string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct {
		edit func(m *topology.Model)
		want string
	}{
		{func(m *topology.Model) { web(m).Name = "bad name" }, `load balancer "bad name": a name may hold only`},
		{func(m *topology.Model) { m.LoadBalancers = append(m.LoadBalancers, *web(m)) }, `load balancer "web": already exists`},
		{func(m *topology.Model) { web(m).Key = 0 }, `load balancer "web": key 0 is out of range 1..65535`},
		{func(m *topology.Model) { web(m).Key = 65536 }, `key 65536 is out of range 1..65535`},
		{func(m *topology.Model) { m.LoadBalancer("dns").Key = 1 }, `load balancer "web": key 1 is already used by load balancer "dns"`},
		{func(m *topology.Model) { web(m).Protocol = "sctp" }, `load balancer "web": protocol "sctp": want tcp or udp`},
		{func(m *topology.Model) { web(m).Protocol = "" }, `protocol "": want tcp or udp`},
		{vip("10.0.0.300:80", "10.0.0.1:80"), `load balancer "web": VIP "10.0.0.300:80": not an IP address, IPv4:PORT or [IPv6]:PORT`},
		{vip("web:80", "10.0.0.1:80"), `VIP "web:80": not an IP address, IPv4:PORT or [IPv6]:PORT`},
		{vip("fd00::100:99999", "10.0.0.1:80"), `VIP "fd00::100:99999": an IPv6 address with a port is written [IPv6]:PORT`},
		{vip("[fd00::100]", "fd00::2"), `VIP "[fd00::100]": not an IP address, IPv4:PORT or [IPv6]:PORT`},
		{vip("[10.0.0.100]:80", "10.0.0.1:80"), `VIP "[10.0.0.100]:80": not an IP address`},
		{vip("::ffff:10.0.0.100", "10.0.0.1"), `VIP "::ffff:10.0.0.100": not an IPv4 or IPv6 address`},
		{vip("fe80::1%eth0", "fe80::2"), `VIP "fe80::1%eth0": not an IPv4 or IPv6 address`},
		{vip("[::ffff:10.0.0.100]:80", "10.0.0.1:80"), `VIP "[::ffff:10.0.0.100]:80": not an IP address, IPv4:PORT or [IPv6]:PORT`},
		{vip("10.0.0.100:0", "10.0.0.1:80"), `VIP "10.0.0.100:0": port "0": want a number in 1..65535`},
		{vip("10.0.0.100:65536", "10.0.0.1:80"), `port "65536": want a number in 1..65535`},
		{vip("[fd00::100]:http", "[fd00::2]:80"), `VIP "[fd00::100]:http": port "http": want a number in 1..65535`},
		{vip("10.0.0.100:80", ""), `load balancer "web": VIP "10.0.0.100:80": has no backends (give IP[:PORT],...)`},
		{vip("10.0.0.100:80", "10.0.0.1:80,"), `VIP "10.0.0.100:80": backend "": not an IP address, IPv4:PORT or [IPv6]:PORT`},
		{vip("10.0.0.100:80", "10.0.0.1:80, 10.0.0.2:80"), `backend " 10.0.0.2:80": not an IP address`},
		{vip("10.0.0.100:80", "10.0.0.1:0"), `VIP "10.0.0.100:80": backend "10.0.0.1:0": port "0": want a number in 1..65535`},
		{vip("10.0.0.100:80", "10.0.0.1"), `VIP "10.0.0.100:80": backend "10.0.0.1" has no port (a VIP with a port needs IP:PORT backends)`},
		{vip("10.0.0.100", "10.0.0.1:80"), `VIP "10.0.0.100": backend "10.0.0.1:80" has a port (an IP-only VIP takes backends without ports)`},
		{vip("10.0.0.100:80", "[fd00::2]:80"), `backend "[fd00::2]:80" is IPv6, the VIP IPv4 (a VIP's backends are of its family)`},
		{vip("fd00::100", "10.0.0.1"), `VIP "fd00::100": backend "10.0.0.1" is IPv4, the VIP IPv6`},
		{vip("fd00::100", "fd00::2,fd00:0::2"), `VIP "fd00::100": backends "fd00::2" and "fd00:0::2" are the same`},
		{vip("10.0.0.100:80", "10.0.0.1:80,10.0.0.2:80,10.0.0.1:80"), `backends "10.0.0.1:80" and "10.0.0.1:80" are the same`},
		{func(m *topology.Model) { web(m).VIPs["[fd00:0::100]:443"] = "[fd00::2]:443" }, `load balancer "web": VIPs "[fd00:0::100]:443" and "[fd00::100]:443" are the same`},
		{vip("10.0.0.100:80", many(65, func(i int) string { return fmt.Sprintf("10.1.0.%d:80", i+1) })),
			`VIP "10.0.0.100:80": has 65 backends, more than 64 (each is a bucket of the VIP's OpenFlow select group)`},
		{func(m *topology.Model) {
			for i := range 257 {
				web(m).VIPs[fmt.Sprintf("10.2.%d.%d:80", i/250, i%250+1)] = "10.0.0.1:80"
			}
		}, `load balancer "web": has 260 VIPs, more than 256 (each VIP is flows and an OpenFlow group of its own on every chassis)`},
		{func(m *topology.Model) { m.Switch("sw1").LoadBalancers = []string{"nope"} }, `switch "sw1": load balancer "nope" does not exist`},
		{func(m *topology.Model) { m.Switch("sw1").LoadBalancers = []string{"web", "web"} }, `switch "sw1": load balancer "web" is listed twice`},
		{func(m *topology.Model) { web(m).VIPs["10.0.1.3:80"] = "10.0.0.1:80" },
			`load balancer "web": VIP 10.0.1.3 is the address of port "p3" on switch "sw1", which uses the load balancer (traffic to it would be ambiguous)`},
		{func(m *topology.Model) { m.LoadBalancer("dns").VIPs["fd00::2"] = "fd00::3" }, `load balancer "dns": VIP fd00::2 is the address of port "p2" on switch "sw0"`},
		{func(m *topology.Model) {
			m.Port("p3").Addresses = []string{"02:00:00:00:01:03 10.0.0.53"}
			m.Switch("sw1").LoadBalancers = []string{"dns"}
		},
			`load balancer "dns": VIP 10.0.0.53 is the address of port "p3" on switch "sw1"`},
	} {
		m := lbModel()
		c.edit(m)
		err := m.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v\nwant %s", err, c.want)
		}
		if _, ierr := topology.NewIndex(m); fmt.Sprint(ierr) != fmt.Sprint(err) {
			t.Errorf("NewIndex: %v; Validate: %v", ierr, err)
		}
	}
	// Reading a model back (the cheap rules only, which skip the
	// backends) still finds a clash, through the port's rule.
	m := lbModel()
	m.LoadBalancer("web").VIPs["10.0.1.3:80"] = "bad"
	if err := topology.ValidateStored(m); err == nil || !strings.Contains(err.Error(), `port "p3": address 10.0.1.3 is a VIP of load balancer "web"`) {
		t.Errorf("ValidateStored: %v", err)
	}
	// A VIP may be the address of a port on a switch without the load
	// balancer, and may have the protocol's every port (IP-only) beside
	// ports of its own.
	m = lbModel()
	m.LoadBalancer("dns").VIPs["10.0.1.3"] = "10.0.0.1"
	m.LoadBalancer("web").VIPs["10.0.0.100"] = "10.0.0.1"
	if err := m.Validate(); err != nil {
		t.Error(err)
	}
}

// applyLB is apply (acls_test.go) on the load balancers' model.
func applyLB(t *testing.T, edit func(m *topology.Model)) error {
	t.Helper()
	_, err := applyOn(t, lbModel(), edit)
	return err
}

// Deleting a load balancer a switch uses is refused, naming the switch;
// a VIP and a port address of one switch clash whichever changes: the
// port, the load balancer's VIPs, or the switch's load balancers.
func TestLoadBalancerReferencesHold(t *testing.T) {
	for _, c := range []struct {
		edit func(m *topology.Model)
		want string
	}{
		{func(m *topology.Model) { m.LoadBalancers = nil }, `load balancer "dns": switch "sw0" uses it`},
		{func(m *topology.Model) {
			m.Switch("sw0").LoadBalancers = []string{"dns"}
			m.LoadBalancers = slices.DeleteFunc(m.LoadBalancers, func(lb topology.LoadBalancer) bool { return lb.Name == "web" })
		}, `load balancer "web": switch "sw1" uses it`},
		{func(m *topology.Model) { m.Port("p3").Addresses = []string{"02:00:00:00:01:03 10.0.0.100"} },
			`port "p3": address 10.0.0.100 is a VIP of load balancer "web" on switch "sw1" (traffic to it would be ambiguous)`},
		{func(m *topology.Model) { m.Port("p1").Addresses = []string{"02:00:00:00:00:01 10.0.0.1 fd00::53"} },
			`port "p1": address fd00::53 is a VIP of load balancer "dns" on switch "sw0"`},
		{func(m *topology.Model) {
			m.Ports = append(m.Ports, topology.Port{Name: "p4", Switch: "sw1", Key: 2, Addresses: []string{"02:00:00:00:01:04 10.0.0.100"}})
		}, `port "p4": address 10.0.0.100 is a VIP of load balancer "web" on switch "sw1"`},
		{func(m *topology.Model) {
			p := m.Port("p3")
			p.Switch, p.Key, p.Addresses = "sw0", 3, []string{"02:00:00:00:01:03 10.0.0.53"}
		}, `port "p3": address 10.0.0.53 is a VIP of load balancer "dns" on switch "sw0"`},
		{func(m *topology.Model) { m.LoadBalancer("web").VIPs["10.0.1.3:80"] = "10.0.0.1:80" },
			`load balancer "web": VIP 10.0.1.3 is the address of port "p3" on switch "sw1"`},
		{func(m *topology.Model) {
			m.Port("p3").Addresses = []string{"02:00:00:00:01:03 10.0.0.53"}
			m.Switch("sw1").LoadBalancers = []string{"dns", "web"}
		}, `load balancer "dns": VIP 10.0.0.53 is the address of port "p3" on switch "sw1"`},
		{func(m *topology.Model) { m.Switch("sw1").LoadBalancers = []string{"nope", "web"} }, `switch "sw1": load balancer "nope" does not exist`},
	} {
		if err := applyLB(t, c.edit); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v\nwant %s", err, c.want)
		}
	}
	// A load balancer no switch uses goes; a switch goes with its list; a
	// VIP may take a port's address once the port's switch drops it.
	for _, ok := range []func(m *topology.Model){
		func(m *topology.Model) {
			m.Switch("sw0").LoadBalancers = []string{"web"}
			m.LoadBalancers = slices.DeleteFunc(m.LoadBalancers, func(lb topology.LoadBalancer) bool { return lb.Name == "dns" })
		},
		func(m *topology.Model) {
			m.Ports = slices.DeleteFunc(m.Ports, func(p topology.Port) bool { return p.Switch == "sw1" })
			m.Switches = m.Switches[:1]
		},
		func(m *topology.Model) {
			m.Switch("sw1").LoadBalancers = nil
			m.LoadBalancer("web").VIPs["10.0.1.3:80"] = "10.0.0.1:80"
		},
	} {
		if err := applyLB(t, ok); err != nil {
			t.Error(err)
		}
	}
}

// Copy, Diff, Merge and the JSON form keep every field of load
// balancers and of the switches' lists.
func TestLoadBalancerRoundTrip(t *testing.T) {
	m := lbModel()
	c, _ := topology.Copy(m)
	c.LoadBalancer("web").VIPs["10.0.0.100:80"] = "10.0.0.1:8080"
	c.Switch("sw1").LoadBalancers[0] = "dns"
	if m.LoadBalancer("web").VIPs["10.0.0.100:80"] != "10.0.0.1:8080,10.0.0.2:8080" || m.Switch("sw1").LoadBalancers[0] != "web" {
		t.Fatal("Copy shares the objects' maps and slices")
	}
	d, err := topology.Decode(topology.Encode(lbModel()))
	if err != nil || !reflect.DeepEqual(d, lbModel()) {
		t.Fatalf("decoded %v\n%s", err, topology.Encode(d))
	}
	ch := topology.Diff(lbModel(), c)
	if got := fmt.Sprint(ch.Refs()); got != `[switch "sw1" load balancer "web"]` {
		t.Errorf("diff %s", got)
	}
	ch.Merge(&topology.Changes{LoadBalancers: map[string]*topology.LoadBalancer{"dns": nil}})
	if len(ch.LoadBalancers) != 2 || ch.LoadBalancers["dns"] != nil {
		t.Errorf("merged %v", ch.Refs())
	}
}
