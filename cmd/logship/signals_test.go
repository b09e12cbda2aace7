package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/logship/logship/emulator"
)

// hangingSinkYAML is a live config whose only sink is an HTTP receiver at
// url, with a drain allowed to last a minute.
func hangingSinkYAML(api, dir, url string, app emulator.App, extra string) string {
	return fmt.Sprintf(`api:
  url: %s
  token: test-token
state_dir: %s
sources:
  - owner_id: %s
    application_id: %s
    since: %s
sinks:
  - type: http
    url: %s
    timeout: 2m
    batch:
      max_events: 50
      max_wait: 50ms
shutdown_timeout: 1m
%s`, api, filepath.Join(dir, "state"), app.OwnerID, app.ID, app.Start.Add(-time.Minute).Format(time.RFC3339Nano), url, extra)
}

// TestSecondSignalStopsAtOnce runs logship as a subprocess whose HTTP sink
// never answers, so the drain after the first signal would wait for
// shutdown_timeout (1 min). A second signal of the same kind ends it at
// once with 128+signal, and the abandoned batches are reported in one log
// line with their counts per sink and per source.
func TestSecondSignalStopsAtOnce(t *testing.T) {
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGTERM, 143}, {syscall.SIGINT, 130}} {
		t.Run(sigName(tc.sig), func(t *testing.T) {
			t.Parallel()
			emu, api := startEmulator(t, emulator.Options{Token: "test-token", Apps: []emulator.App{{
				Start: time.Now().Add(-2 * time.Second), Backlog: 500, Rate: 200,
			}}})
			app := emu.Apps()[0]
			var requests atomic.Int32
			release := make(chan struct{})
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				select { // hang until the client gives up or the test ends
				case <-r.Context().Done():
				case <-release:
				}
			}))
			t.Cleanup(rcv.Close)
			t.Cleanup(func() { close(release) })
			dir := t.TempDir()
			cfgPath := writeConfig(t, dir, hangingSinkYAML(api, dir, rcv.URL, app, ""))

			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Second)
			defer cancel()
			cmd := logshipCmd(ctx, "run", "--config", cfgPath)
			var stderr syncBuffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			waitFor(t, 10*time.Second, func() bool { return requests.Load() > 0 })
			time.Sleep(300 * time.Millisecond) // let batches queue behind the hanging one
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 10*time.Second, func() bool { return strings.Contains(stderr.String(), "stopping: draining") })
			select {
			case err := <-done:
				t.Fatalf("exited before the second signal: %v: %s", err, stderr.String())
			case <-time.After(300 * time.Millisecond):
			}
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			second := time.Now()
			var err error
			select {
			case err = <-done:
				t.Logf("exited %v after the second signal", time.Since(second).Round(time.Millisecond))
			case <-time.After(20 * time.Second): // the drain alone would take a minute
				t.Fatalf("still running 20 s after the second signal: %s", stderr.String())
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tc.code {
				t.Fatalf("exit: %v, want status %d: %s", err, tc.code, stderr.String())
			}
			logs := stderr.String()
			if strings.Contains(logs, "hard stop not finished") {
				t.Fatalf("the backstop ended the process, not the hard stop: %s", logs)
			}
			var lines []string
			for _, l := range strings.Split(logs, "\n") {
				if strings.Contains(l, "abandon") {
					lines = append(lines, l)
				}
			}
			if len(lines) != 1 {
				t.Fatalf("%d lines about abandoned batches, want 1:\n%s", len(lines), strings.Join(lines, "\n"))
			}
			for _, want := range []string{`"events_by_sink":{"http":`, `"events_by_source":{"` + app.ID + `":`, "second " + sigName(tc.sig)} {
				if !strings.Contains(lines[0], want) {
					t.Errorf("abandon line lacks %s: %s", want, lines[0])
				}
			}
			if strings.Contains(lines[0], `"events":0`) {
				t.Errorf("nothing abandoned: %s", lines[0])
			}
		})
	}
}
