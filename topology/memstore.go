package topology

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
)

// MemStore keeps the model in memory: the store of tests and of tools
// that need no persistence. It follows the same contract as the other
// stores (validated whole updates, generations, watch, statuses).
type MemStore struct {
	mu       sync.Mutex
	model    *Model
	err      error // what Watch reports instead of a model, if set
	changed  chan struct{}
	statuses map[string]Status
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{model: &Model{}, changed: make(chan struct{}), statuses: map[string]Status{}}
}

// Snapshot returns a copy of the current model.
func (s *MemStore) Snapshot() (*Model, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return clone(s.model), nil
}

func clone(m *Model) *Model {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	out := &Model{}
	if err := json.Unmarshal(b, out); err != nil {
		panic(err)
	}
	return out
}

// Update applies fn to a copy; nothing changes if fn or validation fails.
func (s *MemStore) Update(fn func(*Model) error) (*Model, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := clone(s.model)
	if err := fn(next); err != nil {
		return nil, err
	}
	next.Normalize()
	if err := next.Validate(); err != nil {
		return nil, err
	}
	next.Generation = s.model.Generation + 1
	s.model, s.err = next, nil
	s.notify()
	return clone(next), nil
}

// Break makes watchers see err instead of a model (a store that became
// unreadable) until the next Update.
func (s *MemStore) Break(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
	s.notify()
}

func (s *MemStore) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Watch reports the current model, then every change, until ctx ends.
func (s *MemStore) Watch(ctx context.Context, fn func(Event)) { s.watchModels(ctx, changesOf(fn)) }

func (s *MemStore) watchModels(ctx context.Context, fn func(*Model, error)) {
	for {
		s.mu.Lock()
		m, err, changed := clone(s.model), s.err, s.changed
		s.mu.Unlock()
		if err != nil {
			fn(nil, err)
		} else {
			fn(m, nil)
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// PublishStatus records an agent's status.
func (s *MemStore) PublishStatus(st Status) error {
	if err := CheckName("chassis", st.Chassis); err != nil {
		return fmt.Errorf("status: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statuses[st.Chassis] = st.clone()
	return nil
}

// clone is a copy of the status that shares nothing with it (a store
// keeps what was published, as the others, which serialize it).
func (st Status) clone() Status {
	st.Warnings = slices.Clone(st.Warnings)
	st.Health = maps.Clone(st.Health)
	st.Neighbours = maps.Clone(st.Neighbours)
	return st
}

// Statuses returns every published status, by chassis.
func (s *MemStore) Statuses() ([]Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Status, 0, len(s.statuses))
	for _, st := range s.statuses {
		out = append(out, st.clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Chassis < out[j].Chassis })
	return out, nil
}
