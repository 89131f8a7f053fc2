package topology_test

import (
	"path/filepath"
	"reflect"
	"slices"
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
