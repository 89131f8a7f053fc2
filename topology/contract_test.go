package topology_test

import (
	"path/filepath"
	"testing"

	"github.com/chainwire/chainwire/topology"
	"github.com/chainwire/chainwire/topology/storetest"
)

func TestFileStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) topology.Store {
		return topology.NewFileStore(filepath.Join(t.TempDir(), "nb.json"))
	})
}

func TestMemStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) topology.Store { return topology.NewMemStore() })
}
