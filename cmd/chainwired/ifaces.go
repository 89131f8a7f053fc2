package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/chainwire/chainwire/cmd/chainwired/agent"
	"github.com/sirupsen/logrus"
)

// ifaceMonitor follows the Interface table of the local OVSDB over its
// JSON-RPC monitor protocol (RFC 7047) and reports which logical port
// (external_ids:iface-id, OVN's convention) sits on which OpenFlow port.
// It keeps no cache of its own beyond the rows it was told about.
type ifaceMonitor struct {
	target string // unix:PATH or tcp:HOST:PORT
	log    *logrus.Entry
}

// iface is the part of an Interface row we use.
type iface struct {
	Name    string
	OFPort  int64
	IfaceID string
}

// run reports the full binding (iface-id -> ofport) after every change,
// reconnecting with backoff until ctx ends.
func (m *ifaceMonitor) run(ctx context.Context, report func(agent.Bindings)) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := m.session(ctx, report)
		if ctx.Err() != nil {
			return
		}
		m.log.WithError(err).Warnf("OVSDB monitor of %s lost; retrying in %s", m.target, backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		if backoff < 2*time.Second {
			backoff *= 2
		}
	}
}

type rpcMessage struct {
	ID     any               `json:"id"`
	Method string            `json:"method,omitempty"`
	Params []json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage   `json:"result,omitempty"`
	Error  any               `json:"error,omitempty"`
}

// rowUpdates is {"Interface": {uuid: {"old": row, "new": row}}}.
type rowUpdates map[string]map[string]struct {
	New map[string]json.RawMessage `json:"new"`
}

func (m *ifaceMonitor) session(ctx context.Context, report func(agent.Bindings)) error {
	network, addr, ok := strings.Cut(m.target, ":")
	if !ok || (network != "unix" && network != "tcp") {
		return fmt.Errorf("bad OVSDB target %q (want unix:PATH or tcp:HOST:PORT)", m.target)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	go func() {
		<-ctx.Done()
		c.Close()
	}()
	enc := json.NewEncoder(c)
	req := map[string]any{
		"id":     "monitor",
		"method": "monitor",
		"params": []any{"Open_vSwitch", "chainwired", map[string]any{
			"Interface": map[string]any{"columns": []string{"name", "ofport", "external_ids", "type"}},
		}},
	}
	if err := enc.Encode(req); err != nil {
		return err
	}
	rows := map[string]iface{}
	tunnels := map[string]iface{}
	dec := json.NewDecoder(bufio.NewReader(c))
	for {
		var msg rpcMessage
		if err := dec.Decode(&msg); err != nil {
			return err
		}
		var upd rowUpdates
		switch {
		case msg.Method == "echo":
			if err := enc.Encode(map[string]any{"id": msg.ID, "result": msg.Params, "error": nil}); err != nil {
				return err
			}
			continue
		case msg.ID == "monitor":
			if msg.Error != nil {
				return fmt.Errorf("monitor request refused: %v", msg.Error)
			}
			if err := json.Unmarshal(msg.Result, &upd); err != nil {
				return err
			}
		case msg.Method == "update" && len(msg.Params) == 2:
			if err := json.Unmarshal(msg.Params[1], &upd); err != nil {
				return err
			}
		default:
			continue
		}
		for uuid, u := range upd["Interface"] {
			if u.New == nil {
				delete(rows, uuid)
				delete(tunnels, uuid)
				continue
			}
			ifc := parseIface(u.New)
			if typ := stringColumn(u.New["type"]); typ == "geneve" {
				tunnels[uuid] = ifc
			} else {
				rows[uuid] = ifc
			}
		}
		report(bindings(rows, tunnels))
	}
}

// bindings maps each iface-id to its interface's OpenFlow port. Two
// interfaces claiming one logical port are a configuration error: the
// lowest OpenFlow port wins, always the same one whatever order OVSDB
// reports them in, and a warning names both.
func bindings(rows, tunnels map[string]iface) agent.Bindings {
	b := agent.Bindings{Ports: map[string]uint32{}}
	claims := map[string][]iface{}
	for _, r := range rows {
		if r.IfaceID != "" && r.OFPort > 0 {
			claims[r.IfaceID] = append(claims[r.IfaceID], r)
		}
	}
	for id, ifs := range claims {
		sort.Slice(ifs, func(i, j int) bool { return ifs[i].OFPort < ifs[j].OFPort })
		b.Ports[id] = uint32(ifs[0].OFPort)
		if len(ifs) > 1 {
			var names []string
			for _, i := range ifs {
				names = append(names, fmt.Sprintf("%s (ofport %d)", i.Name, i.OFPort))
			}
			b.Warnings = append(b.Warnings, fmt.Sprintf("interfaces %s all have iface-id %q; using %s",
				strings.Join(names, ", "), id, ifs[0].Name))
		}
	}
	sort.Strings(b.Warnings)
	for _, t := range tunnels {
		if t.Name == geneveName && t.OFPort > 0 {
			b.Tunnel = uint32(t.OFPort)
		}
	}
	return b
}

// parseIface reads OVSDB's JSON encoding of the columns we monitor: an
// integer (or the empty set) for ofport and ["map", [[k, v]...]] for
// external_ids.
func parseIface(row map[string]json.RawMessage) iface {
	var ifc iface
	ifc.Name = stringColumn(row["name"])
	json.Unmarshal(row["ofport"], &ifc.OFPort)
	var ext []any
	if json.Unmarshal(row["external_ids"], &ext) == nil && len(ext) == 2 && ext[0] == "map" {
		pairs, _ := ext[1].([]any)
		for _, p := range pairs {
			kv, _ := p.([]any)
			if len(kv) == 2 && kv[0] == "iface-id" {
				ifc.IfaceID, _ = kv[1].(string)
			}
		}
	}
	return ifc
}

func stringColumn(raw json.RawMessage) string {
	var s string
	json.Unmarshal(raw, &s)
	return s
}
