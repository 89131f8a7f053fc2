package nbdb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Rows as they come over the wire (RFC 7047 §5.1), decoded straight into
// typed fields, with the set, map and uuid notations parsed by hand: an
// order of magnitude faster than a generic decode into interface values
// and a reflective mapping, which matters when an agent starts or
// chainctl reads a database of tens of thousands of rows.

// Column types of the wire rows.
type (
	wireStrs    []string          // a set of strings: one bare string, or ["set", [...]]
	wireStrMap  map[string]string // ["map", [[k, v], ...]]
	wireIntMap  map[int]string    // ["map", [[i, v], ...]]
	wireOptBool struct{ v *bool } // a boolean, or ["set", []]
	wireOptInt  struct{ v *int }  // an integer, or ["set", []]
	wireUUID    string            // ["uuid", "..."]
)

// The wire rows, one per table, with the columns chainwire reads.
type (
	globalWire struct {
		UUID       wireUUID   `json:"_uuid"`
		Generation int        `json:"generation"`
		Writer     string     `json:"writer"`
		ExternalID wireStrMap `json:"external_ids"`
	}
	chassisWire struct {
		UUID              wireUUID   `json:"_uuid"`
		Name              string     `json:"name"`
		EncapType         string     `json:"encap_type"`
		EncapIP           string     `json:"encap_ip"`
		Hostname          string     `json:"hostname"`
		Agent             string     `json:"agent"`
		NbCfg             int        `json:"nb_cfg"`
		Heartbeat         int        `json:"heartbeat"`
		HeartbeatInterval int        `json:"heartbeat_interval"`
		Connected         bool       `json:"connected"`
		Flows             int        `json:"flows"`
		Error             string     `json:"error"`
		Warnings          wireStrs   `json:"warnings"`
		PID               int        `json:"pid"`
		Health            wireStrMap `json:"health"`
		Neighbours        wireStrMap `json:"neighbours"`
	}
	bindingWire struct {
		UUID        wireUUID `json:"_uuid"`
		LogicalPort string   `json:"logical_port"`
		Chassis     string   `json:"chassis"`
	}
	switchWire struct {
		UUID          wireUUID `json:"_uuid"`
		Name          string   `json:"name"`
		TunnelKey     int      `json:"tunnel_key"`
		LoadBalancers wireStrs `json:"load_balancer"`
	}
	portWire struct {
		UUID          wireUUID    `json:"_uuid"`
		Name          string      `json:"name"`
		Switch        string      `json:"switch"`
		TunnelKey     int         `json:"tunnel_key"`
		Addresses     wireStrs    `json:"addresses"`
		PortSecurity  wireStrs    `json:"port_security"`
		Enabled       wireOptBool `json:"enabled"`
		Options       wireStrMap  `json:"options"`
		DHCPv4Options string      `json:"dhcpv4_options"`
		DHCPv6Options string      `json:"dhcpv6_options"`
		Type          string      `json:"type"`
	}
	pairWire struct {
		UUID    wireUUID   `json:"_uuid"`
		Name    string     `json:"name"`
		Switch  string     `json:"switch"`
		Inport  string     `json:"inport"`
		Outport string     `json:"outport"`
		Weight  int        `json:"weight"`
		Options wireStrMap `json:"options"`
	}
	groupWire struct {
		UUID      wireUUID   `json:"_uuid"`
		Name      string     `json:"name"`
		PortPairs wireIntMap `json:"port_pairs"`
		Options   wireStrMap `json:"options"`
	}
	chainWire struct {
		UUID           wireUUID   `json:"_uuid"`
		Name           string     `json:"name"`
		Switch         string     `json:"switch"`
		Key            int        `json:"key"`
		PortPairGroups wireIntMap `json:"port_pair_groups"`
	}
	classifierWire struct {
		UUID      wireUUID `json:"_uuid"`
		Name      string   `json:"name"`
		Switch    string   `json:"switch"`
		Chain     string   `json:"chain"`
		Port      string   `json:"port"`
		Direction string   `json:"direction"`
		Path      string   `json:"path"`
		Match     string   `json:"match"`
		Priority  int      `json:"priority"`
		Key       int      `json:"key"`
	}
	aclWire struct {
		UUID      wireUUID `json:"_uuid"`
		Name      string   `json:"name"`
		Key       int      `json:"key"`
		Switch    string   `json:"switch"`
		PortGroup string   `json:"port_group"`
		Direction string   `json:"direction"`
		Priority  int      `json:"priority"`
		Match     string   `json:"match"`
		Action    string   `json:"action"`
		Log       bool     `json:"log"`
	}
	portGroupWire struct {
		UUID  wireUUID `json:"_uuid"`
		Name  string   `json:"name"`
		Ports wireStrs `json:"ports"`
	}
	addressSetWire struct {
		UUID      wireUUID `json:"_uuid"`
		Name      string   `json:"name"`
		Addresses wireStrs `json:"addresses"`
	}
	qosWire struct {
		UUID      wireUUID   `json:"_uuid"`
		Name      string     `json:"name"`
		Key       int        `json:"key"`
		Switch    string     `json:"switch"`
		Direction string     `json:"direction"`
		Priority  int        `json:"priority"`
		Match     string     `json:"match"`
		DSCP      wireOptInt `json:"dscp"`
		Rate      int        `json:"rate"`
		Burst     int        `json:"burst"`
	}
	dhcpOptionsWire struct {
		UUID    wireUUID   `json:"_uuid"`
		Name    string     `json:"name"`
		CIDR    string     `json:"cidr"`
		Options wireStrMap `json:"options"`
	}
	dnsRecordWire struct {
		UUID      wireUUID `json:"_uuid"`
		Name      string   `json:"name"`
		Switch    string   `json:"switch"`
		Hostname  string   `json:"hostname"`
		Addresses wireStrs `json:"addresses"`
	}
	loadBalancerWire struct {
		UUID     wireUUID   `json:"_uuid"`
		Name     string     `json:"name"`
		Key      int        `json:"key"`
		Protocol string     `json:"protocol"`
		VIPs     wireStrMap `json:"vips"`
	}
	routerWire struct {
		UUID         wireUUID   `json:"_uuid"`
		Name         string     `json:"name"`
		TunnelKey    int        `json:"tunnel_key"`
		StaticRoutes wireStrMap `json:"static_routes"`
	}
	routerPortWire struct {
		UUID      wireUUID `json:"_uuid"`
		Name      string   `json:"name"`
		Router    string   `json:"router"`
		TunnelKey int      `json:"tunnel_key"`
		MAC       string   `json:"mac"`
		Networks  wireStrs `json:"networks"`
	}
)

