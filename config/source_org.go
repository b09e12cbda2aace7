package config

import (
	"fmt"
	"path"
	"slices"
	"time"
)

// Defaults of discovery and enrichment.
const (
	// DefaultEnrichKey is the key under which enrichment puts what it adds
	// (apart from pipeline.fields.add's DefaultAddKey).
	DefaultEnrichKey = "clevercloud"
	// DefaultDiscoverInterval is how often discovery lists the applications.
	DefaultDiscoverInterval = time.Minute
	// DefaultRetention is how long the API keeps logs (7 days).
	DefaultRetention = 7 * 24 * time.Hour
)

// Discover selects the applications of a source's owner to follow. With no
// pattern it selects them all. A pattern is a glob (path.Match: `*`, `?`,
// `[…]`) matched against the application's id and against its name.
type Discover struct {
	// Include keeps the applications that match one of these patterns
	// (empty: every application).
	Include []string `yaml:"include"`
	// Exclude drops the applications that match one of these patterns.
	Exclude []string `yaml:"exclude"`
	// Interval is how often the applications are listed (default 1m,
	// at least 1s). A listing that fails keeps the current set.
	Interval Duration `yaml:"interval"`
	// FromCreation (default true): an application that appears while
	// logship runs, and has no checkpoint, is read from its creation date
	// when that is within Retention, so that its first deployment's logs
	// are not missed. The applications found at start-up, and with
	// FromCreation false every application, start from the source's since
	// (default: now).
	FromCreation *bool `yaml:"from_creation"`
	// Retention is how long the API keeps logs (default 168h): a creation
	// date older than that is not used, and the checkpoint of an
	// application no longer followed whose newest line is older than that
	// is dropped.
	Retention Duration `yaml:"retention"`
	// Overrides change the source's settings for the applications they
	// match; for each key, the last override that matches and sets it wins.
	Overrides []Override `yaml:"overrides"`
}

// Override is settings of a discovering source for some of its
// applications. Unset keys keep the source's values.
type Override struct {
	// Match lists glob patterns on the application's id or name
	// (required): the override applies when one matches.
	Match []string `yaml:"match"`
	// Filter, Fields and Services replace the source's (the API's filter,
	// field and service parameters).
	Filter   string   `yaml:"filter"`
	Fields   []string `yaml:"fields"`
	Services []string `yaml:"services"`
	// ThrottleElements and ThrottlePerMs replace the source's server-side
	// pacing.
	ThrottleElements int `yaml:"throttle_elements"`
	ThrottlePerMs    int `yaml:"throttle_per_ms"`
	// Enrich, when set, replaces the source's enrich.
	Enrich *bool `yaml:"enrich"`
}

// ForApplication returns s (a discovering source) as it applies to the
// application of id and name: its overrides applied, in order.
func (s Source) ForApplication(id, name string) Source {
	if s.Discover == nil {
		return s
	}
	for _, o := range s.Discover.Overrides {
		if !matchAny(o.Match, id, name) {
			continue
		}
		if o.Filter != "" {
			s.Filter = o.Filter
		}
		if len(o.Fields) > 0 {
			s.Fields = o.Fields
			s.PushFields = nil // the application's own fields: no push-down
		}
		if len(o.Services) > 0 {
			s.Services = o.Services
		}
		if o.ThrottleElements > 0 {
			s.ThrottleElements = o.ThrottleElements
		}
		if o.ThrottlePerMs > 0 {
			s.ThrottlePerMs = o.ThrottlePerMs
		}
		if o.Enrich != nil {
			s.Enrich = *o.Enrich
		}
	}
	return s
}

// matchAny reports whether a pattern of patterns matches id or name.
func matchAny(patterns []string, id, name string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool {
		a, _ := path.Match(p, id)
		b, _ := path.Match(p, name)
		return a || b
	})
}

// ReadsFromCreation reports whether new applications are read from their
// creation date.
func (d *Discover) ReadsFromCreation() bool { return d.FromCreation == nil || *d.FromCreation }

// Selects reports whether the application of id and name passes the
// include and exclude patterns (which Validate checked).
func (d *Discover) Selects(id, name string) bool {
	return (len(d.Include) == 0 || matchAny(d.Include, id, name)) && !matchAny(d.Exclude, id, name)
}

