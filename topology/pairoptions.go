package topology

import (
	"slices"
	"strings"
)

// The values of a group's fail-mode option (absent: FailModeClose).
const (
	FailModeClose = "close" // no healthy pair: the chain's traffic is dropped at the hop
	FailModeOpen  = "open"  // no healthy pair: the hop is skipped
)

// checkPairOptions refuses a pair's unknown option keys and bad health
// check values (parseHealthCheck says which and why). The options take
// effect only with health-check=true, but are checked whatever it says.
func checkPairOptions(pp *PortPair) error {
	if len(pp.Options) == 0 {
		return nil
	}
	if k, ok := unknownKey(pp.Options, PairOptionKeys); ok {
		return fail(KindPortPair, pp.Name, "option %s is not supported (known: %s)", Quote(k), strings.Join(PairOptionKeys, ", "))
	}
	if _, err := parseHealthCheck(pp.Options); err != nil {
		return fail(KindPortPair, pp.Name, "%v", err)
	}
	return nil
}

// checkGroupOptions refuses a group's unknown option keys, a fail-mode
// other than close or open and a tap other than true or false.
func checkGroupOptions(g *PortPairGroup) error {
	if len(g.Options) == 0 {
		return nil
	}
	if k, ok := unknownKey(g.Options, GroupOptionKeys); ok {
		return fail(KindPortPairGroup, g.Name, "option %s is not supported (known: %s)", Quote(k), strings.Join(GroupOptionKeys, ", "))
	}
	if v, ok := g.Options[OptFailMode]; ok && v != FailModeClose && v != FailModeOpen {
		return fail(KindPortPairGroup, g.Name, "%s %s: want %s or %s", OptFailMode, Quote(v), FailModeClose, FailModeOpen)
	}
	if v, ok := g.Options[OptTap]; ok && v != "true" && v != "false" {
		return fail(KindPortPairGroup, g.Name, "%s %s: want true or false", OptTap, Quote(v))
	}
	return nil
}

// unknownKey is the first key of opts (by name) that known lacks.
func unknownKey(opts map[string]string, known []string) (string, bool) {
	var bad string
	found := false
	for k := range opts {
		if !slices.Contains(known, k) && (!found || k < bad) {
			bad, found = k, true
		}
	}
	return bad, found
}
