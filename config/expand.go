package config

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// expansion is one `${NAME…}` reference replaced by expand.
type expansion struct {
	name  string
	value string // what replaced the reference
	unset bool   // the variable is unset and the reference has no default
	// line and col (1-based, col in characters) are where the replacement
	// starts in the expanded text, to find the key it feeds.
	line, col int
}

// expand replaces environment references in a YAML text, before it is
// parsed:
//
//   - `${NAME}` is the variable's value (an unset variable is a problem;
//     one set to the empty string is fine);
//   - `${NAME:-default}` is the value, or default when unset or empty;
//   - `${NAME-default}` is the value, or default when unset;
//   - `$$` is a literal `$`; any other `$` is kept as is.
//
// A default may itself hold references (`${A:-${B}}`); a reference does not
// span lines. NAME is letters, digits and `_`, not starting with a digit.
// References inside YAML comments are left alone, so that a commented-out
// line never fails the load.
//
// Unset variables are replaced by "" and listed in the returned expansions
// (unset true), so that the caller can name the key they feed; malformed
// references are returned as problems, which name the line but never the
// text (it might be a credential).
func expand(src []byte, env func(string) (string, bool)) ([]byte, []expansion, Problems) {
	x := expander{env: env, out: make([]byte, 0, len(src)+len(src)/8), line: 1, col: 1, block: -1}
	for len(src) > 0 {
		end := bytes.IndexByte(src, '\n') + 1
		if end == 0 {
			end = len(src)
		}
		x.scanLine(src[:end])
		src = src[end:]
		x.srcLine++
	}
	return x.out, x.exps, x.probs
}

// expander is the state of expand: a small YAML lexer that knows just
// enough to find comments (outside quoted and block scalars).
type expander struct {
	env   func(string) (string, bool)
	out   []byte
	exps  []expansion
	probs Problems

	srcLine   int // 0-based line of the source text being scanned
	line, col int // position of the end of out

	quote       byte // '"' or '\'' inside a quoted scalar
	block       int  // indentation of the line that opened a block scalar, or -1
	flow        int  // depth of flow collections ([ and {)
	expectValue bool // the next non-blank character starts a node
}

func (x *expander) write(b []byte) {
	x.out = append(x.out, b...)
	for _, c := range b {
		switch {
		case c == '\n':
			x.line++
			x.col = 1
		case utf8.RuneStart(c):
			x.col++
		}
	}
}

func (x *expander) problem(msg string) {
	x.probs = append(x.probs, Problem{Message: fmt.Sprintf("line %d: %s", x.srcLine+1, msg)})
}

func (x *expander) scanLine(ln []byte) {
	indent := 0
	for indent < len(ln) && ln[indent] == ' ' {
		indent++
	}
	blank := len(bytes.TrimSpace(ln)) == 0
	if x.block >= 0 {
		if blank || indent > x.block {
			// Block scalar content: no comments in there.
			x.expandAll(ln)
			return
		}
		x.block = -1
	}
	if x.quote == 0 {
		x.expectValue = true
	}
	for i := 0; i < len(ln); {
		c := ln[i]
		if c == '$' {
			if x.quote == 0 {
				x.plain(ln, i, indent)
			}
			i += x.dollar(ln[i:])
			continue
		}
		switch x.quote {
		case '"':
			if c == '\\' && i+1 < len(ln) {
				x.write(ln[i : i+2])
				i += 2
				continue
			}
			if c == '"' {
				x.quote = 0
			}
		case '\'':
			if c == '\'' {
				if i+1 < len(ln) && ln[i+1] == '\'' {
					x.write(ln[i : i+2])
					i += 2
					continue
				}
				x.quote = 0
			}
		default:
			if c == '#' && (i == 0 || ln[i-1] == ' ' || ln[i-1] == '\t') {
				x.write(ln[i:]) // a comment, to the end of the line
				return
			}
			x.plain(ln, i, indent)
		}
		x.write(ln[i : i+1])
		i++
	}
}

// plain updates the lexer state for ln[i], outside quoted scalars.
func (x *expander) plain(ln []byte, i, indent int) {
	c := ln[i]
	spaceAfter := i+1 >= len(ln) || ln[i+1] == ' ' || ln[i+1] == '\t' || ln[i+1] == '\r' || ln[i+1] == '\n'
	switch {
	case c == ' ' || c == '\t' || c == '\r' || c == '\n':
	case x.expectValue && (c == '"' || c == '\''):
		x.quote = c
		x.expectValue = false
	case x.expectValue && (c == '-' || c == '?') && spaceAfter:
	case x.expectValue && (c == '|' || c == '>') && isBlockHeader(ln[i+1:]):
		x.block = indent
		x.expectValue = false
	case c == '[' || c == '{':
		if x.expectValue {
			x.flow++
		}
	case x.flow > 0 && (c == ']' || c == '}'):
		x.flow--
	case x.flow > 0 && c == ',':
		x.expectValue = true
	case c == ':' && (spaceAfter || x.flow > 0 && i+1 < len(ln) && strings.IndexByte(",]}", ln[i+1]) >= 0):
		x.expectValue = true
	case x.expectValue && (c == '&' || c == '!'):
		// An anchor or a tag: the node comes after it.
	default:
		if x.expectValue && (i == 0 || ln[i-1] == ' ' || ln[i-1] == '\t' || strings.IndexByte("[{,", ln[i-1]) >= 0) {
			x.expectValue = false
		}
	}
}

