package main

import (
	"strings"
	"testing"
)

// chainctl's layout: "  %-28s %s" of "VERB ARGS" and the description; a
// synopsis of 28 columns or more is followed by a single space.
const verbsHelp = `usage: chainctl [--db PATH|REMOTES] [--wait] [-o text|json] VERB ARGS... [-- VERB ARGS...]
  --db: a model file, or OVSDB remotes
  OVSDB only: --no-leader-only (read any member)
commands joined with -- apply together or not at all
  completion bash              print a bash completion script (eval "$(chainctl completion bash)")
  chassis-add CHASSIS geneve IP register a hypervisor and its tunnel IP
  lsp-pair-group-port-pair-add GROUP PAIR add a port pair to a group
  lsp-set-enabled PORT enabled|disabled enable or disable a port
  lb-add LB VIP[:PORT] IP[:PORT],... [tcp|udp] [--may-exist] add a VIP; --may-exist replaces it
  ls-list                      list logical switches
  .dot-verb                    never a verb
`

func TestVerbLine(t *testing.T) {
	for _, c := range []struct{ line, verb, args, desc string }{
		{"  completion bash              print a bash completion script", "completion", "bash", "print a bash completion script"},
		{"  chassis-add CHASSIS geneve IP register a hypervisor and its tunnel IP", "chassis-add", "CHASSIS geneve IP", "register a hypervisor and its tunnel IP"},
		{"  lsp-pair-group-port-pair-add GROUP PAIR add a port pair to a group", "lsp-pair-group-port-pair-add", "GROUP PAIR", "add a port pair to a group"},
		{"  lsp-set-enabled PORT enabled|disabled enable or disable a port", "lsp-set-enabled", "PORT enabled|disabled", "enable or disable a port"},
		{"  ls-list                      list logical switches", "ls-list", "", "list logical switches"},
		// exactly 28 columns: one space, no padding
		{"  lsp-get-dhcpv4-options PORTX print it", "lsp-get-dhcpv4-options", "PORTX", "print it"},
	} {
		verb, args, desc, ok := verbLine(c.line)
		if !ok || verb != c.verb || args != c.args || desc != c.desc {
			t.Errorf("%q: got %q %q %q %v, want %q %q %q", c.line, verb, args, desc, ok, c.verb, c.args, c.desc)
		}
	}
	for _, l := range []string{"  --db: a model file", "  OVSDB only: x", "commands joined", "    -bridge string"} {
		if _, _, _, ok := verbLine(l); ok {
			t.Errorf("%q read as a verb", l)
		}
	}
}

func TestVerbsPage(t *testing.T) {
	help := strings.Replace(verbsHelp, "  .dot-verb                    never a verb\n", "", 1)
	page, err := Page{Name: "chainctl", Section: "1", Date: "2026-12-02", Source: "chainwire 1.0", Manual: "chainwire",
		Help: help, Include: ParseInclude("comment\n[NAME]\nchainctl \\- edit\n[OPTIONS]\nmore\n[SEE ALSO]\n.BR chainwired (8)\n")}.Render()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`.TH CHAINCTL 1 "2026-12-02" "chainwire 1.0" "chainwire"`,
		".SH NAME\nchainctl \\- edit\n.SH SYNOPSIS\n.B chainctl\n[\\fB\\-\\-db\\fR \\fIPATH\\fR|\\fIREMOTES\\fR]",
		`[\fB\-\-\fR \fIVERB\fR \fIARGS\fR\&...]`,
		".TP\n\\fB\\-\\-db\\fR\nA model file, or OVSDB remotes\n",
		".PP\nmore\n.SH COMMANDS\n",
		".TP\n\\fBchassis\\-add\\fR \\fICHASSIS\\fR \\fBgeneve\\fR \\fIIP\\fR\nregister a hypervisor and its tunnel IP\n",
		`\fBlb\-add\fR \fILB\fR \fIVIP\fR[:\fIPORT\fR] \fIIP\fR[:\fIPORT\fR],\&... [\fBtcp\fR|\fBudp\fR] [\fB\-\-may\-exist\fR]` + "\nadd a VIP; \\-\\-may\\-exist replaces it\n",
		".SH SEE ALSO\n.BR chainwired (8)\n",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "comment") {
		t.Error("text before the include's first section is a comment, not page text")
	}
	// A verb line the generator cannot split fails the page.
	if _, err := (Page{Name: "chainctl", Help: verbsHelp}).Render(); err == nil || !strings.Contains(err.Error(), ".dot-verb") {
		t.Errorf("an unreadable verb line: %v", err)
	}
}

func TestGoFlagsPage(t *testing.T) {
	help := "Usage of chainwired:\n  -bridge string\n    \tintegration bridge (default br-int)\n  -v\tverbose\n  -ovs-db string\n    \tlocal OVSDB\n    \t(second line)\n"
	page, err := Page{Name: "chainwired", Section: "8", Help: help}.Render()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		".TP\n\\fB\\-\\-bridge\\fR \\fIstring\\fR\nintegration bridge (default br-int)\n",
		".TP\n\\fB\\-\\-v\\fR\nverbose\n",
		".TP\n\\fB\\-\\-ovs\\-db\\fR \\fIstring\\fR\nlocal OVSDB (second line)\n",
		".SH NAME\nchainwired\n",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
}

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		`a\b`:                `a\eb`,
		".starts with a dot": `\&.starts with a dot`,
		"'quote":             `\&'quote`,
		"see --wait and [--log] or bi-directional": `see \-\-wait and [\-\-log] or bi-directional`,
	} {
		if got := escape(in); got != want {
			t.Errorf("escape(%q) = %q, want %q", in, got, want)
		}
	}
}
