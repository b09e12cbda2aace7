package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logship/logship/emulator"
)

func TestValidateCommand(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		yaml  string
		code  int
		wants []string
	}{
		{
			name: "valid",
			yaml: "sources:\n  - owner_id: orga_1\n    application_id: app_1\nstate_dir: " + dir + "\nsinks:\n  - type: stdout\n",
			code: 0, wants: []string{"configuration OK: 1 source(s), 1 sink(s)"},
		},
		{
			name: "every problem with its key path",
			yaml: "api:\n  token: s3cr3t-value\nsources:\n  - owner_id: bob\n    application_id: app_1\n    since: yesterday\n" +
				"state_dir: " + dir + "\nsinks:\n  - type: stdout\n  - type: http\n  - type: file\n    path: /tmp/x\n    topic: t\npipeline:\n  bogus: 1\n",
			code: 78,
			wants: []string{"sources[0].owner_id", "sources[0].since", "sinks[1].url: required",
				"sinks[2].topic", "pipeline.bogus: unknown key"},
		},
		{
			name: "credentials in api.url",
			yaml: "api:\n  url: https://apiuser:s3cr3t-value@api.example\nsources:\n  - owner_id: orga_1\n    application_id: app_1\nstate_dir: " + dir + "\nsinks:\n  - type: stdout\n",
			code: 78, wants: []string{"api.url: must not hold credentials"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(p, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code := run([]string{"validate", "--config", p}, &stdout, &stderr)
			out := stdout.String() + stderr.String()
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, out)
			}
			for _, w := range tt.wants {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "s3cr3t-value") {
				t.Fatalf("a secret was printed: %s", out)
			}
			// run refuses a bad config the same way.
			if tt.code != 0 {
				if code := run([]string{"run", "--config", p}, io.Discard, io.Discard); code != 78 {
					t.Fatalf("run exit %d, want 78", code)
				}
			}
		})
	}
}

func TestVersionAndUsage(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"version"}, &out, io.Discard); code != 0 || !strings.HasPrefix(out.String(), "logship ") {
		t.Fatalf("version: %d %q", code, out.String())
	}
	if code := run([]string{"frobnicate"}, io.Discard, io.Discard); code != exitUsage {
		t.Fatalf("unknown command exit %d", code)
	}
	if code := run([]string{"run"}, io.Discard, io.Discard); code != exitUsage {
		t.Fatalf("run without --config exit %d", code)
	}
}

// TestOperationsEndpoints runs logship as a subprocess against a live
// stream: /readyz answers 503 before the stream and 200 once it flows,
// /metrics counts per source and per sink, SIGHUP reopens the output file
// after a rotation, and SIGTERM drains and exits 0 with nothing lost or
// doubled across the rotation. The token never appears in the logs.
func TestOperationsEndpoints(t *testing.T) {
	start := time.Now()
	emu, api := startEmulator(t, emulator.Options{Token: "very-secret-token", Apps: []emulator.App{{
		Start: start.Add(-2 * time.Second), Backlog: 200, Spacing: 10 * time.Millisecond, Rate: 300,
	}}})
	apps := emu.Apps()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	yaml := fmt.Sprintf(`api:
  url: %s
  token: ${TEST_TOKEN}
state_dir: %s
sources:
  - owner_id: %s
    application_id: %s
    since: %s
sinks:
  - type: file
    path: %s
metrics:
  listen: 127.0.0.1:0
log:
  level: debug
`, api, filepath.Join(dir, "state"), apps[0].OwnerID, apps[0].ID, apps[0].Start.Add(-time.Minute).Format(time.RFC3339Nano), out)
	cfgPath := writeConfig(t, dir, yaml)

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := logshipCmd(ctx, "run", "--config", cfgPath)
	cmd.Env = append(cmd.Env, "TEST_TOKEN=very-secret-token")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The metrics address is in the log line "serving metrics".
	addr := metricsAddr(t, &stderr)
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Fatalf("/healthz = %d", code)
	}
	waitFor(t, 10*time.Second, func() bool { code, _ := get("/readyz"); return code == 200 })
	waitFor(t, 10*time.Second, func() bool {
		_, m := get("/metrics")
		return strings.Contains(m, `logship_events_received_total{source="`+apps[0].ID+`"}`) &&
			strings.Contains(m, `logship_events_sent_total{sink="file"}`) &&
			strings.Contains(m, `logship_checkpoint_saves_total`)
	})

	// Rotate, then SIGHUP: new lines go to the new file.
	if err := os.Rename(out, out+".1"); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { st, err := os.Stat(out); return err == nil && st.Size() > 0 })
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v: %s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), "very-secret-token") {
		t.Fatal("the token appeared in the logs")
	}
	if !strings.Contains(stderr.String(), "reopened output files") {
		t.Fatalf("no reopen logged: %s", stderr.String())
	}

	// Both files together: each id once, a prefix of the stream in order.
	checkStreamPrefix(t, rotatedFileIDs(t, out)[apps[0].ID], emu.Lines(apps[0].ID), 200)
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
