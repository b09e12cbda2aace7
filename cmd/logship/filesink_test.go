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
		addr = s[i+8 : i+8+strings.Index(s[i+8:], `"`)]
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

	both := filepath.Join(dir, "both.ndjson")
	a, _ := os.ReadFile(out + ".1")
	b, _ := os.ReadFile(out)
	if err := os.WriteFile(both, append(a, b...), 0o600); err != nil {
		t.Fatal(err)
	}
	got := fileIDs(t, both)[apps[0].ID]
	want := emu.Lines(apps[0].ID)
	if len(got) < 100 || len(got) > len(want) {
		t.Fatalf("got %d lines, stream has %d", len(got), len(want))
	}
	for i, id := range got {
		if id != want[i].ID {
			t.Fatalf("line %d: %s, want %s", i, id, want[i].ID)
		}
	}
}
