package agent

import (
	"maps"
	"slices"

	"github.com/chainwire/chainwire/pipeline"
)

// Conntrack zones: one per local logical port, as ovn-controller gives
// them, so that the connections of two ports never mix. A port keeps its
// zone across agent restarts (its connections stay valid): the agent
// reads the zones back from the bridge at start and writes every change
// there (br-int external_ids ct-zone-PORT, OVN's place for them).

// MaxZone is the largest zone a port gets (the one above is the load
// balancers' hairpin zone); zone 0 is OVS's default and never given.
const MaxZone = pipeline.HairpinZone - 1

// zones is the allocation.
type zones struct {
	byPort map[string]uint16
	used   map[uint16]bool
	next   uint16 // the search for a free zone starts here
}

// newZones starts from the saved allocation; a zone claimed twice goes to
// the first port by name and the other gets a new one, as does a zone
// above MaxZone.
func newZones(saved map[string]uint16) *zones {
	z := &zones{byPort: map[string]uint16{}, used: map[uint16]bool{}, next: 1}
	for _, p := range slices.Sorted(maps.Keys(saved)) {
		if n := saved[p]; n != 0 && n <= MaxZone && !z.used[n] {
			z.byPort[p], z.used[n] = n, true
		}
	}
	return z
}

// assign gives every local port a zone and frees those of ports that are
// no longer local. It reports whether anything changed; ports that find
// no free zone (over 65,535 local ports) stay without one.
func (z *zones) assign(local map[string]uint32) bool {
	changed := false
	for p, n := range z.byPort {
		if _, ok := local[p]; !ok {
			delete(z.byPort, p)
			delete(z.used, n)
			changed = true
		}
	}
	for _, p := range slices.Sorted(maps.Keys(local)) {
		if _, ok := z.byPort[p]; ok {
			continue
		}
		if n, ok := z.free(); ok {
			z.byPort[p], z.used[n] = n, true
			changed = true
		}
	}
	return changed
}

// free finds an unused zone, round-robin from the last one given, so that
// a zone just freed (its old connections still in the table) is reused
// last.
func (z *zones) free() (uint16, bool) {
	for i := 0; i < MaxZone; i++ {
		n := z.next
		z.next = z.next%MaxZone + 1
		if !z.used[n] {
			return n, true
		}
	}
	return 0, false
}

func (z *zones) snapshot() map[string]uint16 { return maps.Clone(z.byPort) }
