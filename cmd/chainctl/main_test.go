package main

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chainwire/chainwire/topology"
)

func ctl(t *testing.T, db string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(append([]string{"--db", db}, args...), &out, io.Discard)
	return out.String(), err
}

func mustCtl(t *testing.T, db string, args ...string) string {
	t.Helper()
	out, err := ctl(t, db, args...)
	if err != nil {
		t.Fatalf("chainctl %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// refusedCmd runs a command that must be refused: it reports one that
// succeeds, and stops the test if the model file is no longer before; ok
// says the command was refused.
func refusedCmd(t *testing.T, db string, before []byte, args []string) (out string, err error, ok bool) {
	t.Helper()
	out, err = ctl(t, db, args...)
	if err == nil {
		t.Errorf("chainctl %v succeeded", args)
	}
	if after, _ := os.ReadFile(db); !bytes.Equal(before, after) {
		t.Fatalf("chainctl %v changed the model file", args)
	}
	return out, err, err != nil
}

// changedAfter is changedSwitches of an edit of base, sorted and joined.
func changedAfter(base *topology.Model, edit func(*topology.Model)) string {
	after, _ := topology.Copy(base)
	edit(after)
	return strings.Join(slices.Sorted(maps.Keys(changedSwitches(base, after))), " ")
}

func baseModel(t *testing.T) string {
	db := filepath.Join(t.TempDir(), "nb.json")
	mustCtl(t, db, "chassis-add", "hv1", "geneve", "192.0.2.1")
	mustCtl(t, db, "ls-add", "sw0")
	mustCtl(t, db, "ls-add", "sw1", "--tunnel-key", "7")
	mustCtl(t, db, "lsp-add", "sw0", "p1")
	mustCtl(t, db, "lsp-set-addresses", "p1", "02:00:00:00:00:01 10.0.0.1")
	mustCtl(t, db, "lsp-add", "--tunnel-key", "9", "sw0", "p2") // flags before positionals
	mustCtl(t, db, "lsp-set-options", "p2", "requested-chassis=hv1")
	return db
}

// Every refused command names what and why, and leaves the file as it was.
func TestErrorsLeaveModelByteIdentical(t *testing.T) {
	db := baseModel(t)
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"lsp-add", "nosuch", "p9"}, `switch "nosuch": does not exist`},
		{[]string{"lsp-add", "sw1", "p1"}, `port "p1": already exists on switch "sw0"`},
		{[]string{"ls-add", "sw0"}, `switch "sw0": already exists`},
		{[]string{"lsp-set-addresses", "p2", "02:00:00:00:00:zz"}, `port "p2": address "02:00:00:00:00:zz": "02:00:00:00:00:zz" is not an Ethernet address`},
		{[]string{"lsp-set-addresses", "p2", "01:00:00:00:00:01"}, `is a multicast or broadcast address`},
		{[]string{"lsp-set-addresses", "p2", "02:00:00:00:00:01"}, `address 02:00:00:00:00:01 already belongs to port "p1"`},
		{[]string{"lsp-set-addresses", "p2", "02:00:00:00:00:02 10.0.0.1"}, `address 10.0.0.1 already belongs to port "p1"`},
		{[]string{"lsp-set-port-security", "p2", "02:00:00:00:00:02 10.0.0.0/99"}, `port security "02:00:00:00:00:02 10.0.0.0/99"`},
		{[]string{"ls-add", "sw2", "--tunnel-key", "16777216"}, `--tunnel-key "16777216": must be a number in 1..16777215`},
		{[]string{"ls-add", "sw2", "--tunnel-key", "7"}, `switch "sw2": tunnel key 7 is already used by switch "sw1"`},
		{[]string{"lsp-add", "sw0", "p3", "--tunnel-key", "32768"}, `must be a number in 1..32767`},
		{[]string{"lsp-add", "sw0", "p3", "--tunnel-key", "9"}, `tunnel key 9 is already used by port "p2"`},
		{[]string{"lsp-add", "sw0", "bad name"}, `port "bad name": a name may hold only letters, digits and _ . : - (1 to 63 of them)`},
		{[]string{"ls-del", "sw0"}, `switch "sw0": port "p1" still uses it`},
		{[]string{"chassis-del", "hv1"}, `chassis "hv1": port "p2" requests it`},
		{[]string{"chassis-add", "hv2", "vxlan", "192.0.2.2"}, `encapsulation "vxlan" is not supported`},
		{[]string{"chassis-add", "hv2", "geneve", "192.0.2.1"}, `encap IP 192.0.2.1 is already used by chassis "hv1"`},
		{[]string{"lsp-set-options", "p1", "requested-chassis=hv9"}, `requested-chassis "hv9" does not exist`},
		{[]string{"lsp-set-enabled", "p1", "maybe"}, `want enabled or disabled`},
		{[]string{"lsp-del", "p9"}, `port "p9": does not exist`},
		{[]string{"ls-add"}, `usage: chainctl ls-add`},
		{[]string{"ls-add", "sw3", "--weight", "2"}, `option --weight does not apply`},
		{[]string{"frobnicate"}, `unknown command`},
	} {
		_, err := ctl(t, db, tc.args...)
		if err == nil {
			t.Errorf("chainctl %v succeeded", tc.args)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("chainctl %v: error %q, want one line containing %q", tc.args, err, tc.want)
		}
		after, _ := os.ReadFile(db)
		if !bytes.Equal(before, after) {
			t.Fatalf("chainctl %v changed the model file", tc.args)
		}
	}
}

