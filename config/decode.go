package config

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// decoder decodes a yaml.Node tree into Go values by reflection, strictly:
// every key must be a field (by its yaml tag; `inline` structs are
// flattened), each value must fit its field's type, and every problem is
// collected with its key path (yaml.v3's own errors name lines, not keys).
// Environment references in scalar values are expanded as each value is
// decoded (see expandNode), so that an unset variable is named at its key.
//
// A null value (`key:` or `key: ~`) leaves the field as it was (its
// default). Lists and maps given in the file replace their default whole.
type decoder struct {
	probs Problems
	// env looks variables up; nil: values are taken as written.
	env func(string) (string, bool)
	// sinks are the sink types, to decode each `sinks[]` entry's own keys.
	sinks []SinkFactory
	// merging holds the mappings being merged, to stop at a cycle.
	merging map[*yaml.Node]bool
	visits  int
}

// maxVisits bounds the work of one decode: aliases can make a small
// document a huge tree ("billion laughs").
const maxVisits = 100_000

// nodeDecoder is implemented by the types that decode their own node,
// with the decoder's strictness and problems.
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path string)
}

// prefiller is implemented by the types whose new list elements start
// from their defaults before the file's keys are decoded over them.
type prefiller interface{ prefill() }

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
)

// tick counts one unit of work; it reports false once the budget is spent
// (after one problem saying so).
func (d *decoder) tick(path string) bool {
	d.visits++
	if d.visits == maxVisits+1 {
		d.probs.add(path, "document too large (too many nodes, or aliases expanding too much)")
	}
	return d.visits <= maxVisits
}

// expand returns scalar n with its environment references replaced,
// adding a problem at path for each unset variable and malformed reference.
func (d *decoder) expand(n *yaml.Node, path string) *yaml.Node {
	if d.env == nil {
		return n
	}
	out, unset, malformed := expandNode(n, d.env)
	for _, name := range unset {
		d.probs.add(path, "environment variable "+name+" is not set")
	}
	if malformed {
		d.probs.add(path, "malformed ${…} reference (use ${NAME}, ${NAME:-default}, or $$ for a literal $)")
	}
	return out
}

// decodeDocument decodes a parsed document into c. It reports false when
// the document is not a mapping at all (nothing else is worth checking).
func (d *decoder) decodeDocument(root *yaml.Node, c *Config) bool {
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return true
		}
		root = root.Content[0]
	}
	root = resolveAlias(root)
	if root == nil || root.Kind == 0 || isNull(root) {
		return true
	}
	if root.Kind != yaml.MappingNode {
		d.probs.add("", "the configuration must be a mapping of keys (api, sources, sinks, …)")
		return false
	}
	d.decode(root, reflect.ValueOf(c).Elem(), "")
	return true
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if !d.tick(path) {
		return
	}
	if n = resolveAlias(n); n == nil {
		return
	}
	n = d.expand(n, path)
	if isNull(n) {
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		if err := v.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(n); err != nil {
			d.probs.add(path, err.Error())
		}
		return
	}
	if v.CanAddr() {
		if nd, ok := v.Addr().Interface().(nodeDecoder); ok {
			nd.decodeNode(d, n, path)
			return
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.probs.add(path, "not a valid value")
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	default:
		d.decodeScalar(n, v, path)
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.probs.add(path, "must be a mapping")
		return
	}
	fs := fieldsOf(v.Type())
	pairs := d.pairs(n, path)
	var files []pair
	for _, p := range pairs {
		kp := joinKey(path, p.key)
		f, ok := fs.byKey[p.key]
		if !ok {
			if _, ok := secretFileField(fs, v.Type(), p.key); ok {
				files = append(files, p)
				continue
			}
			d.probs.add(kp, unknownKey(p.key, fs.keys))
			continue
		}
		d.decode(p.value, v.FieldByIndex(f), kp)
	}
	d.decodeSecretFiles(files, pairs, fs, v, path)
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	et := v.Type().Elem()
	if n.Kind == yaml.ScalarNode && isScalarKind(et) {
		// A single value where a list of values is expected: a list of one.
		n = &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{n}}
	}
	if n.Kind != yaml.SequenceNode {
		d.probs.add(path, "must be a list")
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, c := range n.Content {
		e := s.Index(i)
		if p, ok := e.Addr().Interface().(prefiller); ok {
			p.prefill()
		}
		d.decode(c, e, fmt.Sprintf("%s[%d]", path, i))
	}
	v.Set(s)
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		d.probs.add(path, "unsupported setting type (map keys must be strings)")
		return
	}
	if n.Kind != yaml.MappingNode {
		d.probs.add(path, "must be a mapping")
		return
	}
	m := reflect.MakeMap(t)
	for _, p := range d.pairs(n, path) {
		e := reflect.New(t.Elem()).Elem()
		d.decode(p.value, e, joinKey(path, p.key))
		m.SetMapIndex(reflect.ValueOf(p.key).Convert(t.Key()), e)
	}
	v.Set(m)
}

// pair is one key of a mapping and its value.
type pair struct {
	key   string
	line  int
	value *yaml.Node
}

