// Package nbdb is the OVSDB northbound store: the model in a Chainwire_NB
// database served by stock ovsdb-server, standalone or a RAFT cluster
// (deploy/chainwire_nb.ovsschema), through github.com/ovn-kubernetes/libovsdb.
//
// Writers read the whole model in one transaction (a consistent snapshot
// of every table), change and validate it, and commit the difference in
// one transaction that first waits for NB_Global.generation to be what
// they read and then bumps it: two writers can never both commit a change
// made against the same state; the loser reads again and retries. The
// unique indexes of the schema (names, keys) are a second guard. A
// transaction whose outcome is unknown (the connection died) is checked
// by its writer token in NB_Global before it is retried.
//
// Agents monitor the database (any member), register their Chassis row
// and keep its status columns up to date, and publish where ports are
// bound (Port_Binding); none of that bumps the generation.
package nbdb

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chainwire/chainwire/topology"
	"github.com/go-logr/logr"
	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"
)

// Options say how to reach the database.
type Options struct {
	// AnyMember lets reads go to any cluster member (ovn-nbctl's
	// --no-leader-only); writes are forwarded to the leader either way.
	AnyMember bool
	// TLS is used for ssl: remotes.
	TLS *tls.Config
	// Timeout bounds each transaction (default 10 s).
	Timeout time.Duration
	// Retries bounds how often a write that lost a race is retried
	// (default 50).
	Retries int
	// OnRetry, if set, is told why a write is tried again.
	OnRetry func(reason error)
	// OnCommit, if set, is called as a write sends its commit (the
	// benchmarks time from there).
	OnCommit func(generation uint64)
}

// IsRemote reports whether db names OVSDB remotes rather than a file.
func IsRemote(db string) bool {
	for _, p := range []string{"unix:", "tcp:", "ssl:"} {
		if strings.HasPrefix(db, p) {
			return true
		}
	}
	return false
}

// Shuffle returns comma-separated remotes in a random order (agents start
// with a random member, so they spread over the cluster).
func Shuffle(remotes string) string {
	list := strings.Split(remotes, ",")
	for i := len(list) - 1; i > 0; i-- {
		b := make([]byte, 1)
		rand.Read(b)
		j := int(b[0]) % (i + 1)
		list[i], list[j] = list[j], list[i]
	}
	return strings.Join(list, ",")
}

// Store is the OVSDB store. It connects on first use.
type Store struct {
	remotes []string
	opts    Options

	// mu guards the libovsdb client, which writes.
	mu  sync.Mutex
	cli client.Client
	// rmu guards rd, the connection of our own that reads.
	rmu sync.Mutex
	rd  *monConn
}

// Open returns a store for comma-separated remotes (unix:PATH, tcp:IP:PORT,
// ssl:IP:PORT: the members of a cluster, or one server).
func Open(remotes string, opts Options) (*Store, error) {
	var list []string
	for _, r := range strings.Split(remotes, ",") {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		if !IsRemote(r) {
			return nil, fmt.Errorf("OVSDB remote %s: want unix:PATH, tcp:IP:PORT or ssl:IP:PORT", topology.Quote(r))
		}
		if strings.HasPrefix(r, "ssl:") && opts.TLS == nil {
			return nil, fmt.Errorf("OVSDB remote %s: ssl: needs --private-key, --certificate and --ca-cert", topology.Quote(r))
		}
		list = append(list, r)
	}
	if len(list) == 0 {
		return nil, errors.New("no OVSDB remote given")
	}
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Retries == 0 {
		opts.Retries = 50
	}
	return &Store{remotes: list, opts: opts}, nil
}

// Close disconnects.
func (s *Store) Close() {
	s.mu.Lock()
	if s.cli != nil {
		s.cli.Close()
		s.cli = nil
	}
	s.mu.Unlock()
	s.rmu.Lock()
	if s.rd != nil {
		s.rd.close()
		s.rd = nil
	}
	s.rmu.Unlock()
}

