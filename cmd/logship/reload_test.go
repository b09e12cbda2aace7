package main

import (
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

// TestReloadOnSIGHUP runs logship as a subprocess on a live stream and
// reloads its configuration with real SIGHUPs: first an invalid file (the
// running configuration stays, the refusal is logged with its key path and
// counted), then a file that adds a source (a second application) and a
// sink (a second file), the same file again (unchanged), and the first
// file back (the source and sink removed, with their gauges). Counted end to end after SIGTERM: the first file
// holds each line of both applications once, in stream order, across the
// reload; the second file holds, from the reload on, a contiguous run of
// the first application's stream and the whole of the second's.
func TestReloadOnSIGHUP(t *testing.T) {
	start := time.Now().Add(-2 * time.Second)
	emu, api := startEmulator(t, emulator.Options{Token: "test-token", Apps: []emulator.App{
		{Start: start, Backlog: 300, Spacing: 5 * time.Millisecond, Rate: 200},
		{Start: start, Backlog: 300, Spacing: 5 * time.Millisecond, Rate: 200, SameDate: 4},
	}})
	apps := emu.Apps()
	dir := t.TempDir()
	out1, out2 := filepath.Join(dir, "one.ndjson"), filepath.Join(dir, "two.ndjson")
	since := start.Add(-time.Minute).Format(time.RFC3339Nano)
	src := func(a emulator.App) string {
		return fmt.Sprintf("  - owner_id: %s\n    application_id: %s\n    since: %s\n", a.OwnerID, a.ID, since)
	}
	head := fmt.Sprintf("api:\n  url: %s\n  token: test-token\nstate_dir: %s\nmetrics:\n  listen: 127.0.0.1:0\ncheckpoint:\n  interval: 100ms\n",
		api, filepath.Join(dir, "state"))
	v1 := head + "sources:\n" + src(apps[0]) + "sinks:\n  - type: file\n    path: " + out1 + "\n"
	invalid := head + "sources:\n" + src(apps[0]) + src(apps[1]) + "sinks:\n  - type: file\n    path: " + out1 + "\n  - type: http\n"
	v2 := head + "sources:\n" + src(apps[0]) + src(apps[1]) +
		"sinks:\n  - type: file\n    path: " + out1 + "\n  - type: file\n    name: two\n    path: " + out2 + "\n" +
		"log:\n  level: debug\n"
	cfgPath := writeConfig(t, dir, v1)
	replace := func(yaml string) {
		t.Helper()
		tmp := cfgPath + ".tmp"
		if err := os.WriteFile(tmp, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, cfgPath); err != nil {
			t.Fatal(err)
		}
	}

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := logshipCmd(ctx, "run", "--config", cfgPath)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := metricsAddr(t, &stderr)
	metricsPage := func() string {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	lines := func(path, app string) int {
		if _, err := os.Stat(path); err != nil {
			return 0
		}
		return len(fileIDs(t, path)[app])
	}
	waitFor(t, 10*time.Second, func() bool { return lines(out1, apps[0].ID) > 100 })

	// An invalid file: refused, the running configuration stays.
	replace(invalid)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool {
		return strings.Contains(metricsPage(), `logship_config_reloads_total{result="invalid"} 1`)
	})
	if s := stderr.String(); !strings.Contains(s, "configuration reload refused") || !strings.Contains(s, "sinks[1].url: required") {
		t.Fatalf("refusal not logged with its key path: %s", s)
	}
	n := lines(out1, apps[0].ID)
	waitFor(t, 10*time.Second, func() bool { return lines(out1, apps[0].ID) > n+50 })
	if lines(out1, apps[1].ID) != 0 {
		t.Fatal("the invalid configuration was applied")
	}

	// A valid one: a second source and a second sink.
	replace(v2)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	hup := time.Now()
	waitFor(t, 15*time.Second, func() bool {
		return strings.Contains(metricsPage(), `logship_config_reloads_total{result="applied"} 1`)
	})
	waitFor(t, 15*time.Second, func() bool { return lines(out2, apps[1].ID) > 0 })
	t.Logf("reload applied and the new sink writing %v after SIGHUP", time.Since(hup).Round(time.Millisecond))
	waitFor(t, 15*time.Second, func() bool {
		return lines(out2, apps[0].ID) > 100 && lines(out2, apps[1].ID) > 400 && lines(out1, apps[1].ID) > 400
	})
	m := metricsPage()
	if !strings.Contains(m, `logship_config_reloads_total{result="applied"} 1`) {
		t.Fatalf("reload not counted:\n%s", m)
	}
	// The same file again: nothing to do.
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool {
		return strings.Contains(metricsPage(), `logship_config_reloads_total{result="unchanged"} 1`)
	})
	// Back to the first file: the second source and sink go, and so do
	// their gauges.
	if !strings.Contains(metricsPage(), `logship_source_lag_seconds{source="`+apps[1].ID+`"}`) {
		t.Fatalf("no lag gauge for the added source:\n%s", metricsPage())
	}
	replace(v1)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 15*time.Second, func() bool {
		return strings.Contains(metricsPage(), `logship_config_reloads_total{result="applied"} 2`)
	})
	n = lines(out1, apps[0].ID)
	waitFor(t, 10*time.Second, func() bool { return lines(out1, apps[0].ID) > n+50 })
	if m := metricsPage(); strings.Contains(m, `source="`+apps[1].ID+`"} `) && strings.Contains(m, `logship_source_lag_seconds{source="`+apps[1].ID) ||
		strings.Contains(m, `logship_sink_buffered_bytes{sink="two"}`) {
		t.Fatalf("gauges of the removed source or sink still exported:\n%s", m)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v: %s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "applying the new configuration") {
		t.Fatalf("reload not logged: %s", stderr.String())
	}
	if !strings.Contains(stderr.String(), `"msg":"log level changed","log_level":"debug"`) {
		t.Fatalf("log.level not applied at the reload: %s", stderr.String())
	}

	one, two := fileIDs(t, out1), fileIDs(t, out2)
	for _, a := range apps {
		want := emu.Lines(a.ID)
		// File one: a prefix of each stream, each line once, in order.
		got := one[a.ID]
		if len(got) > len(want) {
			t.Fatalf("%s: file one has %d lines, the stream %d", a.ID, len(got), len(want))
		}
		for i, id := range got {
			if id != want[i].ID {
				t.Fatalf("%s: file one line %d is %s, want %s", a.ID, i, id, want[i].ID)
			}
		}
		// File two: a contiguous run of the stream, from the reload on.
		got2 := two[a.ID]
		if len(got2) == 0 {
			t.Fatalf("%s: nothing in file two", a.ID)
		}
		k := 0
		for k < len(want) && want[k].ID != got2[0] {
			k++
		}
		if a.ID == apps[1].ID && k != 0 {
			t.Fatalf("the added source starts at line %d in file two", k)
		}
		if k+len(got2) > len(want) {
			t.Fatalf("%s: file two is not a run of the stream (starts at %d, %d lines)", a.ID, k, len(got2))
		}
		for i, id := range got2 {
			if id != want[k+i].ID {
				t.Fatalf("%s: file two line %d is %s, want %s", a.ID, i, id, want[k+i].ID)
			}
		}
		// What file two got is what file one got between the reloads
		// (the second source stopped at the second reload, the first went
		// on into file one alone).
		if a.ID == apps[1].ID && len(got2) != len(got) || k+len(got2) > len(got) {
			t.Fatalf("%s: file one has %d lines, file two %d from line %d", a.ID, len(got), len(got2), k)
		}
		t.Logf("%s: %d lines in file one, %d in file two from line %d", a.ID, len(got), len(got2), k)
	}
}
