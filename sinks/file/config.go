package file

import (
	"io/fs"
	"strconv"
	"time"

	"github.com/logship/logship/config"
	"github.com/logship/logship/pipeline"
	"github.com/logship/logship/sinks"
)

// Config is the file sink's own configuration (the keys of a `sinks[]`
// entry of type `file`, besides the common ones).
type Config struct {
	// Path is the file to append to (required). Two file sinks may not
	// share it, nor may it be the dead-letter file.
	Path string `yaml:"path"`
	// Fsync is `batch` (default: fsync before a batch is acknowledged),
	// `interval` (every FsyncInterval) or `never`.
	Fsync string `yaml:"fsync"`
	// FsyncInterval is the period of Fsync `interval` (default 1s).
	FsyncInterval config.Duration `yaml:"fsync_interval"`
	// Mode is the file's permission bits, as an octal string (default
	// 0640); it applies when logship creates the file.
	Mode string `yaml:"mode"`
	// ReconcileBytes is how much of the data written last crash
	// reconciliation covers: the journal kept next to the file holds the
	// (source, id) of that much data, and the events it holds are skipped
	// when a restart replays them (default 64 MiB). 0 turns reconciliation
	// and the journal off.
	ReconcileBytes config.ByteSize `yaml:"reconcile_bytes"`
}

// NewDefaultConfig returns the sink's defaults (Path has none).
func NewDefaultConfig() *Config {
	return &Config{
		Fsync:          "batch",
		FsyncInterval:  config.Duration(time.Second),
		Mode:           "0640",
		ReconcileBytes: 64 << 20,
	}
}

// Validate returns every problem of c, with paths relative to the sink.
func (c *Config) Validate() config.Problems {
	var ps config.Problems
	add := func(path, msg string) { ps = append(ps, config.Problem{Path: path, Message: msg}) }
	if c.Path == "" {
		add("path", "required")
	}
	switch c.Fsync {
	case "batch", "interval", "never":
	default:
		add("fsync", "must be batch, interval or never")
	}
	if c.FsyncInterval <= 0 {
		add("fsync_interval", "must be positive")
	}
	if _, ok := c.FileMode(); !ok {
		add("mode", "must be octal permission bits such as 0640")
	}
	if c.ReconcileBytes < 0 {
		add("reconcile_bytes", "must not be negative")
	}
	return ps
}

// FileMode returns Mode parsed (octal, such as 0640 or 640); ok is false
// when it is not permission bits.
func (c *Config) FileMode() (mode fs.FileMode, ok bool) {
	v, err := strconv.ParseUint(c.Mode, 8, 32)
	if err != nil || v > 0o777 {
		return 0, false
	}
	return fs.FileMode(v), true
}

// LocalFile implements config.LocalFiler: the loader checks that no two
// sinks, nor a sink and the dead-letter file, share a file.
func (c *Config) LocalFile() (key, path string) { return "path", c.Path }

// Factory is the file sink's entry in logship's table of sinks.
func Factory() sinks.Factory {
	return sinks.Factory{
		SinkFactory: config.SinkFactory{
			Type:             "file",
			NewDefaultConfig: func() config.SinkConfig { return NewDefaultConfig() },
		},
		OneAtATime: true,
		New: func(cfg config.SinkConfig, set sinks.Settings) (pipeline.Sink, error) {
			return New(cfg.(*Config), Options{
				Logger:     set.Logger,
				OpenErrors: set.Metrics.FileOpenErrors.WithLabelValues(set.Name),
				Open:       set.Metrics.FileOpen.WithLabelValues(set.Name),
			})
		},
	}
}
