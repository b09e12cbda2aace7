package config_test

import (
	"github.com/logship/logship/sinks"
	"github.com/logship/logship/sinks/file"
	"github.com/logship/logship/sinks/httpsink"
	"github.com/logship/logship/sinks/kafka"
	"github.com/logship/logship/sinks/s3"
	"github.com/logship/logship/sinks/stdout"
	"github.com/logship/logship/sinks/syslog"
)

// sinkTypes are the real sink types, as cmd/logship lists them, for the
// tests that load the shipped examples.
var sinkTypes = sinks.Table{
	stdout.Factory(),
	file.Factory(),
	httpsink.Factory(),
	kafka.Factory(),
	syslog.Factory(),
	s3.Factory(),
}.Config()

// envOf returns a lookup function over key, value pairs (nothing else is
// set: tests never see the real environment).
func envOf(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}
