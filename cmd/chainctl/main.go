// Command chainctl edits the chainwire model with ovn-nbctl's verbs.
//
//	chainctl [--db PATH] [--wait] [--wait-timeout D] [--lock-timeout D] [-o text|json] VERB ARGS... [-- VERB ARGS...]
//
// Commands joined with "--" are one transaction.
// Every change is validated as a whole; a refused command prints one line
// "chainctl: <what>: <why>", exits non-zero and leaves the model file
// byte-identical.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/chainwire/chainwire/internal/profile"
	"github.com/chainwire/chainwire/topology"
	"github.com/chainwire/chainwire/topology/nbdb"
)

// usageError is a problem with the command line itself.
type usageError struct{ what, why string }

func (e *usageError) Error() string { return e.what + ": " + e.why }

// opts are the parsed command line.
type opts struct {
	db          string
	wait        bool
	waitTimeout time.Duration
	lockTimeout time.Duration // how long a write waits for the model's lock
	output      string
	anyMember   bool // --no-leader-only
	tls         nbdb.TLSFiles
	cmds        []command
	errOut      io.Writer // where warnings go
}

// command is one verb with its arguments and flags. Several commands
// separated by "--" form one transaction, as with ovn-nbctl.
type command struct {
	args      []string // verb, then its positional arguments
	verbFlags map[string]string
}

// globalFlags take a value unless listed in boolFlags; verbFlagNames
// (with a value) and verbBoolFlags (without) are collected for the verb
// to use.
var (
	boolFlags     = map[string]bool{"wait": true, "no-leader-only": true}
	verbFlagNames = map[string]bool{"tunnel-key": true, "weight": true, "priority": true, "name": true}
	verbBoolFlags = map[string]bool{"log": true, "may-exist": true, "if-exists": true}
)

func parseArgs(argv []string) (*opts, error) {
	o := &opts{db: os.Getenv("CHAINWIRE_DB"), waitTimeout: 10 * time.Second, lockTimeout: 10 * time.Second, output: "text"}
	if o.db == "" {
		o.db = "/var/lib/chainwire/nb.json"
	}
	cur := command{verbFlags: map[string]string{}}
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			if len(cur.args) == 0 {
				return nil, &usageError{"--", "separates commands; there is no command before it"}
			}
			o.cmds = append(o.cmds, cur)
			cur = command{verbFlags: map[string]string{}}
			continue
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			cur.args = append(cur.args, a)
			continue
		}
		if a == "-h" || a == "--help" { // the help verb, wherever it stands
			return &opts{cmds: []command{{args: []string{"help"}}}}, nil
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "o" {
			name = "output"
		}
		if (boolFlags[name] || verbBoolFlags[name]) && hasVal {
			return nil, &usageError{"--" + name, "takes no value"}
		}
		if verbBoolFlags[name] {
			cur.verbFlags[name] = ""
			continue
		}
		if boolFlags[name] {
			if name == "wait" {
				o.wait = true
			} else {
				o.anyMember = true
			}
			continue
		}
		if !hasVal {
			if i+1 >= len(argv) {
				return nil, &usageError{topology.Quote(a), "needs a value"}
			}
			i++
			val = argv[i]
		}
		switch {
		case name == "db":
			o.db = val
		case name == "output":
			if val != "text" && val != "json" {
				return nil, &usageError{"-o " + topology.Quote(val), "want text or json"}
			}
			o.output = val
		case name == "wait-timeout":
			d, err := time.ParseDuration(val)
			if err != nil {
				return nil, &usageError{"--wait-timeout " + topology.Quote(val), "not a duration (e.g. 10s)"}
			}
			o.waitTimeout = d
		case name == "lock-timeout":
			d, err := time.ParseDuration(val)
			if err != nil || d <= 0 {
				return nil, &usageError{"--lock-timeout " + topology.Quote(val), "not a positive duration (e.g. 10s)"}
			}
			o.lockTimeout = d
		case name == "private-key":
			o.tls.PrivateKey = val
		case name == "certificate":
			o.tls.Certificate = val
		case name == "ca-cert":
			o.tls.CACert = val
		case verbFlagNames[name]:
			cur.verbFlags[name] = val
		default:
			return nil, &usageError{topology.Quote(a), "unknown option"}
		}
	}
	if len(cur.args) == 0 {
		return nil, &usageError{"usage", "chainctl [--db PATH] [--wait] [--lock-timeout D] [-o text|json] VERB ARGS... [-- VERB ARGS...] (try 'chainctl help')"}
	}
	o.cmds = append(o.cmds, cur)
	return o, nil
}

func main() {
	stop := profile.Start()
	err := run(os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chainctl: "+oneLine(err))
		os.Exit(1)
	}
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }

