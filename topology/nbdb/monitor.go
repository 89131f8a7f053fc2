package nbdb

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"
)

// An agent follows the database through a monitor of its own on one
// connection (RFC 7047 "monitor"), not through libovsdb's cache: an
// update notification carries whole transactions, and the agent must see
// each transaction whole, never half of one (libovsdb hands out row
// events with no transaction boundary). A "modify" carries every
// monitored column, so a row update converts to a whole object.
// The rows decode column by column (wire.go); libovsdb checks the schema.

// rowUpdate is one row's change in an update: old is nil for a new row,
// new is nil for a deleted one; old holds only the changed columns of a
// modified row.
type rowUpdate struct {
	table, uuid string
	old, new    json.RawMessage
}

// tableUpdates is an update notification's table-updates.
type tableUpdates map[string]map[string]*struct {
	Old json.RawMessage `json:"old"`
	New json.RawMessage `json:"new"`
}

// hasColumn reports whether a (partial) row holds a column.
func hasColumn(row json.RawMessage, col string) bool {
	if len(row) == 0 {
		return false
	}
	var cols map[string]json.RawMessage
	if json.Unmarshal(row, &cols) != nil {
		return false
	}
	_, ok := cols[col]
	return ok
}

// monUpdate is one update notification (one or more whole transactions),
// or the initial contents of the monitored tables.
type monUpdate struct {
	initial bool
	rows    []rowUpdate
}

// monitorSpec lists the columns to monitor per table (nil: all).
type monitorSpec map[string][]string

// probeInterval is how long a monitor connection may be silent before
// it is probed; twice that without an answer and it is given up.
const probeInterval = 5 * time.Second

// maxMessage bounds one JSON-RPC message from the server.
const maxMessage = 512 << 20

// monConn is one connection of our own to a database member: a monitor,
// or chainctl's reads. One goroutine reads it; a prober sends an echo
// when the server has been silent for probeInterval and closes the
// connection after twice that.
type monConn struct {
	conn  net.Conn
	in    *limitedReader
	dec   *json.Decoder
	wmu   sync.Mutex // serializes writes (reader and prober)
	enc   *json.Encoder
	stop  chan struct{}
	close func()
}

type rpcMessage struct {
	ID     any               `json:"id"`
	Method string            `json:"method,omitempty"`
	Params []json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage   `json:"result,omitempty"`
	Error  any               `json:"error,omitempty"`
}

// dialRemote opens a stream to an OVSDB remote.
func dialRemote(ctx context.Context, remote string, tlsConf *tls.Config) (net.Conn, error) {
	kind, addr, _ := strings.Cut(remote, ":")
	var d net.Dialer
	switch kind {
	case "unix":
		return d.DialContext(ctx, "unix", addr)
	case "tcp":
		return d.DialContext(ctx, "tcp", addr)
	case "ssl":
		td := tls.Dialer{NetDialer: &d, Config: tlsConf}
		return td.DialContext(ctx, "tcp", addr)
	}
	return nil, fmt.Errorf("OVSDB remote %q: unknown kind", remote)
}

// openMonitor connects to remote (any member) and starts monitoring
// spec. The initial contents are the first update.
func openMonitor(ctx context.Context, remote string, tlsConf *tls.Config, timeout time.Duration, spec monitorSpec) (*monConn, *monUpdate, error) {
	mc, err := dialMember(ctx, remote, tlsConf, timeout, false)
	if err != nil {
		return nil, nil, err
	}
	reqs := map[string]ovsdb.MonitorRequest{}
	for t, cols := range spec {
		reqs[t] = ovsdb.MonitorRequest{Columns: cols}
	}
	var initial tableUpdates
	mc.conn.SetDeadline(time.Now().Add(timeout))
	if err := mc.call("monitor", ovsdb.NewMonitorArgs(dbName, "nb", reqs), &initial); err != nil {
		mc.close()
		return nil, nil, fmt.Errorf("%s: monitor the database: %w", remote, err)
	}
	mc.conn.SetDeadline(time.Time{})
	u := updateOf(initial)
	u.initial = true
	return mc, u, nil
}

// dialMember connects to remote and checks that it serves a Chainwire_NB
// this chainwire understands, up to date (a cluster member cut off from
// its cluster is not) and, if leader is set, as the cluster's leader.
func dialMember(ctx context.Context, remote string, tlsConf *tls.Config, timeout time.Duration, leader bool) (*monConn, error) {
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := dialRemote(dctx, remote, tlsConf)
	if err != nil {
		return nil, err
	}
	mc := newMonConn(conn)
	fail := func(err error) (*monConn, error) {
		mc.close()
		return nil, fmt.Errorf("%s: %w", remote, err)
	}
	conn.SetDeadline(time.Now().Add(timeout))
	var schema ovsdb.DatabaseSchema
	if err := mc.call("get_schema", []any{dbName}, &schema); err != nil {
		return fail(err)
	}
	cdm, err := dbModel()
	if err != nil {
		return fail(err)
	}
	if _, errs := model.NewDatabaseModel(schema, cdm); len(errs) > 0 {
		return fail(fmt.Errorf("database schema does not fit this chainwire (version %s): %v", schema.Version, errs[0]))
	}
	if err := mc.checkMember(leader); err != nil {
		return fail(err)
	}
	conn.SetDeadline(time.Time{})
	go mc.probe()
	return mc, nil
}

