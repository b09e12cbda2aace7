// Package sinks is what logship's sink packages and the command that wires
// them share: a Factory per sink type, and the Settings every sink gets
// besides its own configuration.
//
// A sink type is one package (sinks/NAME) that provides, in OpenTelemetry
// Collector's style, its `Config` (yaml tags for its own keys only),
// `NewDefaultConfig()` (the only place its defaults are set), `Validate()`
// (every problem, key paths relative to the sink), `New(cfg, opts)` (no
// I/O) and `Factory()`; cmd/logship lists the factories in one table,
// which it hands to config.Load.
package sinks

import (
	"io"

	"go.uber.org/zap"

	"github.com/logship/logship/config"
	"github.com/logship/logship/metrics"
	"github.com/logship/logship/pipeline"
)

// Settings are what every sink is built with besides its own
// configuration: the common keys and the process's collaborators.
type Settings struct {
	// Name is the sink's name (sinks[].name, resolved).
	Name string
	// Logger is already tagged with the sink's name.
	Logger *zap.Logger
	// Metrics are logship's collectors (never nil).
	Metrics *metrics.Metrics
	// Stdout is the process's standard output.
	Stdout io.Writer
	// UserAgent names logship and its version, for network sinks.
	UserAgent string
	// InFlight is how many batches the pipeline may write at once (≥ 1).
	InFlight int
	// Batch is the sink's batching (pipeline.batch with its overrides).
	Batch config.Batch
}

// Factory makes the sinks of one type.
type Factory struct {
	// SinkFactory is the loader's side: the type's name and its
	// configuration's defaults.
	config.SinkFactory
	// OneAtATime says that the sink writes one ordered stream (stdout, a
	// file): the pipeline writes one batch at a time whatever in_flight
	// says.
	OneAtATime bool
	// New builds a sink from cfg, which NewDefaultConfig made and the
	// loader decoded and validated. It does no I/O (see pipeline.Starter).
	New func(cfg config.SinkConfig, set Settings) (pipeline.Sink, error)
}

// Table is the sink types of a build, in the order they are listed to
// users.
type Table []Factory

// Config returns the loader's side of every factory, for config.Load.
func (t Table) Config() []config.SinkFactory {
	out := make([]config.SinkFactory, len(t))
	for i, f := range t {
		out[i] = f.SinkFactory
	}
	return out
}

// Lookup returns the factory of sink type typ.
func (t Table) Lookup(typ string) (Factory, bool) {
	for _, f := range t {
		if f.Type == typ {
			return f, true
		}
	}
	return Factory{}, false
}
