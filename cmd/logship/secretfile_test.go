package main

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/logship/logship/config"
)

// TestUnreadableSecretFileOneProblem: a secret's `_file` that cannot be
// read is one problem, at that key, for every sink type that has a secret
// the sink requires; the "required" that follows from it is not reported
// as well.
func TestUnreadableSecretFileOneProblem(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	head := "sources: [{owner_id: orga_1, application_id: app_1}]\nstate_dir: " + t.TempDir() + "\n"
	tests := []struct{ name, yaml, want string }{
		{"api token", "api: {token_file: " + missing + "}\nsinks: [{type: stdout}]\n", "api.token_file"},
		{"http bearer", "sinks:\n  - {type: http, url: 'http://127.0.0.1:1/', auth: {strategy: bearer, token_file: " + missing + "}}\n", "sinks[0].auth.token_file"},
		{"http basic", "sinks:\n  - {type: http, url: 'http://127.0.0.1:1/', auth: {strategy: basic, user: u, password_file: " + missing + "}}\n", "sinks[0].auth.password_file"},
		{"datadog", "sinks:\n  - {type: http, encoding: datadog, datadog: {api_key_file: " + missing + "}}\n", "sinks[0].datadog.api_key_file"},
		{"kafka sasl", "sinks:\n  - {type: kafka, brokers: ['h:1'], topic: t, sasl: {mechanism: plain, username: u, password_file: " + missing + "}}\n", "sinks[0].sasl.password_file"},
		{"s3", "sinks:\n  - {type: s3, bucket: logs, access_key_id: a, secret_access_key_file: " + missing + "}\n", "sinks[0].secret_access_key_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Parse([]byte(head+tt.yaml), func(string) (string, bool) { return "", false }, sinkTable.Config())
			var ps config.Problems
			if !errors.As(err, &ps) {
				t.Fatalf("Parse: %v, want problems", err)
			}
			if len(ps) != 1 || ps[0].Path != tt.want || ps[0].Message != "cannot read the file: no such file" {
				t.Errorf("problems:\n%v\nwant only %s: cannot read the file: no such file", ps, tt.want)
			}
		})
	}
}
