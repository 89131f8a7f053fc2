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
// redoing the costly checks (matches, overlaps) only for the classifiers
// that changed.
func ValidateUpdate(before, next *Model) error {
	return next.validate(changedClassifiers(before, next))
}