// conn returns the connected client, connecting if needed.
func (s *Store) conn(ctx context.Context) (client.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cli != nil && s.cli.Connected() {
		return s.cli, nil
	}
	if s.cli != nil {
		s.cli.Close()
		s.cli = nil
	}
	cdm, err := dbModel()
	if err != nil {
		return nil, err
	}
	discard := logr.Discard()
	opts := []client.Option{client.WithLeaderOnly(!s.opts.AnyMember), client.WithLogger(&discard)}
	for _, r := range s.remotes {
		opts = append(opts, client.WithEndpoint(r))
	}
	if s.opts.TLS != nil {
		opts = append(opts, client.WithTLSConfig(s.opts.TLS))
	}
	cli, err := client.NewOVSDBClient(cdm, opts...)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	if err := cli.Connect(cctx); err != nil {
		return nil, fmt.Errorf("connect to %s: %w", strings.Join(s.remotes, ","), err)
	}
	if cli.Schema().Name == "" {
		// The connection dropped right after the handshake (a member
		// that is not the leader, going away): retried as any lost
		// connection, not taken for a foreign schema.
		cli.Close()
		return nil, fmt.Errorf("connect to %s: the connection closed during the handshake: %w", strings.Join(s.remotes, ","), client.ErrNotConnected)
	}
	if _, errs := model.NewDatabaseModel(cli.Schema(), cdm); len(errs) > 0 {
		cli.Close()
		return nil, fmt.Errorf("database schema does not fit this chainwire (version %s): %v", cli.Schema().Version, errs[0])
	}
	s.cli = cli
	return cli, nil
}

// send runs one transaction. A client whose connection broke is dropped,
// so that the next call connects again (to another member if need be).
func (s *Store) send(ctx context.Context, cli client.Client, ops []ovsdb.Operation) ([]ovsdb.OperationResult, error) {
	tctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	res, err := cli.Transact(tctx, ops...)
	if err != nil && isUnknownOutcome(err) {
		s.mu.Lock()
		if s.cli == cli {
			cli.Close()
			s.cli = nil
		}
		s.mu.Unlock()
	}
	return res, err
}

// state is a consistent read of the whole database.
type state struct {
	model    *topology.Model
	global   *nbGlobal // nil before the first write
	chassis  map[string]*chassisRow
	bindings map[string]*bindingRow
	uuids    map[string]map[string]string // table -> name -> row UUID
}

func newState() *state {
	st := &state{model: &topology.Model{}, chassis: map[string]*chassisRow{}, bindings: map[string]*bindingRow{},
		uuids: map[string]map[string]string{}}
	for _, t := range readTables {
		st.uuids[t] = map[string]string{}
	}
	return st
}

var readTables = []string{tGlobal, tChassis, tBinding, tSwitch, tPort, tPair, tGroup, tChain, tClassifier,
	tACL, tPortGroup, tAddressSet, tQoS, tDHCP, tDNS, tLB, tRouter, tRouterPort}

// read selects every table in one transaction.
func (s *Store) read(ctx context.Context) (*state, error) {
	ops := make([]ovsdb.Operation, len(readTables))
	for i, t := range readTables {
		ops[i] = ovsdb.Operation{Op: ovsdb.OperationSelect, Table: t}
	}
	res, err := s.query(ctx, ops)
	if err != nil {
		return nil, fmt.Errorf("read the model: %w", err)
	}
	st := newState()
	for i, t := range readTables {
		for _, row := range res[i] {
			if err := st.add(t, row); err != nil {
				return nil, fmt.Errorf("read the model: a %s row: %w", t, err)
			}
		}
	}
	st.model.Normalize()
	return st, nil
}

// scopePortColumns are the columns read of the ports of a scoped switch
// that the change does not name: what validating a port beside them
// needs (keys, addresses), and with Placement what --wait needs
// (requested-chassis). Not _uuid: formatting it is a third of
// ovsdb-server's work, and these rows are never written.
func scopePortColumns(placement bool) []string {
	if placement {
		return []string{"name", "tunnel_key", "addresses", "options"}
	}
	return []string{"name", "tunnel_key", "addresses"}
}

