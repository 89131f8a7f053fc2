package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/chainwire/chainwire/topology"
)

// bashCompletion is `chainctl completion bash`: verbs where a verb goes
// (first, and after each --), option names after a dash, files after
// --db and the TLS options, text or json after -o, and the KEY= of the
// *-set-options verbs after their object (the values of those that have
// few after the =, which bash's word breaks make a word of its own). It
// is made from the verb and option tables, so it never lags behind them;
// eval it, or install it as /usr/share/bash-completion/completions/chainctl.
const bashCompletion = `# bash completion for chainctl (chainctl completion bash)
_chainctl() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    case $prev in
        --db|--private-key|--certificate|--ca-cert) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        -o|--output) COMPREPLY=($(compgen -W "text json" -- "$cur")); return ;;
        --wait-timeout|--lock-timeout|--tunnel-key|--weight|--priority|--name|--bridge|--ovs-db) return ;;
        --ovs-rundir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "%s" -- "$cur")); return
    fi
    local i verb= n=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            --) verb= n=0 ;;
            --db|--private-key|--certificate|--ca-cert|-o|--output|--wait-timeout|--lock-timeout|--tunnel-key|--weight|--priority|--name|--bridge|--ovs-rundir|--ovs-db) ((i++)) ;;
            -*) ;;
            *) if [[ -z $verb ]]; then verb=${COMP_WORDS[i]}; else ((n++)); fi ;;
        esac
    done
    if [[ -z $verb ]]; then
        COMPREPLY=($(compgen -W "%s" -- "$cur")); return
    fi
    local keys=
    case $verb in
%s    esac
    [[ -n $keys ]] && ((n >= 1)) || return
    if [[ $prev == = ]]; then
        case ${COMP_WORDS[COMP_CWORD-2]} in
%s        esac
        return
    fi
    [[ $cur == *=* ]] && return
    COMPREPLY=($(compgen -W "$keys" -- "$cur"))
    compopt -o nospace 2>/dev/null
}
complete -F _chainctl chainctl
`

// setOptionKeys are the keys each *-set-options verb takes, and
// optionValues the values of the keys that have few.
var (
	setOptionKeys = map[string][]string{
		"lsp-set-options":            {"requested-chassis", topology.OptRouterPort},
		"lsp-pair-set-options":       topology.PairOptionKeys,
		"lsp-pair-group-set-options": topology.GroupOptionKeys,
	}
	optionValues = map[string][]string{
		topology.OptHealthCheck: {"true", "false"},
		topology.OptFailMode:    {topology.FailModeClose, topology.FailModeOpen},
		topology.OptTap:         {"true", "false"},
	}
)

var completionOptions = []string{"--db", "--wait", "--wait-timeout", "--lock-timeout", "-o", "--no-leader-only",
	"--private-key", "--certificate", "--ca-cert", "--tunnel-key", "--weight", "--priority", "--name", "--log",
	"--may-exist", "--if-exists", "--help"}

func printCompletion(out io.Writer, shell string) error {
	if shell != "bash" {
		return &usageError{"completion " + shell, "only bash is supported"}
	}
	names := append(slices.Sorted(maps.Keys(verbs)), "help", "completion")
	var keys, values strings.Builder
	for _, v := range slices.Sorted(maps.Keys(setOptionKeys)) {
		fmt.Fprintf(&keys, "        %s) keys=\"%s=\" ;;\n", v, strings.Join(setOptionKeys[v], "= "))
	}
	for _, k := range slices.Sorted(maps.Keys(optionValues)) {
		fmt.Fprintf(&values, "            %s) COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")) ;;\n", k, strings.Join(optionValues[k], " "))
	}
	_, err := fmt.Fprintf(out, bashCompletion, strings.Join(completionOptions, " "), strings.Join(names, " "), keys.String(), values.String())
	return err
}
