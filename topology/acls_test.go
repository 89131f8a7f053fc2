package topology_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/chainwire/chainwire/topology"
	"github.com/chainwire/chainwire/topology/expr"
)

func intp(v int) *int { return &v }

// policyModel: two switches, a port group spanning them, an address set,
// ACLs on a switch and on the group, a QoS rule.
func policyModel() *topology.Model {
	m := &topology.Model{
		Switches: []topology.Switch{{Name: "sw0", Key: 1}, {Name: "sw1", Key: 2}},
		Ports: []topology.Port{
			{Name: "p1", Switch: "sw0", Key: 1, Addresses: []string{"02:00:00:00:00:01 10.0.0.1 fd00::1"}},
			{Name: "p2", Switch: "sw0", Key: 2, Addresses: []string{"02:00:00:00:00:02 10.0.0.2"}},
			{Name: "p3", Switch: "sw1", Key: 1, Addresses: []string{"02:00:00:00:00:03 10.0.1.3"}},
			{Name: "p4", Switch: "sw0", Key: 3},
		},
		PortGroups:  []topology.PortGroup{{Name: "web", Ports: []string{"p1", "p3"}}, {Name: "empty"}},
		AddressSets: []topology.AddressSet{{Name: "admins", Addresses: []string{"10.9.0.0/16", "10.9.1.1", "10.10.0.1"}}},
		ACLs: []topology.ACL{
			{Name: "a1", Key: 1, Switch: "sw0", Direction: topology.ToLport, Priority: 1001,
				Match: `outport == "p2" && ip4.src == $admins && tcp.dst == 22`, Action: topology.ACLAllowRelated},
			{Name: "a2", Key: 2, PortGroup: "web", Direction: topology.FromLport, Priority: 1000,
				Match: `inport == @web && ip4.dst == $web_ip4`, Action: topology.ACLAllow, Log: true},
			{Name: "a3", Key: 3, PortGroup: "web", Direction: topology.ToLport, Priority: 0, Match: "ip", Action: topology.ACLDrop},
			{Name: "a4", Key: 4, Switch: "sw1", Direction: topology.ToLport, Priority: 10, Match: "outport == @empty", Action: topology.ACLReject},
		},
		QoS: []topology.QoS{
			{Name: "qos1", Key: 1, Switch: "sw0", Direction: topology.FromLport, Priority: 100, Match: `inport == "p1"`, DSCP: intp(46)},
			{Name: "qos2", Key: 2, Switch: "sw0", Direction: topology.ToLport, Priority: 100, Match: "ip6.src == $web_ip6", DSCP: intp(10), Rate: 1000, Burst: 100},
		},
	}
	m.Normalize()
	return m
}

func aclName(a *topology.ACL) string      { return a.Name }
func qosName(q *topology.QoS) string      { return q.Name }
func pgName(g *topology.PortGroup) string { return g.Name }

