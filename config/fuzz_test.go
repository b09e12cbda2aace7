package config_test

import (
	"errors"
	"github.com/logship/logship/config"
	"os"
	"strings"
	"testing"
)

const fuzzBase = `sources:
  - owner_id: orga_1
    application_id: app_1
state_dir: /state
sinks:
  - type: stdout
`

// FuzzParse checks that Parse never panics, that it returns either a valid
// configuration or Problems, and that no problem holds a credential.
func FuzzParse(f *testing.F) {
	for _, file := range exampleFiles(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		fuzzBase,
		fuzzBase + "  - type: file\n    path: /o\n  - type: http\n    url: http://127.0.0.1:1/\n    headers: {X-K: ${TOKEN}}\n    auth: {token: ${TOKEN}}\n  - type: kafka\n    brokers: [h:1]\n    topic: t\n    sasl: {mechanism: plain, username: u, password: ${TOKEN}}\n",
		fuzzBase + "x: &a {<<: [*a]}\n",
		fuzzBase + "log: {<<: {level: debug}}\n",
		"a: ${A:-${B:-c}}\n# ${X}\nb: 'it''s'\n",
		"sinks: [{type: file, path: x, topic: y}, {type: zz}]\n",
		"sources: [{owner_id: orga_1, application_id: app_1, since: 2024-01-01T00:00:00Z, until: 2023-01-01T00:00:00Z}]\n",
		"a: |\n  ${TOKEN}\n",
		"---\n---\n",
	} {
		f.Add([]byte(s))
	}
	const secret = "Zq7-fuzz-credential-Wk3"
	env := envOf("TOKEN", secret, "CLEVER_API_TOKEN", secret, "A", "1", "STATE", "/s")
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse(data, env, sinkTypes)
		if err != nil {
			if c != nil {
				t.Fatal("both a config and an error")
			}
			var ps config.Problems
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("error %T is not Problems: %v", err, err)
			}
			for _, p := range ps {
				if p.Message == "" {
					t.Fatalf("empty message at %q", p.Path)
				}
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("problems hold the credential:\n%v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse returned a config that Validate refuses: %v", err)
		}
		out, err := c.Redacted()
		if err != nil {
			t.Fatalf("Redacted: %v", err)
		}
		if strings.Contains(string(out), secret) {
			t.Fatalf("Redacted holds the credential:\n%s", out)
		}
	})
}
