// Package config loads logship's YAML configuration: `${VAR}` expansion,
// defaults, strict decoding (unknown keys are errors), validation that names
// every problem with its key path, credentials from Clever Cloud's usual
// places, and redaction of secrets.
//
// Load (or Parse) does all of it and returns either a Config ready to use
// (defaults applied, per-sink batch and buffer resolved, sources' since and
// until parsed, credentials resolved) or a Problems error listing every
// problem, one `key.path: message` each. No value of the file ever appears
// in a problem: values may be credentials.
package config

import "time"

// Config is the whole configuration file. The defaults named in the field
// comments are those of Default and Load.
type Config struct {
	API     API      `yaml:"api"`
	Sources []Source `yaml:"sources"` // at least one
	// StateDir is the directory of the checkpoints (required).
	StateDir   string     `yaml:"state_dir"`
	Checkpoint Checkpoint `yaml:"checkpoint"`
	Pipeline   Pipeline   `yaml:"pipeline"`
	Sinks      []Sink     `yaml:"sinks"` // at least one
	DeadLetter DeadLetter `yaml:"dead_letter"`
	Metrics    Metrics    `yaml:"metrics"`
	Log        Log        `yaml:"log"`
	// Enrichment tunes sources[].enrich (shared by every source).
	Enrichment Enrichment `yaml:"enrichment"`
	// ShutdownTimeout bounds the drain at SIGTERM: after it, what is still in
	// flight is abandoned (and not checkpointed). Default 30s.
	ShutdownTimeout Duration `yaml:"shutdown_timeout"`

	// sinkFactories are the sink types Parse was given, to name them in
	// problems.
	sinkFactories []SinkFactory
}

// API is how to reach and authenticate to the Clever Cloud API.
//
// When neither Token nor OAuth.Token is set in the file, Load looks for
// credentials elsewhere (see ResolveCredentials). Having none is not an
// error (an emulator may need none): see Config.HasCredentials.
type API struct {
	// URL is the API base URL; default https://api.clever-cloud.com.
	URL string `yaml:"url"`
	// Token is an API token, sent as `Authorization: Bearer …`. It and
	// OAuth.Token exclude each other.
	Token Secret `yaml:"token"`
	OAuth OAuth  `yaml:"oauth"`

	// CredentialsFrom says where the credentials in use come from, for
	// logs: "config api.token", "config api.oauth", "env CLEVER_API_TOKEN",
	// "env CLEVER_TOKEN", "env CC_OAUTH_TOKEN", "file /…/clever-tools.json",
	// or "" when there are none. It never holds a credential.
	CredentialsFrom string `yaml:"-"`
}

// OAuth holds OAuth1 credentials, as `clever login` stores them.
type OAuth struct {
	// ConsumerKey and ConsumerSecret identify the OAuth client; when both
	// are unset they come from CC_CONSUMER_KEY and CC_CONSUMER_SECRET, else
	// default to clever-tools' public pair (DefaultConsumerKey,
	// DefaultConsumerSecret).
	ConsumerKey    string `yaml:"consumer_key"`
	ConsumerSecret Secret `yaml:"consumer_secret"`
	// Token and Secret are the user's OAuth token pair; both or neither.
	Token  Secret `yaml:"token"`
	Secret Secret `yaml:"secret"`
	// Signature is `plaintext` (default, as clever-tools sends) or
	// `hmac-sha512` (RFC 5849).
	Signature string `yaml:"signature"`
}