func run(argv []string, out, errOut io.Writer) error {
	o, err := parseArgs(argv)
	if err != nil {
		return err
	}
	o.errOut = errOut
	switch first := o.cmds[0].args; {
	case first[0] == "help":
		printHelp(out)
		return nil
	case first[0] == "completion" && len(first) == 2:
		return printCompletion(out, first[1])
	}
	calls := make([]*call, len(o.cmds))
	for i, cmd := range o.cmds {
		name := cmd.args[0]
		v, ok := verbs[name]
		if !ok {
			return &usageError{topology.Quote(name), "unknown command (try 'chainctl help')"}
		}
		args := cmd.args[1:]
		if len(args) < v.min || (v.max >= 0 && len(args) > v.max) {
			return &usageError{name, "usage: chainctl " + name + " " + v.usage}
		}
		for f := range cmd.verbFlags {
			if !contains(v.flags, f) {
				return &usageError{name, fmt.Sprintf("option --%s does not apply", f)}
			}
		}
		if v.read != nil && len(o.cmds) > 1 {
			return &usageError{name, "only commands that change the model can be joined with --"}
		}
		calls[i] = &call{opts: o, args: args, out: out, verb: name, verbFlags: cmd.verbFlags, v: v}
	}
	store, err := o.openStore()
	if err != nil {
		return err
	}
	if cl, ok := store.(interface{ Close() }); ok {
		defer cl.Close()
	}
	if c := calls[0]; c.v.read != nil {
		m, err := store.Snapshot()
		if err != nil {
			return err
		}
		return c.v.read(c, m, store)
	}
	// All commands apply to one copy of the model, validated and stored
	// once: they succeed or fail together (a retried attempt runs them
	// again on a fresh read).
	var before *topology.Model
	update := store.Update
	if ss, ok := store.(topology.ScopedStore); ok {
		if sc, ok := scopeOf(calls); ok {
			sc.Placement = o.wait
			update = func(fn func(*topology.Model) error) (*topology.Model, error) { return ss.UpdateIn(sc, fn) }
		}
	}
	after, err := update(func(m *topology.Model) error {
		if o.wait {
			var err error
			if before, err = topology.Copy(m); err != nil {
				return err
			}
		}
		for _, c := range calls {
			if err := c.v.write(c, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, c := range calls {
		if c.created != "" {
			fmt.Fprintln(out, c.created)
		}
	}
	if o.wait {
		return waitApplied(store, before, after, o.waitTimeout, o.errOut)
	}
	return nil
}

// openStore opens the model store --db names: OVSDB remotes
// (unix:/tcp:/ssl:, comma-separated cluster members) or a file.
func (o *opts) openStore() (topology.Store, error) {
	if !nbdb.IsRemote(o.db) {
		return &topology.FileStore{Path: o.db, LockTimeout: o.lockTimeout}, nil
	}
	tlsCfg, err := o.tls.Config()
	if err != nil {
		return nil, err
	}
	return nbdb.Open(o.db, nbdb.Options{AnyMember: o.anyMember, TLS: tlsCfg, Timeout: o.lockTimeout,
		OnRetry: func(reason error) { fmt.Fprintf(o.errOut, "chainctl: trying again: %v\n", reason) }})
}

// call is one invocation of a verb.
type call struct {
	*opts
	verb      string
	v         verb
	args      []string
	verbFlags map[string]string
	out       io.Writer
	// created is the id of what the verb created (dhcp-options-create's
	// UUID): made once, whatever the retries, printed once committed.
	created string
}

type verb struct {
	usage    string
	help     string
	min, max int // positional arguments; max -1 = unbounded
	flags    []string
	write    func(*call, *topology.Model) error
	read     func(*call, *topology.Model, topology.Store) error
}

// scopeOf is the part of the model the commands need when they only add
// ports and set them up (the commonest change, as a CMS makes it): the
// switches the ports go to. A store with a large model then reads that
// switch, not the whole model. Addresses and port security of a port
// that already exists are outside: port pairs and classifiers elsewhere
// depend on them.
func scopeOf(calls []*call) (topology.Scope, bool) {
	var sc topology.Scope
	added := map[string]bool{}
	for _, c := range calls {
		switch c.verb {
		case "lsp-add":
			sc.Switches = append(sc.Switches, c.args[0])
			sc.Ports = append(sc.Ports, c.args[1])
			added[c.args[1]] = true
		case "lsp-set-options", "lsp-set-enabled":
			if c.verb == "lsp-set-options" && joinsRouter(c.args[1:]) {
				return sc, false // the port's rules read its router port and router
			}
			if !added[c.args[0]] {
				sc.Ports = append(sc.Ports, c.args[0])
			}
		case "lsp-set-addresses", "lsp-set-port-security":
			if !added[c.args[0]] {
				return sc, false
			}
		default:
			return sc, false
		}
	}
	return sc, true
}

// joinsRouter reports whether options name a router port.
func joinsRouter(kvs []string) bool {
	for _, kv := range kvs {
		if k, _, _ := strings.Cut(kv, "="); k == topology.OptRouterPort {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func printHelp(out io.Writer) {
	names := make([]string, 0, len(verbs))
	for n := range verbs {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(out, "usage: chainctl [--db PATH|REMOTES] [--wait] [--wait-timeout D] [--lock-timeout D] [-o text|json] VERB ARGS... [-- VERB ARGS...]")
	fmt.Fprintln(out, "  --db: a model file, or OVSDB remotes unix:PATH, tcp:IP:PORT, ssl:IP:PORT (comma-separated cluster members)")
	fmt.Fprintln(out, "  OVSDB only: --no-leader-only (read any member), --private-key F --certificate F --ca-cert F (ssl:)")
	fmt.Fprintln(out, "commands joined with -- apply together or not at all")
	fmt.Fprintf(out, "  %-28s %s\n", "completion bash", "print a bash completion script (eval \"$(chainctl completion bash)\")")
	for _, n := range names {
		fmt.Fprintf(out, "  %-28s %s\n", n+" "+verbs[n].usage, verbs[n].help)
	}
}

// notFound is the error for a reference to a missing object.
func notFound(kind, name string) error {
	return &topology.Error{What: fmt.Sprintf("%s %s", kind, topology.Quote(name)), Why: "does not exist"}
}
