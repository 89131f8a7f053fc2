// Package expr parses OVN-style match expressions (ovn-sb(5), Logical_Flow
// match) and compiles them into disjunctions of field constraints that map
// one to one onto OpenFlow matches.
//
//	ip4 && tcp.dst == 80
//	ip4.src == 10.0.0.0/24 && !(udp.dst == {53, 123})
//	tcp.dst >= 1000 && tcp.dst <= 1999
//
// The empty expression matches everything.
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

// node is the parsed expression.
type node interface{}

type andNode struct{ kids []node }
type orNode struct{ kids []node }
type notNode struct{ kid node }

// predNode is a bare symbol such as ip4 or tcp.
type predNode struct {
	name string
	col  int
}

// cmpNode is field OP value or field OP {set}.
type cmpNode struct {
	field  string
	op     string
	values []token
	col    int
}

type token struct {
	kind string // "ident", "value", "op", "(", ")", "{", "}", ",", "!", "&&", "||", "eof"
	text string
	col  int
}

func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		col := i + 1
		switch {
		case c == ' ' || c == '\t':
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
			return nil, &SyntaxError{col, fmt.Sprintf("unexpected character %q", c)}
		}
	}
	return append(toks, token{"eof", "", len(s) + 1}), nil
}

func isWordChar(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._:/-", r)
}

// looksLikeAddress tells a MAC or IPv6 address that starts with a letter
// (ab:cd:...) from a field name.
func looksLikeAddress(w string) bool { return strings.Contains(w, ":") }

type parser struct {
	toks []token
	pos  int
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
		return nil, &SyntaxError{t.col, fmt.Sprintf("unexpected %q (expected && or || or the end)", t.text)}
	}
	return n, nil
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
			return nil, &SyntaxError{c.col, fmt.Sprintf("expected ')' to close the '(' at column %d", t.col)}
		}
		return n, nil
	case "ident":
		if op := p.peek(); op.kind == "op" {
			p.next()
			vals, err := p.values(op)
			if err != nil {
				return nil, err
			}
			if _, ok := fields[t.text]; !ok {
				return nil, &SyntaxError{t.col, fmt.Sprintf("unknown field %q", t.text)}
			}
			return cmpNode{field: t.text, op: op.text, values: vals, col: t.col}, nil
		}
		if _, ok := predicates[t.text]; !ok {
			if _, isField := fields[t.text]; isField {
				return nil, &SyntaxError{p.peek().col, fmt.Sprintf("field %q needs a comparison (==, !=, <, <=, >, >=)", t.text)}
			}
			return nil, &SyntaxError{t.col, fmt.Sprintf("unknown symbol %q", t.text)}
		}
		return predNode{t.text, t.col}, nil
	case "eof":
		return nil, &SyntaxError{t.col, "unexpected end of expression"}
	}
	return nil, &SyntaxError{t.col, fmt.Sprintf("unexpected %q", t.text)}
}

// values reads one value or a {set} after a comparison operator.
func (p *parser) values(op token) ([]token, error) {
	t := p.next()
	switch t.kind {
	case "value", "ident":
		return []token{t}, nil
	case "{":
		var vals []token
		for {
			v := p.next()
			if v.kind != "value" && v.kind != "ident" {
				return nil, &SyntaxError{v.col, "expected a value in the set"}
			}
			vals = append(vals, v)
			switch sep := p.next(); sep.kind {
			case ",":
				continue
			case "}":
				return vals, nil
			default:
				return nil, &SyntaxError{sep.col, "expected ',' or '}' in the set"}
			}
		}
	}
	return nil, &SyntaxError{t.col, fmt.Sprintf("expected a value after %q", op.text)}
}
