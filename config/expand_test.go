package config

import (
	"slices"
	"strings"
	"testing"
)

func TestExpandString(t *testing.T) {
	env := envOf("A", "alpha", "EMPTY", "", "N", "42", "REF", "${A}", "DD", "$$")
	tests := []struct {
		name, in, want string
		unset          []string // names reported unset
	}{
		{"plain", "${A}", "alpha", nil},
		{"twice", "${A}-${N}", "alpha-42", nil},
		{"set but empty", "x${EMPTY}y", "xy", nil},
		{"default when unset", "${NOPE:-dflt}", "dflt", nil},
		{"default when empty", "${EMPTY:-dflt}", "dflt", nil},
		{"default ignored when set", "${A:-dflt}", "alpha", nil},
		{"empty default", "${NOPE:-}", "", nil},
		{"dash default when unset", "${NOPE-d}", "d", nil},
		{"dash default keeps empty", "${EMPTY-d}", "", nil},
		{"default with colon and slashes", "${NOPE:-http://h:80/p}", "http://h:80/p", nil},
		{"default with hash", "${NOPE:-a # b}", "a # b", nil},
		{"nested default", "${NOPE:-${A}}", "alpha", nil},
		{"nested default twice", "${NOPE:-${NOPE2:-z}}", "z", nil},
		{"unset in used default", "${NOPE:-${NOPE2}}", "", []string{"NOPE2"}},
		{"unset in unused default", "${A:-${NOPE2}}", "alpha", nil},
		{"double dollar", "$$", "$", nil},
		{"escaped reference", "$${A}", "${A}", nil},
		{"escaped reference, then a reference", "$${A}${A}", "${A}alpha", nil},
		{"lone dollar kept", "$A b$ $1 $", "$A b$ $1 $", nil},
		{"unset", "x${NOPE}y", "xy", []string{"NOPE"}},
		{"two unset", "${NOPE}${NOPE2}", "", []string{"NOPE", "NOPE2"}},
		{"a value is not expanded again", "${REF}", "${A}", nil},
		{"a value's $$ stays", "${DD}", "$$", nil},
		{"multi-line", "a\n${A}\n", "a\nalpha\n", nil},
		{"utf-8", "é${A}ü", "éalphaü", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, unset, malformed := expandString(tt.in, env)
			if malformed {
				t.Fatal("malformed")
			}
			if out != tt.want {
				t.Errorf("got  %q\nwant %q", out, tt.want)
			}
			if strings.Join(unset, ",") != strings.Join(tt.unset, ",") {
				t.Errorf("unset %v, want %v", unset, tt.unset)
			}
		})
	}
}

// TestExpandKeepsStructure checks that a variable's value lands whole in
// the key that references it, whatever it holds: it can never add, remove
// or cut a key. Each value is checked on the loaded struct, in a plain, a
// double-quoted, a single-quoted and a block scalar, and in a Secret.
func TestExpandKeepsStructure(t *testing.T) {
	values := map[string]string{
		"space hash":     "abc #def",
		"hash only":      "# all a comment",
		"newline key":    "x\n    method: PUT",
		"newline at end": "x\n",
		"colon space":    "a: b",
		"double quote":   `say "hi" \" there`,
		"single quote":   "it's ''",
		"brace":          "{a: 1, b: [2]}",
		"bracket":        "[1, 2]",
		"leading star":   "*anchor",
		"leading amp":    "&anchor x",
		"leading dash":   "- item",
		"leading bang":   "!!int 5",
		"pipe":           "| block",
		"document mark":  "---\nstate_dir: /other",
		"dollar brace":   "${A}",
		"spaces":         "  padded  ",
		"tab":            "a\tb",
		"null word":      "null",
		"tilde":          "~",
	}
	// Each form, for a key indented by ind.
	forms := map[string]func(ind string) string{
		"plain":  func(string) string { return "${V}" },
		"double": func(string) string { return `"${V}"` },
		"single": func(string) string { return `'${V}'` },
		"block":  func(ind string) string { return "|-\n" + ind + "  ${V}" },
	}
	for name, v := range values {
		for form, ref := range forms {
			t.Run(name+"/"+form, func(t *testing.T) {
				src := `sources:
  - owner_id: orga_1
    application_id: app_1
    filter: ` + ref("    ") + `
state_dir: /state
api:
  token: ` + ref("  ") + `
pipeline:
  fields:
    add:
      env: ` + ref("      ") + `
sinks:
  - type: stdout
  - type: http
    url: http://127.0.0.1:1/
`
				c := mustParse(t, src, envOf("V", v, "A", "alpha"))
				if got := c.API.Token.Reveal(); got != v {
					t.Errorf("api.token = %q, want %q", got, v)
				}
				if got := c.Sources[0].Filter; got != v {
					t.Errorf("sources[0].filter = %q, want %q", got, v)
				}
				if got := c.Pipeline.Fields.Add["env"]; got != v || len(c.Pipeline.Fields.Add) != 1 {
					t.Errorf("pipeline.fields.add = %q, want {env: %q}", c.Pipeline.Fields.Add, v)
				}
				if c.StateDir != "/state" || len(c.Sinks) != 2 || httpOf(c, 1).Method != "POST" {
					t.Errorf("structure changed: state_dir %q, %d sinks, method %q", c.StateDir, len(c.Sinks), httpOf(c, 1).Method)
				}
			})
		}
	}
}

