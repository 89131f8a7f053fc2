package topology

import (
	"fmt"
	"slices"
	"strings"
)

// IndexState is the index's bookkeeping, sorted: its claims with their
// holders and its references, for tests to compare an index changed by
// Apply with one built afresh.
func IndexState(ix *Index) string {
	var lines []string
	for c := range ix.claims {
		var names []string
		ix.eachHolder(c, func(n string) bool { names = append(names, n); return true })
		slices.Sort(names)
		lines = append(lines, fmt.Sprintf("claim %d %q %q %d: %q", c.rule, c.scope, c.value, c.num, names))
	}
	for k, s := range ix.referrers {
		var names []string
		s.each(func(n string) { names = append(names, n) })
		lines = append(lines, fmt.Sprintf("%v <- %v %q (%d)", k.to, k.from, names, s.n))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}
