package config

import (
	"reflect"
	"strings"
	"testing"
)

// TestPipelineKeys decodes every pipeline key added around the contract's.
func TestPipelineKeys(t *testing.T) {
	c := mustParse(t, base+`    buffer: {when_full: drop_newest}
pipeline:
  push_down: false
  filter:
    min_severity: warning
    message_contains: timeout
    message_not_contains: [healthcheck, GET /ping]
    message_matches: ['^GET /api/v\d+/']
    message_not_matches: ['(?i)^debug:']
  throttle: {rate: 100, mode: drop, key: instance}
  fields:
    exclude: [commitId]
    parse_message_json: true
    rename: {message: msg}
    add: {env: prod, version: 3}
    add_key: meta
  buffer: {max_bytes: 16MiB}
`, nil)
	p := c.Pipeline
	checks := []struct {
		name      string
		got, want any
	}{
		{"push_down", p.PushDown, false},
		{"filter", p.Filter, Filter{
			MinSeverity:        "warning",
			MessageContains:    []string{"timeout"},
			MessageNotContains: []string{"healthcheck", "GET /ping"},
			MessageMatches:     []string{`^GET /api/v\d+/`},
			MessageNotMatches:  []string{`(?i)^debug:`},
		}},
		{"throttle", p.Throttle, Throttle{Rate: 100, Burst: 100, Mode: "drop", Key: "instance"}},
		{"fields", p.Fields, Fields{Exclude: []string{"commitId"}, ParseMessageJSON: true,
			Rename: map[string]string{"message": "msg"}, Add: map[string]string{"env": "prod", "version": "3"}, AddKey: "meta"}},
		{"pipeline buffer", p.Buffer, Buffer{MaxBytes: 16 << 20}},
		{"sink buffer", c.Sinks[0].Buffer, Buffer{MaxBytes: 16 << 20, WhenFull: "drop_newest"}},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %+v, want %+v", ch.name, ch.got, ch.want)
		}
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	d := mustParse(t, base, nil)
	if !d.Pipeline.PushDown || d.Pipeline.Fields.AddKey != "logship" || d.Pipeline.Buffer.WhenFull != "" || d.Sinks[0].Buffer.WhenFull != "" {
		t.Errorf("defaults: %+v", d.Pipeline)
	}
}

// TestPushDown: what each source asks the API on the pipeline's behalf.
func TestPushDown(t *testing.T) {
	tests := []struct {
		name       string
		pipeline   string
		source     string // extra keys of the source
		wantFields []string
		wantFilter string
	}{
		{"nothing to push", "", "", nil, ""},
		{"include with id and date", "fields: {include: [message, instanceId]}", "",
			[]string{"id", "date", "message", "instanceId"}, ""},
		{"include holding id", "fields: {include: [date, id, zone]}", "", []string{"id", "date", "zone"}, ""},
		{"exclude is not pushed", "fields: {exclude: [zone]}", "", nil, ""},
		{"fields a filter reads", "fields: {include: [zone]}\n  filter: {min_severity: err, message_not_matches: [x]}", "",
			[]string{"id", "date", "zone", "message", "severity", "priority"}, ""},
		{"instance throttle key", "fields: {include: [message]}\n  throttle: {rate: 5, key: instance}", "",
			[]string{"id", "date", "message", "instanceId"}, ""},
		{"source fields win", "fields: {include: [message]}", "    fields: [id, date, zone]\n", nil, ""},
		{"plain substring", "filter: {message_contains: [Timeout]}", "", nil, "Timeout"},
		{"two substrings", "filter: {message_contains: [a, b]}", "", nil, ""},
		{"non-ASCII substring", "filter: {message_contains: [été]}", "", nil, ""},
		{"padded substring", "filter: {message_contains: [' x']}", "", nil, ""},
		{"source filter wins", "filter: {message_contains: [x]}", "    filter: y\n", nil, ""},
		{"push_down off", "push_down: false\n  fields: {include: [message]}\n  filter: {message_contains: [x]}", "", nil, ""},
		{"what enrichment reads", "fields: {include: [message, clevercloud]}", "    enrich: true\n",
			[]string{"id", "date", "message", "applicationId", "instanceId", "deploymentId", "zone"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(tt.source, "enrich:") {
				tt.source += "    enrich: false\n"
			}
			src := strings.Replace(base, "    application_id: app_1\n", "    application_id: app_1\n"+tt.source, 1)
			if tt.pipeline != "" {
				src += "pipeline:\n  " + tt.pipeline + "\n"
			}
			c := mustParse(t, src, nil)
			s := c.Sources[0]
			if !reflect.DeepEqual(s.PushFields, tt.wantFields) || s.PushFilter != tt.wantFilter {
				t.Fatalf("push-down fields %q filter %q, want %q %q", s.PushFields, s.PushFilter, tt.wantFields, tt.wantFilter)
			}
		})
	}
}

