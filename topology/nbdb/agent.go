package nbdb

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/chainwire/chainwire/topology"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"
)

// The southbound side: what agents write about themselves. None of it is
// part of the model, so none of it bumps the generation.

// chassisRowNamed finds a chassis row by name.
func (s *Store) chassisRowNamed(ctx context.Context, name string) (*chassisRow, error) {
	rows, err := s.chassisRows(ctx, []ovsdb.Condition{{Column: "name", Function: ovsdb.ConditionEqual, Value: name}})
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	return rows[0], nil
}

// chassisRows reads the chassis rows that match where (all: nil).
func (s *Store) chassisRows(ctx context.Context, where []ovsdb.Condition) ([]*chassisRow, error) {
	res, err := s.query(ctx, []ovsdb.Operation{{Op: ovsdb.OperationSelect, Table: tChassis, Where: where}})
	if err != nil {
		return nil, fmt.Errorf("read the chassis: %w", err)
	}
	out := make([]*chassisRow, 0, len(res[0]))
	for _, row := range res[0] {
		c, err := decodeRow[chassisRow](row, "")
		if err != nil {
			return nil, fmt.Errorf("read the chassis: %w", err)
		}
		out = append(out, c)
	}
	return out, nil
}

// ErrClash: another live agent serves the chassis.
var ErrClash = errors.New("name clash")

// Unreachable reports whether err is the database being out of reach
// (worth waiting for) rather than a refusal.
func Unreachable(err error) bool {
	var refused *refusal
	var invalid *topology.Error
	return !errors.As(err, &refused) && !errors.As(err, &invalid) && !errors.Is(err, ErrClash)
}

// RegisterChassis adopts the chassis row a chainctl chassis-add made, or
// creates one from EncapIP. It refuses a chassis another live agent (on
// another host, heartbeat younger than three intervals) serves.
func (s *Store) RegisterChassis(reg topology.Registration) error {
	ctx := context.Background()
	cur, err := s.chassisRowNamed(ctx, reg.Chassis)
	if err != nil {
		return err
	}
	what := "chassis " + topology.Quote(reg.Chassis)
	if cur != nil {
		if cur.Hostname != "" && cur.Hostname != reg.Hostname && cur.Heartbeat > 0 {
			age := time.Since(time.UnixMilli(int64(cur.Heartbeat)))
			interval := time.Duration(cur.HeartbeatInterval) * time.Millisecond
			if interval <= 0 {
				interval = 5 * time.Second
			}
			if age < topology.StaleAfter*interval {
				return fmt.Errorf("%s is served by an agent on host %s (pid %d, heartbeat %s ago): %w",
					what, topology.Quote(cur.Hostname), cur.PID, age.Round(time.Millisecond), ErrClash)
			}
		}
		if reg.EncapIP != "" && cur.EncapIP != reg.EncapIP {
			return &refusal{fmt.Sprintf("%s has encap IP %s in the model, but --encap-ip is %s", what, cur.EncapIP, reg.EncapIP)}
		}
		return nil
	}
	if reg.EncapIP == "" {
		return &refusal{fmt.Sprintf("%s is not in the model (chainctl chassis-add %s geneve IP) and no --encap-ip was given to create it", what, reg.Chassis)}
	}
	_, err = s.Update(func(m *topology.Model) error {
		if m.ChassisByName(reg.Chassis) == nil {
			m.Chassis = append(m.Chassis, topology.Chassis{Name: reg.Chassis, Encap: "geneve", IP: reg.EncapIP})
		}
		return nil
	})
	return err
}

