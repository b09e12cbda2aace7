package config_test

import (
	"bytes"
	"github.com/logship/logship/config"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// exampleFiles returns deploy/examples/*.yaml.
func exampleFiles(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob("../deploy/examples/*.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	if len(files) < 3 {
		tb.Fatalf("found %d example configs, want at least minimal, file and full", len(files))
	}
	return files
}

// TestExamples loads and validates every example configuration, with an
// empty environment (so every ${VAR} there needs a default), and checks
// that its redacted dump loads back to the same configuration.
func TestExamples(t *testing.T) {
	for _, f := range exampleFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			env := envOf("HOME", t.TempDir())
			c, err := config.Load(f, env, sinkTypes)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			out, err := c.Redacted()
			if err != nil {
				t.Fatal(err)
			}
			c2, err := config.Parse(out, env, sinkTypes)
			if err != nil {
				t.Fatalf("config.Parse(Redacted()): %v\n%s", err, out)
			}
			out2, err := c2.Redacted()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, out2) {
				t.Errorf("redacted dump does not round-trip:\n%s\n---\n%s", out, out2)
			}
		})
	}
}

// contractKeys are the keys of CONTRACT.md's table.
var contractKeys = []string{
	"api.url", "api.token",
	"api.oauth.consumer_key", "api.oauth.consumer_secret", "api.oauth.token", "api.oauth.secret",
	"sources[].owner_id", "sources[].application_id", "sources[].since", "sources[].until",
	"sources[].deployment_id", "sources[].instance_ids", "sources[].filter", "sources[].fields",
	"sources[].services", "sources[].limit", "sources[].throttle_elements", "sources[].throttle_per_ms",
	"state_dir",
	"pipeline.throttle.rate", "pipeline.throttle.burst", "pipeline.throttle.mode",
	"pipeline.fields.include", "pipeline.fields.exclude",
	"pipeline.batch.max_events", "pipeline.batch.max_bytes", "pipeline.batch.max_wait",
	"sinks[].type", "sinks[].path", "sinks[].url", "sinks[].brokers", "sinks[].topic",
	"sinks[].encoding", "sinks[].endpoint", "sinks[].bucket", "sinks[].prefix",
	"sinks[].access_key_id", "sinks[].secret_access_key", "sinks[].address", "sinks[].protocol",
	"metrics.listen",
}

// TestFullExampleHasContractKeys checks that full.yaml shows every key of
// the contract, and a `${VAR:-default}`.
func TestFullExampleHasContractKeys(t *testing.T) {
	f := "../deploy/examples/full.yaml"
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), ":-") {
		t.Error("full.yaml shows no ${VAR:-default}")
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	var keys []string
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			walk(n.Content[0], path)
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := n.Content[i].Value
				if path != "" {
					p = path + "." + p
				}
				keys = append(keys, p)
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, path+"[]")
			}
		}
	}
	walk(&root, "")
	for _, k := range contractKeys {
		if !slices.Contains(keys, k) {
			t.Errorf("full.yaml lacks %s", k)
		}
	}
}
