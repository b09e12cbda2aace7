package config_test

import (
	"bytes"
	"errors"
	"github.com/logship/logship/config"
	"io"
	"os"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestKubernetesConfigMapLoads keeps the config embedded in the Kubernetes
// manifest valid.
func TestKubernetesConfigMapLoads(t *testing.T) {
	data, err := os.ReadFile("../deploy/kubernetes/logship.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	found := false
	for {
		var doc struct {
			Kind string            `yaml:"kind"`
			Data map[string]string `yaml:"data"`
		}
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if doc.Kind != "ConfigMap" {
			continue
		}
		found = true
		cfg, err := config.Parse([]byte(doc.Data["config.yaml"]), func(string) (string, bool) { return "", false }, sinkTypes)
		if err == nil {
			err = cfg.Validate()
		}
		if err != nil {
			t.Fatalf("ConfigMap config.yaml: %v", err)
		}
	}
	if !found {
		t.Fatal("no ConfigMap in the manifest")
	}
}
