package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/chainwire/chainwire/pipeline"
	"github.com/digitalocean/go-openvswitch/ovs"
	"github.com/sirupsen/logrus"
)

// geneveName is the one Geneve port on the bridge.
const geneveName = "geneve0"

// bridgeSetup prepares the integration bridge through ovs-vsctl. Every
// step first checks the current state and changes only what differs, so
// a restarted agent touches nothing and its flows keep forwarding.
type bridgeSetup struct {
	bridge    string
	db        string // --ovs-db
	geneve    string // name of the Geneve port
	log       *logrus.Entry
	ovsClient *ovs.Client
	// savedZones are the conntrack zones on the bridge, as last read or
	// written (only SaveZones' goroutine writes after the first read).
	savedZones map[string]uint16
}

func newBridgeSetup(cfg *config, log *logrus.Entry) *bridgeSetup {
	b := &bridgeSetup{bridge: cfg.Bridge, db: cfg.OVSDB, geneve: geneveName, log: log}
	b.ovsClient = ovs.New(ovs.Timeout(10), ovs.Exec(b.execOVS))
	return b
}

// execOVS runs an OVS tool against our OVSDB.
func (b *bridgeSetup) execOVS(cmd string, args ...string) ([]byte, error) {
	if cmd == "ovs-vsctl" {
		args = append([]string{"--db=" + b.db}, args...)
	}
	return exec.Command(cmd, args...).CombinedOutput()
}

