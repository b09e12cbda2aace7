package config

import (
	"github.com/logship/logship/event"
	"net"
	"strconv"
	"strings"
	"time"
)

// Kafka sink settings.
const (
	// KafkaKey… are the keywords of KafkaSink.Key; anything else is a
	// template.
	KafkaKeyApplicationID = "application_id"
	KafkaKeySource        = "source"
	KafkaKeyID            = "id"
	KafkaKeyNone          = "none"

	kafkaDefaultMaxMessageBytes = 1000000
	kafkaMinMaxMessageBytes     = 1024
	kafkaMaxMaxMessageBytes     = 256 << 20
	kafkaDefaultTimeout         = 10 * time.Second
	kafkaMaxTopicLen            = 249
)

// setDefaults fills the Kafka sink's unset settings and normalises the
// spelling of its keywords.
func (s *KafkaSink) setDefaults() {
	s.Compression = strings.ToLower(s.Compression)
	if s.Compression == "" {
		s.Compression = "none"
	}
	switch s.Acks = strings.ToLower(s.Acks); s.Acks {
	case "", "-1":
		s.Acks = "all"
	case "1":
		s.Acks = "leader"
	case "0":
		s.Acks = "none"
	}
	if s.Key == "" {
		s.Key = KafkaKeyApplicationID
	}
	if s.Headers == nil {
		on := true
		s.Headers = &on
	}
	if s.MaxMessageBytes == 0 {
		s.MaxMessageBytes = kafkaDefaultMaxMessageBytes
	}
	s.Timestamp = strings.ToLower(s.Timestamp)
	if s.Timestamp == "" {
		s.Timestamp = "event"
	}
	if s.Timeout == 0 {
		s.Timeout = kafkaDefaultTimeout
	}
	if s.ClientID == "" {
		s.ClientID = "logship"
	}
	s.SASL.Mechanism = strings.ToUpper(s.SASL.Mechanism)
}

// validate returns the Kafka sink's problems; path is the sink's key path,
// e.g. "sinks[1]". It expects setDefaults to have run and does no I/O (TLS
// files are read when the sink starts).
func (s *KafkaSink) validate(path string) []Problem {
	var ps []Problem
	add := func(key, msg string) { ps = append(ps, Problem{Path: path + "." + key, Message: msg}) }

	if len(s.Brokers) == 0 {
		add("brokers", "required")
	}
	for i, b := range s.Brokers {
		if msg := checkKafkaBroker(b); msg != "" {
			add("brokers["+strconv.Itoa(i)+"]", msg)
		}
	}
	if s.Topic == "" {
		add("topic", "required")
	} else if msg := CheckKafkaTopic(s.Topic); msg != "" {
		add("topic", msg)
	}
	if s.TopicTemplate != "" {
		if msg := checkKafkaTopicTemplate(s.TopicTemplate); msg != "" {
			add("topic_template", msg)
		}
	}
	switch s.Key {
	case KafkaKeyApplicationID, KafkaKeySource, KafkaKeyID, KafkaKeyNone:
	default:
		parts, err := event.ParseTemplate(s.Key, false)
		switch {
		case err != nil:
			add("key", err.Error())
		case !kafkaHasField(parts):
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
	ps = append(ps, s.validateSASL(path)...)
	if t := s.TLS; (t.CertFile == "") != (t.KeyFile == "") {
		add("tls", "cert_file and key_file go together")
	}
	return ps
}

func (s *KafkaSink) validateSASL(path string) []Problem {
	var ps []Problem
	add := func(key, msg string) { ps = append(ps, Problem{Path: path + ".sasl." + key, Message: msg}) }
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

// checkKafkaBroker returns what is wrong with a `host:port` broker address,
// or "".
func checkKafkaBroker(b string) string {
	host, port, err := net.SplitHostPort(b)
	if err != nil || host == "" {
		return "must be host:port"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "port must be a number from 1 to 65535"
	}
	return ""
}

// CheckKafkaTopic returns what is wrong with a Kafka topic name, or "": at
// most 249 characters among ASCII letters, digits, '.', '_' and '-', and
// not "." or "..".
func CheckKafkaTopic(t string) string {
	switch {
	case t == "":
		return "empty topic name"
	case t == "." || t == "..":
		return "a topic cannot be named . or .."
	case len(t) > kafkaMaxTopicLen:
		return "a topic name has at most 249 characters"
	}
	for i := 0; i < len(t); i++ {
		if !IsKafkaTopicChar(t[i]) {
			return "a topic name holds only letters, digits, '.', '_' and '-'"
		}
	}
	return ""
}

// IsKafkaTopicChar reports whether c may appear in a Kafka topic name.
func IsKafkaTopicChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// checkKafkaTopicTemplate returns what is wrong with a topic template, or "".
func checkKafkaTopicTemplate(tmpl string) string {
	parts, err := event.ParseTemplate(tmpl, false)
	if err != nil {
		return err.Error()
	}
	if !kafkaHasField(parts) {
		return "has no {field}: use topic for a fixed topic"
	}
	for _, p := range parts {
		for _, s := range []string{p.Literal, p.Default} {
			for i := 0; i < len(s); i++ {
				if !IsKafkaTopicChar(s[i]) {
					return "literal text and defaults hold only letters, digits, '.', '_' and '-'"
				}
			}
		}
	}
	return ""
}

func kafkaHasField(parts []event.TemplatePart) bool {
	for _, p := range parts {
		if p.Field != "" {
			return true
		}
	}
	return false
}
