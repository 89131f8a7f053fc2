package main

import (
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chainwire/chainwire/topology"
)

// The *-set-options verbs of pairs and groups replace the options whole,
// and every list and show print them, in text and JSON.
func TestPairAndGroupOptions(t *testing.T) {
	db := chainModel(t)
	mustCtl(t, db, "lsp-pair-set-options", "PP1", "health-check=true", "health-interval=2", "health-failure=5")
	mustCtl(t, db, "lsp-pair-group-set-options", "PG2", "fail-mode=open")
	mustCtl(t, db, "lsp-pair-group-set-options", "PG3", "tap=true", "fail-mode=close")
	if out := mustCtl(t, db, "lsp-pair-list", "SW0"); !strings.Contains(out,
		"PP1 (switch SW0): in p2, out p3, weight 1, options: health-check=true health-failure=5 health-interval=2\n") ||
		!strings.Contains(out, "PP2 (switch SW0): in p4, out p5, weight 3\n") {
		t.Errorf("lsp-pair-list:\n%s", out)
	}
	var pairs []topology.PortPair
	if err := json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "lsp-pair-list")), &pairs); err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 3 || !maps.Equal(pairs[0].Options, map[string]string{"health-check": "true", "health-interval": "2", "health-failure": "5"}) ||
		pairs[1].Options != nil {
		t.Errorf("lsp-pair-list -o json: %+v", pairs)
	}
	out := mustCtl(t, db, "show")
	for _, want := range []string{"group 1: PG1\n", "pair PP1: in p2, out p3, weight 1, options: health-check=true health-failure=5 health-interval=2\n",
		"group 2: PG2, options: fail-mode=open\n", "group 3: PG3, options: fail-mode=close tap=true\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	var m topology.Model
	if err := json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "show")), &m); err != nil {
		t.Fatal(err)
	}
	if hc, ok := m.PortPair("PP1").HealthCheck(); !ok || hc.Interval != 2*time.Second || hc.Failure != 5 ||
		!m.PortPairGroup("PG2").FailOpen() || !m.PortPairGroup("PG3").Tap() || m.PortPairGroup("PG1").Options != nil {
		t.Errorf("show -o json: pairs %+v, groups %+v", m.PortPairs, m.PortPairGroups)
	}
	var chains []struct {
		Groups []struct {
			Name    string
			Options map[string]string
			Pairs   []topology.PortPair `json:"pairs"`
		} `json:"groups"`
	}
	if err := json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "lsp-chain-list")), &chains); err != nil {
		t.Fatal(err)
	}
	if g := chains[0].Groups; len(g) != 3 || g[1].Options["fail-mode"] != "open" || g[0].Pairs[0].Options["health-check"] != "true" {
		t.Errorf("lsp-chain-list -o json: %+v", chains)
	}
	// Replaced whole: what is not given is gone; nothing given, none left.
	mustCtl(t, db, "lsp-pair-set-options", "PP1", "health-check=false")
	mustCtl(t, db, "lsp-pair-group-set-options", "PG2")
	m = topology.Model{}
	json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "show")), &m)
	if o := m.PortPair("PP1").Options; !maps.Equal(o, map[string]string{"health-check": "false"}) || m.PortPairGroup("PG2").Options != nil {
		t.Errorf("after replacing: PP1 %v, PG2 %v", o, m.PortPairGroup("PG2").Options)
	}
	if out := mustCtl(t, db, "show"); !strings.Contains(out, "group 2: PG2\n") {
		t.Errorf("show after clearing PG2's options:\n%s", out)
	}
	// A pair in no group is shown too, with its options.
	mustCtl(t, db, "lsp-pair-add", "SW0", "x1", "x1", "PP9", "--", "lsp-pair-set-options", "PP9", "health-check=true")
	if out := mustCtl(t, db, "show"); !strings.Contains(out, "    pair PP9 (in no group): in x1, out x1, weight 1, options: health-check=true\n") {
		t.Errorf("show lacks the pair in no group:\n%s", out)
	}
}