func (b *bridgeSetup) vsctl(args ...string) (string, error) {
	out, err := b.execOVS("ovs-vsctl", append([]string{"--timeout=10"}, args...)...)
	if err != nil {
		return "", fmt.Errorf("ovs-vsctl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// datapathType is "system" where the kernel module is loaded, else the
// userspace datapath.
func datapathType() string {
	if _, err := os.Stat("/sys/module/openvswitch"); err == nil {
		return "system"
	}
	return "netdev"
}

func (b *bridgeSetup) ensure() error {
	if _, err := b.vsctl("br-exists", b.bridge); err != nil {
		dp := datapathType()
		b.log.Infof("creating bridge %s (datapath %s)", b.bridge, dp)
		if _, err := b.vsctl("--may-exist", "add-br", b.bridge, "--", "set", "bridge", b.bridge,
			"datapath_type="+dp, "fail-mode=secure", "protocols=OpenFlow13"); err != nil {
			return err
		}
	}
	if err := b.ensureColumn("bridge", b.bridge, "fail_mode", "secure"); err != nil {
		return err
	}
	if err := b.ensureColumn("bridge", b.bridge, "protocols", `["OpenFlow13"]`); err != nil {
		return err
	}
	if err := b.ensureTableNames(); err != nil {
		return err
	}
	if err := b.ensureGeneve(); err != nil {
		return err
	}
	return b.dropLegacyController()
}

// ensureColumn sets table:record:column to value unless it already is.
func (b *bridgeSetup) ensureColumn(table, record, column, value string) error {
	cur, err := b.vsctl("--format=json", "get", table, record, column)
	if err != nil {
		return err
	}
	if strings.Trim(cur, `"`) == strings.Trim(value, `"`) {
		return nil
	}
	_, err = b.vsctl("set", table, record, column+"="+value)
	return err
}

// ensureTableNames names every pipeline table in OVSDB (Flow_Table), so
// `ovs-ofctl dump-flows --names` prints table="ls_in_l2_lkup".
func (b *bridgeSetup) ensureTableNames() error {
	out, err := b.vsctl("--columns=_uuid,name", "--format=csv", "--data=bare", "--no-headings", "list", "Flow_Table")
	if err != nil {
		return err
	}
	nameOf := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if uuid, name, ok := strings.Cut(line, ","); ok {
			nameOf[uuid] = name
		}
	}
	cur, err := b.vsctl("--format=csv", "--data=bare", "--no-headings", "get", "bridge", b.bridge, "flow_tables")
	if err != nil {
		return err
	}
	have := map[uint8]string{}
	for _, kv := range strings.Fields(strings.NewReplacer(",", " ", "{", "", "}", "").Replace(cur)) {
		k, uuid, _ := strings.Cut(kv, "=")
		if n, err := strconv.Atoi(k); err == nil {
			have[uint8(n)] = nameOf[uuid]
		}
	}
	var args []string
	for _, s := range pipeline.Stages() {
		t := s.Table()
		if have[t] == s.Name() {
			continue
		}
		id := fmt.Sprintf("@t%d", t)
		args = append(args, "--", "--id="+id, "create", "Flow_Table", "name="+s.Name(),
			"--", "set", "bridge", b.bridge, fmt.Sprintf("flow_tables:%d=%s", t, id))
	}
	if len(args) == 0 {
		return nil
	}
	b.log.Infof("naming the OpenFlow tables of %s", b.bridge)
	_, err = b.vsctl(args...)
	return err
}

// ensureGeneve adds the one Geneve port that carries all tunnels; the
// flows choose the remote (remote_ip=flow) and the VNI (key=flow).
func (b *bridgeSetup) ensureGeneve() error {
	typ, err := b.vsctl("--if-exists", "get", "interface", b.geneve, "type")
	if err == nil && typ == "geneve" {
		opts, err := b.vsctl("get", "interface", b.geneve, "options")
		if err == nil && strings.Contains(opts, `key=flow`) && strings.Contains(opts, `remote_ip=flow`) {
			return nil
		}
	}
	b.log.Infof("adding Geneve port %s", b.geneve)
	_, err = b.vsctl("--may-exist", "add-port", b.bridge, b.geneve, "--", "set", "interface", b.geneve,
		"type=geneve", "options:remote_ip=flow", "options:key=flow")
	return err
}

// dropLegacyController removes the Controller that earlier chainwired
// versions set (a unix socket of theirs): chainwired now dials the
// bridge's management socket and sets none. Removing the last primary
// controller makes OVS flush the flow table, so flow-restore-wait is set
// first: the datapath keeps forwarding with its cached flows until the
// agent has installed the flows again and clears it. Any other
// controller is left alone, with a warning.
func (b *bridgeSetup) dropLegacyController() error {
	cur, err := b.ovsClient.VSwitch.GetController(b.bridge)
	if err != nil || cur == "" {
		return err
	}
	if !strings.HasPrefix(cur, "unix:") || !strings.HasSuffix(cur, ".sock") {
		b.log.Warnf("bridge %s has controller %s; chainwired does not use one and leaves it alone, but it may change flows", b.bridge, cur)
		return nil
	}
	b.log.Infof("removing controller %s left by an earlier chainwired (it now uses %s.mgmt); flows are restored under flow-restore-wait", cur, b.bridge)
	if _, err := b.vsctl("set", "open_vswitch", ".", "other_config:flow-restore-wait=true"); err != nil {
		return err
	}
	_, err = b.vsctl("del-controller", b.bridge)
	return err
}

// ClearFlowRestoreWait lets ovs-vswitchd forward with the flows just
// installed; nothing happens if flow-restore-wait is not set.
func (b *bridgeSetup) ClearFlowRestoreWait() error {
	cur, err := b.vsctl("--if-exists", "get", "open_vswitch", ".", "other_config:flow-restore-wait")
	if err != nil || strings.Trim(cur, `"`) != "true" {
		return err
	}
	b.log.Info("flows installed; clearing flow-restore-wait")
	_, err = b.vsctl("remove", "open_vswitch", ".", "other_config", "flow-restore-wait")
	return err
}

// zonePrefix names a port's conntrack zone in the bridge's external_ids,
// as ovn-controller does.
const zonePrefix = "ct-zone-"

// Zones reads the conntrack zones saved on the bridge.
func (b *bridgeSetup) Zones() (map[string]uint16, error) {
	raw, err := b.vsctl("--format=json", "--columns=external_ids", "list", "bridge", b.bridge)
	if err != nil {
		return nil, fmt.Errorf("read %s external_ids: %w", b.bridge, err)
	}
	ids, err := externalIDs(raw)
	if err != nil {
		return nil, fmt.Errorf("read %s external_ids: %w", b.bridge, err)
	}
	out := map[string]uint16{}
	for k, v := range ids {
		port, ok := strings.CutPrefix(k, zonePrefix)
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil || n == 0 {
			b.log.Warnf("ignoring %s external_ids:%s=%q: not a zone 1..65535", b.bridge, k, v)
			continue
		}
		out[port] = uint16(n)
	}
	b.savedZones = out
	return out, nil
}

// SaveZones writes the zones that changed since the last save (one
// ovs-vsctl transaction).
func (b *bridgeSetup) SaveZones(z map[string]uint16) error {
	var args []string
	for p, n := range z {
		if b.savedZones[p] != n {
			args = append(args, "--", "set", "bridge", b.bridge, fmt.Sprintf("external_ids:%s=%d", strconv.Quote(zonePrefix+p), n))
		}
	}
	for p := range b.savedZones {
		if _, ok := z[p]; !ok {
			args = append(args, "--", "remove", "bridge", b.bridge, "external_ids", strconv.Quote(zonePrefix+p))
		}
	}
	if len(args) == 0 {
		return nil
	}
	if _, err := b.vsctl(args[1:]...); err != nil {
		return err
	}
	b.savedZones = maps.Clone(z)
	return nil
}

// externalIDs decodes `ovs-vsctl --format=json --columns=external_ids
// list` of one row: {"data":[[["map",[[k,v],...]]]],...}.
func externalIDs(raw string) (map[string]string, error) {
	var out struct {
		Data [][][]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(raw), &out); err != nil || len(out.Data) != 1 || len(out.Data[0]) != 1 || len(out.Data[0][0]) != 2 {
		return nil, fmt.Errorf("unexpected ovs-vsctl output %.200q", raw)
	}
	var pairs [][2]string
	if err := json.Unmarshal(out.Data[0][0][1], &pairs); err != nil {
		return nil, fmt.Errorf("unexpected external_ids %.200q", raw)
	}
	ids := make(map[string]string, len(pairs))
	for _, kv := range pairs {
		ids[kv[0]] = kv[1]
	}
	return ids, nil
}
