package config

import (
	"fmt"
	"io"
	"strings"

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

// SinkResolver is implemented by the sink configurations that have
// defaults depending on other keys (an encoding's own defaults): the
// loader calls Resolve once the entry is decoded, before Validate.
type SinkResolver interface {
	Resolve()
}

// Retry is how the pipeline retries a batch that a sink failed to take
// with a retryable error (network, timeout, 408, 429, 5xx, …): full-jitter
// exponential backoff, each wait uniform in [0, bound], the bound starting
// at InitialBackoff and growing by half at each attempt up to MaxBackoff
// (package internal/backoff, shared with the source's reconnects). A receiver's
// Retry-After is honoured even when it is longer.
type Retry struct {
	// InitialBackoff is the first bound (default 500ms).
	InitialBackoff Duration `yaml:"initial_backoff"`
	// MaxBackoff caps the bound (default 30s).
	MaxBackoff Duration `yaml:"max_backoff"`
	// MaxElapsed is how long a batch is retried before it goes to the
	// dead-letter file. 0 (default) retries without limit: the sink then
	// applies backpressure while its receiver is down.
	MaxElapsed Duration `yaml:"max_elapsed"`
}

// retryAliases are Retry's keys as the http sink first spelled them.
type retryAliases struct {
	RetryInitialBackoff *Duration `yaml:"retry_initial_backoff,omitempty"`
	RetryMaxBackoff     *Duration `yaml:"retry_max_backoff,omitempty"`
	RetryMaxElapsed     *Duration `yaml:"retry_max_elapsed,omitempty"`
}

// applyRetryAliases moves the aliases into s.Retry; a key given both ways
// (set holds the keys given under retry) is a problem at path.
func (s *Sink) applyRetryAliases(ps *Problems, path string, set map[string]bool) {
	for _, a := range []struct {
		alias **Duration
		to    *Duration
		key   string
	}{
		{&s.RetryInitialBackoff, &s.Retry.InitialBackoff, "initial_backoff"},
		{&s.RetryMaxBackoff, &s.Retry.MaxBackoff, "max_backoff"},
		{&s.RetryMaxElapsed, &s.Retry.MaxElapsed, "max_elapsed"},
	} {
		if *a.alias == nil {
			continue
		}
		if set[a.key] {
			ps.add(joinKey(path, "retry_"+a.key), "set retry."+a.key+" or retry_"+a.key+", not both")
		}
		*a.to = **a.alias
		*a.alias = nil
	}
}

// SinkFactory is what the loader needs of a sink type.
type SinkFactory struct {
	// Type is the value of `sinks[].type`.
	Type string
	// NewDefaultConfig returns a new configuration holding the type's
	// defaults; the entry's own keys are decoded over it.
	NewDefaultConfig func() SinkConfig
	// Batch, when set, is the type's own batching defaults (an archive
	// wants batches of megabytes and minutes): the fields a sink entry
	// leaves zero are taken from it before pipeline.batch.
	Batch Batch
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
	// Retry is how the pipeline retries the batches this sink fails to
	// take with a retryable error.
	Retry Retry `yaml:"retry"`
	// InFlight is how many batches may be written at once (default 1;
	// sinks that write one stream in order ignore it).
	InFlight int `yaml:"in_flight"`

	// retryAliases are the http sink's former spellings of Retry's keys,
	// still accepted on every sink.
	retryAliases `yaml:",inline"`

	// Settings is the type's own configuration, as its factory's
	// NewDefaultConfig made it, with the entry's other keys decoded over
	// it (nil when the type is unknown).
	Settings SinkConfig `yaml:"-"`
}

// Format implements fmt.Formatter: every verb prints the sink as a YAML
// flow mapping, its secrets redacted (as MarshalYAML writes it). Without
// it, fmt would print Settings, a pointer held in an interface, with its
// secrets in the clear (%s and other verbs that do not fit a pointer make
// fmt print the value without calling any method).
func (s Sink) Format(f fmt.State, _ rune) {
	out := "{type: " + s.Type + "}"
	if v, err := s.MarshalYAML(); err == nil {
		n := v.(*yaml.Node)
		n.Style = yaml.FlowStyle
		if b, err := yaml.Marshal(n); err == nil {
			out = strings.TrimSpace(string(b))
		}
	}
	_, _ = io.WriteString(f, out)
}

// MarshalYAML writes a sink as it is written in a config file: the common
// keys and those of its type, in one mapping.
func (s Sink) MarshalYAML() (any, error) {
	type common Sink // without this method
	var n yaml.Node
	if err := n.Encode(common(s)); err != nil {
		return nil, fmt.Errorf("encode sink: %w", err)
	}
	if t := s.Settings; t != nil {
		var tn yaml.Node
		if err := tn.Encode(t); err != nil {
			return nil, fmt.Errorf("encode %s sink: %w", s.Type, err)
		}
		n.Content = append(n.Content, tn.Content...)
	}
	return &n, nil
}
