package httpsink

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/logship/logship/config"
	"github.com/logship/logship/event"
	"github.com/logship/logship/pipeline"
	"github.com/logship/logship/sinks"
)

// Config is the HTTP sink's own configuration (the keys of a `sinks[]`
// entry of type `http`, besides the common ones: the pipeline's `retry`
// applies to it as to every sink). The sink sends batches to an HTTP
// endpoint: a collector, Elasticsearch or OpenSearch (`_bulk`), Loki
// (`/loki/api/v1/push`), an OTLP/HTTP receiver or a vendor intake.
type Config struct {
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
	Headers map[string]config.Secret `yaml:"headers"`
	Auth    AuthConfig               `yaml:"auth"`
	// TLS configures an https URL (see sinks.TLSConfig).
	TLS sinks.TLSConfig `yaml:"tls"`
	// Timeout bounds one request, from connecting to reading the answer
	// (default 30s).
	Timeout config.Duration `yaml:"timeout"`

	Elasticsearch ElasticsearchConfig `yaml:"elasticsearch"`
	Loki          LokiConfig          `yaml:"loki"`
	OTLP          OTLPConfig          `yaml:"otlp"`
	Datadog       DatadogConfig       `yaml:"datadog"`
	NewRelic      NewRelicConfig      `yaml:"newrelic"`
}

// AuthConfig is how the HTTP sink authenticates.
type AuthConfig struct {
	// Strategy is none, bearer or basic. Left empty, it is bearer when Token
	// is set, basic when User is set, none otherwise.
	Strategy string `yaml:"strategy"`
	// Token is sent as `Authorization: Bearer <token>`.
	Token config.Secret `yaml:"token"`
	// User and Password are sent as HTTP basic auth.
	User     string        `yaml:"user"`
	Password config.Secret `yaml:"password"`
}

// ElasticsearchConfig configures encoding elasticsearch_bulk.
type ElasticsearchConfig struct {
	// Index is the target index template (see event.ParseTemplate, dates
	// allowed); default `logship-%Y.%m.%d`. The result is lower-cased, as
	// Elasticsearch requires.
	Index string `yaml:"index"`
	// Action is create (default; with `_id` = the event id, a replay is a
	// 409 conflict that counts as success) or index (a replay overwrites).
	Action string `yaml:"action"`
}

// LokiConfig configures encoding loki.
type LokiConfig struct {
	// Labels maps a Loki label name to a template (see event.ParseTemplate,
	// no dates): `{severity}`, `{applicationId}`, `prod`. A label whose
	// value comes out empty is left off. Default:
	// {job: logship, application_id: "{applicationId}"}.
	Labels map[string]string `yaml:"labels"`
	// TenantID is sent as X-Scope-OrgID (multi-tenant Loki).
	TenantID string `yaml:"tenant_id"`
}

// HTTP sink encodings.
const (
	EncodingNDJSON     = "ndjson"
	EncodingJSONArray  = "json_array"
	EncodingESBulk     = "elasticsearch_bulk"
	EncodingLoki       = "loki"
	httpDefaultESIndex = "logship-%Y.%m.%d"
)

// NewDefaultConfig returns the sink's defaults (URL has none, except for
// the vendor encodings: see Resolve).
func NewDefaultConfig() *Config {
	return &Config{
		Method:      "POST",
		Encoding:    EncodingNDJSON,
		Compression: "none",
		Timeout:     config.Duration(30 * time.Second),
	}
}

// Resolve sets the defaults that depend on other keys, once the entry is
// decoded (config.SinkResolver): the auth strategy from the credentials
// given, and the chosen encoding's own defaults (Elasticsearch index and
// action, Loki labels, OTLP protocol, Datadog site and URL, New Relic
// region and URL). It also upper-cases Method.
func (s *Config) Resolve() {
	s.Method = strings.ToUpper(s.Method)
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
	s.setVendorDefaults()
	switch s.Encoding {
	case EncodingESBulk:
		if s.Elasticsearch.Index == "" {
			s.Elasticsearch.Index = httpDefaultESIndex
		}
		if s.Elasticsearch.Action == "" {
			s.Elasticsearch.Action = "create"
		}
	case EncodingLoki:
		if len(s.Loki.Labels) == 0 {
			s.Loki.Labels = map[string]string{"job": "logship", "application_id": "{applicationId}"}
		}
	}
}