// decodeRow decodes one row; uuid, if given, is its UUID (a monitor's
// updates name rows by UUID instead of carrying the column).
func decodeRow[R any](raw json.RawMessage, uuid string) (*R, error) {
	var r R
	var err error
	switch p := any(&r).(type) {
	case *nbGlobal:
		var w globalWire
		if err = json.Unmarshal(raw, &w); err == nil {
			*p = nbGlobal{UUID: string(w.UUID), Generation: w.Generation, Writer: w.Writer, ExternalIDs: w.ExternalID}
		}
	case *chassisRow:
		var w chassisWire
		if err = json.Unmarshal(raw, &w); err == nil {
			*p = chassisRow{UUID: string(w.UUID), Name: w.Name, EncapType: w.EncapType, EncapIP: w.EncapIP,
				Hostname: w.Hostname, Agent: w.Agent, NbCfg: w.NbCfg, Heartbeat: w.Heartbeat,
				HeartbeatInterval: w.HeartbeatInterval, Connected: w.Connected, Flows: w.Flows, Error: w.Error,
				Warnings: w.Warnings, PID: w.PID, Health: w.Health, Neighbours: w.Neighbours}
		}
	case *bindingRow:
		var w bindingWire
		if err = json.Unmarshal(raw, &w); err == nil {
			*p = bindingRow{UUID: string(w.UUID), LogicalPort: w.LogicalPort, Chassis: w.Chassis}
		}
	case *switchRow:
		var w switchWire
		if err = json.Unmarshal(raw, &w); err == nil {
			*p = switchRow{UUID: string(w.UUID), Name: w.Name, TunnelKey: w.TunnelKey, LoadBalancers: w.LoadBalancers}
		}
	case *portRow:
		var w portWire
		if err = json.Unmarshal(raw, &w); err == nil {
			*p = portRow{UUID: string(w.UUID), Name: w.Name, Switch: w.Switch, TunnelKey: w.TunnelKey,
				Addresses: w.Addresses, PortSecurity: w.PortSecurity, Enabled: w.Enabled.v, Options: w.Options,
				DHCPv4Options: w.DHCPv4Options, DHCPv6Options: w.DHCPv6Options, Type: w.Type}
		}
	case *pairRow:
		var w pairWire
		if err = json.Unmarshal(raw, &w); err == nil {
			*p = pairRow{UUID: string(w.UUID), Name: w.Name, Switch: w.Switch, Inport: w.Inport, Outport: w.Outport, Weight: w.Weight,
				Options: w.Options}
		}
	case *groupRow:
		var w groupWire
		if err = json.Unmarshal(raw, &w); err == nil {
			*p = groupRow{UUID: string(w.UUID), Name: w.Name, PortPairs: w.PortPairs, Options: w.Options}
		}
	case *chainRow:
		var w chainWire
		if err = json.Unmarshal(raw, &w); err == nil {
			*p = chainRow{UUID: string(w.UUID), Name: w.Name, Switch: w.Switch, Key: w.Key, PortPairGroups: w.PortPairGroups}
		}
	case *classifierRow:
		var w classifierWire
		if err = json.Unmarshal(raw, &w); err == nil {
			*p = classifierRow{UUID: string(w.UUID), Name: w.Name, Switch: w.Switch, Chain: w.Chain, Port: w.Port,
				Direction: w.Direction, Path: w.Path, Match: w.Match, Priority: w.Priority, Key: w.Key}
		}
	case *aclRow:
		var w aclWire
		if err = json.Unmarshal(raw, &w); err == nil {
			*p = aclRow{UUID: string(w.UUID), Name: w.Name, Key: w.Key, Switch: w.Switch, PortGroup: w.PortGroup,
				Direction: w.Direction, Priority: w.Priority, Match: w.Match, Action: w.Action, Log: w.Log}
		}
	case *portGroupRow:
		var w portGroupWire
		if err = json.Unmarshal(raw, &w); err == nil {
			*p = portGroupRow{UUID: string(w.UUID), Name: w.Name, Ports: w.Ports}
		}
	case *addressSetRow:
		var w addressSetWire
		if err = json.Unmarshal(raw, &w); err == nil {
			*p = addressSetRow{UUID: string(w.UUID), Name: w.Name, Addresses: w.Addresses}
		}
	case *qosRow:
		var w qosWire
		if err = json.Unmarshal(raw, &w); err == nil {
			*p = qosRow{UUID: string(w.UUID), Name: w.Name, Key: w.Key, Switch: w.Switch, Direction: w.Direction,
				Priority: w.Priority, Match: w.Match, DSCP: w.DSCP.v, Rate: w.Rate, Burst: w.Burst}
		}
	case *dhcpOptionsRow:
		var w dhcpOptionsWire
		if err = json.Unmarshal(raw, &w); err == nil {
			*p = dhcpOptionsRow{UUID: string(w.UUID), Name: w.Name, CIDR: w.CIDR, Options: w.Options}
		}
	case *dnsRecordRow:
		var w dnsRecordWire
		if err = json.Unmarshal(raw, &w); err == nil {
			*p = dnsRecordRow{UUID: string(w.UUID), Name: w.Name, Switch: w.Switch, Hostname: w.Hostname, Addresses: w.Addresses}
		}
	case *loadBalancerRow:
		var w loadBalancerWire
		if err = json.Unmarshal(raw, &w); err == nil {
			*p = loadBalancerRow{UUID: string(w.UUID), Name: w.Name, Key: w.Key, Protocol: w.Protocol, VIPs: w.VIPs}
		}
	case *routerRow:
		var w routerWire
		if err = json.Unmarshal(raw, &w); err == nil {
			*p = routerRow{UUID: string(w.UUID), Name: w.Name, TunnelKey: w.TunnelKey, StaticRoutes: w.StaticRoutes}
		}
	case *routerPortRow:
		var w routerPortWire
		if err = json.Unmarshal(raw, &w); err == nil {
			*p = routerPortRow{UUID: string(w.UUID), Name: w.Name, Router: w.Router, TunnelKey: w.TunnelKey, MAC: w.MAC, Networks: w.Networks}
		}
	default:
		return nil, fmt.Errorf("no wire form for %T", p)
	}
	if err != nil {
		return nil, err
	}
	if uuid != "" {
		setUUID(&r, uuid)
	}
	return &r, nil
}

