package config

import (
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// sinkFactory returns the factory of sink type typ, or nil.
func (d *decoder) sinkFactory(typ string) *SinkFactory {
	for i := range d.sinks {
		if d.sinks[i].Type == typ {
			return &d.sinks[i]
		}
	}
	return nil
}

// sinkTypeNames returns the sink types known with these factories.
func sinkTypeNames(fs []SinkFactory) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Type)
	}
	return out
}

func sinkTypeMessage(fs []SinkFactory) string {
	if len(fs) == 0 {
		return "not a sink type of this build"
	}
	return "must be one of " + strings.Join(sinkTypeNames(fs), ", ")
}

// decodeNode decodes one `sinks[]` entry: the common keys into s, the
// others into the settings of its type (Settings, made by the type's
// factory). A key of another type is reported as such; when the type is
// missing or unknown, only the keys of no type at all are reported.
func (s *Sink) decodeNode(d *decoder, n *yaml.Node, path string) {
	if n.Kind != yaml.MappingNode {
		d.probs.add(path, "must be a mapping")
		return
	}
	pairs := d.pairs(n, path)
	common := fieldsOf(reflect.TypeFor[Sink]())
	sv := reflect.ValueOf(s).Elem()

	var typed reflect.Value
	var typedFields *fieldSet
	it := slices.IndexFunc(pairs, func(p pair) bool { return p.key == "type" })
	if it >= 0 {
		before := len(d.probs)
		d.decode(pairs[it].value, sv.FieldByIndex(common.byKey["type"]), joinKey(path, "type"))
		if len(d.probs) == before {
			if f := d.sinkFactory(s.Type); f != nil {
				s.Settings = f.NewDefaultConfig()
				typed = reflect.ValueOf(s.Settings).Elem()
				typedFields = fieldsOf(typed.Type())
			} else if s.Type == "" {
				d.probs.add(joinKey(path, "type"), "required")
			} else {
				d.probs.add(joinKey(path, "type"), sinkTypeMessage(d.sinks))
			}
		}
	} else {
		d.probs.add(joinKey(path, "type"), "required")
	}

	retryKeys := map[string]bool{}
	var files []pair
	for i, p := range pairs {
		if i == it {
			continue
		}
		kp := joinKey(path, p.key)
		if v := resolveAlias(p.value); p.key == "retry" && v != nil && v.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(v.Content); j += 2 {
				retryKeys[v.Content[j].Value] = true
			}
		}
		if f, ok := common.byKey[p.key]; ok {
			d.decode(p.value, sv.FieldByIndex(f), kp)
			continue
		}
		if typedFields != nil {
			if f, ok := typedFields.byKey[p.key]; ok {
				d.decode(p.value, typed.FieldByIndex(f), kp)
				continue
			}
			if _, ok := secretFileField(typedFields, typed.Type(), p.key); ok {
				files = append(files, p)
				continue
			}
		}
		if d.sinkTypeWithKey(p.key) != "" {
			if typedFields != nil {
				d.probs.add(kp, "not a setting of a "+s.Type+" sink")
			}
			continue
		}
		known := slices.Clone(common.keys)
		if typedFields != nil {
			known = append(known, typedFields.keys...)
		}
		d.probs.add(kp, unknownKey(p.key, known))
	}
	if typedFields != nil {
		d.decodeSecretFiles(files, pairs, typedFields, typed, path)
	}
	s.applyRetryAliases(&d.probs, path, retryKeys)
}

// sinkTypeWithKey returns the first sink type that has key, or "".
func (d *decoder) sinkTypeWithKey(key string) string {
	for _, f := range d.sinks {
		if _, ok := fieldsOf(reflect.TypeOf(f.NewDefaultConfig()).Elem()).byKey[key]; ok {
			return f.Type
		}
	}
	return ""
}
