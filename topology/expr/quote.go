package expr

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// MaxQuoted is how much of a value an error message echoes.
const MaxQuoted = 64

// Quote is how every chainwire error message echoes a value it was
// given: Go-quoted, and cut to MaxQuoted bytes with its length told, so
// that a huge value never makes a huge log line ("aaaa…" (50000000 bytes)).
func Quote(s string) string {
	if len(s) <= MaxQuoted {
		return strconv.Quote(s)
	}
	cut := MaxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	q := strconv.Quote(s[:cut])
	return fmt.Sprintf("%s…\" (%d bytes)", q[:len(q)-1], len(s))
}