// readScope reads the scope's part of the model in one transaction: the
// global row, every chassis, DHCP options set, load balancer, router and
// router port, the named switches and their ports (those of type router
// whole: their router ports' addresses are theirs), the named ports
// whole. The switches of the named ports
// are looked up first (and again if one moved in between).
func (s *Store) readScope(ctx context.Context, sc topology.Scope) (*state, error) {
	switches := append([]string(nil), sc.Switches...)
	for attempt := 0; ; attempt++ {
		if len(sc.Ports) > 0 {
			ops := make([]ovsdb.Operation, len(sc.Ports))
			for i, p := range sc.Ports {
				ops[i] = selectWhere(tPort, "name", p, "switch")
			}
			res, err := s.query(ctx, ops)
			if err != nil {
				return nil, fmt.Errorf("read the ports' switches: %w", err)
			}
			for _, rows := range res {
				for _, row := range rows {
					var r struct {
						Switch string `json:"switch"`
					}
					if err := json.Unmarshal(row, &r); err != nil {
						return nil, fmt.Errorf("read the ports' switches: %w", err)
					}
					switches = appendNew(switches, r.Switch)
				}
			}
		}
		st, err := s.readParts(ctx, switches, sc.Ports, sc.Placement)
		if err != nil {
			return nil, err
		}
		moved := false
		for _, p := range sc.Ports {
			if q := st.model.Port(p); q != nil && !slices.Contains(switches, q.Switch) {
				moved = true
			}
		}
		if !moved || attempt == 3 {
			return st, nil
		}
	}
}

func (s *Store) readParts(ctx context.Context, switches, ports []string, placement bool) (*state, error) {
	// Every chassis, DHCP options set, load balancer, router and router
	// port: what a port or a switch may name (few beside the ports), and
	// what a router port's rules read (its router, its router's other
	// ports and routes).
	ops := []ovsdb.Operation{{Op: ovsdb.OperationSelect, Table: tGlobal}, {Op: ovsdb.OperationSelect, Table: tChassis},
		{Op: ovsdb.OperationSelect, Table: tDHCP}, {Op: ovsdb.OperationSelect, Table: tLB},
		{Op: ovsdb.OperationSelect, Table: tRouter}, {Op: ovsdb.OperationSelect, Table: tRouterPort}}
	const whole = 6 // the tables read whole, first
	for _, sw := range switches {
		ops = append(ops, selectWhere(tSwitch, "name", sw), selectWhere(tPort, "switch", sw, scopePortColumns(placement)...))
	}
	for _, sw := range switches { // the switches' router-type ports, whole
		ops = append(ops, ovsdb.Operation{Op: ovsdb.OperationSelect, Table: tPort, Where: []ovsdb.Condition{
			{Column: "switch", Function: ovsdb.ConditionEqual, Value: sw},
			{Column: "type", Function: ovsdb.ConditionEqual, Value: topology.PortTypeRouter}}})
	}
	for _, p := range ports {
		ops = append(ops, selectWhere(tPort, "name", p))
	}
	res, err := s.query(ctx, ops)
	if err != nil {
		return nil, fmt.Errorf("read the model: %w", err)
	}
	st := newState()
	add := func(table string, rows []json.RawMessage) error {
		for _, row := range rows {
			if err := st.add(table, row); err != nil {
				return fmt.Errorf("read the model: a %s row: %w", table, err)
			}
		}
		return nil
	}
	if err := errors.Join(add(tGlobal, res[0]), add(tChassis, res[1]), add(tDHCP, res[2]), add(tLB, res[3]),
		add(tRouter, res[4]), add(tRouterPort, res[5])); err != nil {
		return nil, err
	}
	named := res[whole+3*len(switches):]
	for _, rows := range named {
		if err := add(tPort, rows); err != nil {
			return nil, err
		}
	}
	for _, rows := range res[whole+2*len(switches) : whole+3*len(switches)] { // the router-type ports
		for _, row := range rows {
			if r, err := decodeRow[portRow](row, ""); err == nil && st.uuids[tPort][r.Name] != "" {
				continue // a named port, read already
			}
			if err := add(tPort, []json.RawMessage{row}); err != nil {
				return nil, err
			}
		}
	}
	for i, sw := range switches {
		if err := add(tSwitch, res[whole+2*i]); err != nil {
			return nil, err
		}
		for _, row := range res[whole+1+2*i] {
			var p portRow
			if d, err := decodeRow[portRow](row, ""); err != nil {
				return nil, fmt.Errorf("read the model: a %s row: %w", tPort, err)
			} else {
				p = *d
			}
			if _, ok := st.uuids[tPort][p.Name]; ok {
				continue // a named port, read whole
			}
			p.Switch = sw
			st.model.Ports = append(st.model.Ports, portOf(&p))
		}
	}
	st.model.Normalize()
	return st, nil
}

