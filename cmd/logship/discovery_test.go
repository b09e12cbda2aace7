package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logship/logship/emulator"
	"github.com/logship/logship/event"
	"github.com/logship/logship/pipeline"
)

// checkRun checks that a sink got a contiguous run of an app's lines, each once, in order:
// from its first line when fromFirst, up to its last published line when toLast, and at
// least min of them.
func checkRun(t *testing.T, emu *emulator.Emulator, app string, got []string, fromFirst, toLast bool, min int) {
	t.Helper()
	want := emu.Lines(app)
	if len(got) < min {
		t.Fatalf("app %s: %d lines delivered, want at least %d", app, len(got), min)
	}
	first := -1
	for i, l := range want {
		if l.ID == got[0] {
			first = i
		}
	}
	switch {
	case first < 0:
		t.Fatalf("app %s: unknown line %s", app, got[0])
	case fromFirst && first != 0:
		t.Fatalf("app %s: delivered from line %d, want from its first (nothing lost)", app, first)
	case first+len(got) > len(want):
		t.Fatalf("app %s: %d lines from line %d, only %d published", app, len(got), first, len(want))
	case toLast && first+len(got) != len(want):
		t.Fatalf("app %s: delivered up to line %d, want up to its last, %d", app, first+len(got), len(want))
	}
	for i, id := range got {
		if id != want[first+i].ID {
			t.Fatalf("app %s: line %d is %s, want %s (nothing lost, nothing doubled, in order)", app, first+i, id, want[first+i].ID)
		}
	}
}

