package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Validate checks the whole configuration and returns every problem at
// once, as Problems, or nil. It parses each source's Since and Until into
// SinceTime and UntilTime. It expects the defaults that Load applies and
// does no I/O. No problem holds a value of the configuration.
func (c *Config) Validate() error {
	ps := c.validate()
	ps.scrub(secretValues(c))
	return ps.err()
}

func (c *Config) validate() Problems {
	var ps Problems
	c.API.validate(&ps)
	c.validateSources(&ps)
	c.validateEnrichment(&ps)
	if c.StateDir == "" {
		ps.add("state_dir", "required")
	}
	if c.Checkpoint.Interval <= 0 {
		ps.add("checkpoint.interval", "must be positive")
	}
	c.Pipeline.validate(&ps)
	c.validateSinks(&ps)
	if c.DeadLetter.Path == "" && c.StateDir != "" {
		ps.add("dead_letter.path", "required")
	}
	if l := c.Metrics.Listen; l != "" && !isHostPort(l) {
		ps.add("metrics.listen", "must be host:port (such as 127.0.0.1:9090 or :9090)")
	}
	if c.Metrics.Ready.SourceDownAfter <= 0 {
		ps.add("metrics.ready.source_down_after", "must be positive")
	}
	if c.Metrics.Ready.SinkFailingAfter <= 0 {
		ps.add("metrics.ready.sink_failing_after", "must be positive")
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		ps.add("log.level", "must be debug, info, warn or error")
	}
	if c.Log.Format != "json" && c.Log.Format != "console" {
		ps.add("log.format", "must be json or console")
	}
	if c.ShutdownTimeout <= 0 {
		ps.add("shutdown_timeout", "must be positive")
	}
	return ps
}

// apiURLCredentials refuses user information in api.url.
const apiURLCredentials = "must not hold credentials (user:password@): use api.token or api.oauth"

func (a *API) validate(ps *Problems) {
	if a.URL == "" {
		ps.add("api.url", "required")
	} else if u, err := url.Parse(a.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		ps.add("api.url", "must be an http or https URL")
	} else if u.User != nil {
		// The URL is not a Secret: credentials in it would be printed.
		ps.add("api.url", apiURLCredentials)
	}
	o := a.OAuth
	if a.Token != "" && o.Token != "" {
		ps.add("api.token", "set api.token or api.oauth.token, not both")
	}
	if o.Token != "" && o.Secret == "" {
		ps.add("api.oauth.secret", "required with api.oauth.token")
	}
	if o.Secret != "" && o.Token == "" {
		ps.add("api.oauth.token", "required with api.oauth.secret")
	}
	if o.ConsumerKey != "" && o.ConsumerSecret == "" {
		ps.add("api.oauth.consumer_secret", "required with api.oauth.consumer_key")
	}
	if o.ConsumerSecret != "" && o.ConsumerKey == "" {
		ps.add("api.oauth.consumer_key", "required with api.oauth.consumer_secret")
	}
	if o.Signature != "plaintext" && o.Signature != "hmac-sha512" {
		ps.add("api.oauth.signature", "must be plaintext or hmac-sha512")
	}
}

