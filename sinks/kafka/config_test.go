package kafka

import (
	"github.com/logship/logship/config"

	"slices"
	"testing"
	"time"

	"github.com/logship/logship/sinks"
)

func TestKafkaSinkDefaults(t *testing.T) {
	s := NewDefaultConfig()
	s.Brokers, s.Topic, s.Acks, s.Compression, s.SASL = []string{"k1:9092"}, "logs", "1", "ZSTD", SASLConfig{Mechanism: "scram-sha-512", Username: "u", Password: "p"}
	s.Resolve()
	if s.Acks != "leader" || s.Compression != "zstd" || s.Key != KeyApplicationID || !s.Headers ||
		s.MaxMessageBytes != 1000000 || s.Timestamp != "event" || s.Timeout.D() != 10*time.Second || s.ClientID != "logship" ||
		s.SASL.Mechanism != "SCRAM-SHA-512" {
		t.Fatalf("defaults: %+v", s)
	}
	if ps := s.Validate(); len(ps) > 0 {
		t.Fatalf("defaults invalid: %v", ps)
	}
}

func TestKafkaSinkValidate(t *testing.T) {
	valid := func() Config {
		c := NewDefaultConfig()
		c.Brokers, c.Topic = []string{"k1:9092", "10.0.0.2:9093"}, "logs"
		return *c
	}
	tests := []struct {
		name string
		edit func(*Config)
		want []string // "path: message" of every problem
	}{
		{"valid", func(*Config) {}, nil},
		{"valid, everything set", func(s *Config) {
			s.TopicTemplate, s.Key, s.Compression, s.Acks = "logs-{applicationId}-{zone:-none}", "{instanceId}", "lz4", "all"
			s.SASL = SASLConfig{Mechanism: "plain", Username: "u", Password: "p"}
			s.TLS = TLSConfig{TLSConfig: sinks.TLSConfig{CAFile: "ca.pem", CertFile: "c.pem", KeyFile: "k.pem"}}
		}, nil},
		{"missing", func(s *Config) { s.Brokers, s.Topic = nil, "" },
			[]string{"brokers: required", "topic: required"}},
		{"bad brokers", func(s *Config) { s.Brokers = []string{"k1", ":9092", "k1:0", "k1:x"} }, []string{
			"brokers[0]: must be host:port", "brokers[1]: must be host:port",
			"brokers[2]: port must be a number from 1 to 65535", "brokers[3]: port must be a number from 1 to 65535"}},
		{"bad topic", func(s *Config) { s.Topic = "logs/app" },
			[]string{"topic: a topic name holds only letters, digits, '.', '_' and '-'"}},
		{"bad templates", func(s *Config) { s.TopicTemplate, s.Key = "logs {applicationId}", "{x" }, []string{
			"topic_template: literal text and defaults hold only letters, digits, '.', '_' and '-'",
			"key: unclosed '{'"}},
		{"template without field", func(s *Config) { s.TopicTemplate, s.Key = "logs", "app" }, []string{
			"topic_template: has no {field}: use topic for a fixed topic",
			"key: must be application_id, source, id, none or a template with a {field}"}},
		{"bad keywords", func(s *Config) { s.Compression, s.Acks, s.Timestamp = "brotli", "2", "later" }, []string{
			"compression: must be none, gzip, snappy, lz4 or zstd", "acks: must be all, leader or none",
			"timestamp: must be event or now"}},
		{"bad numbers", func(s *Config) { s.MaxMessageBytes, s.Timeout = 100, config.Duration(-time.Second) }, []string{
			"max_message_bytes: must be between 1024 and 268435456", "timeout: must be positive"}},
		{"sasl incomplete", func(s *Config) { s.SASL = SASLConfig{Mechanism: "SCRAM-SHA-256"} }, []string{
			"sasl.username: required with a sasl mechanism", "sasl.password: required with a sasl mechanism"}},
		{"sasl without mechanism", func(s *Config) { s.SASL = SASLConfig{Username: "u", Password: "p"} }, []string{
			"sasl.mechanism: required when a username or password is set (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)"}},
		{"sasl unknown mechanism", func(s *Config) { s.SASL = SASLConfig{Mechanism: "GSSAPI", Username: "u", Password: "p"} }, []string{
			"sasl.mechanism: must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512"}},
		{"tls half a pair", func(s *Config) { s.TLS.CertFile = "c.pem" }, []string{"tls: cert_file and key_file go together"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := valid()
			tt.edit(&s)
			s.Resolve()
			var got []string
			for _, p := range s.Validate() {
				got = append(got, p.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}

func TestCheckTopic(t *testing.T) {
	long := string(make([]byte, 250))
	for topic, ok := range map[string]bool{"logs": true, "logs.app_1-x": true, "": false, ".": false, "..": false, "a b": false, long: false} {
		if got := CheckTopic(topic) == ""; got != ok {
			t.Errorf("CheckTopic(%q) ok = %v, want %v", topic, got, ok)
		}
	}
}
