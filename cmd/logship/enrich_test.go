package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logship/logship/emulator"
)

// TestEnrichmentEndToEnd: with enrichment on (the default) every line is delivered once, in
// order, rebuilt with its members as the API sent them plus the enrichment; when the API's
// look-ups are slow or failing, the lines go out without those parts rather than waiting.
func TestEnrichmentEndToEnd(t *testing.T) {
	t.Parallel()
	apps := smallApps(3000)
	apps[0].Name, apps[1].Name, apps[1].Zone = "shop", "worker", "rbx"
	emu, api := startEmulator(t, emulator.Options{Apps: apps, Token: "test-token", Seed: 31, Faults: emulator.Faults{
		API: []emulator.APIFault{
			{Match: "/deployments/", Status: 503},           // failing
			{Match: "/instances/", Delay: 30 * time.Second}, // slower than any wait
			{Match: "/v4/products/zones/rbx", Status: 500},
		}}})
	apps = emu.Apps()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	runBackfill(t, backfillYAML(api, filepath.Join(dir, "state"), out, apps, "enrichment:\n  max_wait: 500ms\n"), 0)
	checkExactlyOnceInOrder(t, emu, apps, fileIDs(t, out))

	raw := map[string]map[string]json.RawMessage{}
	for _, a := range apps {
		for _, l := range emu.Lines(a.ID) {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(l.Raw, &m); err != nil {
				t.Fatal(err)
			}
			raw[l.ID] = m
		}
	}
	for i, m := range readObjects(t, out) {
		var e struct {
			Application *struct{ Name string }
			Instance    *struct{ Name string }
			Deployment  *struct{ Commit string }
			Zone        *struct{ City string }
		}
		if err := json.Unmarshal(m["clevercloud"], &e); err != nil {
			t.Fatalf("line %d: enrichment %s: %v", i, m["clevercloud"], err)
		}
		app := unquote(t, m["applicationId"])
		name, city := "shop", "Paris"
		if app == apps[1].ID {
			name, city = "worker", ""
		}
		if e.Application == nil || e.Application.Name != name || e.Instance != nil || e.Deployment != nil ||
			(city == "") != (e.Zone == nil) || e.Zone != nil && e.Zone.City != city {
			t.Fatalf("line %d of %s: enrichment %s", i, app, m["clevercloud"])
		}
		delete(m, "clevercloud")
		orig := raw[unquote(t, m["id"])]
		for k, v := range orig {
			if string(m[k]) != string(v) {
				t.Fatalf("line %d: member %s is %s, was %s", i, k, m[k], v)
			}
		}
		if len(m) != len(orig) {
			t.Fatalf("line %d: %d members, was %d", i, len(m), len(orig))
		}
	}
	n := 0
	for _, r := range emu.Requests() {
		if strings.Contains(r.Path, "/instances/") || strings.Contains(r.Path, "/deployments/") {
			n++
		}
	}
	if want := apps[0].Instances + apps[0].Deployments + apps[1].Instances + apps[1].Deployments; n != want {
		t.Errorf("%d instance and deployment look-ups, want %d (one per id)", n, want)
	}
}
