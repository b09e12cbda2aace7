package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/logship/logship/emulator"
)

// metricsAddr waits for the "serving metrics" log line and returns its
// address.
func metricsAddr(t *testing.T, stderr *syncBuffer) string {
	t.Helper()
	var addr string
	waitFor(t, 10*time.Second, func() bool {
		s := stderr.String()
		i := strings.Index(s, `"addr":"`)
		if i < 0 {
			return false
		}
		// The pipe from the subprocess may have delivered half the line.
		j := strings.IndexByte(s[i+8:], '"')
		if j < 0 {
			return false
		}
		addr = s[i+8 : i+8+j]
		return true
	})
	return addr
}

// metric returns the text of /metrics at addr ("" on error).
func metric(addr string) string {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestFileReopenFailureAfterSIGHUP: logrotate renames the file, the path
// cannot be opened (a directory took it), SIGHUP: the reopen fails, and
// the sink retries the open with its backoff, saying so in the log and in
// logship_file_open_errors_total / logship_file_open. Once the path is
// free again, lines flow into the new file; across both files each line is
// there once, in order.
func TestFileReopenFailureAfterSIGHUP(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	emu, api := startEmulator(t, emulator.Options{Token: "test-token", Apps: []emulator.App{{
		Start: time.Now().Add(-2 * time.Second), Backlog: 100, Spacing: 10 * time.Millisecond, Rate: 200,
	}}})
	apps := emu.Apps()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.ndjson")
	cfgPath := writeConfig(t, dir, fmt.Sprintf(`api:
  url: %s
  token: test-token
state_dir: %s
sources:
  - owner_id: %s
    application_id: %s
    since: %s
sinks:
  - type: file
    path: %s
metrics:
  listen: 127.0.0.1:0
`, api, filepath.Join(dir, "state"), apps[0].OwnerID, apps[0].ID, apps[0].Start.Add(-time.Minute).Format(time.RFC3339Nano), out))

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := logshipCmd(ctx, "run", "--config", cfgPath)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := metricsAddr(t, &stderr)
	waitFor(t, 10*time.Second, func() bool { st, err := os.Stat(out); return err == nil && st.Size() > 0 })

	if err := os.Rename(out, out+".1"); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(out, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { return strings.Contains(stderr.String(), "reopen after SIGHUP failed") })
	// Writes keep failing (and retrying the open) while the path is taken.
	waitFor(t, 10*time.Second, func() bool {
		m := metric(addr)
		return strings.Contains(m, `logship_file_open{sink="file"} 0`) &&
			!strings.Contains(m, `logship_file_open_errors_total{sink="file"} 1`+"\n") &&
			strings.Contains(m, `logship_file_open_errors_total{sink="file"}`)
	})
	if err := os.Remove(out); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, func() bool { st, err := os.Stat(out); return err == nil && st.Mode().IsRegular() && st.Size() > 0 })
	if m := metric(addr); !strings.Contains(m, `logship_file_open{sink="file"} 1`) {
		t.Errorf("logship_file_open not back to 1")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v: %s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "file open again") {
		t.Errorf("the log does not say the file is open again: %s", stderr.String())
	}

	checkStreamPrefix(t, rotatedFileIDs(t, out)[apps[0].ID], emu.Lines(apps[0].ID), 100)
}

// killUntilDone runs `logship run --config cfgPath` while it appends to
// out, killing it with SIGKILL after a random 0–200 ms once it wrote (see
// killAfterProgress).
func killUntilDone(ctx context.Context, t *testing.T, cfgPath, out string, kills int) {
	t.Helper()
	killAfterProgress(ctx, t, cfgPath, kills, 200*time.Millisecond, func() int64 {
		st, err := os.Stat(out)
		if err != nil {
			return 0
		}
		return st.Size()
	}, nil)
}