// Validate returns every problem of s, with paths relative to the sink. It
// expects Resolve to have run and does no I/O (TLS files are read when the
// sink starts).
func (s *Config) Validate() config.Problems {
	var ps config.Problems
	add := func(key, msg string) { ps = append(ps, config.Problem{Path: key, Message: msg}) }

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
		// The URL is not a config.Secret: a password in it would be printed.
		add("url", "put credentials in auth.user and auth.password, not in the url")
	} else {
		https = u.Scheme == "https"
	}
	if s.Method != "POST" && s.Method != "PUT" {
		add("method", "must be POST or PUT")
	}
	switch s.Encoding {
	case EncodingNDJSON, EncodingJSONArray, EncodingESBulk, EncodingLoki,
		EncodingOTLP, EncodingDatadog, EncodingNewRelic:
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
	ps = append(ps, s.validateHeaders()...)
	ps = append(ps, s.validateAuth()...)
	ps = append(ps, s.validateTLS(https)...)
	ps = append(ps, s.validateEncodings()...)
	ps = append(ps, s.validateVendors()...)

	return ps
}

// reservedHeaders are set by the sink itself.
var reservedHeaders = []string{"Content-Length", "Content-Encoding", "Transfer-Encoding", "Idempotency-Key"}

func (s *Config) validateHeaders() config.Problems {
	var ps config.Problems
	for _, name := range slices.Sorted(maps.Keys(s.Headers)) {
		key := "headers." + name
		switch {
		case !isToken(name):
			ps = append(ps, config.Problem{Path: key, Message: "not a valid header name"})
		case slices.ContainsFunc(reservedHeaders, func(r string) bool { return strings.EqualFold(r, name) }):
			ps = append(ps, config.Problem{Path: key, Message: "set by logship, cannot be overridden"})
		case strings.EqualFold(name, "Authorization") && s.Auth.Strategy != "none":
			ps = append(ps, config.Problem{Path: key, Message: "conflicts with auth (use one or the other)"})
		}
		// Never echo the value: it may be a credential.
		if strings.ContainsAny(s.Headers[name].Reveal(), "\r\n\x00") {
			ps = append(ps, config.Problem{Path: key, Message: "value must not contain line breaks"})
		}
	}
	return ps
}

