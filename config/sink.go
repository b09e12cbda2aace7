package config

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// SinkConfig is a sink type's own configuration: a pointer to a struct
// whose `yaml` tags are the type's keys (besides the common ones of Sink).
// The sink's package owns it, with its defaults (NewDefaultConfig) and its
// checks.
type SinkConfig interface {
	// Validate returns every problem of the configuration, each with its
	// key path relative to the sink ("url", "auth.token"; the loader adds
	// "sinks[i]."). It does no I/O, and messages never quote values.
	Validate() Problems
}

// LocalFiler is implemented by the sink configurations that write a local
// file, so that the loader can check that no two sinks, nor a sink and the
// dead-letter file, share one. key is the file's key relative to the sink.
type LocalFiler interface {
	LocalFile() (key, path string)
}

// SinkFactory is what the loader needs of a sink type.
type SinkFactory struct {
	// Type is the value of `sinks[].type`.
	Type string
	// NewDefaultConfig returns a new configuration holding the type's
	// defaults; the entry's own keys are decoded over it.
	NewDefaultConfig func() SinkConfig
}

// Sink is one entry of `sinks`: the keys every sink has, decoded here, and
// the type's own keys, decoded into Settings.
type Sink struct {
	// Type selects the sink type, among the factories given to Load
	// (required).
	Type string `yaml:"type"`
	// Name identifies the sink in logs and metrics; default `{type}` for
	// the first sink of a type, then `{type}-{index}` with its index in
	// `sinks` (`file-2`). Letters, digits, '.', '_' and '-'; unique.
	Name string `yaml:"name"`
	// Batch overrides pipeline.batch for this sink: the fields left zero
	// are taken from pipeline.batch when the config is loaded (see
	// Config.SinkBatch).
	Batch Batch `yaml:"batch"`
	// Buffer overrides pipeline.buffer for this sink, likewise.
	Buffer Buffer `yaml:"buffer"`
	// InFlight is how many batches may be written at once (default 1;
	// sinks that write one stream in order ignore it).
	InFlight int `yaml:"in_flight"`

	// Settings is the type's own configuration, as its factory's
	// NewDefaultConfig made it, with the entry's other keys decoded over
	// it (nil when the type is unknown).
	Settings SinkConfig `yaml:"-"`

	HTTP  HTTPSink  `yaml:"-"`
	Kafka KafkaSink `yaml:"-"`
}

// legacySinkTypes are the types whose settings still live in this package.
var legacySinkTypes = []string{"http", "kafka"}

// settingsOf returns a pointer to the settings of sink type typ inside s:
// Settings, or one of the structs still kept here (nil for an unknown
// type).
func (s *Sink) settingsOf(typ string) any {
	switch typ {
	case "http":
		return &s.HTTP
	case "kafka":
		return &s.Kafka
	}
	if s.Settings != nil {
		return s.Settings
	}
	return nil
}

// MarshalYAML writes a sink as it is written in a config file: the common
// keys and those of its type, in one mapping.
func (s Sink) MarshalYAML() (any, error) {
	type common Sink // without this method
	var n yaml.Node
	if err := n.Encode(common(s)); err != nil {
		return nil, fmt.Errorf("encode sink: %w", err)
	}
	if t := s.settingsOf(s.Type); t != nil {
		var tn yaml.Node
		if err := tn.Encode(t); err != nil {
			return nil, fmt.Errorf("encode %s sink: %w", s.Type, err)
		}
		n.Content = append(n.Content, tn.Content...)
	}
	return &n, nil
}