func TestPolicyModelIndexed(t *testing.T) {
	m := policyModel()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	ix := mustIndex(t, m)
	for _, c := range []struct{ what, got, want string }{
		{"ACLsOf(sw0)", joined(ix.ACLsOf("sw0"), aclName), "a1"},
		{"ACLsOf(sw1)", joined(ix.ACLsOf("sw1"), aclName), "a4"},
		{"ACLsOfPortGroup(web)", joined(ix.ACLsOfPortGroup("web"), aclName), "a2,a3"},
		{"PortGroupsOfPort(p1)", joined(ix.PortGroupsOfPort("p1"), pgName), "web"},
		{"PortGroupsOfPort(p2)", joined(ix.PortGroupsOfPort("p2"), pgName), ""},
		{"QoSOf(sw0)", joined(ix.QoSOf("sw0"), qosName), "qos1,qos2"},
		{"ACLsNaming(port p2)", joined(ix.ACLsNaming(topology.Ref{Kind: topology.KindPort, Name: "p2"}), aclName), "a1"},
		{"ACLsNaming(group web)", joined(ix.ACLsNaming(topology.Ref{Kind: topology.KindPortGroup, Name: "web"}), aclName), "a2"},
		{"ACLsNaming(set admins)", joined(ix.ACLsNaming(topology.Ref{Kind: topology.KindAddressSet, Name: "admins"}), aclName), "a1"},
		{"QoSNaming(group web)", joined(ix.QoSNaming(topology.Ref{Kind: topology.KindPortGroup, Name: "web"}), qosName), "qos2"},
		{"QoSNaming(port p1)", joined(ix.QoSNaming(topology.Ref{Kind: topology.KindPort, Name: "p1"}), qosName), "qos1"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if a := ix.ACL("a2"); a == nil || !a.Log || ix.PortGroup("web") == nil || ix.AddressSet("admins") == nil || *ix.QoSRule("qos2").DSCP != 10 {
		t.Errorf("lookups: %+v", a)
	}
	r := ix.MatchResolver("sw0")
	if k, ok := r.PortKey("p3"); k != 0 || !ok {
		t.Errorf("p3 resolves on sw0 to key %d (%v), want none there", k, ok)
	}
	if _, ok := r.PortKey("p9"); ok {
		t.Error("p9 resolves")
	}
	// A group's ACL compiled for one of its switches: a port elsewhere
	// matches nothing there.
	e, err := expr.CompileEnv(`inport == {"p1", "p3"}`, &expr.Env{Resolver: r})
	if err != nil || e.String() != "inport=0x0001" {
		t.Errorf(`inport == {"p1", "p3"} on sw0: %v, %v`, e, err)
	}
	if e, err := expr.CompileEnv(`inport == "p3" && ip4`, &expr.Env{Resolver: r, EmptyOK: true}); err != nil || e.String() != "false" {
		t.Errorf(`inport == "p3" on sw0: %v, %v`, e, err)
	}
	if keys, _ := r.PortGroup("web"); !slices.Equal(keys, []uint32{1}) {
		t.Errorf("@web on sw0 = %v, want p1's key", keys)
	}
	if keys, _ := ix.MatchResolver("").PortGroup("web"); !slices.Equal(keys, []uint32{1, 1}) {
		t.Errorf("@web on every switch = %v", keys)
	}
	if a, _ := r.AddressSet("web_ip4"); !slices.Equal(a, []string{"10.0.0.1", "10.0.1.3"}) {
		t.Errorf("$web_ip4 = %v", a)
	}
	if a, _ := r.AddressSet("web_ip6"); !slices.Equal(a, []string{"fd00::1"}) {
		t.Errorf("$web_ip6 = %v", a)
	}
}

// Every rule of the new kinds refuses what it must, naming the object.
func TestPolicyRules(t *testing.T) {
	for _, c := range []struct {
		edit func(m *topology.Model)
		want string
	}{
		{func(m *topology.Model) { m.ACLs[0].Switch = "nosw" }, `ACL "a1": switch "nosw" does not exist`},
		{func(m *topology.Model) { m.ACLs[0].PortGroup = "web" }, `ACL "a1": applies to switch "sw0" and to port group "web": give one of them`},
		{func(m *topology.Model) { m.ACLs[0].Switch = "" }, `ACL "a1": applies to no switch and no port group`},
		{func(m *topology.Model) { m.ACLs[1].PortGroup = "nopg" }, `ACL "a2": port group "nopg" does not exist`},
		{func(m *topology.Model) { m.ACLs[0].Key = 0 }, `ACL "a1": key 0 is out of range 1..16777215`},
		{func(m *topology.Model) { m.ACLs[1].Key = 1 }, `ACL "a2": key 1 is already used by ACL "a1"`},
		{func(m *topology.Model) { m.ACLs[0].Direction = "inbound" }, `ACL "a1": direction "inbound": want from-lport or to-lport`},
		{func(m *topology.Model) { m.ACLs[0].Priority = 32768 }, `ACL "a1": priority 32768 is out of range 0..32767`},
		{func(m *topology.Model) { m.ACLs[0].Action = "pass" }, `ACL "a1": action "pass": want one of allow, allow-related, allow-stateless, drop, reject`},
		{func(m *topology.Model) { m.ACLs[0].Name = "bad name" }, `ACL "bad name": a name may hold only`},
		{func(m *topology.Model) { m.ACLs[0].Match = "tcp.dst ==" }, `ACL "a1": match "tcp.dst ==": column 11: expected a value after "=="`},
		{func(m *topology.Model) { m.ACLs[0].Match = `outport == "p9"` }, `ACL "a1": its match names port "p9", which does not exist`},
		{func(m *topology.Model) { m.ACLs[0].Match = `outport == "p3"` }, `ACL "a1": its match names port "p3", which is on switch "sw1", not "sw0"`},
		{func(m *topology.Model) { m.ACLs[0].Match = `outport == @nopg` }, `ACL "a1": its match names port group "nopg", which does not exist`},
		{func(m *topology.Model) { m.ACLs[0].Match = `ip4.src == $noset` }, `ACL "a1": its match names address set "noset", which does not exist`},
		{func(m *topology.Model) { m.ACLs[0].Match = `ip4.src == $nopg_ip4` }, `ACL "a1": its match names address set "nopg_ip4", which does not exist`},
		{func(m *topology.Model) { m.ACLs[0].Match = `ip6.src == $admins` },
			`ACL "a1": match "ip6.src == $admins": column 12: address set "admins" holds "10.10.0.1", which is not an IPv6 address or prefix`},
		{func(m *topology.Model) { m.ACLs[1].Match = `outport == "p1"` },
			`ACL "a2": match "outport == \"p1\"": outport is not known yet when a from-lport rule runs (test it in a to-lport one)`},
		{func(m *topology.Model) {
			m.ACLs[2].Direction, m.ACLs[2].Priority, m.ACLs[2].Match = m.ACLs[1].Direction, m.ACLs[1].Priority, m.ACLs[1].Match
		},
			`ACL "a3": already exists as ACL "a2": same port group "web", direction, priority and match`},
		{func(m *topology.Model) { m.PortGroup("empty").Ports = []string{"p9"} }, `port group "empty": port "p9" does not exist`},
		{func(m *topology.Model) { m.PortGroup("empty").Ports = []string{"p2", "p2"} }, `port group "empty": port "p2" is listed twice`},
		{func(m *topology.Model) {
			m.AddressSets[0].Addresses = append(m.AddressSets[0].Addresses, "10.9.1.1/32")
		},
			`address set "admins": addresses "10.9.1.1" and "10.9.1.1/32" are the same`},
		{func(m *topology.Model) { m.AddressSets[0].Addresses = []string{"10.9.0.0/16", "10.9.3.4/16"} },
			`address set "admins": addresses "10.9.0.0/16" and "10.9.3.4/16" are the same`},
		{func(m *topology.Model) { m.AddressSets[0].Addresses = []string{"10.0.0.300"} },
			`address set "admins": address "10.0.0.300": not an IPv4 or IPv6 address or prefix, nor an Ethernet address`},
		{func(m *topology.Model) { m.AddressSets = append(m.AddressSets, topology.AddressSet{Name: "web_ip6"}) },
			`address set "web_ip6": port group "web" derives a set of that name ($web_ip6): rename one of them`},
		{func(m *topology.Model) {
			m.AddressSets = append(m.AddressSets, topology.AddressSet{Name: "db_ip4"})
			m.PortGroups = append(m.PortGroups, topology.PortGroup{Name: "db"})
		}, `address set "db_ip4": port group "db" derives a set of that name ($db_ip4): rename one of them`},
		{func(m *topology.Model) { m.QoS[0].Switch = "nosw" }, `QoS rule "qos1": switch "nosw" does not exist`},
		{func(m *topology.Model) { m.QoS[0].Key = 65536 }, `QoS rule "qos1": key 65536 is out of range 1..65535`},
		{func(m *topology.Model) { m.QoS[1].Key = 1 }, `QoS rule "qos2": key 1 is already used by QoS rule "qos1"`},
		{func(m *topology.Model) { m.QoS[0].DSCP = intp(64) }, `QoS rule "qos1": DSCP 64 is out of range 0..63`},
		{func(m *topology.Model) { m.QoS[0].DSCP = nil }, `QoS rule "qos1": marks no DSCP and limits no rate`},
		{func(m *topology.Model) { m.QoS[0].Burst = 10 }, `QoS rule "qos1": a burst (10 kb) needs a rate`},
		{func(m *topology.Model) { m.QoS[0].Priority = -1 }, `QoS rule "qos1": priority -1 is out of range 0..32767`},
		{func(m *topology.Model) { m.QoS[0].Match = `inport == "p3"` }, `QoS rule "qos1": its match names port "p3", which is on switch "sw1", not "sw0"`},
		{func(m *topology.Model) {
			m.QoS[1].Direction, m.QoS[1].Match = m.QoS[0].Direction, m.QoS[0].Match
		},
			`QoS rule "qos2": already exists as QoS rule "qos1": same switch "sw0", direction, priority and match`},
	} {
		m := policyModel()
		c.edit(m)
		err := m.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v\nwant %s", err, c.want)
		}
		if _, ierr := topology.NewIndex(m); fmt.Sprint(ierr) != fmt.Sprint(err) {
			t.Errorf("NewIndex: %v; Validate: %v", ierr, err)
		}
	}
}

// apply applies changes to an index of the policy model and to the model
// through ValidateChanged (what the stores do): both refuse or both take
// the change, with the same error.
func apply(t *testing.T, edit func(m *topology.Model)) error {
	t.Helper()
	next, err := applyOn(t, policyModel(), edit)
	if (err == nil) != (next.Validate() == nil) {
		t.Errorf("Apply: %v; Validate: %v", err, next.Validate())
	}
	return err
}

// applyOn is apply's check on any model, without the whole-model
// Validate; it returns the edited model too.
func applyOn(t *testing.T, before *topology.Model, edit func(m *topology.Model)) (*topology.Model, error) {
	t.Helper()
	ix := mustIndex(t, before)
	next, _ := topology.Copy(before)
	edit(next)
	next.Normalize()
	changes := topology.Diff(before, next)
	err := ix.Apply(changes)
	if verr := topology.ValidateChanged(next, changes); fmt.Sprint(verr) != fmt.Sprint(err) {
		t.Errorf("Apply: %v; ValidateChanged: %v", err, verr)
	}
	if err != nil && topology.IndexState(ix) != topology.IndexState(mustIndex(t, before)) {
		t.Errorf("a refused change (%v) changed the index's bookkeeping", err)
	}
	return next, err
}

// Deleting what a rule needs is refused, naming the rule.
func TestPolicyReferencesHold(t *testing.T) {
	for _, c := range []struct {
		edit func(m *topology.Model)
		want string
	}{
		{func(m *topology.Model) {
			m.Ports = slices.DeleteFunc(m.Ports, func(p topology.Port) bool { return p.Name == "p3" })
		},
			`port "p3": port group "web" holds it`},
		{func(m *topology.Model) {
			m.Ports = slices.DeleteFunc(m.Ports, func(p topology.Port) bool { return p.Name == "p2" })
		},
			`port "p2": ACL "a1" names it in its match`},
		{func(m *topology.Model) {
			m.PortGroups = slices.DeleteFunc(m.PortGroups, func(g topology.PortGroup) bool { return g.Name == "web" })
		},
			`port group "web": ACL "a2" applies to it`},
		{func(m *topology.Model) {
			m.PortGroups = slices.DeleteFunc(m.PortGroups, func(g topology.PortGroup) bool { return g.Name == "web" })
			m.ACLs = slices.DeleteFunc(m.ACLs, func(a topology.ACL) bool { return a.PortGroup == "web" })
		}, `port group "web": QoS rule "qos2" names it in its match`},
		{func(m *topology.Model) {
			m.PortGroups = slices.DeleteFunc(m.PortGroups, func(g topology.PortGroup) bool { return g.Name == "empty" })
		},
			`port group "empty": ACL "a4" names it in its match`},
		{func(m *topology.Model) { m.AddressSets = nil }, `address set "admins": ACL "a1" names it in its match`},
		{func(m *topology.Model) {
			m.Ports = slices.DeleteFunc(m.Ports, func(p topology.Port) bool { return p.Switch == "sw1" })
			m.PortGroup("web").Ports = []string{"p1"}
			m.Switches = m.Switches[:1]
		}, `switch "sw1": ACL "a4" applies to it`},
		{func(m *topology.Model) {
			m.ACLs = slices.DeleteFunc(m.ACLs, func(a topology.ACL) bool { return a.Switch == "sw0" })
			m.Switches[0].Key = 9
			m.Switches = slices.DeleteFunc(m.Switches, func(s topology.Switch) bool { return s.Name == "sw0" })
			m.Ports = slices.DeleteFunc(m.Ports, func(p topology.Port) bool { return p.Switch == "sw0" })
			m.PortGroup("web").Ports = []string{"p3"}
			m.ACLs = slices.DeleteFunc(m.ACLs, func(a topology.ACL) bool { return a.PortGroup == "web" })
		}, `switch "sw0": QoS rule "qos1" applies to it`},
		// A changed set or group is checked again in every match that uses it.
		{func(m *topology.Model) {
			m.AddressSets[0].Addresses = append(m.AddressSets[0].Addresses, "02:00:00:00:00:09")
		},
			`ACL "a1": match "outport == \"p2\" && ip4.src == $admins && tcp.dst == 22": column 31: address set "admins" holds "02:00:00:00:00:09", which is not an IPv4 address or prefix`},
		{func(m *topology.Model) { m.Port("p2").Switch, m.Port("p2").Key = "sw1", 7 },
			`ACL "a1": its match names port "p2", which is on switch "sw1", not "sw0"`},
	} {
		if err := apply(t, c.edit); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v\nwant %s", err, c.want)
		}
	}
	// Taking a port out of its group and deleting it in one change is fine.
	if err := apply(t, func(m *topology.Model) {
		m.PortGroup("web").Ports = []string{"p1"}
		m.Ports = slices.DeleteFunc(m.Ports, func(p topology.Port) bool { return p.Name == "p3" })
	}); err != nil {
		t.Error(err)
	}
}

