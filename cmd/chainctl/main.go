// Command chainctl edits the chainwire model with ovn-nbctl's verbs.
//
//	chainctl [--db PATH] [--wait] [--wait-timeout D] [-o text|json] VERB ARGS...
//
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

	"github.com/chainwire/chainwire/topology"
)

// usageError is a problem with the command line itself.
type usageError struct{ what, why string }

func (e *usageError) Error() string { return e.what + ": " + e.why }

// opts are the parsed command line.
type opts struct {
	db          string
	wait        bool
	waitTimeout time.Duration
	output      string
	verbFlags   map[string]string
	args        []string // verb, then its positional arguments
}

// globalFlags take a value unless listed in boolFlags; verbFlagNames are
// collected for the verb to use.
var (
	boolFlags     = map[string]bool{"wait": true}
	verbFlagNames = map[string]bool{"tunnel-key": true, "weight": true, "priority": true}
)

func parseArgs(argv []string) (*opts, error) {
	o := &opts{db: os.Getenv("CHAINWIRE_DB"), waitTimeout: 10 * time.Second, output: "text", verbFlags: map[string]string{}}
	if o.db == "" {
		o.db = "/var/lib/chainwire/nb.json"
	}
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			o.args = append(o.args, argv[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			o.args = append(o.args, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "o" {
			name = "output"
		}
		if boolFlags[name] {
			if hasVal {
				return nil, &usageError{"--" + name, "takes no value"}
			}
			o.wait = true
			continue
		}
		if !hasVal {
			if i+1 >= len(argv) {
				return nil, &usageError{a, "needs a value"}
			}
			i++
			val = argv[i]
		}
		switch {
		case name == "db":
			o.db = val
		case name == "output":
			if val != "text" && val != "json" {
				return nil, &usageError{"-o " + val, "want text or json"}
			}
			o.output = val
		case name == "wait-timeout":
			d, err := time.ParseDuration(val)
			if err != nil {
				return nil, &usageError{"--wait-timeout " + val, "not a duration (e.g. 10s)"}
			}
			o.waitTimeout = d
		case verbFlagNames[name]:
			o.verbFlags[name] = val
		default:
			return nil, &usageError{a, "unknown option"}
		}
	}
	if len(o.args) == 0 {
		return nil, &usageError{"usage", "chainctl [--db PATH] [--wait] [-o text|json] VERB ARGS... (try 'chainctl help')"}
	}
	return o, nil
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "chainctl: "+oneLine(err))
		os.Exit(1)
	}
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }

func run(argv []string, out io.Writer) error {
	o, err := parseArgs(argv)
	if err != nil {
		return err
	}
	name := o.args[0]
	if name == "help" {
		printHelp(out)
		return nil
	}
	v, ok := verbs[name]
	if !ok {
		return &usageError{name, "unknown command (try 'chainctl help')"}
	}
	args := o.args[1:]
	if len(args) < v.min || (v.max >= 0 && len(args) > v.max) {
		return &usageError{name, "usage: chainctl " + name + " " + v.usage}
	}
	for f := range o.verbFlags {
		if !contains(v.flags, f) {
			return &usageError{name, fmt.Sprintf("option --%s does not apply", f)}
		}
	}
	store := topology.NewFileStore(o.db)
	c := &call{opts: o, args: args, out: out, verb: name}
	if v.read != nil {
		m, err := store.Snapshot()
		if err != nil {
			return err
		}
		return v.read(c, m, store)
	}
	before, err := store.Snapshot()
	if err != nil {
		return err
	}
	after, err := store.Update(func(m *topology.Model) error { return v.write(c, m) })
	if err != nil {
		return err
	}
	if o.wait {
		return waitApplied(store, before, after, o.waitTimeout)
	}
	return nil
}

// call is one invocation of a verb.
type call struct {
	*opts
	verb string
	args []string
	out  io.Writer
}

type verb struct {
	usage    string
	help     string
	min, max int // positional arguments; max -1 = unbounded
	flags    []string
	write    func(*call, *topology.Model) error
	read     func(*call, *topology.Model, topology.Store) error
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
	fmt.Fprintln(out, "usage: chainctl [--db PATH] [--wait] [--wait-timeout D] [-o text|json] VERB ARGS...")
	for _, n := range names {
		fmt.Fprintf(out, "  %-28s %s\n", n+" "+verbs[n].usage, verbs[n].help)
	}
}

// notFound is the error for a reference to a missing object.
func notFound(kind, name string) error {
	return &topology.Error{What: fmt.Sprintf("%s %q", kind, name), Why: "does not exist"}
}
