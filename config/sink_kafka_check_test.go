package config

import (
	"slices"
	"testing"
	"time"
)

func TestKafkaSinkDefaults(t *testing.T) {
	s := KafkaSink{Brokers: []string{"k1:9092"}, Topic: "logs", Acks: "1", Compression: "ZSTD", SASL: KafkaSASL{Mechanism: "scram-sha-512"}}
	s.setDefaults()
	if s.Acks != "leader" || s.Compression != "zstd" || s.Key != KafkaKeyApplicationID || s.Headers == nil || !*s.Headers ||
		s.MaxMessageBytes != 1000000 || s.Timestamp != "event" || s.Timeout != 10*time.Second || s.ClientID != "logship" ||
		s.SASL.Mechanism != "SCRAM-SHA-512" {
		t.Fatalf("defaults: %+v", s)
	}
	off := false
	s = KafkaSink{Headers: &off, Acks: "none"}
	s.setDefaults()
	if *s.Headers || s.Acks != "none" {
		t.Fatalf("explicit settings changed: %+v", s)
	}
}

func TestKafkaSinkValidate(t *testing.T) {
	valid := func() KafkaSink {
		return KafkaSink{Brokers: []string{"k1:9092", "10.0.0.2:9093"}, Topic: "logs"}
	}
	tests := []struct {
		name string
		edit func(*KafkaSink)
		want []string // "path: message" of every problem
	}{
		{"valid", func(*KafkaSink) {}, nil},
		{"valid, everything set", func(s *KafkaSink) {
			s.TopicTemplate, s.Key, s.Compression, s.Acks = "logs-{applicationId}-{zone:-none}", "{instanceId}", "lz4", "all"
			s.SASL = KafkaSASL{Mechanism: "plain", Username: "u", Password: "p"}
			s.TLS = KafkaTLS{CAFile: "ca.pem", CertFile: "c.pem", KeyFile: "k.pem"}
		}, nil},
		{"missing", func(s *KafkaSink) { s.Brokers, s.Topic = nil, "" },
			[]string{"sinks[2].brokers: required", "sinks[2].topic: required"}},
		{"bad brokers", func(s *KafkaSink) { s.Brokers = []string{"k1", ":9092", "k1:0", "k1:x"} }, []string{
			"sinks[2].brokers[0]: must be host:port", "sinks[2].brokers[1]: must be host:port",
			"sinks[2].brokers[2]: port must be a number from 1 to 65535", "sinks[2].brokers[3]: port must be a number from 1 to 65535"}},
		{"bad topic", func(s *KafkaSink) { s.Topic = "logs/app" },
			[]string{"sinks[2].topic: a topic name holds only letters, digits, '.', '_' and '-'"}},
		{"bad templates", func(s *KafkaSink) { s.TopicTemplate, s.Key = "logs {applicationId}", "{x" }, []string{
			"sinks[2].topic_template: literal text and defaults hold only letters, digits, '.', '_' and '-'",
			"sinks[2].key: unclosed '{'"}},
		{"template without field", func(s *KafkaSink) { s.TopicTemplate, s.Key = "logs", "app" }, []string{
			"sinks[2].topic_template: has no {field}: use topic for a fixed topic",
			"sinks[2].key: must be application_id, source, id, none or a template with a {field}"}},
		{"bad keywords", func(s *KafkaSink) { s.Compression, s.Acks, s.Timestamp = "brotli", "2", "later" }, []string{
			"sinks[2].compression: must be none, gzip, snappy, lz4 or zstd", "sinks[2].acks: must be all, leader or none",
			"sinks[2].timestamp: must be event or now"}},
		{"bad numbers", func(s *KafkaSink) { s.MaxMessageBytes, s.Timeout = 100, -time.Second }, []string{
			"sinks[2].max_message_bytes: must be between 1024 and 268435456", "sinks[2].timeout: must be positive"}},
		{"sasl incomplete", func(s *KafkaSink) { s.SASL = KafkaSASL{Mechanism: "SCRAM-SHA-256"} }, []string{
			"sinks[2].sasl.username: required with a sasl mechanism", "sinks[2].sasl.password: required with a sasl mechanism"}},
		{"sasl without mechanism", func(s *KafkaSink) { s.SASL = KafkaSASL{Username: "u", Password: "p"} }, []string{
			"sinks[2].sasl.mechanism: required when a username or password is set (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)"}},
		{"sasl unknown mechanism", func(s *KafkaSink) { s.SASL = KafkaSASL{Mechanism: "GSSAPI", Username: "u", Password: "p"} }, []string{
			"sinks[2].sasl.mechanism: must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"}},
		{"tls half a pair", func(s *KafkaSink) { s.TLS.CertFile = "c.pem" }, []string{"sinks[2].tls: cert_file and key_file go together"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := valid()
			tt.edit(&s)
			s.setDefaults()
			var got []string
			for _, p := range s.validate("sinks[2]") {
				got = append(got, p.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}

func TestCheckKafkaTopic(t *testing.T) {
	long := string(make([]byte, 250))
	for topic, ok := range map[string]bool{"logs": true, "logs.app_1-x": true, "": false, ".": false, "..": false, "a b": false, long: false} {
		if got := CheckKafkaTopic(topic) == ""; got != ok {
			t.Errorf("CheckKafkaTopic(%q) ok = %v, want %v", topic, got, ok)
		}
	}
}