func (c *Config) validateSources(ps *Problems) {
	if len(c.Sources) == 0 {
		ps.add("sources", "at least one source required")
	}
	names := map[string]int{}
	for i := range c.Sources {
		s := &c.Sources[i]
		p := fmt.Sprintf("sources[%d]", i)
		switch {
		case s.Name == "" && s.ApplicationID == "":
			// application_id: required says it.
		case !validName(s.Name):
			ps.add(p+".name", nameRule)
		default:
			if j, dup := names[s.Name]; dup {
				ps.add(p+".name", fmt.Sprintf("same as sources[%d] (give each source of an application its own name)", j))
			} else {
				names[s.Name] = i
			}
		}
		checkID(ps, p+".owner_id", s.OwnerID, "orga_", "user_")
		if s.Discover == nil {
			checkID(ps, p+".application_id", s.ApplicationID, "app_")
		} else {
			s.validateDiscover(ps, p)
		}
		s.SinceTime = parseTime(ps, p+".since", s.Since)
		s.UntilTime = parseTime(ps, p+".until", s.Until)
		if !s.SinceTime.IsZero() && !s.UntilTime.IsZero() && !s.UntilTime.After(s.SinceTime) {
			ps.add(p+".until", "must be after since")
		}
		nonEmpty(ps, p+".instance_ids", s.InstanceIDs)
		nonEmpty(ps, p+".fields", s.Fields)
		nonEmpty(ps, p+".services", s.Services)
		if s.Limit < 0 {
			ps.add(p+".limit", "must not be negative (0: no limit)")
		}
		if s.ThrottleElements < 1 {
			ps.add(p+".throttle_elements", "must be at least 1")
		}
		if s.ThrottlePerMs < 1 {
			ps.add(p+".throttle_per_ms", "must be at least 1")
		}
		if s.Lookback < 0 {
			ps.add(p+".lookback", "must not be negative")
		}
		if s.HeartbeatTimeout <= 0 {
			ps.add(p+".heartbeat_timeout", "must be positive")
		}
		if s.MaxEventBytes < 1 {
			ps.add(p+".max_event_bytes", "must be at least 1")
		}
	}
}

// checkID checks a Clever Cloud id: one of the prefixes, then letters,
// digits, '-' and '_' (it goes into a URL path).
func checkID(ps *Problems, path, id string, prefixes ...string) {
	switch {
	case id == "":
		ps.add(path, "required")
	case !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(id, p) && len(id) > len(p) }):
		ps.add(path, "must start with "+strings.Join(prefixes, " or "))
	case strings.IndexFunc(id, func(r rune) bool { return !isNameRune(r) || r == '.' }) >= 0:
		ps.add(path, "must hold only letters, digits, '-' and '_'")
	}
}

func parseTime(ps *Problems, path, s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		ps.add(path, "not an RFC 3339 time (such as 2024-05-01T12:00:00Z)")
		return time.Time{}
	}
	return t
}

func nonEmpty(ps *Problems, path string, list []string) {
	for i, v := range list {
		if strings.TrimSpace(v) == "" {
			ps.add(fmt.Sprintf("%s[%d]", path, i), "must not be empty")
		}
	}
}

func (p *Pipeline) validate(ps *Problems) {
	t := p.Throttle
	if t.Rate < 0 {
		ps.add("pipeline.throttle.rate", "must not be negative (0: no throttle)")
	}
	if t.Burst < 0 || t.Rate > 0 && t.Burst < 1 {
		ps.add("pipeline.throttle.burst", "must be at least 1")
	}
	if t.Mode != "drop" && t.Mode != "block" {
		ps.add("pipeline.throttle.mode", "must be drop or block")
	}
	if len(p.Fields.Include) > 0 && len(p.Fields.Exclude) > 0 {
		ps.add("pipeline.fields", "set include or exclude, not both")
	}
	nonEmpty(ps, "pipeline.fields.include", p.Fields.Include)
	nonEmpty(ps, "pipeline.fields.exclude", p.Fields.Exclude)
	p.validateStages(ps)
	checkBatch(ps, "pipeline.batch", p.Batch, nil)
	if p.Buffer.MaxBytes < 1 {
		ps.add("pipeline.buffer.max_bytes", "must be at least 1")
	} else if p.Batch.MaxBytes > 0 && p.Buffer.MaxBytes < p.Batch.MaxBytes {
		ps.add("pipeline.buffer.max_bytes", "must be at least pipeline.batch.max_bytes")
	}
}

// checkBatch checks batch b at path. For a sink, inherited is the
// pipeline's batch: a field equal to it is checked there, not again here.
func checkBatch(ps *Problems, path string, b Batch, inherited *Batch) {
	if b.MaxEvents < 1 && (inherited == nil || b.MaxEvents != inherited.MaxEvents) {
		ps.add(path+".max_events", "must be at least 1")
	}
	if b.MaxBytes < 1 && (inherited == nil || b.MaxBytes != inherited.MaxBytes) {
		ps.add(path+".max_bytes", "must be at least 1")
	}
	if b.MaxWait <= 0 && (inherited == nil || b.MaxWait != inherited.MaxWait) {
		ps.add(path+".max_wait", "must be positive")
	}
}

