package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// bashCompletion is `chainctl completion bash`: verbs where a verb goes
// (first, and after each --), option names after a dash, files after
// --db and the TLS options, text or json after -o. It is made from the
// verb table, so it never lags behind it; eval it, or install it as
// /usr/share/bash-completion/completions/chainctl.
const bashCompletion = `# bash completion for chainctl (chainctl completion bash)
_chainctl() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    case $prev in
        --db|--private-key|--certificate|--ca-cert) COMPREPLY=($(compgen -f -- "$cur")); return ;;
        -o|--output) COMPREPLY=($(compgen -W "text json" -- "$cur")); return ;;
        --wait-timeout|--lock-timeout|--tunnel-key|--weight|--priority|--name) return ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "%s" -- "$cur")); return
    fi
    local i verb= skip=
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            --) verb= ;;
            --db|--private-key|--certificate|--ca-cert|-o|--output|--wait-timeout|--lock-timeout|--tunnel-key|--weight|--priority|--name) ((i++)) ;;
            -*) ;;
            *) [[ -z $verb ]] && verb=${COMP_WORDS[i]} ;;
        esac
    done
    [[ -z $verb ]] && COMPREPLY=($(compgen -W "%s" -- "$cur"))
}
complete -F _chainctl chainctl
`

var completionOptions = []string{"--db", "--wait", "--wait-timeout", "--lock-timeout", "-o", "--no-leader-only",
	"--private-key", "--certificate", "--ca-cert", "--tunnel-key", "--weight", "--priority", "--name", "--log",
	"--may-exist", "--if-exists", "--help"}

func printCompletion(out io.Writer, shell string) error {
	if shell != "bash" {
		return &usageError{"completion " + shell, "only bash is supported"}
	}
	names := append(slices.Sorted(maps.Keys(verbs)), "help", "completion")
	_, err := fmt.Fprintf(out, bashCompletion, strings.Join(completionOptions, " "), strings.Join(names, " "))
	return err
}
