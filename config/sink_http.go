package config

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// HTTPSink sends batches to an HTTP endpoint: a collector, Elasticsearch or
// OpenSearch (`_bulk`), Loki (`/loki/api/v1/push`) or a vendor intake.
//
// Keys (under a `sinks[]` entry of type `http`): url, method, encoding,
// compression, headers, auth, tls, timeout, elasticsearch, loki and the
// retry_* policy that the pipeline applies to this sink.
type HTTPSink struct {
	URL string `yaml:"url"`
	// Method is POST (default) or PUT.
	Method string `yaml:"method"`
	// Encoding is the body format: ndjson (default), json_array,
	// elasticsearch_bulk, loki, otlp, datadog or newrelic.
	Encoding string `yaml:"encoding"`
	// Compression is none (default), gzip or zstd; it sets Content-Encoding.
	Compression string `yaml:"compression"`
	// Headers are sent with every request. Their values may hold credentials
	// (API keys), so they are Secrets: a config dump shows them redacted.
	Headers map[string]Secret `yaml:"headers"`
	Auth    HTTPAuth          `yaml:"auth"`
	TLS     HTTPTLS           `yaml:"tls"`
	// Timeout bounds one request, from connecting to reading the answer
	// (default 30s).
	Timeout time.Duration `yaml:"timeout"`

	Elasticsearch HTTPElasticsearch `yaml:"elasticsearch"`
	Loki          HTTPLoki          `yaml:"loki"`
	OTLP          HTTPOTLP          `yaml:"otlp"`
	Datadog       HTTPDatadog       `yaml:"datadog"`
	NewRelic      HTTPNewRelic      `yaml:"newrelic"`

	// RetryMaxElapsed is how long the pipeline keeps retrying a batch that
	// fails with a retryable error (network, 408, 429, 5xx) before it sends
	// the batch to the dead-letter file. 0 (default) retries without limit:
	// the sink then applies backpressure while the receiver is down.
	RetryMaxElapsed time.Duration `yaml:"retry_max_elapsed"`
	// RetryInitialBackoff is the first backoff's upper bound (full jitter:
	// each wait is uniform in [0, bound]); default 500ms.
	RetryInitialBackoff time.Duration `yaml:"retry_initial_backoff"`
	// RetryMaxBackoff caps the doubling bound (default 30s). A receiver's
	// Retry-After is honoured even when it is longer.
	RetryMaxBackoff time.Duration `yaml:"retry_max_backoff"`
}

// HTTPAuth is how the HTTP sink authenticates.
type HTTPAuth struct {
	// Strategy is none, bearer or basic. Left empty, it is bearer when Token
	// is set, basic when User is set, none otherwise.
	Strategy string `yaml:"strategy"`
	// Token is sent as `Authorization: Bearer <token>`.
	Token Secret `yaml:"token"`
	// User and Password are sent as HTTP basic auth.
	User     string `yaml:"user"`
	Password Secret `yaml:"password"`
}

// HTTPTLS configures TLS for an https URL. Certificate verification is on
// unless InsecureSkipVerify is set, which logship warns about loudly.
type HTTPTLS struct {
	// CAFile is a PEM bundle of the CAs to trust instead of the system ones.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are a PEM client certificate and its key (mTLS).
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the server's certificate.
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// HTTPElasticsearch configures encoding elasticsearch_bulk.
type HTTPElasticsearch struct {
	// Index is the target index template (see ParseHTTPTemplate, dates
	// allowed); default `logship-%Y.%m.%d`. The result is lower-cased, as
	// Elasticsearch requires.
	Index string `yaml:"index"`
	// Action is create (default; with `_id` = the event id, a replay is a
	// 409 conflict that counts as success) or index (a replay overwrites).
	Action string `yaml:"action"`
}

// HTTPLoki configures encoding loki.
type HTTPLoki struct {
	// Labels maps a Loki label name to a template (see ParseHTTPTemplate,
	// no dates): `{severity}`, `{applicationId}`, `prod`. A label whose
	// value comes out empty is left off. Default:
	// {job: logship, application_id: "{applicationId}"}.
	Labels map[string]string `yaml:"labels"`
	// TenantID is sent as X-Scope-OrgID (multi-tenant Loki).
	TenantID string `yaml:"tenant_id"`
}

// TemplatePart is one piece of a parsed template: a literal, a field, or a
// date directive. Exactly one of Literal, Field and Date is set.
type TemplatePart struct {
	Literal string
	// Field is the name of a top-level field of the event's JSON object;
	// Default replaces it when the field is absent or empty.
	Field   string
	Default string
	// Date is a strftime letter applied to the event's date in UTC: Y
	// (year), m (month), d (day), H (hour).
	Date byte
}

// ParseHTTPTemplate parses a template of the HTTP sink:
//
//   - `{name}` is the value of the event's top-level field `name` (string,
//     number or boolean; absent, null or nested values count as empty);
//   - `{name:-default}` is the same, or `default` when that is empty;
//   - when dates is true, `%Y`, `%m`, `%d` and `%H` are the year, month, day
//     and hour of the event's date in UTC, and `%%` is a `%`; otherwise `%`
//     is a literal character;
//   - anything else is literal.
//
// For example `logs-{applicationId}-%Y.%m.%d`.
func ParseHTTPTemplate(s string, dates bool) ([]TemplatePart, error) {
	var parts []TemplatePart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, TemplatePart{Literal: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '{':
			end := strings.IndexByte(s[i+1:], '}')
			if end < 0 {
				return nil, errors.New("unclosed '{'")
			}
			inner := s[i+1 : i+1+end]
			name, def, _ := strings.Cut(inner, ":-")
			if name == "" || strings.ContainsAny(name, "{%") {
				return nil, fmt.Errorf("bad field name %q", name)
			}
			flush()
			parts = append(parts, TemplatePart{Field: name, Default: def})
			i += end + 1
		case c == '}':
			return nil, errors.New("'}' without '{'")
		case c == '%' && dates:
			if i+1 >= len(s) {
				return nil, errors.New("'%' at the end")
			}
			i++
			switch d := s[i]; d {
			case '%':
				lit.WriteByte('%')
			case 'Y', 'm', 'd', 'H':
				flush()
				parts = append(parts, TemplatePart{Date: d})
			default:
				return nil, fmt.Errorf("unknown date directive %%%c (use %%Y, %%m, %%d, %%H or %%%%)", d)
			}
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return parts, nil
}
