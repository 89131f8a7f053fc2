package pipeline

import (
	"fmt"
	"testing"
)

// Over many member names, bucket shares follow the weights; each single
// group is 64 buckets, so one group's split is the weight plus noise.
func TestBucketSharesFollowWeights(t *testing.T) {
	for _, w := range [][2]uint32{{1, 1}, {3, 1}, {1, 4}} {
		total := 0
		const groups = 200
		for g := 0; g < groups; g++ {
			b := assignBuckets([]member{{name: fmt.Sprintf("pp%d-a", g), weight: w[0]}, {name: fmt.Sprintf("pp%d-b", g), weight: w[1]}})
			for _, x := range b {
				if x == 0 {
					total++
				}
			}
		}
		got := float64(total) / (groups * chainBucketCount)
		want := float64(w[0]) / float64(w[0]+w[1])
		if got < want-0.03 || got > want+0.03 {
			t.Errorf("weights %v: first member holds %.3f of the buckets, want %.3f", w, got, want)
		}
	}
}