// killAfterProgress starts `logship run --config cfgPath`, waits until
// progress() moves from its value at the start (so each kill lands once
// the run has delivered something of its own: a fixed delay could kill a
// slow-starting process before it did anything and test nothing), lets it
// run a random 0–maxDelay more, kills it with SIGKILL, and does so kills
// times; then one last run goes to the end of the stream. A run that ends
// before its kill fails the test. afterKill, if not nil, is called after
// each kill with the run's number.
func killAfterProgress(ctx context.Context, t *testing.T, cfgPath string, kills int, maxDelay time.Duration, progress func() int64, afterKill func(run int)) {
	t.Helper()
	for landed := 0; landed < kills; landed++ {
		cmd := logshipCmd(ctx, "run", "--config", cfgPath)
		var stderr syncBuffer
		cmd.Stderr = &stderr
		before := progress()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		for progress() == before {
			select {
			case err := <-done:
				t.Fatalf("run %d ended before the kill (%v): %s", landed, err, stderr.String())
			case <-time.After(5 * time.Millisecond):
			}
		}
		select {
		case err := <-done:
			t.Fatalf("run %d ended before the kill (%v): %s", landed, err, stderr.String())
		case <-time.After(time.Duration(rand.Int64N(int64(maxDelay)))):
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-done
		if afterKill != nil {
			afterKill(landed)
		}
	}
	if out, err := logshipCmd(ctx, "run", "--config", cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("final run: %v: %s", err, out)
	}
}

// lineKey tells apart the lines of the emulator without their id.
func lineKey(line []byte) string {
	return jsonField(line, "date") + "|" + jsonField(line, "instanceId") + "|" + jsonField(line, "message")
}

// TestSIGKILLWithIDShaped (issue 8 case 6): the fields stage removes or
// renames `id`, and logship is killed with SIGKILL several times during a
// backfill: the file still holds every line exactly once, in stream order
// (reconciliation reads the sink's journal, not the lines).
func TestSIGKILLWithIDShaped(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	for _, tc := range []struct{ name, fields, idKey string }{
		{"exclude", "    exclude: [id]\n", ""},
		{"rename", "    rename: {id: log_id}\n", "log_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emu, api := startEmulator(t, emulator.Options{Apps: pacedApps(), Token: "test-token", Seed: 21})
			apps := emu.Apps()
			dir := t.TempDir()
			out := filepath.Join(dir, "logs.ndjson")
			cfgPath := writeConfig(t, dir, pacedYAML(api, filepath.Join(dir, "state"), apps,
				"sinks:\n  - type: file\n    path: "+out+"\n")+"pipeline:\n  fields:\n"+tc.fields)
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			const kills = 3
			killUntilDone(ctx, t, cfgPath, out, kills)
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
				if jsonField(line, "id") != "" {
					t.Fatalf("the fields stage left an id: %s", line)
				}
				key := lineKey(line)
				if tc.idKey != "" {
					key = jsonField(line, tc.idKey)
				}
				got[jsonField(line, "applicationId")] = append(got[jsonField(line, "applicationId")], key)
			}
			n := 0
			for _, a := range apps {
				want := emu.Lines(a.ID)
				keys := got[a.ID]
				n += len(keys)
				if len(keys) != len(want) {
					t.Errorf("app %s: %d lines for %d events", a.ID, len(keys), len(want))
					continue
				}
				for i, l := range want {
					k := lineKey(l.Raw)
					if tc.idKey != "" {
						k = l.ID
					}
					if keys[i] != k {
						t.Errorf("app %s: line %d is %s, want %s", a.ID, i, keys[i], k)
						break
					}
				}
			}
			t.Logf("%d kills, %d lines", kills, n)
		})
	}
}

// TestSIGKILLAfterRotation: logrotate renames the file and SIGHUP reopens
// it; logship is killed with SIGKILL right after, before the checkpoint
// covers what went to the rotated file. After the restart, the lines the
// rotated file holds are not written again to the new one: both files
// together hold every line once, in stream order.
func TestSIGKILLAfterRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("process test")
	}
	emu, api := startEmulator(t, emulator.Options{Apps: pacedApps(), Token: "test-token", Seed: 41})
	apps := emu.Apps()
	dir := t.TempDir()
	out := filepath.Join(dir, "logs.ndjson")
	y := pacedYAML(api, filepath.Join(dir, "state"), apps, "sinks:\n  - type: file\n    path: "+out+"\n")
	// A checkpoint at most every 2 s: the kill lands before it covers the
	// lines written just before the rotation.
	y = strings.Replace(y, "checkpoint:\n  interval: 200ms\n", "checkpoint:\n  interval: 2s\n", 1)
	cfgPath := writeConfig(t, dir, y)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	cmd := logshipCmd(ctx, "run", "--config", cfgPath)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	waitFor(t, 30*time.Second, func() bool { st, err := os.Stat(out); return err == nil && st.Size() > 0 })
	if err := os.Rename(out, out+".1"); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() bool { st, err := os.Stat(out); return err == nil && st.Size() > 0 })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil {
		t.Fatal("the backfill ended before the kill")
	}
	if rout, err := logshipCmd(ctx, "run", "--config", cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("restart: %v: %s", err, rout)
	}
	checkExactlyOnceInOrder(t, emu, apps, rotatedFileIDs(t, out))
}
