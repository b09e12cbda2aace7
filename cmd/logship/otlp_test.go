package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	collogs "go.opentelemetry.io/proto/slim/otlp/collector/logs/v1"
	"google.golang.org/protobuf/proto"

	"github.com/logship/logship/emulator"
)

// TestOTLPEndToEnd backfills two applications through the agent into an
// OTLP/HTTP receiver that decodes each request with OpenTelemetry's
// generated types and answers every third one 503, with the API stream
// dropped every ~700 lines: every line arrives once (by log.record.uid),
// under a resource naming its application.
func TestOTLPEndToEnd(t *testing.T) {
	var mu sync.Mutex
	got := map[string][]string{}
	calls, refused := 0, 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		fail := calls%3 == 0
		mu.Unlock()
		data, err := requestBody(r)
		if err != nil || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("read %v, Content-Type %q", err, r.Header.Get("Content-Type"))
			return
		}
		if fail {
			mu.Lock()
			refused++
			mu.Unlock()
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var req collogs.ExportLogsServiceRequest
		if err := proto.Unmarshal(data, &req); err != nil {
			t.Errorf("decode: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, rl := range req.ResourceLogs {
			app := ""
			for _, kv := range rl.Resource.Attributes {
				if kv.Key == "clevercloud.application.id" {
					app = kv.Value.GetStringValue()
				}
			}
			for _, sl := range rl.ScopeLogs {
				for _, lr := range sl.LogRecords {
					for _, kv := range lr.Attributes {
						if kv.Key == "log.record.uid" {
							got[app] = append(got[app], kv.Value.GetStringValue())
						}
					}
				}
			}
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)

	emu, api := startEmulator(t, emulator.Options{Apps: smallApps(2000), Token: "test-token", Seed: 13,
		Faults: emulator.Faults{DropEvery: 700, DropJitter: 100}})
	apps := emu.Apps()
	dir := t.TempDir()
	yaml := backfillYAML(api, filepath.Join(dir, "state"), "UNUSED", apps, "")
	yaml = withSinks(yaml, fmt.Sprintf("sinks:\n  - type: http\n    url: %s/v1/logs\n    encoding: otlp\n    compression: gzip\n    retry: {initial_backoff: 10ms, max_backoff: 50ms}\n", srv.URL))
	runBackfill(t, yaml, 0)
	mu.Lock()
	defer mu.Unlock()
	if refused == 0 {
		t.Fatal("no request refused: the test proves nothing")
	}
	// Within a request, records are grouped by resource (instance), so
	// the order across instances is not the stream's: count, not compare.
	for _, a := range apps {
		seen := map[string]int{}
		for _, id := range got[a.ID] {
			seen[id]++
		}
		want := emu.Lines(a.ID)
		bad := 0
		for _, l := range want {
			if seen[l.ID] != 1 {
				bad++
			}
		}
		if bad > 0 || len(got[a.ID]) != len(want) {
			t.Errorf("app %s: %d records for %d lines, %d not received exactly once", a.ID, len(got[a.ID]), len(want), bad)
		}
	}
}
