package topology

import (
	"fmt"
	"math"
	"strconv"
	"time"
)

// VNF resilience options (DESIGN.md §12): a port pair's health check and
// a group's behaviour when it has no healthy pair, or when it only taps.

// HealthCheck is how chainwired probes a pair: a probe every Interval,
// missed when it is not back within Timeout (and then probed again at
// once); Failure misses in a row take the pair out of its group, Success
// answers in a row bring it back.
type HealthCheck struct {
	Interval, Timeout time.Duration
	Success, Failure  int
}

// DefaultHealthCheck is what a pair with health-check=true and no other
// options gets.
var DefaultHealthCheck = HealthCheck{Interval: time.Second, Timeout: 500 * time.Millisecond, Success: 2, Failure: 3}

// Bounds of the health options.
const (
	MinHealthInterval = 100 * time.Millisecond
	MaxHealthInterval = time.Minute
	MinHealthTimeout  = 10 * time.Millisecond
	MaxHealthCount    = 100
)

// Option keys.
const (
	OptHealthCheck    = "health-check"
	OptHealthInterval = "health-interval"
	OptHealthTimeout  = "health-timeout"
	OptHealthSuccess  = "health-success"
	OptHealthFailure  = "health-failure"
	OptFailMode       = "fail-mode"
	OptTap            = "tap"
)

// PairOptionKeys and GroupOptionKeys are the known option keys, in the
// order errors list them.
var (
	PairOptionKeys  = []string{OptHealthCheck, OptHealthInterval, OptHealthTimeout, OptHealthSuccess, OptHealthFailure}
	GroupOptionKeys = []string{OptFailMode, OptTap}
)

// HealthCheck returns the pair's health check, and false when it has none
// (or its options are invalid: validation refuses such a model).
func (pp *PortPair) HealthCheck() (HealthCheck, bool) {
	hc, err := parseHealthCheck(pp.Options)
	return hc, err == nil && pp.Options[OptHealthCheck] == "true"
}

// FailOpen reports whether the group's hop is skipped, rather than its
// traffic dropped, when none of its pairs is healthy.
func (g *PortPairGroup) FailOpen() bool { return g.Options[OptFailMode] == "open" }

// Tap reports whether the group receives copies and returns nothing.
func (g *PortPairGroup) Tap() bool { return g.Options[OptTap] == "true" }

// parseHealthCheck reads the health options over the defaults. Its
// errors say which option and value, and why ("health-interval "0.05":
// want seconds in 0.1..60"); values are echoed quoted and cut (Quote).
func parseHealthCheck(opts map[string]string) (HealthCheck, error) {
	hc := DefaultHealthCheck
	if v, ok := opts[OptHealthCheck]; ok && v != "true" && v != "false" {
		return hc, fmt.Errorf("%s %s: want true or false", OptHealthCheck, Quote(v))
	}
	seconds := func(key string, dst *time.Duration, lo, hi time.Duration) error {
		v, ok := opts[key]
		if !ok {
			return nil
		}
		f, err := strconv.ParseFloat(v, 64)
		// Compared as seconds first: NaN and infinities fail here,
		// before a conversion that would be undefined.
		if err != nil || !(f >= lo.Seconds() && f <= hi.Seconds()) {
			return fmt.Errorf("%s %s: want seconds in %v..%v", key, Quote(v), lo.Seconds(), hi.Seconds())
		}
		*dst = time.Duration(math.Round(f * float64(time.Second)))
		return nil
	}
	count := func(key string, dst *int) error {
		v, ok := opts[key]
		if !ok {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxHealthCount {
			return fmt.Errorf("%s %s: want a count in 1..%d", key, Quote(v), MaxHealthCount)
		}
		*dst = n
		return nil
	}
	for _, err := range []error{
		seconds(OptHealthInterval, &hc.Interval, MinHealthInterval, MaxHealthInterval),
		seconds(OptHealthTimeout, &hc.Timeout, MinHealthTimeout, MaxHealthInterval),
		count(OptHealthSuccess, &hc.Success), count(OptHealthFailure, &hc.Failure),
	} {
		if err != nil {
			return hc, err
		}
	}
	if _, set := opts[OptHealthTimeout]; !set && hc.Timeout > hc.Interval/2 {
		hc.Timeout = hc.Interval / 2
	}
	if hc.Timeout > hc.Interval {
		return hc, fmt.Errorf("%s %v is longer than %s %v: a probe must be answered before the next one", OptHealthTimeout, hc.Timeout.Seconds(), OptHealthInterval, hc.Interval.Seconds())
	}
	return hc, nil
}
