package config

import (
	"maps"
	"slices"
	"strconv"
	"strings"
)

// HTTP sink encodings for vendors and OpenTelemetry.
const (
	HTTPEncodingOTLP     = "otlp"
	HTTPEncodingDatadog  = "datadog"
	HTTPEncodingNewRelic = "newrelic"
)

// HTTPOTLP configures encoding otlp (OTLP/HTTP logs,
// ExportLogsServiceRequest).
type HTTPOTLP struct {
	// Protocol is protobuf (default, application/x-protobuf) or json
	// (application/json).
	Protocol string `yaml:"protocol"`
	// ResourceAttributes are added to every resource (string values),
	// after logship's own (which they may replace).
	ResourceAttributes map[string]string `yaml:"resource_attributes"`
}

// HTTPDatadog configures encoding datadog (logs intake v2).
type HTTPDatadog struct {
	// APIKey is sent as DD-API-KEY (required).
	APIKey Secret `yaml:"api_key"`
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

// HTTPNewRelic configures encoding newrelic (Log API).
type HTTPNewRelic struct {
	// LicenseKey is sent as X-License-Key; APIKey (an Insert or License
	// API key) as Api-Key. Exactly one is required.
	LicenseKey Secret `yaml:"license_key"`
	APIKey     Secret `yaml:"api_key"`
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
func (s *HTTPSink) setVendorDefaults() {
	switch s.Encoding {
	case HTTPEncodingOTLP:
		if s.OTLP.Protocol == "" {
			s.OTLP.Protocol = "protobuf"
		}
	case HTTPEncodingDatadog:
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
	case HTTPEncodingNewRelic:
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
func (s *HTTPSink) validateVendors(path string) []Problem {
	var ps []Problem
	add := func(key, msg string) { ps = append(ps, Problem{Path: path + "." + key, Message: msg}) }
	if s.Encoding == HTTPEncodingOTLP {
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
	if s.Encoding == HTTPEncodingDatadog {
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
			if _, err := ParseHTTPTemplate(t.tmpl, false); err != nil {
				add("datadog."+t.key, err.Error())
			}
		}
		for i, t := range d.Tags {
			if _, err := ParseHTTPTemplate(t, false); err != nil || t == "" || strings.Contains(t, ",") {
				add("datadog.tags["+strconv.Itoa(i)+"]", "must be a key:value template without ','")
			}
		}
	} else if s.Datadog.APIKey != "" || s.Datadog.Site != "" || s.Datadog.Source != "" || s.Datadog.Service != "" || s.Datadog.Hostname != "" || len(s.Datadog.Tags) > 0 {
		add("datadog", "applies only to encoding datadog")
	}
	if s.Encoding == HTTPEncodingNewRelic {
		n := s.NewRelic
		if (n.LicenseKey == "") == (n.APIKey == "") {
			add("newrelic", "set exactly one of license_key and api_key")
		}
		for _, k := range []Secret{n.LicenseKey, n.APIKey} {
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