// A refused option names what and why, and leaves the model file as it
// was; so does a transaction with one refused command.
func TestPairOptionsRefused(t *testing.T) {
	db := chainModel(t)
	mustCtl(t, db, "lsp-pair-set-options", "PP1", "health-check=true")
	before, _ := os.ReadFile(db)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"lsp-pair-set-options", "PP1", "health-check=true", "probe=icmp"},
			`port pair "PP1": option "probe" is not supported (known: health-check, health-interval, health-timeout, health-success, health-failure)`},
		{[]string{"lsp-pair-set-options", "PP1", "health-check=yes"}, `port pair "PP1": health-check "yes": want true or false`},
		{[]string{"lsp-pair-set-options", "PP1", "health-interval=0"}, `port pair "PP1": health-interval "0": want seconds in 0.1..60`},
		{[]string{"lsp-pair-set-options", "PP1", "health-timeout=2"}, `port pair "PP1": health-timeout 2 is longer than health-interval 1`},
		{[]string{"lsp-pair-set-options", "PP1", "health-success=0"}, `port pair "PP1": health-success "0": want a count in 1..100`},
		{[]string{"lsp-pair-set-options", "PP1", "health-check"}, `option "health-check": want KEY=VALUE`},
		{[]string{"lsp-pair-set-options", "PP1", "=true"}, `option "=true": want KEY=VALUE`},
		{[]string{"lsp-pair-set-options", "PPx", "health-check=true"}, `port pair "PPx": does not exist`},
		{[]string{"lsp-pair-set-options"}, `usage: chainctl lsp-pair-set-options PAIR [KEY=VALUE...]`},
		{[]string{"lsp-pair-group-set-options", "PG1", "fail-mode=drop"}, `port pair group "PG1": fail-mode "drop": want close or open`},
		{[]string{"lsp-pair-group-set-options", "PG1", "tap=yes"}, `port pair group "PG1": tap "yes": want true or false`},
		{[]string{"lsp-pair-group-set-options", "PG1", "mirror=true"}, `port pair group "PG1": option "mirror" is not supported (known: fail-mode, tap)`},
		{[]string{"lsp-pair-group-set-options", "PGx", "tap=true"}, `port pair group "PGx": does not exist`},
		{[]string{"lsp-pair-group-set-options"}, `usage: chainctl lsp-pair-group-set-options GROUP [KEY=VALUE...]`},
		{[]string{"lsp-pair-group-set-options", "PG1", "tap=true", "--weight", "2"}, `option --weight does not apply`},
		{[]string{"lsp-pair-set-options", "PP1", "health-check=false", "--", "lsp-pair-group-set-options", "PG1", "fail-mode=drop"},
			`port pair group "PG1": fail-mode "drop"`},
		{[]string{"lsp-pair-group-set-options", "PG1", "fail-mode=open", "--", "lsp-pair-set-options", "PP1", "health-interval=x"},
			`port pair "PP1": health-interval "x"`},
	} {
		_, err, ok := refusedCmd(t, db, before, c.args)
		if ok && (!strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n")) {
			t.Errorf("chainctl %v: error %q, want one line containing %q", c.args, err, c.want)
		}
	}
	// Joined, the two verbs are one write.
	mustCtl(t, db, "lsp-pair-set-options", "PP1", "health-check=true", "health-interval=0.5", "--", "lsp-pair-group-set-options", "PG1", "fail-mode=open")
	after, _ := os.ReadFile(db)
	var a, b topology.Model
	json.Unmarshal(before, &b)
	json.Unmarshal(after, &a)
	if a.Generation != b.Generation+1 || !a.PortPairGroup("PG1").FailOpen() || a.PortPair("PP1").Options["health-interval"] != "0.5" {
		t.Errorf("joined: generation %d after %d, PG1 %v, PP1 %v", a.Generation, b.Generation, a.PortPairGroup("PG1").Options, a.PortPair("PP1").Options)
	}
}

// --wait waits for the switch of a pair or group whose options changed.
func TestOptionsChangedSwitches(t *testing.T) {
	db := chainModel(t)
	base, err := topology.NewFileStore(db).Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		edit func(m *topology.Model)
		want string
	}{
		{func(m *topology.Model) { m.PortPair("PP2").Options = map[string]string{"health-check": "true"} }, "SW0"},
		{func(m *topology.Model) { m.PortPairGroup("PG3").Options = map[string]string{"tap": "true"} }, "SW0"},
	} {
		if got := changedAfter(base, c.edit); got != c.want {
			t.Errorf("changed switches %q, want %q", got, c.want)
		}
	}
}

