package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/logship/logship/emulator"
)

// TestMain lets the test binary run as logship itself in a subprocess, so
// that process tests kill the real program without building it again.
func TestMain(m *testing.M) {
	if os.Getenv("LOGSHIP_TEST_AS_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	code := m.Run()
	if plainBin.dir != "" {
		os.RemoveAll(plainBin.dir)
	}
	os.Exit(code)
}

// plainBin is logship built without the race detector, for measurements.
var plainBin struct {
	once      sync.Once
	dir, path string
	err       error
}

// plainLogship returns the path of a logship binary built like a release
// (no race detector, whose shadow memory would make RSS meaningless).
func plainLogship(t *testing.T) string {
	t.Helper()
	plainBin.once.Do(func() {
		plainBin.dir, plainBin.err = os.MkdirTemp("", "logship-bin-")
		if plainBin.err != nil {
			return
		}
		plainBin.path = filepath.Join(plainBin.dir, "logship")
		out, err := exec.Command("go", "build", "-o", plainBin.path, ".").CombinedOutput()
		if err != nil {
			plainBin.err = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if plainBin.err != nil {
		t.Fatal(plainBin.err)
	}
	return plainBin.path
}

// logshipCmd returns a command running logship with args.
func logshipCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), "LOGSHIP_TEST_AS_MAIN=1")
	return cmd
}

// pacedApps are two applications served slowly enough to be killed midway.
func pacedApps() []emulator.App {
	start := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	return []emulator.App{
		{Backlog: 15_000, Start: start, Disorder: 2 * time.Second},
		{Backlog: 15_000, Start: start, Disorder: 2 * time.Second, SameDate: 8},
	}
}

// pacedYAML backfills apps at about 5,000 lines/s each into sink.
func pacedYAML(api, state string, apps []emulator.App, sink string) string {
	y := backfillYAML(api, state, "UNUSED", apps, "")
	y = strings.ReplaceAll(y, "throttle_elements: 5000\n    throttle_per_ms: 10", "throttle_elements: 50\n    throttle_per_ms: 10")
	i := strings.Index(y, "sinks:\n")
	j := strings.Index(y, "log:\n")
	return y[:i] + sink + y[j:] + "checkpoint:\n  interval: 200ms\n"
}

// TestSIGKILLDuringBackfill kills logship with SIGKILL several times during
// a backfill and restarts it on the same state_dir: the file holds every id
// exactly once, in stream order.
func TestSIGKILLDuringBackfill(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	emu, api := startEmulator(t, emulator.Options{Apps: pacedApps(), Token: "test-token", Seed: 11})
	apps := emu.Apps()
	dir := t.TempDir()
	out := filepath.Join(dir, "logs.ndjson")
	cfgPath := writeConfig(t, dir, pacedYAML(api, filepath.Join(dir, "state"), apps,
		"sinks:\n  - type: file\n    path: "+out+"\n"))

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	// Each kill lands once the run has written lines of its own (a fixed
	// delay could kill a slow-starting process before it wrote anything
	// and test nothing), then a last run finishes the backfill.
	const kills = 4
	// A failing run's state dir and output are kept aside (t.TempDir is
	// removed), with a copy of the state dir and journal taken at each kill.
	keepOnFailure(t, dir)
	killAfterProgress(ctx, t, cfgPath, kills, 200*time.Millisecond, func() int64 {
		st, err := os.Stat(out)
		if err != nil {
			return 0
		}
		return st.Size()
	}, func(run int) { snapshotAtKill(t, dir, out, run) })
	got := fileIDs(t, out)
	n := 0
	for _, ids := range got {
		n += len(ids)
	}
	checkExactlyOnceInOrder(t, emu, apps, got)
	t.Logf("%d kills, %d lines, %d requests", kills, n, len(emu.Requests()))
}

// keepOnFailure copies dir to a directory under os.TempDir() that
// outlives the test when the test fails, and says where.
func keepOnFailure(t *testing.T, dir string) {
	t.Helper()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		keep, err := os.MkdirTemp("", "logship-kept-"+t.Name()+"-")
		if err == nil {
			err = os.CopyFS(keep, os.DirFS(dir))
		}
		if err != nil {
			t.Logf("keeping %s: %v", dir, err)
			return
		}
		t.Logf("state dir and output kept in %s", keep)
	})
}

// snapshotAtKill copies the state dir and the file sink's journal to
// dir/kills/<run> and notes the output's size and line count, so that a
// gap can be placed against the kills.
func snapshotAtKill(t *testing.T, dir, out string, run int) {
	t.Helper()
	dst := filepath.Join(dir, "kills", fmt.Sprint(run))
	if err := os.CopyFS(dst, os.DirFS(filepath.Join(dir, "state"))); err != nil {
		t.Logf("snapshot %d: %v", run, err)
	}
	var last []byte // the journal's last whole record
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), "logship-journal") {
			if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				_ = os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600)
				if !strings.HasSuffix(e.Name(), ".old") {
					b = b[:bytes.LastIndexByte(b, '\n')+1]
					last = b[bytes.LastIndexByte(b[:max(len(b)-1, 0)], '\n')+1:]
				}
			}
		}
	}
	b, _ := os.ReadFile(out)
	var rec struct{ From, To int64 }
	cut := ""
	if json.Unmarshal(last, &rec) == nil && rec.To > int64(len(b)) {
		cut = fmt.Sprintf(" (the kill cut a batch: its journal record claims bytes %d-%d)", rec.From, rec.To)
	}
	t.Logf("kill %d: output %d bytes, %d lines%s", run, len(b), bytes.Count(b, []byte("\n")), cut)
}

// TestSIGTERMRestartNoDuplicate stops logship with SIGTERM several times
// and restarts it: through stdout, which does no reconciliation, the
// concatenated output holds every id exactly once. This checks the
// checkpoint saved at a clean stop, alone.
func TestSIGTERMRestartNoDuplicate(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	for _, ignore := range []bool{false, true} {
		t.Run(map[bool]string{false: "last_event_id", true: "since_only"}[ignore], func(t *testing.T) {
			emu, api := startEmulator(t, emulator.Options{Apps: pacedApps(), Token: "test-token", Seed: 12, IgnoreLastEventID: ignore})
			apps := emu.Apps()
			dir := t.TempDir()
			cfgPath := writeConfig(t, dir, pacedYAML(api, filepath.Join(dir, "state"), apps, "sinks:\n  - type: stdout\n"))
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			var all bytes.Buffer
			for stops := 0; ; stops++ {
				cmd := logshipCmd(ctx, "run", "--config", cfgPath)
				var stdout, stderr syncBuffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				if stops < 3 {
					// The first line out means the signal handlers are in
					// place (on a loaded machine, starting the race-built
					// binary alone can outlast a fixed sleep).
					waitFor(t, 30*time.Second, func() bool { return stdout.Len() > 0 })
					time.Sleep(time.Duration(100+rand.IntN(400)) * time.Millisecond)
					if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
						t.Fatal(err)
					}
				}
				if err := <-done; err != nil {
					t.Fatalf("run %d: %v: %s", stops, err, stderr.String())
				}
				all.WriteString(stdout.String())
				if stops >= 3 {
					break
				}
			}
			p := filepath.Join(dir, "all.ndjson")
			if err := os.WriteFile(p, all.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			checkExactlyOnceInOrder(t, emu, apps, fileIDs(t, p))
		})
	}
}
