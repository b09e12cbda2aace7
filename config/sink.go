package config

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Sink is one entry of `sinks`. Type selects which of the per-type settings
// apply; the keys of the other types are errors for it.
//
// Common keys (any type): type, name, batch, buffer, in_flight.
// The per-type keys are the yaml tags of StdoutSink, FileSink, HTTPSink and
// KafkaSink; a sink entry is decoded into the struct of its type only (the
// structs of the other types stay zero).
type Sink struct {
	// Type is stdout, file, http or kafka (required).
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
	// stdout and file always write one at a time).
	InFlight int `yaml:"in_flight"`

	Stdout StdoutSink `yaml:"-"`
	File   FileSink   `yaml:"-"`
	HTTP   HTTPSink   `yaml:"-"`
	Kafka  KafkaSink  `yaml:"-"`
}

// SinkTypes are the values of `sinks[].type`.
var SinkTypes = []string{"stdout", "file", "http", "kafka"}

var sinkTypeMessage = "must be one of " + strings.Join(SinkTypes, ", ")

// settingsOf returns a pointer to the settings struct of sink type typ
// inside s (*StdoutSink, *FileSink, *HTTPSink or *KafkaSink), or nil for an
// unknown type.
func (s *Sink) settingsOf(typ string) any {
	switch typ {
	case "stdout":
		return &s.Stdout
	case "file":
		return &s.File
	case "http":
		return &s.HTTP
	case "kafka":
		return &s.Kafka
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

// StdoutSink writes events to standard output.
type StdoutSink struct {
	// Format is `json` (NDJSON, default) or `text` (like `clever logs`).
	Format string `yaml:"format"`
}

// FileSink appends NDJSON to a file.
type FileSink struct {
	// Path is the file to append to (required). Two file sinks may not
	// share it, nor may it be the dead-letter file.
	Path string `yaml:"path"`
	// Fsync is `batch` (default: fsync before a batch is acknowledged),
	// `interval` (every FsyncInterval) or `never`.
	Fsync string `yaml:"fsync"`
	// FsyncInterval is the period of Fsync `interval` (default 1s).
	FsyncInterval time.Duration `yaml:"fsync_interval"`
	// Mode is the file's permission bits, as an octal string (default
	// 0640); it applies when logship creates the file.
	Mode string `yaml:"mode"`
	// ReconcileBytes is how much of the file's tail is read at start to skip
	// events written after the last checkpoint (default 64 MiB).
	ReconcileBytes int64 `yaml:"reconcile_bytes"`
}
