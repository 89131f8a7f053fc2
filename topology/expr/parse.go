package expr

import (
	"fmt"
	"strings"
	"unicode"
)

// SyntaxError says where an expression stops making sense.
type SyntaxError struct {
	Col int // 1-based column
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("column %d: %s", e.Col, e.Msg) }

func errAt(col int, format string, args ...any) *SyntaxError {
	return &SyntaxError{col, fmt.Sprintf(format, args...)}
}

// node is the parsed expression.
type node interface{}

type andNode struct{ kids []node }
type orNode struct{ kids []node }
type notNode struct{ kid node }

// predNode is a bare symbol such as ip4, tcp or ct.new.
type predNode struct {
	name string
	col  int
}

// cmpNode is symbol OP value or symbol OP {set}.
type cmpNode struct {
	name   string
	op     string
	values []token
	col    int
}

type token struct {
	kind string // "ident", "value", "string", "@", "$", "op", "(", ")", "{", "}", ",", "!", "&&", "||", "eof"
	text string // for "string", "@" and "$": the name alone
	col  int
}

// maxDepth bounds the nesting of parentheses and negations, so that no
// input can exhaust the stack.
const maxDepth = 128

func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		col := i + 1
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case strings.HasPrefix(s[i:], "&&"), strings.HasPrefix(s[i:], "||"):
			toks = append(toks, token{s[i : i+2], s[i : i+2], col})
			i += 2
		case strings.HasPrefix(s[i:], "=="), strings.HasPrefix(s[i:], "!="),
			strings.HasPrefix(s[i:], "<="), strings.HasPrefix(s[i:], ">="):
			toks = append(toks, token{"op", s[i : i+2], col})
			i += 2
		case c == '<' || c == '>':
			toks = append(toks, token{"op", string(c), col})
			i++
		case c == '!':
			toks = append(toks, token{"!", "!", col})
			i++
		case strings.ContainsRune("(){},", rune(c)):
			toks = append(toks, token{string(c), string(c), col})
			i++
		case c == '"':
			text, n, err := lexString(s[i:], col)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{"string", text, col})
			i += n
		case c == '@' || c == '$':
			j := i + 1
			for j < len(s) && isWordChar(rune(s[j])) {
				j++
			}
			if j == i+1 {
				return nil, errAt(col, "%q needs a name after it", c)
			}
			toks = append(toks, token{string(c), s[i+1 : j], col})
			i = j
		case isWordChar(rune(c)):
			j := i
			for j < len(s) && isWordChar(rune(s[j])) {
				j++
			}
			w := s[i:j]
			kind := "value"
			if unicode.IsLetter(rune(w[0])) && !looksLikeAddress(w) {
				kind = "ident"
			}
			toks = append(toks, token{kind, w, col})
			i = j
		default:
			return nil, errAt(col, "unexpected character %s", Quote(s[i:i+1]))
		}
	}
	return append(toks, token{"eof", "", len(s) + 1}), nil
}

// lexString reads a double-quoted string with backslash escapes of " and
// \; it returns the string and the bytes it took.
func lexString(s string, col int) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			if i+1 < len(s) {
				i++
			}
		}
		b.WriteByte(s[i])
	}
	return "", 0, errAt(col, "the string that starts here has no closing '\"'")
}

func isWordChar(r rune) bool {
	return r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._:/-", r))
}

// looksLikeAddress tells a MAC or IPv6 address that starts with a letter
// (ab:cd:...) from a field name.
func looksLikeAddress(w string) bool { return strings.Contains(w, ":") }

type parser struct {
	toks  []token
	pos   int
	depth int
}

func (p *parser) peek() token { return p.toks[p.pos] }
func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != "eof" {
		p.pos++
	}
	return t
}

func parse(s string) (node, error) {
	if strings.TrimSpace(s) == "" {
		return andNode{}, nil // matches everything
	}
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != "eof" {
		return nil, errAt(t.col, "unexpected %s (expected && or || or the end)", t.show())
	}
	return n, nil
}

// show is a token as an error message quotes it.
func (t token) show() string {
	switch t.kind {
	case "string":
		return Quote(`"` + t.text + `"`)
	case "@", "$":
		return Quote(t.kind + t.text)
	}
	return Quote(t.text)
}

func (p *parser) or() (node, error) {
	n, err := p.and()
	if err != nil {
		return nil, err
	}
	kids := []node{n}
	for p.peek().kind == "||" {
		p.next()
		k, err := p.and()
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	if len(kids) == 1 {
		return n, nil
	}
	return orNode{kids}, nil
}

func (p *parser) and() (node, error) {
	n, err := p.unary()
	if err != nil {
		return nil, err
	}
	kids := []node{n}
	for p.peek().kind == "&&" {
		p.next()
		k, err := p.unary()
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	if len(kids) == 1 {
		return n, nil
	}
	return andNode{kids}, nil
}

func (p *parser) unary() (node, error) {
	t := p.next()
	if t.kind == "!" || t.kind == "(" {
		if p.depth++; p.depth > maxDepth {
			return nil, errAt(t.col, "parentheses and negations nest deeper than %d", maxDepth)
		}
		defer func() { p.depth-- }()
	}
	switch t.kind {
	case "!":
		k, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notNode{k}, nil
	case "(":
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != ")" {
			return nil, errAt(c.col, "expected ')' to close the '(' at column %d", t.col)
		}
		return n, nil
	case "ident":
		sym, known := symbols[t.text]
		if op := p.peek(); op.kind == "op" {
			p.next()
			vals, err := p.values(op)
			if err != nil {
				return nil, err
			}
			if !known || sym.def == nil {
				if known {
					return nil, errAt(t.col, "%s is a predicate, not a field: it takes no comparison", Quote(t.text))
				}
				return nil, errAt(t.col, "unknown field %s", Quote(t.text))
			}
			return cmpNode{name: t.text, op: op.text, values: vals, col: t.col}, nil
		}
		if !known {
			return nil, errAt(t.col, "unknown symbol %s", Quote(t.text))
		}
		if !sym.boolean() {
			return nil, errAt(p.peek().col, "field %s needs a comparison (==, !=, <, <=, >, >=)", Quote(t.text))
		}
		return predNode{t.text, t.col}, nil
	case "eof":
		return nil, errAt(t.col, "unexpected end of expression")
	}
	return nil, errAt(t.col, "unexpected %s", t.show())
}

func isValue(t token) bool {
	switch t.kind {
	case "value", "ident", "string", "@", "$":
		return true
	}
	return false
}

// values reads one value or a {set} after a comparison operator.
func (p *parser) values(op token) ([]token, error) {
	t := p.next()
	if isValue(t) {
		return []token{t}, nil
	}
	if t.kind != "{" {
		return nil, errAt(t.col, "expected a value after %q", op.text)
	}
	var vals []token
	for {
		v := p.next()
		if !isValue(v) {
			return nil, errAt(v.col, "expected a value in the set")
		}
		vals = append(vals, v)
		switch sep := p.next(); sep.kind {
		case ",":
			continue
		case "}":
			return vals, nil
		default:
			return nil, errAt(sep.col, "expected ',' or '}' in the set")
		}
	}
}
