package topology

// Event is one report of a store's Watch: a whole model (the first
// report, and whenever the store lost track of what changed), the objects
// that changed since the last report, or why the model cannot be read
// now.
type Event struct {
	Model   *Model
	Changes *Changes
	Err     error
}

// Merge adds later changes to c: where both change an object, the later
// value wins. The generation becomes the later one.
func (c *Changes) Merge(later *Changes) {
	c.Generation = later.Generation
	for _, k := range kinds {
		k.merge(c, later)
	}
}

func mergeKind[T any](into *map[string]*T, from map[string]*T) {
	if len(from) == 0 {
		return
	}
	if *into == nil {
		*into = make(map[string]*T, len(from))
	}
	for name, o := range from {
		(*into)[name] = o
	}
}

// changesOf turns a watch that reports whole models into events: the
// first model whole, then what changed since the last good one.
func changesOf(fn func(Event)) func(*Model, error) {
	var last *Model
	return func(m *Model, err error) {
		switch {
		case err != nil:
			fn(Event{Err: err})
		case last == nil:
			last = m
			fn(Event{Model: m})
		default:
			ch := Diff(last, m)
			last = m
			fn(Event{Changes: ch})
		}
	}
}
