package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/logship/logship/emulator"
)

// scrapeSample reads the value of one sample (name with its labels, as
// exposed) from a /metrics endpoint.
func scrapeSample(t *testing.T, addr, sample string) (float64, bool) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(l, sample+" "); ok {
			var f float64
			_, err := fmt.Sscan(v, &f)
			return f, err == nil
		}
	}
	return 0, false
}

// withSinksAndExtra replaces backfillYAML's sinks by sinks and appends extra.
func withSinksAndExtra(yaml, sinks, extra string) string {
	return withSinks(yaml, sinks) + extra
}

// TestStuckDropNewestSinkHoldsNothing (issue 8, case 1): an HTTP sink whose
// receiver is down, with `when_full: drop_newest` and retries without end,
// next to a healthy file sink. The file sink's checkpoint moves, the ack
// tracker's memory stays bounded by what is in flight (not one entry per
// event), and a restart after a clean stop (SIGTERM) replays nothing to the
// file sink, even with reconciliation reduced to nothing: every line is in
// the file exactly once, in order.
func TestStuckDropNewestSinkHoldsNothing(t *testing.T) {
	emu, api := startEmulator(t, emulator.Options{Apps: pacedApps(), Token: "test-token", Seed: 21})
	apps := emu.Apps()
	dir := t.TempDir()
	out := filepath.Join(dir, "logs.ndjson")
	state := filepath.Join(dir, "state")
	down := freeAddr(t) // nothing listens: connection refused, forever
	sinks := fmt.Sprintf(`sinks:
  - type: file
    name: archive
    path: %s
    fsync: interval
    reconcile_bytes: 1
  - type: http
    name: collector
    url: http://%s/ingest
    retry_initial_backoff: 50ms
    retry_max_backoff: 200ms
    batch:
      max_events: 100
      max_bytes: 32KiB
    buffer:
      max_bytes: 64KiB
      when_full: drop_newest
`, out, down)
	yaml := withSinksAndExtra(pacedYAML(api, state, apps, "sinks:\n"), sinks,
		"metrics:\n  listen: 127.0.0.1:0\nshutdown_timeout: 1s\n")
	cfg := loadTestConfig(t, writeConfig(t, dir, yaml))

	// Run 1: stopped (as by SIGTERM) in the middle of the backfill.
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	var addr atomic.Value
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runAgent(ctx, cfg, agentIO{stdout: io.Discard, stderr: &stderr, ready: func(a string) { addr.Store(a) }})
	}()
	waitFor(t, 10*time.Second, func() bool { return addr.Load() != nil })
	a := addr.Load().(string)
	maxRanges, maxIDs, received, scraped := 0.0, 0.0, 0.0, 0
	for deadline := time.Now().Add(20 * time.Second); received < 16_000; {
		if time.Now().After(deadline) {
			t.Fatalf("only %v lines received: %s", received, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
		r, ok1 := scrapeSample(t, a, `logship_ack_tracker_entries{kind="ranges"}`)
		ids, ok2 := scrapeSample(t, a, `logship_ack_tracker_entries{kind="ids"}`)
		if ok1 && ok2 {
			maxRanges, maxIDs = max(maxRanges, r), max(maxIDs, ids)
			scraped++
		}
		received = 0
		for _, app := range apps {
			n, _ := scrapeSample(t, a, `logship_events_received_total{source="`+app.ID+`"}`)
			received += n
		}
	}
	dropped, _ := scrapeSample(t, a, `logship_sink_events_dropped_total{reason="buffer_full",sink="collector"}`)
	time.Sleep(300 * time.Millisecond) // a checkpoint round or two
	stop()
	if code := <-done; code != 0 {
		t.Fatalf("run 1: exit %d: %s", code, stderr.String())
	}
	// Bounded by what is in flight: the file lane's batches and the HTTP
	// lane's 64 KiB; the look-back windows (3 s of lines, 5 ms apart, per
	// source and sink): not one entry per line received.
	t.Logf("run 1: %v lines received, %v dropped for the stuck sink; tracker held up to %v ranges and %v ids", received, dropped, maxRanges, maxIDs)
	if scraped == 0 || maxIDs > 8_000 || maxRanges > 200 {
		t.Errorf("tracker held up to %v ranges and %v ids for %v lines", maxRanges, maxIDs, received)
	}
	if dropped < 1000 {
		t.Errorf("the stuck sink dropped only %v lines: not stuck?", dropped)
	}
	// The file sink's checkpoint moved; the stuck sink's stayed behind (a
	// source whose lines were all dropped for it, the buffer being full of
	// the other source's, moves with the file sink's: dropped counts as
	// done for that sink).
	data, err := os.ReadFile(filepath.Join(state, "checkpoints.json"))
	var f struct {
		Sources []struct {
			Positions []struct {
				LastID string `json:"last_id"`
			}
			Sinks map[string]int
		}
	}
	if err == nil {
		err = json.Unmarshal(data, &f)
	}
	if err != nil || len(f.Sources) != len(apps) {
		t.Errorf("checkpoint file: %v: %.500s", err, data)
	}
	behind := 0
	for _, s := range f.Sources {
		if s.Positions[s.Sinks["archive"]].LastID == "" {
			t.Errorf("the file sink's checkpoint did not move: %.500s", data)
		}
		if s.Sinks["archive"] != s.Sinks["collector"] {
			behind++
		}
	}
	if behind == 0 {
		t.Errorf("the stuck sink's checkpoint is not behind: %.500s", data)
	}
	before := fileIDs(t, out)

	// Run 2: until the backfill completes. The source resumes from the
	// stuck sink's position (nothing: from `since`); the file sink skips
	// what its own checkpoint covers.
	stderr = syncBuffer{}
	if code := runAgent(t.Context(), cfg, agentIO{stdout: io.Discard, stderr: &stderr}); code != 0 {
		t.Fatalf("run 2: exit %d: %s", code, stderr.String())
	}
	got := fileIDs(t, out)
	n := 0
	for app, ids := range before {
		n += len(ids)
		if len(got[app]) < len(ids) {
			t.Fatalf("file shrank")
		}
	}
	t.Logf("run 1 wrote %d lines to the file", n)
	checkExactlyOnceInOrder(t, emu, apps, got)
}

// TestSourceLagMetric (contract): logship_source_lag_seconds grows while
// the only sink's receiver is down and falls once it is back, as scraped
// from /metrics; logship_sink_oldest_pending_seconds and
// logship_checkpoint_age_seconds are exported beside it.
func TestSourceLagMetric(t *testing.T) {
	emu, api := startEmulator(t, emulator.Options{Token: "test-token", Seed: 22,
		Apps: []emulator.App{{Rate: 200, Start: time.Now()}}})
	apps := emu.Apps()
	var up atomic.Bool
	up.Store(true)
	rcv := newReceiver(t, func(int) (int, string) {
		if !up.Load() {
			return 503, ""
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
    name: web
    heartbeat_timeout: 3s
sinks:
  - type: http
    name: collector
    url: %s/ingest
    retry_initial_backoff: 50ms
    retry_max_backoff: 200ms
    batch:
      max_wait: 50ms
checkpoint:
  interval: 100ms
metrics:
  listen: 127.0.0.1:0
log:
  level: warn
`, api, filepath.Join(dir, "state"), apps[0].OwnerID, apps[0].ID, rcv.srv.URL)
	cfg := loadTestConfig(t, writeConfig(t, dir, yaml))
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	var addr atomic.Value
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runAgent(ctx, cfg, agentIO{stdout: io.Discard, stderr: &stderr, ready: func(a string) { addr.Store(a) }})
	}()
	waitFor(t, 10*time.Second, func() bool { return addr.Load() != nil })
	a := addr.Load().(string)
	lag := func() float64 {
		v, ok := scrapeSample(t, a, `logship_source_lag_seconds{source="web"}`)
		if !ok {
			return -1
		}
		return v
	}
	// Up: the lag is small; then down: it grows; then up again: it falls.
	waitFor(t, 10*time.Second, func() bool { return lag() >= 0 && lag() < 1 })
	up.Store(false)
	waitFor(t, 15*time.Second, func() bool { return lag() > 3 })
	pending, _ := scrapeSample(t, a, `logship_sink_oldest_pending_seconds{sink="collector"}`)
	peak := lag()
	if pending < 1 {
		t.Fatalf("oldest pending batch %vs old while the receiver is down", pending)
	}
	up.Store(true)
	waitFor(t, 15*time.Second, func() bool { return lag() >= 0 && lag() < 1.5 })
	age, ok := scrapeSample(t, a, "logship_checkpoint_age_seconds")
	if !ok || age > 2 {
		t.Fatalf("checkpoint age %v (exported: %v)", age, ok)
	}
	t.Logf("lag peaked at %.1fs during the outage (oldest pending batch %.1fs), back to %.2fs", peak, pending, lag())
	stop()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}