// Source is one application's log stream.
type Source struct {
	// Name identifies the source in logs, metrics and checkpoints; default
	// the application id. Letters, digits, '.', '_' and '-'; unique.
	Name string `yaml:"name"`
	// OwnerID is the organisation (`orga_…`) or user (`user_…`) owning the
	// application (required).
	OwnerID string `yaml:"owner_id"`
	// ApplicationID is `app_…` (required, unless Discover is set).
	ApplicationID string `yaml:"application_id"`
	// Discover, instead of ApplicationID, follows every application of
	// OwnerID that its patterns select, found through the API and polled
	// for changes (see Discover). Each application is a source of its own,
	// named `{name}/{application id}`, with its own checkpoint.
	Discover *Discover `yaml:"discover"`
	// Enrich (default true) adds to every line, under Enrichment.Key, what
	// the API says of its application, instance, deployment and zone.
	Enrich bool `yaml:"enrich"`
	// Since and Until are RFC 3339 times. Since applies only when no
	// checkpoint exists yet (default: now); with Until, the source ends
	// once the API has sent everything up to it. Until must be after Since.
	Since string `yaml:"since"`
	Until string `yaml:"until"`
	// DeploymentID, InstanceIDs, Filter, Fields, Services and Limit are the
	// logs endpoint's query parameters deploymentId, instanceId (repeated),
	// filter, field (repeated), service (repeated) and limit (0: none).
	DeploymentID string   `yaml:"deployment_id"`
	InstanceIDs  []string `yaml:"instance_ids"`
	Filter       string   `yaml:"filter"`
	Fields       []string `yaml:"fields"`
	Services     []string `yaml:"services"`
	Limit        int      `yaml:"limit"`
	// ThrottleElements and ThrottlePerMs are the query parameters
	// throttleElements and throttlePerInMilliseconds: the server sends at
	// most ThrottleElements lines per ThrottlePerMs milliseconds. Defaults
	// 2000 and 100, well above the server's own default (~333 lines/s).
	ThrottleElements int `yaml:"throttle_elements"`
	ThrottlePerMs    int `yaml:"throttle_per_ms"`
	// Lookback is how far before the newest delivered date a resume asks
	// for (`since`), to catch lines that arrive out of date order. Default
	// 10s.
	Lookback Duration `yaml:"lookback"`
	// HeartbeatTimeout: a stream silent this long is dead and reconnected.
	// Default 6s (the API sends a heartbeat about every 2s).
	HeartbeatTimeout Duration `yaml:"heartbeat_timeout"`
	// MaxEventBytes: a log line larger than this goes to the dead-letter
	// file instead of the sinks. Default 1 MiB.
	MaxEventBytes ByteSize `yaml:"max_event_bytes"`

	// SinceTime and UntilTime are Since and Until parsed by Validate (zero
	// when unset).
	SinceTime time.Time `yaml:"-"`
	UntilTime time.Time `yaml:"-"`
	// PushFields and PushFilter are what Load asks the API to select on
	// the pipeline's behalf (pipeline.push_down): the fields the pipeline
	// keeps, and its one plain message substring. They are set only when
	// Fields, respectively Filter, is unset; the source sends them in
	// their place. The pipeline still enforces both itself.
	PushFields []string `yaml:"-"`
	PushFilter string   `yaml:"-"`
}

// Checkpoint says how often delivered positions are saved.
type Checkpoint struct {
	// Interval between saves while running (default 1s); a clean stop
	// always saves.
	Interval Duration `yaml:"interval"`
}

// Pipeline shapes events between the sources and the sinks. The stages
// run in this order: filter (cheap drops first), throttle, fields; then
// each sink's batching and bounded buffer.
type Pipeline struct {
	Filter   Filter   `yaml:"filter"`
	Throttle Throttle `yaml:"throttle"`
	Fields   Fields   `yaml:"fields"`
	// Batch and Buffer are the defaults of every sink (see Sink.Batch).
	Batch  Batch  `yaml:"batch"`
	Buffer Buffer `yaml:"buffer"`
	// PushDown asks the API to do part of the work (default true): it
	// sends fields.include (plus id, date and what the other stages read)
	// as the `field` parameter of the sources that set no `fields`, and a
	// single ASCII filter.message_contains as the `filter` parameter of
	// the sources that set no `filter`. The pipeline still enforces both.
	PushDown bool `yaml:"push_down"`
}

