package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logship/logship/emulator"
)

// The speed targets of DESIGN.md, as benchmarks (see the README's
// "Performance" section for the command and figures):
//
//   - BenchmarkStreamToFile: one stream into the file sink, lines/s;
//   - BenchmarkVersusCleverLogs: the official `clever logs` and logship
//     fetch the same backfill from the same emulator in the same run;
//     reports both rates and their ratio.

// benchBackfill runs logship in process over a backfill of one app of n
// lines into a file and returns the elapsed time.
func benchBackfill(b *testing.B, api string, app emulator.App, n int, fileOpts string) time.Duration {
	b.Helper()
	dir := b.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	y := fmt.Sprintf(`api:
  url: %s
  token: test-token
state_dir: %s
sources:
  - owner_id: %s
    application_id: %s
    since: %s
    until: %s
    throttle_elements: 100000
    throttle_per_ms: 10
sinks:
  - type: file
    path: %s
%slog:
  level: warn
`, api, filepath.Join(dir, "state"), app.OwnerID, app.ID,
		app.Start.Add(-time.Minute).Format(time.RFC3339Nano), time.Now().Add(time.Hour).Format(time.RFC3339Nano), out, fileOpts)
	p := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(p, []byte(y), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg, err := loadConfigFile(p)
	if err != nil {
		b.Fatal(err)
	}
	var stderr syncBuffer
	t0 := time.Now()
	if code := runAgent(context.Background(), cfg, agentIO{stdout: &syncBuffer{}, stderr: &stderr}); code != 0 {
		b.Fatalf("exit %d: %s", code, stderr.String())
	}
	el := time.Since(t0)
	st, err := os.Stat(out)
	if err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		b.Fatal(err)
	}
	if lines := bytes.Count(data, []byte("\n")); lines != n {
		b.Fatalf("file holds %d lines (%d bytes), want %d", lines, st.Size(), n)
	}
	return el
}

func BenchmarkStreamToFile(b *testing.B) {
	for _, fsync := range []string{"batch", "interval"} {
		b.Run("fsync="+fsync, func(b *testing.B) {
			n := max(b.N, 1000)
			emu, api := startEmulator(b, emulator.Options{Apps: []emulator.App{{Backlog: n, Spacing: time.Millisecond}}, Token: "test-token"})
			app := emu.Apps()[0]
			emu.Lines(app.ID) // generate before timing
			b.ResetTimer()
			u := startUsage()
			el := benchBackfill(b, api, app, n, "    fsync: "+fsync+"\n")
			b.StopTimer()
			u.report(b, n)
			b.ReportMetric(float64(n)/el.Seconds(), "lines/s")
		})
	}
}

// benchUsage is the process's CPU time and allocation count at a start, so a
// benchmark reports CPU per line (user+sys, not wall-clock: the machine is
// shared) and allocations per line. Both include the in-process emulator
// serving the stream; scripts/bench.sh measures logship alone, in its own
// process.
type benchUsage struct {
	cpu     time.Duration
	mallocs uint64
}

func startUsage() benchUsage {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return benchUsage{cpu: processCPU(), mallocs: ms.Mallocs}
}

func (u benchUsage) report(b *testing.B, lines int) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(processCPU()-u.cpu)/float64(lines), "cpu-ns/line")
	b.ReportMetric(float64(ms.Mallocs-u.mallocs)/float64(lines), "allocs/line")
}

// processCPU is this process's user+system CPU time (getrusage).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cleverBin finds the official CLI as scripts/test.sh installs it.
func cleverBin() string {
	if p := os.Getenv("CLEVER_BIN"); p != "" {
		return p
	}
	if p, err := exec.LookPath("clever"); err == nil {
		return p
	}
	return ""
}

func BenchmarkVersusCleverLogs(b *testing.B) {
	bin := cleverBin()
	if bin == "" {
		b.Skip("clever-tools not found: set CLEVER_BIN (scripts/bench.sh installs it)")
	}
	const n = 100_000
	for range b.N {
		emu, api := startEmulator(b, emulator.Options{
			Apps:  []emulator.App{{Backlog: n, Spacing: time.Millisecond}},
			Token: "test-token", OAuth: emulator.OAuthCreds{Token: "oauth-token", Secret: "oauth-secret"},
		})
		app := emu.Apps()[0]
		emu.Lines(app.ID)

		home := b.TempDir()
		cmd := exec.CommandContext(b.Context(), bin, "logs", "--app", app.ID,
			"--since", app.Start.Add(-time.Minute).UTC().Format("2006-01-02T15:04:05.000Z"),
			"--until", time.Now().Add(time.Hour).UTC().Format("2006-01-02T15:04:05.000Z"),
			"--format", "json-stream", "--no-update-notifier")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "XDG_CONFIG_HOME=" + home,
			"API_HOST=" + api, "CLEVER_TOKEN=oauth-token", "CLEVER_SECRET=oauth-secret", "NO_UPDATE_NOTIFIER=1", "NO_COLOR=1"}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		t0 := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("clever logs: %v: %s", err, stderr.String())
		}
		cleverEl := time.Since(t0)
		if got := strings.Count(stdout.String(), "\n"); got != n {
			b.Fatalf("clever logs printed %d lines, want %d", got, n)
		}
		logshipEl := benchBackfill(b, api, app, n, "")
		b.ReportMetric(n/cleverEl.Seconds(), "clever_lines/s")
		b.ReportMetric(n/logshipEl.Seconds(), "logship_lines/s")
		b.ReportMetric(cleverEl.Seconds()/logshipEl.Seconds(), "speedup")
	}
}
