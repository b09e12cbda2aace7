package config

import (
	"slices"
	"strings"
)

// Problem is one thing wrong with a configuration, at a key path such as
// "sinks[1].url" (empty when the problem has no key, such as a YAML syntax
// error). Messages never hold a value of the configuration: they may be
// credentials.
type Problem struct {
	Path    string
	Message string
}

// String returns "path: message", or the message alone when Path is empty.
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Error implements error, as String.
func (p Problem) Error() string { return p.String() }

// Problems is every problem found in a configuration, in the order of the
// file where that is known. It is the error that Load, Parse and Validate
// return (never empty when returned as an error).
type Problems []Problem

// Error returns one problem per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// err returns ps as an error, or nil when empty.
func (ps Problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// add appends a problem at path.
func (ps *Problems) add(path, msg string) {
	*ps = append(*ps, Problem{Path: path, Message: msg})
}

// covers reports whether a problem at path p makes one at q redundant: q
// is p or a key under p. A problem at a secret's `K_file` (a file that
// cannot be read) covers K too: its "required" follows from the file.
func covers(p, q string) bool {
	if p == "" {
		return false
	}
	if base, ok := strings.CutSuffix(p, secretFileSuffix); ok && base != "" && covers(base, q) {
		return true
	}
	return q == p || strings.HasPrefix(q, p+".") || strings.HasPrefix(q, p+"[")
}

// without returns the problems of ps that no problem of seen covers.
func (ps Problems) without(seen Problems) Problems {
	var out Problems
	for _, q := range ps {
		redundant := false
		for _, p := range seen {
			if covers(p.Path, q.Path) {
				redundant = true
				break
			}
		}
		if !redundant {
			out = append(out, q)
		}
	}
	return out
}

// scrub replaces every occurrence of the given values (credentials) in ps.
// Values shorter than 4 bytes are left: they cannot be told apart from
// ordinary words.
func (ps Problems) scrub(values []string) {
	values = slices.Clone(values)
	// Longest first, so that a value holding another is replaced whole.
	slices.SortFunc(values, func(a, b string) int { return len(b) - len(a) })
	for i := range ps {
		for _, v := range values {
			if len(v) < 4 {
				continue
			}
			ps[i].Path = strings.ReplaceAll(ps[i].Path, v, redacted)
			ps[i].Message = strings.ReplaceAll(ps[i].Message, v, redacted)
		}
	}
}

// joinKey returns the path of key under path.
func joinKey(path, key string) string {
	if key == "" {
		return path
	}
	if path == "" {
		return key
	}
	return path + "." + key
}
