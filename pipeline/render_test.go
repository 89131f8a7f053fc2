package pipeline_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/chainwire/chainwire/pipeline/sim"
	"github.com/chainwire/chainwire/topology"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const (
	mac1 = "02:00:00:00:00:01"
	mac2 = "02:00:00:00:00:02"
	mac3 = "02:00:00:00:00:03"
	mac4 = "02:00:00:00:00:04"
)

// l2Model: switch A with p1 (port security), p2, p3 (also unknown) and a
// disabled p5; switch B with p4. All bound locally on OpenFlow ports 1..5.
func l2Model() pipeline.Input {
	off := false
	return pipeline.Input{
		Model: &topology.Model{
			Switches: []topology.Switch{{Name: "A", Key: 1}, {Name: "B", Key: 2}},
			Ports: []topology.Port{
				{Name: "p1", Switch: "A", Key: 1, Addresses: []string{mac1 + " 10.0.0.1"}, PortSecurity: []string{mac1}},
				{Name: "p2", Switch: "A", Key: 2, Addresses: []string{mac2 + " 10.0.0.2"}},
				{Name: "p3", Switch: "A", Key: 3, Addresses: []string{mac3, "unknown"}},
				{Name: "p4", Switch: "B", Key: 1, Addresses: []string{mac4}},
				{Name: "p5", Switch: "A", Key: 5, Addresses: []string{"02:00:00:00:00:05"}, Enabled: &off},
			},
		},
		Chassis: "hv1",
		OFPorts: map[string]uint32{"p1": 1, "p2": 2, "p3": 3, "p4": 4, "p5": 5},
	}
}

func render(t *testing.T, in pipeline.Input) *pipeline.Tables {
	t.Helper()
	tables, err := pipeline.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	return tables
}

// golden compares the flows, then the groups, with testdata/NAME.flows.
func golden(t *testing.T, name string, tables *pipeline.Tables) {
	t.Helper()
	var b strings.Builder
	for _, f := range tables.Flows {
		b.WriteString(f.String())
		b.WriteString("\n")
	}
	for _, g := range tables.Groups {
		b.WriteString(g.Name + ": " + g.String())
		b.WriteString("\n")
	}
	for _, m := range tables.Meters {
		b.WriteString(m.Name + ": " + m.String())
		b.WriteString("\n")
	}
	path := filepath.Join("testdata", name+".flows")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pipeline -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("flows differ from %s (go test ./pipeline -update rewrites it):\n%s", path, diff(string(want), b.String()))
	}
}

func diff(want, got string) string {
	w, g := map[string]bool{}, map[string]bool{}
	for _, l := range strings.Split(want, "\n") {
		w[l] = true
	}
	for _, l := range strings.Split(got, "\n") {
		g[l] = true
	}
	var out []string
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			out = append(out, "- "+l)
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}

func TestGoldenEmpty(t *testing.T) {
	golden(t, "empty", render(t, pipeline.Input{Chassis: "hv1"}))
}

func TestGoldenL2(t *testing.T) {
	golden(t, "l2", render(t, l2Model()))
}

func TestRenderIsDeterministic(t *testing.T) {
	a, b := render(t, l2Model()), render(t, l2Model())
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two renders of the same input differ")
	}
}

// A port bound on another chassis, or not bound at all, gets no local flows.
func TestOnlyLocalPortsGetPortFlows(t *testing.T) {
	in := l2Model()
	in.Model.Chassis = []topology.Chassis{{Name: "hv2", Encap: "geneve", IP: "192.0.2.2"}}
	in.Model.Ports[1].Options = map[string]string{"requested-chassis": "hv2"}
	delete(in.OFPorts, "p3")
	for _, f := range render(t, in).Flows {
		if f.Stage == pipeline.PhyToLog {
			if in, _ := f.Match.Get(pipeline.FieldInPort); in.Uint() == 2 || in.Uint() == 3 {
				t.Errorf("flow for a non-local port: %s", f)
			}
		}
	}
}