func TestShowAndJSON(t *testing.T) {
	db := baseModel(t)
	out := mustCtl(t, db, "show")
	for _, want := range []string{"switch sw0 (key 1)", "port p1 (key 1)", `addresses: ["02:00:00:00:00:01 10.0.0.1"]`,
		"port p2 (key 9)", "options: requested-chassis=hv1", "switch sw1 (key 7)", "chassis hv1"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	var ports []map[string]any
	if err := json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "lsp-list", "sw0")), &ports); err != nil {
		t.Fatal(err)
	}
	if len(ports) != 2 || ports[1]["tunnel_key"].(float64) != 9 {
		t.Errorf("lsp-list -o json: %v", ports)
	}
}

func TestGenerationAndKeys(t *testing.T) {
	db := baseModel(t)
	var m struct {
		Generation int
		Ports      []struct {
			Name string
			Key  int `json:"tunnel_key"`
		}
	}
	mustCtl(t, db, "lsp-del", "p1")
	mustCtl(t, db, "lsp-add", "sw0", "p3") // takes the smallest free key, 1
	json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "show")), &m)
	if m.Generation != 9 {
		t.Errorf("generation %d after 9 writes", m.Generation)
	}
	for _, p := range m.Ports {
		if p.Name == "p3" && p.Key != 1 {
			t.Errorf("p3 got key %d, want 1", p.Key)
		}
	}
}

// --wait fails naming the chassis whose agent has not applied the change;
// a chassis no agent ever ran on is not waited for (as ovn-nbctl).
func TestWaitNamesLaggingChassis(t *testing.T) {
	db := baseModel(t)
	if _, err := ctl(t, db, "--wait", "--wait-timeout", "100ms", "lsp-set-addresses", "p2", "02:00:00:00:00:02"); err != nil {
		t.Fatalf("--wait for a chassis without an agent: %v", err)
	}
	st := topology.Status{Chassis: "hv1", Generation: 1, Connected: true, Heartbeat: 2, Updated: time.Now()}
	if err := topology.NewFileStore(db).PublishStatus(st); err != nil {
		t.Fatal(err)
	}
	_, err := ctl(t, db, "--wait", "--wait-timeout", "100ms", "lsp-set-addresses", "p2", "02:00:00:00:00:12")
	if err == nil || !strings.Contains(err.Error(), `chassis "hv1" is at generation 1`) {
		t.Fatalf("got %v", err)
	}
}

// chainModel: the seed's Case 3 on switch SW0 plus a second switch.
func chainModel(t *testing.T) string {
	db := filepath.Join(t.TempDir(), "nb.json")
	mustCtl(t, db, "ls-add", "sw1")
	mustCtl(t, db, "ls-add", "SW0")
	for i, p := range []string{"app1", "app2", "p2", "p3", "p4", "p5", "p6", "p7", "x1"} {
		mustCtl(t, db, "lsp-add", "SW0", p)
		if strings.HasPrefix(p, "app") {
			mustCtl(t, db, "lsp-set-addresses", p, "02:00:00:00:0a:0"+string(rune('1'+i)))
		}
	}
	mustCtl(t, db, "lsp-add", "sw1", "y1")
	mustCtl(t, db, "lsp-pair-add", "SW0", "p2", "p3", "PP1")
	mustCtl(t, db, "lsp-pair-add", "SW0", "p4", "p5", "PP2", "--weight", "3")
	mustCtl(t, db, "lsp-pair-add", "SW0", "p6", "p7", "PP3")
	mustCtl(t, db, "lsp-chain-add", "SW0", "PC1")
	for i, g := range []string{"PG1", "PG2", "PG3"} {
		mustCtl(t, db, "lsp-pair-group-add", "PC1", g)
		mustCtl(t, db, "lsp-pair-group-port-pair-add", g, []string{"PP1", "PP2", "PP3"}[i])
	}
	mustCtl(t, db, "lsp-chain-classifier", "SW0", "PC1", "app2", "entry-lport", "bi-directional", "PCC1", "")
	return db
}

