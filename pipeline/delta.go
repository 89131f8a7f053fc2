package pipeline

// Delta is a change of a bridge's desired state: the flows to install
// (new, or with new actions or cookie), the keys (Flow.Key) of flows to
// remove, and the same for groups and meters.
type Delta struct {
	Flows         []Flow
	DeletedFlows  []string
	Groups        []Group
	DeletedGroups []uint32
	Meters        []Meter
	DeletedMeters []uint32
}

// Len is the number of flows, groups and meters the delta changes.
func (d *Delta) Len() int {
	return len(d.Flows) + len(d.DeletedFlows) + len(d.Groups) + len(d.DeletedGroups) + len(d.Meters) + len(d.DeletedMeters)
}