func TestValidatePipelineStages(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []string
	}{
		{"min_severity", func(c *Config) { c.Pipeline.Filter.MinSeverity = "loud" }, []string{
			"pipeline.filter.min_severity: must be one of emerg, alert, crit, err, warning, notice, info, debug"}},
		{"empty substring", func(c *Config) { c.Pipeline.Filter.MessageNotContains = []string{"a", ""} }, []string{
			"pipeline.filter.message_not_contains[1]: must not be empty"}},
		{"bad regexp", func(c *Config) { c.Pipeline.Filter.MessageMatches = []string{"ok", "(secret"} }, []string{
			"pipeline.filter.message_matches[1]: not a valid regular expression (RE2 syntax): missing closing )"}},
		{"empty regexp", func(c *Config) { c.Pipeline.Filter.MessageNotMatches = []string{""} }, []string{
			"pipeline.filter.message_not_matches[0]: must not be empty"}},
		{"throttle key", func(c *Config) { c.Pipeline.Throttle.Key = "deployment" }, []string{
			"pipeline.throttle.key: must be global, application or instance"}},
		{"rename of a removed field", func(c *Config) {
			c.Pipeline.Fields.Include = []string{"id"}
			c.Pipeline.Fields.Rename = map[string]string{"message": "msg"}
		}, []string{"pipeline.fields.rename.message: renames a field that pipeline.fields.include removes"}},
		{"rename of an excluded field", func(c *Config) {
			c.Pipeline.Fields.Exclude = []string{"message"}
			c.Pipeline.Fields.Rename = map[string]string{"message": "msg"}
		}, []string{"pipeline.fields.rename.message: renames a field that pipeline.fields.exclude removes"}},
		{"rename to one name", func(c *Config) { c.Pipeline.Fields.Rename = map[string]string{"a": "x", "b": "x"} }, []string{
			"pipeline.fields.rename.b: same new name as pipeline.fields.rename.a"}},
		{"rename to empty", func(c *Config) { c.Pipeline.Fields.Rename = map[string]string{"a": ""} }, []string{
			"pipeline.fields.rename.a: must not be empty"}},
		{"rename to add_key", func(c *Config) {
			c.Pipeline.Fields.Rename = map[string]string{"a": "logship"}
			c.Pipeline.Fields.Add = map[string]string{"env": "prod"}
		}, []string{"pipeline.fields.rename.a: renames to pipeline.fields.add_key"}},
		{"add without key", func(c *Config) {
			c.Pipeline.Fields.Add = map[string]string{"env": "prod"}
			c.Pipeline.Fields.AddKey = ""
		}, []string{"pipeline.fields.add_key: required with pipeline.fields.add"}},
		{"pipeline when_full", func(c *Config) { c.Pipeline.Buffer.WhenFull = "drop_oldest" }, []string{
			"pipeline.buffer.when_full: must be block or drop_newest"}},
		{"sink when_full", func(c *Config) { c.Sinks[2].Buffer.WhenFull = "spill" }, []string{
			"sinks[2].buffer.when_full: must be block or drop_newest"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, full, nil)
			tt.mutate(c)
			checkProblems(t, problems(t, c.Validate()), tt.want, true)
		})
	}
}

func TestSeverityLevel(t *testing.T) {
	for name, want := range map[string]int{"emerg": 0, "ALERT": 1, "Crit": 2, "error": 3, "warn": 4, "notice": 5, "info": 6, "debug": 7} {
		if got, ok := SeverityLevel(name); !ok || got != want {
			t.Errorf("SeverityLevel(%q) = %d, %v; want %d", name, got, ok, want)
		}
	}
	if _, ok := SeverityLevel("trace"); ok {
		t.Error("trace is not a syslog severity")
	}
}
