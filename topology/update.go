package topology

// Copy returns a deep copy of a model.
func Copy(m *Model) (*Model, error) {
	out := &Model{Generation: m.Generation}
	for _, k := range kinds {
		k.deepCopy(m, out)
	}
	return out, nil
}

// ValidateUpdate validates next, a changed copy of the valid model before,
// redoing the costly checks (matches, overlaps) only for the objects that
// changed.
func ValidateUpdate(before, next *Model) error { return ValidateChanged(next, Diff(before, next)) }

// ValidateChanged validates next, whose objects in changed are the only
// ones that changed since it was last valid.
func ValidateChanged(next *Model, changed *Changes) error {
	_, err := newIndex(next, changed, false)
	return err
}

// ValidateStored checks a model read back from a store, which validated it
// whole when it was written: every cheap rule (names, keys, references,
// addresses), none of the costly ones (compiling matches, pairing
// classifiers, parsing address sets), so that reading a model costs the
// same whatever its matches and sets hold. A model edited around the
// store with a bad match passes here; agents refuse it when they index
// it (NewIndex checks everything).
func ValidateStored(m *Model) error { return m.validate(&Changes{}) }
