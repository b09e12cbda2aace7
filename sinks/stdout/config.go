package stdout

import (
	"github.com/logship/logship/config"
	"github.com/logship/logship/pipeline"
	"github.com/logship/logship/sinks"
)

// Config is the stdout sink's own configuration (the keys of a `sinks[]`
// entry of type `stdout`, besides the common ones).
type Config struct {
	// Format is `json` (NDJSON, default) or `text` (like `clever logs`).
	Format string `yaml:"format"`
}

// NewDefaultConfig returns the sink's defaults.
func NewDefaultConfig() *Config {
	return &Config{Format: "json"}
}

// Validate returns every problem of c, with paths relative to the sink.
func (c *Config) Validate() config.Problems {
	if c.Format != "json" && c.Format != "text" {
		return config.Problems{{Path: "format", Message: "must be json or text"}}
	}
	return nil
}

// Factory is the stdout sink's entry in logship's table of sinks.
func Factory() sinks.Factory {
	return sinks.Factory{
		SinkFactory: config.SinkFactory{
			Type:             "stdout",
			NewDefaultConfig: func() config.SinkConfig { return NewDefaultConfig() },
		},
		OneAtATime: true,
		New: func(cfg config.SinkConfig, set sinks.Settings) (pipeline.Sink, error) {
			return New(cfg.(*Config), Options{Writer: set.Stdout})
		},
	}
}
