package config

import (
	"errors"
	"testing"
	"time"
)

// full is a valid configuration with every kind of sink.
const full = `sources:
  - owner_id: orga_1
    application_id: app_1
  - name: second
    owner_id: user_2
    application_id: app_1
state_dir: /state
sinks:
  - type: stdout
  - type: file
    path: /out/a.ndjson
  - type: http
    url: http://127.0.0.1:8080/in
  - type: kafka
    brokers: [127.0.0.1:9092]
    topic: logs
`

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []string // exactly these problems
	}{
		{"api.url empty", func(c *Config) { c.API.URL = "" }, []string{"api.url: required"}},
		{"api.url scheme", func(c *Config) { c.API.URL = "ftp://h" }, []string{"api.url: must be an http or https URL"}},
		{"api.url no host", func(c *Config) { c.API.URL = "http:///x" }, []string{"api.url: must be an http or https URL"}},
		{"api.url user and password", func(c *Config) { c.API.URL = "https://apiuser:hunter2@api.example" }, []string{"api.url: " + apiURLCredentials}},
		{"api.url user only", func(c *Config) { c.API.URL = "https://apiuser@api.example" }, []string{"api.url: " + apiURLCredentials}},
		{"both tokens", func(c *Config) { c.API.Token, c.API.OAuth.Token, c.API.OAuth.Secret = "t", "o", "s" }, []string{"api.token: set api.token or api.oauth.token, not both"}},
		{"oauth token alone", func(c *Config) { c.API.OAuth.Token = "o" }, []string{"api.oauth.secret: required with api.oauth.token"}},
		{"oauth secret alone", func(c *Config) { c.API.OAuth.Secret = "s" }, []string{"api.oauth.token: required with api.oauth.secret"}},
		{"consumer key alone", func(c *Config) { c.API.OAuth.ConsumerSecret = "" }, []string{"api.oauth.consumer_secret: required with api.oauth.consumer_key"}},
		{"consumer secret alone", func(c *Config) { c.API.OAuth.ConsumerKey = "" }, []string{"api.oauth.consumer_key: required with api.oauth.consumer_secret"}},
		{"signature", func(c *Config) { c.API.OAuth.Signature = "rsa" }, []string{"api.oauth.signature: must be plaintext or hmac-sha512"}},
		{"no sources", func(c *Config) { c.Sources = nil }, []string{"sources: at least one source required"}},
		{"owner_id missing", func(c *Config) { c.Sources[0].OwnerID = "" }, []string{"sources[0].owner_id: required"}},
		{"owner_id prefix", func(c *Config) { c.Sources[1].OwnerID = "app_1" }, []string{"sources[1].owner_id: must start with orga_ or user_"}},
		{"owner_id prefix only", func(c *Config) { c.Sources[1].OwnerID = "orga_" }, []string{"sources[1].owner_id: must start with orga_ or user_"}},
		{"owner_id characters", func(c *Config) { c.Sources[0].OwnerID = "orga_a/../b" }, []string{"sources[0].owner_id: must hold only letters, digits, '-' and '_'"}},
		{"application_id missing", func(c *Config) { c.Sources[1].ApplicationID = "" }, []string{"sources[1].application_id: required"}},
		{"application_id prefix", func(c *Config) { c.Sources[0].ApplicationID = "orga_1" }, []string{"sources[0].application_id: must start with app_"}},
		{"since", func(c *Config) { c.Sources[0].Since = "yesterday" }, []string{"sources[0].since: not an RFC 3339 time (such as 2024-05-01T12:00:00Z)"}},
		{"until", func(c *Config) { c.Sources[0].Until = "2024-05-01 12:00" }, []string{"sources[0].until: not an RFC 3339 time (such as 2024-05-01T12:00:00Z)"}},
		{"until before since", func(c *Config) {
			c.Sources[0].Since, c.Sources[0].Until = "2024-05-02T00:00:00Z", "2024-05-01T00:00:00Z"
		}, []string{"sources[0].until: must be after since"}},
		{"until equal to since", func(c *Config) {
			c.Sources[0].Since, c.Sources[0].Until = "2024-05-01T00:00:00Z", "2024-05-01T02:00:00+02:00"
		}, []string{"sources[0].until: must be after since"}},
		{"duplicate source names", func(c *Config) { c.Sources[1].Name = "app_1" }, []string{"sources[1].name: same as sources[0] (give each source of an application its own name)"}},
		{"source name characters", func(c *Config) { c.Sources[1].Name = "a b" }, []string{"sources[1].name: " + nameRule}},
		{"source name start", func(c *Config) { c.Sources[1].Name = ".hidden" }, []string{"sources[1].name: " + nameRule}},
		{"limit", func(c *Config) { c.Sources[0].Limit = -1 }, []string{"sources[0].limit: must not be negative (0: no limit)"}},
		{"throttle_elements", func(c *Config) { c.Sources[0].ThrottleElements = 0 }, []string{"sources[0].throttle_elements: must be at least 1"}},
		{"throttle_per_ms", func(c *Config) { c.Sources[0].ThrottlePerMs = -5 }, []string{"sources[0].throttle_per_ms: must be at least 1"}},
		{"lookback", func(c *Config) { c.Sources[0].Lookback = Duration(-time.Second) }, []string{"sources[0].lookback: must not be negative"}},
		{"heartbeat_timeout", func(c *Config) { c.Sources[0].HeartbeatTimeout = 0 }, []string{"sources[0].heartbeat_timeout: must be positive"}},
		{"max_event_bytes", func(c *Config) { c.Sources[0].MaxEventBytes = 0 }, []string{"sources[0].max_event_bytes: must be at least 1"}},
		{"empty instance id", func(c *Config) { c.Sources[0].InstanceIDs = []string{"i", " "} }, []string{"sources[0].instance_ids[1]: must not be empty"}},
		{"empty field", func(c *Config) { c.Sources[0].Fields = []string{""} }, []string{"sources[0].fields[0]: must not be empty"}},
		{"empty service", func(c *Config) { c.Sources[1].Services = []string{""} }, []string{"sources[1].services[0]: must not be empty"}},
		{"state_dir", func(c *Config) { c.StateDir = "" }, []string{"state_dir: required"}},
		{"checkpoint.interval", func(c *Config) { c.Checkpoint.Interval = 0 }, []string{"checkpoint.interval: must be positive"}},
		{"throttle rate", func(c *Config) { c.Pipeline.Throttle.Rate = -1 }, []string{"pipeline.throttle.rate: must not be negative (0: no throttle)"}},
		{"throttle burst", func(c *Config) { c.Pipeline.Throttle.Rate, c.Pipeline.Throttle.Burst = 5, 0 }, []string{"pipeline.throttle.burst: must be at least 1"}},
		{"throttle mode", func(c *Config) { c.Pipeline.Throttle.Mode = "queue" }, []string{"pipeline.throttle.mode: must be drop or block"}},
		{"fields both", func(c *Config) { c.Pipeline.Fields = Fields{Include: []string{"a"}, Exclude: []string{"b"}} }, []string{"pipeline.fields: set include or exclude, not both"}},
		{"fields empty entry", func(c *Config) { c.Pipeline.Fields.Exclude = []string{""} }, []string{"pipeline.fields.exclude[0]: must not be empty"}},
		{"batch", func(c *Config) {
			c.Pipeline.Batch = Batch{}
			for i := range c.Sinks {
				c.Sinks[i].Batch = Batch{}
			}
		}, []string{
			"pipeline.batch.max_events: must be at least 1",
			"pipeline.batch.max_bytes: must be at least 1",
			"pipeline.batch.max_wait: must be positive",
		}},
		{"buffer below batch", func(c *Config) {
			c.Pipeline.Buffer.MaxBytes = 1000
			for i := range c.Sinks {
				c.Sinks[i].Buffer.MaxBytes = 1000
			}
		}, []string{"pipeline.buffer.max_bytes: must be at least pipeline.batch.max_bytes"}},
		{"no sinks", func(c *Config) { c.Sinks = nil }, []string{"sinks: at least one sink required"}},
		{"sink type missing", func(c *Config) { c.Sinks[0].Type = "" }, []string{"sinks[0].type: required"}},
		{"sink type unknown", func(c *Config) { c.Sinks[0].Type = "s3" }, []string{"sinks[0].type: must be one of stdout, file, http, kafka"}},
		{"sink names", func(c *Config) { c.Sinks[3].Name = "file" }, []string{"sinks[3].name: same as sinks[1]"}},
		{"sink name characters", func(c *Config) { c.Sinks[3].Name = "k/1" }, []string{"sinks[3].name: " + nameRule}},
		{"in_flight", func(c *Config) { c.Sinks[2].InFlight = 0 }, []string{"sinks[2].in_flight: must be at least 1"}},
		{"sink batch", func(c *Config) { c.Sinks[2].Batch.MaxEvents, c.Sinks[2].Batch.MaxWait = -1, -1 }, []string{
			"sinks[2].batch.max_events: must be at least 1",
			"sinks[2].batch.max_wait: must be positive",
		}},
		{"sink buffer below its batch", func(c *Config) { c.Sinks[2].Batch.MaxBytes = 10 << 20; c.Sinks[2].Buffer.MaxBytes = 5 << 20 }, []string{
			"sinks[2].buffer.max_bytes: must be at least the sink's batch.max_bytes",
		}},
		{"sink buffer below pipeline batch", func(c *Config) { c.Sinks[0].Buffer.MaxBytes = 10 }, []string{
			"sinks[0].buffer.max_bytes: must be at least the sink's batch.max_bytes",
		}},
		{"stdout format", func(c *Config) { c.Sinks[0].Settings.(*testStdout).Format = "xml" }, []string{"sinks[0].format: must be json or text"}},
		{"file path", func(c *Config) { fileOf(c, 1).Path = "" }, []string{"sinks[1].path: required"}},
		{"same file twice", func(c *Config) {
			c.Sinks[0] = Sink{Type: "file", Name: "f0", InFlight: 1, Retry: DefaultRetry, Settings: &testFile{Path: "/out/./a.ndjson", Mode: "0640"}}
		}, []string{"sinks[1].path: same file as sinks[0]"}},
		{"file is the dead letter", func(c *Config) { c.DeadLetter.Path = "/out/a.ndjson" }, []string{"sinks[1].path: is the dead-letter file"}},
		{"http url", func(c *Config) { httpOf(c, 2).URL = "" }, []string{"sinks[2].url: required"}},
		{"kafka brokers and topic", func(c *Config) { kafkaOf(c, 3).Brokers, kafkaOf(c, 3).Topic = nil, "" }, []string{
			"sinks[3].brokers: required",
			"sinks[3].topic: required",
		}},
		{"dead_letter.path", func(c *Config) { c.DeadLetter.Path = "" }, []string{"dead_letter.path: required"}},
		{"metrics.listen", func(c *Config) { c.Metrics.Listen = "9090" }, []string{"metrics.listen: must be host:port (such as 127.0.0.1:9090 or :9090)"}},
		{"metrics.listen port", func(c *Config) { c.Metrics.Listen = "h:99999" }, []string{"metrics.listen: must be host:port (such as 127.0.0.1:9090 or :9090)"}},
		{"log.level", func(c *Config) { c.Log.Level = "trace" }, []string{"log.level: must be debug, info, warn or error"}},
		{"log.format", func(c *Config) { c.Log.Format = "text" }, []string{"log.format: must be json or console"}},
		{"shutdown_timeout", func(c *Config) { c.ShutdownTimeout = 0 }, []string{"shutdown_timeout: must be positive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, full, nil)
			tt.mutate(c)
			checkProblems(t, problems(t, c.Validate()), tt.want, true)
		})
	}
}

