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

	"github.com/ovn-kubernetes/libovsdb/mapper"
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"
)

// An agent follows the database through a monitor of its own on one
// connection (RFC 7047 "monitor"), not through libovsdb's cache: an
// update notification carries whole transactions, and the agent must see
// each transaction whole, never half of one (libovsdb hands out row
// events with no transaction boundary). A "modify" carries every
// monitored column, so a row update converts to a whole object.
// Libovsdb's schema, mapper and row types decode the rows.

// rowUpdate is one row's change in an update: old is nil for a new row,
// new is nil for a deleted one; old holds only the changed columns of a
// modified row.
type rowUpdate struct {
	table, uuid string
	old, new    *ovsdb.Row
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

// monConn is one monitor connection. One goroutine reads it; a prober
// sends an echo when the server has been silent for probeInterval and
// closes the connection after twice that.
type monConn struct {
	conn  net.Conn
	in    *limitedReader
	dec   *json.Decoder
	wmu   sync.Mutex // serializes writes (reader and prober)
	enc   *json.Encoder
	mp    mapper.Mapper
	dbm   model.DatabaseModel
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

// openMonitor connects to remote, checks that it serves an up-to-date
// Chainwire_NB (a cluster member cut off from its cluster does not), and
// starts monitoring spec. The initial contents are the first update.
func openMonitor(ctx context.Context, remote string, tlsConf *tls.Config, timeout time.Duration, spec monitorSpec) (*monConn, *monUpdate, error) {
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := dialRemote(dctx, remote, tlsConf)
	if err != nil {
		return nil, nil, err
	}
	mc := newMonConn(conn)
	fail := func(err error) (*monConn, *monUpdate, error) {
		mc.close()
		return nil, nil, fmt.Errorf("%s: %w", remote, err)
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
	dbm, errs := model.NewDatabaseModel(schema, cdm)
	if len(errs) > 0 {
		return fail(fmt.Errorf("database schema does not fit this chainwire (version %s): %v", schema.Version, errs[0]))
	}
	mc.mp, mc.dbm = mapper.NewMapper(schema), dbm
	if err := mc.checkMember(); err != nil {
		return fail(err)
	}
	reqs := map[string]ovsdb.MonitorRequest{}
	for t, cols := range spec {
		reqs[t] = ovsdb.MonitorRequest{Columns: cols}
	}
	var initial ovsdb.TableUpdates
	if err := mc.call("monitor", ovsdb.NewMonitorArgs(dbName, "nb", reqs), &initial); err != nil {
		return fail(fmt.Errorf("monitor the database: %w", err))
	}
	conn.SetDeadline(time.Time{})
	go mc.probe()
	u := updateOf(initial)
	u.initial = true
	return mc, u, nil
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
// cluster: it may serve an old state (ovn-controller checks the same).
func (mc *monConn) checkMember() error {
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
	}
	return nil
}

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
			var tu ovsdb.TableUpdates
			if err := json.Unmarshal(m.Params[1], &tu); err != nil {
				return nil, fmt.Errorf("update notification: %w", err)
			}
			return updateOf(tu), nil
		}
	}
}

func updateOf(tu ovsdb.TableUpdates) *monUpdate {
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

// decode maps a row onto a row type, with its UUID.
func (mc *monConn) decode(row *ovsdb.Row, uuid string, into model.Model) error {
	info, err := mc.dbm.NewModelInfo(into)
	if err != nil {
		return err
	}
	if err := mc.mp.GetRowData(row, info); err != nil {
		return fmt.Errorf("database row %s: %w", uuid, err)
	}
	return info.SetField("_uuid", uuid)
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
