package config

import (
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"
)

// HTTP sink encodings.
const (
	HTTPEncodingNDJSON     = "ndjson"
	HTTPEncodingJSONArray  = "json_array"
	HTTPEncodingESBulk     = "elasticsearch_bulk"
	HTTPEncodingLoki       = "loki"
	httpDefaultTimeout     = 30 * time.Second
	httpDefaultInitialBack = 500 * time.Millisecond
	httpDefaultMaxBack     = 30 * time.Second
	httpDefaultESIndex     = "logship-%Y.%m.%d"
)

// setDefaults fills the HTTP sink's unset settings.
func (s *HTTPSink) setDefaults() {
	s.Method = strings.ToUpper(s.Method)
	if s.Method == "" {
		s.Method = "POST"
	}
	if s.Encoding == "" {
		s.Encoding = HTTPEncodingNDJSON
	}
	if s.Compression == "" {
		s.Compression = "none"
	}
	if s.Timeout == 0 {
		s.Timeout = httpDefaultTimeout
	}
	if s.Auth.Strategy == "" {
		switch {
		case s.Auth.Token != "":
			s.Auth.Strategy = "bearer"
		case s.Auth.User != "":
			s.Auth.Strategy = "basic"
		default:
			s.Auth.Strategy = "none"
		}
	}
	if s.RetryInitialBackoff == 0 {
		s.RetryInitialBackoff = httpDefaultInitialBack
	}
	if s.RetryMaxBackoff == 0 {
		s.RetryMaxBackoff = httpDefaultMaxBack
	}
	s.setVendorDefaults()
	switch s.Encoding {
	case HTTPEncodingESBulk:
		if s.Elasticsearch.Index == "" {
			s.Elasticsearch.Index = httpDefaultESIndex
		}
		if s.Elasticsearch.Action == "" {
			s.Elasticsearch.Action = "create"
		}
	case HTTPEncodingLoki:
		if len(s.Loki.Labels) == 0 {
			s.Loki.Labels = map[string]string{"job": "logship", "application_id": "{applicationId}"}
		}
	}
}

// validate returns the HTTP sink's problems; path is the sink's key path,
// e.g. "sinks[1]". It expects setDefaults to have run and does no I/O (TLS
// files are read when the sink starts).
func (s *HTTPSink) validate(path string) []Problem {
	var ps []Problem
	add := func(key, msg string) { ps = append(ps, Problem{Path: path + "." + key, Message: msg}) }

	https := false
	if s.URL == "" {
		add("url", "required")
	} else if u, err := url.Parse(s.URL); err != nil {
		add("url", "not a URL")
	} else if u.Scheme != "http" && u.Scheme != "https" {
		add("url", "scheme must be http or https")
	} else if u.Host == "" {
		add("url", "host required")
	} else if _, hasPassword := u.User.Password(); hasPassword {
		// The URL is not a Secret: a password in it would be printed.
		add("url", "put credentials in auth.user and auth.password, not in the url")
	} else {
		https = u.Scheme == "https"
	}
	if s.Method != "POST" && s.Method != "PUT" {
		add("method", "must be POST or PUT")
	}
	switch s.Encoding {
	case HTTPEncodingNDJSON, HTTPEncodingJSONArray, HTTPEncodingESBulk, HTTPEncodingLoki,
		HTTPEncodingOTLP, HTTPEncodingDatadog, HTTPEncodingNewRelic:
	default:
		add("encoding", "must be ndjson, json_array, elasticsearch_bulk, loki, otlp, datadog or newrelic")
	}
	switch s.Compression {
	case "none", "gzip", "zstd":
	default:
		add("compression", "must be none, gzip or zstd")
	}
	if s.Timeout < 0 {
		add("timeout", "must be positive")
	}
	ps = append(ps, s.validateHeaders(path)...)
	ps = append(ps, s.validateAuth(path)...)
	ps = append(ps, s.validateTLS(path, https)...)
	ps = append(ps, s.validateEncodings(path)...)
	ps = append(ps, s.validateVendors(path)...)

	if s.RetryMaxElapsed < 0 {
		add("retry_max_elapsed", "must not be negative (0 retries without limit)")
	}
	if s.RetryInitialBackoff < 0 {
		add("retry_initial_backoff", "must be positive")
	}
	if s.RetryMaxBackoff < 0 {
		add("retry_max_backoff", "must be positive")
	} else if s.RetryInitialBackoff > s.RetryMaxBackoff {
		add("retry_initial_backoff", "must not exceed retry_max_backoff")
	}
	return ps
}

