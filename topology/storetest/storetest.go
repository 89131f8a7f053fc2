// Package storetest is the contract every topology.Store passes: the same
// tests run against the file store, the in-memory store and the OVSDB
// store.
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chainwire/chainwire/topology"
)

// Run runs the contract against stores made by open (a fresh, empty one
// per test).
func Run(t *testing.T, open func(t *testing.T) topology.Store) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, topology.Store)
	}{
		{"EmptyStoreIsAnEmptyModel", emptyStore},
		{"UpdateStoresAndBumpsTheGeneration", updateStores},
		{"RefusedUpdateChangesNothing", refusedUpdate},
		{"ConcurrentWritersAllLand", concurrentWriters},
		{"WatchSeesEveryChange", watchSeesChanges},
		{"StatusRoundTrip", statusRoundTrip},
		{"PolicyRoundTrip", policyRoundTrip},
		{"RefusedPolicyChangesNothing", refusedPolicy},
		{"WatchSeesPolicyChanges", watchSeesPolicy},
		{"ServicesRoundTrip", servicesRoundTrip},
		{"RefusedServicesChangeNothing", refusedServices},
		{"WatchSeesServicesChanges", watchSeesServices},
		{"LoadBalancersRoundTrip", lbRoundTrip},
		{"RefusedLoadBalancersChangeNothing", refusedLBs},
		{"WatchSeesLoadBalancerChanges", watchSeesLBs},
		{"OptionsRoundTrip", optionsRoundTrip},
		{"RefusedOptionsChangeNothing", refusedOptions},
		{"WatchSeesOptionChangesNotHealth", watchSeesOptions},
		{"RoutersRoundTrip", routersRoundTrip},
		{"RefusedRoutersChangeNothing", refusedRouters},
		{"WatchSeesRouterChanges", watchSeesRouters},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func sample(m *topology.Model) error {
	m.Chassis = append(m.Chassis, topology.Chassis{Name: "hv1", Encap: "geneve", IP: "192.0.2.1"})
	m.Switches = append(m.Switches, topology.Switch{Name: "sw0", Key: 1})
	m.Ports = append(m.Ports,
		topology.Port{Name: "p1", Switch: "sw0", Key: 1, Addresses: []string{"unknown", "02:00:00:00:00:01 10.0.0.1"},
			Options: map[string]string{"requested-chassis": "hv1"}},
		topology.Port{Name: "v1", Switch: "sw0", Key: 2}, topology.Port{Name: "v2", Switch: "sw0", Key: 3})
	m.PortPairs = append(m.PortPairs, topology.PortPair{Name: "pp", Switch: "sw0", InPort: "v1", OutPort: "v2", Weight: 2})
	m.PortPairGroups = append(m.PortPairGroups, topology.PortPairGroup{Name: "pg", Pairs: []string{"pp"}})
	m.PortChains = append(m.PortChains, topology.PortChain{Name: "pc", Switch: "sw0", Key: 7, Groups: []string{"pg"}})
	m.Classifiers = append(m.Classifiers, topology.Classifier{Name: "cl", Switch: "sw0", Chain: "pc", Port: "p1",
		Direction: topology.EntryLport, Path: topology.Bidirectional, Match: "tcp.dst == 80", Key: 3})
	return nil
}

func emptyStore(t *testing.T, s topology.Store) {
	m, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if m.Generation != 0 || len(m.Switches) != 0 || len(m.Ports) != 0 {
		t.Fatalf("a new store holds %+v", m)
	}
}

func updateStores(t *testing.T, s topology.Store) {
	stored, err := s.Update(sample)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Generation != 1 {
		t.Fatalf("generation %d after the first write", stored.Generation)
	}
	got, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	want := &topology.Model{}
	sample(want)
	want.Generation = 1
	want.Normalize()
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(stored, want) {
		t.Fatalf("stored\n%s\nread back\n%s\nwant\n%s", topology.Encode(stored), topology.Encode(got), topology.Encode(want))
	}
	// An edit, a delete, and emptied lists.
	if _, err := s.Update(func(m *topology.Model) error {
		m.Port("p1").Addresses = nil
		m.Port("p1").Options = nil
		m.Classifiers = nil
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Snapshot()
	if p := got.Port("p1"); got.Generation != 2 || len(p.Addresses) != 0 || p.Options != nil || len(got.Classifiers) != 0 {
		t.Fatalf("after the edit: %s", topology.Encode(got))
	}
}

func refusedUpdate(t *testing.T, s topology.Store) {
	if _, err := s.Update(sample); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Snapshot()
	if _, err := s.Update(func(m *topology.Model) error { return fmt.Errorf("no") }); err == nil {
		t.Fatal("a failing update succeeded")
	}
	if _, err := s.Update(func(m *topology.Model) error {
		m.Ports = append(m.Ports, topology.Port{Name: "dup", Switch: "sw0", Key: 1})
		return nil
	}); err == nil {
		t.Fatal("an update with a duplicate key succeeded")
	}
	after, _ := s.Snapshot()
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("a refused update changed the model:\n%s\n%s", topology.Encode(before), topology.Encode(after))
	}
}

// Writers racing on one model each allocate keys from what they read: all
// their ports land, with distinct keys, one generation each.
func concurrentWriters(t *testing.T, s topology.Store) {
	if _, err := s.Update(func(m *topology.Model) error {
		m.Switches = []topology.Switch{{Name: "sw0", Key: 1}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	const writers, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				_, err := s.Update(func(m *topology.Model) error {
					key, err := m.FreePortKey("sw0")
					if err != nil {
						return err
					}
					m.Ports = append(m.Ports, topology.Port{Name: fmt.Sprintf("w%d-%d", w, i), Switch: "sw0", Key: key})
					return nil
				})
				if err != nil {
					errs <- err
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	m, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	keys := map[uint32]bool{}
	for _, p := range m.Ports {
		keys[p.Key] = true
	}
	if len(m.Ports) != writers*each || len(keys) != writers*each || m.Generation != 1+writers*each {
		t.Fatalf("%d ports with %d distinct keys at generation %d; want %d, %d, %d",
			len(m.Ports), len(keys), m.Generation, writers*each, writers*each, 1+writers*each)
	}
}

// watchSeesChanges follows a store's watch as an agent does, applying
// what it reports to an index, and checks it arrives at what the store
// holds.
func watchSeesChanges(t *testing.T, s topology.Store) {
	want := follow(t, s)
	want(0)
	s.Update(sample)
	want(1)
	s.Update(func(m *topology.Model) error { m.Port("v1").Addresses = []string{"02:00:00:00:00:0a"}; return nil })
	want(2)
	if _, err := s.Update(func(m *topology.Model) error {
		m.Classifiers = nil
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want(3)
}

// follow watches s, applying what it reports to an index; the function it
// returns waits until the index is at generation g, checks that it holds
// what the store does, and returns the refs the changes since the last
// call named (nil if it got a whole model).
func follow(t *testing.T, s topology.Store) func(g uint64) []topology.Ref {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	type applied struct {
		m    *topology.Model
		refs []topology.Ref
	}
	models := make(chan applied, 100)
	go func() {
		var ix *topology.Index
		s.Watch(ctx, func(ev topology.Event) {
			var err error
			var refs []topology.Ref
			switch {
			case ev.Err != nil:
				return
			case ev.Model != nil:
				ix, err = topology.NewIndex(ev.Model)
			case ix == nil:
				t.Errorf("changes before a whole model")
				return
			default:
				refs = ev.Changes.Refs()
				err = ix.Apply(ev.Changes)
			}
			if err != nil {
				t.Errorf("watch reported what does not apply: %v", err)
				return
			}
			models <- applied{ix.Model(), refs}
		})
	}()
	return func(g uint64) []topology.Ref {
		t.Helper()
		var refs []topology.Ref
		deadline := time.After(10 * time.Second)
		for {
			select {
			case got := <-models:
				refs = append(refs, got.refs...)
				if got.m.Generation > g {
					t.Fatalf("watch jumped to generation %d, expected %d", got.m.Generation, g)
				}
				if got.m.Generation < g {
					continue
				}
				snap, err := s.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				if a, b := jsonOf(got.m), jsonOf(snap); a != b {
					t.Fatalf("watch arrived at\n%s\nthe store holds\n%s", a, b)
				}
				return refs
			case <-deadline:
				t.Fatalf("watch never delivered generation %d", g)
			}
		}
	}
}

// A status comes back as published, the pairs' health too; a later one
// replaces it whole (a pair no longer probed has no health).
func statusRoundTrip(t *testing.T, s topology.Store) {
	if _, err := s.Update(sample); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	st := topology.Status{Chassis: "hv1", Generation: 1, Connected: true, Flows: 42, Error: "x",
		Warnings: []string{"w1"}, Hostname: "host", PID: 7, Heartbeat: 2, Updated: now}
	neighbours := []map[string]string{nil, {"r2 10.0.2.12": "02:00:00:00:02:0c", "r2 fd00:2::12": "02:00:00:00:02:0c"},
		{"r2 10.0.2.12": "02:00:00:00:02:0d"}, nil}
	for i, h := range []map[string]string{nil, {"pp": topology.HealthUp, "pp-old": topology.HealthDown}, {"pp": topology.HealthDown}, nil} {
		st.Health, st.Neighbours = maps.Clone(h), maps.Clone(neighbours[i])
		st.Updated = st.Updated.Add(time.Second)
		if err := s.PublishStatus(st); err != nil {
			t.Fatal(err)
		}
		// The store keeps what was published, not the maps.
		for p := range st.Health {
			st.Health[p] = "changed"
		}
		for k := range st.Neighbours {
			st.Neighbours[k] = "changed"
		}
		sts, err := s.Statuses()
		if err != nil {
			t.Fatal(err)
		}
		want := st
		want.Health, want.Neighbours = h, neighbours[i]
		if len(sts) != 1 || !reflect.DeepEqual(sts[0], want) {
			t.Fatalf("statuses %+v, want [%+v]", sts, want)
		}
	}
}

func jsonOf(m *topology.Model) string {
	b, _ := json.Marshal(m)
	return string(b)
}

func dscp(v int) *int { return &v }

// policy adds a port group, an address set, ACLs on a switch and on the
// group, and QoS rules to the sample.
func policy(m *topology.Model) error {
	sample(m)
	m.PortGroups = append(m.PortGroups, topology.PortGroup{Name: "web", Ports: []string{"v1", "p1"}})
	m.AddressSets = append(m.AddressSets, topology.AddressSet{Name: "admins", Addresses: []string{"10.9.0.0/16", "10.8.0.1"}})
	m.ACLs = append(m.ACLs,
		topology.ACL{Name: "a1", Key: 1, Switch: "sw0", Direction: topology.FromLport, Priority: 1001,
			Match: `inport == @web && ip4.src == $admins`, Action: topology.ACLAllowRelated, Log: true},
		topology.ACL{Name: "a2", Key: 16777215, PortGroup: "web", Direction: topology.ToLport, Priority: 0,
			Match: `outport == "p1" && ip4.src == $web_ip4`, Action: topology.ACLReject})
	m.QoS = append(m.QoS,
		topology.QoS{Name: "qos1", Key: 1, Switch: "sw0", Direction: topology.FromLport, Priority: 10, Match: "ip4", DSCP: dscp(0)},
		topology.QoS{Name: "qos2", Key: 65535, Switch: "sw0", Direction: topology.ToLport, Priority: 32767, Match: "",
			DSCP: dscp(63), Rate: 1<<32 - 1, Burst: 1})
	return nil
}

// roundTrip writes fixture, then edit, then del, and checks each time that
// the store holds what was written.
func roundTrip(t *testing.T, s topology.Store, fixture, edit, del func(*topology.Model) error) {
	t.Helper()
	want := &topology.Model{}
	for gen, change := range []func(*topology.Model) error{fixture, edit, del} {
		if _, err := s.Update(change); err != nil {
			t.Fatal(err)
		}
		want.Generation = uint64(gen + 1)
		change(want)
		snapshotIs(t, s, want)
	}
}

// refusal is a change a store must refuse.
type refusal struct {
	what string
	edit func(m *topology.Model)
}

// refuses writes fixture, then each change, which must be refused and
// leave the model as it was.
func refuses(t *testing.T, s topology.Store, fixture func(*topology.Model) error, bad []refusal) {
	t.Helper()
	if _, err := s.Update(fixture); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Snapshot()
	for _, b := range bad {
		if _, err := s.Update(func(m *topology.Model) error { b.edit(m); return nil }); err == nil {
			t.Errorf("%s: the update succeeded", b.what)
		}
		if after, _ := s.Snapshot(); !reflect.DeepEqual(before, after) {
			t.Fatalf("%s: a refused update changed the model:\n%s\n%s", b.what, topology.Encode(before), topology.Encode(after))
		}
	}
}

// snapshotIs checks the store holds want.
func snapshotIs(t *testing.T, s topology.Store, want *topology.Model) {
	t.Helper()
	got, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	want.Normalize()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("the store holds\n%s\nwant\n%s", topology.Encode(got), topology.Encode(want))
	}
}

// ACLs, port groups, address sets and QoS rules come back as written,
// every field (extreme values, false and empty ones too), after adds,
// edits and deletes.
func policyRoundTrip(t *testing.T, s topology.Store) {
	roundTrip(t, s, policy, func(m *topology.Model) error {
		a := m.ACL("a1")
		a.Action, a.Log, a.Priority, a.Match = topology.ACLDrop, false, 32767, "ip6.src == $admins"
		m.PortGroup("web").Ports = nil
		m.AddressSet("admins").Addresses = []string{"fd00::/64", "fd00:1::1"}
		m.ACL("a2").Match = "ip4"
		q := m.QoSRule("qos2")
		q.DSCP = dscp(1)
		return nil
	}, func(m *topology.Model) error {
		m.ACLs, m.QoS = m.ACLs[1:], nil // a2 stays, on the group
		m.AddressSets = nil
		return nil
	})
}

// A refused change of the new kinds (a broken reference, a deletion of
// what a rule needs, a duplicate) leaves the model as it was.
func refusedPolicy(t *testing.T, s topology.Store) {
	refuses(t, s, policy, []refusal{
		{"a port a group holds deleted", func(m *topology.Model) {
			m.Ports = slices.DeleteFunc(m.Ports, func(p topology.Port) bool { return p.Name == "p1" })
			m.Classifiers = nil
		}},
		{"a set a match uses deleted", func(m *topology.Model) { m.AddressSets = nil }},
		{"a group an ACL applies to deleted", func(m *topology.Model) { m.PortGroups = nil }},
		{"a match naming no port", func(m *topology.Model) { m.ACL("a1").Match = `inport == "nope"` }},
		{"a duplicate ACL", func(m *topology.Model) {
			a := *m.ACL("a1")
			a.Name, a.Key = "a3", 3
			m.ACLs = append(m.ACLs, a)
		}},
		{"a duplicate QoS key", func(m *topology.Model) { m.QoSRule("qos2").Key = 1 }},
		{"a bad address", func(m *topology.Model) { m.AddressSet("admins").Addresses = []string{"10.0.0.256"} }},
	})
}

// Watch reports changes of the new kinds as changes, object by object.
func watchSeesPolicy(t *testing.T, s topology.Store) {
	want := follow(t, s)
	want(0)
	s.Update(sample)
	want(1)
	if _, err := s.Update(func(m *topology.Model) error {
		p := &topology.Model{}
		policy(p)
		m.PortGroups, m.AddressSets, m.ACLs, m.QoS = p.PortGroups, p.AddressSets, p.ACLs, p.QoS
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(want(2)); got != `[ACL "a1" ACL "a2" port group "web" address set "admins" QoS rule "qos1" QoS rule "qos2"]` {
		t.Errorf("changes named %s", got)
	}
	s.Update(func(m *topology.Model) error {
		m.ACL("a2").Log = true
		m.AddressSet("admins").Addresses = []string{"10.7.0.1"}
		m.QoS = nil
		return nil
	})
	if got := fmt.Sprint(want(3)); got != `[ACL "a2" address set "admins" QoS rule "qos1" QoS rule "qos2"]` {
		t.Errorf("changes named %s", got)
	}
}

// The DHCP options and DNS records of the services fixture.
const (
	dhcpv4ID = "0b6c5a8e-0d3c-4f39-9a51-2f8e7c6d5b4a"
	dhcpv6ID = "f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9"
)

// services adds to the sample a DHCPv4 and a DHCPv6 options set, two
// ports using them, and two DNS records.
func services(m *topology.Model) error {
	sample(m)
	m.DHCPOptions = append(m.DHCPOptions,
		topology.DHCPOptions{Name: dhcpv4ID, CIDR: "10.0.0.0/24", Options: map[string]string{"server_id": "10.0.0.254",
			"server_mac": "02:00:00:00:00:fe", "lease_time": "4294967295", "router": "10.0.0.1", "dns_server": "{10.0.0.53, 10.0.1.53}",
			"domain_name": `"example.org"`, "mtu": "1442"}},
		topology.DHCPOptions{Name: dhcpv6ID, CIDR: "fd00::/64", Options: map[string]string{"server_id": "02:00:00:00:00:fe",
			"dns_server": "{fd00::53}", "dhcpv6_stateless": "false"}})
	m.Port("p1").DHCPv4Options, m.Port("p1").DHCPv6Options = dhcpv4ID, dhcpv6ID
	m.Port("v1").DHCPv4Options = dhcpv4ID
	m.DNSRecords = append(m.DNSRecords,
		topology.DNSRecord{Name: "sw0/vm1", Switch: "sw0", Hostname: "vm1", Addresses: []string{"10.0.0.1", "fd00::1"}},
		topology.DNSRecord{Name: "sw0/db.example.org", Switch: "sw0", Hostname: "db.example.org", Addresses: []string{"10.0.0.9"}})
	return nil
}

// DHCP options, the ports' references to them and DNS records come back
// as written, after adds, edits and deletes.
func servicesRoundTrip(t *testing.T, s topology.Store) {
	roundTrip(t, s, services, func(m *topology.Model) error {
		m.DHCPOption(dhcpv4ID).Options = map[string]string{"server_id": "10.0.0.253", "server_mac": "02:00:00:00:00:fd", "lease_time": "1"}
		m.DHCPOption(dhcpv6ID).CIDR = "fd01::/48"
		m.Port("p1").DHCPv6Options = ""
		m.Port("v2").DHCPv6Options = dhcpv6ID
		m.DNSRecord("sw0/vm1").Addresses = []string{"fd00::2"}
		return nil
	}, func(m *topology.Model) error {
		m.Port("v2").DHCPv6Options = ""
		m.DHCPOptions = slices.DeleteFunc(m.DHCPOptions, func(o topology.DHCPOptions) bool { return o.Name == dhcpv6ID })
		m.DNSRecords = slices.DeleteFunc(m.DNSRecords, func(r topology.DNSRecord) bool { return r.Name == "sw0/vm1" })
		return nil
	})
}

// A refused change of the DHCP options or DNS records leaves the model as
// it was.
func refusedServices(t *testing.T, s topology.Store) {
	refuses(t, s, services, []refusal{
		{"options a port uses deleted", func(m *topology.Model) { m.DHCPOptions = nil }},
		{"options without lease_time", func(m *topology.Model) { delete(m.DHCPOption(dhcpv4ID).Options, "lease_time") }},
		{"IPv6 options as a port's DHCPv4 ones", func(m *topology.Model) { m.Port("v2").DHCPv4Options = dhcpv6ID }},
		{"a record without addresses", func(m *topology.Model) { m.DNSRecord("sw0/vm1").Addresses = nil }},
		{"a record of no switch", func(m *topology.Model) {
			m.DNSRecords = append(m.DNSRecords, topology.DNSRecord{Name: "sw9/vm1", Switch: "sw9", Hostname: "vm1", Addresses: []string{"10.0.0.1"}})
		}},
	})
}

// Watch reports changes of DHCP options and DNS records as changes.
func watchSeesServices(t *testing.T, s topology.Store) {
	want := follow(t, s)
	want(0)
	s.Update(sample)
	want(1)
	if _, err := s.Update(func(m *topology.Model) error {
		p := &topology.Model{}
		services(p)
		m.Ports, m.DHCPOptions, m.DNSRecords = p.Ports, p.DHCPOptions, p.DNSRecords
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(want(2)); got != `[port "p1" port "v1" DHCP options "`+dhcpv4ID+`" DHCP options "`+dhcpv6ID+
		`" DNS record "sw0/db.example.org" DNS record "sw0/vm1"]` {
		t.Errorf("changes named %s", got)
	}
	s.Update(func(m *topology.Model) error {
		m.DHCPOption(dhcpv6ID).Options["dhcpv6_stateless"] = "true"
		m.DNSRecords = m.DNSRecords[:1]
		return nil
	})
	if got := fmt.Sprint(want(3)); got != `[DHCP options "`+dhcpv6ID+`" DNS record "sw0/vm1"]` {
		t.Errorf("changes named %s", got)
	}
}

// loadBalancers adds to the sample a TCP load balancer with a VIP and
// port over two backends, and a UDP one with an IPv6 IP-only VIP, both
// on sw0.
func loadBalancers(m *topology.Model) error {
	sample(m)
	m.LoadBalancers = append(m.LoadBalancers,
		topology.LoadBalancer{Name: "web", Key: 1, Protocol: "tcp", VIPs: map[string]string{"10.0.0.100:80": "10.0.0.1:8080,10.0.0.2:8080"}},
		topology.LoadBalancer{Name: "dns", Key: 65535, Protocol: "udp", VIPs: map[string]string{"fd00::53": "fd00::1,fd00::2"}})
	m.Switch("sw0").LoadBalancers = []string{"web", "dns"}
	return nil
}

// Load balancers and the switches' lists come back as written, after
// adds, edits and deletes.
func lbRoundTrip(t *testing.T, s topology.Store) {
	roundTrip(t, s, loadBalancers, func(m *topology.Model) error {
		web := m.LoadBalancer("web")
		web.Protocol, web.Key = "udp", 2
		web.VIPs = map[string]string{"[fd00::100]:53": "[fd00::1]:53", "10.0.0.100:53": "10.0.0.2:53"}
		m.Switch("sw0").LoadBalancers = []string{"web"}
		return nil
	}, func(m *topology.Model) error {
		m.Switch("sw0").LoadBalancers = nil
		m.LoadBalancers = slices.DeleteFunc(m.LoadBalancers, func(lb topology.LoadBalancer) bool { return lb.Name == "web" })
		return nil
	})
}

// A refused change of the load balancers leaves the model as it was.
func refusedLBs(t *testing.T, s topology.Store) {
	refuses(t, s, loadBalancers, []refusal{
		{"a load balancer a switch uses deleted", func(m *topology.Model) { m.LoadBalancers = nil }},
		{"a switch using no such load balancer", func(m *topology.Model) { m.Switch("sw0").LoadBalancers = []string{"nope"} }},
		{"a duplicate key", func(m *topology.Model) { m.LoadBalancer("dns").Key = 1 }},
		{"a backend without a port", func(m *topology.Model) { m.LoadBalancer("web").VIPs["10.0.0.100:80"] = "10.0.0.1" }},
		{"a VIP at a port's address", func(m *topology.Model) { m.LoadBalancer("web").VIPs["10.0.0.1:80"] = "10.0.0.2:80" }},
		{"a port at a VIP", func(m *topology.Model) { m.Port("v1").Addresses = []string{"02:00:00:00:00:0a fd00::53"} }},
	})
}

// Watch reports changes of load balancers as changes.
func watchSeesLBs(t *testing.T, s topology.Store) {
	want := follow(t, s)
	want(0)
	s.Update(sample)
	want(1)
	if _, err := s.Update(func(m *topology.Model) error {
		p := &topology.Model{}
		loadBalancers(p)
		m.Switches, m.LoadBalancers = p.Switches, p.LoadBalancers
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(want(2)); got != `[switch "sw0" load balancer "dns" load balancer "web"]` {
		t.Errorf("changes named %s", got)
	}
	s.Update(func(m *topology.Model) error {
		m.LoadBalancer("web").VIPs["10.0.0.100:443"] = "10.0.0.1:443"
		return nil
	})
	if got := fmt.Sprint(want(3)); got != `[load balancer "web"]` {
		t.Errorf("changes named %s", got)
	}
}

// withOptions is the sample with a health-checked pair in a group that
// fails open.
func withOptions(m *topology.Model) error {
	sample(m)
	m.PortPair("pp").Options = map[string]string{topology.OptHealthCheck: "true", topology.OptHealthInterval: "0.5",
		topology.OptHealthTimeout: "0.25", topology.OptHealthSuccess: "1", topology.OptHealthFailure: "100"}
	m.PortPairGroup("pg").Options = map[string]string{topology.OptFailMode: topology.FailModeOpen, topology.OptTap: "false"}
	return nil
}

// The options of pairs and groups come back as written, after adds,
// edits (one key changed, one gone) and their removal.
func optionsRoundTrip(t *testing.T, s topology.Store) {
	roundTrip(t, s, withOptions, func(m *topology.Model) error {
		m.PortPair("pp").Options = map[string]string{topology.OptHealthCheck: "false", topology.OptHealthInterval: "60"}
		m.PortPairGroup("pg").Options = map[string]string{topology.OptTap: "true"}
		return nil
	}, func(m *topology.Model) error {
		m.PortPair("pp").Options = nil
		m.PortPairGroup("pg").Options = nil
		return nil
	})
}

// A refused option leaves the model as it was.
func refusedOptions(t *testing.T, s topology.Store) {
	refuses(t, s, withOptions, []refusal{
		{"an unknown pair option", func(m *topology.Model) { m.PortPair("pp").Options["probe"] = "icmp" }},
		{"a bad interval", func(m *topology.Model) { m.PortPair("pp").Options[topology.OptHealthInterval] = "0" }},
		{"a timeout longer than the interval", func(m *topology.Model) { m.PortPair("pp").Options[topology.OptHealthTimeout] = "1" }},
		{"a bad fail-mode", func(m *topology.Model) { m.PortPairGroup("pg").Options[topology.OptFailMode] = "drop" }},
		{"an unknown group option", func(m *topology.Model) { m.PortPairGroup("pg").Options["mirror"] = "true" }},
	})
}

// Watch reports option changes of pairs and groups as changes of them;
// a status (the pairs' health) is no change of the model.
func watchSeesOptions(t *testing.T, s topology.Store) {
	want := follow(t, s)
	want(0)
	s.Update(sample)
	want(1)
	if _, err := s.Update(func(m *topology.Model) error {
		p := &topology.Model{}
		withOptions(p)
		m.PortPair("pp").Options, m.PortPairGroup("pg").Options = p.PortPair("pp").Options, p.PortPairGroup("pg").Options
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(want(2)); got != `[port pair "pp" port pair group "pg"]` {
		t.Errorf("changes named %s", got)
	}
	for i, h := range []string{topology.HealthUp, topology.HealthDown} {
		if err := s.PublishStatus(topology.Status{Chassis: "hv1", Generation: 2, Connected: true, Heartbeat: 2,
			Health: map[string]string{"pp": h}, Updated: time.Now().UTC().Add(time.Duration(i) * time.Second)}); err != nil {
			t.Fatal(err)
		}
	}
	s.Update(func(m *topology.Model) error { delete(m.PortPair("pp").Options, topology.OptHealthFailure); return nil })
	if got := fmt.Sprint(want(3)); got != `[port pair "pp"]` {
		t.Errorf("changes named %s: the health in a status became a change of the model", got)
	}
	s.Update(func(m *topology.Model) error { m.PortPairGroup("pg").Options = nil; return nil })
	if got := fmt.Sprint(want(4)); got != `[port pair group "pg"]` {
		t.Errorf("changes named %s", got)
	}
}

// routers adds to the sample a second switch and router lr0 joining both
// (lrp0 on sw0, lrp1 with IPv4 and IPv6 networks on sw1, through
// router-type ports, one with addresses "router"), with static routes
// through a port and without one.
func routers(m *topology.Model) error {
	sample(m)
	m.Switches = append(m.Switches, topology.Switch{Name: "sw1", Key: 2})
	m.Routers = append(m.Routers, topology.Router{Name: "lr0", Key: 16777215, Routes: []topology.StaticRoute{
		{Prefix: "0.0.0.0/0", NextHop: "10.0.0.254"},
		{Prefix: "10.0.3.0/24", NextHop: "10.0.1.5", Port: "lrp1"},
		{Prefix: "fd00:9::/64", NextHop: "fd00:1::9"},
	}})
	m.RouterPorts = append(m.RouterPorts,
		topology.RouterPort{Name: "lrp0", Router: "lr0", Key: 1, MAC: "02:00:00:00:ff:00", Networks: []string{"10.0.0.253/24"}},
		topology.RouterPort{Name: "lrp1", Router: "lr0", Key: 32767, MAC: "02:00:00:00:ff:01", Networks: []string{"10.0.1.1/24", "fd00:1::1/64"}})
	m.Ports = append(m.Ports,
		topology.Port{Name: "sw0-lr0", Switch: "sw0", Key: 4, Type: topology.PortTypeRouter, Addresses: []string{"router"},
			Options: map[string]string{topology.OptRouterPort: "lrp0"}},
		topology.Port{Name: "sw1-lr0", Switch: "sw1", Key: 1, Type: topology.PortTypeRouter,
			Options: map[string]string{topology.OptRouterPort: "lrp1"}})
	return nil
}

// Routers, their ports and routes, and router-type ports come back as
// written, after adds, edits and deletes.
func routersRoundTrip(t *testing.T, s topology.Store) {
	roundTrip(t, s, routers, func(m *topology.Model) error {
		r := m.Router("lr0")
		r.Key = 9
		r.Routes = []topology.StaticRoute{{Prefix: "10.0.3.0/24", NextHop: "10.0.0.5"}, {Prefix: "10.0.4.0/24", NextHop: "10.0.1.6", Port: "lrp1"}}
		lrp := m.RouterPort("lrp1")
		lrp.MAC, lrp.Key, lrp.Networks = "02:00:00:00:ff:09", 2, []string{"10.0.1.1/24"}
		m.Port("sw1-lr0").Addresses = []string{"router"}
		return nil
	}, func(m *topology.Model) error {
		m.Router("lr0").Routes = nil
		m.Ports = slices.DeleteFunc(m.Ports, func(p topology.Port) bool { return p.Name == "sw1-lr0" })
		m.RouterPorts = slices.DeleteFunc(m.RouterPorts, func(rp topology.RouterPort) bool { return rp.Name == "lrp1" })
		m.Port("sw0-lr0").Type, m.Port("sw0-lr0").Options, m.Port("sw0-lr0").Addresses = "", nil, nil // a VM's port again
		return nil
	})
}

// A refused change of the routers leaves the model as it was.
func refusedRouters(t *testing.T, s topology.Store) {
	refuses(t, s, routers, []refusal{
		{"a router with ports deleted", func(m *topology.Model) { m.Routers = nil }},
		{"a router port a switch port joins deleted", func(m *topology.Model) {
			m.RouterPorts = slices.DeleteFunc(m.RouterPorts, func(rp topology.RouterPort) bool { return rp.Name == "lrp0" })
		}},
		{"a router with a switch's key", func(m *topology.Model) { m.Router("lr0").Key = 1 }},
		{"a router port key taken", func(m *topology.Model) { m.RouterPort("lrp1").Key = 1 }},
		{"overlapping networks", func(m *topology.Model) { m.RouterPort("lrp1").Networks = []string{"10.0.0.129/25"} }},
		{"a VM with the gateway's IP", func(m *topology.Model) { m.Port("v1").Addresses = []string{"02:00:00:00:00:0a 10.0.0.253"} }},
		{"a router port on two switches", func(m *topology.Model) { m.Port("sw1-lr0").Options[topology.OptRouterPort] = "lrp0" }},
		{"a nexthop on no network", func(m *topology.Model) { m.Router("lr0").Routes[0].NextHop = "10.0.7.1" }},
		{"two routes, one prefix", func(m *topology.Model) { m.Router("lr0").Routes[1].Prefix = "0.0.0.0/0" }},
		{"a router-type port with port security", func(m *topology.Model) { m.Port("sw1-lr0").PortSecurity = []string{"02:00:00:00:ff:01"} }},
		{"an unknown port type", func(m *topology.Model) { m.Port("v1").Type = "localnet" }},
	})
}

// Watch reports changes of routers, router ports and port types as
// changes of them.
func watchSeesRouters(t *testing.T, s topology.Store) {
	want := follow(t, s)
	want(0)
	s.Update(sample)
	want(1)
	if _, err := s.Update(func(m *topology.Model) error {
		p := &topology.Model{}
		routers(p)
		m.Switches, m.Ports, m.Routers, m.RouterPorts = p.Switches, p.Ports, p.Routers, p.RouterPorts
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(want(2)); got != `[switch "sw1" port "sw0-lr0" port "sw1-lr0" router "lr0" router port "lrp0" router port "lrp1"]` {
		t.Errorf("changes named %s", got)
	}
	s.Update(func(m *topology.Model) error {
		m.Router("lr0").Routes = m.Router("lr0").Routes[1:]
		m.RouterPort("lrp0").MAC = "02:00:00:00:ff:0a"
		return nil
	})
	if got := fmt.Sprint(want(3)); got != `[router "lr0" router port "lrp0"]` {
		t.Errorf("changes named %s", got)
	}
	s.Update(func(m *topology.Model) error {
		m.Ports = slices.DeleteFunc(m.Ports, func(p topology.Port) bool { return p.Name == "sw1-lr0" })
		m.Router("lr0").Routes = nil
		m.RouterPorts = slices.DeleteFunc(m.RouterPorts, func(rp topology.RouterPort) bool { return rp.Name == "lrp1" })
		return nil
	})
	if got := fmt.Sprint(want(4)); got != `[port "sw1-lr0" router "lr0" router port "lrp1"]` {
		t.Errorf("changes named %s", got)
	}
}