// selectWhere selects the rows of table whose column equals value.
func selectWhere(table, column, value string, columns ...string) ovsdb.Operation {
	return ovsdb.Operation{Op: ovsdb.OperationSelect, Table: table, Columns: columns,
		Where: []ovsdb.Condition{{Column: column, Function: ovsdb.ConditionEqual, Value: value}}}
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// add decodes one row into the state.
func (st *state) add(table string, row json.RawMessage) error {
	m, uuids := st.model, st.uuids[table]
	var err error
	switch table {
	case tGlobal:
		var g *nbGlobal
		if g, err = decodeRow[nbGlobal](row, ""); err == nil {
			st.global, m.Generation = g, uint64(g.Generation)
		}
	case tChassis:
		var r *chassisRow
		if r, err = decodeRow[chassisRow](row, ""); err == nil {
			st.chassis[r.Name], uuids[r.Name] = r, r.UUID
			m.Chassis = append(m.Chassis, chassisOf(r))
		}
	case tBinding:
		var r *bindingRow
		if r, err = decodeRow[bindingRow](row, ""); err == nil {
			st.bindings[r.LogicalPort], uuids[r.LogicalPort] = r, r.UUID
		}
	case tSwitch:
		var r *switchRow
		if r, err = decodeRow[switchRow](row, ""); err == nil {
			uuids[r.Name] = r.UUID
			m.Switches = append(m.Switches, switchOf(r))
		}
	case tPort:
		var r *portRow
		if r, err = decodeRow[portRow](row, ""); err == nil {
			uuids[r.Name] = r.UUID
			m.Ports = append(m.Ports, portOf(r))
		}
	case tPair:
		var r *pairRow
		if r, err = decodeRow[pairRow](row, ""); err == nil {
			uuids[r.Name] = r.UUID
			m.PortPairs = append(m.PortPairs, pairOf(r))
		}
	case tGroup:
		var r *groupRow
		if r, err = decodeRow[groupRow](row, ""); err == nil {
			uuids[r.Name] = r.UUID
			m.PortPairGroups = append(m.PortPairGroups, groupOf(r))
		}
	case tChain:
		var r *chainRow
		if r, err = decodeRow[chainRow](row, ""); err == nil {
			uuids[r.Name] = r.UUID
			m.PortChains = append(m.PortChains, chainOf(r))
		}
	case tClassifier:
		var r *classifierRow
		if r, err = decodeRow[classifierRow](row, ""); err == nil {
			uuids[r.Name] = r.UUID
			m.Classifiers = append(m.Classifiers, classifierOf(r))
		}
	case tACL:
		var r *aclRow
		if r, err = decodeRow[aclRow](row, ""); err == nil {
			uuids[r.Name] = r.UUID
			m.ACLs = append(m.ACLs, aclOf(r))
		}
	case tPortGroup:
		var r *portGroupRow
		if r, err = decodeRow[portGroupRow](row, ""); err == nil {
			uuids[r.Name] = r.UUID
			m.PortGroups = append(m.PortGroups, portGroupOf(r))
		}
	case tAddressSet:
		var r *addressSetRow
		if r, err = decodeRow[addressSetRow](row, ""); err == nil {
			uuids[r.Name] = r.UUID
			m.AddressSets = append(m.AddressSets, addressSetOf(r))
		}
	case tQoS:
		var r *qosRow
		if r, err = decodeRow[qosRow](row, ""); err == nil {
			uuids[r.Name] = r.UUID
			m.QoS = append(m.QoS, qosOf(r))
		}
	case tDHCP:
		var r *dhcpOptionsRow
		if r, err = decodeRow[dhcpOptionsRow](row, ""); err == nil {
			uuids[r.Name] = r.UUID
			m.DHCPOptions = append(m.DHCPOptions, dhcpOptionsOf(r))
		}
	case tDNS:
		var r *dnsRecordRow
		if r, err = decodeRow[dnsRecordRow](row, ""); err == nil {
			uuids[r.Name] = r.UUID
			m.DNSRecords = append(m.DNSRecords, dnsRecordOf(r))
		}
	case tLB:
		var r *loadBalancerRow
		if r, err = decodeRow[loadBalancerRow](row, ""); err == nil {
			uuids[r.Name] = r.UUID
			m.LoadBalancers = append(m.LoadBalancers, loadBalancerOf(r))
		}
	case tRouter:
		var r *routerRow
		if r, err = decodeRow[routerRow](row, ""); err == nil {
			uuids[r.Name] = r.UUID
			m.Routers = append(m.Routers, routerOf(r))
		}
	case tRouterPort:
		var r *routerPortRow
		if r, err = decodeRow[routerPortRow](row, ""); err == nil {
			uuids[r.Name] = r.UUID
			m.RouterPorts = append(m.RouterPorts, routerPortOf(r))
		}
	}
	return err
}

// query runs read-only operations in one transaction over the reader
// connection (to the leader, unless reads may go to any member) and
// returns the rows of each.
func (s *Store) query(ctx context.Context, ops []ovsdb.Operation) ([][]json.RawMessage, error) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if s.rd != nil && s.rd.closed() {
		s.rd = nil
	}
	if s.rd == nil {
		var last error
		for _, r := range s.remotes {
			mc, err := dialMember(ctx, r, s.opts.TLS, s.opts.Timeout, !s.opts.AnyMember)
			if err == nil {
				s.rd = mc
				break
			}
			last = err
		}
		if s.rd == nil {
			return nil, fmt.Errorf("no usable database member: %w", last)
		}
	}
	var res []struct {
		Rows    []json.RawMessage `json:"rows"`
		Error   string            `json:"error"`
		Details string            `json:"details"`
	}
	s.rd.conn.SetDeadline(time.Now().Add(s.opts.Timeout))
	if err := s.rd.call("transact", append([]any{dbName}, anySlice(ops)...), &res); err != nil {
		s.rd.close()
		s.rd = nil
		return nil, err
	}
	s.rd.conn.SetDeadline(time.Time{})
	if len(res) < len(ops) {
		return nil, fmt.Errorf("%d results for %d operations", len(res), len(ops))
	}
	out := make([][]json.RawMessage, len(ops))
	for i := range ops {
		if res[i].Error != "" {
			return nil, fmt.Errorf("%s on %s: %s: %s", ops[i].Op, ops[i].Table, res[i].Error, res[i].Details)
		}
		out[i] = res[i].Rows
	}
	return out, nil
}

