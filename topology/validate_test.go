package topology_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/chainwire/chainwire/topology"
)

// Validate gives the verdict and the error the validator before the
// index gave, on random models: sorted or not, valid or not, with
// duplicate names.
func TestValidateAsTheSeedDid(t *testing.T) {
	valid := 0
	for seed := range 20000 {
		m := newGen(uint64(100000 + seed)).model()
		got, want := m.Validate(), topology.SeedValidate(m)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("seed %d: Validate: %v\nthe seed's: %v\nmodel %s", seed, got, want, jsonOf(m))
		}
		if got == nil {
			valid++
		}
	}
	t.Logf("%d of 20000 random models valid", valid)
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