// scatteredIPs are n IPv4 addresses no two of which share a prefix cover.
func scatteredIPs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("10.%d.%d.%d", 100+i>>15, i>>7&0xff, i<<1&0xff)
	}
	return out
}

// A set grown too big for a match that uses it is refused; the match
// was not changed, the set was.
func TestGrownSetRefused(t *testing.T) {
	err := apply(t, func(m *topology.Model) {
		m.ACLs[0].Match = "ip4.src == $admins || ip4.dst == $admins"
		m.AddressSets[0].Addresses = scatteredIPs(1000)
	})
	if err != nil {
		t.Fatal(err)
	}
	before := policyModel()
	before.ACLs[0].Match = "ip4.src == $admins || ip4.dst == $admins"
	before.AddressSets[0].Addresses = scatteredIPs(1000)
	ix := mustIndex(t, before)
	grown := &topology.AddressSet{Name: "admins", Addresses: scatteredIPs(32769)}
	err = ix.Apply(&topology.Changes{AddressSets: map[string]*topology.AddressSet{"admins": grown}})
	if err == nil || !strings.Contains(err.Error(), `ACL "a1": match "ip4.src == $admins || ip4.dst == $admins": column 1: the expression is too big`) {
		t.Fatalf("got %v", err)
	}
}

// A port's new address changes its groups' derived sets: the matches
// that use them are compiled again.
func TestDerivedSetFollowsPorts(t *testing.T) {
	ix := mustIndex(t, policyModel())
	p := *ix.Port("p3")
	p.Addresses = []string{"02:00:00:00:00:03 10.0.1.3 10.0.1.4"}
	if err := ix.Apply(&topology.Changes{Ports: map[string]*topology.Port{"p3": &p}}); err != nil {
		t.Fatal(err)
	}
	if a, _ := ix.MatchResolver("").AddressSet("web_ip4"); !slices.Equal(a, []string{"10.0.0.1", "10.0.1.3", "10.0.1.4"}) {
		t.Errorf("$web_ip4 = %v", a)
	}
	if got := joined(ix.ACLsNaming(topology.Ref{Kind: topology.KindPortGroup, Name: "web"}), aclName); got != "a2" {
		t.Errorf("ACLs naming web: %s", got)
	}
}

