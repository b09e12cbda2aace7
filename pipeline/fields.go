package pipeline

import (
	"fmt"
	"sort"

	"github.com/logship/logship/config"
	"github.com/logship/logship/event"
)

// fieldStage shapes the top-level members of an event (see config.Fields):
// include or exclude, parse_message_json, rename, add, by copying the kept
// members' bytes: nothing is decoded but a message to parse. An event it
// would not change is returned as it is, without allocation.
type fieldStage struct {
	include map[string]bool // nil: every field
	exclude map[string]bool
	// parseMessage turns a message holding a JSON object into that object.
	parseMessage bool
	// rename maps a field's name to an index in renames; targets maps a
	// new name to the index of the rename giving it.
	rename  map[string]int
	renames [][]byte // the new names, quoted
	targets map[string]int
	// add is the member `"addKey":{…}` appended to every event; nil: none.
	addKey string
	add    []byte
}

func newFieldStage(c config.Fields) (*fieldStage, error) {
	f := &fieldStage{parseMessage: c.ParseMessageJSON}
	if len(c.Include) > 0 {
		f.include = make(map[string]bool, len(c.Include))
		for _, k := range c.Include {
			f.include[k] = true
		}
	}
	if len(c.Exclude) > 0 {
		f.exclude = make(map[string]bool, len(c.Exclude))
		for _, k := range c.Exclude {
			f.exclude[k] = true
		}
	}
	if len(c.Rename) > config.MaxRenames {
		return nil, fmt.Errorf("pipeline.fields.rename: more than %d renames", config.MaxRenames)
	}
	if len(c.Rename) > 0 {
		f.rename = make(map[string]int, len(c.Rename))
		f.targets = make(map[string]int, len(c.Rename))
		froms := make([]string, 0, len(c.Rename))
		for from := range c.Rename {
			froms = append(froms, from)
		}
		sort.Strings(froms)
		for i, from := range froms {
			to := c.Rename[from]
			f.rename[from] = i
			f.targets[to] = i
			f.renames = append(f.renames, event.AppendString(nil, to))
		}
	}
	if len(c.Add) > 0 {
		f.addKey = c.AddKey
		if f.addKey == "" {
			f.addKey = config.DefaultAddKey
		}
		keys := make([]string, 0, len(c.Add))
		for k := range c.Add {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b := event.AppendString(nil, f.addKey)
		b = append(b, ':', '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = event.AppendString(b, k)
			b = append(b, ':')
			b = event.AppendString(b, c.Add[k])
		}
		f.add = append(b, '}')
	}
	if f.include == nil && f.exclude == nil && !f.parseMessage && f.rename == nil && f.add == nil {
		return nil, nil
	}
	return f, nil
}

// keeps reports whether include and exclude keep the field name.
func (f *fieldStage) keeps(name []byte) bool {
	// map[string(b)] lookups do not allocate.
	if f.include != nil && !f.include[string(name)] {
		return false
	}
	return !f.exclude[string(name)]
}

// apply returns raw shaped. raw is left untouched; when nothing changes,
// raw itself is returned.
func (f *fieldStage) apply(raw []byte) []byte {
	// First pass: what happens to each member, does anything change, and
	// which renamed fields are there (their new names replace the fields
	// already holding them)? The decisions are kept for the second pass,
	// on the stack unless there are very many members.
	var buf [24]fieldPlan
	plan := buf[:0]
	var present uint64
	change := f.add != nil
	for m, i, ok := event.NextMember(raw, 0); ok; m, i, ok = event.NextMember(raw, i) {
		name := keyName(m)
		p := fieldPlan{m: m, rename: -1}
		switch {
		case !f.keeps(name) || f.add != nil && string(name) == f.addKey:
			p.drop = true
			change = true
		case f.rename != nil:
			if j, ok := f.rename[string(name)]; ok {
				p.rename = int8(j)
				present |= 1 << j
				change = true
			} else if j, ok := f.targets[string(name)]; ok {
				p.target = int8(j) + 1
			}
		}
		if f.parseMessage && !p.drop && string(name) == "message" && looksLikeObject(m.Value) {
			p.parse = true
			change = true
		}
		plan = append(plan, p)
	}
	if !change {
		return raw
	}
	out := make([]byte, 0, len(raw)+len(f.add)+2)
	out = append(out, '{')
	for _, p := range plan {
		if p.drop || p.target > 0 && present&(1<<(p.target-1)) != 0 {
			continue // removed, or replaced by the field renamed to its name
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		if p.rename >= 0 {
			out = append(out, f.renames[p.rename]...)
		} else {
			out = append(out, p.m.Key...)
		}
		out = append(out, ':')
		if p.parse {
			out = appendMessageJSON(out, p.m.Value)
		} else {
			out = append(out, p.m.Value...)
		}
	}
	if f.add != nil {
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, f.add...)
	}
	return append(out, '}')
}

// fieldPlan is what fieldStage.apply does with one member.
type fieldPlan struct {
	m    event.Member
	drop bool // removed (include, exclude, or the add key)
	// rename is the index of the member's new name (-1: none); target is
	// 1 + the index of the rename whose new name the member holds (0: none).
	rename, target int8
	parse          bool // a message to parse
}

// looksLikeObject reports whether the JSON string v starts, after white
// space (raw or escaped), with '{': a message worth parsing.
func looksLikeObject(v []byte) bool {
	if len(v) < 2 || v[0] != '"' {
		return false
	}
	for i := 1; i < len(v)-1; i++ {
		switch v[i] {
		case ' ':
		case '\\':
			if i+1 < len(v) && (v[i+1] == 'n' || v[i+1] == 'r' || v[i+1] == 't') {
				i++
				continue
			}
			return false
		case '{':
			return true
		default:
			return false
		}
	}
	return false
}

// appendMessageJSON appends the message value v: the JSON object its text
// holds, on one line, when it holds exactly one; else v as it is.
func appendMessageJSON(out, v []byte) []byte {
	if !looksLikeObject(v) {
		return append(out, v...)
	}
	start := len(out)
	out = event.AppendUnescaped(out, v)
	if event.ScanObject(out[start:], nil) != nil {
		return append(out[:start], v...)
	}
	return compactJSON(out, start)
}

// compactJSON removes the white space between the tokens of the valid JSON
// text out[start:], in place, and returns out shortened.
func compactJSON(out []byte, start int) []byte {
	w, inString := start, false
	for r := start; r < len(out); r++ {
		c := out[r]
		switch {
		case inString:
			if c == '\\' {
				out[w] = c
				w++
				r++
				c = out[r]
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		}
		out[w] = c
		w++
	}
	return out[:w]
}
