package config

import (
	"fmt"
	"math"
	"path/filepath"
	"time"
)

// Defaults that are not obvious from the field comments.
const (
	// DefaultAPIURL is the Clever Cloud API.
	DefaultAPIURL = "https://api.clever-cloud.com"
	// DefaultConsumerKey and DefaultConsumerSecret are clever-tools' OAuth
	// client, the one `clever login` tokens belong to. They are public
	// (shipped in clever-tools' source), but still handled as a Secret.
	DefaultConsumerKey    = "T5nFjKeHH4AIlEveuGhB5S3xg8T19e"
	DefaultConsumerSecret = Secret("MgVMqTr6fWlf2M0tkC2MXOnhfqBWDT")
	// DeadLetterFile is the dead-letter file's name in state_dir.
	DeadLetterFile = "dead-letter.ndjson"
	// DefaultAddKey is the key under which pipeline.fields.add puts its
	// fields.
	DefaultAddKey = "logship"
)

// Default returns a configuration holding every default that does not
// depend on other keys; Load decodes the file over it. Sources and sinks
// are empty, and the OAuth consumer pair is left to ResolveCredentials.
func Default() *Config {
	return &Config{
		API: API{
			URL:   DefaultAPIURL,
			OAuth: OAuth{Signature: "plaintext"},
		},
		Checkpoint: Checkpoint{Interval: Duration(time.Second)},
		Pipeline: Pipeline{
			Throttle: Throttle{Mode: "block"},
			Fields:   Fields{AddKey: DefaultAddKey},
			Batch:    Batch{MaxEvents: 1000, MaxBytes: 1 << 20, MaxWait: Duration(200 * time.Millisecond)},
			Buffer:   Buffer{MaxBytes: 64 << 20},
			PushDown: true,
		},
		Metrics:         Metrics{Ready: Ready{SourceDownAfter: Duration(time.Minute), SinkFailingAfter: Duration(time.Minute)}},
		Log:             Log{Level: "info", Format: "json"},
		Enrichment:      Enrichment{Key: DefaultEnrichKey, TTL: Duration(10 * time.Minute), MaxWait: Duration(200 * time.Millisecond)},
		ShutdownTimeout: Duration(30 * time.Second),
	}
}

// NewSource returns a source of an application holding the defaults a
// `sources[]` entry starts from, for configurations built in Go.
func NewSource(ownerID, applicationID string) Source {
	s := Source{OwnerID: ownerID, ApplicationID: applicationID}
	s.prefill()
	return s
}

// NewSink returns a sink of type typ with its own settings (made by the
// type's NewDefaultConfig) and the common defaults a `sinks[]` entry
// starts from, for configurations built in Go.
func NewSink(typ string, settings SinkConfig) Sink {
	s := Sink{Type: typ, Settings: settings}
	s.prefill()
	return s
}

// prefill sets a new source's defaults, before the file's keys.
func (s *Source) prefill() {
	s.ThrottleElements = 2000
	s.ThrottlePerMs = 100
	s.Lookback = Duration(10 * time.Second)
	s.HeartbeatTimeout = Duration(6 * time.Second)
	s.MaxEventBytes = 1 << 20
	s.Enrich = true
}

// prefill sets a new sink's common defaults, before the file's keys.
func (s *Sink) prefill() {
	s.InFlight = 1
	s.Retry = DefaultRetry
}

// DefaultRetry is every sink's default retry policy.
var DefaultRetry = Retry{InitialBackoff: Duration(500 * time.Millisecond), MaxBackoff: Duration(30 * time.Second)}

// resolve sets, after decoding, the defaults that depend on other keys:
// source names and push-down, throttle burst, dead-letter path, sink
// names, each sink's type defaults and its batch and buffer (zero fields
// from pipeline's).
func (c *Config) resolve() {
	for i := range c.Sources {
		if c.Sources[i].Name == "" {
			c.Sources[i].Name = c.Sources[i].ApplicationID
		}
		c.Sources[i].resolveDiscover()
		c.Sources[i].PushFields, c.Sources[i].PushFilter = c.Pipeline.pushDown(&c.Sources[i], c.Enrichment.Key)
	}
	c.resolveEnrichment()
	if t := &c.Pipeline.Throttle; t.Burst == 0 && t.Rate > 0 {
		t.Burst = int(max(1, math.Ceil(min(t.Rate, math.MaxInt32))))
	}
	if c.DeadLetter.Path == "" && c.StateDir != "" {
		c.DeadLetter.Path = filepath.Join(c.StateDir, DeadLetterFile)
	}
	seen := map[string]bool{}
	for i := range c.Sinks {
		s := &c.Sinks[i]
		if s.Settings == nil {
			continue
		}
		if r, ok := s.Settings.(SinkResolver); ok {
			r.Resolve()
		}
		if s.Name == "" {
			s.Name = s.Type
			if seen[s.Type] {
				s.Name = fmt.Sprintf("%s-%d", s.Type, i)
			}
		}
		seen[s.Type] = true
		if f := factoryOf(c.sinkFactories, s.Type); f != nil {
			if s.Batch.MaxEvents == 0 {
				s.Batch.MaxEvents = f.Batch.MaxEvents
			}
			if s.Batch.MaxBytes == 0 {
				s.Batch.MaxBytes = f.Batch.MaxBytes
			}
			if s.Batch.MaxWait == 0 {
				s.Batch.MaxWait = f.Batch.MaxWait
			}
		}
		s.Batch = c.SinkBatch(i)
		s.Buffer = c.SinkBuffer(i)
	}
}

// SinkBatch returns sink i's batch settings: its own, with the fields left
// zero taken from pipeline.batch. (Load already resolved them in place.)
func (c *Config) SinkBatch(i int) Batch {
	b, p := c.Sinks[i].Batch, c.Pipeline.Batch
	if b.MaxEvents == 0 {
		b.MaxEvents = p.MaxEvents
	}
	if b.MaxBytes == 0 {
		b.MaxBytes = p.MaxBytes
	}
	if b.MaxWait == 0 {
		b.MaxWait = p.MaxWait
	}
	return b
}

// SinkBuffer returns sink i's buffer settings, likewise.
func (c *Config) SinkBuffer(i int) Buffer {
	b := c.Sinks[i].Buffer
	if b.MaxBytes == 0 {
		b.MaxBytes = c.Pipeline.Buffer.MaxBytes
	}
	if b.WhenFull == "" {
		b.WhenFull = c.Pipeline.Buffer.WhenFull
	}
	return b
}

// factoryOf returns the factory of sink type typ, or nil.
func factoryOf(fs []SinkFactory, typ string) *SinkFactory {
	for i := range fs {
		if fs[i].Type == typ {
			return &fs[i]
		}
	}
	return nil
}
