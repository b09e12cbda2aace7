package kafka

import (
	"github.com/logship/logship/config"

	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/logship/logship/event"
)

// TestStartTopic checks the topic at start: a missing topic is a clear
// error unless auto-creation is asked for and the brokers allow it.
func TestStartTopic(t *testing.T) {
	tests := []struct {
		name       string
		brokerAuto bool // the brokers create topics on request
		sinkAuto   bool // allow_auto_create_topics
		want       string
	}{
		{name: "missing", want: `topic does not exist: "logs" (create it, or set allow_auto_create_topics: true)`},
		{name: "missing, brokers would create it", brokerAuto: true, want: `topic does not exist: "logs" (create it`},
		{name: "missing, brokers refuse to create it", sinkAuto: true, want: "the brokers did not create it"},
		{name: "created", brokerAuto: true, sinkAuto: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := []kfake.Opt{kfake.SeedTopics(1, "other")}
			if tt.brokerAuto {
				opts = append(opts, kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(2))
			}
			c := startCluster(t, opts...)
			cfg := sinkConfig(c, "logs")
			cfg.AllowAutoCreateTopics = tt.sinkAuto
			s := newSinkUnstarted(t, cfg)
			err := s.Start(t.Context())
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("start: %v, want %q", err, tt.want)
				}
				// Writes fail the same way, retryably.
				werr := s.Write(t.Context(), makeBatches(10, 1, 10)[0])
				var pe *event.PartialError
				if werr == nil || event.IsPermanent(werr) || errors.As(werr, &pe) || !strings.Contains(werr.Error(), tt.want) {
					t.Fatalf("write: %v, want a retryable %q", werr, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("start: %v", err)
			}
			if err := s.Write(t.Context(), makeBatches(10, 1, 10)[0]); err != nil {
				t.Fatal(err)
			}
			if recs := consume(t, c, "logs"); len(recs) != 10 {
				t.Fatalf("read %d records, want 10", len(recs))
			}
		})
	}
}

// TestStartUnreachable: brokers that cannot be reached are not a
// configuration error: Start logs it, writes fail retryably.
func TestStartUnreachable(t *testing.T) {
	c := startCluster(t, kfake.SeedTopics(1, "logs"))
	cfg := sinkConfig(c, "logs")
	cfg.Brokers = []string{"127.0.0.1:1"}
	cfg.Timeout = config.Duration(time.Second)
	core, logs := observer.New(zap.InfoLevel)
	s, err := New(&cfg, Options{Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Start(t.Context()); err != nil {
		t.Fatalf("start: %v", err)
	}
	if logs.FilterMessageSnippet("not reachable").Len() != 1 {
		t.Fatalf("logs: %v", logs.All())
	}
	werr := s.Write(t.Context(), makeBatches(10, 1, 10)[0])
	if werr == nil || event.IsPermanent(werr) || !strings.Contains(werr.Error(), "no broker reachable at 127.0.0.1:1") {
		t.Fatalf("write: %v", werr)
	}
}

// TestAbandonedWrite cancels a Write while the broker holds its request:
// the caller may reuse the batch at once, and Close still flushes what
// kafka-go had in flight, from copies of the events.
func TestAbandonedWrite(t *testing.T) {
	const topic = "logs"
	c := startCluster(t, kfake.SeedTopics(1, topic))
	s := newSink(t, sinkConfig(c, topic))
	arrived, release := make(chan struct{}), make(chan struct{})
	var once bool
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		if !once {
			once = true
			close(arrived)
		}
		c.SleepControl(func() { <-release })
		return nil, nil, false
	})
	b := makeBatches(200, 4, 200)[0]
	want := make([]string, b.Len())
	for i, e := range b.Events {
		want[i] = string(e.Raw)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Write(ctx, b) }()
	<-arrived
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) || event.IsPermanent(err) {
		t.Fatalf("write: %v, want a retryable context.Canceled", err)
	}
	for _, e := range b.Events { // the caller reuses its buffers
		for j := range e.Raw {
			e.Raw[j] = 'x'
		}
	}
	close(release)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	recs := consume(t, c, topic)
	if len(recs) != len(want) {
		t.Fatalf("read %d records, want %d", len(recs), len(want))
	}
	for i, r := range recs {
		if string(r.Value) != want[i] {
			t.Fatalf("record %d: %s, want %s", i, r.Value, want[i])
		}
	}
	if err := s.Write(t.Context(), b); err == nil {
		t.Fatal("write after close: no error")
	}
}

// TestNewRefuses: New checks what it can without I/O.
func TestNewRefuses(t *testing.T) {
	ok := *NewDefaultConfig()
	ok.Brokers, ok.Topic = []string{"127.0.0.1:9092"}, "logs"
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"no brokers", func(c *Config) { c.Brokers = nil }},
		{"bad topic", func(c *Config) { c.Topic = "a b" }},
		{"bad template", func(c *Config) { c.TopicTemplate = "logs-{" }},
		{"bad key template", func(c *Config) { c.Key = "{}" }},
		{"bad compression", func(c *Config) { c.Compression = "brotli" }},
		{"bad acks", func(c *Config) { c.Acks = "2" }},
		{"bad mechanism", func(c *Config) { c.SASL.Mechanism = "GSSAPI" }},
		{"tiny max_message_bytes", func(c *Config) { c.MaxMessageBytes = 100 }},
	}
	if _, err := New(&ok, Options{}); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, tt := range tests {
		cfg := ok
		tt.edit(&cfg)
		if _, err := New(&cfg, Options{}); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}
