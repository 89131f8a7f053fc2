package lab

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// Timing a path by a fast ping: `ping -D` prints each reply with its
// time, so the longest time between two replies is how long the path was
// broken (ping slows down while its requests go unanswered, so its loss
// count alone understates an outage).

// FastPingArgs is the command line of a ping at rate per second for d,
// printing each reply's time.
func FastPingArgs(to string, rate int, d time.Duration) []string {
	return []string{"ping", "-D", "-i", fmt.Sprintf("%.4f", 1/float64(rate)), "-W", "1", "-w", fmt.Sprintf("%.0f", d.Seconds()), to}
}

var replyTime = regexp.MustCompile(`(?m)^\[(\d+\.\d+)\] \d+ bytes from`)

// PingReplies returns the times of the replies in ping -D's output.
func PingReplies(out string) ([]time.Time, error) {
	var times []time.Time
	for _, m := range replyTime.FindAllStringSubmatch(out, -1) {
		at, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return nil, err
		}
		times = append(times, time.Unix(0, int64(at*1e9)))
	}
	if len(times) == 0 {
		return nil, fmt.Errorf("no ping reply in: %s", shorten(out))
	}
	return times, nil
}

// LongestGap is the longest time without a reply between start and end
// (when the ping began and ended): an outage at either edge counts too.
func LongestGap(times []time.Time, start, end time.Time) time.Duration {
	longest, last := time.Duration(0), start
	for _, t := range append(times, end) {
		longest = max(longest, t.Sub(last))
		last = t
	}
	return longest
}
