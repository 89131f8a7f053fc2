package topology

import (
	"slices"
	"sort"
)

// nameSet is a sorted set of names that stays cheap to change when it is
// large (the ports of a switch): the names live in sorted chunks of at
// most maxChunk, so adding or removing one moves at most a chunk and the
// list of chunks, never the whole set. Most sets hold one name (the pairs
// of a port), kept inline.
type nameSet struct {
	one    string     // the name of a set of one without chunks
	chunks [][]string // non-empty, each sorted, each below the next
	n      int
}

const maxChunk = 128

// locate returns the chunk that holds name or would, and where in it.
func (s *nameSet) locate(name string) (c, i int, found bool) {
	c = sort.Search(len(s.chunks), func(j int) bool {
		ch := s.chunks[j]
		return ch[len(ch)-1] >= name
	})
	if c == len(s.chunks) { // after every name: the end of the last chunk
		c--
		return c, len(s.chunks[c]), false
	}
	i, found = slices.BinarySearch(s.chunks[c], name)
	return c, i, found
}

// add puts name in the set; it reports whether it was new.
func (s *nameSet) add(name string) bool {
	switch {
	case s.n == 0:
		s.one, s.n = name, 1
		return true
	case s.chunks == nil:
		if name == s.one {
			return false
		}
		s.chunks = [][]string{{min(s.one, name), max(s.one, name)}}
		s.one, s.n = "", 2
		return true
	}
	c, i, found := len(s.chunks)-1, len(s.chunks[len(s.chunks)-1]), false
	if last := s.chunks[c]; name <= last[len(last)-1] { // else it goes last, as names loaded in order do
		c, i, found = s.locate(name)
	}
	if found {
		return false
	}
	s.chunks[c] = slices.Insert(s.chunks[c], i, name)
	s.n++
	if ch := s.chunks[c]; len(ch) > maxChunk {
		// The right half gets its own array: the left one keeps growing
		// in place.
		half := len(ch) / 2
		s.chunks = slices.Insert(s.chunks, c+1, slices.Clone(ch[half:]))
		clear(ch[half:])
		s.chunks[c] = ch[:half]
	}
	return true
}

// remove takes name out of the set; it reports whether it was there.
func (s *nameSet) remove(name string) bool {
	if s.chunks == nil {
		if s.n == 0 || s.one != name {
			return false
		}
		s.one, s.n = "", 0
		return true
	}
	c, i, found := s.locate(name)
	if !found {
		return false
	}
	s.chunks[c] = slices.Delete(s.chunks[c], i, i+1)
	s.n--
	switch {
	case s.n == 0:
		s.chunks = nil
	case len(s.chunks[c]) == 0:
		s.chunks = slices.Delete(s.chunks, c, c+1)
	case c+1 < len(s.chunks) && len(s.chunks[c])+len(s.chunks[c+1]) <= maxChunk/2:
		// Small neighbours merge, so that removals leave no trail of
		// tiny chunks behind.
		s.chunks[c] = append(s.chunks[c], s.chunks[c+1]...)
		s.chunks = slices.Delete(s.chunks, c+1, c+2)
	}
	return true
}

// each calls fn with every name, in order.
func (s *nameSet) each(fn func(name string)) {
	if s.chunks == nil && s.n == 1 {
		fn(s.one)
	}
	for _, ch := range s.chunks {
		for _, name := range ch {
			fn(name)
		}
	}
}

// first is the smallest name, if any.
func (s *nameSet) first() (string, bool) {
	switch {
	case s.n == 0:
		return "", false
	case s.chunks == nil:
		return s.one, true
	}
	return s.chunks[0][0], true
}