// Filter drops events by content before anything else. An event passes
// when it passes every condition set; dropped events are counted
// (logship_events_dropped_total{reason="filter"}) and count as delivered.
type Filter struct {
	// MinSeverity keeps events at least this severe: emerg, alert, crit,
	// err, warning, notice, info or debug (syslog order; error, warn,
	// critical, emergency, panic and informational are accepted too).
	// Events without a known severity pass (their `priority` modulo 8 is
	// used when it is a number).
	MinSeverity string `yaml:"min_severity"`
	// MessageContains keeps events whose message holds one of these
	// substrings, case-insensitively (as the API's own filter);
	// MessageNotContains drops those holding any of them.
	MessageContains    []string `yaml:"message_contains"`
	MessageNotContains []string `yaml:"message_not_contains"`
	// MessageMatches keeps events whose message matches one of these
	// regular expressions (RE2 syntax, case-sensitive unless `(?i)`);
	// MessageNotMatches drops those matching any of them.
	MessageMatches    []string `yaml:"message_matches"`
	MessageNotMatches []string `yaml:"message_not_matches"`
}

// Throttle is a token bucket: one over all sources, or one per
// application or per instance.
type Throttle struct {
	// Rate is in events per second; 0 (default): no throttle.
	Rate float64 `yaml:"rate"`
	// Burst is the bucket size; default max(1, ⌈Rate⌉) when Rate > 0.
	Burst int `yaml:"burst"`
	// Mode is `block` (default: slow the sources down) or `drop` (count
	// and drop what exceeds the rate).
	Mode string `yaml:"mode"`
	// Key is what a bucket is kept for: `global` (default, empty too: one
	// bucket), `application` (one per application id) or `instance` (one
	// per instanceId of the events).
	Key string `yaml:"key"`
}

// Fields shapes the top-level fields of each event, in this order:
// include or exclude (one of the two at most), parse_message_json, rename,
// add. Field names are the API's (before any rename).
type Fields struct {
	Include []string `yaml:"include"`
	Exclude []string `yaml:"exclude"`
	// ParseMessageJSON replaces a `message` that holds a JSON object (as
	// text) by that object; other messages are kept as they are.
	ParseMessageJSON bool `yaml:"parse_message_json"`
	// Rename maps a field's name to a new one; a field already holding a
	// new name is replaced when the renamed field is present.
	Rename map[string]string `yaml:"rename"`
	// Add holds static string values that every event gets, under one
	// object named AddKey: {"logship":{"env":"prod"}}. An event's own
	// field of that name is replaced.
	Add    map[string]string `yaml:"add"`
	AddKey string            `yaml:"add_key"` // default "logship"
}

// Batch says when a batch is handed to a sink: as soon as it holds
// MaxEvents events or MaxBytes bytes, or MaxWait after its first event.
type Batch struct {
	MaxEvents int      `yaml:"max_events"` // default 1000
	MaxBytes  ByteSize `yaml:"max_bytes"`  // default 1 MiB
	MaxWait   Duration `yaml:"max_wait"`   // default 200ms
}

// Buffer bounds the memory each sink may hold (queued and in flight).
type Buffer struct {
	// MaxBytes is the bound (default 64 MiB); at least Batch.MaxBytes.
	MaxBytes ByteSize `yaml:"max_bytes"`
	// WhenFull is what happens to an event that does not fit: `block`
	// (default, empty too: wait, which stops reading the streams) or
	// `drop_newest` (drop it for this sink, counted as
	// logship_events_dropped_total{reason="buffer_full"}).
	WhenFull string `yaml:"when_full"`
}

// DeadLetter is the file where refused and oversized events go.
type DeadLetter struct {
	Path string `yaml:"path"` // default: {state_dir}/dead-letter.ndjson
}

// Metrics is the operations endpoint.
type Metrics struct {
	// Listen is the `host:port` serving /metrics, /healthz and /readyz;
	// empty (default): no endpoint.
	Listen string `yaml:"listen"`
	// Ready bounds what /readyz tolerates before answering 503.
	Ready Ready `yaml:"ready"`
}

// Ready bounds how long /readyz stays 200 while something is down.
type Ready struct {
	// SourceDownAfter: a source unable to stream for longer makes logship
	// not ready (default 60s).
	SourceDownAfter Duration `yaml:"source_down_after"`
	// SinkFailingAfter: a sink whose writes have failed for longer makes
	// logship not ready (default 60s).
	SinkFailingAfter Duration `yaml:"sink_failing_after"`
}

// Log configures logship's own logs (on stderr).
type Log struct {
	Level  string `yaml:"level"`  // debug, info (default), warn, error
	Format string `yaml:"format"` // json (default) or console
}