// PublishStatus writes an agent's status into its chassis row.
func (s *Store) PublishStatus(st topology.Status) error {
	ctx := context.Background()
	cur, err := s.chassisRowNamed(ctx, st.Chassis)
	if err != nil {
		return err
	}
	if cur == nil {
		return fmt.Errorf("chassis %s is not in the database", topology.Quote(st.Chassis))
	}
	cli, err := s.conn(ctx)
	if err != nil {
		return err
	}
	r := *cur
	r.NbCfg, r.Connected, r.Flows, r.Error, r.Warnings = int(st.Generation), st.Connected, st.Flows, st.Error, st.Warnings
	r.Hostname, r.PID, r.Health, r.Neighbours = st.Hostname, st.PID, st.Health, st.Neighbours
	r.Heartbeat = int(st.Updated.UnixMilli())
	r.HeartbeatInterval = int(st.Heartbeat.Duration().Milliseconds())
	if r.Agent == "" {
		r.Agent = st.Hostname
	}
	ops, err := cli.Where(&r).Update(&r, &r.NbCfg, &r.Connected, &r.Flows, &r.Error, &r.Warnings, &r.Hostname,
		&r.PID, &r.Heartbeat, &r.HeartbeatInterval, &r.Agent, &r.Health, &r.Neighbours)
	if err != nil {
		return err
	}
	return s.transact(ctx, ops)
}

func (s *Store) transact(ctx context.Context, ops []ovsdb.Operation) error {
	cli, err := s.conn(ctx)
	if err != nil {
		return err
	}
	res, err := s.send(ctx, cli, ops)
	if err != nil {
		return err
	}
	opErrs, err := ovsdb.CheckOperationResults(res, ops)
	if err != nil {
		return describe(err, opErrs)
	}
	return nil
}

// Statuses returns the status of every chassis whose agent ever
// published one.
func (s *Store) Statuses() ([]topology.Status, error) {
	rows, err := s.chassisRows(context.Background(), nil)
	if err != nil {
		return nil, err
	}
	var out []topology.Status
	for _, r := range rows {
		if r.Heartbeat == 0 {
			continue // no agent yet
		}
		out = append(out, statusOf(r))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Chassis < out[j].Chassis })
	return out, nil
}

func statusOf(r *chassisRow) topology.Status {
	st := topology.Status{Chassis: r.Name, Generation: uint64(r.NbCfg), Connected: r.Connected, Flows: r.Flows,
		Error: r.Error, Hostname: r.Hostname, PID: r.PID,
		Heartbeat: topology.Seconds(float64(r.HeartbeatInterval) / 1000),
		Updated:   time.UnixMilli(int64(r.Heartbeat)).UTC(), Health: stringMap(r.Health), Neighbours: stringMap(r.Neighbours)}
	if len(r.Warnings) > 0 {
		st.Warnings = append([]string(nil), r.Warnings...)
		sort.Strings(st.Warnings)
	}
	return st
}

// PublishBindings records that the given logical ports are bound on
// chassis (their iface-id is there), and no longer on it the ports it
// bound before that are not listed. A port another chassis holds is taken
// over: the last agent to find it wins, as in OVN. It reads only the
// chassis' own bindings and those of the ports it takes.
func (s *Store) PublishBindings(chassis string, ports []string) error {
	ctx := context.Background()
	cli, err := s.conn(ctx)
	if err != nil {
		return err
	}
	mine, err := s.selectBindings(ctx, []ovsdb.Condition{{Column: "chassis", Function: ovsdb.ConditionEqual, Value: chassis}})
	if err != nil {
		return err
	}
	have := make(map[string]*bindingRow, len(mine))
	for _, b := range mine {
		have[b.LogicalPort] = b
	}
	want := make(map[string]bool, len(ports))
	var taken []ovsdb.Condition
	for _, p := range ports {
		want[p] = true
		if have[p] == nil {
			taken = append(taken, ovsdb.Condition{Column: "logical_port", Function: ovsdb.ConditionEqual, Value: p})
		}
	}
	others := map[string]*bindingRow{}
	if len(taken) > 0 {
		rows, err := s.selectBindings(ctx, taken)
		if err != nil {
			return err
		}
		for _, b := range rows {
			others[b.LogicalPort] = b
		}
	}
	var ops []ovsdb.Operation
	add := func(o []ovsdb.Operation, err error) error {
		ops = append(ops, o...)
		return err
	}
	for _, p := range ports {
		switch cur := others[p]; {
		case have[p] != nil:
		case cur == nil:
			err = add(cli.Create(&bindingRow{LogicalPort: p, Chassis: chassis}))
		default:
			r := *cur
			r.Chassis = chassis
			err = add(cli.Where(&r).Update(&r, &r.Chassis))
		}
		if err != nil {
			return err
		}
	}
	for p, cur := range have {
		if !want[p] {
			if err := add(cli.Where(cur).Delete()); err != nil {
				return err
			}
		}
	}
	if len(ops) == 0 {
		return nil
	}
	return s.transact(ctx, ops)
}