func TestChainValidationErrors(t *testing.T) {
	db := chainModel(t)
	before, _ := os.ReadFile(db)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"lsp-pair-add", "nosw", "p2", "p3", "PPx"}, `switch "nosw": does not exist`},
		{[]string{"lsp-pair-add", "SW0", "nope", "p3", "PPx"}, `port "nope": does not exist`},
		{[]string{"lsp-pair-add", "SW0", "x1", "y1", "PPx"}, `port pair "PPx": out port "y1" is on switch "sw1", not "SW0"`},
		{[]string{"lsp-pair-add", "SW0", "p2", "p3", "PPx"}, `port pair "PP1" already has in port "p2" and out port "p3"`},
		{[]string{"lsp-pair-add", "SW0", "app2", "x1", "PPx"}, `classifier "PCC1" classifies it`},
		{[]string{"lsp-pair-add", "SW0", "x1", "x1", "PPx", "--weight", "0"}, `--weight "0": must be a number in 1..1000`},
		{[]string{"lsp-pair-group-port-pair-add", "PG2", "PP1"}, `port pair "PP1": is already in group "PG1"`},
		{[]string{"lsp-pair-group-port-pair-add", "PG9", "PP1"}, `port pair group "PG9": does not exist`},
		{[]string{"lsp-pair-group-port-pair-add", "PG1", "PP9"}, `port pair "PP9": does not exist`},
		{[]string{"lsp-pair-group-add", "PC9", "PG9"}, `chain "PC9": does not exist`},
		{[]string{"lsp-chain-classifier", "SW0", "PC9", "app1", "entry-lport", "bi-directional", "C", ""}, `chain "PC9": does not exist`},
		{[]string{"lsp-chain-classifier", "SW0", "PC1", "p2", "entry-lport", "bi-directional", "C", ""}, `port "p2" is a VNF port (port pair "PP1") and cannot be classified`},
		{[]string{"lsp-chain-classifier", "SW0", "PC1", "y1", "entry-lport", "bi-directional", "C", ""}, `port "y1" is on switch "sw1", not "SW0"`},
		{[]string{"lsp-chain-classifier", "SW0", "PC1", "x1", "entry-lport", "bi-directional", "C", ""}, `port "x1" has no MAC address`},
		{[]string{"lsp-chain-classifier", "SW0", "PC1", "app1", "sideways", "bi-directional", "C", ""}, `direction "sideways"`},
		{[]string{"lsp-chain-classifier", "SW0", "PC1", "app1", "entry-lport", "both", "C", ""}, `path "both"`},
		{[]string{"lsp-chain-classifier", "SW0", "PC1", "app1", "entry-lport", "bi-directional", "C", "ip4 && tcp.dst =="}, `match "ip4 && tcp.dst ==": column 18: expected a value after "=="`},
		{[]string{"lsp-chain-classifier", "SW0", "PC1", "app1", "entry-lport", "bi-directional", "C", "", "--priority", "50"}, `--priority "50": must be a number in 0..49`},
		{[]string{"lsp-chain-classifier", "sw1", "PC1", "y1", "entry-lport", "bi-directional", "C", ""}, `chain "PC1" is on switch "SW0", not "sw1"`},
		{[]string{"lsp-chain-classifier", "SW0", "PC1", "app1", "entry-lport", "bi-directional", "PCC1", ""}, `classifier "PCC1": already exists`},
		{[]string{"lsp-pair-del", "PP1"}, `port pair "PP1": port pair group "PG1" still holds it`},
		{[]string{"lsp-chain-del", "PC1"}, `chain "PC1": classifier "PCC1" uses it`},
		{[]string{"lsp-del", "p2"}, `port "p2": port pair "PP1" uses it`},
		{[]string{"lsp-del", "app2"}, `port "app2": classifier "PCC1" uses it`},
		{[]string{"ls-del", "SW0"}, `switch "SW0": port "app1" still uses it`},
		{[]string{"lsp-set-port-security", "p2", "02:00:00:00:00:22"}, `in port "p2" has port security`},
		{[]string{"lsp-chain-classifier-del", "nope"}, `classifier "nope": does not exist`},
		{[]string{"lsp-pair-set-weight", "PP1", "1001"}, `weight "1001": must be a number in 1..1000`},
		{[]string{"lsp-pair-set-weight", "PPx", "2"}, `port pair "PPx": does not exist`},
		{[]string{"lsp-chain-classifier", "SW0", "PC1", "app2", "entry-lport", "bi-directional", "PCC2", "ip4 && tcp.dst == 80"},
			`overlaps classifier "PCC1": both steer traffic towards port "app2" at priority 0`},
		{[]string{"lsp-chain-classifier", "SW0", "PC1", "app2", "exit-lport", "uni-directional", "PCC2", "udp"},
			`overlaps classifier "PCC1": both steer traffic from port "app2" at priority 0`},
	} {
		_, err := ctl(t, db, tc.args...)
		if err == nil {
			t.Errorf("chainctl %v succeeded", tc.args)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("chainctl %v: error %q, want %q", tc.args, err, tc.want)
		}
		after, _ := os.ReadFile(db)
		if !bytes.Equal(before, after) {
			t.Fatalf("chainctl %v changed the model file", tc.args)
		}
	}
}

