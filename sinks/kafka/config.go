package kafka

import (
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/logship/logship/config"
	"github.com/logship/logship/event"
	"github.com/logship/logship/pipeline"
	"github.com/logship/logship/sinks"
)

// Config produces one message per event: value = the event's JSON object.
//
// Keys (under a `sinks[]` entry of type `kafka`): brokers, topic,
// topic_template, key, headers, compression, acks, max_message_bytes,
// allow_auto_create_topics, timestamp, timeout, client_id, sasl, tls.
type Config struct {
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
	Headers bool `yaml:"headers"`
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
	MaxMessageBytes config.ByteSize `yaml:"max_message_bytes"`
	// AllowAutoCreateTopics lets the brokers create a missing topic on the
	// first write (default false: a missing topic is an error).
	AllowAutoCreateTopics bool `yaml:"allow_auto_create_topics"`
	// Timestamp is each message's timestamp: event (default: the log
	// line's date) or now (the time logship produces it).
	Timestamp string `yaml:"timestamp"`
	// Timeout bounds one request to a broker (default 10s).
	Timeout config.Duration `yaml:"timeout"`
	// ClientID is sent to the brokers (default `logship`).
	ClientID string     `yaml:"client_id"`
	SASL     SASLConfig `yaml:"sasl"`
	TLS      TLSConfig  `yaml:"tls"`
}

// SASLConfig authenticates to the brokers. Mechanism empty: no SASL.
type SASLConfig struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (any case).
	Mechanism string        `yaml:"mechanism"`
	Username  string        `yaml:"username"`
	Password  config.Secret `yaml:"password"`
}

// TLSConfig configures TLS to the brokers: the keys every network sink
// has (sinks.TLSConfig; the server name defaults to each broker's host)
// and `enabled`. TLS is on when Enabled is true or any file is set.
type TLSConfig struct {
	Enabled         bool `yaml:"enabled"`
	sinks.TLSConfig `yaml:",inline"`
}

// On reports whether TLS is used.
func (t TLSConfig) On() bool {
	return t.Enabled || t.CAFile != "" || t.CertFile != "" || t.KeyFile != ""
}

// Kafka sink settings.
const (
	// KafkaKey… are the keywords of Config.Key; anything else is a
	// template.
	KeyApplicationID = "application_id"
	KeySource        = "source"
	KeyID            = "id"
	KeyNone          = "none"

	kafkaDefaultMaxMessageBytes = 1000000
	kafkaMinMaxMessageBytes     = 1024
	kafkaMaxMaxMessageBytes     = 256 << 20
	kafkaDefaultTimeout         = 10 * time.Second
	kafkaMaxTopicLen            = 249
)

// NewDefaultConfig returns the sink's defaults (Brokers and Topic have
// none).
func NewDefaultConfig() *Config {
	return &Config{
		Key:             KeyApplicationID,
		Headers:         true,
		Compression:     "none",
		Acks:            "all",
		MaxMessageBytes: kafkaDefaultMaxMessageBytes,
		Timestamp:       "event",
		Timeout:         config.Duration(kafkaDefaultTimeout),
		ClientID:        "logship",
	}
}

// Resolve normalises the spelling of the keywords once the entry is
// decoded (config.SinkResolver): compression, acks (-1, 1 and 0 are all,
// leader and none) and timestamp in lower case, the SASL mechanism in
// upper case.
func (s *Config) Resolve() {
	s.Compression = strings.ToLower(s.Compression)
	switch s.Acks = strings.ToLower(s.Acks); s.Acks {
	case "-1":
		s.Acks = "all"
	case "1":
		s.Acks = "leader"
	case "0":
		s.Acks = "none"
	}
	s.Timestamp = strings.ToLower(s.Timestamp)
	s.SASL.Mechanism = strings.ToUpper(s.SASL.Mechanism)
}

// Factory is the Kafka sink's entry in logship's table of sinks.
func Factory() sinks.Factory {
	return sinks.Factory{
		SinkFactory: config.SinkFactory{
			Type:             "kafka",
			NewDefaultConfig: func() config.SinkConfig { return NewDefaultConfig() },
		},
		New: func(cfg config.SinkConfig, set sinks.Settings) (pipeline.Sink, error) {
			return New(cfg.(*Config), Options{Name: set.Name, Logger: set.Logger, Batch: set.Batch})
		},
	}
}

