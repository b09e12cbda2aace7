package config

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// Environment references are expanded after the YAML is parsed, inside
// scalar values only (as OpenTelemetry Collector's confmap and Docker
// Compose do): whatever a variable holds, it can never add, remove or cut a
// key, and keys themselves are never expanded.
//
//   - `${NAME}` is the variable's value (an unset variable is a problem at
//     the key path; one set to the empty string is fine);
//   - `${NAME:-default}` is the value, or default when unset or empty;
//   - `${NAME-default}` is the value, or default when unset;
//   - `$$` is a literal `$` (so `$${NAME}` is the text `${NAME}`); any other
//     `$` is kept as is.
//
// A default may itself hold references (`${A:-${B}}`); a reference does not
// span lines; a variable's value is never expanded in turn. NAME is
// letters, digits and `_`, not starting with a digit.
//
// A plain (unquoted) scalar that expands to nothing is null, as if the key
// had no value: the key keeps its default. A quoted one is the empty
// string.

// expandNode returns n with the references of its value replaced, or n
// itself when it holds none. n is not modified (an anchored node may be
// decoded at several paths). unset lists the variables that are unset and
// have no default; malformed reports a reference that is not of the forms
// above.
func expandNode(n *yaml.Node, env func(string) (string, bool)) (out *yaml.Node, unset []string, malformed bool) {
	if n.Kind != yaml.ScalarNode || !strings.Contains(n.Value, "$") || n.Tag != "!!str" && n.ShortTag() != "!!str" {
		return n, nil, false
	}
	val, unset, malformed := expandString(n.Value, env)
	c := *n
	c.Value = val
	c.Tag = "!!str"
	if val == "" && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
		c.Tag = "!!null"
	}
	return &c, unset, malformed
}

// expandString replaces the references in s.
func expandString(s string, env func(string) (string, bool)) (out string, unset []string, malformed bool) {
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '$' || i+1 >= len(s) || s[i+1] != '$' && s[i+1] != '{' {
			b.WriteByte(s[i])
			i++
			continue
		}
		if s[i+1] == '$' {
			b.WriteByte('$')
			i += 2
			continue
		}
		r, n, ok := parseRef(s[i:])
		if !ok {
			malformed = true
			b.WriteByte('$')
			i++
			continue
		}
		v, u, m := r.resolve(env)
		b.WriteString(v)
		unset = append(unset, u...)
		malformed = malformed || m
		i += n
	}
	return b.String(), unset, malformed
}

// ref is a parsed `${NAME…}` reference.
type ref struct {
	name string
	op   string // "", ":-" or "-"
	def  string // unexpanded default
}

// resolve returns a reference's value, the unset variables it needs (its
// own, or those of its default) and whether its default is malformed.
func (r ref) resolve(env func(string) (string, bool)) (string, []string, bool) {
	v, ok := env(r.name)
	switch {
	case r.op == "" && !ok:
		return "", []string{r.name}, false
	case r.op == "", r.op == ":-" && v != "", r.op == "-" && ok:
		return v, nil, false
	}
	return expandString(r.def, env)
}

// parseRef parses the reference at the start of s (which starts with
// "${"), returning it and its length.
func parseRef(s string) (ref, int, bool) {
	var r ref
	i := 2
	for i < len(s) && isNameByte(s[i], i == 2) {
		i++
	}
	if i == 2 {
		return r, 0, false
	}
	r.name = s[2:i]
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