func setUUID(row any, uuid string) {
	switch r := row.(type) {
	case *nbGlobal:
		r.UUID = uuid
	case *chassisRow:
		r.UUID = uuid
	case *bindingRow:
		r.UUID = uuid
	case *switchRow:
		r.UUID = uuid
	case *portRow:
		r.UUID = uuid
	case *pairRow:
		r.UUID = uuid
	case *groupRow:
		r.UUID = uuid
	case *chainRow:
		r.UUID = uuid
	case *classifierRow:
		r.UUID = uuid
	case *aclRow:
		r.UUID = uuid
	case *portGroupRow:
		r.UUID = uuid
	case *addressSetRow:
		r.UUID = uuid
	case *qosRow:
		r.UUID = uuid
	case *dhcpOptionsRow:
		r.UUID = uuid
	case *dnsRecordRow:
		r.UUID = uuid
	case *loadBalancerRow:
		r.UUID = uuid
	case *routerRow:
		r.UUID = uuid
	case *routerPortRow:
		r.UUID = uuid
	}
}

// The notations, parsed by hand. Each takes the bytes of one JSON value
// (encoding/json has checked they are valid JSON).

func (s *wireStrs) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		v, err := jsonString(b)
		*s = wireStrs{v}
		return err
	}
	body, err := tagged(b, "set")
	if err != nil {
		return err
	}
	var out wireStrs
	err = eachElement(body, func(e []byte) error {
		v, err := jsonString(e)
		out = append(out, v)
		return err
	})
	*s = out
	return err
}

