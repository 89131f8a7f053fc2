package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func ctl(t *testing.T, db string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(append([]string{"--db", db}, args...), &out)
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
		{[]string{"ls-add", "sw2", "--tunnel-key", "16777216"}, `--tunnel-key 16777216: must be a number in 1..16777215`},
		{[]string{"ls-add", "sw2", "--tunnel-key", "7"}, `switch "sw2": tunnel key 7 is already used by switch "sw1"`},
		{[]string{"lsp-add", "sw0", "p3", "--tunnel-key", "32768"}, `must be a number in 1..32767`},
		{[]string{"lsp-add", "sw0", "p3", "--tunnel-key", "9"}, `tunnel key 9 is already used by port "p2"`},
		{[]string{"lsp-add", "sw0", "bad name"}, `a name may hold only printable ASCII`},
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

// --wait fails naming the chassis whose agent has not applied the change.
func TestWaitNamesLaggingChassis(t *testing.T) {
	db := baseModel(t)
	_, err := ctl(t, db, "--wait", "--wait-timeout", "100ms", "lsp-set-addresses", "p2", "02:00:00:00:00:02")
	if err == nil || !strings.Contains(err.Error(), `chassis "hv1" has not reported`) {
		t.Fatalf("got %v", err)
	}
}
