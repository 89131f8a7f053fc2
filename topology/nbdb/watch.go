package nbdb

import (
	"context"
	"fmt"
	"time"

	"github.com/chainwire/chainwire/topology"
)

// Watch calls fn with the current model and then after every change, until
// ctx ends. Once a good model was delivered, a model that would shrink
// the world (an emptied or older database) is an error, never a model.
func (s *Store) Watch(ctx context.Context, fn func(*topology.Model, error)) {
	changes := s.subscribe()
	var applied uint64
	deliver := func() {
		st, err := s.read(ctx)
		if err == nil {
			err = st.model.Validate()
			if err != nil {
				err = fmt.Errorf("the database holds an invalid model: %w", err)
			}
		}
		switch {
		case err != nil:
			fn(nil, err)
		case applied > 0 && st.model.Generation < applied:
			fn(nil, fmt.Errorf("the database is at generation %d, older than the applied %d: refusing to go back", st.model.Generation, applied))
		default:
			applied = max(applied, st.model.Generation)
			fn(st.model, nil)
		}
	}
	for ctx.Err() == nil {
		lost, err := s.monitor(ctx)
		if err != nil {
			fn(nil, err)
			s.Close()
			sleep(ctx, time.Second)
			continue
		}
		deliver()
	watching:
		for {
			select {
			case <-ctx.Done():
				return
			case <-lost:
				fn(nil, fmt.Errorf("lost the connection to the database; keeping the last model"))
				s.Close()
				break watching
			case t := <-changes:
				if isModelTable(t) {
					deliver()
				}
			}
		}
	}
}

// isModelTable: a change of the table changes the model (the agents'
// own columns and tables do not).
func isModelTable(t string) bool { return t != tBinding }

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
