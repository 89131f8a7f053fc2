package expr

import "sync"

// Refs is what a match names besides header fields: logical ports
// (inport/outport == "name"), port groups (@name) and address sets
// ($name), each once, in the order they first appear. Refs are shared:
// do not modify them.
type Refs struct {
	Ports, PortGroups, AddressSets []string
}

// References parses a match and lists the names it refers to, without
// looking them up: enough for a validator to check that they exist, and
// for an index to know which matches a change of a port, a group or a set
// concerns, at the cost of a parse, not of a compilation (an address set
// may hold thousands of addresses). Results are memoized by the text.
func References(s string) (*Refs, error) {
	refsMu.Lock()
	r, ok := refsMemo[s]
	refsMu.Unlock()
	if ok {
		return r.refs, r.err
	}
	refs, err := references(s)
	refsMu.Lock()
	if len(refsMemo) >= maxMemo {
		clear(refsMemo)
	}
	refsMemo[s] = memoRefs{refs, err}
	refsMu.Unlock()
	return refs, err
}

type memoRefs struct {
	refs *Refs
	err  error
}

var (
	refsMu   sync.Mutex
	refsMemo = map[string]memoRefs{}
)

func references(s string) (*Refs, error) {
	n, err := parse(s)
	if err != nil {
		return nil, err
	}
	r := &Refs{}
	seen := map[string]bool{}
	add := func(list *[]string, kind, name string) {
		if k := kind + name; !seen[k] {
			seen[k] = true
			*list = append(*list, name)
		}
	}
	var walk func(node)
	walk = func(n node) {
		switch n := n.(type) {
		case andNode:
			for _, k := range n.kids {
				walk(k)
			}
		case orNode:
			for _, k := range n.kids {
				walk(k)
			}
		case notNode:
			walk(n.kid)
		case cmpNode:
			isPort := symbols[n.name].def.kind == kPort
			for _, t := range n.values {
				switch {
				case t.kind == "string" && isPort:
					add(&r.Ports, "\"", t.text)
				case t.kind == "@":
					add(&r.PortGroups, "@", t.text)
				case t.kind == "$":
					add(&r.AddressSets, "$", t.text)
				}
			}
		}
	}
	walk(n)
	return r, nil
}
