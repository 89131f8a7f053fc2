package topology

import (
	"context"
	"net"
	"strings"
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
	// Watch reports the model until ctx ends: first the whole current
	// model, then each change as the objects it changed (a whole model
	// again when the store lost track), and as errors the models that
	// could not be read. Once a good model was delivered, a model that
	// would shrink the world by accident (gone, empty, older) is an error,
	// never a model. The models and changes are unvalidated (an agent
	// validates them as it applies them to its index).
	Watch(ctx context.Context, fn func(Event))
	// PublishStatus records what an agent has applied.
	PublishStatus(Status) error
	// Statuses returns the status of every agent that published one.
	Statuses() ([]Status, error)
}

// Scope is the part of a model a change reads: the named switches with
// the ports on them, the named ports (with their switches), and every
// chassis, DHCP options set and load balancer (what a port or a switch
// names). A store holding a
// large model reads only that part for such a change; the change must
// then touch nothing else (see ScopedStore).
type Scope struct {
	Switches []string
	Ports    []string
	// Placement: the other ports' options too (where they are requested).
	Placement bool
}

// ScopedStore is a store that can update a part of the model. fn sees a
// model holding the scope's objects (the other ports of a scoped switch
// with their name, key, addresses and options only) and may add ports
// and change the named ones; the result is validated against that part,
// and the store makes sure nothing in it changed before committing.
type ScopedStore interface {
	UpdateIn(sc Scope, fn func(*Model) error) (*Model, error)
}

// Status is what an agent reports after each reconciliation and at every
// heartbeat.
type Status struct {
	Chassis    string   `json:"chassis"`
	Generation uint64   `json:"generation"` // last generation fully applied
	Connected  bool     `json:"connected"`  // OpenFlow session up and in sync
	Flows      int      `json:"flows"`      // flows installed
	Error      string   `json:"error,omitempty"`
	Warnings   []string `json:"warnings,omitempty"`
	Hostname   string   `json:"hostname,omitempty"`
	PID        int      `json:"pid,omitempty"`
	Heartbeat  Seconds  `json:"heartbeat_seconds,omitempty"` // how often the agent publishes
	// Health is the state of the health-checked pairs this agent
	// probes: pair name -> HealthUp or HealthDown.
	Health map[string]string `json:"health,omitempty"`
	// Neighbours are the next hops this agent learned for routers by ARP
	// or ND (their replies reach the router on the replier's chassis):
	// NeighbourKey(router port, IP) -> MAC. Every agent routes with all
	// chassis' neighbours.
	Neighbours map[string]string `json:"neighbours,omitempty"`
	Updated    time.Time         `json:"updated"`
}

// NeighbourKey names a learned neighbour: the router port it is reached
// by and its IP.
func NeighbourKey(routerPort string, ip net.IP) string { return routerPort + " " + ip.String() }

// ParseNeighbourKey splits a NeighbourKey.
func ParseNeighbourKey(k string) (routerPort string, ip net.IP, ok bool) {
	i := strings.LastIndexByte(k, ' ')
	if i <= 0 {
		return "", nil, false
	}
	ip = net.ParseIP(k[i+1:])
	return k[:i], ip, ip != nil
}

// A probed pair's health.
const (
	HealthUp   = "up"
	HealthDown = "down"
)

// Seconds is a duration stored as a number of seconds.
type Seconds float64

// Duration converts to a time.Duration.
func (s Seconds) Duration() time.Duration { return time.Duration(float64(s) * float64(time.Second)) }

// StaleAfter is how many heartbeats an agent may miss before its status
// is shown as stale.
const StaleAfter = 3

// Stale reports whether the agent stopped publishing: its last status is
// older than StaleAfter heartbeats (a killed agent never says goodbye).
func (s Status) Stale(now time.Time) bool {
	hb := s.Heartbeat.Duration()
	if hb <= 0 {
		hb = 5 * time.Second
	}
	return now.Sub(s.Updated) > StaleAfter*hb
}

// Southbound is a store that also keeps what agents report about
// themselves beyond their status: their chassis and where ports are
// bound (the OVSDB store, as OVN's southbound database).
type Southbound interface {
	// RegisterChassis adopts the chassis the model names, or creates it
	// from the registration's encap IP; it refuses a chassis another live
	// agent serves.
	RegisterChassis(Registration) error
	// PublishBindings records the ports bound on chassis (and no others).
	PublishBindings(chassis string, ports []string) error
	// WatchBindings reports where ports are bound (port -> chassis) until
	// ctx ends: all of them (whole), after every (re)connect, and in
	// between the ports whose binding changed ("": no longer bound).
	WatchBindings(ctx context.Context, fn func(b map[string]string, whole bool))
}

// Registration is what an agent says about itself when it starts.
type Registration struct {
	Chassis  string
	Hostname string
	// EncapIP is used to create the chassis when no chainctl chassis-add
	// made it; if both exist they must agree.
	EncapIP string
}
