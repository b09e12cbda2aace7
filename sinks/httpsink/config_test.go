package httpsink

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/logship/logship/config"
	"github.com/logship/logship/sinks"
)

// withDefaults returns the default configuration, edited, then resolved
// as the loader does.
func withDefaults(edit func(*Config)) *Config {
	c := NewDefaultConfig()
	edit(c)
	c.Resolve()
	return c
}

func TestHTTPSinkDefaults(t *testing.T) {
	s := withDefaults(func(s *Config) { s.URL, s.Method = "https://x/", "put" })
	if s.Method != "PUT" || s.Encoding != "ndjson" || s.Compression != "none" || s.Timeout.D() != 30*time.Second ||
		s.Auth.Strategy != "none" {
		t.Errorf("defaults: %+v", s)
	}
	if ps := s.Validate(); len(ps) != 0 {
		t.Errorf("defaults are invalid: %v", ps)
	}
	es := withDefaults(func(s *Config) { s.URL, s.Encoding = "https://x/_bulk", "elasticsearch_bulk" })
	if es.Elasticsearch.Index != "logship-%Y.%m.%d" || es.Elasticsearch.Action != "create" {
		t.Errorf("elasticsearch defaults: %+v", es.Elasticsearch)
	}
	loki := withDefaults(func(s *Config) { s.URL, s.Encoding = "https://x/loki/api/v1/push", "loki" })
	if len(loki.Loki.Labels) != 2 || loki.Loki.Labels["application_id"] != "{applicationId}" {
		t.Errorf("loki defaults: %+v", loki.Loki)
	}
	for _, a := range []struct {
		auth AuthConfig
		want string
	}{
		{AuthConfig{Token: "t"}, "bearer"},
		{AuthConfig{User: "u", Password: "p"}, "basic"},
		{AuthConfig{}, "none"},
		{AuthConfig{Strategy: "basic", User: "u"}, "basic"},
	} {
		s := withDefaults(func(s *Config) { s.Auth = a.auth })
		if s.Auth.Strategy != a.want {
			t.Errorf("strategy for %+v: %q, want %q", a.auth, s.Auth.Strategy, a.want)
		}
	}
}

