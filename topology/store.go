package topology

import (
	"context"
	"time"
)

// Store keeps the model. Implementations validate every update as a whole
// and either apply all of it, with a new generation, or nothing.
type Store interface {
	// Snapshot returns the current model (empty if none was ever written).
	Snapshot() (*Model, error)
	// Update runs fn on a copy of the current model and stores the result
	// if fn and validation succeed. It returns the stored model.
	Update(fn func(*Model) error) (*Model, error)
	// Watch calls fn with every new model and with every model that could
	// not be read (err != nil), starting with the current one, until ctx
	// ends.
	Watch(ctx context.Context, fn func(m *Model, err error))
	// PublishStatus records what an agent has applied.
	PublishStatus(Status) error
	// Statuses returns the status of every agent that published one.
	Statuses() ([]Status, error)
}

// Status is what an agent reports after each reconciliation.
type Status struct {
	Chassis    string    `json:"chassis"`
	Generation uint64    `json:"generation"` // last generation fully applied
	Connected  bool      `json:"connected"`  // OpenFlow session up
	Flows      int       `json:"flows"`      // flows installed
	Error      string    `json:"error,omitempty"`
	Updated    time.Time `json:"updated"`
}
