package config

import (
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	env := envOf("A", "alpha", "EMPTY", "", "N", "42", "HASH", "x # y")
	tests := []struct {
		name, in, want string
		unset          []string // names reported unset
	}{
		{"plain", "a: ${A}\n", "a: alpha\n", nil},
		{"twice on a line", "a: ${A}-${N}\n", "a: alpha-42\n", nil},
		{"set but empty", "a: ${EMPTY}\n", "a: \n", nil},
		{"default when unset", "a: ${NOPE:-dflt}\n", "a: dflt\n", nil},
		{"default when empty", "a: ${EMPTY:-dflt}\n", "a: dflt\n", nil},
		{"default ignored when set", "a: ${A:-dflt}\n", "a: alpha\n", nil},
		{"empty default", "a: ${NOPE:-}\n", "a: \n", nil},
		{"dash default when unset", "a: ${NOPE-d}\n", "a: d\n", nil},
		{"dash default keeps empty", "a: ${EMPTY-d}\n", "a: \n", nil},
		{"default with colon and slashes", "u: ${NOPE:-http://h:80/p}\n", "u: http://h:80/p\n", nil},
		{"nested default", "a: ${NOPE:-${A}}\n", "a: alpha\n", nil},
		{"nested default twice", "a: ${NOPE:-${NOPE2:-z}}\n", "a: z\n", nil},
		{"unset in used default", "a: ${NOPE:-${NOPE2}}\n", "a: \n", []string{"NOPE2"}},
		{"unset in unused default", "a: ${A:-${NOPE2}}\n", "a: alpha\n", nil},
		{"double dollar", "a: $$\n", "a: $\n", nil},
		{"escaped reference", "a: $${A}\n", "a: ${A}\n", nil},
		{"lone dollar kept", "a: $A b$ $1 $\n", "a: $A b$ $1 $\n", nil},
		{"unset", "a: ${NOPE}\n", "a: \n", []string{"NOPE"}},
		{"value with hash is textual", "a: ${HASH}\n", "a: x # y\n", nil},
		{"comment line left alone", "# ${NOPE}\na: 1\n", "# ${NOPE}\na: 1\n", nil},
		{"end-of-line comment left alone", "a: ${A} # ${NOPE}\n", "a: alpha # ${NOPE}\n", nil},
		{"indented comment", "a:\n  # ${NOPE}\n  b: 1\n", "a:\n  # ${NOPE}\n  b: 1\n", nil},
		{"hash without space is not a comment", "u: http://h/#${A}\n", "u: http://h/#alpha\n", nil},
		{"double quoted hash", "a: \"x # ${A}\"\n", "a: \"x # alpha\"\n", nil},
		{"double quoted escaped quote", "a: \"q\\\" # ${A}\" # ${NOPE}\n", "a: \"q\\\" # alpha\" # ${NOPE}\n", nil},
		{"single quoted hash", "a: 'x # ${A}'\n", "a: 'x # alpha'\n", nil},
		{"single quoted doubled quote", "a: 'it''s # ${A}' # ${NOPE}\n", "a: 'it''s # alpha' # ${NOPE}\n", nil},
		{"apostrophe in plain scalar", "a: it's # ${NOPE}\nb: ${A}\n", "a: it's # ${NOPE}\nb: alpha\n", nil},
		{"quote inside plain scalar", "a: say \"hi\" # ${NOPE}\n", "a: say \"hi\" # ${NOPE}\n", nil},
		{"multi-line double quoted", "a: \"x\n  # ${A}\"\n", "a: \"x\n  # alpha\"\n", nil},
		{"block scalar content", "a: |\n  # ${A}\n  x\nb: 1 # ${NOPE}\n", "a: |\n  # alpha\n  x\nb: 1 # ${NOPE}\n", nil},
		{"folded block scalar with header comment", "a: >- # ${NOPE}\n  #${A}\n", "a: >- # ${NOPE}\n  #alpha\n", nil},
		{"list item", "- ${A} # ${NOPE}\n", "- alpha # ${NOPE}\n", nil},
		{"flow list", "a: [${A}, \"#${N}\"] # ${NOPE}\n", "a: [alpha, \"#42\"] # ${NOPE}\n", nil},
		{"anchored quoted", "a: &x \"# ${A}\"\n", "a: &x \"# alpha\"\n", nil},
		{"no trailing newline", "a: ${A}", "a: alpha", nil},
		{"crlf", "a: ${A}\r\nb: 1 # ${NOPE}\r\n", "a: alpha\r\nb: 1 # ${NOPE}\r\n", nil},
		{"utf-8", "é: \"ü\" # ${NOPE}\nb: ${A}\n", "é: \"ü\" # ${NOPE}\nb: alpha\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, exps, ps := expand([]byte(tt.in), env)
			if len(ps) > 0 {
				t.Fatalf("problems: %v", ps)
			}
			if string(out) != tt.want {
				t.Errorf("got  %q\nwant %q", out, tt.want)
			}
			var unset []string
			for _, e := range exps {
				if e.unset {
					unset = append(unset, e.name)
				}
			}
			if strings.Join(unset, ",") != strings.Join(tt.unset, ",") {
				t.Errorf("unset %v, want %v", unset, tt.unset)
			}
		})
	}
}

func TestExpandMalformed(t *testing.T) {
	for _, in := range []string{
		"a: ${}\n",
		"a: ${1A}\n",
		"a: ${A B}\n",
		"a: ${secretish\n",
		"a: ${A:secret}\n",
		"a: ${A:?msg}\n",
		"a: ${A:-${B}\n",
		"a: ${A:-x\n}\n",
	} {
		t.Run(in, func(t *testing.T) {
			_, _, ps := expand([]byte(in), envOf("A", "v"))
			if len(ps) != 1 {
				t.Fatalf("problems %v, want one", ps)
			}
			msg := ps[0].String()
			if !strings.HasPrefix(msg, "line 1: malformed") {
				t.Errorf("message %q should start with the line", msg)
			}
			if strings.Contains(msg, "secret") {
				t.Errorf("message %q echoes the text", msg)
			}
		})
	}
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
`
	got := parseProblems(t, src, envOf())
	checkProblems(t, got, []string{
		"api.url: environment variable NOPE_URL is not set",
		"pipeline.fields.include[1]: environment variable NOPE_FIELD is not set",
		"log.level: environment variable NOPE_LEVEL is not set",
	}, true)
}

func TestExpandInParse(t *testing.T) {
	c := mustParse(t, `sources:
  - owner_id: ${OWNER}
    application_id: ${APP:-app_default}
    limit: ${LIMIT:-7}
    filter: "cost: $$5"
state_dir: ${STATE}/sub # ${NOT_SET_IN_COMMENT}
sinks:
  - type: ${SINK_TYPE:-stdout}
`, envOf("OWNER", "orga_x", "STATE", "/var/s"))
	s := c.Sources[0]
	if s.OwnerID != "orga_x" || s.ApplicationID != "app_default" || s.Limit != 7 || s.Filter != "cost: $5" {
		t.Errorf("source %+v", s)
	}
	if c.StateDir != "/var/s/sub" {
		t.Errorf("state_dir %q", c.StateDir)
	}
	if c.Sinks[0].Type != "stdout" {
		t.Errorf("sink type %q", c.Sinks[0].Type)
	}
}
