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

// TestDatadogEndToEnd backfills two applications through the agent into a
// Datadog-like intake, with batches of 2,500 events (more than Datadog's
// 1,000 entries per request: the sink splits them) and every fourth
// request answered 503: every line arrives once, in stream order.
func TestDatadogEndToEnd(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]string{}
	calls, refused, largest := 0, 0, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, err := requestBody(r)
		if err != nil || r.Header.Get("DD-API-KEY") != "dd-key" || r.Header.Get("Content-Encoding") != "gzip" {
			t.Errorf("read %v, DD-API-KEY %q", err, r.Header.Get("DD-API-KEY"))
			return
		}
		var entries []struct {
			ID            string `json:"id"`
			ApplicationID string `json:"applicationId"`
			Service       string `json:"service"`
			DDSource      string `json:"ddsource"`
		}
		if err := json.Unmarshal(data, &entries); err != nil {
			t.Errorf("decode: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		calls++
		largest = max(largest, len(entries))
		if calls%4 == 0 {
			refused++
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		for _, e := range entries {
			if e.DDSource != "clevercloud" || e.Service == "" {
				t.Errorf("entry %+v", e)
			}
			got[e.ApplicationID] = append(got[e.ApplicationID], e.ID)
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)

	emu, api := startEmulator(t, emulator.Options{Apps: smallApps(3000), Token: "test-token", Seed: 17})
	apps := emu.Apps()
	dir := t.TempDir()
	yaml := backfillYAML(api, filepath.Join(dir, "state"), "UNUSED", apps, "")
	yaml = withSinks(yaml, fmt.Sprintf(`sinks:
  - type: http
    url: %s/api/v2/logs
    encoding: datadog
    compression: gzip
    datadog: {api_key: dd-key}
    batch: {max_events: 2500, max_bytes: 8MiB, max_wait: 3s}
    retry: {initial_backoff: 10ms, max_backoff: 50ms}
`, srv.URL))
	runBackfill(t, yaml, 0)
	mu.Lock()
	defer mu.Unlock()
	if refused == 0 || largest != 1000 { // 1000: batches were split at the limit
		t.Fatalf("%d requests refused, largest %d entries", refused, largest)
	}
	checkExactlyOnceInOrder(t, emu, apps, got)
}
