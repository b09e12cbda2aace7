package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logship/logship/emulator"
)

// TestEnvironmentOnly runs logship as a subprocess with no --config, once
// from LOGSHIP_* variables and once from a whole configuration in
// LOGSHIP_CONFIG: each backfills two applications into an HTTP receiver
// (every line once, in order) and exits 0; the credentials come from
// CLEVER_API_TOKEN and never appear in the output. validate accepts the
// same environment, and names the missing variable when one is missing.
func TestEnvironmentOnly(t *testing.T) {
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	emu, api := startEmulator(t, emulator.Options{Token: "env-secret-token", Apps: []emulator.App{
		{Backlog: 700, Start: start}, {Backlog: 500, Start: start, SameDate: 5},
	}})
	apps := emu.Apps()
	since, until := start.Add(-time.Minute).Format(time.RFC3339), start.Add(time.Hour).Format(time.RFC3339)
	variables := func(dir, url string) []string {
		return []string{
			"CLEVER_API_TOKEN=env-secret-token",
			"LOGSHIP_API_URL=" + api,
			"LOGSHIP_OWNER_ID=" + apps[0].OwnerID,
			"LOGSHIP_APPLICATION_IDS=" + apps[0].ID + ", " + apps[1].ID,
			"LOGSHIP_SINCE=" + since, "LOGSHIP_UNTIL=" + until,
			"LOGSHIP_STATE_DIR=" + filepath.Join(dir, "state"),
			"LOGSHIP_SINK_URL=" + url + "/ingest",
			"LOGSHIP_SINK_TOKEN=sink-secret-token",
			"LOGSHIP_METRICS_LISTEN=127.0.0.1:0",
		}
	}
	whole := func(dir, url string) []string {
		yaml := fmt.Sprintf("api:\n  url: %s\nstate_dir: %s\nsources:\n", api, filepath.Join(dir, "state"))
		for _, a := range apps {
			yaml += fmt.Sprintf("  - owner_id: %s\n    application_id: %s\n    since: %s\n    until: %s\n", a.OwnerID, a.ID, since, until)
		}
		yaml += "sinks:\n  - type: http\n    url: " + url + "/ingest\n    auth:\n      token: ${SINK_TOKEN}\n"
		return []string{"CLEVER_API_TOKEN=env-secret-token", "SINK_TOKEN=sink-secret-token", "LOGSHIP_CONFIG=" + yaml}
	}
	for name, envOf := range map[string]func(dir, url string) []string{"variables": variables, "LOGSHIP_CONFIG": whole} {
		t.Run(name, func(t *testing.T) {
			rcv := newReceiver(t, nil)
			env := envOf(t.TempDir(), rcv.srv.URL)
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()

			var out bytes.Buffer
			v := logshipCmd(ctx, "validate")
			v.Env = append(v.Env, env...)
			v.Stdout, v.Stderr = &out, &out
			if err := v.Run(); err != nil || !strings.Contains(out.String(), "configuration OK: 2 source(s), 1 sink(s)") {
				t.Fatalf("validate: %v: %s", err, out.String())
			}

			cmd := logshipCmd(ctx, "run")
			cmd.Env = append(cmd.Env, env...)
			var stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stderr, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("run: %v: %s", err, stderr.String())
			}
			checkExactlyOnceInOrder(t, emu, apps, rcv.got())
			for _, secret := range []string{"env-secret-token", "sink-secret-token"} {
				if strings.Contains(stderr.String(), secret) {
					t.Fatalf("%s printed: %s", secret, stderr.String())
				}
			}
		})
	}

	// A missing variable is named; nothing at all is a usage error.
	for _, tc := range []struct {
		env  []string
		code int
		want string
	}{
		{env: []string{"LOGSHIP_APPLICATION_IDS=" + apps[0].ID}, code: exitConfig, want: "LOGSHIP_OWNER_ID"},
		{env: []string{"LOGSHIP_OWNER_ID=" + apps[0].OwnerID}, code: exitConfig, want: "LOGSHIP_APPLICATION_IDS: required"},
		{env: nil, code: exitUsage, want: "--config FILE is required"},
	} {
		var out bytes.Buffer
		cmd := logshipCmd(t.Context(), "validate")
		cmd.Env = append(cmd.Env, tc.env...)
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != tc.code || !strings.Contains(out.String(), tc.want) {
			t.Errorf("env %v: %v, want exit %d with %q: %s", tc.env, err, tc.code, tc.want, out.String())
		}
	}
}

// TestEnvironmentVariablesDocumented keeps README's table of the
// environment-only mode in step with the variables logship reads.
func TestEnvironmentVariablesDocumented(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range envVars {
		if !strings.Contains(string(readme), "`"+v[0]+"`") {
			t.Errorf("README does not document %s (%s)", v[0], v[1])
		}
	}
}