// The same VNF port twice in one chain would loop: refused.
func TestChainLoopRefused(t *testing.T) {
	db := chainModel(t)
	mustCtl(t, db, "lsp-pair-add", "SW0", "p3", "p2", "PPrev") // the same VNF, crossed the other way
	mustCtl(t, db, "lsp-pair-group-add", "PC1", "PG4")
	before, _ := os.ReadFile(db)
	_, err := ctl(t, db, "lsp-pair-group-port-pair-add", "PG4", "PPrev")
	if err == nil || !strings.Contains(err.Error(), `chain "PC1": port "p3" is used by port pairs "PP1" and "PPrev": traffic would loop`) {
		t.Fatalf("got %v", err)
	}
	if after, _ := os.ReadFile(db); !bytes.Equal(before, after) {
		t.Fatal("the model changed")
	}
}

func TestShowChains(t *testing.T) {
	db := chainModel(t)
	out := mustCtl(t, db, "show")
	for _, want := range []string{"chain PC1 (key 1) on switch SW0", "group 1: PG1", "pair PP2: in p4, out p5, weight 3",
		"classifier PCC1 (key 1): port app2 entry-lport bi-directional -> chain PC1, priority 0, match (all traffic)"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	var chains []struct {
		Name   string
		Groups []struct {
			Name  string
			Pairs []struct{ Name string }
		} `json:"groups"`
	}
	if err := json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "lsp-chain-list")), &chains); err != nil {
		t.Fatal(err)
	}
	if len(chains) != 1 || len(chains[0].Groups) != 3 || chains[0].Groups[1].Pairs[0].Name != "PP2" {
		t.Errorf("lsp-chain-list -o json: %+v", chains)
	}
	mustCtl(t, db, "lsp-pair-set-weight", "PP2", "7")
	if out := mustCtl(t, db, "lsp-pair-list", "SW0"); !strings.Contains(out, "PP2 (switch SW0): in p4, out p5, weight 7") {
		t.Errorf("lsp-pair-list after lsp-pair-set-weight:\n%s", out)
	}
	mustCtl(t, db, "lsp-chain-classifier-del", "PCC1")
	mustCtl(t, db, "lsp-chain-del", "PC1") // takes its groups along
	if out := mustCtl(t, db, "show"); strings.Contains(out, "PG1") {
		t.Errorf("groups survived their chain:\n%s", out)
	}
}

