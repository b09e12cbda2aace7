package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/logship/logship/emulator"
)

// Regression tests of the source-side delivery holes of issue 8, end to
// end through the agent and the emulator.

// TestAPIURLUserInfoNeverLogged: validation refuses credentials in api.url
// (TestValidateCommand); should one get through anyway, the start-up line
// (the one line that logs the API URL) and every other line leave them
// out.
func TestAPIURLUserInfoNeverLogged(t *testing.T) {
	emu, api := startEmulator(t, emulator.Options{Apps: smallApps(50)[:1], Token: "test-token"})
	apps := emu.Apps()
	dir := t.TempDir()
	cfg := loadTestConfig(t, writeConfig(t, dir, strings.Replace(backfillYAML(api, dir, filepath.Join(dir, "out.ndjson"), apps, ""), "level: warn", "level: debug", 1)))
	cfg.API.URL = strings.Replace(api, "http://", "http://apiuser:hunter2@", 1)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	code, stderr := runInProcess(ctx, t, cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "logship started") {
		t.Fatalf("no start-up line: %s", stderr)
	}
	if strings.Contains(stderr, "apiuser") || strings.Contains(stderr, "hunter2") {
		t.Fatalf("user info logged:\n%s", stderr)
	}
}

// TestFieldsWithoutIDOrDate: `fields` that leave out id and date would lose
// every line (the server omits what is not asked, and a line without a date
// cannot be resumed after). logship always asks for both; validate and the
// start-up log say so.
func TestFieldsWithoutIDOrDate(t *testing.T) {
	emu, api := startEmulator(t, emulator.Options{Apps: smallApps(300)[:1], Token: "test-token", Seed: 2,
		Faults: emulator.Faults{DropEvery: 70}})
	apps := emu.Apps()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	yaml := strings.Replace(backfillYAML(api, dir, out, apps, ""), "    lookback: 3s\n", "    lookback: 3s\n    fields: [message, severity]\n", 1)
	yaml = strings.Replace(yaml, "level: warn", "level: info", 1)
	path := writeConfig(t, dir, yaml)

	var stdout, stderr bytes.Buffer
	if code := run([]string{"validate", "--config", path}, &stdout, &stderr); code != 0 {
		t.Fatalf("validate exit %d: %s%s", code, stdout.String(), stderr.String())
	}
	if want := "sources[0].fields: id and date added"; !strings.Contains(stdout.String(), want) {
		t.Errorf("validate does not say %q:\n%s", want, stdout.String())
	}

	cfg := loadTestConfig(t, path)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	code, logs := runInProcess(ctx, t, cfg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, logs)
	}
	if !strings.Contains(logs, "id and date added") {
		t.Errorf("start-up log does not say what was added:\n%s", logs)
	}
	// Only the asked fields (and id, date) are present: no applicationId.
	got := fileIDs(t, out)[""]
	want := emu.Lines(apps[0].ID)
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i].ID {
			t.Fatalf("line %d: %s, want %s", i, got[i], want[i].ID)
		}
	}
	for _, r := range emu.Requests() {
		if !strings.HasSuffix(r.Path, "/logs") {
			continue // enrichment's look-ups
		}
		if f := r.Query["field"]; len(f) != 4 || f[0] != "id" || f[1] != "date" {
			t.Fatalf("request asked for fields %v, want id, date, message, severity", f)
		}
	}
}

// TestLimitWhenServerIgnoresLastEventID: `limit` counts what logship
// delivered, not what the server sent: a server that replays from since
// counts the lines logship drops as already delivered, and a limit
// recounted from what was emitted alone ended the source early (issue 8
// case 3: 1,053 of 1,200).
func TestLimitWhenServerIgnoresLastEventID(t *testing.T) {
	// Each connection replays the look-back (3 s, ~600 lines) before
	// anything new: drops must come later than that for the stream to move.
	emu, api := startEmulator(t, emulator.Options{Apps: smallApps(5000)[:1], Token: "test-token", Seed: 10,
		IgnoreLastEventID: true, Faults: emulator.Faults{DropEvery: 1000, DropJitter: 100}})
	apps := emu.Apps()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	yaml := strings.Replace(backfillYAML(api, dir, out, apps, ""), "    lookback: 3s\n", "    lookback: 3s\n    limit: 3000\n", 1)
	runBackfill(t, yaml, 0)
	got := fileIDs(t, out)[apps[0].ID]
	want := emu.Lines(apps[0].ID)[:3000]
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want 3000", len(got))
	}
	for i := range want {
		if got[i] != want[i].ID {
			t.Fatalf("line %d: %s, want %s", i, got[i], want[i].ID)
		}
	}
	if st := emu.Stats(); st.Drops < 2 {
		t.Fatalf("faults not exercised: %+v", st)
	}
}