// Validate returns every problem of s, with paths relative to the sink. It
// expects Resolve to have run and does no I/O (TLS files are read when the
// sink starts).
func (s *Config) Validate() config.Problems {
	var ps config.Problems
	add := func(key, msg string) { ps = append(ps, config.Problem{Path: key, Message: msg}) }

	if len(s.Brokers) == 0 {
		add("brokers", "required")
	}
	for i, b := range s.Brokers {
		if msg := checkBroker(b); msg != "" {
			add("brokers["+strconv.Itoa(i)+"]", msg)
		}
	}
	if s.Topic == "" {
		add("topic", "required")
	} else if msg := CheckTopic(s.Topic); msg != "" {
		add("topic", msg)
	}
	if s.TopicTemplate != "" {
		if msg := checkTopicTemplate(s.TopicTemplate); msg != "" {
			add("topic_template", msg)
		}
	}
	switch s.Key {
	case KeyApplicationID, KeySource, KeyID, KeyNone:
	default:
		parts, err := event.ParseTemplate(s.Key, false)
		switch {
		case err != nil:
			add("key", err.Error())
		case !hasField(parts):
			add("key", "must be application_id, source, id, none or a template with a {field}")
		}
	}
	switch s.Compression {
	case "none", "gzip", "snappy", "lz4", "zstd":
	default:
		add("compression", "must be none, gzip, snappy, lz4 or zstd")
	}
	switch s.Acks {
	case "all", "leader", "none":
	default:
		add("acks", "must be all, leader or none")
	}
	if s.MaxMessageBytes < kafkaMinMaxMessageBytes || s.MaxMessageBytes > kafkaMaxMaxMessageBytes {
		add("max_message_bytes", "must be between 1024 and 268435456")
	}
	switch s.Timestamp {
	case "event", "now":
	default:
		add("timestamp", "must be event or now")
	}
	if s.Timeout < 0 {
		add("timeout", "must be positive")
	}
	ps = append(ps, s.validateSASL()...)
	ps = append(ps, s.TLS.Validate()...)
	return ps
}

func (s *Config) validateSASL() config.Problems {
	var ps config.Problems
	add := func(key, msg string) { ps = append(ps, config.Problem{Path: "sasl." + key, Message: msg}) }
	a := s.SASL
	switch a.Mechanism {
	case "":
		if a.Username != "" || a.Password != "" {
			add("mechanism", "required when a username or password is set (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)")
		}
		return ps
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
	default:
		add("mechanism", "must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	}
	if a.Username == "" {
		add("username", "required with a sasl mechanism")
	}
	if a.Password == "" {
		add("password", "required with a sasl mechanism")
	}
	return ps
}

// checkBroker returns what is wrong with a `host:port` broker address,
// or "".
func checkBroker(b string) string {
	host, port, err := net.SplitHostPort(b)
	if err != nil || host == "" {
		return "must be host:port"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "port must be a number from 1 to 65535"
	}
	return ""
}

// CheckTopic returns what is wrong with a Kafka topic name, or "": at
// most 249 characters among ASCII letters, digits, '.', '_' and '-', and
// not "." or "..".
func CheckTopic(t string) string {
	switch {
	case t == "":
		return "empty topic name"
	case t == "." || t == "..":
		return "a topic cannot be named . or .."
	case len(t) > kafkaMaxTopicLen:
		return "a topic name has at most 249 characters"
	}
	for i := 0; i < len(t); i++ {
		if !IsTopicChar(t[i]) {
			return "a topic name holds only letters, digits, '.', '_' and '-'"
		}
	}
	return ""
}

// IsTopicChar reports whether c may appear in a Kafka topic name.
func IsTopicChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// checkTopicTemplate returns what is wrong with a topic template, or "".
func checkTopicTemplate(tmpl string) string {
	parts, err := event.ParseTemplate(tmpl, false)
	if err != nil {
		return err.Error()
	}
	if !hasField(parts) {
		return "has no {field}: use topic for a fixed topic"
	}
	for _, p := range parts {
		for _, s := range []string{p.Literal, p.Default} {
			for i := 0; i < len(s); i++ {
				if !IsTopicChar(s[i]) {
					return "literal text and defaults hold only letters, digits, '.', '_' and '-'"
				}
			}
		}
	}
	return ""
}

func hasField(parts []event.TemplatePart) bool {
	for _, p := range parts {
		if p.Field != "" {
			return true
		}
	}
	return false
}