// Enrichment tunes the look-ups of sources[].enrich: one cache shared by
// every source.
type Enrichment struct {
	// Key is the member every enriched line gets (default "clevercloud");
	// a line's own member of that name is replaced.
	Key string `yaml:"key"`
	// TTL is how long a looked-up value is used before it is looked up
	// again (default 10m; meanwhile the old value is used).
	TTL Duration `yaml:"ttl"`
	// MaxWait is how long lines wait for a look-up that an unknown id
	// started (default 200ms); past it they go out without that part
	// (counted in logship_enrich_missing_total). Zero: never wait.
	MaxWait Duration `yaml:"max_wait"`
}

// resolveDiscover sets a discovering source's defaults: its name (the
// owner id) and discovery's interval and retention.
func (s *Source) resolveDiscover() {
	d := s.Discover
	if d == nil {
		return
	}
	if s.Name == "" {
		s.Name = s.OwnerID
	}
	def := NewDiscover()
	if d.Interval == 0 {
		d.Interval = def.Interval
	}
	if d.Retention == 0 {
		d.Retention = def.Retention
	}
}

// NewDiscover returns the settings of `discover: {}`, its defaults, for
// configurations built in Go.
func NewDiscover() Discover {
	return Discover{Interval: Duration(DefaultDiscoverInterval), Retention: Duration(DefaultRetention)}
}

// validateDiscover checks a discovering source (p is its key path).
func (s *Source) validateDiscover(ps *Problems, p string) {
	d := s.Discover
	if s.ApplicationID != "" {
		ps.add(p+".application_id", "not allowed with discover (discover finds the applications)")
	}
	for _, list := range []struct {
		key      string
		patterns []string
	}{{"include", d.Include}, {"exclude", d.Exclude}} {
		for i, pat := range list.patterns {
			if _, err := path.Match(pat, ""); err != nil || pat == "" {
				ps.add(fmt.Sprintf("%s.discover.%s[%d]", p, list.key, i), "not a glob pattern (`*`, `?`, `[…]`)")
			}
		}
	}
	for i, o := range d.Overrides {
		op := fmt.Sprintf("%s.discover.overrides[%d]", p, i)
		if len(o.Match) == 0 {
			ps.add(op+".match", "required (glob patterns on the application's id or name)")
		}
		for j, pat := range o.Match {
			if _, err := path.Match(pat, ""); err != nil || pat == "" {
				ps.add(fmt.Sprintf("%s.match[%d]", op, j), "not a glob pattern (`*`, `?`, `[…]`)")
			}
		}
		nonEmpty(ps, op+".fields", o.Fields)
		nonEmpty(ps, op+".services", o.Services)
		if o.ThrottleElements < 0 {
			ps.add(op+".throttle_elements", "must not be negative (0: the source's)")
		}
		if o.ThrottlePerMs < 0 {
			ps.add(op+".throttle_per_ms", "must not be negative (0: the source's)")
		}
	}
	if d.Interval.D() < time.Second {
		ps.add(p+".discover.interval", "must be at least 1s")
	}
	if d.Retention < 0 {
		ps.add(p+".discover.retention", "must not be negative")
	}
	if s.DeploymentID != "" {
		ps.add(p+".deployment_id", "not allowed with discover (a deployment belongs to one application)")
	}
	if len(s.InstanceIDs) > 0 {
		ps.add(p+".instance_ids", "not allowed with discover (an instance belongs to one application)")
	}
}

// resolveEnrichment sets what enrichment needs from other stages: with
// pipeline.fields.include, the enrichment key is kept too.
func (c *Config) resolveEnrichment() {
	f := &c.Pipeline.Fields
	if len(f.Include) == 0 || slices.Contains(f.Include, c.Enrichment.Key) {
		return
	}
	for _, s := range c.Sources {
		if s.Enrich {
			f.Include = append(slices.Clip(f.Include), c.Enrichment.Key)
			return
		}
	}
}

// validateEnrichment checks the enrichment section.
func (c *Config) validateEnrichment(ps *Problems) {
	e := c.Enrichment
	switch {
	case e.Key == "":
		ps.add("enrichment.key", "required")
	case len(c.Pipeline.Fields.Add) > 0 && e.Key == c.Pipeline.Fields.AddKey:
		ps.add("enrichment.key", "same as pipeline.fields.add_key: choose another key (or another add_key)")
	}
	if e.TTL <= 0 {
		ps.add("enrichment.ttl", "must be positive")
	}
	if e.MaxWait < 0 {
		ps.add("enrichment.max_wait", "must not be negative")
	}
}
