package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logship/logship/emulator"
)

// Regression tests of the source-side delivery holes of issue 8, end to
// end through the agent and the emulator.

// TestAPIURLUserInfoNeverLogged: validation refuses credentials in api.url
// (TestValidateCommand); should one get through anyway, the start-up line
// (the one line that logs the API URL) and every other line leave them
// out.
func TestAPIURLUserInfoNeverLogged(t *testing.T) {
	emu, api := startEmulator(t, emulator.Options{Apps: smallApps(50)[:1], Token: "test-token"})
	apps := emu.Apps()
	dir := t.TempDir()
	cfg := loadTestConfig(t, writeConfig(t, dir, strings.Replace(backfillYAML(api, dir, filepath.Join(dir, "out.ndjson"), apps, ""), "level: warn", "level: debug", 1)))
	cfg.API.URL = strings.Replace(api, "http://", "http://apiuser:hunter2@", 1)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	code, stderr := runInProcess(ctx, t, cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "logship started") {
		t.Fatalf("no start-up line: %s", stderr)
	}
	if strings.Contains(stderr, "apiuser") || strings.Contains(stderr, "hunter2") {
		t.Fatalf("user info logged:\n%s", stderr)
	}
}