// pairs returns the keys of a mapping in order, with those of merged
// mappings (`<<: *anchor`) that the mapping does not set itself; duplicate
// and non-string keys are problems.
func (d *decoder) pairs(n *yaml.Node, path string) []pair {
	var out []pair
	index := map[string]int{}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !d.tick(path) {
			return out
		}
		k, val := resolveAlias(n.Content[i]), n.Content[i+1]
		if k == nil {
			continue
		}
		if isMerge(k) {
			merges = append(merges, val)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.probs.add(path, fmt.Sprintf("line %d: a key must be a string", k.Line))
			continue
		}
		kp := joinKey(path, k.Value)
		if j, dup := index[k.Value]; dup {
			d.probs.add(kp, fmt.Sprintf("duplicate key (first at line %d)", out[j].line))
			continue
		}
		index[k.Value] = len(out)
		out = append(out, pair{key: k.Value, line: k.Line, value: val})
	}
	// In a list of merged mappings, the first one that sets a key wins.
	for _, m := range merges {
		for _, mm := range d.mergeSources(m, path) {
			if d.merging[mm] {
				d.probs.add(joinKey(path, "<<"), "merges a mapping into itself")
				continue
			}
			if d.merging == nil {
				d.merging = map[*yaml.Node]bool{}
			}
			d.merging[mm] = true
			for _, p := range d.pairs(mm, path) {
				if _, ok := index[p.key]; !ok {
					index[p.key] = len(out)
					out = append(out, p)
				}
			}
			delete(d.merging, mm)
		}
	}
	return out
}

// mergeSources returns the mappings of a merge key's value.
func (d *decoder) mergeSources(m *yaml.Node, path string) []*yaml.Node {
	m = resolveAlias(m)
	if m != nil && m.Kind == yaml.MappingNode {
		return []*yaml.Node{m}
	}
	var out []*yaml.Node
	if m != nil && m.Kind == yaml.SequenceNode {
		for _, c := range m.Content {
			if c = resolveAlias(c); c == nil || c.Kind != yaml.MappingNode {
				out = nil
				break
			}
			out = append(out, c)
		}
		if out != nil {
			return out
		}
	}
	d.probs.add(joinKey(path, "<<"), "must be a mapping or a list of mappings")
	return nil
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.probs.add(path, "must be "+describe(v.Type()))
		return
	}
	s := n.Value
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		switch strings.ToLower(s) {
		case "true", "yes", "on":
			v.SetBool(true)
		case "false", "no", "off":
			v.SetBool(false)
		default:
			d.probs.add(path, "must be true or false")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, ok := parsePlainInt(s)
		switch {
		case !ok:
			d.probs.add(path, "must be an integer")
		case v.OverflowInt(i):
			d.probs.add(path, "out of range")
		default:
			v.SetInt(i)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		i, ok := parsePlainInt(s)
		switch {
		case !ok:
			d.probs.add(path, "must be an integer")
		case i < 0:
			d.probs.add(path, "must not be negative")
		case v.OverflowUint(uint64(i)):
			d.probs.add(path, "out of range")
		default:
			v.SetUint(uint64(i))
		}
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			d.probs.add(path, "must be a number")
			return
		}
		v.SetFloat(f)
	default:
		d.probs.add(path, "unsupported setting type")
	}
}

// describe names what a value of type t is written as, after "must be".
func describe(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "a list"
	default:
		return "a mapping"
	}
}

func isScalarKind(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Struct, reflect.Map, reflect.Slice, reflect.Array, reflect.Interface, reflect.Pointer:
		return false
	}
	return true
}

// resolveAlias follows alias nodes (nil when an alias leads nowhere).
func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > 64 {
			return nil
		}
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func isMerge(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Value == "<<" && (n.Tag == "" || n.Tag == "!" || n.ShortTag() == "!!merge")
}

// fieldSet is the keys of a struct type.
type fieldSet struct {
	byKey map[string][]int // key → field index (through inline structs)
	keys  []string         // in declaration order
}

var fieldSets sync.Map // reflect.Type → *fieldSet

// fieldsOf returns the keys of struct type t: each exported field's yaml
// tag name (or its lower-cased name), skipping `-`, flattening `inline`
// structs (embedded ones too).
func fieldsOf(t reflect.Type) *fieldSet {
	if fs, ok := fieldSets.Load(t); ok {
		return fs.(*fieldSet)
	}
	fs := &fieldSet{byKey: map[string][]int{}}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		inline := slices.Contains(strings.Split(opts, ","), "inline") && f.Type.Kind() == reflect.Struct
		if tag == "-" || !f.IsExported() && !(f.Anonymous && inline) {
			continue
		}
		if inline {
			for _, k := range fieldsOf(f.Type).keys {
				fs.byKey[k] = append([]int{i}, fieldsOf(f.Type).byKey[k]...)
				fs.keys = append(fs.keys, k)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fs.byKey[name] = []int{i}
		fs.keys = append(fs.keys, name)
	}
	fieldSets.Store(t, fs)
	return fs
}

// unknownKey is the message for an unknown key, with a suggestion when a
// known key is spelled nearly the same.
func unknownKey(key string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if dist := editDistance(key, k); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	if best == "" || len(key) <= 4 && bestDist > 1 {
		return "unknown key"
	}
	return "unknown key (did you mean " + best + "?)"
}

// editDistance is the optimal string alignment distance of two short
// strings: insertions, deletions, substitutions and transpositions of
// adjacent characters count one each.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
