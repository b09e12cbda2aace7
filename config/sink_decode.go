package config

import (
	"reflect"
	"slices"

	"go.yaml.in/yaml/v3"
)

// decodeSink decodes one `sinks[]` entry: the common keys into s, the keys
// of its type into the struct of that type (s.Stdout, s.File, s.HTTP or
// s.Kafka). A key of another type is reported as such; when the type is
// missing or unknown, only the keys of no type at all are reported.
func (d *decoder) decodeSink(n *yaml.Node, s *Sink, path string) {
	if n.Kind != yaml.MappingNode {
		d.probs.add(path, "must be a mapping")
		return
	}
	pairs := d.pairs(n, path)
	common := fieldsOf(sinkType)
	sv := reflect.ValueOf(s).Elem()

	var typed reflect.Value
	var typedFields *fieldSet
	typeKnown := false
	it := slices.IndexFunc(pairs, func(p pair) bool { return p.key == "type" })
	if it >= 0 {
		before := len(d.probs)
		d.decode(pairs[it].value, sv.FieldByIndex(common.byKey["type"]), joinKey(path, "type"))
		if len(d.probs) == before {
			if t := s.settingsOf(s.Type); t != nil {
				typed = reflect.ValueOf(t).Elem()
				typedFields = fieldsOf(typed.Type())
				typeKnown = true
			} else if s.Type == "" {
				d.probs.add(joinKey(path, "type"), "required")
			} else {
				d.probs.add(joinKey(path, "type"), sinkTypeMessage)
			}
		}
	} else {
		d.probs.add(joinKey(path, "type"), "required")
	}

	for i, p := range pairs {
		if i == it {
			continue
		}
		kp := joinKey(path, p.key)
		if f, ok := common.byKey[p.key]; ok {
			d.decode(p.value, sv.FieldByIndex(f), kp)
			continue
		}
		if typeKnown {
			if f, ok := typedFields.byKey[p.key]; ok {
				d.decode(p.value, typed.FieldByIndex(f), kp)
				continue
			}
		}
		if sinkTypeWithKey(p.key) != "" {
			if typeKnown {
				d.probs.add(kp, "not a setting of a "+s.Type+" sink")
			}
			continue
		}
		known := slices.Clone(common.keys)
		if typeKnown {
			known = append(known, typedFields.keys...)
		}
		d.probs.add(kp, unknownKey(p.key, known))
	}
}

// sinkTypeWithKey returns the first sink type that has key, or "".
func sinkTypeWithKey(key string) string {
	var s Sink
	for _, t := range SinkTypes {
		if _, ok := fieldsOf(reflect.TypeOf(s.settingsOf(t)).Elem()).byKey[key]; ok {
			return t
		}
	}
	return ""
}