// Snapshot reads the current model (empty before the first write). A
// model that breaks a cheap rule (written around chainctl) is an error
// (see topology.ValidateStored).
func (s *Store) Snapshot() (*topology.Model, error) {
	st, err := s.read(context.Background())
	if err != nil {
		return nil, err
	}
	if err := topology.ValidateStored(st.model); err != nil {
		return nil, fmt.Errorf("the database holds an invalid model: %w", err)
	}
	return st.model, nil
}

// errRaced: another writer committed between our read and our commit.
var errRaced = errors.New("the model changed since it was read")

// Update runs fn on the current model and commits the result, retrying
// from a fresh read when another writer got there first. It returns the
// stored model.
func (s *Store) Update(fn func(*topology.Model) error) (*topology.Model, error) {
	return s.update(s.read, fn)
}

// UpdateIn is Update reading only the scope's part of the model (see
// topology.ScopedStore): a port add costs what its switch costs, not the
// whole model. The commit is guarded by the generation like any other.
func (s *Store) UpdateIn(sc topology.Scope, fn func(*topology.Model) error) (*topology.Model, error) {
	return s.update(func(ctx context.Context) (*state, error) { return s.readScope(ctx, sc) }, fn)
}

func (s *Store) update(read func(context.Context) (*state, error), fn func(*topology.Model) error) (*topology.Model, error) {
	ctx := context.Background()
	token := newToken()
	// A cluster without a leader (an election takes a second or two)
	// and a lost connection are waited out this long.
	deadline := time.Now().Add(s.opts.Timeout)
	var last error
	retry := func(err error) bool {
		last = err
		if s.opts.OnRetry != nil {
			s.opts.OnRetry(err)
		}
		return true
	}
	for attempt := 0; attempt <= s.opts.Retries; attempt++ {
		if attempt > 0 {
			retryPause(attempt)
		}
		st, err := read(ctx)
		if err != nil {
			if time.Now().Before(deadline) && retry(err) {
				s.Close()
				attempt-- // not a race: does not count
				time.Sleep(100 * time.Millisecond)
				continue
			}
			return nil, err
		}
		if st.global != nil && st.global.Writer == token {
			// An attempt whose reply was lost did commit.
			return st.model, nil
		}
		before := st.model
		next, err := topology.Copy(before)
		if err != nil {
			return nil, err
		}
		if err := fn(next); err != nil {
			return nil, err
		}
		next.Normalize()
		changed := topology.Diff(before, next)
		if err := topology.ValidateChanged(next, changed); err != nil {
			return nil, err
		}
		next.Generation = before.Generation + 1
		err = s.commit(ctx, st, next, changed, token)
		switch {
		case err == nil:
			return next, nil
		case errors.Is(err, errRaced):
			retry(err)
		case isUnknownOutcome(err):
			// Reconnect and find out (the token tells) on the next read.
			s.Close()
			retry(fmt.Errorf("outcome unknown: %w", err))
		default:
			return nil, err
		}
	}
	return nil, fmt.Errorf("gave up after %d attempts: %w", s.opts.Retries+1, last)
}