// TestExpandUnset checks an unset variable with and without a default, and
// one set to the empty string, in plain and quoted scalars.
func TestExpandUnset(t *testing.T) {
	env := envOf("EMPTY", "")
	// Plain and empty: null, the default stays.
	c := mustParse(t, base+"api:\n  url: ${NOPE:-}\nlog:\n  level: ${EMPTY}\n  format: ${NOPE:-console}\n", env)
	if c.API.URL != DefaultAPIURL || c.Log.Level != "info" || c.Log.Format != "console" {
		t.Errorf("api.url %q, log %+v", c.API.URL, c.Log)
	}
	// Quoted and empty: the empty string.
	got := parseProblems(t, base+"api:\n  url: \"${NOPE:-}\"\n", env)
	checkProblems(t, got, []string{"api.url: required"}, true)
	// Unset without a default: a problem at the key, even in a list.
	got = parseProblems(t, base+"api:\n  url: ${NOPE_URL}\n  token: \"x${NOPE_TOKEN}\"\n", env)
	checkProblems(t, got, []string{
		"api.url: environment variable NOPE_URL is not set",
		"api.token: environment variable NOPE_TOKEN is not set",
	}, true)
}

// TestExpandPositions checks that an unset variable is reported at the key
// it feeds.
func TestExpandPositions(t *testing.T) {
	src := base + `api:
  url: ${NOPE_URL}
pipeline:
  fields: {include: [a, "${NOPE_FIELD}"]}
log:
  level: |
    ${NOPE_LEVEL}
x: &anchor ${NOPE_ANCHORED}
metrics:
  listen: *anchor
`
	got := parseProblems(t, src, envOf())
	checkProblems(t, got, []string{
		"api.url: environment variable NOPE_URL is not set",
		"pipeline.fields.include[1]: environment variable NOPE_FIELD is not set",
		"log.level: environment variable NOPE_LEVEL is not set",
		"x: unknown key",
		"metrics.listen: environment variable NOPE_ANCHORED is not set",
	}, true)
}

func TestExpandMalformed(t *testing.T) {
	for _, in := range []string{
		"${}",
		"${1A}",
		"${A B}",
		"${secretish",
		"${A:secret}",
		"${A:?msg}",
		"${A:-${B}",
		"|\n    ${A:-x\n    }",
		"${NOPE:-${1}}",
	} {
		t.Run(in, func(t *testing.T) {
			got := parseProblems(t, base+"log:\n  format: "+in+"\n", envOf("A", "v"))
			want := "log.format: malformed ${…} reference (use ${NAME}, ${NAME:-default}, or $$ for a literal $)"
			if !slices.Contains(got, want) {
				t.Fatalf("problems %q, want %q", got, want)
			}
			for _, p := range got {
				if strings.Contains(p, "secret") {
					t.Errorf("problem %q echoes the text", p)
				}
			}
		})
	}
}

func TestExpandInParse(t *testing.T) {
	c := mustParse(t, `sources:
  - owner_id: ${OWNER}
    application_id: ${APP:-app_default}
    limit: ${LIMIT:-7}
    filter: "cost: $$5"
    # ${NOT_SET_IN_COMMENT}
state_dir: ${STATE}/sub # ${NOT_SET_IN_COMMENT}
sinks:
  - type: ${SINK_TYPE:-stdout}
    format: ${FORMAT}
pipeline:
  batch: {max_wait: "${WAIT:-1s}", max_bytes: "${BYTES:-2MiB}"}
`, envOf("OWNER", "orga_x", "STATE", "/var/s", "FORMAT", "text"))
	s := c.Sources[0]
	if s.OwnerID != "orga_x" || s.ApplicationID != "app_default" || s.Limit != 7 || s.Filter != "cost: $5" {
		t.Errorf("source %+v", s)
	}
	if c.StateDir != "/var/s/sub" {
		t.Errorf("state_dir %q", c.StateDir)
	}
	if c.Sinks[0].Type != "stdout" || c.Sinks[0].Settings.(*testStdout).Format != "text" {
		t.Errorf("sink %+v", c.Sinks[0])
	}
	if b := c.Pipeline.Batch; b.MaxWait.String() != "1s" || b.MaxBytes != 2<<20 {
		t.Errorf("batch %+v", b)
	}
	// Keys are never expanded: a reference there is an unknown key.
	got := parseProblems(t, base+"${KEY}: 1\n", envOf("KEY", "log"))
	checkProblems(t, got, []string{"${KEY}: unknown key"}, true)
}
