package topology

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMissingFileIsEmptyModel(t *testing.T) {
	s := NewFileStore(filepath.Join(t.TempDir(), "nb.json"))
	m, err := s.Snapshot()
	if err != nil || m.Generation != 0 || len(m.Switches) != 0 {
		t.Fatalf("got %+v, %v", m, err)
	}
}

// Concurrent writers (as several chainctl processes) serialize on the
// lock: no update is lost and every one gets its own generation.
func TestConcurrentUpdates(t *testing.T) {
	s := NewFileStore(filepath.Join(t.TempDir(), "nb.json"))
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				_, err := s.Update(func(m *Model) error {
					k, _ := m.FreeSwitchKey()
					m.Switches = append(m.Switches, Switch{Name: fmt.Sprintf("w%d-%d", w, i), Key: k})
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		}(w)
	}
	wg.Wait()
	m, err := s.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if m.Generation != 40 || len(m.Switches) != 40 {
		t.Fatalf("generation %d with %d switches, want 40 and 40", m.Generation, len(m.Switches))
	}
}

func TestRejectedUpdateWritesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nb.json")
	s := NewFileStore(path)
	if _, err := s.Update(func(m *Model) error {
		m.Switches = append(m.Switches, Switch{Name: "a", Key: 1})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	_, err := s.Update(func(m *Model) error {
		m.Switches = append(m.Switches, Switch{Name: "b", Key: 1})
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), `switch "b": tunnel key 1 is already used by switch "a"`) {
		t.Fatalf("got %v", err)
	}
	after, _ := os.ReadFile(path)
	if string(before) != string(after) {
		t.Fatal("a rejected update changed the file")
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 2 { // nb.json and its lock
		t.Errorf("temporary files left behind: %v", ents)
	}
}

// Watch reports the current model, every new one, and a file that cannot
// be used (so an agent can keep its last good flows).
func TestWatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nb.json")
	s := &FileStore{Path: path, Poll: 5 * time.Millisecond}
	type ev struct {
		gen uint64
		err error
	}
	evs := make(chan ev, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Watch(ctx, func(w Event) {
		e := ev{err: w.Err}
		switch {
		case w.Model != nil:
			e.gen = w.Model.Generation
		case w.Changes != nil:
			e.gen = w.Changes.Generation
		}
		evs <- e
	})
	next := func() ev {
		select {
		case e := <-evs:
			return e
		case <-time.After(5 * time.Second):
			t.Fatal("no watch event")
			return ev{}
		}
	}
	if e := next(); e.gen != 0 || e.err != nil {
		t.Fatalf("first event %+v", e)
	}
	s.Update(func(m *Model) error { m.Switches = []Switch{{Name: "a", Key: 1}}; return nil })
	if e := next(); e.gen != 1 || e.err != nil {
		t.Fatalf("after an update: %+v", e)
	}
	os.WriteFile(path, []byte(`{"generation": 2, "switches": [{"name": "a", "tunnel_key": 0}]}`), 0o644)
	if e := next(); e.err == nil || !strings.Contains(e.err.Error(), "tunnel key 0 is out of range") {
		t.Fatalf("an invalid model was not reported: %+v", e)
	}
}

func TestValidateAddresses(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"02:00:00:00:00:01", true},
		{"02:00:00:00:00:01 10.0.0.1 fd00::1", true},
		{"unknown", true},
		{"ff:ff:ff:ff:ff:ff", false},
		{"02:00:00:00:00:01 10.0.0.300", false},
		{"", false},
	} {
		_, err := ParseAddress(tc.addr)
		if (err == nil) != tc.ok {
			t.Errorf("ParseAddress(%q) = %v", tc.addr, err)
		}
	}
}
