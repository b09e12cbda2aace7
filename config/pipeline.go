package config

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"sort"
	"strings"
)

// severityLevels are the syslog severities by name, most severe first, with
// the spellings applications commonly use.
var severityLevels = map[string]int{
	"emerg":         0,
	"emergency":     0,
	"panic":         0,
	"alert":         1,
	"crit":          2,
	"critical":      2,
	"err":           3,
	"error":         3,
	"warning":       4,
	"warn":          4,
	"notice":        5,
	"info":          6,
	"informational": 6,
	"debug":         7,
}

// SeverityLevel returns the syslog level (0 emerg … 7 debug) of a severity
// name, case-insensitively, and whether the name is known.
func SeverityLevel(name string) (int, bool) {
	l, ok := severityLevels[name]
	if !ok {
		l, ok = severityLevels[strings.ToLower(name)]
	}
	return l, ok
}

// MaxRenames bounds pipeline.fields.rename.
const MaxRenames = 64

// pushDown returns the `field` and `filter` parameters that source s can
// ask on the pipeline's behalf (see Pipeline.PushDown): nil and "" for
// what cannot be pushed. The fields always hold id and date (resume and
// dedupe need them) and every field a stage reads.
func (p *Pipeline) pushDown(s *Source, enrichKey string) (fields []string, filter string) {
	if !p.PushDown {
		return nil, ""
	}
	if len(s.Fields) == 0 && len(p.Fields.Include) > 0 {
		fields = []string{"id", "date"}
		add := func(names ...string) {
			for _, n := range names {
				if n != "" && !slices.Contains(fields, n) {
					fields = append(fields, n)
				}
			}
		}
		for _, f := range p.Fields.Include {
			if f != enrichKey { // added by logship, not an API field
				add(f)
			}
		}
		f := p.Filter
		if len(f.MessageContains)+len(f.MessageNotContains)+len(f.MessageMatches)+len(f.MessageNotMatches) > 0 {
			add("message")
		}
		if f.MinSeverity != "" {
			add("severity", "priority")
		}
		if p.Throttle.Rate > 0 && p.Throttle.Key == "instance" {
			add("instanceId")
		}
		if s.Enrich { // what enrichment looks up
			add("applicationId", "instanceId", "deploymentId", "zone")
		}
	}
	if s.Filter == "" && len(p.Filter.MessageContains) == 1 && PlainSubstring(p.Filter.MessageContains[0]) {
		filter = p.Filter.MessageContains[0]
	}
	return fields, filter
}

// PlainSubstring reports whether s can be pushed down as the API's
// case-insensitive `filter`: printable ASCII (where case folding is the
// same everywhere), without leading or trailing space.
func PlainSubstring(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// validateStages checks the filter, throttle key, fields and buffer keys
// of pipeline.
func (p *Pipeline) validateStages(ps *Problems) {
	f := p.Filter
	if f.MinSeverity != "" {
		if _, ok := SeverityLevel(f.MinSeverity); !ok {
			ps.add("pipeline.filter.min_severity", "must be one of emerg, alert, crit, err, warning, notice, info, debug")
		}
	}
	nonEmpty(ps, "pipeline.filter.message_contains", f.MessageContains)
	nonEmpty(ps, "pipeline.filter.message_not_contains", f.MessageNotContains)
	checkRegexps(ps, "pipeline.filter.message_matches", f.MessageMatches)
	checkRegexps(ps, "pipeline.filter.message_not_matches", f.MessageNotMatches)

	switch p.Throttle.Key {
	case "", "global", "application", "instance":
	default:
		ps.add("pipeline.throttle.key", "must be global, application or instance")
	}

	fs := p.Fields
	if len(fs.Rename) > MaxRenames {
		ps.add("pipeline.fields.rename", fmt.Sprintf("at most %d renames", MaxRenames))
	}
	targets := map[string]string{}
	for _, from := range sortedKeys(fs.Rename) {
		to := fs.Rename[from]
		kp := "pipeline.fields.rename." + from
		switch {
		case strings.TrimSpace(from) == "":
			ps.add("pipeline.fields.rename", "a field name must not be empty")
			continue
		case strings.TrimSpace(to) == "":
			ps.add(kp, "must not be empty")
			continue
		case len(fs.Include) > 0 && !slices.Contains(fs.Include, from):
			ps.add(kp, "renames a field that pipeline.fields.include removes")
		case slices.Contains(fs.Exclude, from):
			ps.add(kp, "renames a field that pipeline.fields.exclude removes")
		case len(fs.Add) > 0 && to == fs.AddKey:
			ps.add(kp, "renames to pipeline.fields.add_key")
		}
		if other, dup := targets[to]; dup {
			ps.add(kp, "same new name as pipeline.fields.rename."+other)
		} else {
			targets[to] = from
		}
	}
	if len(fs.Add) > 0 && strings.TrimSpace(fs.AddKey) == "" {
		ps.add("pipeline.fields.add_key", "required with pipeline.fields.add")
	}
	for k := range fs.Add {
		if strings.TrimSpace(k) == "" {
			ps.add("pipeline.fields.add", "a field name must not be empty")
		}
	}
	checkWhenFull(ps, "pipeline.buffer.when_full", p.Buffer.WhenFull)
}

func checkWhenFull(ps *Problems, path, v string) {
	if v != "" && v != "block" && v != "drop_newest" {
		ps.add(path, "must be block or drop_newest")
	}
}

// checkRegexps checks regular expressions without quoting them (a problem
// never holds a value of the file).
func checkRegexps(ps *Problems, path string, exprs []string) {
	for i, e := range exprs {
		kp := fmt.Sprintf("%s[%d]", path, i)
		if e == "" {
			ps.add(kp, "must not be empty")
			continue
		}
		if _, err := regexp.Compile(e); err != nil {
			msg := "not a valid regular expression (RE2 syntax)"
			var se *syntax.Error
			if errors.As(err, &se) {
				msg += ": " + string(se.Code)
			}
			ps.add(kp, msg)
		}
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