func TestFreePolicyKeys(t *testing.T) {
	m := policyModel()
	m.ACLs = append(m.ACLs, topology.ACL{Name: "acl5", Key: 9})
	if k, err := m.FreeACLKey(); k != 6 || err != nil {
		t.Errorf("FreeACLKey = %d, %v; want 6 (5 is free but its name is taken)", k, err)
	}
	if k, err := m.FreeQoSKey(); k != 3 || err != nil {
		t.Errorf("FreeQoSKey = %d, %v", k, err)
	}
}

// Copy, Diff and the JSON form keep every field of the new kinds.
func TestPolicyRoundTrip(t *testing.T) {
	m := policyModel()
	c, _ := topology.Copy(m)
	*c.QoS[0].DSCP = 1
	c.PortGroup("web").Ports[0] = "x"
	if *m.QoS[0].DSCP != 46 || m.PortGroup("web").Ports[0] != "p1" {
		t.Fatal("Copy shares the objects' pointers and slices")
	}
	d, err := topology.Decode(topology.Encode(policyModel()))
	if err != nil || !reflect.DeepEqual(d, policyModel()) {
		t.Fatalf("decoded %v\n%s", err, topology.Encode(d))
	}
	ch := topology.Diff(policyModel(), c)
	if ch.Len() != 2 || ch.QoS["qos1"] == nil || ch.PortGroups["web"] == nil {
		t.Errorf("diff %v", ch.Refs())
	}
}

