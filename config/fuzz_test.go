package config

import (
	"errors"
	"os"
	"strings"
	"testing"
)

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
		base, full, secretConfig,
		base + "x: &a {<<: [*a]}\n",
		base + "log: {<<: {level: debug}}\n",
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
		c, err := Parse(data, env, testSinks)
		if err != nil {
			if c != nil {
				t.Fatal("both a config and an error")
			}
			var ps Problems
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
