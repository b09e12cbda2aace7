package main

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/logship/logship/config"
)

// configKeys returns the key paths of the settings of struct type t (its
// yaml tags; `inline` structs flattened, a list of structs written
// `key[].sub`, a map's own keys left to the user), leaves only: a key
// whose value is a mapping of settings is not listed itself. Unexported
// embedded structs (the former spellings of keys, still accepted) are
// left out.
func configKeys(t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if slices.Contains(strings.Split(opts, ","), "inline") {
			out = append(out, configKeys(ft, prefix)...)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		key := prefix + name
		switch {
		case ft.Kind() == reflect.Struct:
			out = append(out, configKeys(ft, key+".")...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			out = append(out, configKeys(ft.Elem(), key+"[].")...)
		default:
			out = append(out, key)
		}
	}
	return out
}

// yamlKeys returns the key paths of a YAML document, lists written
// `key[]`; the keys of each `sinks[]` entry are also listed under
// `sinks[TYPE]`.
func yamlKeys(n *yaml.Node, path string, out map[string]bool) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			yamlKeys(c, path, out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			out[p] = true
			yamlKeys(n.Content[i+1], p, out)
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			yamlKeys(c, path+"[]", out)
			if path == "sinks" && c.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(c.Content); i += 2 {
					if c.Content[i].Value == "type" {
						yamlKeys(c, "sinks["+c.Content[i+1].Value+"]", out)
					}
				}
			}
		}
	}
}

// tableKeys returns the keys a Markdown file documents in its tables: each
// `key` (in backquotes, dotted paths allowed) in the first cell of a row.
func tableKeys(t *testing.T, file string) map[string]bool {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	code := regexp.MustCompile("`([a-z0-9_.\\[\\]]+)`")
	out := map[string]bool{}
	for line := range strings.SplitSeq(string(data), "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		first, _, _ := strings.Cut(line[2:], " |")
		for _, m := range code.FindAllStringSubmatch(first, -1) {
			out[m[1]] = true
		}
	}
	return out
}

// TestConfigKeysDocumented keeps deploy/examples/full.yaml and the docs in
// step with the configuration structs: every key of the common
// configuration and of each sink type's Config is set in full.yaml (a sink
// type's keys in an entry of that type), has a row in a key table (the
// common keys in README.md, a sink's own keys in its package's README.md),
// and full.yaml loads strictly.
func TestConfigKeysDocumented(t *testing.T) {
	const full = "../../deploy/examples/full.yaml"
	data, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := config.Parse(data, func(string) (string, bool) { return "", false }, sinkTable.Config()); err != nil {
		t.Fatalf("full.yaml: %v", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	inFull := map[string]bool{}
	yamlKeys(&root, "", inFull)

	readme := tableKeys(t, "../../README.md")
	for _, k := range configKeys(reflect.TypeFor[config.Config](), "") {
		if !inFull[k] {
			t.Errorf("full.yaml does not set %s", k)
		}
		if !readme[k] {
			t.Errorf("README.md has no table row for %s", k)
		}
	}
	for _, f := range sinkTable.Config() {
		settings := reflect.TypeOf(f.NewDefaultConfig())
		pkg := strings.TrimPrefix(settings.Elem().PkgPath(), "github.com/logship/logship/")
		doc := tableKeys(t, filepath.Join("../..", pkg, "README.md"))
		for _, k := range configKeys(settings, "") {
			if !inFull["sinks["+f.Type+"]."+k] {
				t.Errorf("full.yaml has no %s sink setting %s", f.Type, k)
			}
			if !doc[k] {
				t.Errorf("%s/README.md has no table row for %s", pkg, k)
			}
		}
	}
}