// httpReservedHeaders are set by the sink itself.
var httpReservedHeaders = []string{"Content-Length", "Content-Encoding", "Transfer-Encoding", "Idempotency-Key"}

func (s *HTTPSink) validateHeaders(path string) []Problem {
	var ps []Problem
	for _, name := range slices.Sorted(maps.Keys(s.Headers)) {
		key := path + ".headers." + name
		switch {
		case !isHTTPToken(name):
			ps = append(ps, Problem{Path: key, Message: "not a valid header name"})
		case slices.ContainsFunc(httpReservedHeaders, func(r string) bool { return strings.EqualFold(r, name) }):
			ps = append(ps, Problem{Path: key, Message: "set by logship, cannot be overridden"})
		case strings.EqualFold(name, "Authorization") && s.Auth.Strategy != "none":
			ps = append(ps, Problem{Path: key, Message: "conflicts with auth (use one or the other)"})
		}
		// Never echo the value: it may be a credential.
		if strings.ContainsAny(s.Headers[name].Reveal(), "\r\n\x00") {
			ps = append(ps, Problem{Path: key, Message: "value must not contain line breaks"})
		}
	}
	return ps
}

func (s *HTTPSink) validateAuth(path string) []Problem {
	var ps []Problem
	add := func(key, msg string) { ps = append(ps, Problem{Path: path + ".auth." + key, Message: msg}) }
	a := s.Auth
	switch a.Strategy {
	case "none":
		if a.Token != "" || a.User != "" || a.Password != "" {
			add("strategy", "is none but credentials are set")
		}
	case "bearer":
		if a.Token == "" {
			add("token", "required for strategy bearer")
		}
		if a.User != "" || a.Password != "" {
			add("strategy", "bearer takes a token, not user and password")
		}
	case "basic":
		if a.User == "" {
			add("user", "required for strategy basic")
		}
		if a.Token != "" {
			add("strategy", "basic takes user and password, not a token")
		}
	default:
		add("strategy", "must be none, bearer or basic")
	}
	return ps
}

func (s *HTTPSink) validateTLS(path string, https bool) []Problem {
	var ps []Problem
	t := s.TLS
	if (t.CertFile == "") != (t.KeyFile == "") {
		ps = append(ps, Problem{Path: path + ".tls", Message: "cert_file and key_file go together"})
	}
	if t != (HTTPTLS{}) && !https && s.URL != "" {
		ps = append(ps, Problem{Path: path + ".tls", Message: "applies only to an https url"})
	}
	return ps
}

func (s *HTTPSink) validateEncodings(path string) []Problem {
	var ps []Problem
	if s.Encoding == HTTPEncodingESBulk {
		if _, err := ParseHTTPTemplate(s.Elasticsearch.Index, true); err != nil {
			ps = append(ps, Problem{Path: path + ".elasticsearch.index", Message: err.Error()})
		}
		if a := s.Elasticsearch.Action; a != "create" && a != "index" {
			ps = append(ps, Problem{Path: path + ".elasticsearch.action", Message: "must be create or index"})
		}
	} else if s.Elasticsearch != (HTTPElasticsearch{}) {
		ps = append(ps, Problem{Path: path + ".elasticsearch", Message: "applies only to encoding elasticsearch_bulk"})
	}
	if s.Encoding == HTTPEncodingLoki {
		for _, name := range slices.Sorted(maps.Keys(s.Loki.Labels)) {
			key := path + ".loki.labels." + name
			if !isLokiLabel(name) {
				ps = append(ps, Problem{Path: key, Message: "label names are letters, digits and '_', not starting with a digit or '__'"})
			}
			if _, err := ParseHTTPTemplate(s.Loki.Labels[name], false); err != nil {
				ps = append(ps, Problem{Path: key, Message: err.Error()})
			}
		}
		if strings.ContainsAny(s.Loki.TenantID, "\r\n\x00") {
			ps = append(ps, Problem{Path: path + ".loki.tenant_id", Message: "must not contain line breaks"})
		}
	} else if len(s.Loki.Labels) > 0 || s.Loki.TenantID != "" {
		ps = append(ps, Problem{Path: path + ".loki", Message: "applies only to encoding loki"})
	}
	return ps
}

// isHTTPToken reports whether s is a valid HTTP header name (RFC 9110 token).
func isHTTPToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// isLokiLabel reports whether s is a valid Loki (Prometheus) label name that
// is not reserved.
func isLokiLabel(s string) bool {
	if s == "" || strings.HasPrefix(s, "__") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && c >= '0' && c <= '9'
		if !ok {
			return false
		}
	}
	return true
}