func run(t *testing.T, in pipeline.Input, p sim.Packet) sim.Result {
	t.Helper()
	sw, err := sim.New(render(t, in))
	if err != nil {
		t.Fatal(err)
	}
	r, err := sw.Run(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestForwarding(t *testing.T) {
	in := l2Model()
	for _, tc := range []struct {
		name string
		pkt  sim.Packet
		want []uint32
	}{
		{"known unicast goes to its port only", sim.Frame(1, mac1, mac2), []uint32{2}},
		{"reply comes back", sim.Frame(2, mac2, mac1), []uint32{1}},
		{"broadcast floods the other enabled ports of the switch", sim.Frame(1, mac1, "ff:ff:ff:ff:ff:ff"), []uint32{2, 3}},
		{"multicast floods too", sim.Frame(2, mac2, "01:00:5e:00:00:01"), []uint32{1, 3}},
		{"unknown unicast goes to the unknown port", sim.Frame(1, mac1, "02:00:00:00:00:99"), []uint32{3}},
		{"unknown unicast from the unknown port goes nowhere", sim.Frame(3, mac3, "02:00:00:00:00:99"), nil},
		{"spoofed source MAC is dropped", sim.Frame(1, "02:00:00:00:00:99", mac2), nil},
		{"a port without port security may use any MAC", sim.Frame(2, "02:00:00:00:00:98", mac1), []uint32{1}},
		{"multicast source MAC is dropped", sim.Frame(2, "03:00:00:00:00:02", mac1), nil},
		{"VLAN-tagged frames are dropped", sim.Frame(2, mac2, mac1).Set(pipeline.FieldVlanTCI, 0x1064), nil},
		{"another switch's MAC is unknown here: A's unknown port, never B", sim.Frame(1, mac1, mac4), []uint32{3}},
		{"a disabled port sends nothing", sim.Frame(5, "02:00:00:00:00:05", mac1), nil},
		{"a disabled port receives nothing", sim.Frame(1, mac1, "02:00:00:00:00:05"), nil},
		{"broadcast on switch B has nobody to reach", sim.Frame(4, mac4, "ff:ff:ff:ff:ff:ff"), nil},
		{"unknown OpenFlow port is dropped", sim.Frame(9, mac1, mac2), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, in, tc.pkt)
			if !reflect.DeepEqual(r.Ports(), tc.want) {
				t.Errorf("outputs %v, want %v; trace:\n%s", r.Ports(), tc.want, r)
			}
		})
	}
}

// The port without port security sent from 02:..:98 above: it is admitted
// and, as that MAC is unknown, reaches nobody known but the unknown port.
func TestNoPortSecurityAdmitsAnySource(t *testing.T) {
	r := run(t, l2Model(), sim.Frame(2, "02:00:00:00:00:98", mac3))
	if !reflect.DeepEqual(r.Ports(), []uint32{3}) {
		t.Errorf("outputs %v, want [3]; trace:\n%s", r.Ports(), r)
	}
}

// Egress port security: only frames to p1's allowed MAC leave by p1.
func TestEgressPortSecurity(t *testing.T) {
	in := l2Model()
	in.Model.Ports[0].Addresses = []string{"unknown"} // p1 now also takes unknown unicast
	r := run(t, in, sim.Frame(2, mac2, "02:00:00:00:00:77"))
	if !reflect.DeepEqual(r.Ports(), []uint32{3}) {
		t.Errorf("outputs %v, want only p3 (p1's port security allows %s only); trace:\n%s", r.Ports(), mac1, r)
	}
}

// A switch with 3,000 local ports: a broadcast reaches every other port,
// in chunks that each stay within one OVS translation's 4,096 lookups
// (the simulator enforces the limit), resumed by chainwired in between.
func TestLargeFloodIsChunked(t *testing.T) {
	const n = 3000
	m := &topology.Model{Switches: []topology.Switch{{Name: "big", Key: 7}}}
	ofports := map[string]uint32{}
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("p%d", i)
		m.Ports = append(m.Ports, topology.Port{Name: name, Switch: "big", Key: uint32(i),
			Addresses: []string{fmt.Sprintf("02:00:00:00:%02x:%02x", i>>8, i&0xff)}})
		ofports[name] = uint32(i)
	}
	tables := render(t, pipeline.Input{Model: m, Chassis: "hv1", OFPorts: ofports})
	r := run(t, pipeline.Input{Model: m, Chassis: "hv1", OFPorts: ofports}, sim.Frame(1, "02:00:00:00:00:01", "ff:ff:ff:ff:ff:ff"))
	seen := map[uint32]bool{}
	for _, p := range r.Ports() {
		if seen[p] {
			t.Fatalf("port %d got the broadcast twice", p)
		}
		seen[p] = true
	}
	if len(seen) != n-1 || seen[1] {
		t.Fatalf("broadcast reached %d ports (sender included: %v), want the %d others", len(seen), seen[1], n-1)
	}
	chunks := 0
	for _, g := range tables.Groups {
		if strings.HasPrefix(g.Name, "flood-local/7/") {
			chunks++
			if len(g.Buckets) > 300 {
				t.Errorf("group %s has %d buckets", g.Name, len(g.Buckets))
			}
		}
	}
	if chunks < 2 || r.Pauses != chunks-1 {
		t.Errorf("%d chunks with %d pauses; want several chunks, one pause between each two", chunks, r.Pauses)
	}
}