func newMonConn(conn net.Conn) *monConn {
	in := &limitedReader{r: conn}
	in.last.Store(time.Now().UnixNano())
	mc := &monConn{conn: conn, in: in, dec: json.NewDecoder(bufio.NewReaderSize(in, 64<<10)), enc: json.NewEncoder(conn),
		stop: make(chan struct{})}
	var once sync.Once
	mc.close = func() {
		once.Do(func() {
			close(mc.stop)
			conn.Close()
		})
	}
	return mc
}

func (mc *monConn) closed() bool {
	select {
	case <-mc.stop:
		return true
	default:
		return false
	}
}

// probe keeps the connection honest while the reader waits.
func (mc *monConn) probe() {
	t := time.NewTicker(probeInterval / 2)
	defer t.Stop()
	for {
		select {
		case <-mc.stop:
			return
		case <-t.C:
		}
		silent := time.Since(time.Unix(0, mc.in.last.Load()))
		switch {
		case silent > 2*probeInterval:
			mc.close()
			return
		case silent > probeInterval:
			mc.send(map[string]any{"id": "probe", "method": "echo", "params": []any{}})
		}
	}
}

func (mc *monConn) send(msg any) error {
	mc.wmu.Lock()
	defer mc.wmu.Unlock()
	return mc.enc.Encode(msg)
}

// read decodes the next message; a message may be up to maxMessage long.
func (mc *monConn) read(m *rpcMessage) error {
	mc.in.seen = 0
	return mc.dec.Decode(m)
}

// checkMember refuses a cluster member that is not connected to its
// cluster: it may serve an old state (ovn-controller checks the same);
// with leader, one that does not lead it.
func (mc *monConn) checkMember(leader bool) error {
	ops := []ovsdb.Operation{{Op: ovsdb.OperationSelect, Table: "Database",
		Where: []ovsdb.Condition{{Column: "name", Function: ovsdb.ConditionEqual, Value: dbName}}}}
	var res []ovsdb.OperationResult
	if err := mc.call("transact", append([]any{"_Server"}, anySlice(ops)...), &res); err != nil {
		return fmt.Errorf("ask the server about %s: %w", dbName, err)
	}
	if len(res) != 1 || len(res[0].Rows) != 1 {
		return fmt.Errorf("the server does not serve %s", dbName)
	}
	row := res[0].Rows[0]
	if model, _ := row["model"].(string); model == "clustered" {
		if connected, _ := row["connected"].(bool); !connected {
			return errors.New("this cluster member is not connected to its cluster")
		}
		if isLeader, _ := row["leader"].(bool); leader && !isLeader {
			return errNotLeader
		}
	}
	return nil
}

// errNotLeader: a member that cannot serve leader-only reads.
var errNotLeader = errors.New("not the cluster's leader")

func anySlice[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// call sends a request and waits for its reply, answering the server's
// echoes meanwhile; updates cannot come before the monitor's reply.
func (mc *monConn) call(method string, params []any, result any) error {
	if err := mc.send(map[string]any{"id": method, "method": method, "params": params}); err != nil {
		return err
	}
	for {
		var m rpcMessage
		if err := mc.read(&m); err != nil {
			return err
		}
		if m.Method == "echo" {
			if err := mc.send(map[string]any{"id": m.ID, "result": m.Params, "error": nil}); err != nil {
				return err
			}
			continue
		}
		if m.ID != method {
			continue
		}
		if m.Error != nil {
			return fmt.Errorf("%s: %v", method, m.Error)
		}
		return json.Unmarshal(m.Result, result)
	}
}

// next waits for the next update notification.
func (mc *monConn) next(ctx context.Context) (*monUpdate, error) {
	stop := context.AfterFunc(ctx, mc.close)
	defer stop()
	for {
		var m rpcMessage
		if err := mc.read(&m); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		switch m.Method {
		case "echo":
			if err := mc.send(map[string]any{"id": m.ID, "result": m.Params, "error": nil}); err != nil {
				return nil, err
			}
		case "update":
			if len(m.Params) != 2 {
				return nil, fmt.Errorf("update notification with %d parameters", len(m.Params))
			}
			var tu tableUpdates
			if err := json.Unmarshal(m.Params[1], &tu); err != nil {
				return nil, fmt.Errorf("update notification: %w", err)
			}
			return updateOf(tu), nil
		}
	}
}

func updateOf(tu tableUpdates) *monUpdate {
	u := &monUpdate{}
	for table, rows := range tu {
		for uuid, ru := range rows {
			if ru == nil {
				continue
			}
			u.rows = append(u.rows, rowUpdate{table: table, uuid: uuid, old: ru.Old, new: ru.New})
		}
	}
	return u
}

// limitedReader fails a message larger than maxMessage instead of
// buffering without end (json.Decoder reads a whole value into memory),
// and notes when the server last said something.
type limitedReader struct {
	r    net.Conn
	seen int
	last atomic.Int64 // UnixNano
}

func (l *limitedReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if n > 0 {
		l.last.Store(time.Now().UnixNano())
	}
	l.seen += n
	if l.seen > maxMessage {
		return n, fmt.Errorf("more than %d MiB from the database without a pause", maxMessage>>20)
	}
	return n, err
}
