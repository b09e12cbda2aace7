package config

import "time"

// KafkaSink produces one message per event: value = the event's JSON object.
//
// Keys (under a `sinks[]` entry of type `kafka`): brokers, topic,
// topic_template, key, headers, compression, acks, max_message_bytes,
// allow_auto_create_topics, timestamp, timeout, client_id, sasl, tls.
type KafkaSink struct {
	// Brokers are the bootstrap brokers, `host:port` each.
	Brokers []string `yaml:"brokers"`
	// Topic receives every event, or, with TopicTemplate, the events whose
	// templated topic cannot be made (a field is missing) or does not exist.
	Topic string `yaml:"topic"`
	// TopicTemplate makes each event's topic from its fields, with the
	// syntax of ParseHTTPTemplate without dates: `logs-{applicationId}`,
	// `logs-{zone:-unknown}`. Empty: every event goes to Topic.
	TopicTemplate string `yaml:"topic_template"`
	// Key is the message key: application_id (default: one application's
	// lines stay in one partition, in order), source, id, none (no key:
	// spread over partitions), or a template such as `{instanceId}` (an
	// event lacking a field gets the application id).
	Key string `yaml:"key"`
	// Headers adds the headers `id` (event id), `applicationId` and
	// `source` (logship's source name) to each message; default true.
	Headers *bool `yaml:"headers"`
	// Compression is none (default), gzip, snappy, lz4 or zstd.
	Compression string `yaml:"compression"`
	// Acks is how many replicas must have the messages before a write
	// counts as done: all (default; in-sync replicas), leader, or none (no
	// acknowledgement: no delivery guarantee at all).
	Acks string `yaml:"acks"`
	// MaxMessageBytes bounds one message (key, value, headers and framing)
	// and one request's batch per partition (default 1000000). A larger
	// event goes to the dead-letter file. Keep it at or below the topic's
	// max.message.bytes.
	MaxMessageBytes int `yaml:"max_message_bytes"`
	// AllowAutoCreateTopics lets the brokers create a missing topic on the
	// first write (default false: a missing topic is an error).
	AllowAutoCreateTopics bool `yaml:"allow_auto_create_topics"`
	// Timestamp is each message's timestamp: event (default: the log
	// line's date) or now (the time logship produces it).
	Timestamp string `yaml:"timestamp"`
	// Timeout bounds one request to a broker (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// ClientID is sent to the brokers (default `logship`).
	ClientID string    `yaml:"client_id"`
	SASL     KafkaSASL `yaml:"sasl"`
	TLS      KafkaTLS  `yaml:"tls"`
}

// KafkaSASL authenticates to the brokers. Mechanism empty: no SASL.
type KafkaSASL struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (any case).
	Mechanism string `yaml:"mechanism"`
	Username  string `yaml:"username"`
	Password  Secret `yaml:"password"`
}

// KafkaTLS configures TLS to the brokers. TLS is on when Enabled is true or
// any file is set; certificates are verified unless InsecureSkipVerify.
type KafkaTLS struct {
	Enabled bool `yaml:"enabled"`
	// CAFile is a PEM bundle of the CAs to trust instead of the system ones.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a PEM client certificate and its key (mTLS).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the brokers' certificates
	// (default: each broker's host).
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// On reports whether TLS is used.
func (t KafkaTLS) On() bool {
	return t.Enabled || t.CAFile != "" || t.CertFile != "" || t.KeyFile != ""
}
