package config

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestDiscoverAndEnrichDefaults: a discovering source's defaults, and enrichment's.
func TestDiscoverAndEnrichDefaults(t *testing.T) {
	c := mustParse(t, `sources:
  - owner_id: orga_1
    discover: {}
  - name: fronts
    owner_id: user_2
    discover: {include: ["front-*", app_9], exclude: ["*-staging"], interval: 5s, from_creation: false, retention: 24h}
    enrich: false
state_dir: /state
sinks:
  - type: stdout
`, nil)
	a, b := c.Sources[0], c.Sources[1]
	if a.Name != "orga_1" || a.Discover.Interval.D() != time.Minute || a.Discover.Retention.D() != 7*24*time.Hour ||
		!a.Discover.ReadsFromCreation() || !a.Enrich {
		t.Errorf("defaults %+v %+v", a, *a.Discover)
	}
	if b.Name != "fronts" || b.Discover.Interval.D() != 5*time.Second || b.Discover.ReadsFromCreation() || b.Enrich {
		t.Errorf("set %+v %+v", b, *b.Discover)
	}
	if e := c.Enrichment; e.Key != "clevercloud" || e.TTL.D() != 10*time.Minute || e.MaxWait.D() != 200*time.Millisecond {
		t.Errorf("enrichment %+v", e)
	}
	for _, tt := range []struct {
		id, name string
		want     bool
	}{
		{"app_1", "front-web", true},
		{"app_9", "api", true},
		{"app_2", "front-web-staging", false},
		{"app_3", "back", false},
	} {
		if got := b.Discover.Selects(tt.id, tt.name); got != tt.want {
			t.Errorf("Selects(%s, %s) = %v", tt.id, tt.name, got)
		}
	}
	if !a.Discover.Selects("app_x", "anything") {
		t.Error("{} selects everything")
	}
}

// TestDiscoverProblems: each problem names its key path.
func TestDiscoverProblems(t *testing.T) {
	got := parseProblems(t, `sources:
  - owner_id: orga_1
    application_id: app_1
    deployment_id: d
    discover: {include: ["[x"], exclude: [""], interval: 10ms, retention: -1h}
enrichment: {key: logship, ttl: 0s, max_wait: -1s}
pipeline:
  fields: {add: {env: prod}}
state_dir: /state
sinks:
  - type: stdout
`, nil)
	checkProblems(t, got, []string{
		"sources[0].application_id: not allowed with discover (discover finds the applications)",
		"sources[0].discover.include[0]: not a glob pattern (`*`, `?`, `[…]`)",
		"sources[0].discover.exclude[0]: not a glob pattern (`*`, `?`, `[…]`)",
		"sources[0].discover.interval: must be at least 1s",
		"sources[0].discover.retention: must not be negative",
		"sources[0].deployment_id: not allowed with discover (a deployment belongs to one application)",
		"enrichment.key: same as pipeline.fields.add_key: choose another key (or another add_key)",
		"enrichment.ttl: must be positive",
		"enrichment.max_wait: must not be negative",
	}, false)
	if got := parseProblems(t, strings.Replace(base, "    application_id: app_1\n", "", 1), nil); !strings.Contains(strings.Join(got, "\n"), "sources[0].application_id: required") {
		t.Errorf("no application_id and no discover: %q", got)
	}
}

// TestEnrichKeyKeptByInclude: pipeline.fields.include keeps the enrichment key.
func TestEnrichKeyKeptByInclude(t *testing.T) {
	c := mustParse(t, base+"pipeline:\n  fields: {include: [message]}\n", nil)
	if got := strings.Join(c.Pipeline.Fields.Include, ","); got != "message,clevercloud" {
		t.Errorf("include %s", got)
	}
	c = mustParse(t, strings.Replace(base, "app_1\n", "app_1\n    enrich: false\n", 1)+"pipeline:\n  fields: {include: [message]}\n", nil)
	if got := strings.Join(c.Pipeline.Fields.Include, ","); got != "message" {
		t.Errorf("include without enrichment %s", got)
	}
}

// TestREADMEOrganisationExampleLoads keeps README.md's discovery example valid.
func TestREADMEOrganisationExampleLoads(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	const begin, end = "<!-- readme-org-config: begin -->", "<!-- readme-org-config: end -->"
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatal("README.md lost its discovery example markers")
	}
	block := strings.TrimSpace(s[i+len(begin) : j])
	block = strings.TrimSuffix(strings.TrimPrefix(block, "```yaml"), "```")
	c, err := Parse([]byte(block), func(string) (string, bool) { return "", false }, testSinks)
	if err == nil {
		err = c.Validate()
	}
	if err != nil {
		t.Fatalf("README discovery example: %v", err)
	}
	if len(c.Sources) != 2 || c.Sources[0].Discover == nil || c.Sources[1].Enrich || !c.Sources[0].Enrich {
		t.Fatalf("README discovery example decoded wrongly: %+v", c.Sources)
	}
}

// TestDiscoverOverrides: an override changes a discovered application's settings when it
// matches; the last one that sets a key wins; its problems name their paths.
func TestDiscoverOverrides(t *testing.T) {
	c := mustParse(t, `sources:
  - name: org
    owner_id: orga_1
    filter: base
    discover:
      overrides:
        - match: ["front-*"]
          services: [bas]
          throttle_elements: 50
          enrich: false
        - match: [app_9, "*-web"]
          filter: web
          fields: [message]
state_dir: /state
sinks:
  - type: stdout
`, nil)
	s := c.Sources[0]
	front := s.ForApplication("app_1", "front-web")
	if front.Enrich || front.ThrottleElements != 50 || front.ThrottlePerMs != 100 || front.Filter != "web" ||
		len(front.Services) != 1 || len(front.Fields) != 1 {
		t.Errorf("front-web: %+v", front)
	}
	other := s.ForApplication("app_2", "api")
	if !other.Enrich || other.ThrottleElements != 2000 || other.Filter != "base" || other.Services != nil || other.Fields != nil {
		t.Errorf("api: %+v", other)
	}
	if byID := s.ForApplication("app_9", "x"); byID.Filter != "web" || !byID.Enrich {
		t.Errorf("by id: %+v", byID)
	}
	got := parseProblems(t, `sources:
  - owner_id: orga_1
    discover:
      overrides:
        - filter: x
        - match: ["[", ""]
          fields: [""]
          throttle_per_ms: -1
state_dir: /state
sinks:
  - type: stdout
`, nil)
	checkProblems(t, got, []string{
		"sources[0].discover.overrides[0].match: required (glob patterns on the application's id or name)",
		"sources[0].discover.overrides[1].match[0]: not a glob pattern (`*`, `?`, `[…]`)",
		"sources[0].discover.overrides[1].match[1]: not a glob pattern (`*`, `?`, `[…]`)",
		"sources[0].discover.overrides[1].fields[0]: must not be empty",
		"sources[0].discover.overrides[1].throttle_per_ms: must not be negative (0: the source's)",
	}, true)
}