// TestDiscoveryFollowsChanges: a source with discover follows the applications of its
// owner that its patterns select; an application added while running is followed from its
// creation, with nothing lost; a removed one stops cleanly with its checkpoint kept; a
// listing that fails keeps the current set; an override applies to the applications it
// matches.
func TestDiscoveryFollowsChanges(t *testing.T) {
	t.Parallel()
	start := time.Now().Add(-time.Minute)
	emu, api := startEmulator(t, emulator.Options{Token: "test-token", Seed: 41, Apps: []emulator.App{
		{Name: "shop", Backlog: 50, Start: start, Rate: 40},
		{Name: "worker", Backlog: 50, Start: start, Rate: 40},
		{Name: "skip-me", Backlog: 50, Start: start, Rate: 40},
		{Name: "elsewhere", Backlog: 50, Start: start, Rate: 40, OwnerID: "orga_00000000-0000-4000-8000-000000000000"},
	}})
	apps := emu.Apps()
	shop, worker, skipped, elsewhere := apps[0], apps[1], apps[2], apps[3]
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	state := filepath.Join(dir, "state")
	yaml := fmt.Sprintf(`api:
  url: %s
  token: test-token
state_dir: %s
checkpoint:
  interval: 100ms
sources:
  - name: org
    owner_id: %s
    discover: {exclude: ["skip-*"], interval: 1s, overrides: [{match: [worker], enrich: false}]}
    since: %s
    heartbeat_timeout: 3s
pipeline:
  batch: {max_wait: 20ms}
sinks:
  - type: file
    path: %s
enrichment: {max_wait: 5s}
`, api, state, shop.OwnerID, time.Now().Add(-10*time.Second).Format(time.RFC3339Nano), out)
	// Two applications removed before this run: one whose last line is
	// older than the API's retention (its checkpoint is forgotten), one
	// more recent (kept, in case it comes back).
	seed, err := pipeline.OpenStore(state)
	if err != nil {
		t.Fatal(err)
	}
	goneAt := func(ago time.Duration) []event.Position {
		return []event.Position{{LastID: "gone", Newest: time.Now().Add(-ago).UnixNano()}}
	}
	if err := seed.Save([]string{"file"}, []pipeline.SourceState{
		{Source: "org/app_gone_long_ago", AppID: "app_gone_long_ago", Positions: goneAt(8 * 24 * time.Hour)},
		{Source: "org/app_gone_yesterday", AppID: "app_gone_yesterday", Positions: goneAt(24 * time.Hour)},
	}); err != nil {
		t.Fatal(err)
	}
	cfg := loadTestConfig(t, writeConfig(t, dir, yaml))
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	stop, stopped := context.WithCancel(ctx)
	done := make(chan struct{})
	var code int
	var logs string
	go func() {
		defer close(done)
		code, logs = runInProcess(stop, t, cfg)
	}()
	count := func(app string) int {
		if _, err := os.Stat(out); err != nil {
			return 0
		}
		return len(fileIDs(t, out)[app])
	}
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			select {
			case <-done:
				t.Fatalf("logship exited (%d) while waiting for %s: %s", code, what, logs)
			case <-ctx.Done():
				t.Fatalf("timed out waiting for %s", what)
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	waitUntil("both applications followed", func() bool { return count(shop.ID) > 20 && count(worker.ID) > 20 })

	// Created before the source's since: read from its creation all the same.
	added := emu.AddApp(emulator.App{Name: "new-api", Backlog: 30, Rate: 40, Start: time.Now().Add(-30 * time.Second)})
	waitUntil("the added application followed", func() bool { return count(added.ID) > 40 })

	// A failing listing keeps the current set.
	emu.SetFaults(emulator.Faults{API: []emulator.APIFault{{Match: "/applications", Status: 503}}})
	failedAt := count(worker.ID)
	time.Sleep(2500 * time.Millisecond) // two listings fail
	waitUntil("lines while listings fail", func() bool { return count(worker.ID) > failedAt+40 && count(added.ID) > 80 })
	emu.SetFaults(emulator.Faults{})

	emu.RemoveApp(shop.ID)
	shopLines := emu.Lines(shop.ID)
	last := shopLines[len(shopLines)-1].ID
	waitUntil("the removed application's lines", func() bool {
		ids := fileIDs(t, out)[shop.ID]
		return len(ids) > 0 && ids[len(ids)-1] == last
	})
	time.Sleep(2500 * time.Millisecond) // discovery notices, stops it
	stopped()
	<-done
	if code != 0 {
		t.Fatalf("exit %d: %s", code, logs)
	}

	got := fileIDs(t, out)
	// The applications found at start begin at since (their live lines); the added one
	// from its creation.
	checkRun(t, emu, shop.ID, got[shop.ID], false, true, 40)
	checkRun(t, emu, worker.ID, got[worker.ID], false, false, failedAt+40)
	checkRun(t, emu, added.ID, got[added.ID], true, false, 80)
	// The override turned enrichment off for worker only.
	for _, m := range readObjects(t, out) {
		_, enriched := m["clevercloud"]
		if app := unquote(t, m["applicationId"]); enriched != (app != worker.ID) {
			t.Fatalf("line of %s enriched %v", app, enriched)
		}
	}
	if len(got[skipped.ID])+len(got[elsewhere.ID]) != 0 {
		t.Errorf("followed an excluded application (%d lines) or another owner's (%d)", len(got[skipped.ID]), len(got[elsewhere.ID]))
	}
	for _, want := range []string{
		`"msg":"listing the applications failed; following the same ones"`,
		`"msg":"application gone or no longer selected: stopping","source":"org","owner":"` + shop.OwnerID + `","application_id":"` + shop.ID + `"`,
		`"msg":"new application: reading from its creation date","source":"org/` + added.ID + `"`,
		`"msg":"forgetting the checkpoint of an application gone for longer than the retention","source":"org/app_gone_long_ago"`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s", want)
		}
	}
	if strings.Count(logs, "stopping\"") != 1 {
		t.Errorf("%d applications stopped, want 1", strings.Count(logs, "stopping\""))
	}
	store, err := pipeline.OpenStore(state)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []emulator.App{shop, worker, added} {
		cp, err := store.Load("org/"+a.ID, a.ID)
		if err != nil || cp.IsZero() {
			t.Errorf("checkpoint of %s: %v %+v", a.Name, err, cp)
		}
	}
	if cp, _ := store.Load("org/app_gone_long_ago", "app_gone_long_ago"); !cp.IsZero() {
		t.Errorf("the checkpoint of an application gone for longer than the retention is kept: %+v", cp)
	}
	if cp, _ := store.Load("org/app_gone_yesterday", "app_gone_yesterday"); cp.Sinks["file"].LastID != "gone" {
		t.Errorf("the checkpoint of an application gone yesterday is lost: %+v", cp)
	}
	if cp, _ := store.Load("org/"+shop.ID, shop.ID); cp.Sinks["file"].LastID != last {
		t.Errorf("the removed application's checkpoint is at %+v, want its last line %s", cp, last)
	}
}

// TestDiscoveryCredentialsRefused: credentials the API refuses for the listing end the run
// with exit 77, naming the source, as for a source refused at start.
func TestDiscoveryCredentialsRefused(t *testing.T) {
	t.Parallel()
	emu, api := startEmulator(t, emulator.Options{Token: "right-token", Apps: []emulator.App{{Backlog: 5}}})
	dir := t.TempDir()
	yaml := fmt.Sprintf(`api:
  url: %s
  token: wrong-secret-token
state_dir: %s
sources:
  - name: org
    owner_id: %s
    discover: {}
sinks:
  - type: file
    path: %s
`, api, dir, emu.Apps()[0].OwnerID, filepath.Join(dir, "out"))
	stderr := runBackfill(t, yaml, exitNoPerm)
	for _, want := range []string{"refused the credentials for source org", "401", "listing the applications refused"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("message lacks %q: %s", want, stderr)
		}
	}
	if strings.Contains(stderr, "wrong-secret-token") {
		t.Fatalf("the token leaked: %s", stderr)
	}
}