func (o *wireOptBool) UnmarshalJSON(b []byte) error {
	switch string(bytes.TrimSpace(b)) {
	case "true", "false":
		v := b[0] == 't'
		o.v = &v
		return nil
	}
	body, err := tagged(b, "set")
	if err != nil {
		return err
	}
	return eachElement(body, func(e []byte) error {
		if s := string(e); s == "true" || s == "false" {
			v := s == "true"
			o.v = &v
			return nil
		}
		return fmt.Errorf("not a boolean: %.20s", e)
	})
}

func (o *wireOptInt) UnmarshalJSON(b []byte) error {
	if n, err := strconv.Atoi(string(bytes.TrimSpace(b))); err == nil {
		o.v = &n
		return nil
	}
	body, err := tagged(b, "set")
	if err != nil {
		return err
	}
	return eachElement(body, func(e []byte) error {
		n, err := strconv.Atoi(string(e))
		if err != nil {
			return fmt.Errorf("not an integer: %.20s", e)
		}
		o.v = &n
		return nil
	})
}

func (u *wireUUID) UnmarshalJSON(b []byte) error {
	body, err := tagged(b, "uuid")
	if err != nil {
		return err
	}
	v, err := jsonString(body)
	*u = wireUUID(v)
	return err
}

func (m *wireStrMap) UnmarshalJSON(b []byte) error {
	out := wireStrMap{}
	err := mapPairs(b, func(k, v []byte) error {
		ks, err := jsonString(k)
		if err != nil {
			return err
		}
		vs, err := jsonString(v)
		out[ks] = vs
		return err
	})
	*m = out
	return err
}

