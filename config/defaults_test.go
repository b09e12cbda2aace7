package config

import (
	"reflect"
	"testing"
	"time"
)

func TestDefaults(t *testing.T) {
	c := mustParse(t, base+`  - type: file
    path: /a
  - type: file
    path: /b
    name: named
  - type: file
    path: /c
    batch: {max_events: 10}
    buffer: {max_bytes: 2MiB}
  - type: http
    url: http://127.0.0.1:1/
    in_flight: 3
`, nil)
	checks := []struct {
		name      string
		got, want any
	}{
		{"api.url", c.API.URL, "https://api.clever-cloud.com"},
		{"consumer_key", c.API.OAuth.ConsumerKey, "T5nFjKeHH4AIlEveuGhB5S3xg8T19e"},
		{"consumer_secret", c.API.OAuth.ConsumerSecret.Reveal(), "MgVMqTr6fWlf2M0tkC2MXOnhfqBWDT"},
		{"signature", c.API.OAuth.Signature, "plaintext"},
		{"source name", c.Sources[0].Name, "app_1"},
		{"throttle_elements", c.Sources[0].ThrottleElements, 2000},
		{"throttle_per_ms", c.Sources[0].ThrottlePerMs, 100},
		{"lookback", c.Sources[0].Lookback, Duration(10 * time.Second)},
		{"heartbeat_timeout", c.Sources[0].HeartbeatTimeout, Duration(6 * time.Second)},
		{"max_event_bytes", c.Sources[0].MaxEventBytes, ByteSize(1 << 20)},
		{"checkpoint.interval", c.Checkpoint.Interval, Duration(time.Second)},
		{"batch", c.Pipeline.Batch, Batch{MaxEvents: 1000, MaxBytes: 1 << 20, MaxWait: Duration(200 * time.Millisecond)}},
		{"buffer", c.Pipeline.Buffer, Buffer{MaxBytes: 64 << 20}},
		{"throttle", c.Pipeline.Throttle, Throttle{Mode: "block"}},
		{"dead_letter.path", c.DeadLetter.Path, "/state/dead-letter.ndjson"},
		{"log", c.Log, Log{Level: "info", Format: "json"}},
		{"shutdown_timeout", c.ShutdownTimeout, Duration(30 * time.Second)},
		{"metrics.listen", c.Metrics.Listen, ""},
		{"stdout format", c.Sinks[0].Settings.(*testStdout).Format, "json"},
		{"file", *fileOf(c, 1), testFile{Path: "/a", Mode: "0640", ReconcileBytes: 64 << 20}},
		{"sink names", []string{c.Sinks[0].Name, c.Sinks[1].Name, c.Sinks[2].Name, c.Sinks[3].Name, c.Sinks[4].Name}, []string{"stdout", "file", "named", "file-3", "http"}},
		{"in_flight", []int{c.Sinks[0].InFlight, c.Sinks[4].InFlight}, []int{1, 3}},
		{"inherited batch", c.Sinks[1].Batch, c.Pipeline.Batch},
		{"partial batch", c.Sinks[3].Batch, Batch{MaxEvents: 10, MaxBytes: 1 << 20, MaxWait: Duration(200 * time.Millisecond)}},
		{"inherited buffer", c.Sinks[1].Buffer, Buffer{MaxBytes: 64 << 20}},
		{"own buffer", c.Sinks[3].Buffer, Buffer{MaxBytes: 2 << 20}},
		{"SinkBatch", c.SinkBatch(3), c.Sinks[3].Batch},
		{"SinkBuffer", c.SinkBuffer(3), c.Sinks[3].Buffer},
		{"no credentials", c.HasCredentials(), false},
		{"credentials from", c.API.CredentialsFrom, ""},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
}

// TestSinkBatchUnresolved checks SinkBatch and SinkBuffer on a
// configuration built in code.
func TestSinkBatchUnresolved(t *testing.T) {
	c := Default()
	c.Sinks = []Sink{{Type: "stdout", Batch: Batch{MaxWait: Duration(time.Second)}}}
	if got, want := c.SinkBatch(0), (Batch{MaxEvents: 1000, MaxBytes: 1 << 20, MaxWait: Duration(time.Second)}); got != want {
		t.Errorf("SinkBatch = %+v, want %+v", got, want)
	}
	if got := c.SinkBuffer(0); got.MaxBytes != 64<<20 {
		t.Errorf("SinkBuffer = %+v", got)
	}
}

func TestDefaultsDependingOnKeys(t *testing.T) {
	tests := []struct {
		name, extra string
		check       func(c *Config) bool
	}{
		{"burst from rate", "pipeline: {throttle: {rate: 2.5}}\n", func(c *Config) bool { return c.Pipeline.Throttle.Burst == 3 }},
		{"burst at least 1", "pipeline: {throttle: {rate: 0.2}}\n", func(c *Config) bool { return c.Pipeline.Throttle.Burst == 1 }},
		{"burst kept", "pipeline: {throttle: {rate: 100, burst: 7}}\n", func(c *Config) bool { return c.Pipeline.Throttle.Burst == 7 }},
		{"no burst without rate", "pipeline: {throttle: {mode: drop}}\n", func(c *Config) bool { return c.Pipeline.Throttle.Burst == 0 }},
		{"dead letter kept", "dead_letter: {path: /dl}\n", func(c *Config) bool { return c.DeadLetter.Path == "/dl" }},
		{"explicit zero kept", "sources:\n  - {owner_id: orga_1, application_id: app_1, lookback: 0s}\n", func(c *Config) bool { return c.Sources[0].Lookback == 0 }},
		{"null keeps defaults", "pipeline:\n  batch:\n  buffer: ~\n", func(c *Config) bool {
			return c.Pipeline.Batch.MaxEvents == 1000 && c.Pipeline.Buffer.MaxBytes == 64<<20
		}},
		{"list replaces", "pipeline: {fields: {exclude: [a]}}\n", func(c *Config) bool { return len(c.Pipeline.Fields.Exclude) == 1 }},
		{"pipeline batch inherited by sinks", "pipeline: {batch: {max_events: 5}}\n", func(c *Config) bool { return c.Sinks[0].Batch.MaxEvents == 5 }},
		{"source name kept", "sources:\n  - {name: web, owner_id: orga_1, application_id: app_1}\n", func(c *Config) bool { return c.Sources[0].Name == "web" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := base
			if len(tt.extra) > 8 && tt.extra[:8] == "sources:" {
				src = "state_dir: /state\nsinks: [{type: stdout}]\n"
			}
			c := mustParse(t, src+tt.extra, nil)
			if !tt.check(c) {
				t.Errorf("check failed: %+v", c)
			}
		})
	}
}

func TestEmptyFile(t *testing.T) {
	for _, src := range []string{"", "# only a comment\n", "---\n", "~\n"} {
		got := parseProblems(t, src, nil)
		checkProblems(t, got, []string{
			"sources: at least one source required",
			"state_dir: required",
			"sinks: at least one sink required",
		}, true)
	}
}

// TestBuildInGo checks a configuration built without YAML: it gets the
// defaults a file would, and the same checks.
func TestBuildInGo(t *testing.T) {
	c := Default()
	c.StateDir = "/state"
	c.Sources = []Source{NewSource("orga_1", "app_1")}
	c.Sinks = []Sink{NewSink("stdout", &testStdout{Format: "text"}), NewSink("file", &testFile{Path: "/a"})}
	if err := c.Complete(envOf(), testSinks); err != nil {
		t.Fatal(err)
	}
	fromFile := mustParse(t, base+"  - type: file\n    path: /a\n", nil)
	if c.Sources[0].Name != "app_1" || c.Sources[0].Lookback != fromFile.Sources[0].Lookback ||
		c.Sinks[1].Name != "file" || c.Sinks[1].Retry != DefaultRetry || c.Sinks[1].Batch != fromFile.Sinks[1].Batch ||
		c.Sinks[0].InFlight != 1 || c.DeadLetter.Path != fromFile.DeadLetter.Path {
		t.Errorf("built %+v\nparsed %+v", c, fromFile)
	}
	c.Sinks = append(c.Sinks, NewSink("s3", &testStdout{Format: "json"}))
	checkProblems(t, problems(t, c.Complete(envOf(), testSinks)), []string{"sinks[2].type: must be one of stdout, file, http, kafka"}, true)
}
