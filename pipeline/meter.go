package pipeline

import (
	"fmt"
	"sort"
)

// Meter is one OpenFlow 1.3 meter with a single drop band: packets above
// Rate kbit/s (or packets/s, with Pktps) are dropped, in bursts of up to
// Burst kbit (packets; 0: the switch's default). Name says which object
// it serves.
type Meter struct {
	Name  string
	ID    uint32
	Pktps bool
	Rate  uint32
	Burst uint32
}

// String prints the meter as ovs-ofctl dump-meters does.
func (m Meter) String() string {
	flags, burst := "kbps", ""
	if m.Pktps {
		flags = "pktps"
	}
	if m.Burst > 0 {
		flags, burst = flags+" burst", fmt.Sprintf(" burst_size=%d", m.Burst)
	}
	return fmt.Sprintf("meter=%d %s bands=type=drop rate=%d%s", m.ID, flags, m.Rate, burst)
}

// Same reports whether two meters limit alike (names aside: a read-back
// knows none).
func (m Meter) Same(o Meter) bool {
	return m.ID == o.ID && m.Pktps == o.Pktps && m.Rate == o.Rate && m.Burst == o.Burst
}

// SetMeter passes the packet through a meter before the flow's actions
// (OpenFlow 1.3's meter instruction).
type SetMeter struct{ ID uint32 }

func (a SetMeter) format(bool) string { return fmt.Sprintf("meter:%d", a.ID) }

// Meter IDs carry chainwire's marker byte in their top 8 bits, as group
// IDs do: read-back and cleanup only touch meters with it. OVS maps
// OpenFlow meter IDs to its own, so any ID below OFPM_MAX works.
func IsOurMeter(id uint32) bool { return id&groupMarkerMask == groupMarker }

// qosMeterID is the meter of a QoS rule: its key (unique, 1..65535) is
// the ID, so a restarted agent finds the meter where it left it.
func qosMeterID(key uint32) uint32 { return groupMarker | key }

// ControllerMeterID is the meter every packet sent to chainwired passes
// (but the flood continuations, which are the pipeline's own): OVN's
// control plane protection. It drops what exceeds the agent's packet-in
// rate in the datapath, before it costs ovs-vswitchd or the session
// anything.
const ControllerMeterID = groupMarker | 1<<16

// DefaultPacketInRate is the controller meter's rate when Env gives none.
const DefaultPacketInRate = 2000

// controllerMeter is the meter of the controller path: rate packets/s,
// bursts of a second's worth.
func controllerMeter(rate int) Meter {
	if rate <= 0 {
		rate = DefaultPacketInRate
	}
	return Meter{Name: "controller", ID: ControllerMeterID, Pktps: true, Rate: uint32(rate), Burst: uint32(rate)}
}

// toChainwired sends the packet (paused or a copy) to chainwired through
// the controller meter.
func toChainwired(pause bool, userdata ...byte) Controller {
	return Controller{Pause: pause, Userdata: userdata, Meter: ControllerMeterID}
}

// meterSlot is what the renderer holds for one meter ID: the meter each
// unit that wants it renders. Validation makes IDs unique; an update may
// pass through a moment with two claimants (two rules trading keys).
type meterSlot map[*unit]Meter

// setMeters replaces u's meters.
func (r *Renderer) setMeters(u *unit, meters []Meter) {
	for _, m := range u.meters {
		r.touchMeter(m.ID)
		if s := r.meters[m.ID]; s != nil {
			delete(s, u)
			if len(s) == 0 {
				delete(r.meters, m.ID)
			}
		}
	}
	for _, m := range meters {
		r.touchMeter(m.ID)
		s := r.meters[m.ID]
		if s == nil {
			s = meterSlot{}
			r.meters[m.ID] = s
		}
		s[u] = m
	}
	u.meters = meters
}

func (r *Renderer) touchMeter(id uint32) {
	if !r.tracking {
		return
	}
	if _, seen := r.touchedMeters[id]; seen {
		return
	}
	var before *Meter
	if m, ok := r.meterOf(id); ok {
		before = &m
	}
	r.touchedMeters[id] = before
}

// meterOf is the meter an ID holds once the update is done.
func (r *Renderer) meterOf(id uint32) (Meter, bool) {
	for _, m := range r.meters[id] {
		return m, true
	}
	return Meter{}, false
}

// checkMeters refuses two objects wanting one meter ID for different
// meters.
func (r *Renderer) checkMeters(ids []uint32) error {
	for _, id := range ids {
		var first *Meter
		for _, m := range r.meters[id] {
			if first == nil {
				first = &m
			} else if !first.Same(m) || first.Name != m.Name {
				return fmt.Errorf("pipeline: meter %d wanted by both %s and %s", id, first.Name, m.Name)
			}
		}
	}
	return nil
}

// meterDelta adds the meters the update changed to d.
func (r *Renderer) meterDelta(d *Delta) {
	for id, before := range r.touchedMeters {
		m, ok := r.meterOf(id)
		switch {
		case !ok && before != nil:
			d.DeletedMeters = append(d.DeletedMeters, id)
		case ok && (before == nil || !before.Same(m)):
			d.Meters = append(d.Meters, m)
		}
	}
	sort.Slice(d.DeletedMeters, func(i, j int) bool { return d.DeletedMeters[i] < d.DeletedMeters[j] })
	sort.Slice(d.Meters, func(i, j int) bool { return d.Meters[i].ID < d.Meters[j].ID })
}

func keysOf[V any](m map[uint32]V) []uint32 {
	ids := make([]uint32, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	return ids
}