func TestHTTPSinkValidate(t *testing.T) {
	valid := func(f func(*Config)) *Config {
		return withDefaults(func(s *Config) { s.URL = "https://logs.example/in"; f(s) })
	}
	tests := []struct {
		name string
		sink *Config
		want []string // problems, as "key: message" after "sinks[2]."
	}{
		{"ok", valid(func(*Config) {}), nil},
		{"no url", valid(func(s *Config) { s.URL = "" }), []string{"url: required"}},
		{"ftp", valid(func(s *Config) { s.URL = "ftp://x/" }), []string{"url: scheme must be http or https"}},
		{"no host", valid(func(s *Config) { s.URL = "https:///x" }), []string{"url: host required"}},
		{"password in url", valid(func(s *Config) { s.URL = "https://u:hunter2@x/" }),
			[]string{"url: put credentials in auth.user and auth.password, not in the url"}},
		{"method", valid(func(s *Config) { s.Method = "GET" }), []string{"method: must be POST or PUT"}},
		{"encoding", valid(func(s *Config) { s.Encoding = "xml" }), []string{"encoding: must be ndjson, json_array, elasticsearch_bulk, loki, otlp, datadog or newrelic"}},
		{"compression", valid(func(s *Config) { s.Compression = "br" }), []string{"compression: must be none, gzip or zstd"}},
		{"timeout", valid(func(s *Config) { s.Timeout = config.Duration(-time.Second) }), []string{"timeout: must be positive"}},
		{"headers", valid(func(s *Config) {
			s.Headers = map[string]config.Secret{"Bad Name": "x", "Content-Encoding": "br", "X-Key": "a\nb", "Authorization": "Bearer x"}
			s.Auth.Token = "t"
		}), []string{
			"headers.Authorization: conflicts with auth (use one or the other)",
			"headers.Bad Name: not a valid header name",
			"headers.Content-Encoding: set by logship, cannot be overridden",
			"headers.X-Key: value must not contain line breaks",
		}},
		{"authorization header alone is fine", valid(func(s *Config) { s.Headers = map[string]config.Secret{"Authorization": "ApiKey x"} }), nil},
		{"bearer without token", valid(func(s *Config) { s.Auth.Strategy = "bearer" }), []string{"auth.token: required for strategy bearer"}},
		{"basic without user", valid(func(s *Config) { s.Auth = AuthConfig{Strategy: "basic", Password: "p"} }), []string{"auth.user: required for strategy basic"}},
		{"none with token", valid(func(s *Config) { s.Auth = AuthConfig{Strategy: "none", Token: "t"} }), []string{"auth.strategy: is none but credentials are set"}},
		{"bad strategy", valid(func(s *Config) { s.Auth.Strategy = "digest" }), []string{"auth.strategy: must be none, bearer or basic"}},
		{"cert without key", valid(func(s *Config) { s.TLS.CertFile = "c.pem" }), []string{"tls: cert_file and key_file go together"}},
		{"tls on http", valid(func(s *Config) { s.URL = "http://x/"; s.TLS.CAFile = "ca.pem" }), []string{"tls: applies only to an https url"}},
		{"es settings on ndjson", valid(func(s *Config) { s.Elasticsearch.Index = "x" }), []string{"elasticsearch: applies only to encoding elasticsearch_bulk"}},
		{"es index", valid(func(s *Config) {
			s.Encoding = "elasticsearch_bulk"
			s.Elasticsearch = ElasticsearchConfig{Index: "logs-%y", Action: "update"}
		}), []string{
			"elasticsearch.index: unknown date directive (use %Y, %m, %d, %H or %%)",
			"elasticsearch.action: must be create or index",
		}},
		{"loki labels", valid(func(s *Config) {
			s.Encoding = "loki"
			s.Loki.Labels = map[string]string{"ok": "{severity}", "1bad": "x", "__name__": "x", "open": "{x"}
		}), []string{
			"loki.labels.1bad: label names are letters, digits and '_', not starting with a digit or '__'",
			"loki.labels.__name__: label names are letters, digits and '_', not starting with a digit or '__'",
			"loki.labels.open: unclosed '{'",
		}},
		{"loki settings on ndjson", valid(func(s *Config) { s.Loki.TenantID = "t" }), []string{"loki: applies only to encoding loki"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range tt.sink.Validate() {
				got = append(got, p.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

// TestHTTPSinkYAML decodes a full http sink entry through Parse, and checks
// that its secrets never print.
func TestHTTPSinkYAML(t *testing.T) {
	yml := `
api:
  token: api-token
state_dir: /var/lib/logship
sources:
  - owner_id: orga_00000000-0000-0000-0000-000000000000
    application_id: app_00000000-0000-0000-0000-000000000000
sinks:
  - type: http
    url: https://es.example:9200/_bulk
    method: POST
    encoding: elasticsearch_bulk
    compression: zstd
    timeout: 10s
    headers:
      X-Api-Key: ${KEY}
    auth:
      strategy: basic
      user: elastic
      password: ${PASSWORD}
    tls:
      ca_file: /etc/ssl/ca.pem
      server_name: es.example
    elasticsearch:
      index: logs-{applicationId}-%Y.%m.%d
      action: create
    retry_max_elapsed: 1h
    retry_initial_backoff: 1s
    retry_max_backoff: 1m
  - type: http
    url: http://loki:3100/loki/api/v1/push
    encoding: loki
    loki:
      labels:
        app: "{applicationId}"
        level: "{severity:-unknown}"
      tenant_id: team-a
`
	env := map[string]string{"KEY": "key-value-123", "PASSWORD": "password-value-456"}
	c, err := config.Parse([]byte(yml), func(k string) (string, bool) { v, ok := env[k]; return v, ok }, sinks.Table{Factory()}.Config())
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	h := c.Sinks[0].Settings.(*Config)
	if h.Encoding != "elasticsearch_bulk" || h.Compression != "zstd" || h.Timeout.D() != 10*time.Second ||
		h.Headers["X-Api-Key"].Reveal() != "key-value-123" || h.Auth.Password.Reveal() != "password-value-456" ||
		h.TLS.ServerName != "es.example" || h.Elasticsearch.Index != "logs-{applicationId}-%Y.%m.%d" ||
		c.Sinks[0].Retry != (config.Retry{MaxElapsed: config.Duration(time.Hour), InitialBackoff: config.Duration(time.Second), MaxBackoff: config.Duration(time.Minute)}) {
		t.Errorf("decoded %+v", h)
	}
	l := c.Sinks[1].Settings.(*Config)
	if l.Loki.Labels["level"] != "{severity:-unknown}" || l.Loki.TenantID != "team-a" || l.Method != "POST" {
		t.Errorf("decoded %+v", l)
	}
	dump := fmt.Sprintf("%v %+v %#v", h, h, h)
	for _, secret := range env {
		if strings.Contains(dump, secret) {
			t.Errorf("secret printed: %s", dump)
		}
	}
}