func (m *wireIntMap) UnmarshalJSON(b []byte) error {
	out := wireIntMap{}
	err := mapPairs(b, func(k, v []byte) error {
		ki, err := strconv.Atoi(string(k))
		if err != nil {
			return fmt.Errorf("not an integer key: %.20s", k)
		}
		vs, err := jsonString(v)
		out[ki] = vs
		return err
	})
	*m = out
	return err
}

func mapPairs(b []byte, fn func(k, v []byte) error) error {
	body, err := tagged(b, "map")
	if err != nil {
		return err
	}
	return eachElement(body, func(pair []byte) error {
		var kv [][]byte
		if err := eachElement(pair, func(e []byte) error { kv = append(kv, e); return nil }); err != nil || len(kv) != 2 {
			return fmt.Errorf("not a map entry: %.40s", pair)
		}
		return fn(kv[0], kv[1])
	})
}

// tagged checks ["tag", body] and returns body.
func tagged(b []byte, tag string) ([]byte, error) {
	var parts [][]byte
	if err := eachElement(b, func(e []byte) error { parts = append(parts, e); return nil }); err != nil || len(parts) != 2 {
		return nil, fmt.Errorf("want [%q, ...], got %.40s", tag, b)
	}
	if t, err := jsonString(parts[0]); err != nil || t != tag {
		return nil, fmt.Errorf("want [%q, ...], got %.40s", tag, b)
	}
	return parts[1], nil
}

// eachElement calls fn with each element of a JSON array.
func eachElement(b []byte, fn func([]byte) error) error {
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return fmt.Errorf("not an array: %.40s", b)
	}
	b = b[1 : len(b)-1]
	for len(bytes.TrimSpace(b)) > 0 {
		n, err := valueEnd(b)
		if err != nil {
			return err
		}
		if err := fn(bytes.TrimSpace(b[:n])); err != nil {
			return err
		}
		b = b[n:]
		if t := bytes.TrimLeft(b, " \t\r\n"); len(t) > 0 {
			if t[0] != ',' {
				return fmt.Errorf("want a comma: %.40s", t)
			}
			b = t[1:]
		} else {
			b = t
		}
	}
	return nil
}

// valueEnd returns the length of the JSON value b starts with (leading
// blanks included).
func valueEnd(b []byte) (int, error) {
	depth, inStr := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inStr:
			if c == '\\' {
				i++
			} else if c == '"' {
				inStr = false
				if depth == 0 {
					return i + 1, nil
				}
			}
		case c == '"':
			inStr = true
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
			if depth == 0 {
				return i + 1, nil
			}
			if depth < 0 {
				return 0, fmt.Errorf("unbalanced: %.40s", b)
			}
		case depth == 0 && (c == ',' || c == ' ' || c == '\n' || c == '\t' || c == '\r'):
			if i > 0 && !blankPrefix(b[:i]) {
				return i, nil
			}
		}
	}
	if depth == 0 && !inStr {
		return len(b), nil
	}
	return 0, fmt.Errorf("unterminated: %.40s", b)
}

func blankPrefix(b []byte) bool { return len(bytes.TrimLeft(b, " \t\r\n")) == 0 }

// jsonString decodes a JSON string, without allocation beyond the result
// when it has no escapes.
func jsonString(b []byte) (string, error) {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && bytes.IndexByte(b, '\\') < 0 {
		return string(b[1 : len(b)-1]), nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return "", fmt.Errorf("not a string: %.40s", b)
	}
	return s, nil
}