// chainctl status prints the health of the pairs each agent probes and
// the neighbours it learned, in text (a line each under its chassis) and
// JSON.
func TestStatusShowsHealth(t *testing.T) {
	db := baseModel(t)
	now := time.Now()
	for _, st := range []topology.Status{
		{Chassis: "hv1", Generation: 7, Connected: true, Heartbeat: 2, Updated: now,
			Health: map[string]string{"PP2": topology.HealthDown, "PP1": topology.HealthUp}},
		{Chassis: "hv2", Generation: 7, Connected: true, Heartbeat: 2, Updated: now,
			Neighbours: map[string]string{"r2 10.0.2.12": "02:00:00:00:02:0c", "r2 fd00:2::12": "02:00:00:00:02:0c"}},
	} {
		if err := topology.NewFileStore(db).PublishStatus(st); err != nil {
			t.Fatal(err)
		}
	}
	out := mustCtl(t, db, "status")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 6 || !strings.HasPrefix(lines[0], "hv1: generation 7 of 7, connected") || lines[1] != "    pair PP1: up" ||
		lines[2] != "    pair PP2: down" || !strings.HasPrefix(lines[3], "hv2: generation 7 of 7, connected") ||
		lines[4] != "    neighbour 10.0.2.12 via r2: 02:00:00:00:02:0c" || lines[5] != "    neighbour fd00:2::12 via r2: 02:00:00:00:02:0c" {
		t.Errorf("status:\n%s", out)
	}
	var sts []struct {
		Chassis string
		Health  map[string]string
		State   string
	}
	if err := json.Unmarshal([]byte(mustCtl(t, db, "-o", "json", "status")), &sts); err != nil {
		t.Fatal(err)
	}
	if len(sts) != 2 || !maps.Equal(sts[0].Health, map[string]string{"PP1": "up", "PP2": "down"}) || sts[1].Health != nil || sts[0].State != "connected" {
		t.Errorf("status -o json: %+v", sts)
	}
}

func TestHelpListsResilienceVerbs(t *testing.T) {
	out := mustCtl(t, "unused", "help")
	for _, v := range []string{
		"lsp-pair-set-options PAIR [KEY=VALUE...] replace a pair's options (health-check=true|false, health-interval=S, health-timeout=S, health-success=N, health-failure=N)",
		"lsp-pair-group-set-options GROUP [KEY=VALUE...] replace a group's options (fail-mode=close|open, tap=true|false)",
	} {
		if !strings.Contains(out, v) {
			t.Errorf("help lacks %q:\n%s", v, out)
		}
	}
}

// The completion offers the *-set-options verbs' keys after their object,
// and the values of those with few after the = (its own word in bash).
func TestBashCompletionOfOptions(t *testing.T) {
	script := mustCtl(t, "unused", "completion", "bash")
	for _, c := range []struct {
		words []string
		want  string
	}{
		{[]string{"lsp-pair-set-options", "PP1", "health-"}, "health-check= health-interval= health-timeout= health-success= health-failure="},
		{[]string{"lsp-pair-set-options", "PP1", "health-check=true", "health-t"}, "health-timeout="},
		{[]string{"lsp-pair-set-options", "PP1", "health-check", "=", ""}, "true false"},
		{[]string{"lsp-pair-set-options", ""}, ""}, // the pair's name first
		{[]string{"lsp-pair-group-set-options", "PG1", ""}, "fail-mode= tap="},
		{[]string{"lsp-pair-group-set-options", "PG1", "fail-mode", "=", "o"}, "open"},
		{[]string{"ls-add", "sw9", "--", "lsp-pair-group-set-options", "PG1", "tap", "=", ""}, "true false"},
		{[]string{"lsp-set-options", "p1", ""}, "requested-chassis= router-port="},
		{[]string{"lr-route-"}, "lr-route-add lr-route-del lr-route-list"},
		{[]string{"lsp-set-t"}, "lsp-set-type"},
		{[]string{"lsp-pair-g"}, "lsp-pair-group-add lsp-pair-group-del lsp-pair-group-port-pair-add lsp-pair-group-port-pair-del lsp-pair-group-set-options"},
		{[]string{"lsp-pair-list", ""}, ""},
	} {
		words := append([]string{"chainctl"}, c.words...)
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = "'" + w + "'"
		}
		cmd := exec.Command("bash", "-c", script+`
COMP_WORDS=(`+strings.Join(quoted, " ")+`); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
_chainctl; echo "${COMPREPLY[*]}"`)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", c.words, err, out)
		}
		if got := strings.TrimSuffix(string(out), "\n"); got != c.want {
			t.Errorf("completing %q: %q, want %q", c.words, got, c.want)
		}
	}
}