// Commands joined with -- are one transaction: a VNF's ports and its pair
// appear together (never as ordinary ports that get flooded traffic), and
// a failing command takes the others back.
func TestJoinedCommandsAreOneTransaction(t *testing.T) {
	db := baseModel(t)
	before, _ := os.ReadFile(db)
	_, err := ctl(t, db, "lsp-add", "sw0", "v1", "--", "lsp-add", "sw0", "v2", "--", "lsp-pair-add", "sw0", "v1", "v9", "PP")
	if err == nil || !strings.Contains(err.Error(), `port "v9": does not exist`) {
		t.Fatalf("got %v", err)
	}
	if after, _ := os.ReadFile(db); !bytes.Equal(before, after) {
		t.Fatal("a failed transaction changed the model")
	}
	mustCtl(t, db, "lsp-add", "sw0", "v1", "--tunnel-key", "20", "--", "lsp-add", "sw0", "v2", "--", "lsp-pair-add", "sw0", "v1", "v2", "PP")
	var m struct{ Generation int }
	json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "show")), &m)
	if m.Generation != 8 {
		t.Errorf("generation %d, want 8: three commands, one write", m.Generation)
	}
	if out := mustCtl(t, db, "show"); !strings.Contains(out, "port v1 (key 20)") {
		t.Errorf("--tunnel-key did not stay with its command:\n%s", out)
	}
	if _, err := ctl(t, db, "show", "--", "ls-list"); err == nil {
		t.Error("read commands were joined")
	}
}

// Overlapping matches on one port are fine at different priorities, and
// disjoint matches at the same one.
func TestClassifiersOnOnePort(t *testing.T) {
	db := chainModel(t)
	mustCtl(t, db, "lsp-chain-classifier", "SW0", "PC1", "app2", "entry-lport", "bi-directional", "web", "ip4 && tcp.dst == 80", "--priority", "10")
	mustCtl(t, db, "lsp-chain-classifier", "SW0", "PC1", "app2", "entry-lport", "bi-directional", "ssh", "ip4 && tcp.dst == 22", "--priority", "10")
	mustCtl(t, db, "lsp-chain-classifier", "SW0", "PC1", "app2", "exit-lport", "uni-directional", "dns", "udp.dst == 53", "--priority", "10")
	// tcp.src == 80 from app2 is the reply direction of "web".
	if _, err := ctl(t, db, "lsp-chain-classifier", "SW0", "PC1", "app2", "exit-lport", "uni-directional", "x", "tcp.src == 80", "--priority", "10"); err == nil ||
		!strings.Contains(err.Error(), `overlaps classifier "web": both steer traffic from port "app2" at priority 10`) {
		t.Errorf("got %v", err)
	}
}

// A writer gives up after --lock-timeout, naming the lock's holder.
func TestLockTimeout(t *testing.T) {
	db := baseModel(t)
	f, err := os.OpenFile(db+".lock", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("4321\n"), 0)
	for _, args := range [][]string{{"--lock-timeout=150ms", "ls-add", "x"}, {"ls-add", "x", "--lock-timeout", "150ms"}} {
		start := time.Now()
		_, err := ctl(t, db, args...)
		if err == nil || err.Error() != "model "+db+": locked by PID 4321 for 150ms" {
			t.Errorf("%v: got %v", args, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("%v: gave up after %v", args, d)
		}
	}
	if _, err := ctl(t, db, "--lock-timeout", "soon", "ls-add", "x"); err == nil || !strings.Contains(err.Error(), `--lock-timeout "soon": not a positive duration`) {
		t.Errorf("got %v", err)
	}
}

// Names that are not safe as file names are refused; huge values are
// echoed cut.
func TestNamesAndEchoes(t *testing.T) {
	db := baseModel(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ls-add", "a/b"}, `switch "a/b": a name may hold only letters, digits and _ . : - (1 to 63 of them)`},
		{[]string{"chassis-add", "../../x", "geneve", "192.0.2.9"}, `chassis "../../x": a name may hold only`},
		{[]string{"ls-add", ".."}, `switch "..": a name cannot be "." or ".."`},
		{[]string{"lsp-del", strings.Repeat("p", 1_000_000)}, `port "pppp`},
		{[]string{"ls-add", "sw9", "--tunnel-key", strings.Repeat("9", 1_000_000)}, `(1000000 bytes): must be a number`},
		{[]string{strings.Repeat("v", 1_000_000)}, `(1000000 bytes): unknown command`},
	} {
		_, err := ctl(t, db, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || len(err.Error()) > 300 {
			t.Errorf("%.80v: got %.400v, want %q", tc.args, err, tc.want)
		}
	}
}

// Reading a model that is a FIFO fails at once.
func TestReadFIFOFails(t *testing.T) {
	db := filepath.Join(t.TempDir(), "nb.json")
	if err := syscall.Mkfifo(db, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := ctl(t, db, "show"); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file (a named pipe)") {
			t.Errorf("got %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("chainctl show hangs on a FIFO")
	}
}