func (s *Config) validateAuth() config.Problems {
	var ps config.Problems
	add := func(key, msg string) { ps = append(ps, config.Problem{Path: "auth." + key, Message: msg}) }
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

func (s *Config) validateTLS(https bool) config.Problems {
	ps := s.TLS.Validate()
	if !s.TLS.IsZero() && !https && s.URL != "" {
		ps = append(ps, config.Problem{Path: "tls", Message: "applies only to an https url"})
	}
	return ps
}

func (s *Config) validateEncodings() config.Problems {
	var ps config.Problems
	if s.Encoding == EncodingESBulk {
		if _, err := event.ParseTemplate(s.Elasticsearch.Index, true); err != nil {
			ps = append(ps, config.Problem{Path: "elasticsearch.index", Message: err.Error()})
		}
		if a := s.Elasticsearch.Action; a != "create" && a != "index" {
			ps = append(ps, config.Problem{Path: "elasticsearch.action", Message: "must be create or index"})
		}
	} else if s.Elasticsearch != (ElasticsearchConfig{}) {
		ps = append(ps, config.Problem{Path: "elasticsearch", Message: "applies only to encoding elasticsearch_bulk"})
	}
	if s.Encoding == EncodingLoki {
		for _, name := range slices.Sorted(maps.Keys(s.Loki.Labels)) {
			key := "loki.labels." + name
			if !isLokiLabel(name) {
				ps = append(ps, config.Problem{Path: key, Message: "label names are letters, digits and '_', not starting with a digit or '__'"})
			}
			if _, err := event.ParseTemplate(s.Loki.Labels[name], false); err != nil {
				ps = append(ps, config.Problem{Path: key, Message: err.Error()})
			}
		}
		if strings.ContainsAny(s.Loki.TenantID, "\r\n\x00") {
			ps = append(ps, config.Problem{Path: "loki.tenant_id", Message: "must not contain line breaks"})
		}
	} else if len(s.Loki.Labels) > 0 || s.Loki.TenantID != "" {
		ps = append(ps, config.Problem{Path: "loki", Message: "applies only to encoding loki"})
	}
	return ps
}

// isToken reports whether s is a valid HTTP header name (RFC 9110 token).
func isToken(s string) bool {
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

// HTTP sink encodings for vendors and OpenTelemetry.
const (
	EncodingOTLP     = "otlp"
	EncodingDatadog  = "datadog"
	EncodingNewRelic = "newrelic"
)

// OTLPConfig configures encoding otlp (OTLP/HTTP logs,
// ExportLogsServiceRequest).
type OTLPConfig struct {
	// Protocol is protobuf (default, application/x-protobuf) or json
	// (application/json).
	Protocol string `yaml:"protocol"`
	// ResourceAttributes are added to every resource (string values),
	// after logship's own (which they may replace).
	ResourceAttributes map[string]string `yaml:"resource_attributes"`
}

// DatadogConfig configures encoding datadog (logs intake v2).
type DatadogConfig struct {
	// APIKey is sent as DD-API-KEY (required).
	APIKey config.Secret `yaml:"api_key"`
	// Site is the Datadog site (default datadoghq.com): with url left out,
	// the intake URL is https://http-intake.logs.{site}/api/v2/logs.
	Site string `yaml:"site"`
	// Source is ddsource (default clevercloud).
	Source string `yaml:"source"`
	// Service is a template for service (default: the application's name
	// when enrichment added it, else its id).
	Service string `yaml:"service"`
	// Hostname is a template for hostname (default {instanceId}).
	Hostname string `yaml:"hostname"`
	// Tags are `key:value` templates joined into ddtags; a tag whose value
	// comes out empty is left off.
	Tags []string `yaml:"tags"`
}

// NewRelicConfig configures encoding newrelic (Log API).
type NewRelicConfig struct {
	// LicenseKey is sent as X-License-Key; APIKey (an Insert or License
	// API key) as Api-Key. Exactly one is required.
	LicenseKey config.Secret `yaml:"license_key"`
	APIKey     config.Secret `yaml:"api_key"`
	// Region is us (default), eu or fedramp: with url left out, the Log API
	// URL of that region.
	Region string `yaml:"region"`
	// CommonAttributes are sent once per request under common.attributes.
	CommonAttributes map[string]string `yaml:"common_attributes"`
}

// DatadogSites are the Datadog sites, as Datadog names them.
var DatadogSites = []string{"datadoghq.com", "us3.datadoghq.com", "us5.datadoghq.com", "datadoghq.eu", "ap1.datadoghq.com", "ap2.datadoghq.com", "ddog-gov.com"}

// NewRelicLogURLs are the Log API endpoints per region.
var NewRelicLogURLs = map[string]string{
	"us":      "https://log-api.newrelic.com/log/v1",
	"eu":      "https://log-api.eu.newrelic.com/log/v1",
	"fedramp": "https://gov-log-api.newrelic.com/log/v1",
}

// DatadogLogsURL returns the logs intake v2 URL of a Datadog site.
func DatadogLogsURL(site string) string {
	return "https://http-intake.logs." + site + "/api/v2/logs"
}

// setVendorDefaults fills the defaults of encodings otlp, datadog and
// newrelic, the url among them.
func (s *Config) setVendorDefaults() {
	switch s.Encoding {
	case EncodingOTLP:
		if s.OTLP.Protocol == "" {
			s.OTLP.Protocol = "protobuf"
		}
	case EncodingDatadog:
		d := &s.Datadog
		if d.Site == "" {
			d.Site = "datadoghq.com"
		}
		if s.URL == "" && slices.Contains(DatadogSites, d.Site) {
			s.URL = DatadogLogsURL(d.Site)
		}
		if d.Source == "" {
			d.Source = "clevercloud"
		}
		if d.Hostname == "" {
			d.Hostname = "{instanceId}"
		}
		if d.Tags == nil {
			d.Tags = []string{"application_id:{applicationId}", "instance_id:{instanceId}", "deployment_id:{deploymentId}", "zone:{zone}"}
		}
	case EncodingNewRelic:
		n := &s.NewRelic
		if n.Region == "" {
			n.Region = "us"
		}
		if s.URL == "" {
			s.URL = NewRelicLogURLs[n.Region]
		}
	}
}

// validateVendors returns the problems of the otlp, datadog and newrelic
// settings.
func (s *Config) validateVendors() config.Problems {
	var ps config.Problems
	add := func(key, msg string) { ps = append(ps, config.Problem{Path: key, Message: msg}) }
	if s.Encoding == EncodingOTLP {
		if p := s.OTLP.Protocol; p != "protobuf" && p != "json" {
			add("otlp.protocol", "must be protobuf or json")
		}
		for _, k := range slices.Sorted(maps.Keys(s.OTLP.ResourceAttributes)) {
			if k == "" {
				add("otlp.resource_attributes", "names must not be empty")
			}
		}
	} else if s.OTLP.Protocol != "" || len(s.OTLP.ResourceAttributes) > 0 {
		add("otlp", "applies only to encoding otlp")
	}
	if s.Encoding == EncodingDatadog {
		d := s.Datadog
		if d.APIKey == "" {
			add("datadog.api_key", "required")
		} else if strings.ContainsAny(d.APIKey.Reveal(), "\r\n\x00") {
			add("datadog.api_key", "must not contain line breaks")
		}
		if !slices.Contains(DatadogSites, d.Site) {
			add("datadog.site", "must be one of "+strings.Join(DatadogSites, ", "))
		}
		for _, t := range []struct{ key, tmpl string }{{"service", d.Service}, {"hostname", d.Hostname}} {
			if _, err := event.ParseTemplate(t.tmpl, false); err != nil {
				add("datadog."+t.key, err.Error())
			}
		}
		for i, t := range d.Tags {
			if _, err := event.ParseTemplate(t, false); err != nil || t == "" || strings.Contains(t, ",") {
				add("datadog.tags["+strconv.Itoa(i)+"]", "must be a key:value template without ','")
			}
		}
	} else if s.Datadog.APIKey != "" || s.Datadog.Site != "" || s.Datadog.Source != "" || s.Datadog.Service != "" || s.Datadog.Hostname != "" || len(s.Datadog.Tags) > 0 {
		add("datadog", "applies only to encoding datadog")
	}
	if s.Encoding == EncodingNewRelic {
		n := s.NewRelic
		if (n.LicenseKey == "") == (n.APIKey == "") {
			add("newrelic", "set exactly one of license_key and api_key")
		}
		for _, k := range []config.Secret{n.LicenseKey, n.APIKey} {
			if strings.ContainsAny(k.Reveal(), "\r\n\x00") {
				add("newrelic", "keys must not contain line breaks")
			}
		}
		if _, ok := NewRelicLogURLs[n.Region]; !ok {
			add("newrelic.region", "must be us, eu or fedramp")
		}
	} else if s.NewRelic.LicenseKey != "" || s.NewRelic.APIKey != "" || s.NewRelic.Region != "" || len(s.NewRelic.CommonAttributes) > 0 {
		add("newrelic", "applies only to encoding newrelic")
	}
	return ps
}

// Factory is the HTTP sink's entry in logship's table of sinks.
func Factory() sinks.Factory {
	return sinks.Factory{
		SinkFactory: config.SinkFactory{
			Type:             "http",
			NewDefaultConfig: func() config.SinkConfig { return NewDefaultConfig() },
		},
		New: func(cfg config.SinkConfig, set sinks.Settings) (pipeline.Sink, error) {
			return New(cfg.(*Config), Options{
				Name:      set.Name,
				Logger:    set.Logger,
				InFlight:  set.InFlight,
				UserAgent: set.UserAgent,
				Rejected:  set.Metrics.SinkRejected.WithLabelValues(set.Name),
			})
		},
	}
}
