package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte(base), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(good, envOf(), testSinks)
	if err != nil || c.Sources[0].ApplicationID != "app_1" {
		t.Fatalf("Load: %v, %+v", err, c)
	}

	_, err = Load(filepath.Join(dir, "missing.yaml"), envOf(), testSinks)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}

	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte(base+"#"+strings.Repeat("x", MaxFileBytes)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(big, envOf(), testSinks)
	checkProblems(t, problems(t, err), []string{"the configuration is larger than 4194304 bytes"}, true)
}

// TestParseNilEnv checks that a nil env reads the process environment.
func TestParseNilEnv(t *testing.T) {
	t.Setenv("LOGSHIP_TEST_APP", "app_from_env")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", "")
	for _, k := range []string{"CLEVER_API_TOKEN", "CLEVER_TOKEN", "CLEVER_SECRET", "CC_OAUTH_TOKEN", "CC_OAUTH_SECRET", "CC_CONSUMER_KEY", "CC_CONSUMER_SECRET"} {
		t.Setenv(k, "")
	}
	c, err := Parse([]byte(strings.Replace(base, "app_1", "${LOGSHIP_TEST_APP}", 1)), nil, testSinks)
	if err != nil {
		t.Fatal(err)
	}
	if c.Sources[0].ApplicationID != "app_from_env" {
		t.Errorf("application_id %q", c.Sources[0].ApplicationID)
	}
}
