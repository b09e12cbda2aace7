package config_test

import (
	"github.com/logship/logship/config"
	"github.com/logship/logship/sinks/httpsink"
	"os"
	"strings"
	"testing"
)

// TestREADMEExampleLoads keeps the annotated example of README.md valid.
func TestREADMEExampleLoads(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	const begin, end = "<!-- readme-example-config: begin -->", "<!-- readme-example-config: end -->"
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatal("README.md lost its example config markers")
	}
	block := s[i+len(begin) : j]
	block = strings.TrimSpace(block)
	block = strings.TrimPrefix(block, "```yaml")
	block = strings.TrimSuffix(block, "```")
	cfg, err := config.Parse([]byte(block), func(string) (string, bool) { return "", false }, sinkTypes)
	if err != nil {
		t.Fatalf("README example: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("README example: %v", err)
	}
	if len(cfg.Sources) != 2 || len(cfg.Sinks) != 2 || cfg.Sinks[1].Settings.(*httpsink.Config).Compression != "gzip" {
		t.Fatalf("README example decoded wrongly: %d sources, %d sinks", len(cfg.Sources), len(cfg.Sinks))
	}
}
