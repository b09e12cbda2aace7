package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/logship/logship/emulator"
)

// TestNewRelicEndToEnd backfills two applications through the agent into
// a New Relic Log API-like receiver that answers every fourth request 503
// and one request 429 with Retry-After, with the API stream dropped every
// ~900 lines: every line arrives once, in stream order, each with its
// attributes and the common block.
func TestNewRelicEndToEnd(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]string{}
	calls, refused := 0, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-License-Key") != "nr-license" || r.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("X-License-Key %q, Content-Encoding %q", r.Header.Get("X-License-Key"), r.Header.Get("Content-Encoding"))
			w.WriteHeader(http.StatusForbidden)
			return
		}
		data, err := requestBody(r)
		if err != nil {
			t.Error(err)
			return
		}
		var blocks []struct {
			Common struct {
				Attributes map[string]any `json:"attributes"`
			} `json:"common"`
			Logs []struct {
				Timestamp  int64          `json:"timestamp"`
				Message    *string        `json:"message"`
				Attributes map[string]any `json:"attributes"`
			} `json:"logs"`
		}
		if err := json.Unmarshal(data, &blocks); err != nil || len(blocks) != 1 {
			t.Errorf("decode: %v, %d blocks", err, len(blocks))
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		calls++
		switch {
		case calls == 2:
			refused++
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		case calls%4 == 0:
			refused++
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if blocks[0].Common.Attributes["collector.name"] != "logship" {
			t.Errorf("common attributes %v", blocks[0].Common.Attributes)
		}
		for _, l := range blocks[0].Logs {
			id, _ := l.Attributes["id"].(string)
			app, _ := l.Attributes["applicationId"].(string)
			if l.Timestamp == 0 || l.Message == nil || id == "" || app == "" {
				t.Errorf("log %+v", l)
				continue
			}
			got[app] = append(got[app], id)
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)

	emu, api := startEmulator(t, emulator.Options{Apps: smallApps(3000), Token: "test-token", Seed: 23,
		Faults: emulator.Faults{DropEvery: 900, DropJitter: 100}})
	apps := emu.Apps()
	dir := t.TempDir()
	yaml := backfillYAML(api, filepath.Join(dir, "state"), "UNUSED", apps, "")
	yaml = withSinks(yaml, fmt.Sprintf(`sinks:
  - type: http
    url: %s/log/v1
    encoding: newrelic
    compression: gzip
    newrelic: {license_key: nr-license}
    batch: {max_events: 700, max_wait: 1s}
    retry: {initial_backoff: 10ms, max_backoff: 50ms}
`, srv.URL))
	runBackfill(t, yaml, 0)
	mu.Lock()
	defer mu.Unlock()
	if refused < 2 {
		t.Fatalf("only %d requests refused: the retry path did not run", refused)
	}
	checkExactlyOnceInOrder(t, emu, apps, got)
}
