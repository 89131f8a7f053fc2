// Package storetest is the contract every topology.Store passes: the same
// tests run against the file store, the in-memory store and the OVSDB
// store.
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
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
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	models := make(chan *topology.Model, 100)
	go func() {
		var ix *topology.Index
		s.Watch(ctx, func(ev topology.Event) {
			var err error
			switch {
			case ev.Err != nil:
				return
			case ev.Model != nil:
				ix, err = topology.NewIndex(ev.Model)
			case ix == nil:
				t.Errorf("changes before a whole model")
				return
			default:
				err = ix.Apply(ev.Changes)
			}
			if err != nil {
				t.Errorf("watch reported what does not apply: %v", err)
				return
			}
			models <- ix.Model()
		})
	}()
	want := func(g uint64) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case got := <-models:
				if got.Generation > g {
					t.Fatalf("watch jumped to generation %d, expected %d", got.Generation, g)
				}
				if got.Generation < g {
					continue
				}
				snap, err := s.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				if a, b := jsonOf(got), jsonOf(snap); a != b {
					t.Fatalf("watch arrived at\n%s\nthe store holds\n%s", a, b)
				}
				return
			case <-deadline:
				t.Fatalf("watch never delivered generation %d", g)
			}
		}
	}
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

func statusRoundTrip(t *testing.T, s topology.Store) {
	if _, err := s.Update(sample); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	st := topology.Status{Chassis: "hv1", Generation: 1, Connected: true, Flows: 42, Error: "x",
		Warnings: []string{"w1"}, Hostname: "host", PID: 7, Heartbeat: 2, Updated: now}
	if err := s.PublishStatus(st); err != nil {
		t.Fatal(err)
	}
	sts, err := s.Statuses()
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != 1 || !reflect.DeepEqual(sts[0], st) {
		t.Fatalf("statuses %+v, want [%+v]", sts, st)
	}
}

func jsonOf(m *topology.Model) string {
	b, _ := json.Marshal(m)
	return string(b)
}