func (c *Config) validateSinks(ps *Problems) {
	if len(c.Sinks) == 0 {
		ps.add("sinks", "at least one sink required")
	}
	names := map[string]int{}
	files := map[string]int{}
	for i := range c.Sinks {
		s := &c.Sinks[i]
		p := fmt.Sprintf("sinks[%d]", i)
		typed := s.Settings
		if c.sinkFactories != nil && !slices.Contains(sinkTypeNames(c.sinkFactories), s.Type) {
			typed = nil // settings of another type
		}
		switch {
		case s.Type == "":
			ps.add(p+".type", "required")
		case typed == nil:
			ps.add(p+".type", sinkTypeMessage(c.sinkFactories))
		}
		if s.Name != "" || typed != nil {
			if !validName(s.Name) {
				ps.add(p+".name", nameRule)
			} else if j, dup := names[s.Name]; dup {
				ps.add(p+".name", fmt.Sprintf("same as sinks[%d]", j))
			} else {
				names[s.Name] = i
			}
		}
		if s.InFlight < 1 {
			ps.add(p+".in_flight", "must be at least 1")
		}
		s.Retry.validate(ps, p+".retry")
		c.validateSinkLimits(ps, i, p)
		if lf, ok := s.Settings.(LocalFiler); ok && typed != nil {
			key, path := lf.LocalFile()
			if path != "" {
				clean := filepath.Clean(path)
				if j, dup := files[clean]; dup {
					ps.add(joinKey(p, key), fmt.Sprintf("same file as sinks[%d]", j))
				} else {
					files[clean] = i
				}
				if c.DeadLetter.Path != "" && clean == filepath.Clean(c.DeadLetter.Path) {
					ps.add(joinKey(p, key), "is the dead-letter file")
				}
			}
		}
		if typed != nil {
			for _, sp := range typed.Validate() {
				ps.add(joinKey(p, sp.Path), sp.Message)
			}
		}
	}
}

// validateSinkLimits checks sink i's batch and buffer, where they differ
// from pipeline's (the pipeline's own values are checked there).
func (c *Config) validateSinkLimits(ps *Problems, i int, p string) {
	b, buf := c.SinkBatch(i), c.SinkBuffer(i)
	pb, pbuf := c.Pipeline.Batch, c.Pipeline.Buffer
	checkBatch(ps, p+".batch", b, &pb)
	if buf.WhenFull != pbuf.WhenFull {
		checkWhenFull(ps, p+".buffer.when_full", buf.WhenFull)
	}
	if buf.MaxBytes == pbuf.MaxBytes && b.MaxBytes == pb.MaxBytes {
		return
	}
	if buf.MaxBytes < 1 {
		if buf.MaxBytes != pbuf.MaxBytes {
			ps.add(p+".buffer.max_bytes", "must be at least 1")
		}
	} else if b.MaxBytes > 0 && buf.MaxBytes < b.MaxBytes {
		ps.add(p+".buffer.max_bytes", "must be at least the sink's batch.max_bytes")
	}
}

const nameRule = "must be 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit"

// validName reports whether s can name a source or a sink (it may become a
// file name or a metric label).
func validName(s string) bool {
	if s == "" || len(s) > 128 || s[0] == '.' || s[0] == '-' || s[0] == '_' {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool { return !isNameRune(r) }) < 0
}

func isNameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
}

func isHostPort(s string) bool {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return false
	}
	n, err := strconv.Atoi(port)
	return err == nil && n >= 0 && n <= 65535
}

func (r Retry) validate(ps *Problems, path string) {
	if r.MaxElapsed < 0 {
		ps.add(path+".max_elapsed", "must not be negative (0 retries without limit)")
	}
	if r.InitialBackoff <= 0 {
		ps.add(path+".initial_backoff", "must be positive")
	}
	if r.MaxBackoff <= 0 {
		ps.add(path+".max_backoff", "must be positive")
	} else if r.InitialBackoff > r.MaxBackoff {
		ps.add(path+".initial_backoff", "must not exceed max_backoff")
	}
}
