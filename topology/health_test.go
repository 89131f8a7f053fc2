package topology_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chainwire/chainwire/topology"
)

// healthModel: a chain of one group with a two-armed pair (v1, v2) and a
// one-armed one (v3), both health-checked, the group failing open, and a
// tap group of one pair (v4).
func healthModel() *topology.Model {
	m := &topology.Model{
		Switches: []topology.Switch{{Name: "sw0", Key: 1}},
		Ports: []topology.Port{
			{Name: "a1", Switch: "sw0", Key: 1, Addresses: []string{"02:00:00:00:00:01 10.0.0.1"}},
			{Name: "v1", Switch: "sw0", Key: 2}, {Name: "v2", Switch: "sw0", Key: 3},
			{Name: "v3", Switch: "sw0", Key: 4}, {Name: "v4", Switch: "sw0", Key: 5},
		},
		PortPairs: []topology.PortPair{
			{Name: "pp1", Switch: "sw0", InPort: "v1", OutPort: "v2", Weight: 1,
				Options: map[string]string{"health-check": "true", "health-interval": "2", "health-failure": "5"}},
			{Name: "pp2", Switch: "sw0", InPort: "v3", OutPort: "v3", Weight: 1, Options: map[string]string{"health-check": "true"}},
			{Name: "tap1", Switch: "sw0", InPort: "v4", OutPort: "v4", Weight: 1},
		},
		PortPairGroups: []topology.PortPairGroup{
			{Name: "pg", Pairs: []string{"pp1", "pp2"}, Options: map[string]string{"fail-mode": "open"}},
			{Name: "taps", Pairs: []string{"tap1"}, Options: map[string]string{"tap": "true"}},
		},
		PortChains: []topology.PortChain{{Name: "pc", Switch: "sw0", Key: 1, Groups: []string{"taps", "pg"}}},
		Classifiers: []topology.Classifier{{Name: "cl", Switch: "sw0", Chain: "pc", Port: "a1",
			Direction: topology.EntryLport, Path: topology.Bidirectional, Key: 1}},
	}
	m.Normalize()
	return m
}

func TestHealthOptionsAccepted(t *testing.T) {
	m := healthModel()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	hc, ok := m.PortPair("pp1").HealthCheck()
	if want := (topology.HealthCheck{Interval: 2 * time.Second, Timeout: 500 * time.Millisecond, Success: 2, Failure: 5}); !ok || hc != want {
		t.Errorf("pp1: HealthCheck() = %+v, %v; want %+v", hc, ok, want)
	}
	if hc, ok := m.PortPair("pp2").HealthCheck(); !ok || hc != topology.DefaultHealthCheck {
		t.Errorf("pp2: HealthCheck() = %+v, %v; want the defaults", hc, ok)
	}
	if _, ok := m.PortPair("tap1").HealthCheck(); ok {
		t.Error("tap1 has no options, and a health check")
	}
	if g := m.PortPairGroup("pg"); !g.FailOpen() || g.Tap() {
		t.Errorf("pg: FailOpen %v, Tap %v; want true, false", g.FailOpen(), g.Tap())
	}
	if g := m.PortPairGroup("taps"); g.FailOpen() || !g.Tap() {
		t.Errorf("taps: FailOpen %v, Tap %v; want false, true", g.FailOpen(), g.Tap())
	}
	for _, c := range []struct {
		opts map[string]string
		want topology.HealthCheck
		on   bool
	}{
		// The timeout is min(0.5 s, interval/2) unless given.
		{map[string]string{"health-check": "true", "health-interval": "0.1"}, topology.HealthCheck{Interval: 100 * time.Millisecond, Timeout: 50 * time.Millisecond, Success: 2, Failure: 3}, true},
		{map[string]string{"health-check": "true", "health-interval": "0.6"}, topology.HealthCheck{Interval: 600 * time.Millisecond, Timeout: 300 * time.Millisecond, Success: 2, Failure: 3}, true},
		{map[string]string{"health-check": "true", "health-interval": "60", "health-timeout": "60"}, topology.HealthCheck{Interval: time.Minute, Timeout: time.Minute, Success: 2, Failure: 3}, true},
		{map[string]string{"health-check": "true", "health-interval": "0.29", "health-timeout": "0.01", "health-success": "100", "health-failure": "1"},
			topology.HealthCheck{Interval: 290 * time.Millisecond, Timeout: 10 * time.Millisecond, Success: 100, Failure: 1}, true},
		// Options without health-check=true are kept, and checked, but
		// probe nothing.
		{map[string]string{"health-check": "false", "health-interval": "3"}, topology.HealthCheck{}, false},
		{map[string]string{"health-interval": "3"}, topology.HealthCheck{}, false},
	} {
		m := healthModel()
		m.PortPair("pp1").Options = c.opts
		if err := m.Validate(); err != nil {
			t.Errorf("%v: %v", c.opts, err)
			continue
		}
		hc, on := m.PortPair("pp1").HealthCheck()
		if on != c.on || on && hc != c.want {
			t.Errorf("%v: HealthCheck() = %+v, %v; want %+v, %v", c.opts, hc, on, c.want, c.on)
		}
	}
	m = healthModel()
	m.PortPairGroup("pg").Options = map[string]string{"fail-mode": "close", "tap": "false"}
	if err := m.Validate(); err != nil || m.PortPairGroup("pg").FailOpen() || m.PortPairGroup("pg").Tap() {
		t.Errorf("fail-mode=close tap=false: %v", err)
	}
}