// retryPause spreads racing writers apart.
func retryPause(attempt int) {
	b := make([]byte, 1)
	rand.Read(b)
	time.Sleep(time.Duration(min(attempt, 10)) * time.Millisecond * time.Duration(1+int(b[0])%8) / 4)
}

func newToken() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// isUnknownOutcome: the transaction may or may not have committed.
func isUnknownOutcome(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, client.ErrNotConnected) ||
		strings.Contains(err.Error(), "EOF") || strings.Contains(err.Error(), "connection reset")
}

// commit writes next over st in one transaction guarded by the generation.
func (s *Store) commit(ctx context.Context, st *state, next *topology.Model, changed *topology.Changes, token string) error {
	cli, err := s.conn(ctx)
	if err != nil {
		return err
	}
	var ops []ovsdb.Operation
	zero := 0
	global := &nbGlobal{Generation: int(next.Generation), Writer: token}
	if st.global == nil {
		// The first write creates the one NB_Global row, under a UUID all
		// writers agree on: of two first writers, the second one's insert
		// is a duplicate.
		global.UUID = globalUUID
		o, err := cli.Create(global)
		if err != nil {
			return err
		}
		ops = append(ops, o...)
	} else {
		w := &nbGlobal{UUID: st.global.UUID, Generation: st.global.Generation}
		o, err := cli.Where(w).Wait(ovsdb.WaitConditionEqual, &zero, w, &w.Generation)
		if err != nil {
			return err
		}
		ops = append(ops, o...)
		global.UUID = st.global.UUID
		o, err = cli.Where(global).Update(global, &global.Generation, &global.Writer)
		if err != nil {
			return err
		}
		ops = append(ops, o...)
	}
	diff, err := diffOps(cli, st, changed)
	if err != nil {
		return err
	}
	ops = append(ops, diff...)
	if s.opts.OnCommit != nil {
		s.opts.OnCommit(next.Generation)
	}
	res, err := s.send(ctx, cli, ops)
	if err != nil {
		return err
	}
	opErrs, err := ovsdb.CheckOperationResults(res, ops)
	if err == nil {
		return nil
	}
	if raced(err, opErrs) {
		return errRaced
	}
	return describe(err, opErrs)
}

// globalUUID is the NB_Global row's UUID.
const globalUUID = "c7c7c7c7-0000-4000-8000-000000000001"

// raced tells a transaction another writer beat from a refused one: the
// generation wait timed out, or the first NB_Global insert was a
// duplicate.
func raced(err error, opErrs []ovsdb.OperationError) bool {
	for _, e := range opErrs {
		if op := e.Operation(); op != nil && op.Op == ovsdb.OperationWait && strings.Contains(e.Error(), "timed out") {
			return true
		}
		if strings.Contains(e.Error(), "duplicate uuid") {
			return true
		}
	}
	return strings.Contains(err.Error(), "duplicate uuid")
}

// describe turns a failed transaction into words.
func describe(err error, opErrs []ovsdb.OperationError) error {
	for _, e := range opErrs {
		if op := e.Operation(); op != nil {
			return fmt.Errorf("the database refused the change (%s on %s): %v", op.Op, op.Table, e)
		}
	}
	return fmt.Errorf("the database refused the change: %w", err)
}
