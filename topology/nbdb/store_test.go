package nbdb_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chainwire/chainwire/topology"
	"github.com/chainwire/chainwire/topology/nbdb"
	"github.com/chainwire/chainwire/topology/storetest"
)

const schema = "../../deploy/chainwire_nb.ovsschema"

// server runs a standalone ovsdb-server with a fresh Chainwire_NB for one
// test and returns its remote.
func server(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("ovsdb-server"); err != nil {
		if os.Getenv("CHAINWIRE_SKIP_E2E") == "1" {
			t.Skip("ovsdb-server not installed (CHAINWIRE_SKIP_E2E=1)")
		}
		t.Fatal("ovsdb-server is required (make deps), or set CHAINWIRE_SKIP_E2E=1")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "nb.db")
	if out, err := exec.Command("ovsdb-tool", "create", db, schema).CombinedOutput(); err != nil {
		t.Fatalf("ovsdb-tool create: %v: %s", err, out)
	}
	sock := filepath.Join(dir, "nb.sock")
	cmd := exec.Command("ovsdb-server", db, "--remote=punix:"+sock, "--unixctl="+filepath.Join(dir, "ctl"),
		"--log-file="+filepath.Join(dir, "log"), "-vconsole:off", "--no-chdir")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for i := 0; i < 500; i++ {
		if _, err := os.Stat(sock); err == nil {
			return "unix:" + sock
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("ovsdb-server did not come up")
	return ""
}

func open(t *testing.T) topology.Store {
	s, err := nbdb.Open(server(t), nbdb.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestContract(t *testing.T) { storetest.Run(t, open) }