// Unknown keys are refused naming the known ones, bad values with what,
// where and why; the whole model, a fresh index, an index applying the
// change and reading back (the cheap rules) all say the same.
func TestHealthOptionsRefused(t *testing.T) {
	pair := func(kv ...string) func(m *topology.Model) {
		return func(m *topology.Model) { m.PortPair("pp1").Options = options(kv...) }
	}
	group := func(kv ...string) func(m *topology.Model) {
		return func(m *topology.Model) { m.PortPairGroup("pg").Options = options(kv...) }
	}
	for _, c := range []struct {
		edit func(m *topology.Model)
		want string
	}{
		{pair("health-check=true", "probe=icmp"),
			`port pair "pp1": option "probe" is not supported (known: health-check, health-interval, health-timeout, health-success, health-failure)`},
		{pair("zz=1", "health-check=maybe", "aa=1"), `port pair "pp1": option "aa" is not supported`},
		{pair("health-check=yes"), `port pair "pp1": health-check "yes": want true or false`},
		{pair("health-check="), `port pair "pp1": health-check "": want true or false`},
		{pair("health-check=true", "health-interval=0.05"), `port pair "pp1": health-interval "0.05": want seconds in 0.1..60`},
		{pair("health-interval=61"), `health-interval "61": want seconds in 0.1..60`},
		{pair("health-interval=NaN"), `health-interval "NaN": want seconds in 0.1..60`},
		{pair("health-interval=+Inf"), `health-interval "+Inf": want seconds in 0.1..60`},
		{pair("health-interval=1s"), `health-interval "1s": want seconds in 0.1..60`},
		{pair("health-interval=" + strings.Repeat("9", 100000)), `health-interval "99999`},
		{pair("health-timeout=0.001"), `port pair "pp1": health-timeout "0.001": want seconds in 0.01..60`},
		{pair("health-timeout=-1"), `health-timeout "-1": want seconds in 0.01..60`},
		{pair("health-timeout=2"), `port pair "pp1": health-timeout 2 is longer than health-interval 1: a probe must be answered before the next one`},
		{pair("health-interval=0.5", "health-timeout=0.6"), `health-timeout 0.6 is longer than health-interval 0.5`},
		{pair("health-success=0"), `port pair "pp1": health-success "0": want a count in 1..100`},
		{pair("health-success=1.5"), `health-success "1.5": want a count in 1..100`},
		{pair("health-failure=101"), `port pair "pp1": health-failure "101": want a count in 1..100`},
		{group("fail-mode=open", "mirror=true"), `port pair group "pg": option "mirror" is not supported (known: fail-mode, tap)`},
		{group("fail-mode=drop"), `port pair group "pg": fail-mode "drop": want close or open`},
		{group("fail-mode=Open"), `fail-mode "Open": want close or open`},
		{group("tap=yes"), `port pair group "pg": tap "yes": want true or false`},
		{group("tap=1"), `tap "1": want true or false`},
	} {
		m := healthModel()
		c.edit(m)
		err := m.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) || len(err.Error()) > 300 {
			t.Errorf("got %.300v\nwant %s", err, c.want)
			continue
		}
		if _, ierr := topology.NewIndex(m); fmt.Sprint(ierr) != fmt.Sprint(err) {
			t.Errorf("NewIndex: %v; Validate: %v", ierr, err)
		}
		if serr := topology.ValidateStored(m); fmt.Sprint(serr) != fmt.Sprint(err) {
			t.Errorf("ValidateStored: %v; Validate: %v", serr, err)
		}
		if _, aerr := applyOn(t, healthModel(), c.edit); fmt.Sprint(aerr) != fmt.Sprint(err) {
			t.Errorf("Apply: %v; Validate: %v", aerr, err)
		}
	}
}

// options is a map of "K=V" arguments.
func options(kv ...string) map[string]string {
	m := map[string]string{}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		m[k] = v
	}
	return m
}

// Options are part of a pair's and a group's value: an index applies a
// change of them (and only them) as a change of the object, copies of
// the model do not share them, and the index hands out its own.
func TestOptionsAreValues(t *testing.T) {
	before := healthModel()
	next, err := applyOn(t, before, func(m *topology.Model) {
		m.PortPair("pp2").Options["health-interval"] = "5"
		m.PortPairGroup("taps").Options = nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if before.PortPair("pp2").Options["health-interval"] != "" {
		t.Fatal("a copy of the model shares the pair's options")
	}
	c := topology.Diff(before, next)
	if got := fmt.Sprint(c.Refs()); got != `[port pair "pp2" port pair group "taps"]` {
		t.Errorf("Diff names %s, want the pair and the group", got)
	}
	ix := mustIndex(t, before)
	if err := ix.Apply(c); err != nil {
		t.Fatal(err)
	}
	got := ix.Model()
	if hc, ok := got.PortPair("pp2").HealthCheck(); !ok || hc.Interval != 5*time.Second || got.PortPairGroup("taps").Tap() {
		t.Errorf("the index holds pp2 %+v and taps %+v", got.PortPair("pp2"), got.PortPairGroup("taps"))
	}
	got.PortPair("pp1").Options["health-check"] = "false"
	got.PortPairGroup("pg").Options["fail-mode"] = "close"
	again := ix.Model()
	if _, ok := again.PortPair("pp1").HealthCheck(); !ok || !again.PortPairGroup("pg").FailOpen() {
		t.Error("the model an index hands out shares its options")
	}
	if d := topology.Diff(next, again); !d.Empty() {
		t.Errorf("the index differs from the model it applied: %v", d.Refs())
	}
}