func TestValidateValid(t *testing.T) {
	c := mustParse(t, full, nil)
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	// Every optional setting at a valid edge.
	c.Sources[0].Since = "2024-05-01T00:00:00.123+02:00"
	c.Sources[0].Until = "2024-05-01T00:00:01+02:00"
	c.Sources[0].Limit = 0
	c.Sources[0].Lookback = 0
	c.Pipeline.Throttle = Throttle{Rate: 0.5, Burst: 1, Mode: "drop"}
	c.Pipeline.Fields.Include = []string{"id", "message"}
	c.Metrics.Listen = ":0"
	c.API.URL = "http://127.0.0.1:1234/base"
	c.API.OAuth.Signature = "hmac-sha512"
	c.API.OAuth.Token, c.API.OAuth.Secret = "t", "s"
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	want := time.Date(2024, 4, 30, 22, 0, 0, 123e6, time.UTC)
	if !c.Sources[0].SinceTime.Equal(want) || !c.Sources[0].UntilTime.Equal(want.Add(877*time.Millisecond)) {
		t.Errorf("SinceTime %v UntilTime %v", c.Sources[0].SinceTime, c.Sources[0].UntilTime)
	}
	if !c.Sources[1].SinceTime.IsZero() {
		t.Errorf("unset since parsed as %v", c.Sources[1].SinceTime)
	}
}