// A port's addresses grown too big for a match that uses its group's
// derived set are refused: the port changed, not the match or the group.
func TestGrownDerivedSetRefused(t *testing.T) {
	m := &topology.Model{Switches: []topology.Switch{{Name: "sw0", Key: 1}},
		Ports:      []topology.Port{{Name: "p1", Switch: "sw0", Key: 1, Addresses: []string{"02:00:00:00:00:01 10.0.0.1"}}},
		PortGroups: []topology.PortGroup{{Name: "web", Ports: []string{"p1"}}},
		ACLs: []topology.ACL{{Name: "a", Key: 1, PortGroup: "web", Direction: topology.ToLport,
			Match: "ip4.src == $web_ip4 || ip4.dst == $web_ip4", Action: topology.ACLAllow}}}
	ix := mustIndex(t, m)
	p := *ix.Port("p1")
	p.Addresses = []string{"02:00:00:00:00:01 " + strings.Join(scatteredIPs(32769), " ")}
	err := ix.Apply(&topology.Changes{Ports: map[string]*topology.Port{"p1": &p}})
	if err == nil || !strings.Contains(err.Error(), `ACL "a": match "ip4.src == $web_ip4 || ip4.dst == $web_ip4": column 1: the expression is too big`) {
		t.Fatalf("got %v", err)
	}
	next, _ := topology.Copy(m)
	next.Ports[0] = p
	if err := topology.ValidateChanged(next, topology.Diff(m, next)); err == nil {
		t.Fatal("ValidateChanged took the grown port")
	}
}

// Merge keeps the later value of every kind's objects, the new kinds too.
func TestMergePolicyChanges(t *testing.T) {
	a := &topology.ACL{Name: "a", Action: topology.ACLDrop}
	c := &topology.Changes{Generation: 1, ACLs: map[string]*topology.ACL{"a": a}, QoS: map[string]*topology.QoS{"q": nil}}
	c.Merge(&topology.Changes{Generation: 2, ACLs: map[string]*topology.ACL{"a": nil},
		PortGroups: map[string]*topology.PortGroup{"g": {Name: "g"}}, AddressSets: map[string]*topology.AddressSet{"s": nil}})
	if got := fmt.Sprint(c.Refs()); got != `[ACL "a" port group "g" address set "s" QoS rule "q"]` || c.ACLs["a"] != nil || c.Generation != 2 {
		t.Errorf("merged %s, ACL a %v, generation %d", got, c.ACLs["a"], c.Generation)
	}
}
