package nbdb_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chainwire/chainwire/deploy"
	"github.com/chainwire/chainwire/topology"
	"github.com/chainwire/chainwire/topology/nbdb"
	"github.com/chainwire/chainwire/topology/storetest"
)

const schema = "../../deploy/chainwire_nb.ovsschema"

// server runs a standalone ovsdb-server with a fresh Chainwire_NB for one
// test and returns its remote.
func server(t *testing.T) string {
	t.Helper()
	return serverOf(t, schema)
}

// serverOf does the same with the schema in file schema.
func serverOf(t *testing.T, schema string) string {
	t.Helper()
	if _, err := exec.LookPath("ovsdb-server"); err != nil {
		if os.Getenv("CHAINWIRE_SKIP_E2E") == "1" {
			t.Skip("ovsdb-server not installed (CHAINWIRE_SKIP_E2E=1)")
		}
		t.Fatal("ovsdb-server is required (make deps), or set CHAINWIRE_SKIP_E2E=1")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "nb.db")
	if out, err := exec.Command("ovsdb-tool", "create", db, schema).CombinedOutput(); err != nil {
		t.Fatalf("ovsdb-tool create: %v: %s", err, out)
	}
	sock := filepath.Join(dir, "nb.sock")
	cmd := exec.Command("ovsdb-server", db, "--remote=punix:"+sock, "--unixctl="+filepath.Join(dir, "ctl"),
		"--log-file="+filepath.Join(dir, "log"), "-vconsole:off", "--no-chdir")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for i := 0; i < 500; i++ {
		if _, err := os.Stat(sock); err == nil {
			return "unix:" + sock
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("ovsdb-server did not come up")
	return ""
}

func open(t *testing.T) topology.Store {
	s, err := nbdb.Open(server(t), nbdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestContract(t *testing.T) { storetest.Run(t, open) }

// events collects what Watch reports.
func events(t *testing.T, s *nbdb.Store) <-chan topology.Event {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch := make(chan topology.Event, 100)
	go s.Watch(ctx, func(ev topology.Event) { ch <- ev })
	return ch
}

func next(t *testing.T, evs <-chan topology.Event) topology.Event {
	t.Helper()
	select {
	case ev := <-evs:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no watch event")
		return topology.Event{}
	}
}

// One write is one transaction, and an agent sees it whole: never a
// part of its objects.
func TestWatchSeesTransactionsWhole(t *testing.T) {
	s, err := nbdb.Open(server(t), nbdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	evs := events(t, s)
	if ev := next(t, evs); ev.Model == nil || ev.Model.Generation != 0 {
		t.Fatalf("first event %+v, want the empty model whole", ev)
	}
	for round := 1; round <= 3; round++ {
		if _, err := s.Update(func(m *topology.Model) error {
			sw := fmt.Sprintf("sw%d", round)
			m.Switches = append(m.Switches, topology.Switch{Name: sw, Key: uint32(round)})
			for i := 1; i <= 50; i++ {
				m.Ports = append(m.Ports, topology.Port{Name: fmt.Sprintf("%s-p%d", sw, i), Switch: sw, Key: uint32(i)})
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		ev := next(t, evs)
		if ev.Changes == nil || ev.Changes.Generation != uint64(round) || len(ev.Changes.Switches) != 1 || len(ev.Changes.Ports) != 50 {
			t.Fatalf("round %d: event %+v, want one switch and its 50 ports at generation %d", round, ev, round)
		}
	}
	if _, err := s.Update(func(m *topology.Model) error {
		m.Ports = m.Ports[:0]
		m.Switches = m.Switches[:1]
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ev := next(t, evs)
	if ev.Changes == nil || len(ev.Changes.Ports) != 150 || len(ev.Changes.Switches) != 2 {
		t.Fatalf("deleting: event %+v, want 150 ports and 2 switches gone", ev)
	}
	for name, p := range ev.Changes.Ports {
		if p != nil {
			t.Fatalf("port %s reported as changed, not deleted", name)
		}
	}
}

// WatchBindings reports all bindings once, then only what changed.
func TestWatchBindingsReportsChanges(t *testing.T) {
	s, err := nbdb.Open(server(t), nbdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	type report struct {
		b     map[string]string
		whole bool
	}
	ch := make(chan report, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.WatchBindings(ctx, func(b map[string]string, whole bool) { ch <- report{b, whole} })
	expect := func(want string, whole bool) {
		t.Helper()
		select {
		case r := <-ch:
			if got := fmt.Sprint(r.b); got != want || r.whole != whole {
				t.Fatalf("bindings %s (whole %v), want %s (whole %v)", got, r.whole, want, whole)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no bindings report, want %s", want)
		}
	}
	expect("map[]", true)
	publish := func(chassis string, ports ...string) {
		t.Helper()
		if err := s.PublishBindings(chassis, ports); err != nil {
			t.Fatal(err)
		}
	}
	publish("hv1", "a", "b")
	expect("map[a:hv1 b:hv1]", false)
	publish("hv2", "b") // b moved: the last agent to find it holds it
	expect("map[b:hv2]", false)
	publish("hv1", "a") // b is no longer hv1's to give up
	publish("hv2")
	expect("map[b:]", false)
	if b, err := s.Bindings(); err != nil || fmt.Sprint(b) != "map[a:hv1]" {
		t.Fatalf("bindings %v (%v), want a on hv1", b, err)
	}
}

// olderSchema writes the installed schema as an older version was: of
// that version, without the tables and columns ("TABLE.COLUMN") it
// lacked.
func olderSchema(t *testing.T, version string, tables, columns []string) string {
	t.Helper()
	var sch map[string]any
	if err := json.Unmarshal(deploy.NBSchema, &sch); err != nil {
		t.Fatal(err)
	}
	sch["version"] = version
	all := sch["tables"].(map[string]any)
	for _, table := range tables {
		delete(all, table)
	}
	for _, tc := range columns {
		table, column, _ := strings.Cut(tc, ".")
		delete(all[table].(map[string]any)["columns"].(map[string]any), column)
	}
	old, _ := json.Marshal(sch)
	path := filepath.Join(t.TempDir(), version+".ovsschema")
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// What each version added: 1.1.0 the switch policy, 1.2.0 DHCP and DNS,
// 1.3.0 load balancers, 1.4.0 the options of pairs and groups and the
// chassis' pair health, 1.5.0 routers and the ports' type, 1.6.0 the
// chassis' learned neighbours.
var (
	tables110, tables120, tables130 = []string{"ACL", "Port_Group", "Address_Set", "QoS"}, []string{"DHCP_Options", "DNS_Record"},
		[]string{"Load_Balancer"}
	tables150  = []string{"Logical_Router", "Logical_Router_Port"}
	columns120 = []string{"Logical_Switch_Port.dhcpv4_options", "Logical_Switch_Port.dhcpv6_options"}
	columns130 = []string{"Logical_Switch.load_balancer"}
	columns140 = []string{"Port_Pair.options", "Port_Pair_Group.options", "Chassis.health"}
	columns150 = []string{"Logical_Switch_Port.type"}
	columns160 = []string{"Chassis.neighbours"}
)

// upgrade runs a database of an older schema with rows inserted by
// transact, checks that this chainwire refuses it, and converts it to
// the installed schema in place, as chainwire-nb upgrade does it.
func upgrade(t *testing.T, oldSchema, version, transact string) *nbdb.Store {
	t.Helper()
	remote := serverOf(t, oldSchema)
	if out, err := exec.Command("ovsdb-client", "transact", remote, transact).CombinedOutput(); err != nil {
		t.Fatalf("insert: %v: %s", err, out)
	}
	if _, err := open1(t, remote).Snapshot(); err == nil || !strings.Contains(err.Error(), "database schema does not fit this chainwire (version "+version+")") {
		t.Fatalf("a %s database read: %v", version, err)
	}
	if out, err := exec.Command("ovsdb-client", "convert", remote, schema).CombinedOutput(); err != nil {
		t.Fatalf("convert: %v: %s", err, out)
	}
	return open1(t, remote)
}

// A 1.0.0 database (the tables before the switch policy) converts to the
// installed schema in place: its rows stay, and the policy tables work.
func TestUpgradeFrom100(t *testing.T) {
	old := olderSchema(t, "1.0.0", slices.Concat(tables110, tables120, tables130, tables150), slices.Concat(columns120, columns130, columns140, columns150, columns160))
	s := upgrade(t, old, "1.0.0", `["Chainwire_NB", {"op": "insert", "table": "Logical_Switch", "row": {"name": "sw0", "tunnel_key": 5}},
		{"op": "insert", "table": "NB_Global", "row": {"generation": 1}}]`)
	m, err := s.Update(func(m *topology.Model) error {
		m.ACLs = append(m.ACLs, topology.ACL{Name: "a", Key: 1, Switch: "sw0", Direction: topology.ToLport, Match: "ip4", Action: topology.ACLDrop})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.Generation != 2 || m.Switch("sw0").Key != 5 || m.ACL("a") == nil {
		t.Fatalf("after the upgrade: %s", topology.Encode(m))
	}
}

// A 1.1.0 database (before DHCP and DNS) converts likewise: its ports
// come back with no DHCP options, and can be given some.
func TestUpgradeFrom110(t *testing.T) {
	old := olderSchema(t, "1.1.0", slices.Concat(tables120, tables130, tables150), slices.Concat(columns120, columns130, columns140, columns150, columns160))
	s := upgrade(t, old, "1.1.0", `["Chainwire_NB", {"op": "insert", "table": "Logical_Switch", "row": {"name": "sw0", "tunnel_key": 5}},
		{"op": "insert", "table": "Logical_Switch_Port", "row": {"name": "p1", "switch": "sw0", "tunnel_key": 1}},
		{"op": "insert", "table": "NB_Global", "row": {"generation": 1}}]`)
	if m, err := s.Snapshot(); err != nil || m.Port("p1") == nil || m.Port("p1").DHCPv4Options != "" {
		t.Fatalf("after the upgrade: %v %+v", err, m)
	}
	m, err := s.Update(func(m *topology.Model) error {
		m.DHCPOptions = append(m.DHCPOptions, topology.DHCPOptions{Name: "d4", CIDR: "10.0.0.0/24",
			Options: map[string]string{"server_id": "10.0.0.1", "server_mac": "02:00:00:00:00:01", "lease_time": "60"}})
		m.Port("p1").DHCPv4Options = "d4"
		m.DNSRecords = append(m.DNSRecords, topology.DNSRecord{Name: "sw0/p1", Switch: "sw0", Hostname: "p1", Addresses: []string{"10.0.0.2"}})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.Generation != 2 || m.Port("p1").DHCPv4Options != "d4" || m.DNSRecord("sw0/p1") == nil {
		t.Fatalf("after the upgrade: %s", topology.Encode(m))
	}
}

// A 1.2.0 database (before load balancers) converts likewise: its
// switches come back with none, and can be given some.
func TestUpgradeFrom120(t *testing.T) {
	old := olderSchema(t, "1.2.0", slices.Concat(tables130, tables150), slices.Concat(columns130, columns140, columns150, columns160))
	s := upgrade(t, old, "1.2.0", `["Chainwire_NB", {"op": "insert", "table": "Logical_Switch", "row": {"name": "sw0", "tunnel_key": 5}},
		{"op": "insert", "table": "Logical_Switch_Port", "row": {"name": "p1", "switch": "sw0", "tunnel_key": 1, "dhcpv4_options": ""}},
		{"op": "insert", "table": "NB_Global", "row": {"generation": 1}}]`)
	if m, err := s.Snapshot(); err != nil || m.Switch("sw0") == nil || m.Switch("sw0").LoadBalancers != nil || m.Port("p1") == nil {
		t.Fatalf("after the upgrade: %v %+v", err, m)
	}
	m, err := s.Update(func(m *topology.Model) error {
		m.LoadBalancers = append(m.LoadBalancers, topology.LoadBalancer{Name: "lb", Key: 1, Protocol: "tcp",
			VIPs: map[string]string{"10.0.0.100:80": "10.0.0.1:80"}})
		m.Switch("sw0").LoadBalancers = []string{"lb"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.Generation != 2 || m.LoadBalancer("lb") == nil || !slices.Equal(m.Switch("sw0").LoadBalancers, []string{"lb"}) {
		t.Fatalf("after the upgrade: %s", topology.Encode(m))
	}
}

// A 1.3.0 database (before the options of pairs and groups and the
// chassis' health) converts likewise: its chain and its agent's status
// come back with no options and no health, and can be given some.
func TestUpgradeFrom130(t *testing.T) {
	old := olderSchema(t, "1.3.0", tables150, slices.Concat(columns140, columns150, columns160))
	s := upgrade(t, old, "1.3.0", `["Chainwire_NB",
		{"op": "insert", "table": "Chassis", "row": {"name": "hv1", "encap_type": "geneve", "encap_ip": "192.0.2.1",
			"hostname": "h1", "nb_cfg": 1, "heartbeat": 1000, "heartbeat_interval": 2000, "connected": true}},
		{"op": "insert", "table": "Logical_Switch", "row": {"name": "sw0", "tunnel_key": 5}},
		{"op": "insert", "table": "Logical_Switch_Port", "row": {"name": "v1", "switch": "sw0", "tunnel_key": 1}},
		{"op": "insert", "table": "Port_Pair", "row": {"name": "pp", "switch": "sw0", "inport": "v1", "outport": "v1", "weight": 1}},
		{"op": "insert", "table": "Port_Pair_Group", "row": {"name": "pg", "port_pairs": ["map", [[0, "pp"]]]}},
		{"op": "insert", "table": "Port_Chain", "row": {"name": "pc", "switch": "sw0", "key": 1, "port_pair_groups": ["map", [[0, "pg"]]]}},
		{"op": "insert", "table": "NB_Global", "row": {"generation": 1}}]`)
	m, err := s.Snapshot()
	if err != nil || m.PortPair("pp") == nil || m.PortPair("pp").Options != nil || m.PortPairGroup("pg") == nil ||
		m.PortPairGroup("pg").Options != nil || m.PortChain("pc") == nil {
		t.Fatalf("after the upgrade: %v %s", err, topology.Encode(m))
	}
	if sts, err := s.Statuses(); err != nil || len(sts) != 1 || sts[0].Chassis != "hv1" || sts[0].Generation != 1 || sts[0].Health != nil {
		t.Fatalf("statuses after the upgrade: %v %+v", err, sts)
	}
	m, err = s.Update(func(m *topology.Model) error {
		m.PortPair("pp").Options = map[string]string{topology.OptHealthCheck: "true"}
		m.PortPairGroup("pg").Options = map[string]string{topology.OptFailMode: topology.FailModeOpen}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.PortPair("pp").HealthCheck(); m.Generation != 2 || !ok || !m.PortPairGroup("pg").FailOpen() {
		t.Fatalf("after the upgrade: %s", topology.Encode(m))
	}
	st := topology.Status{Chassis: "hv1", Generation: 2, Connected: true, Heartbeat: 2, Hostname: "h1",
		Health: map[string]string{"pp": topology.HealthUp}, Updated: time.Now().UTC().Truncate(time.Millisecond)}
	if err := s.PublishStatus(st); err != nil {
		t.Fatal(err)
	}
	if sts, err := s.Statuses(); err != nil || len(sts) != 1 || sts[0].Health["pp"] != topology.HealthUp {
		t.Fatalf("statuses after publishing: %v %+v", err, sts)
	}
}

// A 1.4.0 database (before routers and the ports' type) converts
// likewise: its ports come back as VMs' ports, and a router can join its
// switch.
func TestUpgradeFrom140(t *testing.T) {
	old := olderSchema(t, "1.4.0", tables150, slices.Concat(columns150, columns160))
	s := upgrade(t, old, "1.4.0", `["Chainwire_NB", {"op": "insert", "table": "Logical_Switch", "row": {"name": "sw0", "tunnel_key": 1}},
		{"op": "insert", "table": "Logical_Switch_Port", "row": {"name": "p1", "switch": "sw0", "tunnel_key": 1,
			"addresses": "02:00:00:00:00:01 10.0.0.10"}},
		{"op": "insert", "table": "NB_Global", "row": {"generation": 1}}]`)
	if m, err := s.Snapshot(); err != nil || m.Port("p1") == nil || m.Port("p1").Type != "" || m.Routers != nil {
		t.Fatalf("after the upgrade: %v %+v", err, m)
	}
	m, err := s.Update(func(m *topology.Model) error {
		m.Routers = []topology.Router{{Name: "lr0", Key: 2}}
		m.RouterPorts = []topology.RouterPort{{Name: "lrp0", Router: "lr0", Key: 1, MAC: "02:00:00:00:ff:00", Networks: []string{"10.0.0.1/24"}}}
		m.Ports = append(m.Ports, topology.Port{Name: "sw0-lr0", Switch: "sw0", Key: 2, Type: topology.PortTypeRouter,
			Options: map[string]string{topology.OptRouterPort: "lrp0"}})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.Generation != 2 || m.Router("lr0") == nil || m.Port("sw0-lr0").RouterPort() != "lrp0" {
		t.Fatalf("after the upgrade: %s", topology.Encode(m))
	}
}

// A 1.5.0 database (before the chassis' neighbours) converts likewise:
// its agent's status comes back with its health and no neighbours, and
// can be given some.
func TestUpgradeFrom150(t *testing.T) {
	old := olderSchema(t, "1.5.0", nil, columns160)
	s := upgrade(t, old, "1.5.0", `["Chainwire_NB",
		{"op": "insert", "table": "Chassis", "row": {"name": "hv1", "encap_type": "geneve", "encap_ip": "192.0.2.1",
			"hostname": "h1", "nb_cfg": 1, "heartbeat": 1000, "heartbeat_interval": 2000, "connected": true,
			"health": ["map", [["pp", "up"]]]}},
		{"op": "insert", "table": "NB_Global", "row": {"generation": 1}}]`)
	if sts, err := s.Statuses(); err != nil || len(sts) != 1 || sts[0].Health["pp"] != topology.HealthUp || sts[0].Neighbours != nil {
		t.Fatalf("statuses after the upgrade: %v %+v", err, sts)
	}
	st := topology.Status{Chassis: "hv1", Generation: 1, Connected: true, Heartbeat: 2, Hostname: "h1",
		Neighbours: map[string]string{"r2 10.0.2.12": "02:00:00:00:02:0c"}, Updated: time.Now().UTC().Truncate(time.Millisecond)}
	if err := s.PublishStatus(st); err != nil {
		t.Fatal(err)
	}
	if sts, err := s.Statuses(); err != nil || len(sts) != 1 || !reflect.DeepEqual(sts[0], st) {
		t.Fatalf("statuses after publishing: %v %+v, want [%+v]", err, sts, st)
	}
}

// A scoped change of a port on a switch a router joins validates its
// addresses against the router port's: the scope holds every router and
// router port, and the switch's router-type ports whole.
func TestUpdateInReadsRouters(t *testing.T) {
	s := open1(t, server(t))
	if _, err := s.Update(func(m *topology.Model) error {
		m.Switches = []topology.Switch{{Name: "sw0", Key: 1}, {Name: "sw1", Key: 2}}
		m.Routers = []topology.Router{{Name: "lr0", Key: 3, Routes: []topology.StaticRoute{{Prefix: "10.0.9.0/24", NextHop: "10.0.1.9"}}}}
		m.RouterPorts = []topology.RouterPort{
			{Name: "lrp0", Router: "lr0", Key: 1, MAC: "02:00:00:00:ff:00", Networks: []string{"10.0.0.1/24"}},
			{Name: "lrp1", Router: "lr0", Key: 2, MAC: "02:00:00:00:ff:01", Networks: []string{"10.0.1.1/24"}}}
		m.Ports = []topology.Port{
			{Name: "sw0-lr0", Switch: "sw0", Key: 1, Type: topology.PortTypeRouter, Addresses: []string{"router"},
				Options: map[string]string{topology.OptRouterPort: "lrp0"}},
			{Name: "sw1-lr0", Switch: "sw1", Key: 1, Type: topology.PortTypeRouter, Options: map[string]string{topology.OptRouterPort: "lrp1"}}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sc := topology.Scope{Switches: []string{"sw0"}, Ports: []string{"vm0"}}
	_, err := s.UpdateIn(sc, func(m *topology.Model) error {
		if m.Router("lr0") == nil || len(m.RouterPorts) != 2 {
			return fmt.Errorf("the scope lacks the router: %s", topology.Encode(m))
		}
		if p := m.Port("sw0-lr0"); p == nil || p.RouterPort() != "lrp0" || m.Port("sw1-lr0") != nil {
			return fmt.Errorf("the scope holds router-type ports %+v, want sw0's whole", m.Ports)
		}
		m.Ports = append(m.Ports, topology.Port{Name: "vm0", Switch: "sw0", Key: 2, Addresses: []string{"02:00:00:00:00:01 10.0.0.1"}})
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), `port "vm0": address 10.0.0.1 already belongs to port "sw0-lr0" on switch "sw0"`) {
		t.Fatalf("a VM at the gateway's address: %v", err)
	}
	if _, err := s.UpdateIn(sc, func(m *topology.Model) error {
		m.Ports = append(m.Ports, topology.Port{Name: "vm0", Switch: "sw0", Key: 2, Addresses: []string{"02:00:00:00:00:01 10.0.0.10"}})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// A named router-type port is read once.
	if _, err := s.UpdateIn(topology.Scope{Ports: []string{"sw0-lr0"}}, func(m *topology.Model) error {
		if n := len(m.Ports); n != 2 {
			return fmt.Errorf("the scope holds %d ports: %+v", n, m.Ports)
		}
		m.Port("sw0-lr0").Addresses = nil
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Snapshot(); m.Generation != 3 || m.Port("vm0") == nil || m.Port("sw0-lr0").Addresses != nil {
		t.Fatalf("after the scoped updates: %s", topology.Encode(m))
	}
}

// An agent's status, its pairs' health and its neighbours included, is
// no change of the model: publishing one wakes no watcher, and a model
// change after it is delivered alone.
func TestWatchIgnoresHealth(t *testing.T) {
	s := open1(t, server(t))
	evs := events(t, s)
	next(t, evs) // the empty model, whole
	if _, err := s.Update(func(m *topology.Model) error {
		m.Chassis = []topology.Chassis{{Name: "hv1", Encap: "geneve", IP: "192.0.2.1"}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, evs); ev.Changes == nil || len(ev.Changes.Chassis) != 1 {
		t.Fatalf("event %+v, want the chassis", ev)
	}
	for i, h := range []string{topology.HealthUp, topology.HealthDown, topology.HealthUp} {
		if err := s.PublishStatus(topology.Status{Chassis: "hv1", Generation: 1, Connected: true, Heartbeat: 2,
			Health: map[string]string{"pp": h, "pp2": topology.HealthDown}, Neighbours: map[string]string{"r2 10.0.2.12": fmt.Sprintf("02:00:00:00:02:%02x", i)},
			Updated: time.Now().Add(time.Duration(i) * time.Millisecond)}); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case ev := <-evs:
		t.Fatalf("a status was delivered as %+v", ev)
	case <-time.After(300 * time.Millisecond):
	}
	if _, err := s.Update(func(m *topology.Model) error {
		m.Switches = []topology.Switch{{Name: "sw0", Key: 1}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, evs); ev.Changes == nil || ev.Changes.Generation != 2 || len(ev.Changes.Chassis) != 0 || len(ev.Changes.Switches) != 1 {
		t.Fatalf("event %+v, want the switch alone", ev)
	}
}

// open1 opens a store on remote.
func open1(t *testing.T, remote string) *nbdb.Store {
	s, err := nbdb.Open(remote, nbdb.Options{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// UpdateIn shows a change only its scope (the named switches, and those
// of the named ports, with their ports; the named ports whole), validates
// it against that, and writes only what the change did.
func TestUpdateInReadsOnlyTheScope(t *testing.T) {
	s, err := nbdb.Open(server(t), nbdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Update(func(m *topology.Model) error {
		m.Chassis = append(m.Chassis, topology.Chassis{Name: "hv1", Encap: "geneve", IP: "192.0.2.1"})
		for _, sw := range []string{"sw1", "sw2"} {
			m.Switches = append(m.Switches, topology.Switch{Name: sw, Key: uint32(len(m.Switches) + 1)})
			for i := 1; i <= 3; i++ {
				m.Ports = append(m.Ports, topology.Port{Name: fmt.Sprintf("%s-p%d", sw, i), Switch: sw, Key: uint32(i),
					Addresses:    []string{fmt.Sprintf("02:00:00:00:%02d:%02d 10.0.%d.%d", len(m.Switches), i, len(m.Switches), i)},
					PortSecurity: []string{fmt.Sprintf("02:00:00:00:%02d:%02d", len(m.Switches), i)},
					Options:      map[string]string{"requested-chassis": "hv1"}})
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sc := topology.Scope{Switches: []string{"sw2"}, Ports: []string{"new", "sw1-p1"}}
	stored, err := s.UpdateIn(sc, func(m *topology.Model) error {
		if len(m.Switches) != 2 || m.Switch("sw1") == nil || m.Switch("sw2") == nil {
			return fmt.Errorf("scope holds switches %+v, want sw2 and the named port's sw1", m.Switches)
		}
		if len(m.Ports) != 6 || len(m.Port("sw1-p2").PortSecurity) != 0 {
			return fmt.Errorf("scope holds %d ports, want the 3 of both switches, those not named without port security", len(m.Ports))
		}
		if p := m.Port("sw1-p1"); len(p.PortSecurity) != 1 || p.RequestedChassis() != "hv1" {
			return fmt.Errorf("the named port was not read whole: %+v", p)
		}
		if p := m.Port("sw2-p1"); p.Switch != "sw2" || p.Key != 1 || len(p.Addresses) != 1 {
			return fmt.Errorf("sw2-p1 read as %+v, want its switch, key and addresses", p)
		}
		m.Ports = append(m.Ports, topology.Port{Name: "new", Switch: "sw2", Key: 4})
		m.Port("sw1-p1").Options = nil
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if stored.Generation != 2 {
		t.Fatalf("generation %d after the scoped update, want 2", stored.Generation)
	}
	m, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Ports) != 7 || m.Port("new") == nil || m.Port("sw1-p1").RequestedChassis() != "" ||
		len(m.Port("sw2-p1").PortSecurity) != 1 || m.Port("sw2-p2").RequestedChassis() != "hv1" {
		t.Fatalf("after the scoped update the model is %+v", m.Ports)
	}
	// A clash with a port outside the named ones but inside the scope is
	// found; the model is unchanged.
	_, err = s.UpdateIn(topology.Scope{Switches: []string{"sw2"}, Ports: []string{"dup"}}, func(m *topology.Model) error {
		m.Ports = append(m.Ports, topology.Port{Name: "dup", Switch: "sw2", Key: 9, Addresses: []string{"02:00:00:00:02:01"}})
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "already belongs to port") {
		t.Fatalf("a MAC clash inside the scope: %v, want refused", err)
	}
	if after, _ := s.Snapshot(); after.Generation != 2 || after.Port("dup") != nil {
		t.Fatalf("a refused scoped update changed the model: generation %d", after.Generation)
	}
}

// A scoped change of a port with DHCP options validates them: the scope
// holds every DHCP options set.
func TestUpdateInReadsDHCPOptions(t *testing.T) {
	s := open1(t, server(t))
	if _, err := s.Update(func(m *topology.Model) error {
		m.Switches = []topology.Switch{{Name: "sw0", Key: 1}}
		m.DHCPOptions = []topology.DHCPOptions{{Name: "d6", CIDR: "fd00::/64", Options: map[string]string{"server_id": "02:00:00:00:00:01"}}}
		m.Ports = []topology.Port{{Name: "p1", Switch: "sw0", Key: 1, DHCPv6Options: "d6"}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateIn(topology.Scope{Ports: []string{"p1"}}, func(m *topology.Model) error {
		if m.DHCPOption("d6") == nil {
			return fmt.Errorf("the scope lacks the DHCP options: %+v", m)
		}
		m.Port("p1").Enabled = new(bool)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Snapshot(); m.Port("p1").IsEnabled() || m.Port("p1").DHCPv6Options != "d6" {
		t.Fatalf("after the scoped update: %+v", m.Port("p1"))
	}
}

// A scoped change of a port on a switch with load balancers validates
// its addresses against their VIPs: the scope holds every load balancer.
func TestUpdateInReadsLoadBalancers(t *testing.T) {
	s := open1(t, server(t))
	if _, err := s.Update(func(m *topology.Model) error {
		m.Switches = []topology.Switch{{Name: "sw0", Key: 1, LoadBalancers: []string{"lb"}}}
		m.LoadBalancers = []topology.LoadBalancer{{Name: "lb", Key: 1, Protocol: "udp", VIPs: map[string]string{"10.0.0.53": "10.0.0.1"}}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sc := topology.Scope{Switches: []string{"sw0"}, Ports: []string{"p1"}}
	_, err := s.UpdateIn(sc, func(m *topology.Model) error {
		if m.LoadBalancer("lb") == nil {
			return fmt.Errorf("the scope lacks the load balancer: %+v", m)
		}
		m.Ports = append(m.Ports, topology.Port{Name: "p1", Switch: "sw0", Key: 1, Addresses: []string{"02:00:00:00:00:01 10.0.0.53"}})
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), `port "p1": address 10.0.0.53 is a VIP of load balancer "lb" on switch "sw0"`) {
		t.Fatalf("a port at a VIP: %v", err)
	}
	if _, err := s.UpdateIn(sc, func(m *topology.Model) error {
		m.Ports = append(m.Ports, topology.Port{Name: "p1", Switch: "sw0", Key: 1, Addresses: []string{"02:00:00:00:00:01 10.0.0.1"}})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Snapshot(); m.Generation != 2 || m.Port("p1") == nil {
		t.Fatalf("after the scoped update: %s", topology.Encode(m))
	}
}