// TestParseReportsAll checks that Parse returns decode, expansion,
// credential and validation problems together.
func TestParseReportsAll(t *testing.T) {
	src := `sources:
  - owner_id: bad
    application_id: ${APP}
    since: soon
    bogus: 1
sinks:
  - type: file
    topic: t
  - type: http
log:
  level: loud
`
	got := parseProblems(t, src, envOf("CLEVER_TOKEN", "half"))
	checkProblems(t, got, []string{
		"sources[0].application_id: environment variable APP is not set",
		"sources[0].bogus: unknown key",
		"sinks[0].topic: not a setting of a file sink",
		"credentials: env CLEVER_TOKEN is set but CLEVER_SECRET is not",
		"sources[0].owner_id: must start with orga_ or user_",
		"sources[0].since: not an RFC 3339 time (such as 2024-05-01T12:00:00Z)",
		"state_dir: required",
		"sinks[0].path: required",
		"sinks[1].url: required",
		"log.level: must be debug, info, warn or error",
	}, true)
}

func TestProblemsError(t *testing.T) {
	ps := Problems{{Path: "a.b", Message: "required"}, {Message: "invalid YAML: line 1: x"}}
	if got, want := ps.Error(), "a.b: required\ninvalid YAML: line 1: x"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	var err error = ps
	var target Problems
	if !errors.As(err, &target) || len(target) != 2 {
		t.Errorf("errors.As: %v", target)
	}
	if (Problems{}).err() != nil || ps.err() == nil {
		t.Error("err() of empty and non-empty Problems")
	}
}
