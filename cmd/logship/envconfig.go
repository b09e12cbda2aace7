package main

import (
	"strconv"
	"strings"

	"github.com/logship/logship/config"
)

// Environment-only mode: `logship run` (or validate) without --config, for
// a twelve-factor platform such as Clever Cloud, takes its configuration
// from the environment. LOGSHIP_CONFIG, when set, holds a whole YAML
// configuration; otherwise the LOGSHIP_* variables below make one. Either
// way `${VAR}` references are expanded by the loader after parsing, so a
// variable's value is never spliced into YAML: it cannot add or cut a key,
// and secrets (CLEVER_API_TOKEN, LOGSHIP_SINK_TOKEN) stay out of the text.
const (
	envWholeConfig = "LOGSHIP_CONFIG"
	envOwner       = "LOGSHIP_OWNER_ID"
	envApps        = "LOGSHIP_APPLICATION_IDS"
)

// envVars are the variables of the environment-only mode, for the usage
// text and the README: name, what it sets.
var envVars = [][2]string{
	{envWholeConfig, "a whole YAML configuration (the variables below are then ignored)"},
	{envOwner, "sources[].owner_id: orga_… or user_… (required)"},
	{envApps, "comma-separated application ids, one source each (required)"},
	{"LOGSHIP_SINCE", "sources[].since (RFC 3339)"},
	{"LOGSHIP_UNTIL", "sources[].until (RFC 3339): backfill, then exit"},
	{"LOGSHIP_API_URL", "api.url"},
	{"LOGSHIP_STATE_DIR", "state_dir (default logship-state)"},
	{"LOGSHIP_SINK_URL", "an http sink POSTing to this URL; unset: stdout"},
	{"LOGSHIP_SINK_ENCODING", "the http sink's encoding (default ndjson)"},
	{"LOGSHIP_SINK_TOKEN", "the http sink's bearer token"},
	{"LOGSHIP_METRICS_LISTEN", "metrics.listen (default 0.0.0.0:$PORT when PORT is set)"},
	{"LOGSHIP_LOG_LEVEL", "log.level"},
	{"LOGSHIP_LOG_FORMAT", "log.format"},
}

// envConfigured reports whether the environment holds a configuration.
func envConfigured(env func(string) (string, bool)) bool {
	for _, k := range []string{envWholeConfig, envOwner, envApps} {
		if v, ok := env(k); ok && v != "" {
			return true
		}
	}
	return false
}

// envConfigYAML returns the YAML of the environment-only mode (see above).
// Credentials come from where a file without api.token takes them:
// CLEVER_API_TOKEN, CLEVER_TOKEN and CLEVER_SECRET, CC_OAUTH_*.
func envConfigYAML(env func(string) (string, bool)) ([]byte, error) {
	if v, ok := env(envWholeConfig); ok && v != "" {
		return []byte(v), nil
	}
	set := func(k string) bool { v, ok := env(k); return ok && v != "" }
	appsVar, _ := env(envApps)
	var apps []string
	for _, a := range strings.Split(appsVar, ",") {
		if a = strings.TrimSpace(a); a != "" {
			apps = append(apps, a)
		}
	}
	if len(apps) == 0 {
		return nil, config.Problems{{Path: envApps, Message: "required: comma-separated application ids (or a whole configuration in " + envWholeConfig + ")"}}
	}
	var b strings.Builder
	b.WriteString("api:\n  url: ${LOGSHIP_API_URL:-}\n")
	b.WriteString("state_dir: ${LOGSHIP_STATE_DIR:-logship-state}\n")
	b.WriteString("sources:\n")
	for _, a := range apps {
		// An id is written as a quoted literal, its `$` doubled: the
		// loader expands nothing in it.
		b.WriteString("  - owner_id: ${" + envOwner + "}\n")
		b.WriteString("    application_id: " + strconv.Quote(strings.ReplaceAll(a, "$", "$$")) + "\n")
		b.WriteString("    since: ${LOGSHIP_SINCE:-}\n    until: ${LOGSHIP_UNTIL:-}\n")
	}
	b.WriteString("sinks:\n")
	if set("LOGSHIP_SINK_URL") {
		b.WriteString("  - type: http\n    url: ${LOGSHIP_SINK_URL}\n    encoding: ${LOGSHIP_SINK_ENCODING:-}\n")
		if set("LOGSHIP_SINK_TOKEN") {
			b.WriteString("    auth:\n      token: ${LOGSHIP_SINK_TOKEN}\n")
		}
	} else {
		b.WriteString("  - type: stdout\n")
	}
	switch {
	case set("LOGSHIP_METRICS_LISTEN"):
		b.WriteString("metrics:\n  listen: ${LOGSHIP_METRICS_LISTEN}\n")
	case set("PORT"):
		b.WriteString("metrics:\n  listen: 0.0.0.0:${PORT}\n")
	}
	b.WriteString("log:\n  level: ${LOGSHIP_LOG_LEVEL:-}\n  format: ${LOGSHIP_LOG_FORMAT:-}\n")
	return []byte(b.String()), nil
}