// TestFutureDatedLines: a line dated an hour ahead (an instance with a
// skewed clock) is delivered once but moves neither the `since` of the next
// reconnect nor the checkpoint: before, the next `since` skipped the normal
// lines that followed (issue 8 case 4: 7 of 10 lost). Run 1 reconnects
// after the first such line and stops at a limit (saving its checkpoint);
// run 2 resumes from that checkpoint. Together they deliver every line once,
// in order, whether the server honours Last-Event-ID or replays from since.
func TestFutureDatedLines(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		t.Run(fmt.Sprintf("ignore_last_event_id=%v", ignore), func(t *testing.T) {
			start := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
			// 100 ms apart: the 3 s look-back holds ~30 lines, fewer than a
			// connection carries before it drops.
			// The backlog starts 2 h ago; a skewed line is dated 3 h after
			// its place: an hour after the wall clock.
			emu, api := startEmulator(t, emulator.Options{Apps: []emulator.App{{Backlog: 300, Start: start, Spacing: 100 * time.Millisecond, FutureEvery: 60, FutureSkew: 3 * time.Hour}},
				Token: "test-token", Seed: 21, IgnoreLastEventID: ignore, Faults: emulator.Faults{DropEvery: 70}})
			apps := emu.Apps()
			lines := emu.Lines(apps[0].ID)
			var future []int
			for i, l := range lines {
				if l.Date.After(time.Now().Add(30 * time.Minute)) {
					future = append(future, i)
				}
			}
			if len(future) == 0 || future[0] > 150 {
				t.Fatalf("seed gives future-dated lines at %v: pick another", future)
			}
			dir := t.TempDir()
			out := filepath.Join(dir, "out.ndjson")
			base := backfillYAML(api, filepath.Join(dir, "state"), out, apps, "")
			// until past the future-dated lines, so that the server keeps them.
			base = strings.Replace(base, start.Add(time.Hour).Format(time.RFC3339Nano), start.Add(4*time.Hour).Format(time.RFC3339Nano), 1)
			limit := future[0] + 100 // past the first one and a reconnect
			run1 := strings.Replace(base, "    lookback: 3s\n", fmt.Sprintf("    lookback: 3s\n    limit: %d\n", limit), 1)
			runBackfill(t, run1, 0)
			if got := len(fileIDs(t, out)[apps[0].ID]); got != limit {
				t.Fatalf("run 1 delivered %d lines, want %d", got, limit)
			}
			runBackfill(t, base, 0)
			checkExactlyOnceInOrder(t, emu, apps, fileIDs(t, out))
			if st := emu.Stats(); st.Drops < 2 {
				t.Fatalf("no reconnect: %+v", st)
			}
		})
	}
}

// TestLimitPersistedAcrossRestart: the lines delivered toward `limit` are
// saved with the checkpoint, so a restart asks only for the rest: run 1 is
// stopped (SIGTERM's path) partway, run 2 completes, and together they
// deliver exactly limit lines, each once (before, run 2 asked for the whole
// limit again).
func TestLimitPersistedAcrossRestart(t *testing.T) {
	emu, api := startEmulator(t, emulator.Options{Apps: smallApps(1000)[:1], Token: "test-token", Seed: 5})
	apps := emu.Apps()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	yaml := strings.Replace(backfillYAML(api, filepath.Join(dir, "state"), out, apps, ""), "    lookback: 3s\n", "    lookback: 3s\n    limit: 600\n", 1)
	// About 200 lines a second, so that run 1 can be stopped partway.
	yaml = strings.Replace(yaml, "throttle_elements: 5000\n    throttle_per_ms: 10\n", "throttle_elements: 20\n    throttle_per_ms: 100\n", 1)
	cfg := loadTestConfig(t, writeConfig(t, dir, yaml))

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if b, err := os.ReadFile(out); err == nil && bytes.Count(b, []byte("\n")) >= 100 {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	if code, logs := runInProcess(ctx, t, cfg); code != 0 {
		t.Fatalf("run 1: exit %d: %s", code, logs)
	}
	first := len(fileIDs(t, out)[apps[0].ID])
	if first < 100 || first >= 600 {
		t.Fatalf("run 1 delivered %d lines: not stopped partway", first)
	}
	runBackfill(t, yaml, 0)
	got := fileIDs(t, out)[apps[0].ID]
	want := emu.Lines(apps[0].ID)[:600]
	if len(got) != len(want) {
		t.Fatalf("run 1 delivered %d lines, run 2 %d: %d in all, want 600", first, len(got)-first, len(got))
	}
	for i := range want {
		if got[i] != want[i].ID {
			t.Fatalf("line %d: %s, want %s", i, got[i], want[i].ID)
		}
	}
}

// TestSubMillisecondDatesEndToEnd: dates with microseconds, a server that
// replays from since (Last-Event-ID ignored) and drops: every line once, in
// order (the window and the ms-precision since agree, issue 8 case 8).
func TestSubMillisecondDatesEndToEnd(t *testing.T) {
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	emu, api := startEmulator(t, emulator.Options{Apps: []emulator.App{{Backlog: 20000, Start: start, SubMillisecond: true, SameDate: 1}},
		Token: "test-token", Seed: 8, IgnoreLastEventID: true, Faults: emulator.Faults{DropEvery: 1000, DropJitter: 100}})
	apps := emu.Apps()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	runBackfill(t, backfillYAML(api, filepath.Join(dir, "state"), out, apps, ""), 0)
	checkExactlyOnceInOrder(t, emu, apps, fileIDs(t, out))
	if st := emu.Stats(); st.Drops < 15 {
		t.Fatalf("faults not exercised: %+v", st)
	}
}