// selectBindings reads the Port_Binding rows that match any of conds (all
// rows: none), in one transaction.
func (s *Store) selectBindings(ctx context.Context, conds []ovsdb.Condition) ([]*bindingRow, error) {
	ops := []ovsdb.Operation{{Op: ovsdb.OperationSelect, Table: tBinding}}
	if len(conds) > 0 {
		ops = make([]ovsdb.Operation, len(conds))
		for i, c := range conds {
			ops[i] = ovsdb.Operation{Op: ovsdb.OperationSelect, Table: tBinding, Where: []ovsdb.Condition{c}}
		}
	}
	res, err := s.query(ctx, ops)
	if err != nil {
		return nil, fmt.Errorf("read port bindings: %w", err)
	}
	var out []*bindingRow
	for _, rows := range res {
		for _, row := range rows {
			b, err := decodeRow[bindingRow](row, "")
			if err != nil {
				return nil, fmt.Errorf("read port bindings: %w", err)
			}
			out = append(out, b)
		}
	}
	return out, nil
}

// WatchBindings reports where ports are bound: all of them after each
// (re)connect, then the ports each transaction changed.
func (s *Store) WatchBindings(ctx context.Context, fn func(map[string]string, bool)) {
	for round := 0; ctx.Err() == nil; round++ {
		if round > 0 {
			sleep(ctx, min(time.Duration(round)*100*time.Millisecond, 2*time.Second))
		}
		mc, u, err := openMonitor(ctx, s.remotes[round%len(s.remotes)], s.opts.TLS, s.opts.Timeout, monitorSpec{tBinding: nil})
		if err != nil {
			continue
		}
		round = -1
		ports := map[string]string{} // row UUID -> port, to name deleted rows
		for {
			changed := map[string]string{}
			for pass := 0; pass < 2; pass++ {
				for _, ru := range u.rows {
					if pass == 0 {
						if p, ok := ports[ru.uuid]; ok && (len(ru.new) == 0 || hasColumn(ru.old, "logical_port")) {
							delete(ports, ru.uuid)
							if _, set := changed[p]; !set {
								changed[p] = ""
							}
						}
						continue
					}
					if len(ru.new) == 0 {
						continue
					}
					b, err := decodeRow[bindingRow](ru.new, ru.uuid)
					if err != nil {
						continue // a row no agent wrote: nothing to follow
					}
					ports[ru.uuid], changed[b.LogicalPort] = b.LogicalPort, b.Chassis
				}
			}
			if u.initial {
				for p, ch := range changed {
					if ch == "" {
						delete(changed, p)
					}
				}
			}
			if u.initial || len(changed) > 0 {
				fn(changed, u.initial)
			}
			if u, err = mc.next(ctx); err != nil {
				mc.close()
				break
			}
		}
	}
}

// Bindings returns where every dynamically bound port is (port -> chassis).
func (s *Store) Bindings() (map[string]string, error) {
	rows, err := s.selectBindings(context.Background(), nil)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(rows))
	for _, b := range rows {
		out[b.LogicalPort] = b.Chassis
	}
	return out, nil
}

// refusal is a registration the database's content refuses.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }
