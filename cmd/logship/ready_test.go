package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logship/logship/emulator"
)

// TestReadinessTellsTheTruth runs logship against a live stream with short
// readiness bounds: /readyz turns 503 while the API is down (503 to every
// request, the open stream cut) past metrics.ready.source_down_after, and
// while the HTTP sink answers 503 past metrics.ready.sink_failing_after;
// it is 200 again after each recovery, /healthz stays 200 throughout, the
// recovery of the stream is logged at info, and the sink's log lines carry
// their "sink" key once. Nothing is lost or doubled through both outages.
func TestReadinessTellsTheTruth(t *testing.T) {
	emu := emulator.New(emulator.Options{Token: "test-token", Apps: []emulator.App{{
		Start: time.Now().Add(-time.Second), Backlog: 100, Rate: 100,
	}}})
	var apiDown atomic.Bool
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if apiDown.Load() {
			http.Error(w, `{"error":"down for the test"}`, http.StatusServiceUnavailable)
			return
		}
		emu.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { emu.Close(); api.Close() })
	app := emu.Apps()[0]

	var sinkDown atomic.Bool
	rcv := newReceiver(t, func(int) (int, string) {
		if sinkDown.Load() {
			return http.StatusServiceUnavailable, ""
		}
		return 0, ""
	})
	dir := t.TempDir()
	yaml := fmt.Sprintf(`api:
  url: %s
  token: test-token
state_dir: %s
sources:
  - owner_id: %s
    application_id: %s
    since: %s
    heartbeat_timeout: 2s
sinks:
  - type: http
    url: %s/ingest
    headers:
      X-Test: one
    retry_initial_backoff: 50ms
    retry_max_backoff: 200ms
    batch:
      max_wait: 50ms
metrics:
  listen: 127.0.0.1:0
  ready:
    source_down_after: 1s
    sink_failing_after: 1s
`, api.URL, filepath.Join(dir, "state"), app.OwnerID, app.ID, app.Start.Add(-time.Minute).Format(time.RFC3339Nano), rcv.srv.URL)
	cfg := loadTestConfig(t, writeConfig(t, dir, yaml))

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	addrc := make(chan string, 1)
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runAgent(ctx, cfg, agentIO{stdout: io.Discard, stderr: &stderr, ready: func(a string) { addrc <- a }})
	}()
	addr := <-addrc
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitStatus := func(code int, bodyHas string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for {
			c, body := get("/readyz")
			if c == code && strings.Contains(body, bodyHas) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("/readyz = %d %q, want %d with %q\n%s", c, body, code, bodyHas, stderr.String())
			}
			if hc, _ := get("/healthz"); hc != 200 {
				t.Fatalf("/healthz = %d", hc)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitStatus(200, "ready")

	// The API goes down: the stream is cut and every attempt answered 503.
	apiDown.Store(true)
	api.CloseClientConnections()
	waitStatus(503, "source "+app.ID+" unable to stream")
	apiDown.Store(false)
	waitStatus(200, "ready")
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(stderr.String(), "stream open again after an outage") })

	// The sink answers 503.
	sinkDown.Store(true)
	waitStatus(503, "sink http failing")
	sinkDown.Store(false)
	waitStatus(200, "ready")

	// Stop once the receiver caught up with the stream's first lines.
	waitFor(t, 10*time.Second, func() bool { return len(rcv.got()[app.ID]) > 300 })
	// The sink's metrics saw the outage: retries, and the accepted batches
	// with their bytes and write times.
	_, page := get("/metrics")
	for _, name := range []string{`logship_sink_retries_total{sink="http"}`, `logship_sink_batches_sent_total{sink="http"}`,
		`logship_sink_sent_bytes_total{sink="http"}`, `logship_sink_write_duration_seconds_count{sink="http"}`,
		`logship_received_bytes_total{source="` + app.ID + `"}`} {
		if v := metricValue(page, name); v <= 0 {
			t.Errorf("%s = %v, want > 0", name, v)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	logs := stderr.String()
	for _, l := range strings.Split(logs, "\n") {
		if n := strings.Count(l, `"sink":`); n > 1 {
			t.Errorf("the sink key %d times: %s", n, l)
		}
	}
	if !strings.Contains(logs, "sent over plain http") {
		t.Errorf("the http sink's warning is missing: %s", logs)
	}
	// Each line once, in order: a prefix of the stream.
	got, want := rcv.got()[app.ID], emu.Lines(app.ID)
	if len(got) > len(want) {
		t.Fatalf("got %d lines, the stream has %d", len(got), len(want))
	}
	for i, id := range got {
		if id != want[i].ID {
			t.Fatalf("line %d: %s, want %s", i, id, want[i].ID)
		}
	}
	t.Logf("%d lines through both outages", len(got))
}

// metricValue returns the value of the sample named exactly name (with its
// labels) on a Prometheus text page, or -1 if absent.
func metricValue(page, name string) float64 {
	for _, l := range strings.Split(page, "\n") {
		if rest, ok := strings.CutPrefix(l, name+" "); ok {
			var v float64
			if _, err := fmt.Sscan(rest, &v); err == nil {
				return v
			}
		}
	}
	return -1
}