// isBlockHeader reports whether rest (after `|` or `>`) completes a block
// scalar header: chomping and indentation indicators, then blanks or a
// comment.
func isBlockHeader(rest []byte) bool {
	i := 0
	for i < len(rest) && (rest[i] == '-' || rest[i] == '+' || rest[i] >= '1' && rest[i] <= '9') {
		i++
	}
	t := bytes.TrimLeft(rest[i:], " \t")
	return len(t) == 0 || t[0] == '#' || t[0] == '\r' || t[0] == '\n'
}

// expandAll copies ln, replacing references, with no comment detection.
func (x *expander) expandAll(ln []byte) {
	for i := 0; i < len(ln); {
		if ln[i] == '$' {
			i += x.dollar(ln[i:])
			continue
		}
		x.write(ln[i : i+1])
		i++
	}
}

// dollar handles the `$` at s[0] and returns how many bytes it consumed.
func (x *expander) dollar(s []byte) int {
	if len(s) < 2 || (s[1] != '$' && s[1] != '{') {
		x.write(s[:1])
		return 1
	}
	if s[1] == '$' {
		x.write(s[:1])
		return 2
	}
	ref, n, ok := parseRef(s)
	if !ok {
		x.problem("malformed ${…} reference (use ${NAME}, ${NAME:-default}, or $$ for a literal $)")
		x.write(s[:1])
		return 1
	}
	line, col := x.line, x.col
	val, unset := x.resolve(ref, line, col)
	for _, name := range unset {
		x.exps = append(x.exps, expansion{name: name, unset: true, line: line, col: col})
	}
	if len(unset) == 0 || unset[0] != ref.name {
		x.exps = append(x.exps, expansion{name: ref.name, value: val, line: line, col: col})
	}
	x.write([]byte(val))
	return n
}

// ref is a parsed `${NAME…}` reference.
type ref struct {
	name string
	op   string // "", ":-" or "-"
	def  []byte // unexpanded default
}

// parseRef parses the reference at the start of s (which starts with
// "${"), returning it and its length.
func parseRef(s []byte) (ref, int, bool) {
	var r ref
	i := 2
	for i < len(s) && isNameByte(s[i], i == 2) {
		i++
	}
	if i == 2 {
		return r, 0, false
	}
	r.name = string(s[2:i])
	switch {
	case i < len(s) && s[i] == '}':
		return r, i + 1, true
	case i+1 < len(s) && s[i] == ':' && s[i+1] == '-':
		r.op = ":-"
		i += 2
	case i < len(s) && s[i] == '-':
		r.op = "-"
		i++
	default:
		return r, 0, false
	}
	start, depth := i, 0
	for ; i < len(s) && s[i] != '\n'; i++ {
		switch {
		case s[i] == '$' && i+1 < len(s) && (s[i+1] == '{' || s[i+1] == '$'):
			if s[i+1] == '{' {
				depth++
			}
			i++
		case s[i] == '}' && depth > 0:
			depth--
		case s[i] == '}':
			r.def = s[start:i]
			return r, i + 1, true
		}
	}
	return r, 0, false
}

func isNameByte(c byte, first bool) bool {
	return c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || !first && c >= '0' && c <= '9'
}

// resolve returns a reference's value and the names of the unset
// variables it needs (the reference's own, or those of its default); line
// and col are where the reference starts in the output.
func (x *expander) resolve(r ref, line, col int) (string, []string) {
	v, ok := x.env(r.name)
	switch {
	case r.op == "" && !ok:
		return "", []string{r.name}
	case r.op == "", r.op == ":-" && v != "", r.op == "-" && ok:
		return v, nil
	}
	// The default, expanded in turn (without comment detection).
	sub := expander{env: x.env, line: 1, col: 1, block: -1, srcLine: x.srcLine}
	sub.expandAll(r.def)
	x.probs = append(x.probs, sub.probs...)
	var unset []string
	for _, e := range sub.exps {
		if e.unset {
			unset = append(unset, e.name)
			continue
		}
		x.exps = append(x.exps, expansion{name: e.name, value: e.value, line: line, col: col})
	}
	return string(sub.out), unset
}
