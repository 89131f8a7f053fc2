package topology

import "encoding/json"

// Copy returns a deep copy of a model.
func Copy(m *Model) (*Model, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	out := &Model{}
	return out, json.Unmarshal(b, out)
}

// ValidateUpdate validates next, a changed copy of the valid model before,
// redoing the costly checks (matches, overlaps) only for the objects that
// changed.
func ValidateUpdate(before, next *Model) error {
	_, err := newIndex(next, Diff(before, next), false)
	return err
}
